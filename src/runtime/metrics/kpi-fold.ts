import { RUNTIME_SOURCES, type EventRecord } from '../events/event-record.js';
import { PointWindow } from './point-window.js';
import { SpanWindow, type Span } from './span-window.js';
import { newTally, efficiencyOf, type RunOutcome, type WorkflowTally } from './workflow-tally.js';

/** Counters that change at one moment (an end, a dispatch), indexes into the sums. */
export const POINT = { completed: 0, ended: 1, task_ms: 2, capacity_ms: 3, waited: 4, dispatched: 5, recovered_completed: 6, recovered_ended: 7 } as const;
export const POINT_COUNT = 8;
/** Amounts that accrue over time, indexes into the sums. */
export const SPAN = { busy_ms: 0, available_ms: 1 } as const;
export const SPAN_COUNT = 2;

export const DAY_MS = 24 * 3_600_000;

/** Ended runs whose tally is kept for `get-status` (the oldest go first); the KPIs' sums keep all of them. */
export const ENDED_KEPT = 1_000;

/** The part of an event the fold reads. */
export type FoldedEvent = Pick<EventRecord, 'seq' | 'event_type' | 'workflow_id' | 'timestamp' | 'source' | 'tags' | 'data'>;

const END_OUTCOME: Partial<Record<string, RunOutcome>> = { WORKFLOW_COMPLETED: 'completed', WORKFLOW_FAILED: 'failed', WORKFLOW_CANCELLED: 'cancelled' };
const TASK_OUTCOMES: ReadonlySet<string> = new Set(['TASK_COMPLETED', 'TASK_FAILED', 'TASK_TIMEOUT']);
const UNDO_OUTCOMES: ReadonlySet<string> = new Set(['TASK_COMPENSATED', 'TASK_COMPENSATION_FAILED']);

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/**
 * The KPIs' running state, folded from the event history one event at a
 * time (O(1) per event, amortized): all-time sums, the same sums over a
 * sliding day, and a tally per workflow run. The hub feeds it every event
 * it publishes, and at start the events of the log it has not seen (after
 * its saved state, see kpi-snapshot.ts), so a restart answers the same.
 *
 * Agent utilization integrates over time: between two events that change
 * it, `available` accrues agents-in-the-pool per ms while any run is open,
 * and `busy` accrues agents running a task per ms.
 */
export class KpiFold {
  readonly totals = new Array<number>(POINT_COUNT).fill(0);
  readonly spanTotals = new Array<number>(SPAN_COUNT).fill(0);
  points = new PointWindow(POINT_COUNT, DAY_MS);
  spans = new SpanWindow(SPAN_COUNT, DAY_MS);
  /** by workflow id; ended ones move to the end, and beyond ENDED_KEPT the oldest ended go */
  readonly tallies = new Map<string, WorkflowTally>();
  /** agents in the pool now */
  live = new Set<string>();
  /** agent id -> tasks it runs now */
  readonly load = new Map<string, number>();
  /** where the span accruing now began (the last change of rate); null before the first event */
  spanFrom: number | null = null;
  /** seq of the last event folded: the saved state covers the log up to it */
  lastSeq = 0;
  /** clock ms of the first event folded: "all time" starts there */
  firstAt: number | null = null;
  #open = 0;
  #ended = 0;

