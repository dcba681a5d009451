/**
 * The task graph helpers, on examples, on graphs of tens of thousands of
 * tasks (issue "Hardening", item 8: a recursion one frame per task overflowed
 * the stack), and as properties over random graphs checked against small
 * reference implementations.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeWaves, criticalPath, dependentsOf, findCycle, remainingPaths } from '../src/machines/task-graph.js';

interface Node {
  id: string;
  dependsOn: string[];
  estimatedDurationMs: number;
}
const node = (id: string, dependsOn: string[] = [], estimatedDurationMs = 0): Node => ({ id, dependsOn, estimatedDurationMs });

// ---------- references ----------

/** Kahn's algorithm: the graph (internal edges only) is acyclic iff every node gets removed. */
function isAcyclic(tasks: readonly Node[]): boolean {
  const ids = new Set(tasks.map((t) => t.id));
  const pending = new Map(tasks.map((t) => [t.id, new Set(t.dependsOn.filter((d) => ids.has(d)))]));
  let removed = true;
  while (removed) {
    removed = false;
    for (const [id, deps] of pending) {
      if ([...deps].every((d) => !pending.has(d))) {
        pending.delete(id);
        removed = true;
      }
    }
  }
  return pending.size === 0;
}

/** The best chain ending at each task as [duration, tasks], compared by duration then by number of tasks. */
function referenceLongest(tasks: readonly Node[]): Array<[number, number]> {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const memo = new Map<string, [number, number]>();
  const better = (a: [number, number], b: [number, number]) => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
  const longest = (id: string): [number, number] => {
    const known = memo.get(id);
    if (known) return known;
    const t = byId.get(id)!;
    let head: [number, number] = [0, 0];
    for (const dep of t.dependsOn.filter((d) => byId.has(d))) if (better(longest(dep), head)) head = longest(dep);
    const result: [number, number] = [head[0] + t.estimatedDurationMs, head[1] + 1];
    memo.set(id, result);
    return result;
  };
  return tasks.map((t) => longest(t.id)).sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
}

/** Waves by fixpoint: start every task at 0, raise each to one past its dependencies until nothing changes. */
function referenceWaves(tasks: readonly Node[]): Map<string, number> {
  const waves = new Map(tasks.map((t) => [t.id, 0]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const t of tasks) {
      for (const d of t.dependsOn) {
        if (waves.has(d) && waves.get(d)! + 1 > waves.get(t.id)!) {
          waves.set(t.id, waves.get(d)! + 1);
          changed = true;
        }
      }
    }
  }
  return waves;
}

/**
 * The critical path the plain way (the recursive version troupe had): the
 * best chain ending at each task, the first strictly longer dependency in
 * `dependsOn` order; the first strictly longer task in list order.
 */
function referenceCriticalPath(tasks: readonly Node[]): { path: string[]; durationMs: number } {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const memo = new Map<string, { durationMs: number; path: string[] }>();
  const longer = (a: { durationMs: number; path: string[] }, b: { durationMs: number; path: string[] }) =>
    a.durationMs > b.durationMs || (a.durationMs === b.durationMs && a.path.length > b.path.length);
  const longest = (id: string): { durationMs: number; path: string[] } => {
    const known = memo.get(id);
    if (known) return known;
    const t = byId.get(id)!;
    let head = { durationMs: 0, path: [] as string[] };
    for (const dep of t.dependsOn) if (byId.has(dep) && longer(longest(dep), head)) head = longest(dep);
    const result = { durationMs: head.durationMs + t.estimatedDurationMs, path: [...head.path, id] };
    memo.set(id, result);
    return result;
  };
  let best = { durationMs: 0, path: [] as string[] };
  for (const t of tasks) if (longer(longest(t.id), best)) best = longest(t.id);
  return best;
}

/** Everything that reaches one of `ids` by following `dependsOn` edges. */
function referenceDependents(tasks: readonly Node[], ids: readonly string[]): Set<string> {
  const found = new Set<string>();
  for (const task of tasks) {
    const seen = new Set<string>();
    const stack = [...task.dependsOn];
    while (stack.length > 0) {
      const dep = stack.pop()!;
      if (seen.has(dep)) continue;
      seen.add(dep);
      if (ids.includes(dep)) found.add(task.id);
      stack.push(...(tasks.find((t) => t.id === dep)?.dependsOn ?? []));
    }
  }
  return found;
}

