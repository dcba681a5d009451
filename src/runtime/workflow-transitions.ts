import type { WorkflowEvent } from '../machines/workflow-machine.js';
import { TroupeError } from './errors.js';
import type { HubState } from './hub-state.js';
import { statusOf, type WorkflowEntry, type WorkflowStatus } from './scheduling/workflow-entry.js';

/** The lifecycle operations that are workflow events. */
export const LIFECYCLE = ['start', 'pause', 'resume', 'cancel', 'complete', 'cleanup'] as const;
export type LifecycleOperation = (typeof LIFECYCLE)[number];

/** Operations of a person answering a task that failed for good with `on_failure: intervene`. */
const INTERVENTIONS = ['retry-task', 'skip-task'] as const;
type InterventionOperation = (typeof INTERVENTIONS)[number];

/** Checkpoint triggers are file-name words: operations with a dash get their own. */
const TRIGGER: Partial<Record<string, 'retry_task' | 'skip_task' | 'priority'>> = { 'retry-task': 'retry_task', 'skip-task': 'skip_task', 'set-priority': 'priority' };

/** The operations allowed on a workflow in its current state. */
export function allowedOperations(entry: WorkflowEntry): string[] {
  const snapshot = entry.actor.getSnapshot();
  const allowed = LIFECYCLE.filter((op) => snapshot.can({ type: op, at: 0 } as WorkflowEvent));
  const interventions = INTERVENTIONS.filter((op) => snapshot.can({ type: op, taskId: '', at: 0 } as WorkflowEvent));
  return [...allowed, ...interventions, 'get-status', 'wait'];
}

/**
 * Sends a workflow event, or answers INVALID_TRANSITION naming the state and
 * what is allowed. The new state is checkpointed before anything it causes is
 * dispatched: an outcome logged under a transition the checkpoints do not
 * know of yet would be replayed onto the older state and lost.
 */
export async function transition(
  hub: HubState,
  entry: WorkflowEntry,
  operation: LifecycleOperation | InterventionOperation | 'set-priority',
  event: WorkflowEvent,
): Promise<WorkflowStatus> {
  const snapshot = entry.actor.getSnapshot();
  const before = statusOf(snapshot);
  if (!snapshot.can(event)) throw invalidTransition(entry, operation);
  entry.actor.send(event);
  await hub.journal?.checkpoint(entry, TRIGGER[operation] ?? (operation as LifecycleOperation));
  hub.scheduler.pump(entry);
  return before;
}

/** INVALID_TRANSITION for `operation` on the workflow as it is now: its state, what is allowed, and `hint` after that. */
export function invalidTransition(entry: WorkflowEntry, operation: string, hint?: string): TroupeError {
  const state = statusOf(entry.actor.getSnapshot());
  const allowed = allowedOperations(entry);
  return new TroupeError('INVALID_TRANSITION', `Cannot ${operation} workflow ${entry.id}: it is ${state}`, {
    details: `Allowed in state ${state}: ${allowed.join(', ')}`,
    suggestions: [`Allowed now: ${allowed.map((op) => `'${entry.id} ${op}'`).join(', ')}`, ...(hint === undefined ? [] : [hint])],
  });
}
