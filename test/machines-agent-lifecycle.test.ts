/**
 * The agent machine: lifecycle (`idle`, `busy`, `unresponsive`, `failed`,
 * `retired`), its performance record, and the circuit breaker beside it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createActor, type AnyStateNode, type AnyTransitionDefinition, type SnapshotFrom } from 'xstate';
import { createTestModel, type TestParam } from 'xstate/graph';
import { acceptsNewTask, agentMachine, type AgentEvent, type AgentInput } from '../src/machines/agent-machine.js';

const input = (overrides: Partial<AgentInput> = {}): AgentInput => ({
  id: 'agent_001',
  role: 'code',
  maxConcurrentTasks: 2,
  breakerThreshold: 3,
  ...overrides,
});
const startAgent = (overrides: Partial<AgentInput> = {}) => createActor(agentMachine, { input: input(overrides) }).start();
type AgentActor = ReturnType<typeof startAgent>;

const assign = (taskId: string): AgentEvent => ({ type: 'task.assign', taskId });
const done = (taskId: string, ok: boolean, durationMs = 10): AgentEvent => ({ type: 'task.done', taskId, ok, durationMs });
const value = (actor: AgentActor) => actor.getSnapshot().value;
function runTask(actor: AgentActor, taskId: string, ok: boolean, durationMs = 10) {
  actor.send(assign(taskId));
  actor.send(done(taskId, ok, durationMs));
}

describe('agent lifecycle', () => {
  it('goes idle -> busy -> idle and never runs more than maxConcurrentTasks', () => {
    const actor = startAgent({ maxConcurrentTasks: 2 });
    expect(value(actor)).toEqual({ lifecycle: 'idle', breaker: 'closed' });
    actor.send(assign('t1'));
    expect(value(actor)).toEqual({ lifecycle: 'busy', breaker: 'closed' });
    actor.send(assign('t2'));
    expect(actor.getSnapshot().context.running).toEqual(['t1', 't2']);
    expect(actor.getSnapshot().can(assign('t3'))).toBe(false);
    actor.send(assign('t3'));
    expect(actor.getSnapshot().context.running).toEqual(['t1', 't2']);
    actor.send(done('t1', true));
    expect(value(actor)).toMatchObject({ lifecycle: 'busy' });
    expect(actor.getSnapshot().can(assign('t3'))).toBe(true);
    actor.send(done('t2', true));
    expect(value(actor)).toMatchObject({ lifecycle: 'idle' });
    expect(actor.getSnapshot().context.running).toEqual([]);
  });

  it('ignores task.done for a task it does not run while busy', () => {
    const actor = startAgent();
    actor.send(assign('t1'));
    const before = actor.getSnapshot().context;
    actor.send(done('other', true));
    expect(actor.getSnapshot().context).toEqual(before);
    expect(value(actor)).toMatchObject({ lifecycle: 'busy' });
  });

  it('keeps a performance record, with at most the 20 most recent scores', () => {
    const actor = startAgent({ maxConcurrentTasks: 1, breakerThreshold: 100 });
    const outcomes = Array.from({ length: 25 }, (_, i) => i % 3 !== 2); // ok, ok, fail, ...
    outcomes.forEach((ok, i) => runTask(actor, `t${i}`, ok, i + 1));
    const { performance } = actor.getSnapshot().context;
    expect(performance.tasksCompleted).toBe(outcomes.filter(Boolean).length);
    expect(performance.tasksFailed).toBe(outcomes.filter((ok) => !ok).length);
    expect(performance.totalTaskMs).toBe((25 * 26) / 2);
    expect(performance.recentScores).toEqual(outcomes.slice(-20).map((ok) => (ok ? 100 : 0)));
  });

  it.each([
    { from: 'idle', tasks: [] as string[] },
    { from: 'busy', tasks: ['t1'] },
  ])('a missed heartbeat makes a $from agent unresponsive; a heartbeat brings it back', ({ from, tasks }) => {
    const actor = startAgent();
    tasks.forEach((t) => actor.send(assign(t)));
    actor.send({ type: 'heartbeat.missed' });
    expect(value(actor)).toMatchObject({ lifecycle: 'unresponsive' });
    expect(actor.getSnapshot().can(assign('new'))).toBe(false);
    actor.send({ type: 'heartbeat' });
    expect(value(actor)).toMatchObject({ lifecycle: from });
  });

  it('records a task that ends while unresponsive and comes back idle', () => {
    const actor = startAgent();
    actor.send(assign('t1'));
    actor.send({ type: 'heartbeat.missed' });
    actor.send(done('t1', true, 30));
    expect(actor.getSnapshot().context).toMatchObject({ running: [], performance: { tasksCompleted: 1, totalTaskMs: 30 } });
    expect(value(actor)).toMatchObject({ lifecycle: 'unresponsive' });
    actor.send({ type: 'heartbeat' });
    expect(value(actor)).toMatchObject({ lifecycle: 'idle' });
  });

  it.each(['idle', 'busy', 'unresponsive'] as const)('agent.fail from %s: failed, never gets work again', (from) => {
    const actor = startAgent();
    if (from !== 'idle') actor.send(assign('t1'));
    if (from === 'unresponsive') actor.send({ type: 'heartbeat.missed' });
    actor.send({ type: 'agent.fail' });
    expect(value(actor)).toMatchObject({ lifecycle: 'failed' });
    for (const event of [assign('t2'), { type: 'heartbeat' } as const, { type: 'heartbeat.missed' } as const]) {
      expect(actor.getSnapshot().can(event)).toBe(false);
    }
  });

  it('agent.retire: retired is a final lifecycle state that takes no work', () => {
    const actor = startAgent();
    actor.send(assign('t1'));
    actor.send({ type: 'agent.retire' });
    const snapshot = actor.getSnapshot();
    expect(snapshot.value).toMatchObject({ lifecycle: 'retired' });
    expect(agentMachine.getStateNodeById('agent.lifecycle.retired').type).toBe('final');
    expect(snapshot.can(assign('t2'))).toBe(false);
    expect(snapshot.can({ type: 'heartbeat.missed' })).toBe(false);
  });
});

describe('agent circuit breaker', () => {
  it('opens after breakerThreshold consecutive failures; a success in between resets the count', () => {
    const actor = startAgent({ maxConcurrentTasks: 1, breakerThreshold: 3 });
    runTask(actor, 'a', false);
    runTask(actor, 'b', false);
    runTask(actor, 'c', true);
    expect(actor.getSnapshot().context.consecutiveFailures).toBe(0);
    runTask(actor, 'd', false);
    runTask(actor, 'e', false);
    expect(value(actor)).toEqual({ lifecycle: 'idle', breaker: 'closed' });
    runTask(actor, 'f', false);
    expect(value(actor)).toEqual({ lifecycle: 'idle', breaker: 'open' });
    expect(actor.getSnapshot().context.consecutiveFailures).toBe(3);
  });

  const opened = (maxConcurrentTasks = 3) => {
    const actor = startAgent({ maxConcurrentTasks, breakerThreshold: 2 });
    runTask(actor, 'a', false);
    runTask(actor, 'b', false);
    expect(value(actor)).toEqual({ lifecycle: 'idle', breaker: 'open' });
    return actor;
  };

  it('rejects task.assign while open, and breaker.cooldown only applies when open', () => {
    const actor = opened();
    expect(actor.getSnapshot().can(assign('t'))).toBe(false);
    actor.send(assign('t'));
    expect(value(actor)).toEqual({ lifecycle: 'idle', breaker: 'open' });
    expect(actor.getSnapshot().context.running).toEqual([]);
    const closed = startAgent();
    expect(closed.getSnapshot().can({ type: 'breaker.cooldown' })).toBe(false);
  });

  it('half open allows exactly one trial task; its success closes the breaker', () => {
    const actor = opened(3);
    actor.send({ type: 'breaker.cooldown' });
    expect(value(actor)).toMatchObject({ breaker: 'half_open' });
    expect(actor.getSnapshot().can({ type: 'breaker.cooldown' })).toBe(false);
    actor.send(assign('trial'));
    expect(actor.getSnapshot().can(assign('second'))).toBe(false);
    actor.send(assign('second'));
    expect(actor.getSnapshot().context.running).toEqual(['trial']);
    actor.send(done('trial', true));
    expect(value(actor)).toEqual({ lifecycle: 'idle', breaker: 'closed' });
    expect(actor.getSnapshot().context.consecutiveFailures).toBe(0);
    actor.send(assign('x'));
    actor.send(assign('y'));
    expect(actor.getSnapshot().context.running).toEqual(['x', 'y']);
  });

  it('a failed trial opens the breaker again', () => {
    const actor = opened();
    actor.send({ type: 'breaker.cooldown' });
    runTask(actor, 'trial', false);
    expect(value(actor)).toEqual({ lifecycle: 'idle', breaker: 'open' });
    expect(actor.getSnapshot().can(assign('t'))).toBe(false);
    expect(actor.getSnapshot().context.performance.tasksFailed).toBe(3);
  });
});

describe('agent machine, model-based (shortest paths)', () => {
  type Snapshot = SnapshotFrom<typeof agentMachine>;
  const EVENTS: AgentEvent[] = [
    assign('t1'),
    assign('t2'),
    done('t1', true, 5),
    done('t1', false, 7),
    done('t2', true, 11),
    done('t2', false, 13),
    { type: 'heartbeat.missed' },
    { type: 'heartbeat' },
    { type: 'agent.fail' },
    { type: 'agent.retire' },
    { type: 'breaker.cooldown' },
  ];
  const model = createTestModel(agentMachine, {
    input: input({ maxConcurrentTasks: 2, breakerThreshold: 2 }),
    events: EVENTS,
    // the scheduler's side of the protocol: never assigns a task twice, only reports tasks the agent runs
    filterEvents: (state: Snapshot, event: AgentEvent) =>
      state.can(event) &&
      !(event.type === 'task.assign' && state.context.running.includes(event.taskId)) &&
      !(event.type === 'task.done' && !state.context.running.includes(event.taskId)),
    // the performance record grows without bound: states differ by what decides behaviour only, and
    // by the transition that reached them, so that shortest paths take every transition, not just reach every state
    serializeState: (state: Snapshot, event: AgentEvent | undefined, previous?: Snapshot) =>
      JSON.stringify([
        state.value,
        [...state.context.running].sort(),
        Math.min(state.context.consecutiveFailures, 2),
        event?.type ?? null,
        previous?.value ?? null,
      ]),
  });

  it('reaches every lifecycle and breaker state, takes every transition, and real actors follow every path', async () => {
    const paths = model.getShortestPaths();
    expect(paths.length).toBeGreaterThan(20);
    const reached = new Set<string>();
    const taken = new Set<AnyTransitionDefinition>();
    for (const path of paths) {
      const actor = createActor(agentMachine, {
        input: input({ maxConcurrentTasks: 2, breakerThreshold: 2 }),
        inspect: (ev) => {
          if (ev.type === '@xstate.microstep') ev._transitions.forEach((t) => taken.add(t));
        },
      }).start();
      await path.test({
        events: Object.fromEntries(EVENTS.map((e) => [e.type, ({ event }: { event: AgentEvent }) => actor.send(event)])),
        states: {
          '*': (state: Snapshot) => {
            const real = actor.getSnapshot();
            expect(real.value).toEqual(state.value);
            // states are told apart by the set of running tasks, not their order
            expect([...real.context.running].sort()).toEqual([...state.context.running].sort());
            expect(real.context.running.length).toBeLessThanOrEqual(2);
            if (real.matches({ lifecycle: 'idle' })) expect(real.context.running).toEqual([]);
            if (real.matches({ lifecycle: 'busy' })) expect(real.context.running.length).toBeGreaterThan(0);
            const { lifecycle, breaker } = real.value as { lifecycle: string; breaker: string };
            reached.add(`lifecycle.${lifecycle}`).add(`breaker.${breaker}`);
          },
        },
      } as unknown as TestParam<Snapshot, AgentEvent>);
    }
    expect([...reached].sort()).toEqual(
      ['idle', 'busy', 'unresponsive', 'failed', 'retired'].map((s) => `lifecycle.${s}`)
        .concat(['closed', 'open', 'half_open'].map((s) => `breaker.${s}`))
        .sort(),
    );
    const declared = (node: AnyStateNode): string[] => [
      ...[...node.transitions.values()].flat().filter((t) => !taken.has(t)).map((t) => `${node.id} on ${t.eventType}`),
      ...Object.values(node.states).flatMap(declared),
    ];
    expect(declared(agentMachine.root)).toEqual([]);
  });
});

describe('regressions found by the model-based tests', () => {
  it('a report of a task the agent does not run never moves the breaker', () => {
    const a = startAgent({ breakerThreshold: 1 });
    a.send(done('ghost', false));
    expect(value(a)).toEqual({ lifecycle: 'idle', breaker: 'closed' });
  });

  it('a retired agent stays retired', () => {
    const a = startAgent();
    a.send({ type: 'agent.retire' });
    a.send({ type: 'agent.fail' });
    expect(value(a)).toMatchObject({ lifecycle: 'retired' });
  });

  it('assigning a task the agent already runs is refused', () => {
    const a = startAgent({ maxConcurrentTasks: 2 });
    a.send(assign('t1'));
    expect(a.getSnapshot().can(assign('t1'))).toBe(false);
    a.send(assign('t1'));
    a.send(done('t1', true));
    expect(value(a)).toMatchObject({ lifecycle: 'idle' });
    expect(a.getSnapshot().context.running).toEqual([]);
  });

  it('half open is decided by the trial task, not by one that started before the breaker opened', () => {
    const a = startAgent({ breakerThreshold: 2, maxConcurrentTasks: 2 });
    runTask(a, 'a', false);
    a.send(assign('b'));
    a.send(assign('c'));
    a.send(done('c', false));
    expect(value(a)).toMatchObject({ breaker: 'open' });
    a.send({ type: 'breaker.cooldown' });
    a.send(done('b', true));
    expect(value(a)).toMatchObject({ breaker: 'half_open' });
    a.send(assign('trial'));
    expect(a.getSnapshot().can(assign('second'))).toBe(false);
    a.send(done('trial', true));
    expect(value(a)).toMatchObject({ breaker: 'closed' });
  });

  it('an unresponsive agent whose breaker is half open takes no trial task (found by the property below)', () => {
    const a = startAgent({ breakerThreshold: 2, maxConcurrentTasks: 2 });
    a.send(assign('b'));
    a.send(assign('a'));
    a.send(done('b', false, 5));
    a.send(done('a', false, 5));
    a.send({ type: 'heartbeat.missed' });
    a.send({ type: 'breaker.cooldown' });
    expect(value(a)).toMatchObject({ lifecycle: 'unresponsive', breaker: 'half_open' });
    expect(a.getSnapshot().can(assign('trial'))).toBe(false);
    a.send(assign('trial'));
    expect(a.getSnapshot().context.trialTaskId).toBeNull();
  });
});

describe('acceptsNewTask', () => {
  it('agrees with snapshot.can(task.assign) in every state random event sequences reach', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constantFrom<AgentEvent>({ type: 'heartbeat.missed' }, { type: 'heartbeat' }, { type: 'agent.fail' }, { type: 'agent.retire' }, { type: 'breaker.cooldown' }),
            fc.record({ type: fc.constant('task.assign' as const), taskId: fc.constantFrom('a', 'b', 'c') }),
            fc.record({ type: fc.constant('task.done' as const), taskId: fc.constantFrom('a', 'b', 'c'), ok: fc.boolean(), durationMs: fc.constant(5) }),
          ),
          { maxLength: 40 },
        ),
        fc.integer({ min: 1, max: 3 }),
        (events, maxConcurrentTasks) => {
          const actor = startAgent({ maxConcurrentTasks, breakerThreshold: 2 });
          for (const event of events) {
            actor.send(event);
            const snapshot = actor.getSnapshot();
            expect(acceptsNewTask(snapshot)).toBe(snapshot.can({ type: 'task.assign', taskId: 'new' }));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
