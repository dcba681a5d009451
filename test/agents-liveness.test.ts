/**
 * Agent liveness and reassignment through the hub, on the real Piscina pool
 * with fixture handlers and file handshakes; the missed-heartbeat limit runs
 * on the manual clock (10 s x 3 here), so no test waits for it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Hub, ManualClock } from '../src/index.js';
import { EVENT_DATA } from '../src/runtime/events/event-registry.js';
import { MAX_REASSIGNMENTS } from '../src/runtime/scheduling/flight-watch.js';
import { eachTestOwnHub, eventsOf, ok, run, settleLoop, statusOf, taskOf, until, untilEvent, waitFor } from './hub-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const handlers = {
  pulse: './fixtures/handlers/faulty.mjs#pulse',
  hangsOnce: './fixtures/handlers/faulty.mjs#hangsOnce',
  hangs: './fixtures/handlers/faulty.mjs#waitsForAbort',
  exitsOnce: './fixtures/handlers/faulty.mjs#exitsOnce',
};

let hub: Hub;
let clock: ManualClock;
let dir: string;

eachTestOwnHub((made) => ({ hub, clock } = made), { handlers, handlersBaseDir: here, heartbeatInterval: '10s', missedHeartbeats: 3 });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'troupe-liveness-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const oneTask = (handler: string, input: unknown, extra: Record<string, unknown> = {}) => ({
  name: 'live',
  failure_tolerance: 'low' as const,
  phases: [{ name: 'work', tasks: [{ id: 't', handler, input, ...extra }] }],
});

const countOf = (workflowId: string, type: string) => eventsOf(hub, workflowId, type).length;
const global = (type: string) => hub.events().filter((e) => e.event_type === type);

describe('heartbeats', () => {
  it('a task that keeps beating is never declared unresponsive, and its progress is published', async () => {
    await run(hub, 'wf_beat', oneTask('pulse', { steps: 3, dir }));
    await writeFile(join(dir, 'go-1'), '');
    await until(() => countOf('wf_beat', 'PHASE_PROGRESS') === 1, 'step 1');
    // 25 s of silence, then a beat, then 25 s more: 50 s in all, never 30 s without a sign of life
    clock.advance(25_000);
    await writeFile(join(dir, 'go-2'), '');
    await until(() => countOf('wf_beat', 'PHASE_PROGRESS') === 2, 'step 2');
    clock.advance(25_000);
    await settleLoop();
    expect(global('AGENT_TIMEOUT')).toEqual([]);
    await writeFile(join(dir, 'go-3'), '');
    await until(() => countOf('wf_beat', 'PHASE_PROGRESS') === 3, 'step 3');
    await writeFile(join(dir, 'go-end'), '');
    expect((await waitFor(hub, 'wf_beat')).status).toBe('completed');
    const progress = eventsOf(hub, 'wf_beat', 'PHASE_PROGRESS');
    expect(progress.map((e) => e.data.task_progress)).toEqual([{ step: 1 }, { step: 2 }, { step: 3 }]);
    expect(progress[0]!.data).toMatchObject({ phase_id: 1, task_id: 't', agent_id: 'agent_001' });
  });

  it('a silent task: after interval x missed its agent is unresponsive, and the task moves to another agent and completes', async () => {
    await run(hub, 'wf_silent', oneTask('hangsOnce', { dir }));
    await untilEvent(hub, 'wf_silent', 'TASK_STARTED', 't');
    clock.advance(29_999);
    await settleLoop();
    expect(global('AGENT_TIMEOUT')).toEqual([]);
    clock.advance(1);
    expect((await waitFor(hub, 'wf_silent')).status).toBe('completed');

    const [timeout] = global('AGENT_TIMEOUT');
    expect(timeout!.data).toMatchObject({ agent_id: 'agent_001', timeout_duration: '30s' });
    const [moved] = eventsOf(hub, 'wf_silent', 'TASK_REASSIGNED');
    expect(moved!.data).toMatchObject({ task_id: 't', old_agent: 'agent_001', new_agent: 'agent_002', reason: expect.stringContaining('missed 3 heartbeats') });
    const task = taskOf(await statusOf(hub, 'wf_silent'), 't');
    // a move is not a failed attempt: the same attempt ran again elsewhere
    expect(task).toMatchObject({ status: 'completed', assigned_agent: 'agent_002', attempts: 1, output: { ran: 'again' } });
    // the silent agent left the pool, and stays visible
    await until(() => global('AGENT_DEALLOCATED').length === 1, 'agent_001 deallocated');
    expect(global('AGENT_DEALLOCATED')[0]!.data).toMatchObject({ agent_id: 'agent_001', reason: expect.stringContaining('unresponsive') });
    const pool = (await ok(hub, { operation: 'monitor-pool' })).result as { agents: { agent_id: string }[] };
    expect(pool.agents.map((a) => a.agent_id)).toEqual(['agent_002']);
    for (const e of hub.events()) expect(EVENT_DATA[e.event_type].safeParse(e.data).success, e.event_type).toBe(true);
  });

  it(`a task that hangs on every agent is moved ${MAX_REASSIGNMENTS} times, then its silence is a failed attempt`, async () => {
    await run(hub, 'wf_hang', oneTask('hangs', {}));
    for (let n = 1; n <= MAX_REASSIGNMENTS + 1; n++) {
      await until(() => countOf('wf_hang', 'TASK_STARTED') === n, `start ${n}`);
      clock.advance(30_000);
      await until(() => global('AGENT_TIMEOUT').length === n, `timeout ${n}`);
    }
    const result = await waitFor(hub, 'wf_hang');
    expect(result.status).toBe('failed');
    expect(eventsOf(hub, 'wf_hang', 'TASK_REASSIGNED').map((e) => [e.data.old_agent, e.data.new_agent])).toEqual([
      ['agent_001', 'agent_002'],
      ['agent_002', 'agent_003'],
    ]);
    expect(taskOf(await statusOf(hub, 'wf_hang'), 't').error).toMatchObject({ code: 'AGENT_UNAVAILABLE', retryable: true });
  });
});

describe('a workflow whose agents crash, hang and fail', () => {
  it('still completes, and every task\'s fate is in get-status and in the events', async () => {
    await run(hub, 'wf_rough', {
      name: 'rough',
      phases: [
        {
          name: 'build',
          tasks: [
            { id: 'crash', handler: 'exitsOnce', input: { dir }, retries: 1 },
            { id: 'hang', handler: 'hangsOnce', input: { dir } },
            { id: 'flaky', handler: 'fail', input: { times: 1 }, retries: 1 },
            { id: 'plain', handler: 'echo', input: { value: 1 } },
          ],
        },
        { name: 'ship', tasks: [{ id: 'ship', handler: 'echo', input: { value: 'shipped' }, depends_on: ['crash', 'hang', 'flaky', 'plain'] }] },
      ],
    });
    // time moves only once the real work it waits for has happened (threads boot in real time)
    const failed = (id: string) => until(() => eventsOf(hub, 'wf_rough', 'TASK_FAILED', id).length === 1, `${id} to fail`);
    await Promise.all([failed('crash'), failed('flaky'), untilEvent(hub, 'wf_rough', 'TASK_STARTED', 'hang'), untilEvent(hub, 'wf_rough', 'TASK_COMPLETED', 'plain')]);
    clock.advance(750);
    await Promise.all([untilEvent(hub, 'wf_rough', 'TASK_COMPLETED', 'crash'), untilEvent(hub, 'wf_rough', 'TASK_COMPLETED', 'flaky')]);
    clock.advance(30_000);
    expect((await waitFor(hub, 'wf_rough')).status).toBe('completed');
    const state = await statusOf(hub, 'wf_rough');
    expect(taskOf(state, 'crash')).toMatchObject({ status: 'completed', attempts: 2, output: { attempt: 2 } });
    expect(taskOf(state, 'hang')).toMatchObject({ status: 'completed', attempts: 1, output: { ran: 'again' } });
    expect(taskOf(state, 'flaky')).toMatchObject({ status: 'completed', attempts: 2 });
    expect(taskOf(state, 'ship').output).toBe('shipped');
    expect(eventsOf(hub, 'wf_rough', 'TASK_FAILED').map((e) => [e.data.task_id, (e.data.error as { code: string }).code]).sort()).toEqual([
      ['crash', 'WORKER_CRASHED'],
      ['flaky', 'TASK_FAILED_ON_PURPOSE'],
    ]);
    expect(eventsOf(hub, 'wf_rough', 'TASK_REASSIGNED').map((e) => e.data.task_id)).toContain('hang');
    expect(global('AGENT_TIMEOUT')).toHaveLength(1);
    expect(global('AGENT_ERROR').map((e) => e.data)).toEqual([expect.objectContaining({ error_type: 'worker_crashed', error_details: expect.objectContaining({ task_id: 'crash' }) })]);
    for (const e of hub.events()) expect(EVENT_DATA[e.event_type].safeParse(e.data).success, e.event_type).toBe(true);
  });
});
