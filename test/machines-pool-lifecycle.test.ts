/**
 * The agent pool: spawning agents by reference, its bounds, draining, and a
 * persisted pool that gets its agents back.
 */
import { describe, expect, it } from 'vitest';
import { createActor, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { agentMachine } from '../src/machines/agent-machine.js';
import { agentIdFor, poolMachine, type PoolInput } from '../src/machines/pool-machine.js';

const startPool = (overrides: Partial<PoolInput> = {}) =>
  createActor(poolMachine, { input: { minAgents: 1, maxAgents: 3, maxConcurrentTasks: 2, breakerThreshold: 4, ...overrides } }).start();
type PoolActor = ReturnType<typeof startPool>;
type AgentRef = ActorRefFrom<typeof agentMachine>;

const agentsOf = (snapshot: SnapshotFrom<typeof poolMachine>): Record<string, AgentRef> =>
  snapshot.children as Record<string, AgentRef>;
const agent = (pool: PoolActor, id: string): AgentRef => {
  const ref = agentsOf(pool.getSnapshot())[id];
  expect(ref, `child ${id}`).toBeDefined();
  return ref!;
};

describe('pool: agent ids', () => {
  it.each([
    [1, 'agent_001'],
    [42, 'agent_042'],
    [999, 'agent_999'],
    [1000, 'agent_1000'],
  ])('agentIdFor(%i) is %s', (n, id) => {
    expect(agentIdFor(n)).toBe(id);
  });
});

describe('pool lifecycle', () => {
  it('agent.add spawns agent children agent_001, agent_002 with the pool settings', () => {
    const pool = startPool();
    pool.send({ type: 'agent.add', role: 'code' });
    pool.send({ type: 'agent.add', role: 'review' });
    const snapshot = pool.getSnapshot();
    expect(Object.keys(snapshot.children).sort()).toEqual(['agent_001', 'agent_002']);
    expect(snapshot.context.members).toEqual([
      { id: 'agent_001', role: 'code' },
      { id: 'agent_002', role: 'review' },
    ]);
    expect(snapshot.context.nextSeq).toBe(3);
    const second = agent(pool, 'agent_002');
    expect(second.id).toBe('agent_002');
    expect(second.getSnapshot().context).toMatchObject({ id: 'agent_002', role: 'review', maxConcurrentTasks: 2, breakerThreshold: 4, running: [] });
    expect(second.getSnapshot().value).toEqual({ lifecycle: 'idle', breaker: 'closed' });
    second.send({ type: 'task.assign', taskId: 't1' });
    expect(agent(pool, 'agent_002').getSnapshot().value).toMatchObject({ lifecycle: 'busy' });
  });

  it('never spawns more than maxAgents', () => {
    const pool = startPool({ maxAgents: 2 });
    pool.send({ type: 'agent.add', role: 'code' });
    pool.send({ type: 'agent.add', role: 'code' });
    expect(pool.getSnapshot().can({ type: 'agent.add', role: 'code' })).toBe(false);
    pool.send({ type: 'agent.add', role: 'code' });
    expect(Object.keys(pool.getSnapshot().children)).toHaveLength(2);
    expect(pool.getSnapshot().context.members).toHaveLength(2);
    expect(pool.getSnapshot().context.nextSeq).toBe(3);
  });

  it('agent.remove retires and stops the agent, down to minAgents only', () => {
    const pool = startPool({ minAgents: 1 });
    pool.send({ type: 'agent.add', role: 'code' });
    pool.send({ type: 'agent.add', role: 'code' });
    const removed = agent(pool, 'agent_001');
    pool.send({ type: 'agent.remove', agentId: 'agent_001' });
    expect(Object.keys(pool.getSnapshot().children)).toEqual(['agent_002']);
    expect(pool.getSnapshot().context.members.map((m) => m.id)).toEqual(['agent_002']);
    expect(removed.getSnapshot().value).toMatchObject({ lifecycle: 'retired' });
    expect(removed.getSnapshot().status).toBe('stopped');
    const last = { type: 'agent.remove', agentId: 'agent_002' } as const;
    expect(pool.getSnapshot().can(last)).toBe(false);
    pool.send(last);
    expect(Object.keys(pool.getSnapshot().children)).toEqual(['agent_002']);
  });

  it('refuses to remove an agent it does not have, and never reuses an id', () => {
    const pool = startPool({ minAgents: 0 });
    pool.send({ type: 'agent.add', role: 'code' });
    expect(pool.getSnapshot().can({ type: 'agent.remove', agentId: 'agent_009' })).toBe(false);
    pool.send({ type: 'agent.remove', agentId: 'agent_001' });
    expect(pool.getSnapshot().children).toEqual({});
    pool.send({ type: 'agent.add', role: 'code' });
    expect(Object.keys(pool.getSnapshot().children)).toEqual(['agent_002']);
  });

  it('pool.drain stops agent.add and keeps the agents it has', () => {
    const pool = startPool();
    pool.send({ type: 'agent.add', role: 'code' });
    pool.send({ type: 'pool.drain' });
    expect(pool.getSnapshot().value).toBe('draining');
    expect(pool.getSnapshot().can({ type: 'agent.add', role: 'code' })).toBe(false);
    pool.send({ type: 'agent.add', role: 'code' });
    expect(Object.keys(pool.getSnapshot().children)).toEqual(['agent_001']);
    expect(pool.getSnapshot().context.members).toHaveLength(1);
  });
});

describe('pool: persisted snapshot', () => {
  it('a restored pool gets its agent children back, with their context and state', () => {
    const pool = startPool({ maxAgents: 4, breakerThreshold: 1 });
    pool.send({ type: 'agent.add', role: 'code' });
    pool.send({ type: 'agent.add', role: 'review' });
    pool.send({ type: 'agent.add', role: 'ops' });
    pool.send({ type: 'agent.remove', agentId: 'agent_002' });
    const first = agent(pool, 'agent_001');
    first.send({ type: 'task.assign', taskId: 'done-1' });
    first.send({ type: 'task.done', taskId: 'done-1', ok: true, durationMs: 40 });
    first.send({ type: 'task.assign', taskId: 'live-1' });
    const third = agent(pool, 'agent_003');
    third.send({ type: 'task.assign', taskId: 'bad' });
    third.send({ type: 'task.done', taskId: 'bad', ok: false, durationMs: 5 });

    const persisted = structuredClone(pool.getPersistedSnapshot());
    const before = Object.fromEntries(
      Object.entries(agentsOf(pool.getSnapshot())).map(([id, ref]) => [id, { value: ref.getSnapshot().value, context: ref.getSnapshot().context }]),
    );
    pool.stop();

    // `createActor` types `input` as required even when restoring; a restored actor never reads it
    const restored = createActor(poolMachine, { snapshot: persisted } as Parameters<typeof createActor<typeof poolMachine>>[1]).start();
    const snapshot = restored.getSnapshot();
    expect(snapshot.value).toBe('running');
    expect(snapshot.context).toMatchObject({ nextSeq: 4, members: [{ id: 'agent_001', role: 'code' }, { id: 'agent_003', role: 'ops' }] });
    expect(Object.keys(snapshot.children).sort()).toEqual(['agent_001', 'agent_003']);
    for (const [id, expected] of Object.entries(before)) {
      const ref = agent(restored, id);
      expect(ref.getSnapshot().value).toEqual(expected.value);
      expect(ref.getSnapshot().context).toEqual(expected.context);
    }
    expect(agent(restored, 'agent_001').getSnapshot().context).toMatchObject({ running: ['live-1'], performance: { tasksCompleted: 1, totalTaskMs: 40 } });
    expect(agent(restored, 'agent_003').getSnapshot().value).toEqual({ lifecycle: 'idle', breaker: 'open' });

    // the restored children are live actors, and the pool keeps counting ids
    agent(restored, 'agent_001').send({ type: 'task.done', taskId: 'live-1', ok: true, durationMs: 2 });
    expect(agent(restored, 'agent_001').getSnapshot().value).toMatchObject({ lifecycle: 'idle' });
    restored.send({ type: 'agent.add', role: 'code' });
    expect(Object.keys(restored.getSnapshot().children).sort()).toEqual(['agent_001', 'agent_003', 'agent_004']);
    restored.send({ type: 'agent.remove', agentId: 'agent_003' });
    expect(Object.keys(restored.getSnapshot().children).sort()).toEqual(['agent_001', 'agent_004']);
  });
});
