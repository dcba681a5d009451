/**
 * The phase machine on its own: ready set from `depends_on`, retries, the
 * three failure tolerances, stops from outside, guards, and its output.
 */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { phaseMachine, type PhaseEvent } from '../src/machines/phase-machine.js';
import type { FailureTolerance, PhaseOutcome, PhaseStop, TaskSpec, TaskStatus } from '../src/machines/types.js';
import { phase, task, taskError } from './machines-fixtures.js';

const START = 100;

function startPhase(tasks: TaskSpec[], tolerance: FailureTolerance = 'medium', blocked: string[] = []) {
  return createActor(phaseMachine, { input: { index: 3, spec: phase('build', tasks), tolerance, blocked, at: START } }).start();
}
type PhaseActor = ReturnType<typeof startPhase>;

const statuses = (actor: PhaseActor): Record<string, TaskStatus> =>
  Object.fromEntries(Object.values(actor.getSnapshot().context.tasks).map((t) => [t.id, t.status]));
const record = (actor: PhaseActor, id: string) => actor.getSnapshot().context.tasks[id]!;

function run(actor: PhaseActor, taskId: string, at: number, agentId = 'agent_001') {
  actor.send({ type: 'task.assigned', taskId, agentId, at });
  actor.send({ type: 'task.started', taskId, at: at + 1 });
}
function succeed(actor: PhaseActor, taskId: string, at: number) {
  run(actor, taskId, at);
  actor.send({ type: 'task.completed', taskId, output: { done: taskId }, at: at + 2 });
}
function fail(actor: PhaseActor, taskId: string, at: number, retryable = false) {
  run(actor, taskId, at);
  actor.send({ type: 'task.failed', taskId, error: taskError(retryable), retryAt: at + 50, at: at + 2 });
}

describe('phase: ready set from depends_on', () => {
  it('starts running with only the tasks whose dependencies completed ready', () => {
    const actor = startPhase([task('a'), task('b', ['a']), task('c', ['a']), task('d', ['b', 'c'])]);
    expect(actor.getSnapshot().value).toBe('running');
    expect(actor.getSnapshot().context.status).toBe('running');
    expect(statuses(actor)).toEqual({ a: 'ready', b: 'pending', c: 'pending', d: 'pending' });
    succeed(actor, 'a', 110);
    expect(statuses(actor)).toEqual({ a: 'completed', b: 'ready', c: 'ready', d: 'pending' });
    succeed(actor, 'b', 120);
    expect(statuses(actor)).toMatchObject({ b: 'completed', c: 'ready', d: 'pending' });
    succeed(actor, 'c', 130);
    expect(statuses(actor)).toMatchObject({ d: 'ready' });
    succeed(actor, 'd', 140);
    expect(actor.getSnapshot().value).toBe('completed');
    expect(actor.getSnapshot().status).toBe('done');
  });

  it('treats a dependency outside the phase as met unless it is blocked', () => {
    const actor = startPhase([task('x', ['earlier_ok']), task('y', ['earlier_failed']), task('z', ['y'])], 'high', ['earlier_failed']);
    expect(statuses(actor)).toEqual({ x: 'ready', y: 'skipped', z: 'skipped' });
    expect(record(actor, 'y')).toMatchObject({ reason: 'dependency earlier_failed did not complete', finishedAt: START });
    expect(record(actor, 'z').reason).toBe('dependency y did not complete');
  });

  it('completes an empty phase at once', () => {
    const actor = startPhase([]);
    const snapshot = actor.getSnapshot();
    expect(snapshot.value).toBe('completed');
    expect(snapshot.output).toEqual({ index: 3, name: 'build', status: 'completed', stoppedBy: null, startedAt: START, finishedAt: START, tasks: [] });
  });

  it('skips a phase whose every task depends on a blocked one', () => {
    const actor = startPhase([task('x', ['gone']), task('y', ['x'])], 'high', ['gone']);
    expect(actor.getSnapshot().value).toBe('skipped');
    expect(actor.getSnapshot().output?.status).toBe('skipped');
  });
});

