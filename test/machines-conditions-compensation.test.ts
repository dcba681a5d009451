/**
 * The machines' side of DESIGN §11: a task with a condition waits for its
 * dependencies to end in any state; a skip by condition and an allowed
 * failure are benign (they fail nothing and make nothing partial); the
 * compensation plan undoes completed tasks in reverse dependency order; a
 * workflow that fails with completed compensable tasks compensates.
 */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { compensationPlan } from '../src/machines/compensation-plan.js';
import { phaseMachine } from '../src/machines/phase-machine.js';
import { workflowMachine } from '../src/machines/workflow-machine.js';
import type { FailureTolerance, PhaseOutcome, TaskRecord, TaskSpec, TaskStatus } from '../src/machines/types.js';
import { newTaskRecord } from '../src/machines/phase-records.js';
import { phase, task, taskError, workflowSpec } from './machines-fixtures.js';

const undo = (value = 'undo') => ({ compensate: { handler: 'echo', input: { value }, timeoutMs: 1_000, retries: 0 } });

function startPhase(tasks: TaskSpec[], tolerance: FailureTolerance = 'low', blocked: string[] = [], excused: string[] = []) {
  return createActor(phaseMachine, { input: { index: 0, spec: phase('p', tasks), tolerance, blocked, excused, at: 100 } }).start();
}
type PhaseActor = ReturnType<typeof startPhase>;
const statuses = (actor: PhaseActor): Record<string, TaskStatus> =>
  Object.fromEntries(Object.values(actor.getSnapshot().context.tasks).map((t) => [t.id, t.status]));
const end = (actor: PhaseActor, taskId: string, ok: boolean, at: number) => {
  actor.send({ type: 'task.assigned', taskId, agentId: 'agent_001', at });
  actor.send({ type: 'task.started', taskId, at });
  if (ok) actor.send({ type: 'task.completed', taskId, output: { id: taskId }, at: at + 1 });
  else actor.send({ type: 'task.failed', taskId, error: taskError(false), retryAt: 0, at: at + 1 });
};

describe('conditions and allowed failures in a phase', () => {
  it('a task with when waits for its dependencies to end in any state, then is ready', () => {
    const actor = startPhase([task('a'), task('b'), task('c', ['a', 'b'], { when: 'tasks.a.status == "failed"' }), task('d', ['a'])], 'high');
    expect(statuses(actor)).toMatchObject({ c: 'pending' });
    end(actor, 'a', false, 110);
    // d (no condition) is skipped by the failure; c still waits for b
    expect(statuses(actor)).toMatchObject({ c: 'pending', d: 'skipped' });
    end(actor, 'b', true, 120);
    expect(statuses(actor)).toMatchObject({ c: 'ready' });
  });

  it('a condition-skipped task is benign, and so are the skips that follow from it', () => {
    const actor = startPhase([task('a', [], { when: 'false' }), task('b', ['a']), task('c', ['b'])]);
    expect(statuses(actor)).toMatchObject({ a: 'ready' });
    actor.send({ type: 'task.skipped', taskId: 'a', reason: 'condition', at: 110 });
    const tasks = actor.getSnapshot().context.tasks;
    expect(tasks.a).toMatchObject({ status: 'skipped', reason: 'condition', benign: true, finishedAt: 110 });
    expect(tasks.b).toMatchObject({ status: 'skipped', benign: true });
    expect(tasks.c).toMatchObject({ status: 'skipped', benign: true });
    expect(actor.getSnapshot().value).toBe('skipped');
  });

  it('task.skipped is refused for a task that is not ready', () => {
    const actor = startPhase([task('a'), task('b', ['a'], { when: 'true' })]);
    actor.send({ type: 'task.skipped', taskId: 'b', reason: 'condition', at: 110 });
    expect(statuses(actor)).toMatchObject({ b: 'pending' });
  });

  it('an allowed failure stops nothing under failure_tolerance low, and the phase completes', () => {
    const actor = startPhase([task('a', [], { allowFailure: true }), task('b'), task('c', ['a']), task('d', ['a'], { when: 'true' })], 'low');
    end(actor, 'a', false, 110);
    const tasks = actor.getSnapshot().context.tasks;
    expect(tasks.a).toMatchObject({ status: 'failed', benign: true });
    expect(tasks.b!.status).toBe('ready');
    expect(tasks.c).toMatchObject({ status: 'skipped', benign: true });
    expect(tasks.d!.status).toBe('ready');
    end(actor, 'b', true, 120);
    end(actor, 'd', true, 130);
    expect(actor.getSnapshot().value).toBe('completed');
  });

  it('a skip is not benign when a broken dependency was a real failure', () => {
    const actor = startPhase([task('a', [], { allowFailure: true }), task('b'), task('c', ['a', 'b'])], 'medium');
    end(actor, 'b', false, 110);
    end(actor, 'a', false, 120);
    expect(actor.getSnapshot().context.tasks.c).toMatchObject({ status: 'skipped' });
    expect(actor.getSnapshot().context.tasks.c!.benign).toBeUndefined();
    expect(actor.getSnapshot().value).toBe('failed');
  });

  it('an earlier phase\'s benign skip makes a later dependent\'s skip benign (excused)', () => {
    const actor = startPhase([task('x', ['gone']), task('y', ['lost']), task('z', ['gone', 'lost'])], 'high', ['gone', 'lost'], ['gone']);
    const tasks = actor.getSnapshot().context.tasks;
    expect(tasks.x).toMatchObject({ status: 'skipped', benign: true });
    expect(tasks.y!.benign).toBeUndefined();
    // every broken dependency must be benign for the skip to be
    expect(tasks.z).toMatchObject({ status: 'skipped' });
    expect(tasks.z!.benign).toBeUndefined();
  });
});

