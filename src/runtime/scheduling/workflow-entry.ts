import type { Actor, ActorRefFrom, SnapshotFrom } from 'xstate';
import type { TimerHandle } from '../../actors/clock.js';
import type { TaskRun } from '../../actors/task-runner.js';
import type { ProcessMode } from '../../actors/worker-protocol.js';
import type { phaseMachine } from '../../machines/phase-machine.js';
import type { workflowMachine } from '../../machines/workflow-machine.js';
import type { AssignmentStrategy } from '../agents/agent-ranking.js';
import { TroupeError } from '../errors.js';

export type WorkflowActor = Actor<typeof workflowMachine>;
export type WorkflowSnapshot = SnapshotFrom<typeof workflowMachine>;
export type PhaseRef = ActorRefFrom<typeof phaseMachine>;

/** The status users see: the statechart's state, with `active.*` flattened. */
export type WorkflowStatus =
  | 'created' | 'running' | 'paused' | 'completed' | 'partial' | 'failed' | 'cancelled' | 'archived'
  | 'compensating' | 'compensated' | 'compensation_failed' | 'needs_intervention';

/** Statuses in which nothing runs any more. */
export const ENDED_STATUSES: ReadonlySet<WorkflowStatus> = new Set(['completed', 'partial', 'failed', 'cancelled', 'archived', 'compensated', 'compensation_failed']);

/** Statuses in which the scheduler dispatches ready tasks. */
export const DISPATCHING_STATUSES: ReadonlySet<WorkflowStatus> = new Set(['running', 'compensating']);

/** The status of a workflow snapshot. */
export function statusOf(snapshot: WorkflowSnapshot): WorkflowStatus {
  if (snapshot.matches({ active: 'paused' })) return 'paused';
  if (snapshot.matches({ active: 'needs_intervention' })) return 'needs_intervention';
  if (snapshot.matches('active')) return 'running';
  // `ended` and `compensationEnded` are transient (eventless), so they are never observed from outside
  return snapshot.value as WorkflowStatus;
}

/** A task attempt running on the pool. */
export interface InFlight {
  /** the run's key: the runner's handle and the holder of its files */
  key: string;
  run: TaskRun;
  attempt: number;
  agentId: string;
  phase: PhaseRef;
  files: string[];
  /** fires when the run has been silent for the missed-heartbeat limit */
  liveness: TimerHandle | null;
  /** the last sign of life (start or heartbeat), clock ms */
  lastBeatAt: number | null;
  /** when this run's last PHASE_PROGRESS was published */
  progressAt: number | null;
  /** set when the run was aborted to move the task to another agent */
  moving: { reason: string; strategy?: AssignmentStrategy } | null;
  /** aborted because its phase is no longer the live one (a compensation began) */
  aborted: boolean;
  /** an `exec` run's process group, and how the run came by it */
  process: { pid: number; mode: ProcessMode } | null;
}

/** A task leaving an agent: announced as TASK_REASSIGNED when it lands on another. */
export interface TaskMove {
  from: string;
  reason: string;
  strategy?: AssignmentStrategy;
}

/** What the hub keeps per workflow beside its actor. */
export interface WorkflowEntry {
  id: string;
  actor: WorkflowActor;
  inFlight: Map<string, InFlight>;
  /** the earliest retry timer armed, if any */
  retryTimer: { due: number; handle: TimerHandle } | null;
  deadlineTimer: TimerHandle | null;
  /** what has been announced as events, to announce each change once */
  announced: { status: WorkflowStatus; phasesRecorded: number; phaseStarted: number };
  /** called after every change (`wait` listens here) */
  watchers: Set<() => void>;
  /** the id of the command being executed, for correlation of the events it causes */
  correlationId: string | null;
  /** bumped by restore and rollback: outcomes of an older epoch are ignored, and idempotency keys change */
  epoch: number;
  /** seq of the last log record applied to the actor */
  appliedSeq: number;
  /** seq of the workflow's newest checkpoint */
  checkpointSeq: number;
  /** `appliedSeq` when the newest checkpoint was taken: an interval checkpoint with nothing new is skipped */
  checkpointedAppliedSeq: number;
  /** checkpoint writes of this workflow, one after the other */
  checkpointChain: Promise<unknown>;
  intervalTimer: TimerHandle | null;
  /** seqs of outcomes logged but not yet applied (waiting for their fsync): a checkpoint must not claim them */
  pendingOutcomes: Set<number>;
  /** tasks whose next attempt should go to another agent, by task id */
  moves: Map<string, TaskMove>;
  /** how often each task was moved off a silent or failed agent (bounded: a task that hangs every agent fails) */
  reassignments: Map<string, number>;
  /** `assign-agents`' performance_threshold: agents scoring below it get this workflow's tasks only when no other can */
  performanceThreshold: number | null;
}

/** A fresh entry for an actor; `restored` carries what a checkpoint knew. */
export function newEntry(
  id: string,
  actor: WorkflowActor,
  restored: { epoch: number; appliedSeq: number; checkpointSeq: number } = { epoch: 0, appliedSeq: 0, checkpointSeq: 0 },
): WorkflowEntry {
  const snapshot = actor.getSnapshot();
  const ctx = snapshot.context;
  const live = snapshot.children.phase !== undefined;
  return {
    id,
    actor,
    inFlight: new Map(),
    retryTimer: null,
    deadlineTimer: null,
    // what the snapshot already shows was announced before it was saved
    announced: { status: statusOf(snapshot), phasesRecorded: ctx.phases.length, phaseStarted: live ? ctx.phaseIndex + 1 : ctx.phases.length },
    watchers: new Set(),
    correlationId: null,
    epoch: restored.epoch,
    appliedSeq: restored.appliedSeq,
    checkpointSeq: restored.checkpointSeq,
    checkpointedAppliedSeq: restored.appliedSeq,
    checkpointChain: Promise.resolve(),
    intervalTimer: null,
    pendingOutcomes: new Set(),
    moves: new Map(),
    reassignments: new Map(),
    performanceThreshold: null,
  };
}

/**
 * The idempotency key of a task: the same for every attempt, every restart,
 * and a run again after a rollback or restore (which bumps the epoch), so a
 * handler recognises work it did before. A compensation has its own task id
 * (`<id>.compensate`), hence its own key.
 */
export const idempotencyKey = (entry: Pick<WorkflowEntry, 'id'>, taskId: string): string => `${entry.id}/${taskId}`;

/** Throws TASK_NOT_FOUND, listing the workflow's tasks, unless `taskId` is one of its definition's. */
export function requireTask(entry: Pick<WorkflowEntry, 'id' | 'actor'>, taskId: string): void {
  const known = entry.actor.getSnapshot().context.spec.phases.flatMap((p) => p.tasks).map((t) => t.id);
  if (!known.includes(taskId)) {
    throw new TroupeError('TASK_NOT_FOUND', `Workflow ${entry.id} has no task ${taskId}`, { details: `Its tasks: ${known.slice(0, 20).join(', ')}` });
  }
}