/** Remaining paths the plain way: a task's weight (its estimate, or 1) plus the longest of its direct dependents', recursively. */
function referenceRemaining(tasks: readonly Node[]): Map<string, number> {
  const memo = new Map<string, number>();
  const remaining = (t: Node): number => {
    if (!memo.has(t.id)) memo.set(t.id, (t.estimatedDurationMs || 1) + Math.max(0, ...tasks.filter((d) => d.dependsOn.includes(t.id)).map(remaining)));
    return memo.get(t.id)!;
  };
  return new Map(tasks.map((t) => [t.id, remaining(t)]));
}

/** A cycle as findCycle reports it: closed, no repeats inside, each step a real dependency. */
function expectRealCycle(tasks: readonly Node[], cycle: string[] | null) {
  expect(cycle).not.toBeNull();
  const c = cycle!;
  expect(c.length).toBeGreaterThanOrEqual(2);
  expect(c[0]).toBe(c[c.length - 1]);
  expect(new Set(c.slice(0, -1)).size).toBe(c.length - 1);
  for (let i = 0; i + 1 < c.length; i++) {
    expect(tasks.find((t) => t.id === c[i])?.dependsOn).toContain(c[i + 1]);
  }
}

// ---------- arbitraries ----------

/** A random DAG: task i depends only on tasks before it (and maybe on ids outside the graph), listed in a shuffled order. */
const dagArb = fc
  .integer({ min: 1, max: 12 })
  .chain((n) =>
    fc.tuple(
      fc.tuple(...Array.from({ length: n }, (_, i) => fc.subarray(Array.from({ length: i }, (__, j) => `t${j}`)))),
      fc.array(fc.nat({ max: 50 }), { minLength: n, maxLength: n }),
      fc.array(fc.boolean(), { minLength: n, maxLength: n }),
      fc.shuffledSubarray(Array.from({ length: n }, (_, i) => i), { minLength: n, maxLength: n }),
    ),
  )
  .map(([deps, durations, external, order]) =>
    order.map((i) => node(`t${i}`, [...deps[i]!, ...(external[i] ? ['outside'] : [])], durations[i]!)),
  );

/**
 * A larger, sparser random DAG than `dagArb`: up to 60 tasks, each with up to
 * four dependencies on earlier tasks (the same one may be listed twice), in a
 * shuffled order.
 */
const sparseDagArb = fc
  .integer({ min: 1, max: 60 })
  .chain((n) =>
    fc.tuple(
      fc.tuple(...Array.from({ length: n }, (_, i) => (i === 0 ? fc.constant<number[]>([]) : fc.array(fc.nat({ max: i - 1 }), { maxLength: 4 })))),
      fc.array(fc.nat({ max: 5 }), { minLength: n, maxLength: n }),
      fc.shuffledSubarray(Array.from({ length: n }, (_, i) => i), { minLength: n, maxLength: n }),
    ),
  )
  .map(([deps, durations, order]) => order.map((i) => node(`t${i}`, deps[i]!.map((j) => `t${j}`), durations[i]!)));

/** Any directed graph, cycles and self loops included. */
const graphArb = fc
  .integer({ min: 1, max: 8 })
  .chain((n) => {
    const ids = Array.from({ length: n }, (_, i) => `n${i}`);
    return fc.tuple(fc.tuple(...ids.map(() => fc.subarray(ids))), fc.subarray(ids)).map(([deps, picked]) => ({
      tasks: ids.map((id, i) => node(id, deps[i]!)),
      picked,
    }));
  });

// ---------- examples ----------