describe('the workflow with conditions', () => {
  it('ends completed, not partial, under failure_tolerance high when only conditions skipped tasks', () => {
    const spec = workflowSpec([phase('one', [task('a', [], { when: 'false' })]), phase('two', [task('b', ['a']), task('c')])], 'high');
    const actor = createActor(workflowMachine, { input: { id: 'wf', spec, at: 0 } }).start();
    actor.send({ type: 'start', at: 1 });
    actor.getSnapshot().children.phase!.send({ type: 'task.skipped', taskId: 'a', reason: 'condition', at: 2 });
    const two = actor.getSnapshot().children.phase!;
    expect(two.getSnapshot().context.tasks.b).toMatchObject({ status: 'skipped', benign: true });
    two.send({ type: 'task.assigned', taskId: 'c', agentId: 'agent_001', at: 3 });
    two.send({ type: 'task.completed', taskId: 'c', output: null, at: 4 });
    expect(actor.getSnapshot().value).toBe('completed');
    expect(actor.getSnapshot().context.excused).toEqual(['a', 'b']);
  });
});

/** An ended phase outcome with the given statuses, in spec order. */
function outcome(index: number, specs: TaskSpec[], status: Record<string, TaskStatus>): PhaseOutcome {
  const tasks: TaskRecord[] = specs.map((s) => ({ ...newTaskRecord(s.id), status: status[s.id] ?? 'completed' }));
  return { index, name: `p${index}`, status: 'failed', stoppedBy: null, startedAt: 0, finishedAt: 1, tasks };
}

describe('compensation plan', () => {
  const order = (plan: ReturnType<typeof compensationPlan>) => Object.fromEntries(plan!.tasks.map((t) => [t.id, t.dependsOn]));

  it('undoes a chain in reverse: reserve after charge, the failed ship not at all', () => {
    const specs = [task('reserve', [], undo()), task('charge', ['reserve'], undo()), task('ship', ['charge'], undo())];
    const plan = compensationPlan([phase('p', specs)], [outcome(0, specs, { ship: 'failed' })]);
    expect(order(plan)).toEqual({ 'reserve.compensate': ['charge.compensate'], 'charge.compensate': [] });
    expect(plan!.tasks.map((t) => t.id)).toEqual(['charge.compensate', 'reserve.compensate']);
    expect(plan!.tasks[1]).toMatchObject({ compensates: 'reserve', handler: 'echo', input: { value: 'undo' }, role: 'code' });
  });

  it('runs independent compensations in parallel and orders through tasks without one', () => {
    const specs = [task('a', [], undo()), task('b', [], undo()), task('mid', ['a']), task('top', ['mid'], undo())];
    const plan = compensationPlan([phase('p', specs)], [outcome(0, specs, {})]);
    expect(order(plan)).toEqual({ 'a.compensate': ['top.compensate'], 'b.compensate': [], 'top.compensate': [] });
  });

  it('spans phases, and leaves out tasks that did not complete', () => {
    const one = [task('a', [], undo()), task('skipped', [], undo())];
    const two = [task('b', ['a'], undo())];
    const plan = compensationPlan([phase('one', one), phase('two', two)], [outcome(0, one, { skipped: 'skipped' }), outcome(1, two, {})]);
    expect(order(plan)).toEqual({ 'a.compensate': ['b.compensate'], 'b.compensate': [] });
  });

  it('is null when nothing completed has a compensation', () => {
    const specs = [task('a'), task('b', [], undo())];
    expect(compensationPlan([phase('p', specs)], [outcome(0, specs, { b: 'failed' })])).toBeNull();
  });

  it('a chain of 20 000 compensable tasks plans in linear time with one edge each', () => {
    const specs = Array.from({ length: 20_000 }, (_, i) => task(`t${i}`, i === 0 ? [] : [`t${i - 1}`], undo()));
    const plan = compensationPlan([phase('p', specs)], [outcome(0, specs, {})])!;
    expect(plan.tasks).toHaveLength(20_000);
    expect(plan.tasks.reduce((n, t) => n + t.dependsOn.length, 0)).toBe(19_999);
  });
});

