import type { TaskSpec } from './types.js';

/*
 * Every function here is iterative and O(tasks + edges): a workflow may hold
 * tens of thousands of tasks in one chain, listed in any order, and a
 * recursion one frame per task deep overflowed the stack (a 5 000-task chain
 * listed in reverse), while a critical path that copied the whole path at
 * every task cost O(n²) time and memory (26 s and 2.9 GB for 16 000 tasks).
 */

type Node = Pick<TaskSpec, 'id' | 'dependsOn'>;

/** The graph by position: each task's dependencies inside `tasks` (positions, in `dependsOn` order) and a topological order. */
interface Indexed {
  /** `deps[i]`: positions of the tasks task i depends on; ids outside `tasks` are left out */
  deps: number[][];
  /** positions in an order where every task comes after its dependencies; tasks on or behind a cycle are missing */
  order: number[];
}

/** Position of each id (the last task with it, as a Map built from the list keeps). */
const positions = (tasks: readonly Node[]) => new Map(tasks.map((t, i) => [t.id, i]));

function indexGraph(tasks: readonly Node[]): Indexed {
  const at = positions(tasks);
  const deps = tasks.map((t) => {
    const inside: number[] = [];
    for (const dep of t.dependsOn) {
      const i = at.get(dep);
      if (i !== undefined) inside.push(i);
    }
    return inside;
  });
  // Kahn's algorithm; an edge listed twice is counted twice on both sides, so it balances
  const dependents: number[][] = tasks.map(() => []);
  const waiting = deps.map((d) => d.length);
  deps.forEach((d, i) => d.forEach((dep) => dependents[dep]!.push(i)));
  const order: number[] = [];
  waiting.forEach((n, i) => n === 0 && order.push(i));
  for (let k = 0; k < order.length; k++) {
    for (const next of dependents[order[k]!]!) if (--waiting[next]! === 0) order.push(next);
  }
  return { deps, order };
}

/**
 * Finds one dependency cycle among `tasks` (edges are `dependsOn`), as the
 * list of ids along it with the first id repeated at the end, e.g.
 * `['a', 'b', 'a']`. Returns null when the graph is acyclic. Dependencies on
 * ids outside `tasks` are ignored. A depth-first search from each task in
 * list order, following `dependsOn` in order: the first cycle it closes.
 *
 * @example
 * findCycle([{ id: 'a', dependsOn: ['b'] }, { id: 'b', dependsOn: ['a'] }]) // ['a', 'b', 'a']
 */
export function findCycle(tasks: readonly Node[]): string[] | null {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const DONE = -1;
  // while a task is on the current path: its index in `path`; DONE once every way out of it was searched
  const state = new Map<string, number>();
  const path: string[] = [];
  // next[k]: which dependency of path[k] the search follows next
  const next: number[] = [];
  for (const root of tasks) {
    if (state.has(root.id)) continue;
    state.set(root.id, 0);
    path.push(root.id);
    next.push(0);
    while (path.length > 0) {
      const top = path.length - 1;
      const deps = byId.get(path[top]!)!.dependsOn;
      if (next[top]! < deps.length) {
        const dep = deps[next[top]!++]!;
        if (!byId.has(dep)) continue;
        const seen = state.get(dep);
        if (seen === undefined) {
          state.set(dep, path.length);
          path.push(dep);
          next.push(0);
        } else if (seen !== DONE) {
          return [...path.slice(seen), dep];
        }
      } else {
        state.set(path.pop()!, DONE);
        next.pop();
      }
    }
  }
  return null;
}

/**
 * Groups acyclic `tasks` into execution waves: wave 0 holds the tasks with no
 * dependency inside `tasks`, wave n the tasks whose latest dependency is in
 * wave n-1. Returns a map from task id to wave number. (A task on or behind a
 * cycle, which a created workflow never has, gets the wave its other
 * dependencies give it.)
 *
 * @example
 * computeWaves([{ id: 'a', dependsOn: [] }, { id: 'b', dependsOn: ['a'] }]) // Map { a => 0, b => 1 }
 */
export function computeWaves(tasks: readonly Node[]): Map<string, number> {
  const { deps, order } = indexGraph(tasks);
  const wave = tasks.map(() => 0);
  const placed = tasks.map(() => false);
  for (const i of order) {
    for (const dep of deps[i]!) wave[i] = Math.max(wave[i]!, wave[dep]! + 1);
    placed[i] = true;
  }
  for (let i = 0; i < tasks.length; i++) {
    if (placed[i]) continue;
    for (const dep of deps[i]!) if (placed[dep]) wave[i] = Math.max(wave[i]!, wave[dep]! + 1);
  }
  return new Map(tasks.map((t, i) => [t.id, wave[i]!]));
}

