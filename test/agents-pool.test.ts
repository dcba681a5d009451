/**
 * The agent pool on its own (real agent actors, a real event bus, the manual
 * clock): ranking, the breaker's cool-down, performance alerts, idle
 * retirement. Then the same behaviour through the hub with real tasks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock, type EventRecord, type Hub, type ManualClock } from '../src/index.js';
import { AgentPool, type PoolSettings } from '../src/runtime/agents/agent-pool.js';
import { rank, type Candidate } from '../src/runtime/agents/agent-ranking.js';
import { EventBus } from '../src/runtime/events/event-bus.js';
import { closeHub, eachTestOwnHub, eventsOf, makeHub, ok, run, settleLoop, statusOf, taskOf, until, untilEvent, waitFor } from './hub-fixtures.js';

const settings: PoolSettings = { breakerCooldownMs: 30_000, idleTimeoutMs: 300_000, alertThreshold: 50 };

function makePool(maxAgents = 5, breakerThreshold = 2, maxConcurrentTasks = 1) {
  const clock = createManualClock(0);
  const bus = new EventBus(clock);
  const events: EventRecord[] = [];
  bus.subscribe((e) => events.push(e));
  const pool = new AgentPool({ minAgents: 0, maxAgents, maxConcurrentTasks, breakerThreshold }, bus, clock, settings);
  const of = (type: string) => events.filter((e) => e.event_type === type);
  return { pool, clock, of };
}

/** Runs one task on the agent to its end. */
const finish = (pool: AgentPool, agentId: string, taskId: string, ok: boolean) => {
  pool.assign(agentId, taskId);
  pool.done(agentId, taskId, ok, 10, ok ? undefined : { code: 'X', message: 'failed' });
};

describe('rank', () => {
  const c = (id: string, load: number, score: number, lastPicked: number): Candidate => ({ id, load, score, lastPicked });

  it('balanced: lower load first, then higher score, then who waited longest', () => {
    expect(rank([c('a', 0.5, 100, 0), c('b', 0, 50, 5)]).map((x) => x.id)).toEqual(['b', 'a']);
    expect(rank([c('a', 0, 60, 0), c('b', 0, 90, 5)]).map((x) => x.id)).toEqual(['b', 'a']);
    expect(rank([c('a', 0, 90, 7), c('b', 0, 90, 3)]).map((x) => x.id)).toEqual(['b', 'a']);
  });

  it('performance_based puts score before load; round_robin looks only at turns', () => {
    const xs = [c('a', 0, 50, 1), c('b', 0.5, 100, 2)];
    expect(rank(xs, 'performance_based').map((x) => x.id)).toEqual(['b', 'a']);
    expect(rank(xs, 'balanced').map((x) => x.id)).toEqual(['a', 'b']);
    expect(rank([c('a', 0, 100, 9), c('b', 0.9, 0, 2)], 'round_robin').map((x) => x.id)).toEqual(['b', 'a']);
  });
});

describe('AgentPool.pick', () => {
  it('matches the role, grows on demand, and turns among equals', () => {
    const { pool } = makePool();
    const a1 = pool.pick('code')!;
    expect(a1).toBe('agent_001');
    pool.ensure('code', 2);
    expect(pool.pick('code')).toBe('agent_002');
    expect(pool.pick('code')).toBe('agent_001');
    expect(pool.pick('docs')).toBe('agent_003');
  });

  it('prefers the better performer, and avoids the agent a task just failed on unless no other is free', () => {
    const { pool } = makePool(5, 10);
    pool.ensure('code', 2);
    finish(pool, 'agent_001', 't1', false);
    finish(pool, 'agent_002', 't2', true);
    expect(pool.pick('code')).toBe('agent_002');
    expect(pool.pick('code', { avoid: 'agent_002' })).toBe('agent_001');
    pool.assign('agent_001', 'busy');
    // the only free agent is the avoided one: it gets the task rather than the pool growing
    expect(pool.pick('code', { avoid: 'agent_002' })).toBe('agent_002');
    expect(pool.views()).toHaveLength(2);
  });

  it('a performance threshold grows the pool before it uses an agent below it', () => {
    const { pool } = makePool(3, 10);
    pool.ensure('code');
    finish(pool, 'agent_001', 't1', false);
    expect(pool.pick('code', { threshold: 80 })).toBe('agent_002');
  });

  it('returns null when every agent of the role is busy and the pool is full', () => {
    const { pool } = makePool(1);
    pool.assign(pool.pick('code')!, 't');
    expect(pool.pick('code')).toBeNull();
    expect(pool.pick('docs')).toBeNull();
  });
});

