import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, createManualClock, type EventRecord, type Hub } from '../src/index.js';
import { scratchDir } from './helpers/cli.js';
import { ok } from './helpers/responses.js';

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
    expect(after).toEqual(before.filter((s) => !recovery.compacted.segments.includes(s)));
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
});
