/**
 * Priority scheduling (DESIGN §12): across workflows the higher priority
 * gets a free agent first, then the earlier start; a lower workflow still
 * runs on whatever the higher ones leave; within a workflow the ready task
 * with the longest remaining path goes first. Real tasks on the real pool;
 * which task got the agent is read from the order of TASK_STARTED events.
 * A one-agent pool makes that order the scheduler's choice alone: the agent
 * is kept busy by a long "gate" task while the workflows under test line up,
 * and cancelling the gate frees it.
 */
import { describe, expect, it } from 'vitest';
import { createManualClock, type Hub, type ManualClock, type WorkflowDefinition } from '../src/index.js';
import { AgentPool } from '../src/runtime/agents/agent-pool.js';
import { EventBus } from '../src/runtime/events/event-bus.js';
import { FileLocks } from '../src/runtime/scheduling/file-locks.js';
import { WaitingRoom } from '../src/runtime/scheduling/waiting-room.js';
import type { WorkflowEntry } from '../src/runtime/scheduling/workflow-entry.js';
import type { Priority, TaskSpec } from '../src/machines/types.js';
import { eachTestOwnHub, eventsOf, fails, ok, run, statusOf, taskOf, until, waitFor } from './hub-fixtures.js';
import { useTempDirs } from './helpers/persistence.js';

let hub: Hub;
let clock: ManualClock;
const replace = eachTestOwnHub((made) => ({ hub, clock } = made), { maxAgentPoolSize: 1 });
const tempDir = useTempDirs('troupe-priority-');

const noop = (id: string, extra: Record<string, unknown> = {}) => ({ id, handler: 'noop', ...extra });

/** `n` independent noop tasks `<prefix>1..n`, at `priority` (the default when absent). */
function flat(prefix: string, priority?: Priority, n = 4): WorkflowDefinition {
  return {
    name: `flat-${prefix}`,
    ...(priority ? { priority } : {}),
    phases: [{ name: 'p', tasks: Array.from({ length: n }, (_, i) => noop(`${prefix}${i + 1}`)) }],
  } as WorkflowDefinition;
}

/** Task ids in the order they started, over every workflow but the gate. */
const startOrder = (h: Hub) =>
  h
    .events()
    .filter((e) => e.event_type === 'TASK_STARTED' && e.workflow_id !== 'gate')
    .sort((a, b) => a.seq - b.seq)
    .map((e) => String(e.data.task_id));

/** Worker threads may take seconds to come up on a loaded machine: the first task's start is waited for longer than `untilEvent` does. */
const WORKER_START_MS = 20_000;

/** Holds the pool's only agent with a long task; `open` cancels it, which frees the agent. */
async function gate() {
  await run(hub, 'gate', { name: 'gate', phases: [{ name: 'p', tasks: [{ id: 'long', handler: 'sleep', input: { ms: 60_000 } }] }] });
  await until(() => eventsOf(hub, 'gate', 'TASK_STARTED').length > 0, 'the gate task to start', WORKER_START_MS);
  return { open: () => ok(hub, { operation: 'cancel', workflow_id: 'gate' }) };
}

/** Creates and starts each workflow, a millisecond apart (their start times order equal priorities). */
async function startInTurn(workflows: [string, WorkflowDefinition, Record<string, unknown>?][]) {
  for (const [id, definition, start] of workflows) {
    await run(hub, id, definition, start);
    clock.advance(1);
  }
}