describe('the circuit breaker', () => {
  it('opens after threshold failures (AGENT_ERROR), half-opens after the cool-down on the clock, closes on a trial success', () => {
    const { pool, clock, of } = makePool(1, 2);
    let freed = 0;
    pool.onCapacity(() => freed++);
    pool.ensure('code');
    finish(pool, 'agent_001', 't1', false);
    expect(pool.view('agent_001')!.breaker).toBe('closed');
    finish(pool, 'agent_001', 't2', false);
    expect(pool.view('agent_001')!.breaker).toBe('open');
    expect(of('AGENT_ERROR')[0]!.data).toMatchObject({ agent_id: 'agent_001', error_type: 'circuit_open', error_details: { consecutive_failures: 2, cooldown: '30s', last_error: { code: 'X' } } });
    expect(pool.pick('code')).toBeNull();

    clock.advance(29_999);
    expect(pool.view('agent_001')!.breaker).toBe('open');
    const before = freed;
    clock.advance(1);
    expect(pool.view('agent_001')!.breaker).toBe('half_open');
    expect(freed).toBe(before + 1);
    expect(pool.pick('code')).toBe('agent_001');
    finish(pool, 'agent_001', 'trial', true);
    expect(pool.view('agent_001')!.breaker).toBe('closed');
  });

  it('a failed trial opens it again, for another cool-down', () => {
    const { pool, clock, of } = makePool(1, 1);
    pool.ensure('code');
    finish(pool, 'agent_001', 't1', false);
    clock.advance(30_000);
    finish(pool, 'agent_001', 'trial', false);
    expect(pool.view('agent_001')!.breaker).toBe('open');
    expect(of('AGENT_ERROR')).toHaveLength(2);
    clock.advance(30_000);
    expect(pool.view('agent_001')!.breaker).toBe('half_open');
  });
});

describe('performance alerts and scaling down', () => {
  it('AGENT_PERFORMANCE_ALERT once when the score falls below the threshold', () => {
    const { pool, of } = makePool(1, 100);
    pool.ensure('code');
    finish(pool, 'agent_001', 't1', true);
    finish(pool, 'agent_001', 't2', false);
    expect(of('AGENT_PERFORMANCE_ALERT')).toHaveLength(0);
    finish(pool, 'agent_001', 't3', false);
    expect(of('AGENT_PERFORMANCE_ALERT').map((e) => e.data)).toEqual([
      expect.objectContaining({ agent_id: 'agent_001', performance_metric: 'performance_score', threshold: 50, current_value: 33.3 }),
    ]);
    finish(pool, 'agent_001', 't4', false);
    expect(of('AGENT_PERFORMANCE_ALERT')).toHaveLength(1);
  });

  it('an idle agent beyond the first of its role retires after the idle timeout; the last one stays', () => {
    const { pool, clock, of } = makePool();
    pool.ensure('code', 2);
    finish(pool, 'agent_001', 't1', true);
    finish(pool, 'agent_002', 't2', true);
    clock.advance(300_000);
    expect(pool.views()).toHaveLength(1);
    expect(of('AGENT_DEALLOCATED').map((e) => e.data.reason)).toEqual(['idle']);
    expect(pool.departed().map((a) => a.state)).toEqual(['retired']);
    clock.advance(3_000_000);
    expect(pool.views()).toHaveLength(1);
  });
});

