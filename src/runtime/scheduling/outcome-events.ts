import { PERSON } from './approval-gates.js';
import { isDone } from '../../machines/phase-records.js';
import type { TaskSpec } from '../../machines/types.js';
import type { OutcomeRecord } from '../durability/journal.js';
import { formatDuration } from '../durations.js';
import { boundedResults } from '../events/event-data.js';
import type { EventType } from '../events/event-record.js';
import type { PhaseRef } from './workflow-entry.js';
import type { ErrorReport } from '../protocol/error-report.js';

/**
 * The event that announces a task outcome once it is applied: TASK_COMPLETED,
 * TASK_FAILED or TASK_TIMEOUT, or, for a compensation, TASK_COMPENSATED and
 * TASK_COMPENSATION_FAILED (named by the task it undoes, so a subscriber
 * counting completed tasks never counts an undo).
 */
export function outcomeEvent(record: OutcomeRecord, spec: TaskSpec | undefined, willRetry: boolean): { type: EventType; data: Record<string, unknown> } {
  const base = { task_id: record.task_id, agent_id: record.agent_id, attempt: record.attempt, execution_time_ms: record.duration_ms };
  const compensates = spec?.compensates;
  if (compensates !== undefined) {
    const undo = { ...base, task_id: compensates, compensation_task_id: record.task_id };
    if (record.ok) return { type: 'TASK_COMPENSATED', data: { ...undo, duration: formatDuration(record.duration_ms), results: boundedResults(record.output) } };
    return {
      type: 'TASK_COMPENSATION_FAILED',
      data: { ...undo, error: record.error, will_retry: willRetry, failure_reason: record.error!.message, retry_count: record.attempt - 1 },
    };
  }
  if (record.ok) return { type: 'TASK_COMPLETED', data: { ...base, duration: formatDuration(record.duration_ms), results: boundedResults(record.output) } };
  const timedOut = record.error!.code === 'TASK_TIMEOUT';
  return {
    type: timedOut ? 'TASK_TIMEOUT' : 'TASK_FAILED',
    data: {
      ...base,
      error: record.error,
      will_retry: willRetry,
      failure_reason: record.error!.message,
      retry_count: record.attempt - 1,
      ...(timedOut ? { timeout_duration: formatDuration(spec?.timeoutMs ?? 0) } : {}),
    },
  };
}

/**
 * What a person needs to hear after an outcome is applied, beside the task
 * event: an approval's answer (APPROVAL_GRANTED, APPROVAL_REJECTED), or a
 * task that now waits for intervention (ERROR_ENCOUNTERED with
 * `manual_intervention_required`, and the commands that answer it). A task
 * failure that ends the task (`report`, see error-events.ts) is one
 * ERROR_ENCOUNTERED with the spec's error_report: the intervention's, or one of its own.
 */
export function personEvents(
  workflowId: string,
  record: OutcomeRecord,
  spec: TaskSpec | undefined,
  statusAfter: string | undefined,
  report: ErrorReport | null = null,
): { type: EventType; data: Record<string, unknown> }[] {
  const events: { type: EventType; data: Record<string, unknown> }[] = [];
  if (spec?.handler === 'approval' && record.agent_id === PERSON) {
    const answer = (record.ok ? record.output : record.error?.data) as { by?: string; comment?: string | null; reason?: string | null; at?: string } | null;
    const by = answer?.by ?? 'unknown';
    const at = answer?.at ?? new Date(record.at).toISOString();
    if (record.ok) events.push({ type: 'APPROVAL_GRANTED', data: { task_id: record.task_id, by, comment: answer?.comment ?? null, at } });
    else events.push({ type: 'APPROVAL_REJECTED', data: { task_id: record.task_id, by, reason: answer?.reason ?? null, at } });
  }
  if (statusAfter === 'needs_intervention') {
    events.push({
      type: 'ERROR_ENCOUNTERED',
      data: {
        component: 'workflow',
        manual_intervention_required: true,
        task_id: record.task_id,
        attempt: record.attempt,
        error: record.error,
        options: [
          `${workflowId} retry-task {"task_id":"${record.task_id}"}`,
          `${workflowId} skip-task {"task_id":"${record.task_id}"}`,
          `${workflowId} skip-task {"task_id":"${record.task_id}","output":{…}}`,
          `${workflowId} cancel`,
        ],
        ...(report ? { error_report: report } : {}),
      },
    });
  } else if (report) {
    events.push({ type: 'ERROR_ENCOUNTERED', data: { component: 'scheduler', task_id: record.task_id, attempt: record.attempt, error: record.error, error_report: report } });
  }
  return events;
}

/**
 * PHASE_PROGRESS for a running task's own progress report: where its phase
 * stands (the share of its tasks whose work is done, see `isDone`: a failed,
 * cancelled or skipped-by-a-failure task is no progress), and what the handler said.
 */
export function progressData(phase: PhaseRef, taskId: string, agentId: string, progress: unknown): Record<string, unknown> {
  const { index, tasks } = phase.getSnapshot().context;
  const records = Object.values(tasks);
  return {
    phase_id: index + 1,
    progress_percentage: Math.round((records.filter(isDone).length / Math.max(1, records.length)) * 1000) / 10,
    eta_update: null,
    task_id: taskId,
    agent_id: agentId,
    task_progress: progress,
  };
}