describe('across workflows: priority, then the earlier start', () => {
  it('a high workflow started after a low one runs all its tasks first; critical beats high', async () => {
    const { open } = await gate();
    await startInTurn([
      ['low', flat('l', 'low')],
      ['high', flat('h', 'high')],
      ['critical', flat('c', 'critical')],
    ]);
    await open();
    for (const id of ['low', 'high', 'critical']) expect((await waitFor(hub, id)).status).toBe('completed');
    expect(startOrder(hub)).toEqual(['c1', 'c2', 'c3', 'c4', 'h1', 'h2', 'h3', 'h4', 'l1', 'l2', 'l3', 'l4']);
  });

  it('at equal priority the earlier start goes first; start {"priority"} overrides the definition', async () => {
    const { open } = await gate();
    await startInTurn([
      ['first', flat('a')],
      ['second', flat('b')],
      ['raised', flat('r', 'low'), { priority: 'high' }],
    ]);
    expect((await statusOf(hub, 'raised')).configuration.priority).toBe('high');
    await open();
    for (const id of ['first', 'second', 'raised']) expect((await waitFor(hub, id)).status).toBe('completed');
    expect(startOrder(hub)).toEqual(['r1', 'r2', 'r3', 'r4', 'a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3', 'b4']);
  });

  // with a data directory an outcome is applied once it is logged: till then its agent is kept from lower workflows
  it.each([['in memory', false], ['with a data directory', true]])('a high chain keeps the agent from one step to the next (%s): each step it readies goes before the low tasks waiting', async (_how, durable) => {
    if (durable) await replace({ dataDir: await tempDir(), maxAgentPoolSize: 1 });
    const { open } = await gate();
    const chain = { name: 'chain', priority: 'high', phases: [{ name: 'p', tasks: [noop('s1'), noop('s2', { depends_on: ['s1'] }), noop('s3', { depends_on: ['s2'] })] }] };
    await startInTurn([
      ['low', flat('l', 'low', 2)],
      ['chain', chain as WorkflowDefinition],
    ]);
    await open();
    for (const id of ['low', 'chain']) expect((await waitFor(hub, id)).status).toBe('completed');
    expect(startOrder(hub)).toEqual(['s1', 's2', 's3', 'l1', 'l2']);
    // closed before its data directory is removed
    if (durable) await replace({});
  });

  it('set-priority at run time reorders what still waits, and is answered with the previous priority', async () => {
    const { open } = await gate();
    await startInTurn([
      ['first', flat('a')],
      ['second', flat('b')],
    ]);
    const answer = await ok(hub, { operation: 'set-priority', workflow_id: 'second', parameters: { priority: 'critical' } });
    expect(answer.result).toEqual({ workflow_id: 'second', previous_priority: 'medium', priority: 'critical' });
    const listed = (await ok(hub, { operation: 'list-workflows' })).result as { workflows: { workflow_id: string; priority: string }[] };
    expect(listed.workflows.find((w) => w.workflow_id === 'second')?.priority).toBe('critical');
    await open();
    for (const id of ['first', 'second']) expect((await waitFor(hub, id)).status).toBe('completed');
    expect(startOrder(hub)).toEqual(['b1', 'b2', 'b3', 'b4', 'a1', 'a2', 'a3', 'a4']);
  });

  it('a new priority is checkpointed and survives a restart', async () => {
    const dataDir = await tempDir();
    await replace({ dataDir, maxAgentPoolSize: 1 });
    await run(hub, 'wf', { name: 'long', priority: 'low', phases: [{ name: 'p', tasks: [{ id: 'long', handler: 'sleep', input: { ms: 60_000 } }] }] });
    await ok(hub, { operation: 'set-priority', workflow_id: 'wf', parameters: { priority: 'high' } });
    const checkpoints = (await ok(hub, { operation: 'list-checkpoints', workflow_id: 'wf' })).result as { checkpoints: { trigger: string }[] };
    expect(checkpoints.checkpoints.at(-1)?.trigger).toBe('priority');
    await replace({ dataDir, maxAgentPoolSize: 1 });
    const state = await statusOf(hub, 'wf');
    expect(state.status).toBe('running');
    expect(state.configuration.priority).toBe('high');
    await replace({});
  });
});

