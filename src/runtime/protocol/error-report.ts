import { randomUUID } from 'node:crypto';

/** The spec's error classification (protocol-standards.md "Error Reporting Standards"). */
export type ErrorCategory = 'execution' | 'resource' | 'dependency' | 'state' | 'system';
export type ErrorSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export type ErrorScope = 'workflow' | 'phase' | 'task' | 'agent' | 'system';

/** The category, type and whether it can be recovered from, of one error code (a task's or a system error's). */
interface ErrorClass {
  category: ErrorCategory;
  /** the spec's types (timeout, conflict, corruption, unavailable, limit_exceeded) and troupe's own beside them */
  type: string;
  recoverable: boolean;
}

const cls = (category: ErrorCategory, type: string, recoverable: boolean): ErrorClass => ({ category, type, recoverable });

/**
 * The one table mapping troupe's error codes (task errors as handlers and
 * the runner report them, the codes of errors.ts, and SYSTEM_ERROR's
 * error_type) to the spec's classification. A code not listed is an
 * execution failure, recoverable when its error says it may be retried.
 */
export const ERROR_CLASSES: Readonly<Record<string, ErrorClass>> = {
  // task errors
  TASK_TIMEOUT: cls('execution', 'timeout', true),
  WORKFLOW_TIMEOUT: cls('execution', 'timeout', false),
  HANDLER_ERROR: cls('execution', 'failure', true),
  TASK_FAILED: cls('execution', 'failure', true),
  EXEC_FAILED: cls('execution', 'failure', true),
  TASK_ABORTED: cls('execution', 'aborted', true),
  APPROVAL_REJECTED: cls('execution', 'rejected', true),
  INVALID_INPUT: cls('execution', 'invalid_input', false),
  APPROVAL_INPUT_INVALID: cls('execution', 'invalid_input', false),
  EXEC_VALUES_INVALID: cls('execution', 'invalid_input', false),
  INVALID_EXPRESSION: cls('execution', 'invalid_input', false),
  INVALID_REFERENCE: cls('dependency', 'invalid_input', false),
  EXEC_VALUES_TOO_LARGE: cls('resource', 'limit_exceeded', false),
  FILE_TOO_LARGE: cls('resource', 'limit_exceeded', false),
  EXEC_SPAWN_FAILED: cls('resource', 'unavailable', true),
  AGENT_UNAVAILABLE: cls('resource', 'unavailable', true),
  RESOURCE_CONFLICT: cls('resource', 'conflict', true),
  HANDLER_NOT_FOUND: cls('dependency', 'unavailable', false),
  UNKNOWN_DEPENDENCY: cls('dependency', 'unavailable', false),
  DEPENDENCY_CYCLE: cls('dependency', 'conflict', false),
  WORKER_CRASHED: cls('system', 'crash', true),
  RUNNER_CLOSED: cls('system', 'unavailable', true),
  CHECKPOINT_CORRUPT: cls('state', 'corruption', true),
  CHECKPOINT_INCOMPATIBLE: cls('state', 'incompatible', false),
  BUNDLE_INCONSISTENT: cls('state', 'corruption', false),
  STORAGE_FAILED: cls('system', 'unavailable', true),
  // SYSTEM_ERROR's error_type
  pool_error: cls('system', 'crash', true),
  log_write_failed: cls('system', 'unavailable', true),
  log_record_refused: cls('system', 'limit_exceeded', false),
  checkpoint_failed: cls('state', 'unavailable', true),
  storage_unwritable: cls('system', 'unavailable', true),
  task_log_write_failed: cls('system', 'unavailable', true),
};

/** The classification of `code`; `retryable` decides recoverable for a code the table does not know. */
export function classify(code: string, retryable: boolean): ErrorClass {
  return ERROR_CLASSES[code] ?? cls('execution', 'failure', retryable);
}

export interface RecoverySuggestion {
  strategy: string;
  description: string;
  /** the command that does it */
  command?: string;
  estimated_time?: string;
  /** only when measured from history; troupe leaves it out otherwise */
  success_probability?: number;
}

/** The spec's `error_report`. */
export interface ErrorReport {
  error_id: string;
  workflow_id: string;
  timestamp: string;
  classification: { category: ErrorCategory; severity: ErrorSeverity; type: string; scope: ErrorScope; recoverable: boolean };
  context: { component: string; operation: string; phase: string; task: string | null; agent: string | null };
  details: { error_message: string; technical_details: string; related_events: string[] };
  impact_assessment: { affected_tasks: string[]; affected_agents: string[]; blocking_dependencies: string[]; estimated_delay?: string; workflow_risk: 'critical' | 'high' | 'medium' | 'low' };
  recovery_suggestions: RecoverySuggestion[];
}

const SEVERITY: Readonly<Record<string, ErrorSeverity>> = { critical: 'critical', error: 'high', warning: 'medium', info: 'info' };

/**
 * The error_report a SYSTEM_ERROR carries beside its own fields (scope
 * system): what failed, the components it touches, and what to do.
 *
 * @example
 * data: withSystemReport({ error_type: 'checkpoint_failed', affected_components: ['store'], severity: 'error', message }, 'wf_1', now, 'checkpoint')
 */
export function withSystemReport<T extends { error_type: string; affected_components: string[]; severity: string; message?: string }>(
  data: T,
  workflowId: string | undefined,
  now: number,
  operation: string,
  suggestions: RecoverySuggestion[] = [],
): T & { error_report: ErrorReport } {
  const { category, type, recoverable } = classify(data.error_type, true);
  return {
    ...data,
    error_report: {
      error_id: `err_${randomUUID()}`,
      workflow_id: workflowId ?? 'global',
      timestamp: new Date(now).toISOString(),
      classification: { category, severity: SEVERITY[data.severity] ?? 'high', type, scope: 'system', recoverable },
      context: { component: data.affected_components[0] ?? 'hub', operation, phase: 'global', task: null, agent: null },
      details: { error_message: data.message ?? data.error_type, technical_details: `${data.error_type} in ${data.affected_components.join(', ')}`, related_events: [] },
      impact_assessment: { affected_tasks: [], affected_agents: [], blocking_dependencies: [], workflow_risk: data.severity === 'critical' ? 'high' : 'medium' },
      recovery_suggestions: suggestions.length > 0 ? suggestions : [{ strategy: 'inspect_health', description: "See the component's state in 'health' and fix what it names; troupe retries by itself where it can", command: 'health' }],
    },
  };
}
