import { randomUUID } from 'node:crypto';
import { criticalPath } from '../../machines/task-graph.js';
import type { TaskSpec, WorkflowSpec } from '../../machines/types.js';
import type { OutcomeRecord } from '../durability/journal.js';
import { formatDuration } from '../durations.js';
import type { EventRecord } from '../events/event-record.js';
import { classify, type ErrorReport, type ErrorSeverity, type RecoverySuggestion } from '../protocol/error-report.js';

/** How many of the task's own recent events a report names. */
const RELATED_EVENTS = 10;

/**
 * Whether an outcome is the failure that ends a task: the last attempt (no
 * retry follows), not a cancel (a person's decision, not an error).
 * ERROR_ENCOUNTERED with an error_report is published for these only, once
 * per task failure, never per retried attempt.
 */
export function endsInError(record: OutcomeRecord, willRetry: boolean): boolean {
  return !record.ok && !willRetry && record.error?.code !== 'TASK_CANCELLED';
}

/** Every task that depends on `taskId`, directly or through others, in any phase, in definition order. */
export function dependentsOf(spec: WorkflowSpec, taskId: string): TaskSpec[] {
  const tasks = spec.phases.flatMap((p) => p.tasks);
  const blocked = new Set<string>([taskId]);
  // until nothing is added: a dependent may be defined before what it depends on
  for (let grew = true; grew; ) {
    grew = false;
    for (const t of tasks) {
      if (!blocked.has(t.id) && t.dependsOn.some((d) => blocked.has(d))) {
        blocked.add(t.id);
        grew = true;
      }
    }
  }
  return tasks.filter((t) => t.id !== taskId && blocked.has(t.id));
}

export interface TaskFailure {
  workflowId: string;
  workflow: WorkflowSpec;
  phase: string;
  record: OutcomeRecord;
  spec: TaskSpec | undefined;
  /** the task's status once the outcome was applied */
  statusAfter: string | undefined;
  /** the workflow's retained events (the task's own are picked out) */
  recent: EventRecord[];
  now: number;
}

/**
 * The spec's error_report for a task whose failure ends it. Impact: the
 * task's transitive dependents are blocked; estimated_delay is the longest
 * chain of their estimated durations; workflow_risk follows what the
 * failure does to the workflow (its failure tolerance, or the task's
 * allow_failure and on_failure). Severity follows the risk.
 * success_probability is left out: troupe has no measured rate to put there.
 */
export function taskErrorReport(f: TaskFailure): ErrorReport {
  const error = f.record.error!;
  const { category, type, recoverable } = classify(error.code, error.retryable);
  const blocked = dependentsOf(f.workflow, f.record.task_id);
  const ids = new Set(blocked.map((t) => t.id));
  const chain = criticalPath(blocked.map((t) => ({ ...t, dependsOn: t.dependsOn.filter((d) => ids.has(d)) })));
  const intervention = f.statusAfter === 'needs_intervention';
  const risk: ErrorReport['impact_assessment']['workflow_risk'] = f.spec?.allowFailure
    ? 'low'
    : intervention
      ? 'medium'
      : f.workflow.failureTolerance === 'low'
        ? 'critical'
        : f.workflow.failureTolerance === 'medium'
          ? 'high'
          : blocked.length > 0
            ? 'medium'
            : 'low';
  const severity: ErrorSeverity = { critical: 'critical', high: 'high', medium: 'medium', low: 'low' }[risk] as ErrorSeverity;
  const related = f.recent.filter((e) => (e.data as { task_id?: unknown }).task_id === f.record.task_id).slice(-RELATED_EVENTS);
  const agent = f.record.agent_id === 'none' ? null : f.record.agent_id;
  return {
    error_id: `err_${randomUUID()}`,
    workflow_id: f.workflowId,
    timestamp: new Date(f.now).toISOString(),
    classification: { category, severity, type, scope: 'task', recoverable },
    context: { component: agent ?? 'scheduler', operation: f.spec?.compensates ? 'compensation' : 'task_execution', phase: f.phase, task: f.record.task_id, agent },
    details: {
      error_message: error.message,
      technical_details: `${error.name} ${error.code} on attempt ${f.record.attempt}${agent ? ` by ${agent}` : ''} after ${formatDuration(f.record.duration_ms)}${error.retryable ? '' : '; the error says it must not be retried'}`,
      related_events: related.map((e) => e.event_id),
    },
    impact_assessment: {
      affected_tasks: [f.record.task_id],
      affected_agents: agent ? [agent] : [],
      blocking_dependencies: blocked.map((t) => t.id),
      estimated_delay: formatDuration(chain.durationMs),
      workflow_risk: risk,
    },
    recovery_suggestions: suggestions(f, intervention),
  };
}

function suggestions(f: TaskFailure, intervention: boolean): RecoverySuggestion[] {
  const id = f.workflowId;
  const task = f.record.task_id;
  const estimate = f.spec && f.spec.estimatedDurationMs > 0 ? { estimated_time: formatDuration(f.spec.estimatedDurationMs) } : {};
  if (f.spec?.allowFailure) return [{ strategy: 'none_needed', description: 'The task allows failure: the workflow goes on, and conditions downstream can react to it' }];
  if (intervention) {
    return [
      { strategy: 'task_retry', description: 'Run the task again (after fixing its cause)', command: `${id} retry-task {"task_id":"${task}"}`, ...estimate },
      { strategy: 'task_skip', description: 'Skip it; with "output" it counts as completed and its dependents run', command: `${id} skip-task {"task_id":"${task}"}` },
    ];
  }
  return [
    { strategy: 'checkpoint_rollback', description: "Fix the cause, then roll back to a checkpoint from before the failure (see 'list-checkpoints'): the work after it runs again", command: `${id} rollback` },
    { strategy: 'intervention_next_time', description: 'Give the task on_failure: intervene (or the workflow failure_tolerance: intervene) so a failure waits for a person instead' },
  ];
}
