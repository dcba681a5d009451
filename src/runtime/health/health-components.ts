import type { HubState } from '../hub-state.js';
import { ENDED_STATUSES, statusOf } from '../scheduling/workflow-entry.js';

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** A component's status, why, what was observed and the limits it was judged by. */
export interface Verdict<O> {
  status: HealthStatus;
  reasons: string[];
  observed: O;
  thresholds: Record<string, number>;
}

/** Collects reasons: the worst one decides the status. */
class Judgement {
  status: HealthStatus = 'healthy';
  readonly reasons: string[] = [];

  /** `value` against its limits: degraded at or above `degraded`, unhealthy at or above `unhealthy` (when there is one). */
  limit(value: number, degraded: number, unhealthy: number | null, text: string): void {
    if (unhealthy !== null && value >= unhealthy) this.unhealthy(`${text} (unhealthy at ${unhealthy})`);
    else if (value >= degraded) this.degraded(`${text} (degraded at ${degraded})`);
  }

  degraded(reason: string): void {
    this.reasons.push(reason);
    if (this.status === 'healthy') this.status = 'degraded';
  }

  unhealthy(reason: string): void {
    this.reasons.push(reason);
    this.status = 'unhealthy';
  }
}

/** The hub: recent commands (error rate, p95 latency), the event loop's delay, stalled timers, storage that takes no writes. */
export function hubVerdict(hub: HubState) {
  const t = hub.health.thresholds;
  const commands = hub.health.commands.summary(hub.clock.now(), t.window_ms);
  const loop = hub.health.loopDelay();
  const stalled = [...hub.health.stalled(), ...overdueWorkflowTimers(hub)];
  const unwritable = hub.journal?.storage.troubles.map((x) => x.part) ?? [];
  const j = new Judgement();
  if (commands.commands > 0) {
    j.limit(commands.error_rate, t.command_error_rate_degraded, t.command_error_rate_unhealthy, `${commands.error_rate}% of the last ${commands.commands} commands failed`);
    j.limit(commands.p95_ms, t.command_p95_degraded_ms, t.command_p95_unhealthy_ms, `command latency p95 is ${commands.p95_ms}ms`);
  }
  j.limit(loop.mean_ms, t.event_loop_delay_degraded_ms, t.event_loop_delay_unhealthy_ms, `the event loop's mean delay is ${loop.mean_ms}ms`);
  for (const s of stalled) j.degraded(`the ${s.timer} timer is ${s.overdue_ms}ms overdue`);
  if (unwritable.length > 0) j.degraded(`the data directory takes no writes (${unwritable.join(', ')})`);
  const verdict: Verdict<unknown> = {
    status: j.status,
    reasons: j.reasons,
    observed: { commands, event_loop_delay: loop, stalled_timers: stalled, unwritable },
    thresholds: {
      window_ms: t.window_ms,
      command_error_rate_degraded: t.command_error_rate_degraded,
      command_error_rate_unhealthy: t.command_error_rate_unhealthy,
      command_p95_degraded_ms: t.command_p95_degraded_ms,
      command_p95_unhealthy_ms: t.command_p95_unhealthy_ms,
      event_loop_delay_degraded_ms: t.event_loop_delay_degraded_ms,
      event_loop_delay_unhealthy_ms: t.event_loop_delay_unhealthy_ms,
      stalled_timer_tolerance_ms: t.stalled_timer_tolerance_ms,
    },
  };
  return { ...verdict, commands };
}

/** Workflow deadlines and retry times passed by more than the tolerance without their timer having fired. */
function overdueWorkflowTimers(hub: HubState) {
  const now = hub.clock.now();
  const tolerance = hub.health.thresholds.stalled_timer_tolerance_ms;
  const overdue: { timer: string; due: string; overdue_ms: number }[] = [];
  for (const entry of hub.workflows.values()) {
    const snapshot = entry.actor.getSnapshot();
    if (ENDED_STATUSES.has(statusOf(snapshot))) continue;
    const { deadline } = snapshot.context;
    if (entry.deadlineTimer && deadline !== null && now - deadline > tolerance) overdue.push({ timer: `${entry.id} deadline`, due: new Date(deadline).toISOString(), overdue_ms: now - deadline });
    const retry = entry.retryTimer?.due;
    if (retry !== undefined && now - retry > tolerance) overdue.push({ timer: `${entry.id} retry`, due: new Date(retry).toISOString(), overdue_ms: now - retry });
  }
  return overdue;
}