describe('phase: retries', () => {
  it.each([
    { retries: 0, retryable: true, attempts: 1 },
    { retries: 1, retryable: true, attempts: 2 },
    { retries: 3, retryable: true, attempts: 4 },
    { retries: 3, retryable: false, attempts: 1 },
  ])('retries $retries, retryable $retryable: fails for good after $attempts attempt(s)', ({ retries, retryable, attempts }) => {
    const actor = startPhase([task('a', [], { retries }), task('b', ['a'])]);
    let at = 200;
    for (let attempt = 1; attempt < attempts; attempt++) {
      fail(actor, 'a', at, retryable);
      expect(record(actor, 'a')).toMatchObject({ status: 'ready', attempts: attempt, notBefore: at + 50, agentId: null, error: taskError(retryable) });
      expect(actor.getSnapshot().value).toBe('running');
      at += 100;
    }
    fail(actor, 'a', at, retryable);
    expect(record(actor, 'a')).toMatchObject({ status: 'failed', attempts, finishedAt: at + 2, error: taskError(retryable) });
    expect(statuses(actor)).toEqual({ a: 'failed', b: 'skipped' });
    expect(actor.getSnapshot().value).toBe('failed');
  });

  it('clears notBefore when the retry is assigned, and a later success completes the task', () => {
    const actor = startPhase([task('a', [], { retries: 1 })]);
    fail(actor, 'a', 200, true);
    actor.send({ type: 'task.assigned', taskId: 'a', agentId: 'agent_002', at: 260 });
    expect(record(actor, 'a')).toMatchObject({ status: 'assigned', attempts: 2, notBefore: null, agentId: 'agent_002' });
    actor.send({ type: 'task.completed', taskId: 'a', output: 42, at: 270 });
    expect(record(actor, 'a')).toMatchObject({ status: 'completed', output: 42, error: null, finishedAt: 270 });
    expect(actor.getSnapshot().value).toBe('completed');
  });

  it('a released task goes back to ready without using up an attempt', () => {
    const actor = startPhase([task('a', [], { retries: 0 })]);
    actor.send({ type: 'task.assigned', taskId: 'a', agentId: 'agent_001', at: 110 });
    actor.send({ type: 'task.released', taskId: 'a', at: 111 });
    expect(record(actor, 'a')).toMatchObject({ status: 'ready', attempts: 0, agentId: null });
    fail(actor, 'a', 120, true);
    expect(record(actor, 'a')).toMatchObject({ status: 'failed', attempts: 1 });
  });
});

describe('phase: failure tolerance', () => {
  const tasks = () => [task('a'), task('b', ['a']), task('c', ['b']), task('d'), task('e')];

  it('low fails fast: dependents skipped, every other open task cancelled, phase failed', () => {
    const actor = startPhase(tasks(), 'low');
    succeed(actor, 'e', 105);
    run(actor, 'd', 110);
    fail(actor, 'a', 120);
    expect(statuses(actor)).toEqual({ a: 'failed', b: 'skipped', c: 'skipped', d: 'cancelled', e: 'completed' });
    expect(record(actor, 'd')).toMatchObject({ reason: 'task a failed', finishedAt: 122 });
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().output).toMatchObject({ status: 'failed', stoppedBy: null, finishedAt: 122 });
  });

  it.each(['medium', 'high'] as const)('%s skips the dependents, lets independent tasks finish, then fails the phase', (tolerance) => {
    const actor = startPhase(tasks(), tolerance);
    run(actor, 'd', 110);
    fail(actor, 'a', 120);
    expect(statuses(actor)).toEqual({ a: 'failed', b: 'skipped', c: 'skipped', d: 'running', e: 'ready' });
    expect(actor.getSnapshot().value).toBe('running');
    actor.send({ type: 'task.completed', taskId: 'd', output: null, at: 130 });
    succeed(actor, 'e', 140);
    expect(statuses(actor)).toMatchObject({ d: 'completed', e: 'completed' });
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().output).toMatchObject({ status: 'failed', finishedAt: 142 });
  });

  it('high: tasks in `blocked` skip their dependents, the rest runs and the phase completes', () => {
    const actor = startPhase([task('x', ['old']), task('y', ['x']), task('z')], 'high', ['old']);
    expect(statuses(actor)).toEqual({ x: 'skipped', y: 'skipped', z: 'ready' });
    succeed(actor, 'z', 110);
    // skipped tasks alone do not fail a phase: the workflow ends `partial` from its blocked list
    expect(actor.getSnapshot().value).toBe('completed');
  });
});