describe('a workflow that fails compensates', () => {
  const specs = () => [phase('one', [task('reserve', [], undo()), task('charge', ['reserve'], undo()), task('ship', ['charge'], undo())])];

  function failAtShip(tolerance: FailureTolerance = 'low') {
    const actor = createActor(workflowMachine, { input: { id: 'wf', spec: workflowSpec(specs(), tolerance), at: 0 } }).start();
    actor.send({ type: 'start', at: 1 });
    const one = actor.getSnapshot().children.phase!;
    for (const [id, ok, at] of [['reserve', true, 10], ['charge', true, 20], ['ship', false, 30]] as const) {
      one.send({ type: 'task.assigned', taskId: id, agentId: 'agent_001', at });
      if (ok) one.send({ type: 'task.completed', taskId: id, output: { id: `${id}-1` }, at: at + 1 });
      else one.send({ type: 'task.failed', taskId: id, error: taskError(false), retryAt: 0, at: at + 1 });
    }
    return actor;
  }

  it('enters compensating with the plan, the failure kept, and the compensation phase invoked after the last', () => {
    const actor = failAtShip();
    const snap = actor.getSnapshot();
    expect(snap.value).toBe('compensating');
    expect(snap.context.failure?.code).toBe('TASK_FAILED');
    expect(snap.context.compensation).toMatchObject({ reason: 'failed', outcome: null });
    const live = snap.children.phase!.getSnapshot().context;
    expect(live.index).toBe(1);
    expect(live.specs.map((s) => [s.id, live.tasks[s.id]!.status])).toEqual([
      ['charge.compensate', 'ready'],
      ['reserve.compensate', 'pending'],
    ]);
    expect(snap.can({ type: 'pause', at: 40 })).toBe(false);
    expect(snap.can({ type: 'cleanup', at: 40 })).toBe(false);
  });

  it('ends compensated when every compensation completed, compensation_failed when one failed (the others still ran)', () => {
    for (const ok of [true, false]) {
      const actor = failAtShip();
      const undoPhase = () => actor.getSnapshot().children.phase!;
      undoPhase().send({ type: 'task.assigned', taskId: 'charge.compensate', agentId: 'agent_001', at: 40 });
      if (ok) undoPhase().send({ type: 'task.completed', taskId: 'charge.compensate', output: null, at: 41 });
      else undoPhase().send({ type: 'task.failed', taskId: 'charge.compensate', error: taskError(false), retryAt: 0, at: 41 });
      expect(undoPhase().getSnapshot().context.tasks['reserve.compensate']!.status).toBe('ready');
      undoPhase().send({ type: 'task.assigned', taskId: 'reserve.compensate', agentId: 'agent_001', at: 50 });
      undoPhase().send({ type: 'task.completed', taskId: 'reserve.compensate', output: null, at: 51 });
      const snap = actor.getSnapshot();
      expect(snap.value).toBe(ok ? 'compensated' : 'compensation_failed');
      expect(snap.context.finishedAt).toBe(51);
      expect(snap.context.compensation!.outcome!.tasks.map((t) => t.status)).toEqual([ok ? 'completed' : 'failed', 'completed']);
      expect(snap.can({ type: 'cleanup', at: 60 })).toBe(true);
    }
  });

  it('a plain cancel cancels; cancel with compensate undoes what completed', () => {
    for (const compensate of [false, true]) {
      const actor = createActor(workflowMachine, { input: { id: 'wf', spec: workflowSpec(specs()), at: 0 } }).start();
      actor.send({ type: 'start', at: 1 });
      const one = actor.getSnapshot().children.phase!;
      one.send({ type: 'task.assigned', taskId: 'reserve', agentId: 'agent_001', at: 2 });
      one.send({ type: 'task.completed', taskId: 'reserve', output: null, at: 3 });
      actor.send({ type: 'cancel', at: 4, compensate });
      expect(actor.getSnapshot().value).toBe(compensate ? 'compensating' : 'cancelled');
      if (compensate) expect(actor.getSnapshot().context.compensation).toMatchObject({ reason: 'cancelled', spec: { tasks: [{ id: 'reserve.compensate' }] } });
    }
  });

  it('a persisted compensating workflow restores with its compensation phase and its specs', () => {
    const actor = failAtShip();
    const persisted = actor.getPersistedSnapshot();
    const child = (persisted as unknown as { children: { phase: { snapshot: { context: { specs?: unknown } } } } }).children.phase;
    expect(child.snapshot.context.specs).toBeUndefined();
    const restored = createActor(workflowMachine, { snapshot: JSON.parse(JSON.stringify(persisted)), input: { id: 'wf', spec: workflowSpec(specs()), at: 0 } }).start();
    expect(restored.getSnapshot().value).toBe('compensating');
    const live = restored.getSnapshot().children.phase!.getSnapshot().context;
    expect(live.specs.map((s) => s.id)).toEqual(['charge.compensate', 'reserve.compensate']);
    expect(live.tasks['charge.compensate']!.status).toBe('ready');
  });
});