describe('task graph: examples', () => {
  it('findCycle reports the cycle with its first id repeated', () => {
    expect(findCycle([node('a', ['b']), node('b', ['a'])])).toEqual(['a', 'b', 'a']);
    expect(findCycle([node('x'), node('a', ['b']), node('b', ['c']), node('c', ['a'])])).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle([node('a', ['a'])])).toEqual(['a', 'a']);
    expect(findCycle([node('a', ['ghost']), node('b', ['a'])])).toBeNull();
    expect(findCycle([])).toBeNull();
  });

  it('computeWaves groups a diamond in three waves', () => {
    const waves = computeWaves([node('d', ['b', 'c']), node('b', ['a']), node('c', ['a', 'outside']), node('a')]);
    expect(Object.fromEntries(waves)).toEqual({ a: 0, b: 1, c: 1, d: 2 });
  });

  it('criticalPath follows the longest chain of estimated durations', () => {
    const tasks = [node('a', [], 3), node('b', ['a'], 2), node('c', ['a'], 5), node('d', ['b', 'c'], 1), node('e', [], 8)];
    expect(criticalPath(tasks)).toEqual({ path: ['a', 'c', 'd'], durationMs: 9 });
    expect(criticalPath([])).toEqual({ path: [], durationMs: 0 });
    expect(criticalPath([node('solo', ['outside'], 4)])).toEqual({ path: ['solo'], durationMs: 4 });
    // a tie in duration goes to the chain with more tasks
    expect(criticalPath([node('r', [], 5), node('p', [], 2), node('q', ['p'], 3)])).toEqual({ path: ['p', 'q'], durationMs: 5 });
    expect(criticalPath([node('z1'), node('z2', ['z1']), node('z3', ['z2']), node('y')]).path).toEqual(['z1', 'z2', 'z3']);
  });

  it('remainingPaths adds each task\'s estimate (1 without one) to the longest remaining path of its dependents', () => {
    const tasks = [node('a', [], 3), node('b', ['a'], 2), node('c', ['a'], 5), node('d', ['b', 'c']), node('e', [], 8), node('f', ['outside'])];
    expect(Object.fromEntries(remainingPaths(tasks))).toEqual({ a: 9, b: 3, c: 6, d: 1, e: 8, f: 1 });
    expect(remainingPaths([])).toEqual(new Map());
  });

  it('dependentsOf finds direct and indirect dependents only', () => {
    const tasks = [node('a'), node('b', ['a']), node('c', ['b']), node('d'), node('e', ['d', 'c'])];
    expect(dependentsOf(tasks, ['a'])).toEqual(new Set(['b', 'c', 'e']));
    expect(dependentsOf(tasks, ['d'])).toEqual(new Set(['e']));
    expect(dependentsOf(tasks, ['e'])).toEqual(new Set());
    expect(dependentsOf(tasks, [])).toEqual(new Set());
  });
});

// ---------- big graphs ----------

/** `t0 <- t1 <- … <- t(n-1)`, each estimated at 1 ms; `closed` adds `t0 -> t(n-1)`, making one cycle of n tasks. */
function chain(n: number, order: 'in order' | 'reversed', closed = false): Node[] {
  const tasks = Array.from({ length: n }, (_, i) => node(`t${i}`, i > 0 ? [`t${i - 1}`] : closed ? [`t${n - 1}`] : [], 1));
  return order === 'reversed' ? tasks.reverse() : tasks;
}

// a recursion one frame per task deep overflowed V8's stack near 5 000 tasks (issue "Hardening", item 8)
describe('task graph: tens of thousands of tasks, without recursion', () => {
  for (const n of [10_000, 16_000]) {
    for (const order of ['in order', 'reversed'] as const) {
      it(`a ${n}-task chain listed ${order}: no cycle, one task per wave, the whole chain is the critical path`, () => {
        const tasks = chain(n, order);
        expect(findCycle(tasks)).toBeNull();
        const waves = computeWaves(tasks);
        expect(waves).toEqual(new Map(tasks.map((t) => [t.id, Number(t.id.slice(1))])));
        const critical = criticalPath(tasks);
        expect(critical.durationMs).toBe(n);
        expect(critical.path).toEqual(Array.from({ length: n }, (_, i) => `t${i}`));
        expect(dependentsOf(tasks, ['t0']).size).toBe(n - 1);
        const remaining = remainingPaths(tasks);
        expect([remaining.get('t0'), remaining.get(`t${n - 1}`)]).toEqual([n, 1]);
      });
    }
  }

  it('a 10 000-task cycle is reported whole, listed in order or reversed', () => {
    const n = 10_000;
    const around = Array.from({ length: n }, (_, i) => `t${(n - i) % n}`);
    // the search starts at the first task listed and follows depends_on: t0 -> t9999 -> … -> t1 -> t0
    expect(findCycle(chain(n, 'in order', true))).toEqual([...around, 't0']);
    const fromLast = findCycle(chain(n, 'reversed', true))!;
    expect(fromLast).toHaveLength(n + 1);
    expect(fromLast[0]).toBe('t9999');
    expect(fromLast.at(-1)).toBe('t9999');
    expect(new Set(fromLast).size).toBe(n);
  });

  it('a fan-out to 10 000 tasks and a fan-in from them: three waves, a path through the longest middle task', () => {
    const middles = Array.from({ length: 10_000 }, (_, i) => node(`m${i}`, ['root'], i === 4_321 ? 7 : 1));
    const tasks = [node('join', middles.map((m) => m.id), 1), ...middles, node('root', [], 1)];
    expect(findCycle(tasks)).toBeNull();
    const waves = computeWaves(tasks);
    expect([waves.get('root'), waves.get('m0'), waves.get('m9999'), waves.get('join')]).toEqual([0, 1, 1, 2]);
    expect(criticalPath(tasks)).toEqual({ path: ['root', 'm4321', 'join'], durationMs: 9 });
    expect(dependentsOf(tasks, ['root']).size).toBe(10_001);
    expect([remainingPaths(tasks).get('root'), remainingPaths(tasks).get('m4321'), remainingPaths(tasks).get('m0')]).toEqual([9, 8, 2]);
  });
});