/** The task pool: tasks waiting for a thread, thread use, worker errors in the window, agents whose breaker is open. */
export function taskPoolVerdict(hub: HubState) {
  const t = hub.health.thresholds;
  const runner = hub.runner.stats();
  const agents = hub.pool.views();
  const open = agents.filter((a) => a.breaker === 'open').map((a) => a.agent_id);
  const workerErrors = hub.health.workerErrors.count(hub.clock.now(), t.window_ms);
  const slots = hub.pool.slots();
  const running = [...hub.workflows.values()].reduce((n, e) => n + e.inFlight.size, 0);
  const j = new Judgement();
  j.limit(runner.queueSize, t.task_queue_degraded, null, `${runner.queueSize} tasks wait for a worker thread`);
  j.limit(workerErrors, t.worker_errors_degraded, t.worker_errors_unhealthy, `${workerErrors} worker errors in the last ${t.window_ms}ms`);
  if (open.length > 0 && open.length === agents.length) j.unhealthy(`every agent's circuit breaker is open (${open.join(', ')})`);
  else if (open.length > 0) j.degraded(`circuit breaker open: ${open.join(', ')}`);
  const observed = {
    queue_size: runner.queueSize,
    utilization: Math.round(runner.utilization * 1000) / 10,
    threads: runner.threads,
    max_threads: runner.maxThreads,
    worker_errors: workerErrors,
    open_breakers: open,
    agents: agents.length,
    running_tasks: running,
    task_slots: slots,
  };
  const verdict: Verdict<typeof observed> = {
    status: j.status,
    reasons: j.reasons,
    observed,
    thresholds: { window_ms: t.window_ms, task_queue_degraded: t.task_queue_degraded, worker_errors_degraded: t.worker_errors_degraded, worker_errors_unhealthy: t.worker_errors_unhealthy },
  };
  return verdict;
}

/**
 * The events waiting for subscribers: `event_queue_depth` (the sum of
 * every subscriber's queue, batches collecting included) and the deepest
 * one against its bound.
 */
export function eventQueues(hub: HubState) {
  const subscribers = hub.subscriptions.list();
  let depth = 0;
  let deepest: { subscription_id: string; queued: number; max_queue: number; percent: number } | null = null;
  for (const s of subscribers) {
    depth += s.queued;
    const percent = Math.round((s.queued / s.max_queue) * 1000) / 10;
    if (deepest === null || percent > deepest.percent) deepest = { subscription_id: s.subscription_id, queued: s.queued, max_queue: s.max_queue, percent };
  }
  const pendingBatches = subscribers.filter((s) => 'collecting' in s && s.collecting).length;
  const delivered = subscribers.reduce((n, s) => n + s.delivered, 0);
  const failed = subscribers.reduce((n, s) => n + s.failed_deliveries, 0);
  const deliveryMs = subscribers.reduce((n, s) => n + s.delivery_ms, 0);
  return { event_queue_depth: depth, max_subscriber_queue: deepest?.queued ?? 0, deepest, pending_batches: pendingBatches, subscribers: subscribers.length, delivered, failed, delivery_ms: deliveryMs };
}

/** The event hub: subscriber queues against their bounds, dead letters and failed deliveries in the window. */
export function eventHubVerdict(hub: HubState) {
  const t = hub.health.thresholds;
  const now = hub.clock.now();
  const queues = eventQueues(hub);
  const deadLetters = hub.health.deadLetters.count(now, t.window_ms);
  const failures = hub.health.deliveryFailures.count(now, t.window_ms);
  const j = new Judgement();
  if (queues.deepest) j.limit(queues.deepest.percent, t.subscriber_queue_degraded_percent, t.subscriber_queue_unhealthy_percent, `subscriber ${queues.deepest.subscription_id}'s queue is ${queues.deepest.percent}% full (${queues.deepest.queued} of ${queues.deepest.max_queue})`);
  j.limit(deadLetters, t.dead_letters_degraded, null, `${deadLetters} events dead-lettered in the last ${t.window_ms}ms`);
  j.limit(failures, t.delivery_failures_degraded, null, `${failures} deliveries failed in the last ${t.window_ms}ms`);
  const observed = { ...queues, dead_letters: deadLetters, delivery_failures: failures };
  const verdict: Verdict<typeof observed> = {
    status: j.status,
    reasons: j.reasons,
    observed,
    thresholds: {
      window_ms: t.window_ms,
      subscriber_queue_degraded_percent: t.subscriber_queue_degraded_percent,
      subscriber_queue_unhealthy_percent: t.subscriber_queue_unhealthy_percent,
      dead_letters_degraded: t.dead_letters_degraded,
      delivery_failures_degraded: t.delivery_failures_degraded,
    },
  };
  return verdict;
}

/** Workflows not ended: the hub's active operations. */
export const activeWorkflows = (hub: HubState): number => [...hub.workflows.values()].filter((e) => !ENDED_STATUSES.has(statusOf(e.actor.getSnapshot()))).length;
