/**
 * Types shared by the lifecycle machines. Everything here is plain data: it
 * goes into snapshots, checkpoints and responses.
 */

/** Status of one task inside its phase. */
export type TaskStatus =
  /** waiting for its dependencies */
  | 'pending'
  /** dependencies met; the scheduler may assign it (not before `notBefore`) */
  | 'ready'
  /** given to an agent, not yet started on a worker */
  | 'assigned'
  /** running on a worker thread */
  | 'running'
  /** an approval waiting for a person's answer: it holds no agent and no thread */
  | 'waiting_approval'
  /** failed for good with `on_failure: intervene`: waits for `retry-task` or `skip-task` */
  | 'needs_intervention'
  /** finished with an output */
  | 'completed'
  /** failed and will not be retried */
  | 'failed'
  /** never run: a dependency did not complete, its condition was false, or the workflow was completed early */
  | 'skipped'
  /** stopped by a cancel */
  | 'cancelled';

/** How a workflow reacts to a task that failed for good. */
export type FailureTolerance =
  /** fail the phase and the workflow at once; running tasks are cancelled */
  | 'low'
  /** skip the failed task's dependents, finish the phase, then fail */
  | 'medium'
  /** skip the failed task's dependents (in later phases too), end `partial` */
  | 'high'
  /** a task that fails for good waits for a person (`on_failure: intervene` on every task) */
  | 'intervene';

/** A task's failure, carried as data (piscina strips error properties, piscina #1143). */
export interface TaskError {
  name: string;
  code: string;
  message: string;
  /** false for what must never be retried */
  retryable: boolean;
  /** what the handler attached, e.g. an `exec` task's exit code and output */
  data?: unknown;
}

/** The resolved definition of one task: every field set, durations in ms. */
export interface TaskSpec {
  id: string;
  description: string | null;
  handler: string;
  role: string;
  input: unknown;
  dependsOn: string[];
  timeoutMs: number;
  retries: number;
  exclusiveFiles: string[];
  estimatedDurationMs: number;
  risky: boolean;
  /**
   * `exec` only: what a supervisor recovered after a crash does with the
   * task's process that still runs. Absent in checkpoints from before it
   * existed: `adopt`.
   */
  onRecovery?: 'adopt' | 'restart';
  /**
   * A condition (`when`, the text as written): the task waits until its
   * dependencies ended in any state, then runs if it holds, else ends
   * `skipped` (reason `condition`). Evaluated by the runtime at dispatch.
   */
  when?: string;
  /** its failure counts against nothing: the phase goes on, and a `when` downstream can react */
  allowFailure?: boolean;
  /** what undoes the task's effects once it completed, if its workflow fails or is cancelled with compensation */
  compensate?: CompensateSpec;
  /** set on a compensation task only: the id of the completed task it undoes (it waits for its dependencies to end in any state) */
  compensates?: string;
  /** `intervene`: a final failure waits for a person instead of failing (absent: the workflow's failure tolerance decides) */
  onFailure?: 'intervene';
}

/** A task's compensation, resolved: durations in ms. */
export interface CompensateSpec {
  handler: string;
  input: unknown;
  timeoutMs: number;
  retries: number;
}

/** The live record of one task. Timestamps are epoch ms from the runtime's clock. */
export interface TaskRecord {
  id: string;
  status: TaskStatus;
  /** attempts started so far */
  attempts: number;
  agentId: string | null;
  /** earliest time the next attempt may be assigned (retry backoff) */
  notBefore: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  output: unknown;
  error: TaskError | null;
  /** why a task was skipped or cancelled */
  reason: string | null;
  /** an approval's request while it waits: its prompt, when it expires (null: never) and what then */
  approval?: { prompt: string; deadline: number | null; onTimeout: 'approve' | 'reject' };
  /** attempts made before the last `retry-task`: its retries count from here */
  retryBase?: number;
  /**
   * True when the task not completing counts against nothing: its condition
   * was false, it failed with `allow_failure`, or it was skipped because of
   * one of those. Absent means false.
   */
  benign?: boolean;
}

/** The resolved definition of one phase. */
export interface PhaseSpec {
  name: string;
  tasks: TaskSpec[];
}

/** How a phase ended; the workflow decides its own next state from it. */
export type PhaseStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';

/** Why a phase was stopped from outside, if it was. */
export type PhaseStop = 'cancel' | 'complete' | 'deadline';

/** What a finished phase hands back to its workflow. */
export interface PhaseOutcome {
  index: number;
  name: string;
  status: Exclude<PhaseStatus, 'pending' | 'running'>;
  stoppedBy: PhaseStop | null;
  startedAt: number | null;
  finishedAt: number | null;
  tasks: TaskRecord[];
  /** why a phase that never ran was skipped (`resume_from_phase`); absent for a phase that ran */
  skipReason?: string;
}

/** How a workflow's tasks rank against other workflows' for agents (critical first). */
export type Priority = 'critical' | 'high' | 'medium' | 'low';

/** The resolved workflow definition the workflow machine runs. */
export interface WorkflowSpec {
  name: string;
  description: string | null;
  /** changed by `start {priority}` and `set-priority`: it lives here, so checkpoints keep it */
  priority: Priority;
  timeoutMs: number;
  checkpointIntervalMs: number;
  failureTolerance: FailureTolerance;
  /** how durable a task outcome is before the workflow acts on it; null: the hub's mode */
  durability?: 'sync' | 'batch' | 'none' | null;
  agentRequirements: { minAgents: number; maxAgents: number; specializedRoles: string[] };
  /** the definition's `dependencies`: external services it needs, by name (troupe cannot probe them); absent when none */
  dependencies?: string[];
  /** every checkpoint records the files its tasks name, with their checksums; absent: only when asked (`include_files`) */
  checkpointFiles?: boolean;
  phases: PhaseSpec[];
  /**
   * The params it runs with (a template, or a definition that declares
   * params): what `${{ params.NAME }}` reads when a task runs. Absent when it
   * declares none, and in checkpoints from before templates.
   */
  params?: Record<string, string | number | boolean>;
  /** `definitionDigest` of the create request that made it; absent in checkpoints from before it was kept */
  sourceDigest?: string;
}

/** Every event carries the time it happened, from the runtime's clock (machines never read one). */
export interface Timed {
  at: number;
}