  /**
   * Folds one event. Only the runtime's own events count (RUNTIME_SOURCES):
   * not what users publish, nor events imported with a bundle (tagged
   * `imported`: they happened elsewhere).
   */
  apply(event: FoldedEvent): void {
    this.lastSeq = event.seq;
    // read back from a log, an event is data from disk: a field missing or of another type is skipped, never a throw
    if (!RUNTIME_SOURCES.has(event.source) || (Array.isArray(event.tags) && event.tags.includes('imported'))) return;
    const at = typeof event.timestamp === 'string' ? Date.parse(event.timestamp) : NaN;
    if (!Number.isFinite(at) || typeof event.data !== 'object' || event.data === null) return;
    this.firstAt ??= at;
    this.spanFrom ??= at;
    const d = event.data;
    const id = event.workflow_id;
    const task = str(d.task_id);
    switch (event.event_type) {
      case 'WORKFLOW_STARTED':
        return this.#start(id, at);
      case 'WORKFLOW_PAUSED': {
        const t = this.#tally(id, at);
        if (t.outcome !== null) return;
        t.paused = true;
        if (t.running.size === 0) t.idleSince ??= at;
        return;
      }
      case 'WORKFLOW_RESUMED': {
        const t = this.#tally(id, at);
        if (t.outcome !== null) return;
        t.paused = false;
        this.#closeIdle(t, at);
        return;
      }
      case 'WORKFLOW_COMPLETED':
      case 'WORKFLOW_FAILED':
      case 'WORKFLOW_CANCELLED':
        return this.#end(id, at, d.status === 'partial' ? 'partial' : END_OUTCOME[event.event_type]!);
      case 'COMPENSATION_STARTED': {
        const t = this.tallies.get(id);
        if (t) this.#setOpen(t, true, at);
        return;
      }
      case 'WORKFLOW_COMPENSATED': {
        const t = this.tallies.get(id);
        if (t) this.#setOpen(t, false, at);
        return;
      }
      case 'TASK_ASSIGNED':
        if (task !== null) this.#dispatched(this.#tally(id, at), task, at);
        return;
      case 'RESOURCE_CONFLICT':
        // the scheduler's: a ready task found one of its exclusive files held (the resource manager's name no task)
        if (task !== null && event.source === 'scheduler') {
          const t = this.#tally(id, at);
          if (t.outcome === null) t.waiting.add(task);
        }
        return;
      case 'TASK_STARTED': {
        const agent = str(d.agent_id);
        if (task !== null && agent !== null) this.#taskStarted(this.#tally(id, at), task, agent, at);
        return;
      }
      case 'TASK_REASSIGNED':
        // the earlier run was taken off its agent without an outcome (at a restart old_agent is null: nothing runs)
        if (task !== null && d.old_agent !== null) this.#taskStopped(this.tallies.get(id), task, at);
        return;
      case 'CHECKPOINT_RESTORED':
        if (d.trigger === 'recovery' || Array.isArray(d.tasks)) {
          const t = this.tallies.get(id);
          if (t && t.outcome === null) t.recovered = true;
        }
        return;
      case 'ERROR_ENCOUNTERED':
        // an active workflow that could not be recovered at start: a recovery that did not succeed
        if (d.component === 'recovery' && id !== 'global') this.#point(at, POINT.recovered_ended, 1);
        return;
      case 'AGENT_ALLOCATED':
      case 'AGENT_DEALLOCATED': {
        const agent = str(d.agent_id);
        if (agent === null) return;
        this.#closeSpan(at);
        if (event.event_type === 'AGENT_ALLOCATED') this.live.add(agent);
        else this.live.delete(agent);
        return;
      }
      case 'SYSTEM_STARTUP':
        return this.#startup(at, str(d.down_since), Array.isArray(d.restored_agents) ? d.restored_agents.filter((a): a is string => typeof a === 'string') : []);
      default:
        if (TASK_OUTCOMES.has(event.event_type) && task !== null) return this.#taskEnded(this.tallies.get(id), task, d, at);
        if (UNDO_OUTCOMES.has(event.event_type)) this.#taskStopped(this.tallies.get(id), str(d.compensation_task_id) ?? '', at);
    }
  }

