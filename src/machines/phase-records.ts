import type { FailureTolerance, PhaseStatus, PhaseStop, TaskRecord, TaskSpec, TaskStatus } from './types.js';

/** Statuses a task never leaves. */
export const TERMINAL_TASK_STATUSES: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'skipped', 'cancelled']);

/** True when the task will not change any more. */
export const isTerminal = (task: TaskRecord): boolean => TERMINAL_TASK_STATUSES.has(task.status);

/** A fresh record for a task that has not been looked at yet. */
export function newTaskRecord(id: string): TaskRecord {
  return {
    id,
    status: 'pending',
    attempts: 0,
    agentId: null,
    notBefore: null,
    startedAt: null,
    finishedAt: null,
    output: null,
    error: null,
    reason: null,
  };
}

/** Each task's direct dependents, by id: derived from the specs once and kept beside them. */
const dependentsIndex = new WeakMap<readonly TaskSpec[], Map<string, TaskSpec[]>>();

function dependentsOfTask(specs: readonly TaskSpec[], id: string): readonly TaskSpec[] {
  let index = dependentsIndex.get(specs);
  if (!index) {
    index = new Map();
    for (const spec of specs) {
      for (const dep of spec.dependsOn) index.set(dep, [...(index.get(dep) ?? []), spec]);
    }
    dependentsIndex.set(specs, index);
  }
  return index.get(id) ?? [];
}

const BROKEN: ReadonlySet<TaskStatus> = new Set(['failed', 'skipped', 'cancelled']);

/**
 * Moves pending tasks on: to `ready` when every dependency completed, to
 * `skipped` when one failed, was skipped or cancelled (in this phase, or, via
 * `blocked`, in an earlier one); skips cascade along chains. With `changed`,
 * only the dependents of those tasks are looked at (an outcome can only move
 * its own dependents), so a phase of n tasks costs O(n) in all, not per event.
 * Returns a new record map.
 */
export function settle(
  specs: readonly TaskSpec[],
  tasks: Readonly<Record<string, TaskRecord>>,
  blocked: ReadonlySet<string>,
  at: number,
  changed?: readonly string[],
  /** the caller already made `tasks` a fresh copy: change it in place instead of copying again */
  owned = false,
): Record<string, TaskRecord> {
  const next: Record<string, TaskRecord> = owned ? (tasks as Record<string, TaskRecord>) : { ...tasks };
  const queue: TaskSpec[] = changed ? changed.flatMap((id) => [...dependentsOfTask(specs, id)]) : [...specs];
  for (let spec = queue.shift(); spec !== undefined; spec = queue.shift()) {
    const task = next[spec.id];
    if (!task || task.status !== 'pending') continue;
    const broken = spec.dependsOn.find((dep) => {
      const record = next[dep];
      return record ? BROKEN.has(record.status) : blocked.has(dep);
    });
    if (broken !== undefined) {
      next[spec.id] = { ...task, status: 'skipped', finishedAt: at, reason: `dependency ${broken} did not complete` };
      queue.push(...dependentsOfTask(specs, spec.id));
    } else if (!spec.dependsOn.some((dep) => next[dep] !== undefined && next[dep]!.status !== 'completed')) {
      next[spec.id] = { ...task, status: 'ready' };
    }
  }
  return next;
}

/** Ends every task that is not terminal yet, as a stop from outside or a fail-fast asks. */
export function stopOpenTasks(
  tasks: Readonly<Record<string, TaskRecord>>,
  status: 'cancelled' | 'skipped',
  reason: string,
  at: number,
): Record<string, TaskRecord> {
  const next: Record<string, TaskRecord> = {};
  for (const [id, task] of Object.entries(tasks)) {
    // a task already given to an agent is aborted, whatever happens to the ones that never started
    const inFlight = task.status === 'assigned' || task.status === 'running';
    next[id] = isTerminal(task)
      ? task
      : { ...task, status: inFlight ? 'cancelled' : status, reason: inFlight && status === 'skipped' ? `aborted: ${reason}` : reason, finishedAt: at, notBefore: null };
  }
  return next;
}

/** What a stop from outside does to a phase's open tasks. */
export const STOP_EFFECT: Readonly<Record<PhaseStop, { status: 'cancelled' | 'skipped'; reason: string }>> = {
  cancel: { status: 'cancelled', reason: 'workflow cancelled' },
  complete: { status: 'skipped', reason: 'workflow completed early' },
  deadline: { status: 'cancelled', reason: 'workflow timed out' },
};

/**
 * The status a phase ends with once every task is terminal. A stop from
 * outside decides it; otherwise any failed task fails the phase (the workflow
 * then applies its failure tolerance), a phase whose tasks were all skipped is
 * `skipped`, and any other is `completed`.
 */
export function finalPhaseStatus(
  tasks: readonly TaskRecord[],
  stoppedBy: PhaseStop | null,
): Exclude<PhaseStatus, 'pending' | 'running'> {
  if (stoppedBy === 'cancel') return 'cancelled';
  if (stoppedBy === 'deadline') return 'failed';
  if (stoppedBy === 'complete') return 'completed';
  if (tasks.some((t) => t.status === 'failed' || t.status === 'cancelled')) return 'failed';
  if (tasks.length > 0 && tasks.every((t) => t.status === 'skipped')) return 'skipped';
  return 'completed';
}

/** True when a failed task should stop its phase at once. */
export const failsFast = (tolerance: FailureTolerance): boolean => tolerance === 'low';
