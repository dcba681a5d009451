/** The data of the events the scheduler publishes, in the shape the event registry requires. */
import { criticalPath } from '../../machines/task-graph.js';
import type { PhaseOutcome, PhaseSpec, TaskSpec } from '../../machines/types.js';
import { formatDuration } from '../durations.js';

/** The roles a set of tasks needs. */
export const rolesOf = (tasks: readonly TaskSpec[]) => [...new Set(tasks.map((t) => t.role))];

/** PHASE_STARTED's data: the registry's fields, with the phase's plan. */
export function phaseStartData(spec: PhaseSpec, index: number): Record<string, unknown> {
  return {
    phase_index: index + 1,
    phase_id: index + 1,
    estimated_duration: formatDuration(criticalPath(spec.tasks).durationMs),
    resource_allocation: { roles: rolesOf(spec.tasks), tasks: spec.tasks.length },
  };
}

/** The data of the event that ends a phase, by how it ended. */
export function phaseEndData(outcome: PhaseOutcome): Record<string, unknown> {
  const completed = outcome.tasks.filter((t) => t.status === 'completed');
  const base = {
    phase_index: outcome.index + 1,
    phase_id: outcome.index + 1,
    status: outcome.status,
    tasks_completed: completed.length,
    tasks_total: outcome.tasks.length,
  };
  if (outcome.status === 'completed') {
    const ms = outcome.finishedAt !== null && outcome.startedAt !== null ? outcome.finishedAt - outcome.startedAt : 0;
    return { ...base, actual_duration: formatDuration(ms), success_metrics: { tasks_completed: completed.length, tasks_total: outcome.tasks.length } };
  }
  if (outcome.status === 'skipped') {
    return { ...base, skip_reason: outcome.skipReason ?? 'every task depends on one that did not complete', impact_assessment: { tasks_skipped: outcome.tasks.length } };
  }
  const failed = outcome.tasks.find((t) => t.status === 'failed');
  return {
    ...base,
    failure_reason: outcome.status === 'cancelled' ? 'workflow cancelled' : failed ? `task ${failed.id} failed: ${failed.error?.message ?? ''}` : `stopped by ${outcome.stoppedBy ?? 'a failure'}`,
    partial_results: { tasks_completed: completed.map((t) => t.id) },
  };
}

/** A task's output as an event carries it: whole when small, otherwise its size (the log keeps every event). */
export function boundedResults(output: unknown): unknown {
  const text = JSON.stringify(output ?? null);
  return text.length <= 1024 ? (output ?? null) : { truncated: true, bytes: text.length };
}