describe('a lower workflow runs on what the higher ones leave', () => {
  it('while the high one waits on a long task and its other ready task on a held file, a low one runs to its end', async () => {
    await replace({ maxAgentPoolSize: 2 });
    const high = {
      name: 'high',
      priority: 'high',
      phases: [
        {
          name: 'p',
          tasks: [
            { id: 'hold', handler: 'sleep', input: { ms: 60_000 }, exclusive_files: ['shared.lock'] },
            // ready, but its file is held by `hold`: that reserves no agent
            noop('blocked', { exclusive_files: ['shared.lock'] }),
            // waits for `hold`: nothing of it is ready
            noop('after', { depends_on: ['hold'] }),
          ],
        },
      ],
    };
    await run(hub, 'high', high as WorkflowDefinition);
    await until(() => eventsOf(hub, 'high', 'TASK_STARTED', 'hold').length > 0, 'hold to start', WORKER_START_MS);
    await run(hub, 'low', flat('l', 'low', 3));
    expect((await waitFor(hub, 'low')).status).toBe('completed');
    const state = await statusOf(hub, 'high');
    expect(['hold', 'blocked', 'after'].map((id) => taskOf(state, id).status)).toEqual(['running', 'ready', 'pending']);
  });
});

describe('within a workflow: the longest remaining path first', () => {
  it("a chain's head goes before an isolated task listed first; equal paths keep the definition's order", async () => {
    const definition = {
      name: 'paths',
      phases: [
        {
          name: 'p',
          tasks: [
            noop('iso', { estimated_duration: '1s' }),
            noop('head', { estimated_duration: '1s' }),
            noop('mid', { estimated_duration: '1s', depends_on: ['head'] }),
            noop('tail', { estimated_duration: '1s', depends_on: ['mid'] }),
          ],
        },
      ],
    };
    await ok(hub, { operation: 'create', workflow_id: 'wf', parameters: definition });
    const before = await statusOf(hub, 'wf');
    expect(['iso', 'head', 'mid', 'tail'].map((id) => taskOf(before, id).remaining_path)).toEqual(['1s', '3s', '2s', '1s']);
    await ok(hub, { operation: 'start', workflow_id: 'wf' });
    expect((await waitFor(hub, 'wf')).status).toBe('completed');
    // after mid, iso and tail weigh 1s each: iso is listed first
    expect(startOrder(hub)).toEqual(['head', 'mid', 'iso', 'tail']);
  });

  it('a task without estimated_duration counts 1: a two-task chain goes before a lone task', async () => {
    const definition = { name: 'unestimated', phases: [{ name: 'p', tasks: [noop('lone'), noop('x'), noop('y', { depends_on: ['x'] })] }] };
    await run(hub, 'wf', definition as WorkflowDefinition);
    expect((await waitFor(hub, 'wf')).status).toBe('completed');
    expect(taskOf(await statusOf(hub, 'wf'), 'x').remaining_path).toBe('2ms');
    expect(startOrder(hub)).toEqual(['x', 'lone', 'y']);
  });

  it('a later phase lengthens the path of the task it depends on', async () => {
    const definition = {
      name: 'phases',
      phases: [
        { name: 'one', tasks: [noop('a'), noop('b')] },
        { name: 'two', tasks: [noop('c', { depends_on: ['b'], estimated_duration: '5s' })] },
      ],
    };
    await run(hub, 'wf', definition as WorkflowDefinition);
    expect((await waitFor(hub, 'wf')).status).toBe('completed');
    expect(startOrder(hub)).toEqual(['b', 'a', 'c']);
  });
});

