import type { Clock } from '../../actors/clock.js';
import type { TaskOutcome, TaskRun, TaskRunner } from '../../actors/task-runner.js';
import { boundOutcome } from '../../actors/output-limits.js';
import type { TaskError, TaskSpec } from '../../machines/types.js';
import { openSpecs, specOf } from '../../machines/phase-records.js';
import { formatDuration } from '../durations.js';
import type { Durability } from '../../persistence/append-log.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { CheckpointTrigger, Journal, OutcomeRecord } from '../durability/journal.js';
import { applyOutcome } from './outcomes.js';
import type { EventBus } from '../events/event-bus.js';
import type { FileLocks } from './file-locks.js';
import type { EventRecord, EventType } from '../events/event-record.js';
import { DISPATCHING_STATUSES, ENDED_STATUSES, idempotencyKey, statusOf, type InFlight, type PhaseRef, type WorkflowEntry, type WorkflowSnapshot } from './workflow-entry.js';
import { prepareTask } from '../flow/task-context.js';
import { outcomeEvent, personEvents, progressData } from './outcome-events.js';
import { endsInError, taskErrorReport } from './error-events.js';
import { withSystemReport } from '../protocol/error-report.js';
import { ApprovalGates, type ApprovalAnswer } from './approval-gates.js';
import type { AssignmentStrategy } from '../agents/agent-ranking.js';
import { announce } from './announce.js';
import { FlightWatch, type MovedTask } from './flight-watch.js';
import { attemptFiles, type TaskFilesConfig } from './task-files.js';
import { WaitingRoom } from './waiting-room.js';
import { dispatchOrder } from './task-order.js';

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
  /** exclusive files held by running tasks and by resource allocations */
  locks: FileLocks;
  /** how often a running task's worker says it is alive */
  heartbeatIntervalMs: number;
  /** heartbeats a run may miss before its agent is declared unresponsive */
  missedHeartbeats: number;
  /** where task logs and process spools live */
  taskFiles: TaskFilesConfig;
  /** a task log could not be written (the task goes on) */
  onLogError(workflowId: string, taskId: string, attempt: number, message: string): void;
  /** `max_output_bytes`: the largest output (or error data) an outcome may carry to the log */
  maxOutputBytes: number;
  /** false while no new task may start (the data directory cannot be written); the hub pumps every workflow when it turns true */
  mayDispatch?: () => boolean;
  /** a ready task is kept back because others hold some of its exclusive files (told at every pump it waits) */
  onFileWait?: (entry: WorkflowEntry, taskId: string, phase: string, held: { file: string; holder: string }[]) => void;
}

/** A handler's progress heartbeats become PHASE_PROGRESS events at most this often per task. */
const PROGRESS_EVERY_MS = 1_000;

/** The agent of a task that ended without running (its condition or input failed): no agent took it. */
const NO_AGENT = 'none';

const CANCELLED: TaskError = { name: 'CancelledError', code: 'TASK_CANCELLED', message: 'The workflow ended while the task ran', retryable: false };

/**
 * One run's key: the runner's handle and the holder of its exclusive files.
 * Unique per run, not per attempt: a task moved to another agent runs the
 * same attempt again, and an abort broadcast for the first run must never
 * reach the second.
 */
let runs = 0;
const runKey = (entry: WorkflowEntry, taskId: string, attempt: number) => `${idempotencyKey(entry, taskId)}#${attempt}.${++runs}`;

/**
 * Drives workflows: after every change it announces what changed as events,
 * dispatches the ready tasks of running workflows to agents and the task
 * runner, feeds outcomes back to the phase, arms retry and deadline timers on
 * the injected clock, and aborts what still runs when a workflow ends.
 * Tasks start as soon as their dependencies complete (dataflow order), so a
 * wave never waits for its slowest member; exclusive files are locks. Ready
 * tasks go longest remaining path first (task-order.ts), and agents go to
 * workflows by priority, then start time (waiting-room.ts).
 */
