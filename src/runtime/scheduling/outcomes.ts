import type { OutcomeRecord } from '../durability/journal.js';
import type { PhaseRef } from './workflow-entry.js';

/**
 * Delivers a logged task outcome to its phase, the same way live and in
 * replay: a task the snapshot still shows as `ready` (dispatched after the
 * checkpoint) is first marked assigned and started. Returns false when the
 * outcome does not fit the task's state (a stale attempt, or a task that a
 * cancel already ended); the phase's guards would ignore it anyway.
 */
export function applyOutcome(phase: PhaseRef, record: OutcomeRecord): boolean {
  const task = phase.getSnapshot().context.tasks[record.task_id];
  if (!task) return false;
  const startedAt = record.at - record.duration_ms;
  if (task.status === 'ready' && task.attempts + 1 === record.attempt) {
    phase.send({ type: 'task.assigned', taskId: record.task_id, agentId: record.agent_id, at: startedAt });
  } else if (!((task.status === 'assigned' || task.status === 'running' || task.status === 'waiting_approval') && task.attempts === record.attempt)) {
    return false;
  }
  if (phase.getSnapshot().context.tasks[record.task_id]!.status === 'assigned') {
    phase.send({ type: 'task.started', taskId: record.task_id, at: startedAt });
  }
  if (record.ok) phase.send({ type: 'task.completed', taskId: record.task_id, output: record.output, at: record.at });
  else phase.send({ type: 'task.failed', taskId: record.task_id, error: record.error!, retryAt: record.retry_at, at: record.at });
  return true;
}
