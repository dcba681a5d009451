/**
 * The actor trace (off by default): XState's inspection events of the
 * workflow, phase, pool and agent actors, recorded as ACTOR_TRACE events of
 * severity debug and named by troupe's ids, so `get-events` can step through
 * what an actor did.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/cli/config-file.js';
import { scratchDir } from './helpers/cli.js';
import { EVENT_TYPES, type EventRecord, type Hub, type ManualClock } from '../src/index.js';
import { EVENT_DATA } from '../src/runtime/events/event-registry.js';
import { closeHub, makeHub, ok, run, waitFor } from './hub-fixtures.js';

const twoPhases = {
  name: 'traced',
  phases: [
    { name: 'build', tasks: [{ id: 't1', handler: 'echo', input: { value: 1 } }] },
    { name: 'test', tasks: [{ id: 't2', handler: 'noop', depends_on: ['t1'] }] },
  ],
};

let hub: Hub;
let clock: ManualClock;
afterEach(() => closeHub(hub, clock));

const events = async (command: Record<string, unknown>) => (await ok(hub, command)).result as { events: EventRecord[]; total: number };

describe('the actor trace', () => {
  it('is off by default: a workflow run records no ACTOR_TRACE and no debug events', async () => {
    ({ hub, clock } = makeHub());
    await run(hub, 'wf_off', twoPhases);
    await waitFor(hub, 'wf_off');
    expect((await events({ operation: 'get-events', parameters: { event_type: 'ACTOR_TRACE' } })).total).toBe(0);
    expect((await events({ operation: 'get-events', parameters: { severity: 'debug' } })).total).toBe(0);
    expect(hub.events().some((e) => e.event_type === 'ACTOR_TRACE')).toBe(false);
  });

  it('on, a workflow run yields debug events per actor, named by workflow, phase and agent ids, that get-events filters', async () => {
    ({ hub, clock } = makeHub({ trace: true }));
    await run(hub, 'wf_t', twoPhases);
    expect((await waitFor(hub, 'wf_t')).status).toBe('completed');
    await new Promise((resolve) => setImmediate(resolve));
    const { events: trace } = await events({ operation: 'get-events', workflow_id: 'wf_t', parameters: { event_type: 'ACTOR_TRACE', limit: 10_000 } });
    expect(trace.length).toBeGreaterThan(10);
    for (const e of trace) {
      expect(e.severity).toBe('debug');
      expect(e.source).toBe('xstate');
      expect(EVENT_DATA.ACTOR_TRACE.safeParse(e.data).success).toBe(true);
    }
    const workflow = trace.filter((e) => e.data.actor_kind === 'workflow');
    expect(workflow.every((e) => e.data.actor_id === 'wf_t' && e.phase === 'global')).toBe(true);
    // the start command as the workflow actor received it, then the state it moved to
    const started = workflow.findIndex((e) => e.data.inspection === '@xstate.event' && e.data.event_type === 'start');
    expect(started).toBeGreaterThanOrEqual(0);
    expect(workflow.slice(started).find((e) => e.data.inspection === '@xstate.snapshot')!.data).toMatchObject({ event_type: 'start', state_value: { active: 'running' } });
    expect(workflow.at(-1)!.data).toMatchObject({ inspection: '@xstate.snapshot', state_value: 'completed' });
    // each phase by its name, with the task events the scheduler sent it
    const build = trace.filter((e) => e.data.actor_kind === 'phase' && e.data.actor_id === 'build');
    expect(build.every((e) => e.phase === 'build')).toBe(true);
    expect(build.filter((e) => e.data.inspection === '@xstate.event').map((e) => e.data.event_type)).toEqual(expect.arrayContaining(['task.assigned', 'task.started', 'task.completed']));
    expect(trace.some((e) => e.data.actor_kind === 'phase' && e.data.actor_id === 'test')).toBe(true);
    // agents are the pool's: hub-wide, by agent id; a pattern finds them
    const agents = (await events({ operation: 'get-events', parameters: { pattern: 'ACTOR_TRACE.global.#', severity: 'debug', limit: 10_000 } })).events.filter((e) => e.data.actor_kind === 'agent');
    expect(agents.length).toBeGreaterThan(0);
    expect(agents.every((e) => /^agent_\d+$/.test(String(e.data.actor_id)))).toBe(true);
    // the rest of the history is unchanged: the lifecycle events are still there, in order
    const lifecycle = hub.events('wf_t').filter((e) => e.event_type !== 'ACTOR_TRACE').map((e) => e.event_type);
    expect(lifecycle[0]).toBe('WORKFLOW_CREATED');
    expect(lifecycle.at(-1)).toBe('WORKFLOW_COMPLETED');
    expect(EVENT_TYPES).toContain('ACTOR_TRACE');
  });

  it('is turned on by `trace: true` in the configuration file, and only by a boolean', async () => {
    ({ hub, clock } = makeHub());
    const { dir, cleanup } = await scratchDir();
    try {
      await writeFile(join(dir, 'on.yaml'), 'trace: true\n');
      expect((await loadConfig(join(dir, 'on.yaml'))).hub.trace).toBe(true);
      await writeFile(join(dir, 'none.yaml'), 'durability: sync\n');
      expect((await loadConfig(join(dir, 'none.yaml'))).hub.trace).toBeUndefined();
      await writeFile(join(dir, 'bad.yaml'), 'trace: yes please\n');
      await expect(loadConfig(join(dir, 'bad.yaml'))).rejects.toThrow(/trace/);
    } finally {
      await cleanup();
    }
  });
});