/**
 * The critical path of acyclic `tasks`: the chain of dependencies with the
 * largest sum of `estimatedDurationMs` (ties: the most tasks; then the first
 * found, in list and `dependsOn` order), in execution order. One pass in
 * topological order keeps, per task, the best chain's duration, length and
 * the dependency it comes through; the path is read back along those links.
 *
 * @example
 * criticalPath([{ id: 'a', dependsOn: [], estimatedDurationMs: 2 }, { id: 'b', dependsOn: ['a'], estimatedDurationMs: 3 }])
 * // { path: ['a', 'b'], durationMs: 5 }
 */
export function criticalPath(tasks: readonly Pick<TaskSpec, 'id' | 'dependsOn' | 'estimatedDurationMs'>[]): { path: string[]; durationMs: number } {
  const { deps, order } = indexGraph(tasks);
  const durationMs = tasks.map(() => 0);
  const length = tasks.map(() => 0);
  const via = tasks.map(() => -1);
  /** the chain ending at `a` is longer than the one ending at `b` (-1: the empty chain) */
  const longer = (a: number, b: number) => {
    const [da, la] = a === -1 ? [0, 0] : [durationMs[a]!, length[a]!];
    const [db, lb] = b === -1 ? [0, 0] : [durationMs[b]!, length[b]!];
    return da > db || (da === db && la > lb);
  };
  for (const i of order) {
    let head = -1;
    for (const dep of deps[i]!) if (longer(dep, head)) head = dep;
    via[i] = head;
    durationMs[i] = (head === -1 ? 0 : durationMs[head]!) + tasks[i]!.estimatedDurationMs;
    length[i] = (head === -1 ? 0 : length[head]!) + 1;
  }
  const done = new Set(order);
  let end = -1;
  for (let i = 0; i < tasks.length; i++) if (done.has(i) && longer(i, end)) end = i;
  const path: string[] = [];
  for (let i = end; i !== -1; i = via[i]!) path.push(tasks[i]!.id);
  return { path: path.reverse(), durationMs: end === -1 ? 0 : durationMs[end]! };
}

/**
 * Each task's remaining path: its own weight (`estimatedDurationMs`, or 1 for
 * a task without one, so that unestimated work still counts by its number of
 * tasks) plus the longest remaining path among the tasks that depend on it,
 * directly or through others. A task always weighs more than any of its
 * dependents, so ordering by it, longest first, is also a topological order.
 * One pass in reverse topological order; a task on or behind a cycle (which a
 * created workflow never has) counts its own weight only.
 *
 * @example
 * remainingPaths([{ id: 'a', dependsOn: [], estimatedDurationMs: 2 }, { id: 'b', dependsOn: ['a'], estimatedDurationMs: 0 }])
 * // Map { a => 3, b => 1 }
 */
export function remainingPaths(tasks: readonly Pick<TaskSpec, 'id' | 'dependsOn' | 'estimatedDurationMs'>[]): Map<string, number> {
  const { deps, order } = indexGraph(tasks);
  const weight = (i: number) => tasks[i]!.estimatedDurationMs || 1;
  // the longest remaining path among each task's dependents found so far
  const after = tasks.map(() => 0);
  const remaining = tasks.map((_, i) => weight(i));
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k]!;
    remaining[i] = weight(i) + after[i]!;
    for (const dep of deps[i]!) if (remaining[i]! > after[dep]!) after[dep] = remaining[i]!;
  }
  return new Map(tasks.map((t, i) => [t.id, remaining[i]!]));
}

/**
 * Every task that depends on one of `ids`, directly or through others,
 * within `tasks` (a task of `ids` itself only when a cycle leads back to it).
 *
 * @example
 * dependentsOf([{ id: 'a', dependsOn: [] }, { id: 'b', dependsOn: ['a'] }], ['a']) // Set { 'b' }
 */
export function dependentsOf(tasks: readonly Node[], ids: Iterable<string>): Set<string> {
  const dependents = new Map<string, string[]>();
  for (const task of tasks) {
    for (const dep of task.dependsOn) {
      const list = dependents.get(dep);
      if (list) list.push(task.id);
      else dependents.set(dep, [task.id]);
    }
  }
  const found = new Set<string>();
  const queue = [...ids];
  for (let k = 0; k < queue.length; k++) {
    for (const id of dependents.get(queue[k]!) ?? []) {
      if (found.has(id)) continue;
      found.add(id);
      queue.push(id);
    }
  }
  return found;
}
