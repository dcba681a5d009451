import { TroupeError } from '../errors.js';
import { parseDuration } from '../durations.js';

/**
 * The limits `health` judges by and SYSTEM_THRESHOLD watches, in one place.
 * Each has a default (below) and can be set in the config's
 * `health_thresholds` (the same snake_case keys) or the hub option
 * `healthThresholds`. A component is `degraded` past a `*_degraded` limit and
 * `unhealthy` past an `*_unhealthy` one; `health` shows the limits it used.
 */
export interface HealthThresholds {
  /** how far back error rates, dead letters, delivery failures and worker errors are counted, ms */
  window_ms: number;
  /** how often the monitor measures and checks SYSTEM_THRESHOLD, ms (the spec's health_check_interval is 60s) */
  check_interval_ms: number;
  /** percent of the window's commands that failed (the spec's alert threshold error_rate 5.0) */
  command_error_rate_degraded: number;
  command_error_rate_unhealthy: number;
  /** the window's 95th percentile of command latency, ms (the spec's target: under 2 s; its alert: 5 s) */
  command_p95_degraded_ms: number;
  command_p95_unhealthy_ms: number;
  /** the event loop's mean delay since the last check, ms (its p99 and max are shown beside it) */
  event_loop_delay_degraded_ms: number;
  event_loop_delay_unhealthy_ms: number;
  /** a clock timer that should have fired this long ago and has not: the hub's timers stall */
  stalled_timer_tolerance_ms: number;
  /** tasks waiting for a worker thread */
  task_queue_degraded: number;
  /** worker errors (a thread that died, a pool error) in the window */
  worker_errors_degraded: number;
  worker_errors_unhealthy: number;
  /** percent of a subscriber's bounded queue in use */
  subscriber_queue_degraded_percent: number;
  subscriber_queue_unhealthy_percent: number;
  /** events dead-lettered, and deliveries that failed (each is retried), in the window */
  dead_letters_degraded: number;
  delivery_failures_degraded: number;
  /** SYSTEM_THRESHOLD: percent of the memory limit in use (the spec's example: memory 80.0) */
  memory_percent: number;
  /** the memory limit, MB: the process's RSS is compared with it; absent: the V8 heap in use vs the heap's limit */
  memory_limit_mb: number | null;
  /** SYSTEM_THRESHOLD: events waiting in all subscriber queues together */
  event_queue_depth: number;
  /** SYSTEM_THRESHOLD: the event loop's mean delay since the last check, ms */
  event_loop_delay_ms: number;
  /** SYSTEM_THRESHOLD: percent of the agent pool's task slots in use */
  agent_pool_utilization_percent: number;
}

export const HEALTH_DEFAULTS: Readonly<HealthThresholds> = {
  window_ms: 300_000,
  check_interval_ms: 60_000,
  command_error_rate_degraded: 5,
  command_error_rate_unhealthy: 50,
  command_p95_degraded_ms: 2_000,
  command_p95_unhealthy_ms: 5_000,
  event_loop_delay_degraded_ms: 100,
  event_loop_delay_unhealthy_ms: 500,
  stalled_timer_tolerance_ms: 5_000,
  task_queue_degraded: 100,
  worker_errors_degraded: 1,
  worker_errors_unhealthy: 5,
  subscriber_queue_degraded_percent: 50,
  subscriber_queue_unhealthy_percent: 90,
  dead_letters_degraded: 1,
  delivery_failures_degraded: 1,
  memory_percent: 80,
  memory_limit_mb: null,
  event_queue_depth: 1_000,
  event_loop_delay_ms: 200,
  agent_pool_utilization_percent: 80,
};

/** What may be given: every key optional; the `_ms` ones also as durations ("5m"). */
export type HealthThresholdOptions = { [K in keyof HealthThresholds]?: HealthThresholds[K] | (K extends `${string}_ms` ? string : never) };

/** The defaults with `given` over them; a key that is not one of them, or a value that is not a number >= 0, is refused. */
export function resolveHealthThresholds(given: HealthThresholdOptions = {}): HealthThresholds {
  const resolved: Record<string, number | null> = { ...HEALTH_DEFAULTS };
  for (const [key, value] of Object.entries(given)) {
    if (!Object.hasOwn(HEALTH_DEFAULTS, key)) {
      throw new TroupeError('VALIDATION_FAILED', `Unknown health threshold ${key}`, { details: `Known: ${Object.keys(HEALTH_DEFAULTS).join(', ')}` });
    }
    if (value === undefined) continue;
    if (key === 'memory_limit_mb' && value === null) {
      resolved[key] = null;
      continue;
    }
    const number = typeof value === 'string' && key.endsWith('_ms') ? parseDuration(value) : value;
    if (typeof number !== 'number' || !Number.isFinite(number) || number < 0) {
      throw new TroupeError('VALIDATION_FAILED', `Health threshold ${key} must be a number >= 0${key.endsWith('_ms') ? ' or a duration such as "5m"' : ''}, got ${JSON.stringify(value)}`);
    }
    resolved[key] = number;
  }
  if ((resolved.check_interval_ms as number) <= 0 || (resolved.window_ms as number) <= 0) {
    throw new TroupeError('VALIDATION_FAILED', 'Health thresholds check_interval_ms and window_ms must be longer than 0', { details: 'e.g. "60s" and "5m"' });
  }
  return resolved as unknown as HealthThresholds;
}