// ---------- properties ----------

describe('task graph: properties', () => {
  it('finds no cycle in a DAG', () => {
    fc.assert(fc.property(dagArb, (tasks) => findCycle(tasks) === null));
  });

  it('a back edge to an ancestor makes a cycle that findCycle reports as a real one', () => {
    fc.assert(
      fc.property(dagArb, fc.nat(), fc.nat(), (tasks, pickTarget, pickSource) => {
        const target = tasks[pickTarget % tasks.length]!;
        // target itself and every task target depends on, directly or not: `source -> target` closes a loop
        const closing = [target.id, ...tasks.filter((t) => referenceDependents(tasks, [t.id]).has(target.id)).map((t) => t.id)];
        const source = closing[pickSource % closing.length]!;
        const cyclic = tasks.map((t) => (t.id === source ? { ...t, dependsOn: [...t.dependsOn, target.id] } : t));
        expect(isAcyclic(cyclic)).toBe(false);
        expectRealCycle(cyclic, findCycle(cyclic));
      }),
    );
  });

  it('on any graph, finds a real cycle exactly when there is one', () => {
    fc.assert(
      fc.property(graphArb, ({ tasks }) => {
        const cycle = findCycle(tasks);
        if (isAcyclic(tasks)) expect(cycle).toBeNull();
        else expectRealCycle(tasks, cycle);
      }),
    );
  });

  it('waves respect dependencies: one past the latest dependency, 0 without any, whatever the order', () => {
    fc.assert(
      fc.property(dagArb, (tasks) => {
        const waves = computeWaves(tasks);
        const ids = new Set(tasks.map((t) => t.id));
        expect(waves.size).toBe(tasks.length);
        for (const t of tasks) {
          const depWaves = t.dependsOn.filter((d) => ids.has(d)).map((d) => waves.get(d)!);
          for (const w of depWaves) expect(w).toBeLessThan(waves.get(t.id)!);
          expect(waves.get(t.id)).toBe(depWaves.length === 0 ? 0 : Math.max(...depWaves) + 1);
        }
        expect(computeWaves([...tasks].reverse())).toEqual(waves);
      }),
    );
  });

  it('the critical path is a dependency chain from a root, the longest by duration then by tasks', () => {
    fc.assert(
      fc.property(dagArb, (tasks) => {
        const { path, durationMs } = criticalPath(tasks);
        const byId = new Map(tasks.map((t) => [t.id, t]));
        const [bestMs, bestLength] = referenceLongest(tasks)[0]!;
        expect(durationMs).toBe(bestMs);
        expect(path).toHaveLength(bestLength);
        expect(path.reduce((sum, id) => sum + byId.get(id)!.estimatedDurationMs, 0)).toBe(durationMs);
        expect(byId.get(path[0]!)!.dependsOn.filter((d) => byId.has(d))).toEqual([]);
        for (let i = 0; i + 1 < path.length; i++) expect(byId.get(path[i + 1]!)!.dependsOn).toContain(path[i]);
      }),
    );
  });

  it('waves and the critical path equal the plain references on larger sparse DAGs, repeated dependencies included', () => {
    fc.assert(
      fc.property(sparseDagArb, (tasks) => {
        expect(findCycle(tasks)).toBeNull();
        expect(computeWaves(tasks)).toEqual(referenceWaves(tasks));
        expect(criticalPath(tasks)).toEqual(referenceCriticalPath(tasks));
        const remaining = remainingPaths(tasks);
        expect(remaining).toEqual(referenceRemaining(tasks));
        // longest first is a topological order: a task always outweighs what depends on it
        for (const t of tasks) for (const d of t.dependsOn) expect(remaining.get(d)).toBeGreaterThan(remaining.get(t.id)!);
      }),
      { numRuns: 200 },
    );
  });

  it('on random DAGs, the critical path is the plain reference\'s, path and ties included', () => {
    fc.assert(
      fc.property(dagArb, (tasks) => {
        expect(criticalPath(tasks)).toEqual(referenceCriticalPath(tasks));
      }),
    );
  });

  it('on random DAGs, the waves are the fixpoint reference\'s', () => {
    fc.assert(
      fc.property(dagArb, (tasks) => {
        expect(computeWaves(tasks)).toEqual(referenceWaves(tasks));
      }),
    );
  });

  it('dependentsOf matches reverse reachability, cycles included', () => {
    fc.assert(
      fc.property(graphArb, ({ tasks, picked }) => {
        expect(dependentsOf(tasks, picked)).toEqual(referenceDependents(tasks, picked));
      }),
    );
  });
});