  /** The tally of a workflow whose start the fold may not have seen (its history begins later): then it is taken as in progress. */
  #tally(id: string, at: number): WorkflowTally {
    let t = this.tallies.get(id);
    if (!t) {
      t = newTally(null);
      this.tallies.set(id, t);
      this.#setOpen(t, true, at);
    }
    return t;
  }

  #start(id: string, at: number): void {
    const previous = this.tallies.get(id);
    if (previous) {
      this.#setOpen(previous, false, at);
      if (previous.outcome !== null) this.#ended--;
      this.tallies.delete(id);
    }
    const t = newTally(at);
    this.tallies.set(id, t);
    this.#setOpen(t, true, at);
  }

  #end(id: string, at: number, outcome: RunOutcome): void {
    let t = this.tallies.get(id);
    // cancellations are the user's decision, not a failure to complete: they count in neither rate
    const counts = outcome !== 'cancelled';
    if (counts) {
      this.#point(at, POINT.ended, 1);
      if (outcome === 'completed') this.#point(at, POINT.completed, 1);
    }
    if (!t) t = newTally(null);
    else if (t.outcome !== null) return; // ended again after a restore: counted above, its run figures stay those of its first end
    this.#closeIdle(t, at);
    if (t.recovered && counts) {
      this.#point(at, POINT.recovered_ended, 1);
      if (outcome === 'completed') this.#point(at, POINT.recovered_completed, 1);
    }
    t.recovered = false;
    t.endedAt = at;
    const efficiency = efficiencyOf(t, at);
    if (efficiency) {
      this.#point(at, POINT.task_ms, efficiency.taskMs);
      this.#point(at, POINT.capacity_ms, efficiency.capacityMs);
    }
    t.outcome = outcome;
    this.#setOpen(t, false, at);
    // what only a run in progress needs
    t.assigned.clear();
    t.waiting.clear();
    t.conflicted.clear();
    this.tallies.delete(id);
    this.tallies.set(id, t);
    this.#ended++;
    if (this.#ended > ENDED_KEPT) this.#forgetOldest();
  }

  /** Drops the oldest ended tallies beyond ENDED_KEPT (their figures are in the sums already). */
  #forgetOldest(): void {
    for (const [id, t] of this.tallies) {
      if (this.#ended <= ENDED_KEPT) return;
      if (t.outcome === null || t.open) continue;
      this.tallies.delete(id);
      this.#ended--;
    }
  }

  #dispatched(t: WorkflowTally, task: string, at: number): void {
    if (t.outcome !== null) return;
    if (!t.assigned.has(task)) {
      t.assigned.add(task);
      t.dispatched++;
      this.#point(at, POINT.dispatched, 1);
    }
    if (t.waiting.delete(task) && !t.conflicted.has(task)) {
      t.conflicted.add(task);
      t.waited++;
      this.#point(at, POINT.waited, 1);
    }
  }

  #taskStarted(t: WorkflowTally, task: string, agent: string, at: number): void {
    if (!t.open) return;
    this.#closeSpan(at);
    const before = t.running.get(task);
    if (before !== undefined) this.#unload(before);
    t.running.set(task, agent);
    this.load.set(agent, (this.load.get(agent) ?? 0) + 1);
    if (t.outcome === null) t.peak = Math.max(t.peak, t.running.size);
  }

  #taskEnded(t: WorkflowTally | undefined, task: string, d: Record<string, unknown>, at: number): void {
    if (!t) return;
    this.#taskStopped(t, task, at);
    if (t.outcome !== null) return;
    // an attempt that never ran (its condition or input failed) says 0
    if (typeof d.execution_time_ms === 'number' && d.execution_time_ms > 0) t.taskMs += d.execution_time_ms;
    if (d.will_retry === true) t.retries++;
  }

  #taskStopped(t: WorkflowTally | undefined, task: string, at: number): void {
    const agent = t?.running.get(task);
    if (!t || agent === undefined) return;
    this.#closeSpan(at);
    t.running.delete(task);
    this.#unload(agent);
    if (t.paused && t.running.size === 0) t.idleSince ??= at;
  }

  #unload(agent: string): void {
    const n = (this.load.get(agent) ?? 1) - 1;
    if (n > 0) this.load.set(agent, n);
    else this.load.delete(agent);
  }

  #closeIdle(t: WorkflowTally, at: number): void {
    if (t.idleSince === null) return;
    t.idleMs += Math.max(0, at - t.idleSince);
    t.idleSince = null;
  }

  #setOpen(t: WorkflowTally, open: boolean, at: number): void {
    if (t.open === open) return;
    this.#closeSpan(at);
    t.open = open;
    this.#open += open ? 1 : -1;
    if (!open) {
      for (const agent of t.running.values()) this.#unload(agent);
      t.running.clear();
    }
  }

  /**
   * A new process started: the span that was accruing ends where the last
   * process's history ends (`down_since`, the last event it logged), so the
   * time the hub was down is neither available nor busy, nor part of any
   * run's wall time. Nothing runs in a new process, and its pool is the
   * agents it restored.
   */
  #startup(at: number, downSince: string | null, restored: string[]): void {
    const down = downSince === null ? NaN : Date.parse(downSince);
    const known = Number.isFinite(down) && down <= at;
    this.#closeSpan(known ? down : at);
    this.spanFrom = at;
    for (const t of this.tallies.values()) {
      if (!t.open) continue;
      if (known && t.outcome === null && t.startedAt !== null && t.idleSince === null) t.downMs += at - Math.max(down, t.startedAt);
      t.running.clear();
      if (t.paused) t.idleSince ??= at;
    }
    this.load.clear();
    this.live = new Set(restored);
  }

  #point(at: number, index: number, delta: number): void {
    this.totals[index]! += delta;
    this.points.add(at, index, delta);
  }

  /** What accrues per ms now: agents available (any run open), agents busy. */
  #rates(): number[] {
    if (this.#open <= 0) return [0, 0];
    let busy = 0;
    for (const agent of this.load.keys()) if (this.live.has(agent)) busy++;
    return [busy, this.live.size];
  }

  /** Ends the span accruing now at `at`, adding what it accrued. */
  #closeSpan(at: number): void {
    if (this.spanFrom === null || at <= this.spanFrom) return;
    const ms = at - this.spanFrom;
    const [busy, available] = this.#rates();
    if (available! > 0) {
      const v = [busy! * ms, available! * ms];
      this.spanTotals[0]! += v[0]!;
      this.spanTotals[1]! += v[1]!;
      this.spans.add(this.spanFrom, at, v);
    }
    this.spanFrom = at;
  }

  /** The span accruing now, up to `now` (not added: a query changes nothing but the window's start). */
  openSpan(now: number): Span | undefined {
    if (this.spanFrom === null || now <= this.spanFrom) return undefined;
    const ms = now - this.spanFrom;
    const [busy, available] = this.#rates();
    return { from: this.spanFrom, to: now, v: [busy! * ms, available! * ms] };
  }

  /** Runs in progress and ended tallies held, recounted after a restore from a snapshot. */
  recount(): void {
    this.#open = 0;
    this.#ended = 0;
    for (const t of this.tallies.values()) {
      if (t.open) this.#open++;
      if (t.outcome !== null) this.#ended++;
    }
  }
}