describe('floors', () => {
  it("idle agents never retire below an unfinished workflow's floor; once it ends, they do", () => {
    const { pool, clock } = makePool();
    pool.ensure('code', 3, 'wf_a');
    for (const [i, id] of ['agent_001', 'agent_002', 'agent_003'].entries()) finish(pool, id, `t${i}`, true);
    clock.advance(3_000_000);
    expect(pool.views()).toHaveLength(3);
    pool.releaseFloor('wf_a');
    clock.advance(300_000);
    expect(pool.views().map((a) => a.agent_id)).toEqual(['agent_003']);
  });

  it('floors of several workflows add up, within the pool maximum', () => {
    const { pool, clock } = makePool(5);
    pool.ensure('code', 2, 'wf_a');
    pool.ensure('code', 2, 'wf_b');
    expect(pool.views()).toHaveLength(2);
    pool.ensure('code', 4, 'wf_c');
    for (const [i, a] of pool.views().entries()) finish(pool, a.agent_id, `t${i}`, true);
    pool.releaseFloor('wf_c');
    clock.advance(300_000);
    expect(pool.views()).toHaveLength(4);
  });
});

describe('through the hub', () => {
  let hub: Hub;
  let clock: ManualClock;
  afterEach(async () => {
    await closeHub(hub, clock);
  });

  it('an open breaker holds the next task back until the cool-down; then the trial task runs and the workflow ends partial', async () => {
    ({ hub, clock } = makeHub({ maxAgentPoolSize: 1, breakerThreshold: 2, breakerCooldown: '30s' }));
    const bad = (id: string) => ({ id, handler: 'fail', input: { retryable: false } });
    await run(hub, 'wf_b', { name: 'b', failure_tolerance: 'high', phases: [{ name: 'p', tasks: [bad('f1'), bad('f2'), { id: 'ok', handler: 'noop' }] }] });
    await until(() => hub.events().some((e) => e.event_type === 'AGENT_ERROR'), 'the breaker to open');
    await settleLoop();
    expect(taskOf(await statusOf(hub, 'wf_b'), 'ok').status).toBe('ready');
    const monitor = (await ok(hub, { operation: 'monitor-pool' })).result as { agents: { breaker: string }[]; pool: { open_breakers: number } };
    expect(monitor.agents[0]!.breaker).toBe('open');
    expect(monitor.pool.open_breakers).toBe(1);
    clock.advance(30_000);
    expect((await waitFor(hub, 'wf_b')).status).toBe('partial');
    const after = (await ok(hub, { operation: 'monitor-pool' })).result as { agents: { breaker: string }[] };
    expect(after.agents[0]!.breaker).toBe('closed');
  });

  it('workflows waiting for a full pool are each dispatched as agents free up, and all complete', async () => {
    ({ hub, clock } = makeHub({ maxAgentPoolSize: 2 }));
    const ids = Array.from({ length: 6 }, (_, i) => `wf_q${i}`);
    for (const id of ids) await run(hub, id, { name: id, phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'echo', input: { value: id } }, { id: 'b', handler: 'noop' }] }] });
    for (const id of ids) expect((await waitFor(hub, id)).status).toBe('completed');
    const pool = (await ok(hub, { operation: 'monitor-pool' })).result as { agents: unknown[] };
    expect(pool.agents).toHaveLength(2);
  });

  it('a flaky task succeeds on its third attempt after backoffs of 750 ms and 1.5 s, each retry on another free agent', async () => {
    ({ hub, clock } = makeHub());
    await ok(hub, { operation: 'create', workflow_id: 'wf_f', parameters: { name: 'f', phases: [{ name: 'p', tasks: [{ id: 'flaky', handler: 'fail', input: { times: 2 }, retries: 3 }] }] } });
    await ok(hub, { operation: 'assign-agents', workflow_id: 'wf_f', parameters: { agent_count: 2 } });
    await ok(hub, { operation: 'start', workflow_id: 'wf_f' });
    const retryAt = async (attempt: number) => {
      await until(() => eventsOf(hub, 'wf_f', 'TASK_FAILED', 'flaky').length === attempt, `failure ${attempt}`);
      return Date.parse(taskOf(await statusOf(hub, 'wf_f'), 'flaky').retry_at!) - clock.now();
    };
    // random 0.5: base 1 s x 2^(n-1), scaled by 0.75
    expect(await retryAt(1)).toBe(750);
    clock.advance(750);
    expect(await retryAt(2)).toBe(1_500);
    clock.advance(1_499);
    await settleLoop();
    expect(eventsOf(hub, 'wf_f', 'TASK_ASSIGNED', 'flaky')).toHaveLength(2);
    clock.advance(1);
    expect((await waitFor(hub, 'wf_f')).status).toBe('completed');
    expect(eventsOf(hub, 'wf_f', 'TASK_ASSIGNED', 'flaky').map((e) => e.data.agent_id)).toEqual(['agent_001', 'agent_002', 'agent_001']);
    expect(eventsOf(hub, 'wf_f', 'TASK_REASSIGNED', 'flaky').map((e) => [e.data.old_agent, e.data.new_agent, e.data.reason])).toEqual([
      ['agent_001', 'agent_002', 'retry after TASK_FAILED_ON_PURPOSE'],
      ['agent_002', 'agent_001', 'retry after TASK_FAILED_ON_PURPOSE'],
    ]);
    expect(taskOf(await statusOf(hub, 'wf_f'), 'flaky')).toMatchObject({ status: 'completed', attempts: 3 });
  });
});

