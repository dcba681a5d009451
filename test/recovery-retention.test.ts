import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, createManualClock, type EventRecord, type Hub } from '../src/index.js';
import { scratchDir } from './helpers/cli.js';
import { ok } from './helpers/responses.js';

/** Turns of the event loop until `predicate` holds (no fixed delay); fails after 5 s of real time. */
async function until(predicate: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('event retention and log compaction', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hubs: Hub[] = [];
  const clock = createManualClock(Date.UTC(2026, 0, 1));
  const open = async () => {
    // small segments, so a few workflows fill several of them
    const hub = createHub({ maxThreads: 1, dataDir: dir, clock, logSegmentBytes: 4_000 });
    hubs.push(hub);
    await hub.ready;
    return hub;
  };
  const segments = async () => (await readdir(join(dir, 'events'))).filter((n) => n.endsWith('.log')).sort();
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(async () => {
    for (const hub of hubs) await hub.close({ graceMs: 0 });
    hubs = [];
    await cleanup();
  });

  it('drops sealed segments older than the retention that no recovery needs, and keeps what one does', async () => {
    const a = await open();
    const tasks = Array.from({ length: 8 }, (_, i) => ({ id: `t${i}`, handler: 'noop' }));
    for (const id of ['old_1', 'old_2']) {
      ok(await a.execute({ operation: 'create', workflow_id: id, parameters: { name: id, phases: [{ name: 'p', tasks }] } }));
      ok(await a.execute({ operation: 'start', workflow_id: id }));
      ok(await a.execute({ operation: 'wait', workflow_id: id }));
    }
    // a paused workflow, still to finish: whatever it would replay must stay
    ok(await a.execute({ operation: 'create', workflow_id: 'keep', parameters: { name: 'keep', phases: [{ name: 'p', tasks: [{ id: 'x', handler: 'noop' }] }] } }));
    await a.close();
    const before = await segments();
    expect(before.length).toBeGreaterThan(2);

    clock.advance(8 * 86_400_000);
    const b = await open();
    const { recovery } = ok(await b.execute({ operation: 'health' }));
    expect(recovery.compacted.segments.length).toBeGreaterThan(0);
    expect(recovery.compacted.records).toBeGreaterThan(0);
    const after = await segments();
    // of the segments there before, exactly the compacted ones went (the new hub may have started another)
    expect(after.filter((s) => before.includes(s))).toEqual(before.filter((s) => !recovery.compacted.segments.includes(s)));
    // the segment being written is never dropped
    expect(after).toContain(before.at(-1));
    const remaining = ok(await b.execute({ operation: 'get-events', workflow_id: 'old_1', parameters: { limit: 10_000 } })).events as EventRecord[];
    expect(remaining.length).toBeLessThan(before.length * 100);
    // the unfinished workflow still recovers and finishes
    ok(await b.execute({ operation: 'start', workflow_id: 'keep' }));
    expect(ok(await b.execute({ operation: 'wait', workflow_id: 'keep' })).status).toBe('completed');
  });

  it('keeps everything while it is younger than the retention', async () => {
    const a = await open();
    const tasks = Array.from({ length: 8 }, (_, i) => ({ id: `t${i}`, handler: 'noop' }));
    ok(await a.execute({ operation: 'create', workflow_id: 'w', parameters: { name: 'w', phases: [{ name: 'p', tasks }] } }));
    ok(await a.execute({ operation: 'start', workflow_id: 'w' }));
    ok(await a.execute({ operation: 'wait', workflow_id: 'w' }));
    await a.close();
    const before = await segments();
    clock.advance(86_400_000);
    const b = await open();
    expect(ok(await b.execute({ operation: 'health' })).recovery.compacted).toEqual({ segments: [], records: 0 });
    expect(await segments()).toEqual(before);
  });

  it('runs again every compaction_interval while the hub runs: a checkpoint that still needs old segments keeps them until its workflow ends', async () => {
    const a = await open();
    const lastCompaction = async () => ok(await a.execute({ operation: 'health' })).components.find((c: { component_id: string }) => c.component_id === 'log').details.last_compaction;
    // created first and never started: recovering it needs everything logged after its checkpoint
    ok(await a.execute({ operation: 'create', workflow_id: 'keep', parameters: { name: 'keep', phases: [{ name: 'p', tasks: [{ id: 'x', handler: 'noop' }] }] } }));
    const tasks = Array.from({ length: 8 }, (_, i) => ({ id: `t${i}`, handler: 'noop' }));
    for (const id of ['old_1', 'old_2']) {
      ok(await a.execute({ operation: 'create', workflow_id: id, parameters: { name: id, phases: [{ name: 'p', tasks }] } }));
      ok(await a.execute({ operation: 'start', workflow_id: id }));
      ok(await a.execute({ operation: 'wait', workflow_id: id }));
      // the end checkpoint is announced just after the workflow ends: its event belongs to the segments read below
      await until(async () => a.events(id).some((e) => e.event_type === 'CHECKPOINT_CREATED' && (e.data as { trigger?: string }).trigger === 'end'), `${id}'s end checkpoint`);
    }
    ok(await a.execute({ operation: 'get-events', parameters: { limit: 1 } })); // everything appended is written
    const before = await segments();
    expect(before.length).toBeGreaterThan(2);
    expect(await lastCompaction()).toBeNull();

    clock.advance(8 * 86_400_000);
    await until(async () => (await lastCompaction()) !== null, 'the first periodic compaction');
    expect(await lastCompaction()).toMatchObject({ segments: [], records: 0 });
    // nothing was dropped (new segments may have been started: idle agents retiring are logged too)
    expect((await segments()).filter((s) => before.includes(s))).toEqual(before);

    ok(await a.execute({ operation: 'start', workflow_id: 'keep' }));
    expect(ok(await a.execute({ operation: 'wait', workflow_id: 'keep' })).status).toBe('completed');
    const ranAt = (await lastCompaction()).at;
    clock.advance(3_600_000);
    await until(async () => (await lastCompaction()).at !== ranAt, 'the next periodic compaction');
    const { segments: dropped, records } = await lastCompaction();
    expect(dropped.length).toBeGreaterThan(0);
    expect(records).toBeGreaterThan(0);
    const after = await segments();
    // the oldest segments go now; so may segments started after `before` whose events are as old (an idle agent retired
    // minutes after the start, while the clock was moved by days, logs AGENT_DEALLOCATED and RESOURCE_OPTIMIZED)
    expect(dropped).toContain(before[0]);
    expect(after.filter((s) => dropped.includes(s))).toEqual([]);
    // the segment being written is never dropped
    expect(after.length).toBeGreaterThan(0);
    const maintenance = ok(await a.execute({ operation: 'get-events', parameters: { event_type: 'SYSTEM_MAINTENANCE' } })).events as EventRecord[];
    expect(maintenance.map((e) => e.data)).toEqual([expect.objectContaining({ operation_type: 'log compaction', impact: expect.objectContaining({ segments_dropped: dropped }) })]);
  });
});
