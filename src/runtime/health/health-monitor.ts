import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '../../actors/clock.js';
import type { EventBus } from '../events/event-bus.js';
import type { EventDraft } from '../events/event-record.js';
import { CommandWindow, RecentTimes } from './recent-window.js';
import type { HealthThresholds } from './health-thresholds.js';

/** The event loop's delay since the last check, ms. */
export interface LoopDelay {
  mean_ms: number;
  p99_ms: number;
  max_ms: number;
  /** samples behind the figures (0: none yet, every figure 0) */
  samples: number;
}

/** One metric SYSTEM_THRESHOLD watches: its value now and its limit. */
export interface WatchedMetric {
  metric_name: string;
  current_value: number;
  threshold: number;
  unit: string;
  /** what the figure is (shown in the event) */
  basis?: string;
}

const ms = (ns: number) => Math.round((ns / 1e6) * 10) / 10;

/**
 * What the hub observes of itself over time, for `health` and
 * SYSTEM_THRESHOLD: every command's latency and result, failed deliveries,
 * dead letters and worker errors over a recent window of the injected clock,
 * and the event loop's delay (perf_hooks). Every `check_interval_ms` on the
 * clock it measures the watched metrics and publishes SYSTEM_THRESHOLD for
 * each one that crossed its limit, once per crossing: again only after the
 * metric went back below it. Its own tick is also the stalled-timer probe: a
 * tick that comes (or is still due) long after its time means the clock's
 * timers are not firing.
 */
export class HealthMonitor {
  readonly thresholds: HealthThresholds;
  readonly commands = new CommandWindow();
  readonly deliveryFailures = new RecentTimes();
  readonly deadLetters = new RecentTimes();
  readonly workerErrors = new RecentTimes();
  readonly #clock: Clock;
  readonly #bus: EventBus;
  readonly #measure: () => WatchedMetric[];
  readonly #loop: IntervalHistogram;
  /** metrics above their limit now: no second SYSTEM_THRESHOLD until they went below */
  readonly #above = new Set<string>();
  #timer: TimerHandle | null = null;
  #due = 0;
  /** how late the last tick came, ms */
  #lastLateness = 0;
  #lastLoop: LoopDelay = { mean_ms: 0, p99_ms: 0, max_ms: 0, samples: 0 };
  #unsubscribe: () => void;
  #closed = false;

  /** `measure`: the watched metrics now (memory, event queue depth, agent pool use; the loop delay is added here) */
  constructor(deps: { clock: Clock; bus: EventBus; thresholds: HealthThresholds; measure: () => WatchedMetric[] }) {
    this.#clock = deps.clock;
    this.#bus = deps.bus;
    this.thresholds = deps.thresholds;
    this.#measure = deps.measure;
    this.#loop = monitorEventLoopDelay({ resolution: 20 });
    this.#loop.enable();
    // a thread that died under a task, or an error of the pool itself
    this.#unsubscribe = deps.bus.subscribe((event) => {
      const worker = (event.event_type === 'AGENT_ERROR' && event.data.error_type === 'worker_crashed') || (event.event_type === 'SYSTEM_ERROR' && event.data.error_type === 'pool_error');
      if (worker) this.workerErrors.add(event.timestamp === undefined ? this.#clock.now() : Date.parse(event.timestamp));
    });
    this.#arm();
  }

  /** The event loop's delay since the last check (live: the check resets it). */
  loopDelay(): LoopDelay {
    const h = this.#loop;
    const samples = h.count;
    if (samples === 0) return this.#lastLoop;
    return { mean_ms: ms(h.mean), p99_ms: ms(h.percentile(99)), max_ms: ms(h.max), samples };
  }

  /**
   * Timers overdue beyond the tolerance: this monitor's own tick (the clock
   * fires nothing, or the loop is blocked), with how late it is, or how late
   * the last one came.
   */
  stalled(): { timer: string; due: string; overdue_ms: number }[] {
    if (this.#closed) return [];
    const tolerance = this.thresholds.stalled_timer_tolerance_ms;
    const overdue = this.#clock.now() - this.#due;
    if (overdue > tolerance) return [{ timer: 'health check', due: new Date(this.#due).toISOString(), overdue_ms: overdue }];
    if (this.#lastLateness > tolerance) return [{ timer: 'health check (last tick)', due: new Date(this.#due - this.thresholds.check_interval_ms).toISOString(), overdue_ms: this.#lastLateness }];
    return [];
  }

  /** Measures the watched metrics and publishes SYSTEM_THRESHOLD for each new crossing; returns what it measured. */
  check(): WatchedMetric[] {
    const loop = this.loopDelay();
    this.#lastLoop = loop;
    this.#loop.reset();
    const metrics: WatchedMetric[] = [
      ...this.#measure(),
      { metric_name: 'event_loop_delay', current_value: loop.mean_ms, threshold: this.thresholds.event_loop_delay_ms, unit: 'ms', basis: `mean of ${loop.samples} samples since the last check (p99 ${loop.p99_ms}ms)` },
    ];
    for (const metric of metrics) {
      const above = metric.current_value >= metric.threshold;
      if (!above) {
        this.#above.delete(metric.metric_name);
        continue;
      }
      if (this.#above.has(metric.metric_name)) continue;
      this.#above.add(metric.metric_name);
      const draft: EventDraft = {
        type: 'SYSTEM_THRESHOLD',
        severity: 'warning',
        source: 'health-monitor',
        data: { ...metric, severity: 'warning' },
      };
      this.#bus.publish(draft);
    }
    return metrics;
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = null;
    this.#loop.disable();
    this.#unsubscribe();
  }

  #arm(): void {
    if (this.#closed) return;
    const interval = this.thresholds.check_interval_ms;
    this.#due = this.#clock.now() + interval;
    this.#timer = this.#clock.setTimer(interval, () => {
      this.#timer = null;
      this.#lastLateness = Math.max(0, this.#clock.now() - this.#due);
      try {
        this.check();
      } finally {
        this.#arm();
      }
    });
    // a health check is no work to do: it never keeps the process alive
    this.#timer.unref?.();
  }
}