describe('assign-agents and redistribute-tasks', () => {
  let hub: Hub;
  let clock: ManualClock;
  eachTestOwnHub((made) => ({ hub, clock } = made), { maxAgentPoolSize: 4 });

  it('assign-agents spreads agent_count over the roles, up to the pool maximum, and says what fell short', async () => {
    await ok(hub, { operation: 'create', workflow_id: 'wf_a', parameters: { name: 'a', phases: [{ name: 'p', tasks: [{ id: 't', handler: 'noop', role: 'code' }] }] } });
    const response = await ok(hub, { operation: 'assign-agents', workflow_id: 'wf_a', parameters: { agent_count: 5, specializations: ['code', 'test'], performance_threshold: 80 } });
    const result = response.result as { assigned: number; shortfall: number; agents: { role: string; meets_threshold: boolean }[]; performance_threshold: number };
    expect(result).toMatchObject({ assigned: 4, shortfall: 1, performance_threshold: 80 });
    expect(result.agents.map((a) => a.role)).toEqual(['code', 'code', 'test', 'test']);
    expect(response.next_steps[0]).toContain('max_agent_pool_size 4');
    expect(eventsOf(hub, 'wf_a', 'AGENT_ALLOCATED')).toHaveLength(0);
    expect(hub.events().filter((e) => e.event_type === 'AGENT_ALLOCATED').map((e) => e.data.workflow_id)).toEqual(['wf_a', 'wf_a', 'wf_a', 'wf_a']);
  });

  it('redistribute-tasks takes the agent out and moves its running task to another agent', async () => {
    await run(hub, 'wf_r', { name: 'r', phases: [{ name: 'p', tasks: [{ id: 'long', handler: 'sleep', input: { ms: 60_000 } }] }] });
    await untilEvent(hub, 'wf_r', 'TASK_STARTED', 'long');
    const response = await ok(hub, { operation: 'redistribute-tasks', workflow_id: 'wf_r', parameters: { failed_agent: 'agent_001', strategy: 'round_robin' } });
    const result = response.result as { redistribution_strategy: { method: string; new_assignments: unknown[] }; failed_agent: { state: string } };
    expect(result.redistribution_strategy).toMatchObject({ method: 'round_robin', new_assignments: [{ workflow_id: 'wf_r', task_id: 'long', target_agent: 'agent_002', reason: 'next_in_turn' }] });
    expect(result.failed_agent.state).toBe('failed');
    expect(eventsOf(hub, 'wf_r', 'TASK_REASSIGNED')[0]!.data).toMatchObject({ old_agent: 'agent_001', new_agent: 'agent_002', reason: expect.stringContaining('redistribute-tasks') });
    const task = taskOf(await statusOf(hub, 'wf_r'), 'long');
    expect(task).toMatchObject({ status: expect.stringMatching(/assigned|running/), assigned_agent: 'agent_002', attempts: 1 });
    const again = await hub.execute({ operation: 'redistribute-tasks', workflow_id: 'wf_r', parameters: { failed_agent: 'agent_001' } });
    expect(again).toMatchObject({ status: 'error', error: { code: 'AGENT_NOT_FOUND', details: 'It left the pool as failed' } });
    await ok(hub, { operation: 'cancel', workflow_id: 'wf_r' });
  });
});
