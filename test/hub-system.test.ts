import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, type Hub } from '../src/index.js';
import { scratchDir } from './helpers/cli.js';
import { ok } from './helpers/responses.js';


describe('health and metrics', () => {
  let hub: Hub;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    const scratch = await scratchDir();
    cleanup = scratch.cleanup;
    hub = createHub({ maxThreads: 1, dataDir: scratch.dir });
    await hub.ready;
  });
  afterEach(async () => {
    await hub.close();
    await cleanup();
  });

  it('health reports each component in the protocol shape', async () => {
    const health = ok(await hub.execute({ operation: 'health' }));
    expect(health.status).toBe('healthy');
    // the hub's own components first (core, troupe's version), then the task handlers (see protocol-hello.test.ts)
    const core = health.components.filter((c: { component_type: string }) => c.component_type === 'core');
    expect(core.map((c: { component_id: string }) => c.component_id)).toEqual(['hub', 'task-pool', 'store', 'log', 'task-logs', 'event-hub']);
    expect(health.components.slice(0, core.length)).toEqual(core);
    expect(health.components.slice(core.length).every((c: { component_type: string }) => c.component_type === 'handler')).toBe(true);
    for (const c of core) {
      // the hub, the task pool and the event hub measure their operations; the store, the log and the task logs keep no such figures (null, never a borrowed one)
      const measured = ['hub', 'task-pool', 'event-hub'].includes(c.component_id);
      const figure = measured ? expect.any(Number) : null;
      expect(c).toMatchObject({
        status: 'healthy',
        timestamp: expect.any(String),
        uptime: expect.any(String),
        performance_metrics: { success_rate: figure, error_rate: figure, resource_usage: { memory_mb: expect.any(Number), cpu_percent: expect.any(Number) } },
        active_operations: figure,
        queue_size: c.component_id === 'log' ? expect.any(Number) : figure,
      });
    }
    expect(health.components[0].dependencies).toEqual({ 'task-pool': 'healthy', store: 'healthy', log: 'healthy', 'task-logs': 'healthy', 'event-hub': 'healthy' });
    expect(health.recovery).toMatchObject({ recovered: [], failed: [], log_damage: [] });
  });

  it('metrics reflect what ran: tasks, agents, events, and the command error rate in health', async () => {
    ok(await hub.execute({ operation: 'create', workflow_id: 'wf', parameters: { name: 'm', phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'echo', input: { value: 1 } }, { id: 'b', handler: 'noop' }] }] } }));
    ok(await hub.execute({ operation: 'start', workflow_id: 'wf' }));
    ok(await hub.execute({ operation: 'wait', workflow_id: 'wf' }));
    await hub.execute({ operation: 'strat', workflow_id: 'wf' });
    const metrics = ok(await hub.execute({ operation: 'metrics' }));
    expect(metrics.workflow_efficiency).toMatchObject({ workflows: 1, tasks_completed: 2, tasks_failed: 0, phase_completion_rate: 100 });
    expect(metrics.agent_performance).toMatchObject({ success_rate: 100 });
    expect(metrics.agent_performance.by_agent.reduce((n: number, a: { tasks_completed: number }) => n + a.tasks_completed, 0)).toBe(2);
    expect(metrics.event_throughput.events_published).toBeGreaterThan(5);
    expect(metrics.system_health.memory_usage).toMatch(/^\d+MB$/);
    const hubHealth = ok(await hub.execute({ operation: 'health' })).components[0];
    // five commands before this one (create, start, wait, strat, metrics), one of them an error
    expect(hubHealth.performance_metrics.error_rate).toBe(20);
  });
});

describe('monitor-pool', () => {
  it('lists each agent with role, state, load, success rate, average time and breaker, and the pool figures', async () => {
    const hub = createHub({ maxThreads: 1 });
    try {
      ok(await hub.execute({ operation: 'create', workflow_id: 'wf', parameters: { name: 'm', phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'noop', role: 'code' }, { id: 'b', handler: 'fail', role: 'test', input: { retryable: false } }] }], failure_tolerance: 'high' } }));
      ok(await hub.execute({ operation: 'start', workflow_id: 'wf' }));
      ok(await hub.execute({ operation: 'wait', workflow_id: 'wf' }));
      const { agents, pool } = ok(await hub.execute({ operation: 'monitor-pool' }));
      expect(agents.map((a: { role: string }) => a.role).sort()).toEqual(['code', 'test']);
      const tester = agents.find((a: { role: string }) => a.role === 'test');
      expect(tester).toMatchObject({ state: 'idle', breaker: 'closed', load: 0, success_rate: 0, tasks_failed: 1 });
      expect(agents.find((a: { role: string }) => a.role === 'code')).toMatchObject({ success_rate: 100, tasks_completed: 1 });
      expect(pool).toMatchObject({ agents: 2, busy: 0, max_threads: 1, queue_depth: 0 });
    } finally {
      await hub.close();
    }
  });
});
