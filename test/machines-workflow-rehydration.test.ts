/**
 * A paused workflow in the middle of a phase survives a persistence round
 * trip: the restored actor has the same state, the same child phase, and runs
 * to the end exactly like the original would have.
 */
import { describe, expect, it } from 'vitest';
import { createActor, type Snapshot } from 'xstate';
import { workflowMachine } from '../src/machines/workflow-machine.js';
import type { PhaseEvent } from '../src/machines/phase-machine.js';
import { phase, task, taskError, workflowSpec } from './machines-fixtures.js';

const spec = workflowSpec(
  [
    phase('build', [task('a'), task('b', ['a'], { retries: 1 }), task('c', ['a'])]),
    phase('ship', [task('d', ['b']), task('e')]),
  ],
  'medium',
);
type WorkflowActor = ReturnType<typeof createActor<typeof workflowMachine>>;

/** `createActor` types `input` as required even when restoring; a restored actor never reads it. */
const restore = (snapshot: Snapshot<unknown>): WorkflowActor =>
  createActor(workflowMachine, { snapshot } as Parameters<typeof createActor<typeof workflowMachine>>[1]).start();

function phaseOf(actor: WorkflowActor) {
  const ref = actor.getSnapshot().children.phase;
  expect(ref).toBeDefined();
  return ref!;
}
const toPhase = (actor: WorkflowActor, events: PhaseEvent[]) => events.forEach((e) => phaseOf(actor).send(e));
const done = (taskId: string, at: number): PhaseEvent[] => [
  { type: 'task.assigned', taskId, agentId: 'agent_001', at },
  { type: 'task.started', taskId, at: at + 1 },
  { type: 'task.completed', taskId, output: `${taskId}-out`, at: at + 2 },
];

/** Mid-phase and paused: a and c completed, b failed once and waits for its retry at 2_000. */
function pausedMidPhase(): WorkflowActor {
  const actor = createActor(workflowMachine, { input: { id: 'wf-rehydrate', spec, at: 1_000 } }).start();
  actor.send({ type: 'start', at: 1_010 });
  toPhase(actor, [
    ...done('a', 1_100),
    { type: 'task.assigned', taskId: 'b', agentId: 'agent_002', at: 1_200 },
    { type: 'task.started', taskId: 'b', at: 1_201 },
    ...done('c', 1_250),
    { type: 'task.failed', taskId: 'b', error: taskError(true, 'flaky'), retryAt: 2_000, at: 1_300 },
  ]);
  actor.send({ type: 'pause', at: 1_400 });
  return actor;
}

/** The rest of the run: resume, b's retry, a pause across the phase boundary, then the last phase. */
function finish(actor: WorkflowActor) {
  actor.send({ type: 'resume', at: 2_000 });
  toPhase(actor, [
    { type: 'task.assigned', taskId: 'b', agentId: 'agent_001', at: 2_010 },
    { type: 'task.started', taskId: 'b', at: 2_011 },
  ]);
  actor.send({ type: 'pause', at: 2_020 });
  toPhase(actor, [{ type: 'task.completed', taskId: 'b', output: 'b-out', at: 2_030 }]);
  // the phase ended while paused: the next one starts, still paused (history state)
  expect(actor.getSnapshot().value).toEqual({ active: 'paused' });
  expect(phaseOf(actor).getSnapshot().context).toMatchObject({ index: 1, name: 'ship', startedAt: 2_030 });
  actor.send({ type: 'resume', at: 2_040 });
  toPhase(actor, [...done('d', 2_100), ...done('e', 2_200)]);
}

describe('workflow rehydration', () => {
  it('restores a paused workflow mid-phase with its phase child, and completes it', () => {
    const original = pausedMidPhase();
    const before = original.getSnapshot();
    const phaseBefore = phaseOf(original).getSnapshot();
    expect(before.value).toEqual({ active: 'paused' });
    expect(phaseBefore.context.tasks).toMatchObject({
      a: { status: 'completed', attempts: 1 },
      b: { status: 'ready', attempts: 1, notBefore: 2_000, error: { message: 'flaky' } },
      c: { status: 'completed', attempts: 1 },
    });

    const persisted = structuredClone(original.getPersistedSnapshot());
    const restored = restore(persisted);

    const after = restored.getSnapshot();
    expect(after.status).toBe('active');
    expect(after.value).toEqual(before.value);
    expect(after.context).toEqual(before.context);
    const phaseAfter = phaseOf(restored).getSnapshot();
    expect(phaseAfter.value).toBe('running');
    expect(phaseAfter.context).toEqual(phaseBefore.context);
    expect(after.can({ type: 'resume', at: 1 })).toBe(true);
    expect(after.can({ type: 'pause', at: 1 })).toBe(false);

    finish(restored);
    const end = restored.getSnapshot();
    expect(end.value).toBe('completed');
    expect(end.context).toMatchObject({ phaseIndex: 2, blocked: [], failure: null, finishedAt: 2_202, updatedAt: 2_202 });
    expect(end.context.phases.map((p) => [p.name, p.status])).toEqual([
      ['build', 'completed'],
      ['ship', 'completed'],
    ]);
    expect(end.context.phases[0]?.tasks.find((t) => t.id === 'b')).toMatchObject({ status: 'completed', attempts: 2, agentId: 'agent_001' });

    // the restored run ends exactly like the original one does
    finish(original);
    expect(original.getSnapshot().value).toBe('completed');
    expect(end.context).toEqual(original.getSnapshot().context);

    restored.send({ type: 'cleanup', at: 3_000 });
    expect(restored.getSnapshot().value).toBe('archived');
    expect(restored.getSnapshot().status).toBe('done');
  });

  it('a restored workflow can still be cancelled through its restored phase', () => {
    const restored = restore(structuredClone(pausedMidPhase().getPersistedSnapshot()));
    restored.send({ type: 'cancel', at: 1_500 });
    const snapshot = restored.getSnapshot();
    expect(snapshot.value).toBe('cancelled');
    expect(snapshot.context.finishedAt).toBe(1_500);
    expect(snapshot.context.phases[0]).toMatchObject({ status: 'cancelled', stoppedBy: 'cancel' });
    expect(snapshot.context.phases[0]?.tasks.map((t) => t.status)).toEqual(['completed', 'cancelled', 'completed']);
    expect(snapshot.children.phase).toBeUndefined();
  });

  it("leaves the phase's task specs out of the persisted snapshot (the workflow's spec has them) and restores them from it", () => {
    const original = pausedMidPhase();
    const persisted = structuredClone(original.getPersistedSnapshot()) as unknown as { children: { phase: { snapshot: { context: Record<string, unknown> } } } };
    expect(persisted.children.phase.snapshot.context).not.toHaveProperty('specs');
    const restored = restore(persisted as never);
    expect(phaseOf(restored).getSnapshot().context.specs).toEqual(phaseOf(original).getSnapshot().context.specs);
    // a snapshot from machine version 1 still holds them: it restores as it is
    persisted.children.phase.snapshot.context.specs = structuredClone(phaseOf(original).getSnapshot().context.specs);
    const fromV1 = restore(persisted as never);
    expect(phaseOf(fromV1).getSnapshot().context).toEqual(phaseOf(original).getSnapshot().context);
    finish(fromV1);
    expect(fromV1.getSnapshot().value).toBe('completed');
  });
});