export class Scheduler {
  readonly #deps: SchedulerDeps;
  readonly #watch: FlightWatch;
  readonly #gates: ApprovalGates;
  /** workflows with a ready task that found no agent or a held file: pumped when capacity frees up, by priority */
  readonly #room: WaitingRoom;

  #halted = false;
  /** set while a task's agent is freed by its outcome: the waiting workflows hear of it once the outcome is applied */
  #quiet = false;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
    this.#room = new WaitingRoom(deps.pool, deps.locks);
    this.#watch = new FlightWatch({ ...deps, halted: () => this.#halted });
    this.#gates = new ApprovalGates({
      clock: deps.clock,
      record: (entry, phase, record) => this.#record(entry, phase, record, () => this.#gates.settled(entry, record.task_id)),
      publish: (entry, type, phase, data) => this.#publish(entry, type, phase, data),
    });
    deps.pool.onCapacity(() => this.#quiet || this.#wake());
    deps.locks.onRelease(() => this.#wake());
  }

  /**
   * Capacity freed up (an agent, a breaker, a file): the waiting workflows
   * are pumped, highest priority first, then earliest start, until the pool
   * has nothing left to give, so a saturated pool costs one pump per freed
   * agent, not one per waiting workflow. (Each pump takes its workflow out of
   * the room and puts back what it still cannot serve.)
   */
  #wake(): void {
    if (this.#halted || this.#room.size === 0) return;
    for (const entry of this.#room.inOrder()) {
      if (!this.#deps.pool.mayTakeWork()) return;
      this.pump(entry);
    }
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
    // whatever it waited for, this pump looks again (and a workflow that no longer dispatches reserves nothing)
    this.#room.leave(entry);
    announce(entry, snapshot, status, (type, phase, data) => this.#publish(entry, type, phase, data));
    if (this.#halted) return;
    // however it ended (an outcome, a deadline, a cancel), the end is made durable
    if (this.#deps.journal && status !== previous && ENDED_STATUSES.has(status) && !ENDED_STATUSES.has(previous)) void this.#checkpoint(entry, 'end');
    if (ENDED_STATUSES.has(status)) {
      this.#stopAll(entry);
      this.#deps.pool.releaseFloor(entry.id);
    } else {
      if (status === 'compensating') {
        // the workflow's run is over: what still runs of it stops, and its deadline no longer applies
        this.#abortStale(entry, snapshot);
        entry.deadlineTimer?.cancel();
        entry.deadlineTimer = null;
        this.#armInterval(entry, snapshot);
        this.#dispatch(entry, snapshot);
      } else if (status !== 'created') {
        this.#armDeadline(entry, snapshot);
        this.#armInterval(entry, snapshot);
        if (DISPATCHING_STATUSES.has(status)) this.#dispatch(entry, snapshot);
      }
      // an approval's deadline runs whatever the workflow does meanwhile (paused, waiting for intervention);
      // armed after dispatch, which may just have made an approval wait
      this.#gates.arm(entry, snapshot);
    }
    for (const watcher of [...entry.watchers]) watcher();
  }

  /** Cancels the workflow's timers; its running tasks' outcomes will be dropped (restore replaces its actor). */
  detach(entry: WorkflowEntry): void {
    // a replaced actor must never be pumped again when capacity frees up
    this.#room.leave(entry);
    this.#stopAll(entry, false);
  }

  /** A person's answer to an approval the workflow waits on (see ApprovalGates.answer for the refusals). */
  answerApproval(entry: WorkflowEntry, taskId: string, answer: ApprovalAnswer): { task_id: string; attempt: number } {
    return this.#gates.answer(entry, taskId, answer);
  }

  /** The approvals a workflow waits on now. */
  pendingApprovals(entry: WorkflowEntry) {
    return this.#gates.pending(entry);
  }

  /** Aborts every running task of the workflow and cancels its timers. */
  #stopAll(entry: WorkflowEntry, abort = true): void {
    this.#gates.disarm(entry);
    for (const flight of entry.inFlight.values()) {
      flight.liveness?.cancel();
      flight.liveness = null;
      if (abort) flight.run.abort(CANCELLED);
    }
    entry.retryTimer?.handle.cancel();
    entry.retryTimer = null;
    entry.deadlineTimer?.cancel();
    entry.deadlineTimer = null;
    entry.intervalTimer?.cancel();
    entry.intervalTimer = null;
  }

  /** Aborts the runs of a phase that is no longer the live one (a compensation began while tasks of the failed phase still ran). */
  #abortStale(entry: WorkflowEntry, snapshot: WorkflowSnapshot): void {
    const live = snapshot.children.phase as PhaseRef | undefined;
    for (const flight of entry.inFlight.values()) {
      if (flight.phase === live || flight.aborted) continue;
      flight.aborted = true;
      flight.run.abort(CANCELLED);
    }
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

  #publish(entry: WorkflowEntry, type: EventType, phase: string | undefined, data: Record<string, unknown>, causationId: string | null = null): EventRecord {
    return this.#deps.bus.publish({
      type,
      workflowId: entry.id,
      ...(phase === undefined ? {} : { phase }),
      data,
      source: 'scheduler',
      correlationId: entry.correlationId,
      causationId,
    });
  }

  #dispatch(entry: WorkflowEntry, snapshot: WorkflowSnapshot): void {
    const phase = snapshot.children.phase as PhaseRef | undefined;
    if (!phase || this.#deps.mayDispatch?.() === false) return;
    const now = this.#deps.clock.now();
    const limit = snapshot.context.spec.agentRequirements.maxAgents;
    let nextDue = Infinity;
    let skipped = false;
    // roles this pump found no agent for (or must leave to a workflow ranked above): no pick for them again
    const unavailable = new Set<string>();
    // longest remaining path first, from the first task not done yet: a scan from the top per pump made a phase of n tasks O(n²)
    const { context: phaseContext } = phase.getSnapshot();
    for (const spec of openSpecs(dispatchOrder(phaseContext, snapshot.context.spec), phaseContext.tasks)) {
      if (entry.inFlight.size >= limit) break;
      const record = phase.getSnapshot().context.tasks[spec.id]!;
      if (record.status !== 'ready') continue;
      if (record.notBefore !== null && record.notBefore > now) {
        nextDue = Math.min(nextDue, record.notBefore);
        continue;
      }
      // the condition and the input are evaluated now that the dependencies have ended
      const prepared = prepareTask(snapshot, spec, record.attempts + 1);
      if (prepared.kind === 'skip') {
        phase.send({ type: 'task.skipped', taskId: spec.id, reason: prepared.reason, at: now });
        skipped = true;
        continue;
      }
      if (prepared.kind === 'fail') {
        this.#failUnrun(entry, phase, spec, record.attempts + 1, prepared.error);
        continue;
      }
      if (spec.handler === 'approval') {
        // a person answers it: no agent, no thread
        this.#gates.request(entry, phase, spec, record.attempts + 1, prepared.input);
        continue;
      }
      // a wait on a held file is counted (conflict rate); the waiting room then decides who gets an agent
      const held = this.#deps.locks.conflicts(spec.exclusiveFiles);
      if (held.length > 0) this.#deps.onFileWait?.(entry, spec.id, phase.getSnapshot().context.name, held);
      const agentId = this.#room.agentFor(entry, spec, unavailable);
      if (agentId === null) continue;
      this.#launch(entry, phase, spec, record.attempts + 1, agentId, prepared.input);
    }
    if (nextDue < Infinity && (!entry.retryTimer || entry.retryTimer.due > nextDue)) {
      entry.retryTimer?.handle.cancel();
      const handle = this.#deps.clock.setTimer(nextDue - now, () => {
        entry.retryTimer = null;
        this.pump(entry);
      });
      entry.retryTimer = { due: nextDue, handle };
    }
    // a skip may have readied dependents or ended the phase (or the workflow): that is announced and
    // dispatched by another pump, queued rather than nested, so a long chain of skips needs no stack
    if (skipped) queueMicrotask(() => this.#halted || this.pump(entry));
  }

  /**
   * A task that fails before it runs (its condition or input could not be
   * evaluated): marked assigned at once, so no pump evaluates it again, then
   * its failure is logged and delivered like any outcome.
   */
  #failUnrun(entry: WorkflowEntry, phase: PhaseRef, spec: TaskSpec, attempt: number, error: TaskError): void {
    const at = this.#deps.clock.now();
    phase.send({ type: 'task.assigned', taskId: spec.id, agentId: NO_AGENT, at });
    const record: OutcomeRecord = {
      kind: 'outcome', workflow_id: entry.id, epoch: entry.epoch, task_id: spec.id, attempt, agent_id: NO_AGENT,
      ok: false, output: null, error, duration_ms: 0, at, retry_at: at,
    };
    this.#record(entry, phase, record, () => {});
  }

  #launch(entry: WorkflowEntry, phase: PhaseRef, spec: TaskSpec, attempt: number, agentId: string, input: unknown): void {
    const { clock, pool, journal } = this.#deps;
    const phaseName = phase.getSnapshot().context.name;
    phase.send({ type: 'task.assigned', taskId: spec.id, agentId, at: clock.now() });
    pool.assign(agentId, spec.id);
    const key = runKey(entry, spec.id, attempt);
    this.#deps.locks.tryAcquire(spec.exclusiveFiles, key, { kind: 'task', workflow_id: entry.id, task_id: spec.id, attempt });
    this.#publish(entry, 'TASK_ASSIGNED', phaseName, { task_id: spec.id, agent_id: agentId, attempt, estimated_duration: formatDuration(spec.estimatedDurationMs) });
    const move = entry.moves.get(spec.id);
    entry.moves.delete(spec.id);
    if (move && move.from !== agentId) {
      this.#publish(entry, 'TASK_REASSIGNED', phaseName, { task_id: spec.id, old_agent: move.from, new_agent: agentId, reason: move.reason, attempt });
    }
    // so a restart can say which tasks it runs again (it runs them either way): batched, not waited for
    journal?.log.append({ kind: 'dispatch', workflow_id: entry.id, epoch: entry.epoch, task_id: spec.id, attempt }, 'batch').durable.catch(() => {});
    if (spec.risky && journal) {
      // the state before a risky task is made durable first
      void this.#checkpoint(entry, 'risky').then(() => this.#run(entry, phase, spec, attempt, agentId, key, input));
    } else {
      this.#run(entry, phase, spec, attempt, agentId, key, input);
    }
  }

  #run(entry: WorkflowEntry, phase: PhaseRef, spec: TaskSpec, attempt: number, agentId: string, key: string, input: unknown): void {
    const { runner, pool } = this.#deps;
    if (phase.getSnapshot().context.tasks[spec.id]?.status !== 'assigned' || this.#halted) {
      // ended while its risky checkpoint was written
      this.#deps.locks.release(spec.exclusiveFiles, key);
      pool.done(agentId, spec.id, false, 0);
      return;
    }
    const phaseName = phase.getSnapshot().context.name;
    const run = runner.run(
      {
        key,
        workflowId: entry.id,
        taskId: spec.id,
        handler: spec.handler,
        input,
        attempt,
        idempotencyKey: idempotencyKey(entry, spec.id),
        timeoutMs: spec.timeoutMs,
        heartbeatIntervalMs: this.#deps.heartbeatIntervalMs,
        files: attemptFiles(this.#deps.taskFiles, entry.id, entry.epoch, spec, attempt),
        maxOutputBytes: this.#deps.maxOutputBytes,
      },
      {
        onStarted: (at) => {
          if (entry.inFlight.get(spec.id)?.run !== run) return;
          phase.send({ type: 'task.started', taskId: spec.id, at });
          this.#publish(entry, 'TASK_STARTED', phaseName, { task_id: spec.id, agent_id: agentId, attempt, start_time: new Date(at).toISOString() });
          this.#watch.beat(entry, spec.id, flight, at);
        },
        onHeartbeat: (progress, at) => {
          if (entry.inFlight.get(spec.id) !== flight) return;
          this.#watch.beat(entry, spec.id, flight, at);
          // a handler's own progress is news; the thread's bare beats are not (at most one a second per task)
          if (progress === null || (flight.progressAt !== null && at - flight.progressAt < PROGRESS_EVERY_MS)) return;
          flight.progressAt = at;
          this.#publish(entry, 'PHASE_PROGRESS', phaseName, progressData(phase, spec.id, agentId, progress));
        },
        onProcess: ({ pid, mode }) => {
          if (entry.inFlight.get(spec.id) !== flight) return;
          flight.process = { pid, mode };
          if (mode === 'spawned') return;
          this.#publish(entry, 'TASK_RECOVERED', phaseName, { task_id: spec.id, agent_id: agentId, attempt, process: mode, pid });
        },
        onLogError: (message) => this.#deps.onLogError(entry.id, spec.id, attempt, message),
      },
    );
    const flight: InFlight = { key, run, attempt, agentId, phase, files: spec.exclusiveFiles, liveness: null, lastBeatAt: null, moving: null, progressAt: null, process: null, aborted: false };
    entry.inFlight.set(spec.id, flight);
    this.#watch.track(entry, flight);
    void run.result.then((outcome) => this.#finish(entry, spec, attempt, run, outcome));
  }

  /**
   * `redistribute-tasks`: the agent is failed for good and each task it runs
   * is moved to another agent chosen by `strategy`, in dispatch order.
   */
  redistribute(agentId: string, reason: string, strategy: AssignmentStrategy): MovedTask[] {
    return this.#watch.redistribute(agentId, reason, strategy);
  }

  #finish(entry: WorkflowEntry, spec: TaskSpec, attempt: number, run: TaskRun, outcome: TaskOutcome): void {
    const { clock, pool, journal } = this.#deps;
    const flight = entry.inFlight.get(spec.id);
    if (!flight || flight.run !== run) return;
    // what the log cannot hold fails the task here, before anything counts or logs it
    outcome = boundOutcome(outcome, { taskId: spec.id, maxBytes: this.#deps.maxOutputBytes });
    entry.inFlight.delete(spec.id);
    this.#watch.untrack(flight);
    // the files are held until the outcome is applied, so no task holding them starts before this one is seen to end
    const releaseFiles = () => this.#deps.locks.release(flight.files, flight.key);
    // the agent is free from here, but the waiting workflows are not woken yet (see the claim below)
    this.#quiet = true;
    try {
      pool.done(flight.agentId, spec.id, outcome.ok, outcome.durationMs, outcome.ok ? undefined : outcome.error);
    } finally {
      this.#quiet = false;
    }
    if (flight.moving && !this.#halted) {
      // not a failure of the task: it goes back to ready, to another agent, under the same attempt number
      releaseFiles();
      entry.moves.set(spec.id, { from: flight.agentId, ...flight.moving });
      flight.phase.send({ type: 'task.released', taskId: spec.id, at: clock.now() });
      this.pump(entry);
      this.#wake();
      if (this.#deps.journal) void this.#checkpoint(entry, 'agent_failure');
      return;
    }
    // a task stopped by shutdown did not fail: nothing is recorded, so after a restart it runs again
    if (this.#halted && !outcome.ok && (outcome.error.code === 'HUB_SHUTDOWN' || outcome.error.code === 'RUNNER_CLOSED')) return releaseFiles();
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
    // until the outcome is applied, no workflow served after this one takes the agent: the tasks the
    // outcome readies (its next step) would lose it to whatever was waiting already. In memory it is
    // applied right here, and the waiting workflows then compete with those tasks in priority order;
    // with a journal it waits for the log, and meanwhile this workflow or one served first may take the agent
    this.#room.claim(entry, spec.role);
    this.#record(entry, flight.phase, record, () => {
      this.#room.unclaim(entry, spec.role);
      releaseFiles();
      this.#wake();
    });
    if (journal) this.#wake();
  }

  /** Logs an outcome, then delivers it to the phase (in that order: what the actor acts on survives a crash); `settled` runs either way. */
  #record(entry: WorkflowEntry, phase: PhaseRef, record: OutcomeRecord, settled: () => void): void {
    const { journal } = this.#deps;
    if (!journal) {
      this.#deliver(entry, phase, record, null);
      return settled();
    }
    const mode = entry.actor.getSnapshot().context.spec.durability ?? this.#deps.durability;
    const { seq, durable } = journal.appendOutcome(record, mode);
    entry.pendingOutcomes.add(seq);
    durable.then(
      () => {
        entry.pendingOutcomes.delete(seq);
        this.#deliver(entry, phase, record, seq);
        settled();
      },
      (error: unknown) => {
        settled();
        this.#publish(
          entry,
          'SYSTEM_ERROR',
          undefined,
          withSystemReport(
            { error_type: 'log_write_failed', affected_components: ['log'], severity: 'critical', message: `Could not log the outcome of ${record.task_id}: ${String(error)}` },
            entry.id,
            this.#deps.clock.now(),
            'outcome_logging',
          ),
        );
      },
    );
  }

  #deliver(entry: WorkflowEntry, phase: PhaseRef, record: OutcomeRecord, seq: number | null): void {
    const before = entry.actor.getSnapshot().context.phases.length;
    const phaseName = phase.getSnapshot().context.name;
    if (seq !== null) entry.appliedSeq = Math.max(entry.appliedSeq, seq);
    if (!applyOutcome(phase, record)) return;
    const willRetry = !record.ok && phase.getSnapshot().context.tasks[record.task_id]?.status === 'ready';
    // a retry goes to another agent when one can take it
    if (willRetry) entry.moves.set(record.task_id, { from: record.agent_id, reason: `retry after ${record.error!.code}` });
    const spec = specOf(phase.getSnapshot().context.specs, record.task_id);
    const { type, data } = outcomeEvent(record, spec, willRetry);
    const cause = this.#publish(entry, type, phaseName, data);
    const statusAfter = phase.getSnapshot().context.tasks[record.task_id]?.status;
    const report = endsInError(record, willRetry)
      ? taskErrorReport({ workflowId: entry.id, workflow: entry.actor.getSnapshot().context.spec, phase: phaseName, record, spec, statusAfter, recent: this.#deps.bus.recent(entry.id), now: this.#deps.clock.now() })
      : null;
    // what a person must answer (an approval's answer, an intervention) and the error report are caused by the task's outcome event
    for (const event of personEvents(entry.id, record, spec, statusAfter, report)) this.#publish(entry, event.type, phaseName, event.data, cause.event_id);
    this.pump(entry);
    const snapshot = entry.actor.getSnapshot();
    if (this.#deps.journal && !this.#halted && !ENDED_STATUSES.has(statusOf(snapshot)) && snapshot.context.phases.length > before) {
      void this.#checkpoint(entry, 'phase');
    }
  }

  #checkpoint(entry: WorkflowEntry, trigger: CheckpointTrigger): Promise<unknown> {
    return this.#deps.journal!.checkpoint(entry, trigger).catch((error: unknown) =>
      this.#publish(
        entry,
        'SYSTEM_ERROR',
        undefined,
        withSystemReport({ error_type: 'checkpoint_failed', affected_components: ['store'], severity: 'error', message: `Checkpoint (${trigger}) failed: ${String(error)}` }, entry.id, this.#deps.clock.now(), 'checkpoint'),
      ),
    );
  }

  /** Exponential backoff with jitter: base * 2^(attempt-1), capped, then scaled by 0.5..1. */
  #backoff(attempt: number): number {
    const { retryBackoffBaseMs: base, retryBackoffMaxMs: max, random } = this.#deps;
    const exp = Math.min(max, base * 2 ** (attempt - 1));
    return Math.round(exp * (0.5 + random() * 0.5));
  }
}