describe('phase: stopped from outside', () => {
  it.each([
    { reason: 'cancel', value: 'cancelled', open: 'cancelled', running: 'cancelled', why: 'workflow cancelled', abortWhy: 'workflow cancelled' },
    // a running task is aborted by an early complete: cancelled, not "skipped"
    { reason: 'complete', value: 'completed', open: 'skipped', running: 'cancelled', why: 'workflow completed early', abortWhy: 'aborted: workflow completed early' },
    { reason: 'deadline', value: 'failed', open: 'cancelled', running: 'cancelled', why: 'workflow timed out', abortWhy: 'workflow timed out' },
  ] as const)('phase.stop $reason ends open tasks as $open and the phase as $value', ({ reason, value, open, running, why, abortWhy }) => {
    const actor = startPhase([task('a'), task('b', [], { retries: 2 }), task('c'), task('d', ['a'])]);
    succeed(actor, 'a', 110);
    fail(actor, 'b', 120, true); // ready again, not before 170
    run(actor, 'c', 130);
    actor.send({ type: 'phase.stop', reason: reason as PhaseStop, at: 150 });
    expect(statuses(actor)).toEqual({ a: 'completed', b: open, c: running, d: open });
    for (const id of ['b', 'd']) expect(record(actor, id)).toMatchObject({ reason: why, finishedAt: 150, notBefore: null });
    expect(record(actor, 'c')).toMatchObject({ reason: abortWhy, finishedAt: 150, notBefore: null });
    expect(record(actor, 'a').reason).toBeNull();
    expect(actor.getSnapshot().value).toBe(value);
    expect(actor.getSnapshot().output).toMatchObject({ status: value, stoppedBy: reason, finishedAt: 150 });
  });
});

describe('phase: guards ignore events for a task in the wrong status', () => {
  // a ready; b pending (needs a); c running; d completed
  const prepared = () => {
    const actor = startPhase([task('a'), task('b', ['a']), task('c'), task('d')]);
    run(actor, 'c', 110);
    succeed(actor, 'd', 120);
    return actor;
  };
  const ignored: Array<[string, PhaseEvent]> = [
    ['assign a pending task', { type: 'task.assigned', taskId: 'b', agentId: 'x', at: 200 }],
    ['assign a running task', { type: 'task.assigned', taskId: 'c', agentId: 'x', at: 200 }],
    ['assign an unknown task', { type: 'task.assigned', taskId: 'nope', agentId: 'x', at: 200 }],
    ['start a ready task', { type: 'task.started', taskId: 'a', at: 200 }],
    ['start a running task', { type: 'task.started', taskId: 'c', at: 200 }],
    ['release a ready task', { type: 'task.released', taskId: 'a', at: 200 }],
    ['release a completed task', { type: 'task.released', taskId: 'd', at: 200 }],
    ['complete a ready task', { type: 'task.completed', taskId: 'a', output: 1, at: 200 }],
    ['complete a completed task', { type: 'task.completed', taskId: 'd', output: 1, at: 200 }],
    ['fail a pending task', { type: 'task.failed', taskId: 'b', error: taskError(false), retryAt: 0, at: 200 }],
    ['fail a completed task', { type: 'task.failed', taskId: 'd', error: taskError(false), retryAt: 0, at: 200 }],
  ];

  it.each(ignored)('%s', (_what, event) => {
    const actor = prepared();
    const before = actor.getSnapshot();
    expect(before.can(event)).toBe(false);
    actor.send(event);
    expect(actor.getSnapshot().value).toBe('running');
    expect(actor.getSnapshot().context).toEqual(before.context);
  });

  it('accepts the same kinds of events in the right status', () => {
    const actor = prepared();
    const snap = actor.getSnapshot();
    expect(snap.can({ type: 'task.assigned', taskId: 'a', agentId: 'x', at: 200 })).toBe(true);
    expect(snap.can({ type: 'task.completed', taskId: 'c', output: 1, at: 200 })).toBe(true);
    expect(snap.can({ type: 'task.failed', taskId: 'c', error: taskError(true), retryAt: 0, at: 200 })).toBe(true);
  });
});