describe('refusals', () => {
  const ALLOWED = 'expected one of "critical"|"high"|"medium"|"low"';

  it('an unknown priority in create, start and set-priority is VALIDATION_FAILED, listing the allowed ones', async () => {
    const created = await fails(hub, { operation: 'create', workflow_id: 'wf', parameters: { ...flat('t'), priority: 'urgent' } });
    expect(created.error.code).toBe('VALIDATION_FAILED');
    expect(created.error.details).toContain(ALLOWED);
    await ok(hub, { operation: 'create', workflow_id: 'wf', parameters: flat('t') });
    for (const operation of ['start', 'set-priority']) {
      const response = await fails(hub, { operation, workflow_id: 'wf', parameters: { priority: 'urgent' } });
      expect(response.error).toMatchObject({ code: 'VALIDATION_FAILED', message: `Invalid parameters for ${operation}` });
      expect(response.error.details).toContain(ALLOWED);
    }
    expect((await fails(hub, { operation: 'set-priority', workflow_id: 'wf', parameters: {} })).error.code).toBe('VALIDATION_FAILED');
    expect((await statusOf(hub, 'wf')).configuration.priority).toBe('medium');
  });

  it('set-priority on an ended workflow is INVALID_TRANSITION naming its state; a created one takes it', async () => {
    await ok(hub, { operation: 'create', workflow_id: 'wf', parameters: flat('t') });
    await ok(hub, { operation: 'set-priority', workflow_id: 'wf', parameters: { priority: 'low' } });
    await ok(hub, { operation: 'start', workflow_id: 'wf' });
    expect((await waitFor(hub, 'wf')).status).toBe('completed');
    const response = await fails(hub, { operation: 'set-priority', workflow_id: 'wf', parameters: { priority: 'high' } });
    expect(response.error).toMatchObject({ code: 'INVALID_TRANSITION', message: 'Cannot set-priority workflow wf: it is completed' });
    expect((await statusOf(hub, 'wf')).configuration.priority).toBe('low');
  });

  it('help lists set-priority and describes its parameter', async () => {
    const list = (await ok(hub, { operation: 'help' })).result as { operations: { operation: string; group: string }[] };
    expect(list.operations.find((o) => o.operation === 'set-priority')).toMatchObject({ group: 'lifecycle' });
    const one = (await ok(hub, { operation: 'help', parameters: { operation: 'set-priority' } })).result as { parameters: { name: string; type: string; required: boolean }[] };
    expect(one.parameters).toEqual([expect.objectContaining({ name: 'priority', type: '"critical" | "high" | "medium" | "low"', required: true })]);
  });
});

describe('the waiting room on its own', () => {
  /** A stand-in workflow entry: what the room reads of one. */
  const entry = (id: string, priority: Priority, startedAt: number) =>
    ({ id, actor: { getSnapshot: () => ({ context: { spec: { priority }, startedAt, createdAt: 0 } }) }, moves: new Map(), performanceThreshold: null }) as unknown as WorkflowEntry;
  const task = (role: string, exclusiveFiles: string[] = []) => ({ id: 't', role, exclusiveFiles }) as unknown as TaskSpec;

  it('a workflow leaves a role alone while one served before it waits for that role; other roles and file waits reserve nothing', () => {
    const clock = createManualClock(0);
    const pool = new AgentPool({ minAgents: 0, maxAgents: 4, maxConcurrentTasks: 1, breakerThreshold: 5 }, new EventBus(clock), clock, { breakerCooldownMs: 1, idleTimeoutMs: 1_000, alertThreshold: 50 });
    const room = new WaitingRoom(pool, new FileLocks());
    const high = entry('high', 'high', 5);
    const low = entry('low', 'low', 1);
    room.wait(high, 'build');
    expect(room.agentFor(low, task('build'), new Set())).toBeNull();
    expect(room.agentFor(low, task('docs'), new Set())).not.toBeNull();
    expect(room.inOrder()).toEqual([high, low]);
    expect(room.agentFor(high, task('build'), new Set())).not.toBeNull();
    // once the high one waits only for a file, the role is free for others
    room.leave(high);
    room.wait(high, null);
    expect(room.agentFor(low, task('build'), new Set())).not.toBeNull();
    // equal priority: the earlier start is served first
    const early = entry('early', 'low', 0);
    room.wait(early, 'test');
    expect(room.agentFor(low, task('test'), new Set())).toBeNull();
    expect(room.inOrder()).toEqual([high, early, low]);
    // an outcome being logged claims its agent's role for its workflow until it is applied
    room.claim(high, 'deploy');
    expect(room.agentFor(low, task('deploy'), new Set())).toBeNull();
    expect(room.agentFor(high, task('deploy'), new Set())).not.toBeNull();
    room.unclaim(high, 'deploy');
    expect(room.agentFor(low, task('deploy'), new Set())).not.toBeNull();
    pool.stop();
  });
});
