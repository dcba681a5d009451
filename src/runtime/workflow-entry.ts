import type { Actor, ActorRefFrom, SnapshotFrom } from 'xstate';
import type { TimerHandle } from '../actors/clock.js';
import type { TaskRun } from '../actors/task-runner.js';
import type { phaseMachine } from '../machines/phase-machine.js';
import type { workflowMachine } from '../machines/workflow-machine.js';

export type WorkflowActor = Actor<typeof workflowMachine>;
export type WorkflowSnapshot = SnapshotFrom<typeof workflowMachine>;
export type PhaseRef = ActorRefFrom<typeof phaseMachine>;

/** The status users see: the statechart's state, with `active.*` flattened. */
export type WorkflowStatus = 'created' | 'running' | 'paused' | 'completed' | 'partial' | 'failed' | 'cancelled' | 'archived';

/** Statuses in which nothing runs any more. */
export const ENDED_STATUSES: ReadonlySet<WorkflowStatus> = new Set(['completed', 'partial', 'failed', 'cancelled', 'archived']);

/** The status of a workflow snapshot. */
export function statusOf(snapshot: WorkflowSnapshot): WorkflowStatus {
  if (snapshot.matches({ active: 'paused' })) return 'paused';
  if (snapshot.matches('active')) return 'running';
  // `ended` is transient (eventless), so it is never observed from outside
  return snapshot.value as WorkflowStatus;
}

/** A task attempt running on the pool. */
export interface InFlight {
  run: TaskRun;
  agentId: string;
  phase: PhaseRef;
  files: string[];
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
}
