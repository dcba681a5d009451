/**
 * The phase's ready set on big graphs (issue "Hardening", item 8 "Big
 * graphs"): a skip cascading to a task with hundreds of thousands of
 * dependents, joins of tens of thousands of dependencies, and, as a
 * property over random DAGs and random outcomes, the incremental `settle`
 * against the plain one troupe had (which rescanned every dependency of a
 * task at each change of one of them: O(k²) for a join of k tasks).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { phaseMachine } from '../src/machines/phase-machine.js';
import { newTaskMap, put, settle } from '../src/machines/phase-records.js';
import type { TaskRecord, TaskSpec, TaskStatus } from '../src/machines/types.js';
import { phase, task, taskError } from './machines-fixtures.js';

function startPhase(tasks: TaskSpec[]) {
  return createActor(phaseMachine, { input: { index: 0, spec: phase('big', tasks), tolerance: 'high', blocked: [], at: 0 } }).start();
}
type PhaseActor = ReturnType<typeof startPhase>;

function complete(actor: PhaseActor, taskId: string, at: number) {
  actor.send({ type: 'task.assigned', taskId, agentId: 'agent_001', at });
  actor.send({ type: 'task.started', taskId, at });
  actor.send({ type: 'task.completed', taskId, output: null, at });
}

function failForGood(actor: PhaseActor, taskId: string, at: number) {
  actor.send({ type: 'task.assigned', taskId, agentId: 'agent_001', at });
  actor.send({ type: 'task.started', taskId, at });
  actor.send({ type: 'task.failed', taskId, error: taskError(false), retryAt: at, at });
}

const countBy = (actor: PhaseActor) => {
  const counts: Partial<Record<TaskStatus, number>> = {};
  for (const t of Object.values(actor.getSnapshot().context.tasks)) counts[t.status] = (counts[t.status] ?? 0) + 1;
  return counts;
};

describe('phase: big graphs', () => {
  // pushing 200 000 dependents as call arguments (`queue.push(...list)`) overflowed V8's stack
  it('a failure skips a task with 200 000 dependents, and every one of them, in one cascade', () => {
    const leaves = Array.from({ length: 200_000 }, (_, i) => task(`leaf${i}`, ['mid']));
    const actor = startPhase([task('root'), task('mid', ['root']), ...leaves]);
    failForGood(actor, 'root', 10);
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().value).toBe('failed');
    expect(countBy(actor)).toEqual({ failed: 1, skipped: 200_001 });
    const tasks = actor.getSnapshot().context.tasks;
    expect(tasks.mid).toMatchObject({ status: 'skipped', reason: 'dependency root did not complete', finishedAt: 10 });
    expect(tasks.leaf199999).toMatchObject({ status: 'skipped', reason: 'dependency mid did not complete', finishedAt: 10 });
  }, 120_000);

  it('a join of 20 000 dependencies becomes ready with the last one, whatever order they complete in', () => {
    const n = 20_000;
    const deps = Array.from({ length: n }, (_, i) => task(`d${i}`));
    const actor = startPhase([...deps, task('join', deps.map((d) => d.id))]);
    // odd ones first, then even ones backwards: the join's first dependency completes last
    const order = [...deps.map((_, i) => i).filter((i) => i % 2 === 1), ...deps.map((_, i) => i).filter((i) => i % 2 === 0).reverse()];
    for (const [k, i] of order.entries()) {
      complete(actor, `d${i}`, k);
      if (k === n - 2) expect(actor.getSnapshot().context.tasks.join!.status).toBe('pending');
    }
    expect(actor.getSnapshot().context.tasks.join!.status).toBe('ready');
    complete(actor, 'join', n);
    expect(actor.getSnapshot().value).toBe('completed');
  });

  it('a join of 20 000 dependencies is skipped, naming the one that failed, while the others still run', () => {
    const n = 20_000;
    const deps = Array.from({ length: n }, (_, i) => task(`d${i}`));
    const actor = startPhase([...deps, task('join', deps.map((d) => d.id))]);
    for (let i = 0; i < n / 2; i++) complete(actor, `d${i}`, i);
    failForGood(actor, 'd15000', n);
    expect(actor.getSnapshot().context.tasks.join).toMatchObject({ status: 'skipped', reason: 'dependency d15000 did not complete' });
    expect(countBy(actor)).toEqual({ completed: n / 2, failed: 1, ready: n / 2 - 1, skipped: 1 });
  });
});

// ---------- the incremental settle against the plain one ----------

const BROKEN: ReadonlySet<TaskStatus> = new Set(['failed', 'skipped', 'cancelled']);

/** `settle` as troupe had it (every dependency looked at on every visit), as the reference. */
function plainSettle(specs: readonly TaskSpec[], tasks: Record<string, TaskRecord>, blocked: ReadonlySet<string>, at: number, changed?: readonly string[]) {
  const dependents = (id: string) => specs.filter((s) => s.dependsOn.includes(id));
  const queue: TaskSpec[] = changed ? changed.flatMap(dependents) : [...specs];
  for (let i = 0; i < queue.length; i++) {
    const spec = queue[i]!;
    const task = tasks[spec.id];
    if (!task || task.status !== 'pending') continue;
    const broken = spec.dependsOn.find((dep) => (tasks[dep] ? BROKEN.has(tasks[dep]!.status) : blocked.has(dep)));
    if (broken !== undefined) {
      tasks[spec.id] = { ...task, status: 'skipped', finishedAt: at, reason: `dependency ${broken} did not complete` };
      queue.push(...dependents(spec.id));
    } else if (!spec.dependsOn.some((dep) => tasks[dep] !== undefined && tasks[dep]!.status !== 'completed')) {
      tasks[spec.id] = { ...task, status: 'ready' };
    }
  }
}