describe('phase: output', () => {
  it('is a PhaseOutcome with the task records in spec order', () => {
    const actor = startPhase([task('late'), task('early'), task('mid', ['early'])]);
    succeed(actor, 'early', 110);
    succeed(actor, 'mid', 120);
    succeed(actor, 'late', 130);
    const output = actor.getSnapshot().output as PhaseOutcome;
    expect(Object.keys(output).sort()).toEqual(['finishedAt', 'index', 'name', 'startedAt', 'status', 'stoppedBy', 'tasks']);
    expect(output).toMatchObject({ index: 3, name: 'build', status: 'completed', stoppedBy: null, startedAt: START, finishedAt: 132 });
    expect(output.tasks.map((t) => t.id)).toEqual(['late', 'early', 'mid']);
    expect(output.tasks[0]).toEqual({
      id: 'late',
      status: 'completed',
      attempts: 1,
      agentId: 'agent_001',
      notBefore: null,
      startedAt: 131,
      finishedAt: 132,
      output: { done: 'late' },
      error: null,
      reason: null,
    });
    expect(actor.getSnapshot().context.status).toBe('completed');
  });
});

describe('phase: a released task goes back to ready with the same attempt', () => {
  it.each([['assigned'], ['running']] as const)('from %s (its run is gone: agent lost, or the supervisor restarted)', (from) => {
    const actor = startPhase([task('a')]);
    actor.send({ type: 'task.assigned', taskId: 'a', agentId: 'ag', at: 110 });
    if (from === 'running') actor.send({ type: 'task.started', taskId: 'a', at: 120 });
    actor.send({ type: 'task.released', taskId: 'a', at: 130 });
    expect(record(actor, 'a')).toMatchObject({ status: 'ready', attempts: 0, agentId: null, startedAt: null });
    actor.send({ type: 'task.assigned', taskId: 'a', agentId: 'ag2', at: 140 });
    expect(record(actor, 'a')).toMatchObject({ status: 'assigned', attempts: 1, agentId: 'ag2' });
  });
});

// a phase writes its task map in place (a copy per event made big phases quadratic): what others hold must not change
describe('phase: snapshots taken or restored stay apart from the live phase', () => {
  it('a persisted snapshot keeps the records it was taken with while the phase goes on', () => {
    const actor = startPhase([task('a'), task('b', ['a'])]);
    const persisted = actor.getPersistedSnapshot() as unknown as { context: { tasks: Record<string, { status: TaskStatus }>; open: number } };
    succeed(actor, 'a', 200);
    expect(statuses(actor)).toEqual({ a: 'completed', b: 'ready' });
    expect(persisted.context.tasks.a!.status).toBe('ready');
    expect(persisted.context.tasks.b!.status).toBe('pending');
    expect(persisted.context.open).toBe(2);
  });

  it('two actors restored from the same snapshot object each keep their own records', () => {
    const original = startPhase([task('a'), task('b')]);
    const persisted = original.getPersistedSnapshot();
    const input = { index: 3, spec: phase('build', [task('a'), task('b')]), tolerance: 'medium' as const, blocked: [], at: START };
    const one = createActor(phaseMachine, { snapshot: persisted, input }).start();
    const two = createActor(phaseMachine, { snapshot: persisted, input }).start();
    succeed(one, 'a', 200);
    succeed(two, 'b', 200);
    expect(statuses(one)).toEqual({ a: 'completed', b: 'ready' });
    expect(statuses(two)).toEqual({ a: 'ready', b: 'completed' });
    expect(statuses(original)).toEqual({ a: 'ready', b: 'ready' });
  });

  it('a snapshot from before the open-task count was kept still ends its phase when its last task completes', () => {
    const original = startPhase([task('a')]);
    const persisted = structuredClone(original.getPersistedSnapshot()) as unknown as { context: Record<string, unknown> };
    delete persisted.context.open;
    delete persisted.context.revision;
    const input = { index: 3, spec: phase('build', [task('a')]), tolerance: 'medium' as const, blocked: [], at: START };
    const restored = createActor(phaseMachine, { snapshot: persisted as never, input }).start();
    succeed(restored, 'a', 200);
    expect(restored.getSnapshot().value).toBe('completed');
  });
});
