import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, createManualClock, type EventRecord, type Hub, type ManualClock } from '../src/index.js';
import { scratchDir } from './helpers/cli.js';
import { ok } from './helpers/responses.js';

const maintenance = (n: number) => ({
  operation: 'publish-event',
  parameters: { event_type: 'SYSTEM_MAINTENANCE', data: { operation_type: `op${n}`, estimated_duration: '1m', impact: 'none' } },
});
const broken = { onEvent: () => {
  throw new Error('sink down');
} };

describe('dead letters survive a restart', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let clock: ManualClock;
  let hubs: Hub[] = [];
  const open = async (options: { logSegmentBytes?: number } = {}) => {
    const hub = createHub({ maxThreads: 1, dataDir: dir, clock, ...options });
    hubs.push(hub);
    await hub.ready;
    return hub;
  };
  const deadLetterOps = async (hub: Hub) =>
    (ok(await hub.execute({ operation: 'dead-letters' })).dead_letters as { event: EventRecord }[]).map((d) => d.event.data.operation_type);
  beforeEach(async () => {
    ({ dir, cleanup } = await scratchDir());
    clock = createManualClock(Date.UTC(2026, 0, 1));
  });
  afterEach(async () => {
    for (const hub of hubs) await hub.close({ graceMs: 0 });
    hubs = [];
    await cleanup();
  });

  it('dead-letters lists them after a real restart; redrive to a live subscription removes them durably', async () => {
    const a = await open();
    ok(await a.execute({ operation: 'subscribe-event', parameters: { patterns: ['SYSTEM_MAINTENANCE.#'], retry_policy: { max_retries: 0 } } }, broken));
    for (let i = 1; i <= 3; i++) ok(await a.execute(maintenance(i)));
    const before = ok(await a.execute({ operation: 'dead-letters' }));
    expect(before.total).toBe(3);
    await a.close();

    const b = await open();
    const after = ok(await b.execute({ operation: 'dead-letters' }));
    expect(after).toEqual(before);
    const [first, second] = after.dead_letters as { dead_letter_id: string; subscription_id: string }[];
    // its subscription ended with the old supervisor: redrive says how to go on
    const orphaned = ok(await b.execute({ operation: 'redrive', parameters: { dead_letter_ids: [first!.dead_letter_id] } }));
    expect(orphaned.redriven).toEqual([]);
    expect(orphaned.skipped[0].reason).toContain('to_subscription_id');
    const unknown = await b.execute({ operation: 'redrive', parameters: { to_subscription_id: 'sub_gone' } });
    expect(unknown.status === 'error' && [unknown.error.code, unknown.error.message]).toEqual(['SUBSCRIPTION_NOT_FOUND', 'No live subscription sub_gone to redrive to']);

    const got: EventRecord[] = [];
    const sub = ok(await b.execute({ operation: 'subscribe-event', parameters: { patterns: ['nothing.matches.this'] } }, { onEvent: (_id, e) => void got.push(e) }));
    const redriven = ok(await b.execute({ operation: 'redrive', parameters: { dead_letter_ids: [first!.dead_letter_id, second!.dead_letter_id], to_subscription_id: sub.subscription_id } }));
    expect(redriven).toEqual({ redriven: [first!.dead_letter_id, second!.dead_letter_id], skipped: [] });
    expect(got.map((e) => e.data.operation_type)).toEqual(['op1', 'op2']);
    expect(await deadLetterOps(b)).toEqual(['op3']);
    await b.close();

    const c = await open();
    expect(await deadLetterOps(c)).toEqual(['op3']);
  });

  it('retention keeps the log segment of a dead letter still listed, and lets it go once redriven', async () => {
    const segments = async () => (await readdir(join(dir, 'events'))).filter((n) => n.endsWith('.log')).sort();
    const a = await open({ logSegmentBytes: 2_000 });
    ok(await a.execute({ operation: 'subscribe-event', parameters: { patterns: ['SYSTEM_MAINTENANCE.#'], retry_policy: { max_retries: 0 } } }, broken));
    ok(await a.execute(maintenance(1)));
    ok(await a.execute({ operation: 'get-events', parameters: { limit: 1 } })); // reads the log: everything appended is written
    const letterSegment = (await segments()).at(-1);
    for (let i = 0; i < 30; i++) ok(await a.execute({ operation: 'publish-event', parameters: { event_type: 'ERROR_ENCOUNTERED', data: { component: `c${i}` } } }));
    await a.close();
    expect((await segments()).length).toBeGreaterThan(2);

    clock.advance(8 * 86_400_000);
    const b = await open({ logSegmentBytes: 2_000 });
    expect(await segments()).toContain(letterSegment);
    expect(await deadLetterOps(b)).toEqual(['op1']);
    const sub = ok(await b.execute({ operation: 'subscribe-event', parameters: { patterns: ['nothing.matches.this'] } }, { onEvent: () => {} }));
    ok(await b.execute({ operation: 'redrive', parameters: { to_subscription_id: sub.subscription_id } }));
    // fill another segment, so the one being written then is not the one with the removal
    for (let i = 0; i < 30; i++) ok(await b.execute({ operation: 'publish-event', parameters: { event_type: 'ERROR_ENCOUNTERED', data: { component: `d${i}` } } }));
    await b.close();

    clock.advance(8 * 86_400_000);
    const c = await open({ logSegmentBytes: 2_000 });
    expect(await segments()).not.toContain(letterSegment);
    expect(await deadLetterOps(c)).toEqual([]);
  });
});
