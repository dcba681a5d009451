/**
 * `max_concurrent_tasks`: an agent holds up to N tasks at once on the real
 * Piscina pool, monitor-pool shows its load against N, and when it goes
 * silent every task it holds moves to another agent. The missed-heartbeat
 * limit runs on the manual clock (10 s x 3), so no test waits for it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, type Hub, type ManualClock } from '../src/index.js';
import { EVENT_DATA } from '../src/runtime/events/event-registry.js';
import { eventsOf, makeHub, ok, run, statusOf, taskOf, until, waitFor } from './hub-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const handlers = { pulse: './fixtures/handlers/faulty.mjs#pulse', hangsOnce: './fixtures/handlers/faulty.mjs#hangsOnce' };

let hub: Hub;
let clock: ManualClock;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'troupe-concurrency-'));
});

afterEach(async () => {
  await hub?.close();
  await rm(dir, { recursive: true, force: true });
});

interface AgentRow {
  agent_id: string;
  role: string;
  load: number;
  max_concurrent_tasks: number;
  utilization: number;
  current_tasks: string[];
}

const monitor = async () => (await ok(hub, { operation: 'monitor-pool' })).result as { agents: AgentRow[]; pool: { running_tasks: number; task_slots: { used: number; total: number }; agent_utilization: number } };

describe('max_concurrent_tasks', () => {
  it('an agent with 3 runs 3 tasks at once; when it misses its heartbeats all 3 move to another agent and complete', async () => {
    ({ hub, clock } = makeHub({ maxThreads: 3, maxConcurrentTasks: 3, maxAgentPoolSize: 2, handlers, handlersBaseDir: here, heartbeatInterval: '10s', missedHeartbeats: 3 }));
    await run(hub, 'wf_c', {
      name: 'c',
      phases: [
        {
          name: 'work',
          tasks: [
            { id: 'p1', handler: 'pulse', input: { steps: 1, dir } },
            { id: 'p2', handler: 'pulse', input: { steps: 1, dir } },
            { id: 'h', handler: 'hangsOnce', input: { dir } },
          ],
        },
      ],
    });
    await until(() => eventsOf(hub, 'wf_c', 'TASK_STARTED').length === 3, 'three tasks to start', 20_000);
    // one agent holds all three, each on its own thread
    expect(eventsOf(hub, 'wf_c', 'TASK_STARTED').map((e) => e.data.agent_id)).toEqual(['agent_001', 'agent_001', 'agent_001']);
    const busy = await monitor();
    expect(busy.agents).toEqual([expect.objectContaining({ agent_id: 'agent_001', load: 3, max_concurrent_tasks: 3, utilization: 100 })]);
    expect(busy.agents[0]!.current_tasks.sort()).toEqual(['h', 'p1', 'p2']);
    // 3 of 6 slots: agent_001's, and those of the one more agent the pool may add
    expect(busy.pool).toMatchObject({ running_tasks: 3, task_slots: { used: 3, total: 6 }, agent_utilization: 50 });

    // the pulse tasks beat at 20 s; the hanging one stays silent, so at 30 s the agent is unresponsive
    clock.advance(20_000);
    await writeFile(join(dir, 'go-1'), '');
    await until(() => eventsOf(hub, 'wf_c', 'PHASE_PROGRESS').length === 2, 'both pulse tasks to beat');
    clock.advance(10_000);
    await until(() => eventsOf(hub, 'wf_c', 'TASK_REASSIGNED').length === 3, 'all three tasks to move', 20_000);
    const moves = eventsOf(hub, 'wf_c', 'TASK_REASSIGNED').map((e) => [e.data.task_id, e.data.old_agent, e.data.new_agent]);
    expect(moves.sort()).toEqual([
      ['h', 'agent_001', 'agent_002'],
      ['p1', 'agent_001', 'agent_002'],
      ['p2', 'agent_001', 'agent_002'],
    ]);
    expect(hub.events().filter((e) => e.event_type === 'AGENT_TIMEOUT').map((e) => e.data.agent_id)).toEqual(['agent_001']);

    await writeFile(join(dir, 'go-end'), '');
    expect((await waitFor(hub, 'wf_c')).status).toBe('completed');
    const state = await statusOf(hub, 'wf_c');
    for (const id of ['p1', 'p2', 'h']) expect(taskOf(state, id)).toMatchObject({ status: 'completed', assigned_agent: 'agent_002', attempts: 1 });
    expect(taskOf(state, 'h').output).toEqual({ ran: 'again' });
    for (const e of hub.events()) expect(EVENT_DATA[e.event_type].safeParse(e.data).success, e.event_type).toBe(true);
  }, 60_000);

  it('is set per role; a role not named takes max_concurrent_tasks', async () => {
    ({ hub, clock } = makeHub({ maxConcurrentTasks: 2, maxConcurrentTasksByRole: { test: 4 } }));
    await run(hub, 'wf_r', { name: 'r', phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'noop', role: 'code' }, { id: 'b', handler: 'noop', role: 'test' }] }] });
    await waitFor(hub, 'wf_r');
    const byRole = Object.fromEntries((await monitor()).agents.map((a) => [a.role, a.max_concurrent_tasks]));
    expect(byRole).toEqual({ code: 2, test: 4 });
  });

  it('refuses a value that is no whole number from 1 to 1000', () => {
    expect(() => createHub({ maxConcurrentTasks: 0 })).toThrow(/maxConcurrentTasks must be a whole number from 1 to 1000, got 0/);
    expect(() => createHub({ maxConcurrentTasksByRole: { test: 1.5 } })).toThrow(/maxConcurrentTasksByRole.test must be a whole number/);
  });
});
