import type { FailureTolerance, PhaseStatus, PhaseStop, TaskRecord, TaskSpec, TaskStatus } from './types.js';

/** Statuses a task never leaves. */
export const TERMINAL_TASK_STATUSES: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'skipped', 'cancelled']);

/** True when the task will not change any more. */
export const isTerminal = (task: TaskRecord): boolean => TERMINAL_TASK_STATUSES.has(task.status);

/**
 * True when the task's work is done, which is what progress counts: it
 * completed, or it ended benignly without completing (its condition was
 * false, `resume_from_phase` or a person skipped it, it failed with
 * `allow_failure`, or it was skipped because of one of those). A failure, a
 * cancel or a skip that a failure caused is no progress.
 */
export const isDone = (task: TaskRecord): boolean => task.status === 'completed' || (task.benign === true && isTerminal(task));

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

/**
 * Who may write each task map in place. Copying the whole map for every task
 * event made a phase of n tasks cost O(n²); instead the phase actor that made
 * a map writes it in place (records themselves are never changed, only
 * replaced), and a map from anywhere else (a restored snapshot, which other
 * actors may share) is copied once, on the first write. Persisted snapshots
 * take a copy too (see the phase machine), so they never change afterwards.
 */
const owners = new WeakMap<object, object>();

/** `tasks` if `owner` made it, else a copy that `owner` now owns: a map `owner` may write in place. */
export function ownTasks(tasks: Readonly<Record<string, TaskRecord>>, owner: object): Record<string, TaskRecord> {
  if (owners.get(tasks) === owner) return tasks as Record<string, TaskRecord>;
  const copy = { ...tasks };
  owners.set(copy, owner);
  return copy;
}

/** A fresh map of pending records for `specs`, owned by `owner` from the start (no first-write copy). */
export function newTaskMap(specs: readonly TaskSpec[], owner: object): Record<string, TaskRecord> {
  const tasks: Record<string, TaskRecord> = {};
  for (const spec of specs) tasks[spec.id] = newTaskRecord(spec.id);
  owners.set(tasks, owner);
  return tasks;
}

/** Tasks not terminal yet: the phase keeps this count so that "is every task done?" is O(1) per event. */
export const countOpen = (tasks: Readonly<Record<string, TaskRecord>>): number => {
  let open = 0;
  for (const id in tasks) if (!isTerminal(tasks[id]!)) open++;
  return open;
};

/** Writes `record` into the owned map; returns the change in the number of open tasks (-1, 0 or 1). */
export function put(tasks: Record<string, TaskRecord>, record: TaskRecord): number {
  const before = tasks[record.id];
  tasks[record.id] = record;
  return (isTerminal(record) ? 0 : 1) - (before === undefined || isTerminal(before) ? 0 : 1);
}

/** Each task's direct dependents, by id: derived from the specs once and kept beside them. */
const dependentsIndex = new WeakMap<readonly TaskSpec[], Map<string, TaskSpec[]>>();

function dependentsOfTask(specs: readonly TaskSpec[], id: string): readonly TaskSpec[] {
  let index = dependentsIndex.get(specs);
  if (!index) {
    index = new Map();
    for (const spec of specs) {
      for (const dep of spec.dependsOn) {
        const list = index.get(dep);
        if (list) list.push(spec);
        else index.set(dep, [spec]);
      }
    }
    dependentsIndex.set(specs, index);
  }
  return index.get(id) ?? [];
}

/** Each task's spec, by id, derived once per spec list. */
const specIndex = new WeakMap<readonly TaskSpec[], Map<string, TaskSpec>>();
export function specOf(specs: readonly TaskSpec[], id: string): TaskSpec | undefined {
  let index = specIndex.get(specs);
  if (!index) specIndex.set(specs, (index = new Map(specs.map((s) => [s.id, s]))));
  return index.get(id);
}

/** `blocked` as a set, derived once per array (the phase's `blocked` never changes while it runs). */
const blockedSets = new WeakMap<readonly string[], ReadonlySet<string>>();
const NONE: ReadonlySet<string> = new Set();
export function blockedSet(blocked: readonly string[]): ReadonlySet<string> {
  if (blocked.length === 0) return NONE;
  let set = blockedSets.get(blocked);
  if (!set) blockedSets.set(blocked, (set = new Set(blocked)));
  return set;
}

const BROKEN: ReadonlySet<TaskStatus> = new Set(['failed', 'skipped', 'cancelled']);

/**
 * Per task map, per task: how many of its dependencies, in `dependsOn` order,
 * are known to be done (completed, or of an earlier phase and not blocked).
 * A done dependency stays done and a map keeps its identity while its phase
 * writes it in place, so the mark only moves forward: a task that waits on k
 * dependencies costs O(k) over the whole phase, not O(k) each time one of
 * them changes (a join of 8 000 tasks took half a minute).
 */
const doneUpTo = new WeakMap<object, Map<string, number>>();

/** A task that waits for its dependencies to end in any state, not to complete: it has a condition, or is a compensation. */
export const waitsForAnyEnd = (spec: TaskSpec): boolean => spec.when !== undefined || spec.compensates !== undefined;

/**
 * True when every dependency of `spec` is done (completed; or, for a task
 * that waits for any end, terminal; an earlier phase's task is ended
 * whatever it did); moves the task's mark past the ones that are.
 */
