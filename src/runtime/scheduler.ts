import type { Clock } from '../actors/clock.js';
import type { TaskOutcome, TaskRun, TaskRunner } from '../actors/task-runner.js';
import type { TaskError, TaskSpec } from '../machines/types.js';
import { openSpecs } from '../machines/phase-records.js';
import { formatDuration } from './durations.js';
import { boundedResults, phaseEndData, phaseStartData, rolesOf } from './event-data.js';
import type { Durability } from '../persistence/append-log.js';
import type { AgentPool } from './agent-pool.js';
import type { CheckpointTrigger, Journal, OutcomeRecord } from './journal.js';
import { applyOutcome } from './outcomes.js';
import type { EventBus } from './event-bus.js';
import type { EventType } from './event-record.js';
import { ENDED_STATUSES, idempotencyKey, statusOf, type PhaseRef, type WorkflowEntry, type WorkflowSnapshot, type WorkflowStatus } from './workflow-entry.js';

export interface SchedulerDeps {
  clock: Clock;
  runner: TaskRunner;
  pool: AgentPool;
  bus: EventBus;
  /** 0..1, for retry jitter; injected so tests are repeatable */
  random: () => number;
  retryBackoffBaseMs: number;
  retryBackoffMaxMs: number;
  /** the durable side; null for an in-memory hub */
  journal: Journal | null;
  /** how durable a task outcome is before the actor sees it */
  durability: Durability;
}

const CANCELLED: TaskError = { name: 'CancelledError', code: 'TASK_CANCELLED', message: 'The workflow ended while the task ran', retryable: false };

const WORKFLOW_EVENT: Partial<Record<WorkflowStatus, EventType>> = {
  paused: 'WORKFLOW_PAUSED',
  completed: 'WORKFLOW_COMPLETED',
  partial: 'WORKFLOW_COMPLETED',
  failed: 'WORKFLOW_FAILED',
  cancelled: 'WORKFLOW_CANCELLED',
};

const PHASE_EVENT = { completed: 'PHASE_COMPLETED', failed: 'PHASE_FAILED', skipped: 'PHASE_SKIPPED', cancelled: 'PHASE_FAILED' } as const;

/**
 * Drives workflows: after every change it announces what changed as events,
 * dispatches the ready tasks of running workflows to agents and the task
 * runner, feeds outcomes back to the phase, arms retry and deadline timers on
 * the injected clock, and aborts what still runs when a workflow ends.
 * Tasks start as soon as their dependencies complete (dataflow order), so a
 * wave never waits for its slowest member; exclusive files are locks.
 */
export class Scheduler {
  readonly #deps: SchedulerDeps;
  /** exclusive file -> the task key holding it, across all workflows */
  readonly #locks = new Map<string, string>();

