import type { TaskSpec } from './types.js';

/**
 * Finds one dependency cycle among `tasks` (edges are `dependsOn`), as the
 * list of ids along it with the first id repeated at the end, e.g.
 * `['a', 'b', 'a']`. Returns null when the graph is acyclic. Dependencies on
 * ids outside `tasks` are ignored.
 */
export function findCycle(tasks: readonly Pick<TaskSpec, 'id' | 'dependsOn'>[]): string[] | null {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];

  const visit = (id: string): string[] | null => {
    const seen = state.get(id);
    if (seen === 'done') return null;
    if (seen === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const dep of byId.get(id)?.dependsOn ?? []) {
      if (!byId.has(dep)) continue;
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(id, 'done');
    return null;
  };

  for (const task of tasks) {
    const cycle = visit(task.id);
    if (cycle) return cycle;
  }
  return null;
}

/**
 * Groups acyclic `tasks` into execution waves: wave 0 holds the tasks with no
 * dependency inside `tasks`, wave n the tasks whose latest dependency is in
 * wave n-1. Returns a map from task id to wave number.
 */
export function computeWaves(tasks: readonly Pick<TaskSpec, 'id' | 'dependsOn'>[]): Map<string, number> {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const waves = new Map<string, number>();
  const waveOf = (id: string): number => {
    const known = waves.get(id);
    if (known !== undefined) return known;
    let wave = 0;
    for (const dep of byId.get(id)?.dependsOn ?? []) {
      if (byId.has(dep)) wave = Math.max(wave, waveOf(dep) + 1);
    }
    waves.set(id, wave);
    return wave;
  };
  for (const task of tasks) waveOf(task.id);
  return waves;
}

/** True when chain `a` is longer than `b`: by estimated duration, then by number of tasks. */
const longer = (a: { durationMs: number; path: string[] }, b: { durationMs: number; path: string[] }) =>
  a.durationMs > b.durationMs || (a.durationMs === b.durationMs && a.path.length > b.path.length);

/**
 * The critical path of acyclic `tasks`: the chain of dependencies with the
 * largest sum of `estimatedDurationMs` (ties: the most tasks), in execution order.
 */
export function criticalPath(
  tasks: readonly Pick<TaskSpec, 'id' | 'dependsOn' | 'estimatedDurationMs'>[],
): { path: string[]; durationMs: number } {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const best = new Map<string, { durationMs: number; path: string[] }>();
  const longest = (id: string): { durationMs: number; path: string[] } => {
    const known = best.get(id);
    if (known) return known;
    const task = byId.get(id)!;
    let head = { durationMs: 0, path: [] as string[] };
    for (const dep of task.dependsOn) {
      if (!byId.has(dep)) continue;
      const candidate = longest(dep);
      if (longer(candidate, head)) head = candidate;
    }
    const result = { durationMs: head.durationMs + task.estimatedDurationMs, path: [...head.path, id] };
    best.set(id, result);
    return result;
  };
  let answer = { durationMs: 0, path: [] as string[] };
  for (const task of tasks) {
    const candidate = longest(task.id);
    if (longer(candidate, answer)) answer = candidate;
  }
  return answer;
}

/** Every task that depends on `id`, directly or through others, within `tasks`. */
export function dependentsOf(tasks: readonly Pick<TaskSpec, 'id' | 'dependsOn'>[], ids: Iterable<string>): Set<string> {
  const found = new Set<string>();
  let frontier = new Set(ids);
  while (frontier.size > 0) {
    const next = new Set<string>();
    for (const task of tasks) {
      if (found.has(task.id)) continue;
      if (task.dependsOn.some((dep) => frontier.has(dep))) {
        found.add(task.id);
        next.add(task.id);
      }
    }
    frontier = next;
  }
  return found;
}