/** A random DAG of up to 25 tasks (each may also depend on `early_ok` or `early_bad` of an earlier phase, the latter blocked) and random steps. */
const scenarioArb = fc
  .integer({ min: 1, max: 25 })
  .chain((n) =>
    fc.record({
      deps: fc.tuple(...Array.from({ length: n }, (_, i) => fc.subarray([...Array.from({ length: i }, (__, j) => `t${j}`), 'early_ok', 'early_bad'], { maxLength: Math.min(4, i + 2) }))),
      // each step: which ready or in-flight task moves (by index among them) and how
      steps: fc.array(fc.tuple(fc.nat(), fc.constantFrom('assigned', 'running', 'completed', 'completed', 'failed', 'cancelled')), { maxLength: 60 }),
      blocked: fc.boolean(),
    }),
  );

describe('phase: settle, as a property', () => {
  it('moves exactly the tasks the plain settle moves, with the same reasons, on random DAGs and outcomes', () => {
    fc.assert(
      fc.property(scenarioArb, ({ deps, steps, blocked }) => {
        const specs = deps.map((d, i) => task(`t${i}`, d));
        const blockedIds: ReadonlySet<string> = new Set(blocked ? ['early_bad'] : []);
        const owner = {};
        const ours = newTaskMap(specs, owner);
        const theirs: Record<string, TaskRecord> = { ...ours };
        settle(specs, ours, blockedIds, 0);
        plainSettle(specs, theirs, blockedIds, 0);
        expect(ours).toEqual(theirs);
        for (const [k, [pick, status]] of steps.entries()) {
          const movable = Object.values(ours).filter((t) => t.status === 'ready' || t.status === 'assigned' || t.status === 'running');
          if (movable.length === 0) break;
          const record = { ...movable[pick % movable.length]!, status };
          put(ours, record);
          theirs[record.id] = record;
          settle(specs, ours, blockedIds, k + 1, [record.id]);
          plainSettle(specs, theirs, blockedIds, k + 1, [record.id]);
          expect(ours).toEqual(theirs);
        }
      }),
      { numRuns: 300 },
    );
  });
});