function dependenciesDone(spec: TaskSpec, tasks: Readonly<Record<string, TaskRecord>>, blocked: ReadonlySet<string>): boolean {
  let marks = doneUpTo.get(tasks);
  if (!marks) doneUpTo.set(tasks, (marks = new Map()));
  const deps = spec.dependsOn;
  const anyEnd = waitsForAnyEnd(spec);
  let i = marks.get(spec.id) ?? 0;
  for (; i < deps.length; i++) {
    const record = tasks[deps[i]!];
    if (record ? (anyEnd ? !isTerminal(record) : record.status !== 'completed') : !anyEnd && blocked.has(deps[i]!)) break;
  }
  marks.set(spec.id, i);
  return i === deps.length;
}

/**
 * Moves pending tasks on, in place in `tasks` (a map the caller owns, see
 * {@link ownTasks}): to `ready` when every dependency completed, to `skipped`
 * when one failed, was skipped or cancelled (in this phase, or, via
 * `blocked`, in an earlier one); skips cascade along chains. A task that
 * waits for any end (see {@link waitsForAnyEnd}) is never skipped here: it
 * becomes ready once its dependencies ended, whatever they did. A skip is
 * benign when every broken dependency's was (`excused`: an earlier phase's
 * benign ones). With `changed`,
 * only the dependents of those tasks are looked at (an outcome can only move
 * its own dependents), so a phase of n tasks costs O(tasks + dependencies)
 * in all, not per event. Iterative: a cascade along a chain of any length,
 * or to any number of dependents, uses no stack.
 * Returns the change in the number of open tasks.
 */
export function settle(
  specs: readonly TaskSpec[],
  tasks: Record<string, TaskRecord>,
  blocked: ReadonlySet<string>,
  at: number,
  changed?: readonly string[],
  excused: ReadonlySet<string> = NONE,
): number {
  let delta = 0;
  const isBroken = (dep: string) => {
    const record = tasks[dep];
    return record ? BROKEN.has(record.status) : blocked.has(dep);
  };
  const isBenign = (dep: string) => {
    const record = tasks[dep];
    return record ? record.benign === true : excused.has(dep);
  };
  // a task to look at, and the dependency whose change brought it here (null: nothing says which)
  const queue: { spec: TaskSpec; cause: string | null }[] = [];
  const lookAtDependents = (id: string) => {
    for (const spec of dependentsOfTask(specs, id)) queue.push({ spec, cause: id });
  };
  if (changed) for (const id of changed) lookAtDependents(id);
  else for (const spec of specs) queue.push({ spec, cause: null });
  for (let i = 0; i < queue.length; i++) {
    const { spec, cause } = queue[i]!;
    const task = tasks[spec.id];
    if (!task || task.status !== 'pending') continue;
    if (waitsForAnyEnd(spec)) {
      if (dependenciesDone(spec, tasks, blocked)) put(tasks, { ...task, status: 'ready' });
      continue;
    }
    // a pending task has no broken dependency but the one that just changed, if any: only then (or
    // when the cause is unknown) is the whole list searched, for the first broken one in order
    const broken = cause === null || isBroken(cause) ? spec.dependsOn.find(isBroken) : undefined;
    if (broken !== undefined) {
      const benign = spec.dependsOn.every((dep) => !isBroken(dep) || isBenign(dep));
      delta += put(tasks, { ...task, status: 'skipped', finishedAt: at, reason: `dependency ${broken} did not complete`, ...(benign ? { benign } : {}) });
      lookAtDependents(spec.id);
    } else if (dependenciesDone(spec, tasks, blocked)) {
      put(tasks, { ...task, status: 'ready' });
    }
  }
  return delta;
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
 * outside decides it; otherwise any failed task (but one with
 * `allow_failure`) fails the phase (the workflow
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
  // a failure that was allowed fails nothing
  if (tasks.some((t) => (t.status === 'failed' && t.benign !== true) || t.status === 'cancelled')) return 'failed';
  if (tasks.length > 0 && tasks.every((t) => t.status === 'skipped')) return 'skipped';
  return 'completed';
}

/** True when a failed task should stop its phase at once. */
export const failsFast = (tolerance: FailureTolerance): boolean => tolerance === 'low';

/**
 * Where, in each task map, the specs before it are all terminal. Terminal
 * tasks never change again, and a map keeps its identity while its phase
 * writes it in place, so the mark only moves forward: scanning from it costs
 * O(n) over a whole phase instead of O(n) per scan. The mark is a position in
 * one list of specs (the scheduler scans them in its own order): another list
 * starts from the top again.
 */
const firstOpen = new WeakMap<object, { specs: readonly TaskSpec[]; start: number }>();

/** The specs in order, from the first whose task is not terminal yet (those before it have nothing left to do). */
export function* openSpecs(specs: readonly TaskSpec[], tasks: Readonly<Record<string, TaskRecord>>): Generator<TaskSpec> {
  const mark = firstOpen.get(tasks);
  let start = mark?.specs === specs ? mark.start : 0;
  while (start < specs.length && tasks[specs[start]!.id] !== undefined && isTerminal(tasks[specs[start]!.id]!)) start++;
  if (mark?.specs === specs) mark.start = start;
  else firstOpen.set(tasks, { specs, start });
  for (let i = start; i < specs.length; i++) yield specs[i]!;
}