  #halted = false;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
  }

  /** From now on, outcomes are logged before the actor sees them. */
  useJournal(journal: Journal): void {
    this.#deps.journal = journal;
  }

  /** Dispatches nothing more: shutdown. Outcomes of running tasks are still recorded. */
  halt(): void {
    this.#halted = true;
  }

  /** Brings the world in line with the workflow's snapshot. Call after every event sent to it. */
  pump(entry: WorkflowEntry): void {
    const snapshot = entry.actor.getSnapshot();
    const status = statusOf(snapshot);
    const previous = entry.announced.status;
    this.#announce(entry, snapshot, status);
    if (this.#halted) return;
    // however it ended (an outcome, a deadline, a cancel), the end is made durable
    if (this.#deps.journal && status !== previous && ENDED_STATUSES.has(status) && !ENDED_STATUSES.has(previous)) void this.#checkpoint(entry, 'end');
    if (ENDED_STATUSES.has(status)) {
      this.#stopAll(entry);
    } else if (status !== 'created') {
      this.#armDeadline(entry, snapshot);
      this.#armInterval(entry, snapshot);
      if (status === 'running') this.#dispatch(entry, snapshot);
    }
    for (const watcher of [...entry.watchers]) watcher();
  }

  /** Cancels the workflow's timers; its running tasks' outcomes will be dropped (restore replaces its actor). */
  detach(entry: WorkflowEntry): void {
    this.#stopAll(entry, false);
  }

  /** Aborts every running task of the workflow and cancels its timers. */
  #stopAll(entry: WorkflowEntry, abort = true): void {
    if (abort) for (const flight of entry.inFlight.values()) flight.run.abort(CANCELLED);
    entry.retryTimer?.handle.cancel();
    entry.retryTimer = null;
    entry.deadlineTimer?.cancel();
    entry.deadlineTimer = null;
    entry.intervalTimer?.cancel();
    entry.intervalTimer = null;
  }

  /** The `checkpoint_interval` trigger: a checkpoint when something was applied since the last one. */
  #armInterval(entry: WorkflowEntry, snapshot: WorkflowSnapshot): void {
    if (!this.#deps.journal || entry.intervalTimer) return;
    entry.intervalTimer = this.#deps.clock.setTimer(snapshot.context.spec.checkpointIntervalMs, () => {
      entry.intervalTimer = null;
      if (this.#halted) return;
      if (entry.appliedSeq > entry.checkpointedAppliedSeq) void this.#checkpoint(entry, 'interval');
      this.pump(entry);
    });
  }

  #armDeadline(entry: WorkflowEntry, snapshot: WorkflowSnapshot): void {
    const { deadline } = snapshot.context;
    if (entry.deadlineTimer || deadline === null) return;
    entry.deadlineTimer = this.#deps.clock.setTimer(deadline - this.#deps.clock.now(), () => {
      entry.actor.send({ type: 'deadline', at: this.#deps.clock.now() });
      this.pump(entry);
    });
  }

  #publish(entry: WorkflowEntry, type: EventType, phase: string | undefined, data: Record<string, unknown>): void {
    this.#deps.bus.publish({
      type,
      workflowId: entry.id,
      ...(phase === undefined ? {} : { phase }),
      data,
      source: 'scheduler',
      correlationId: entry.correlationId,
    });
  }

  #announce(entry: WorkflowEntry, snapshot: WorkflowSnapshot, status: WorkflowStatus): void {
    const seen = entry.announced;
    const ctx = snapshot.context;
    const previous = seen.status;
    seen.status = status;
    const iso = (ms: number | null) => new Date(ms ?? ctx.updatedAt).toISOString();
    if (status !== previous && previous === 'created' && ctx.startedAt !== null) {
      // also when the start ran the whole workflow at once (phases without tasks)
      this.#publish(entry, 'WORKFLOW_STARTED', undefined, {
        name: ctx.spec.name,
        start_time: iso(ctx.startedAt),
        resource_allocation: { max_agents: ctx.spec.agentRequirements.maxAgents, roles: rolesOf(ctx.spec.phases.flatMap((p) => p.tasks)) },
      });
    } else if (status !== previous && status === 'running' && previous === 'paused') {
      this.#publish(entry, 'WORKFLOW_RESUMED', undefined, { name: ctx.spec.name, resume_time: iso(ctx.updatedAt), state_validation: 'ok' });
    }
    if (status !== previous && status === 'paused') {
      const phase = ctx.spec.phases[Math.min(ctx.phaseIndex, ctx.spec.phases.length - 1)]!.name;
      this.#publish(entry, 'WORKFLOW_PAUSED', undefined, { pause_reason: 'pause requested', current_state: { phase, running_tasks: entry.inFlight.size } });
    }
    for (; seen.phasesRecorded < ctx.phases.length; seen.phasesRecorded++) {
      const outcome = ctx.phases[seen.phasesRecorded]!;
      if (seen.phaseStarted <= outcome.index) {
        this.#publish(entry, 'PHASE_STARTED', outcome.name, phaseStartData(ctx.spec.phases[outcome.index]!, outcome.index));
        seen.phaseStarted = outcome.index + 1;
      }
      this.#publish(entry, PHASE_EVENT[outcome.status], outcome.name, phaseEndData(outcome));
    }
    const live = snapshot.children.phase as PhaseRef | undefined;
    if (live && seen.phaseStarted <= ctx.phaseIndex) {
      this.#publish(entry, 'PHASE_STARTED', ctx.spec.phases[ctx.phaseIndex]!.name, phaseStartData(ctx.spec.phases[ctx.phaseIndex]!, ctx.phaseIndex));
      seen.phaseStarted = ctx.phaseIndex + 1;
    }
    const ended = WORKFLOW_EVENT[status];
    if (status !== previous && ended && status !== 'paused') {
      const base = {
        status,
        ...(ctx.failure ? { error: ctx.failure } : {}),
        duration_ms: (ctx.finishedAt ?? ctx.updatedAt) - (ctx.startedAt ?? ctx.createdAt),
      };
      const tasks = ctx.phases.flatMap((p) => p.tasks);
      const count = (s: string) => tasks.filter((t) => t.status === s).length;
      const byType: Partial<Record<EventType, Record<string, unknown>>> = {
        WORKFLOW_COMPLETED: {
          completion_time: iso(ctx.finishedAt),
          final_metrics: { tasks_completed: count('completed'), tasks_failed: count('failed'), tasks_skipped: count('skipped'), duration: formatDuration(base.duration_ms) },
        },
        WORKFLOW_FAILED: {
          failure_reason: ctx.failure?.message ?? 'failed',
          recovery_options: [`${entry.id} list-checkpoints`, `${entry.id} rollback`, `${entry.id} restore {"checkpoint_id":"…"}`],
        },
        WORKFLOW_CANCELLED: { cancellation_reason: 'cancel requested', cleanup_status: 'running tasks aborted' },
      };
      this.#publish(entry, ended, undefined, { ...base, ...byType[ended] });
    }
  }

  #dispatch(entry: WorkflowEntry, snapshot: WorkflowSnapshot): void {
    const phase = snapshot.children.phase as PhaseRef | undefined;
    if (!phase) return;
    const now = this.#deps.clock.now();
    const limit = snapshot.context.spec.agentRequirements.maxAgents;
    let nextDue = Infinity;
    // from the first task not done yet: a scan from the top per pump made a phase of n tasks O(n²)
    for (const spec of openSpecs(phase.getSnapshot().context.specs, phase.getSnapshot().context.tasks)) {
      if (entry.inFlight.size >= limit) break;
      const record = phase.getSnapshot().context.tasks[spec.id]!;
      if (record.status !== 'ready') continue;
      if (record.notBefore !== null && record.notBefore > now) {
        nextDue = Math.min(nextDue, record.notBefore);
        continue;
      }
      if (spec.exclusiveFiles.some((file) => this.#locks.has(file))) continue;
      const agentId = this.#deps.pool.pick(spec.role);
      if (agentId === null) continue;
      this.#launch(entry, phase, spec, record.attempts + 1, agentId);
    }
    if (nextDue < Infinity && (!entry.retryTimer || entry.retryTimer.due > nextDue)) {
      entry.retryTimer?.handle.cancel();
      const handle = this.#deps.clock.setTimer(nextDue - now, () => {
        entry.retryTimer = null;
        this.pump(entry);
      });
      entry.retryTimer = { due: nextDue, handle };
    }
  }

  #launch(entry: WorkflowEntry, phase: PhaseRef, spec: TaskSpec, attempt: number, agentId: string): void {
    const { clock, pool, journal } = this.#deps;
    const phaseName = phase.getSnapshot().context.name;
    phase.send({ type: 'task.assigned', taskId: spec.id, agentId, at: clock.now() });
    pool.assign(agentId, spec.id);
    for (const file of spec.exclusiveFiles) this.#locks.set(file, `${idempotencyKey(entry, spec.id)}#${attempt}`);
    this.#publish(entry, 'TASK_ASSIGNED', phaseName, { task_id: spec.id, agent_id: agentId, attempt, estimated_duration: formatDuration(spec.estimatedDurationMs) });
    // so a restart can say which tasks it runs again (it runs them either way): batched, not waited for
    journal?.log.append({ kind: 'dispatch', workflow_id: entry.id, epoch: entry.epoch, task_id: spec.id, attempt }, 'batch').durable.catch(() => {});
    if (spec.risky && journal) {
      // the state before a risky task is made durable first
      void this.#checkpoint(entry, 'risky').then(() => this.#run(entry, phase, spec, attempt, agentId));
    } else {
      this.#run(entry, phase, spec, attempt, agentId);
    }
  }

  #run(entry: WorkflowEntry, phase: PhaseRef, spec: TaskSpec, attempt: number, agentId: string): void {
    const { runner, pool } = this.#deps;
    if (phase.getSnapshot().context.tasks[spec.id]?.status !== 'assigned' || this.#halted) {
      // ended while its risky checkpoint was written
      for (const file of spec.exclusiveFiles) this.#locks.delete(file);
      pool.done(agentId, spec.id, false, 0);
      return;
    }
    const phaseName = phase.getSnapshot().context.name;
    const run = runner.run(
      {
        key: `${idempotencyKey(entry, spec.id)}#${attempt}`,
        workflowId: entry.id,
        taskId: spec.id,
        handler: spec.handler,
        input: spec.input,
        attempt,
        idempotencyKey: idempotencyKey(entry, spec.id),
        timeoutMs: spec.timeoutMs,
      },
      {
        onStarted: (at) => {
          if (entry.inFlight.get(spec.id)?.run !== run) return;
          phase.send({ type: 'task.started', taskId: spec.id, at });
          this.#publish(entry, 'TASK_STARTED', phaseName, { task_id: spec.id, agent_id: agentId, attempt, start_time: new Date(at).toISOString() });
        },
      },
    );
    entry.inFlight.set(spec.id, { run, attempt, agentId, phase, files: spec.exclusiveFiles });
    void run.result.then((outcome) => this.#finish(entry, spec, attempt, run, outcome));
  }

  #finish(entry: WorkflowEntry, spec: TaskSpec, attempt: number, run: TaskRun, outcome: TaskOutcome): void {
    const { clock, pool, journal } = this.#deps;
    const flight = entry.inFlight.get(spec.id);
    if (!flight || flight.run !== run) return;
    entry.inFlight.delete(spec.id);
    for (const file of flight.files) this.#locks.delete(file);
    pool.done(flight.agentId, spec.id, outcome.ok, outcome.durationMs);
    // a task stopped by shutdown did not fail: nothing is recorded, so after a restart it runs again
    if (this.#halted && !outcome.ok && (outcome.error.code === 'HUB_SHUTDOWN' || outcome.error.code === 'RUNNER_CLOSED')) return;
    const at = clock.now();
    const record: OutcomeRecord = {
      kind: 'outcome',
      workflow_id: entry.id,
      epoch: entry.epoch,
      task_id: spec.id,
      attempt,
      agent_id: flight.agentId,
      ok: outcome.ok,
      output: outcome.ok ? outcome.output : null,
      error: outcome.ok ? null : outcome.error,
      duration_ms: outcome.durationMs,
      at,
      retry_at: at + this.#backoff(attempt),
    };
    if (!journal) return this.#deliver(entry, flight.phase, record, null);
    // the outcome is logged before the actor sees it: what the actor acts on survives a crash
    const mode = entry.actor.getSnapshot().context.spec.durability ?? this.#deps.durability;
    const { seq, durable } = journal.appendOutcome(record, mode);
    entry.pendingOutcomes.add(seq);
    durable.then(
      () => {
        entry.pendingOutcomes.delete(seq);
        this.#deliver(entry, flight.phase, record, seq);
      },
      (error: unknown) =>
        this.#publish(entry, 'SYSTEM_ERROR', undefined, {
          error_type: 'log_write_failed',
          affected_components: ['log'],
          severity: 'critical',
          message: `Could not log the outcome of ${spec.id}: ${String(error)}`,
        }),
    );
  }

  #deliver(entry: WorkflowEntry, phase: PhaseRef, record: OutcomeRecord, seq: number | null): void {
    const before = entry.actor.getSnapshot().context.phases.length;
    const phaseName = phase.getSnapshot().context.name;
    if (seq !== null) entry.appliedSeq = Math.max(entry.appliedSeq, seq);
    if (!applyOutcome(phase, record)) return;
    const base = { task_id: record.task_id, agent_id: record.agent_id, attempt: record.attempt, execution_time_ms: record.duration_ms };
    if (record.ok) {
      this.#publish(entry, 'TASK_COMPLETED', phaseName, { ...base, duration: formatDuration(record.duration_ms), results: boundedResults(record.output) });
    } else {
      const willRetry = phase.getSnapshot().context.tasks[record.task_id]?.status === 'ready';
      const timedOut = record.error!.code === 'TASK_TIMEOUT';
      const spec = phase.getSnapshot().context.specs.find((t) => t.id === record.task_id);
      this.#publish(entry, timedOut ? 'TASK_TIMEOUT' : 'TASK_FAILED', phaseName, {
        ...base,
        error: record.error,
        will_retry: willRetry,
        failure_reason: record.error!.message,
        retry_count: record.attempt - 1,
        ...(timedOut ? { timeout_duration: formatDuration(spec?.timeoutMs ?? 0) } : {}),
      });
    }
    this.pump(entry);
    const snapshot = entry.actor.getSnapshot();
    if (this.#deps.journal && !this.#halted && !ENDED_STATUSES.has(statusOf(snapshot)) && snapshot.context.phases.length > before) {
      void this.#checkpoint(entry, 'phase');
    }
  }

  #checkpoint(entry: WorkflowEntry, trigger: CheckpointTrigger): Promise<unknown> {
    return this.#deps.journal!.checkpoint(entry, trigger).catch((error: unknown) =>
      this.#publish(entry, 'SYSTEM_ERROR', undefined, {
        error_type: 'checkpoint_failed',
        affected_components: ['store'],
        severity: 'error',
        message: `Checkpoint (${trigger}) failed: ${String(error)}`,
      }),
    );
  }

  /** Exponential backoff with jitter: base * 2^(attempt-1), capped, then scaled by 0.5..1. */
  #backoff(attempt: number): number {
    const { retryBackoffBaseMs: base, retryBackoffMaxMs: max, random } = this.#deps;
    const exp = Math.min(max, base * 2 ** (attempt - 1));
    return Math.round(exp * (0.5 + random() * 0.5));
  }
}

