/**
 * Small builders shared by the lifecycle machine tests (not a test file itself:
 * vitest only collects `*.test.ts`).
 */
import type { FailureTolerance, PhaseSpec, TaskError, TaskSpec, WorkflowSpec } from '../src/machines/types.js';

/** A resolved task spec with every field set; `dependsOn` and overrides as given. */
export function task(id: string, dependsOn: string[] = [], overrides: Partial<TaskSpec> = {}): TaskSpec {
  return {
    id,
    description: null,
    handler: 'echo',
    role: 'code',
    input: { value: id },
    dependsOn,
    timeoutMs: 1_000,
    retries: 0,
    exclusiveFiles: [],
    estimatedDurationMs: 0,
    risky: false,
    ...overrides,
  };
}

export function phase(name: string, tasks: TaskSpec[]): PhaseSpec {
  return { name, tasks };
}

/** A resolved workflow spec around `phases`. */
export function workflowSpec(phases: PhaseSpec[], failureTolerance: FailureTolerance = 'medium', timeoutMs = 60_000): WorkflowSpec {
  return {
    name: 'wf-under-test',
    description: null,
    priority: 'medium',
    timeoutMs,
    checkpointIntervalMs: 5_000,
    failureTolerance,
    durability: null,
    agentRequirements: { minAgents: 1, maxAgents: 4, specializedRoles: [] },
    phases,
  };
}

/** A task failure as the runtime reports it. */
export function taskError(retryable: boolean, message = 'boom'): TaskError {
  return { name: 'TaskError', code: retryable ? 'E_TRANSIENT' : 'E_FATAL', message, retryable };
}
