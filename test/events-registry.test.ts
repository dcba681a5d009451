import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createHub, createManualClock, type EventRecord, type Hub } from '../src/index.js';
import { EVENT_DATA } from '../src/runtime/events/event-registry.js';
import { HUB_VERSION } from '../src/runtime/version.js';
import { scratchDir } from './helpers/cli.js';
import { ok } from './helpers/responses.js';

/** Every event's data against the registry's requirements; the failures, named. */
const invalid = (events: EventRecord[]) =>
  events.flatMap((e) => {
    const parsed = EVENT_DATA[e.event_type].safeParse(e.data);
    return parsed.success ? [] : [`${e.event_type} #${e.seq}: ${z.prettifyError(parsed.error)}`];
  });

describe('the event registry', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(() => cleanup());

  it('every event the runtime publishes carries the data its type requires, across a busy life', async () => {
    const clock = createManualClock(Date.now());
    let hub: Hub = createHub({ maxThreads: 2, dataDir: dir, clock, random: () => 0.5 });
    await hub.ready;
    const run = async (id: string, definition: unknown, then?: (h: Hub) => Promise<void>) => {
      ok(await hub.execute({ operation: 'create', workflow_id: id, parameters: definition }));
      ok(await hub.execute({ operation: 'start', workflow_id: id }));
      await then?.(hub);
    };
    await run('ok', { name: 'ok', phases: ['setup', { name: 'p', tasks: [{ id: 'a', handler: 'echo', input: { value: 'x'.repeat(5000) } }, { id: 'b', handler: 'noop', depends_on: ['a'] }] }] }, async (h) => {
      ok(await h.execute({ operation: 'wait', workflow_id: 'ok' }));
    });
    await run('partial', { name: 'partial', failure_tolerance: 'high', phases: [{ name: 'p', tasks: [{ id: 'f', handler: 'fail', input: { retryable: false } }] }, { name: 'q', tasks: [{ id: 'g', handler: 'noop', depends_on: ['f'] }] }] }, async (h) => {
      ok(await h.execute({ operation: 'wait', workflow_id: 'partial' }));
    });
    await run('slow', { name: 'slow', phases: [{ name: 'p', tasks: [{ id: 't', handler: 'sleep', input: { ms: 60_000 }, timeout: '1s' }] }] }, async (h) => {
      ok(await h.execute({ operation: 'pause', workflow_id: 'slow' }));
      ok(await h.execute({ operation: 'resume', workflow_id: 'slow' }));
    });
    await run('gone', { name: 'gone', phases: [{ name: 'p', tasks: [{ id: 't', handler: 'sleep', input: { ms: 60_000 } }] }] }, async (h) => {
      ok(await h.execute({ operation: 'cancel', workflow_id: 'gone' }));
    });
    ok(await hub.execute({ operation: 'checkpoint', workflow_id: 'ok', parameters: { name: 'n' } }));
    await hub.close({ graceMs: 0 });
    hub = createHub({ maxThreads: 2, dataDir: dir, clock, random: () => 0.5 });
    await hub.ready;
    // the recovered slow task times out (manual clock: moved only once the task really runs again,
    // since its timeout counts from its start), then fails for good
    const startedAgain = () => hub.events('slow').filter((e) => e.event_type === 'TASK_STARTED').length >= 2;
    for (const giveUp = Date.now() + 15_000; Date.now() < giveUp && !hub.events('slow').some((e) => e.event_type === 'WORKFLOW_FAILED'); ) {
      if (startedAgain()) clock.advance(1_000);
      await new Promise((r) => setTimeout(r, 20));
    }
    await hub.close({ graceMs: 0 });
    const events = hub.events();
    const types = new Set(events.map((e) => e.event_type));
    for (const t of ['WORKFLOW_CREATED', 'WORKFLOW_STARTED', 'WORKFLOW_PAUSED', 'WORKFLOW_RESUMED', 'WORKFLOW_COMPLETED', 'WORKFLOW_FAILED', 'WORKFLOW_CANCELLED', 'PHASE_STARTED', 'PHASE_COMPLETED', 'PHASE_FAILED', 'PHASE_SKIPPED', 'TASK_ASSIGNED', 'TASK_STARTED', 'TASK_COMPLETED', 'TASK_FAILED', 'TASK_TIMEOUT', 'TASK_REASSIGNED', 'AGENT_ALLOCATED', 'SYSTEM_STARTUP', 'SYSTEM_SHUTDOWN', 'CHECKPOINT_CREATED', 'CHECKPOINT_RESTORED']) {
      expect(types.has(t as EventRecord['event_type']), t).toBe(true);
    }
    expect(invalid(events)).toEqual([]);
    // a big output travels as its size, not in full, in the event
    const big = events.find((e) => e.event_type === 'TASK_COMPLETED' && e.data.task_id === 'a')!;
    expect(big.data.results).toEqual({ truncated: true, bytes: 5002 });
  });

  it('publish-event checks the data against the registry: a wrong value is refused, a missing field is said in warnings', async () => {
    const hub = createHub({ maxThreads: 1 });
    const wrong = await hub.execute({ operation: 'publish-event', parameters: { event_type: 'TASK_REASSIGNED', data: { task_id: 't', old_agent: 7, new_agent: null, reason: 'r' } } });
    expect(wrong.status === 'error' && wrong.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'The data of this TASK_REASSIGNED event has values the event registry refuses',
      details: expect.stringContaining('old_agent'),
    });
    const missing = await hub.execute({ operation: 'publish-event', parameters: { event_type: 'TASK_REASSIGNED', data: { task_id: 't' } } });
    expect(missing.status === 'success' && missing.warnings).toEqual([expect.stringMatching(/TASK_REASSIGNED's registry data also names old_agent, new_agent, reason, which this event lacks/)]);
    ok(await hub.execute({ operation: 'publish-event', parameters: { event_type: 'SYSTEM_MAINTENANCE', data: { operation_type: 'disk swap', estimated_duration: '5m', impact: 'none' } } }));
    await hub.close();
  });

  it('SYSTEM_STARTUP names the version of package.json', async () => {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(HUB_VERSION).toBe(pkg.version);
  });
});
