import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, createManualClock, type EventRecord, type Hub, type ManualClock, type Session } from '../src/index.js';
import { ok } from './helpers/responses.js';

const publish = (hub: Hub, n: number) =>
  hub.execute({ operation: 'publish-event', parameters: { event_type: 'SYSTEM_MAINTENANCE', data: { operation_type: `op${n}`, estimated_duration: '1m', impact: 'none' } } });
const ops = (events: EventRecord[]) => events.filter((e) => e.event_type === 'SYSTEM_MAINTENANCE').map((e) => e.data.operation_type);

describe('delivery to subscribers: retries, dead letters, bounded queues', () => {
  let hub: Hub;
  let clock: ManualClock;
  beforeEach(() => {
    clock = createManualClock(Date.UTC(2026, 0, 1));
    hub = createHub({ maxThreads: 1, clock });
  });
  afterEach(() => hub.close());

  it('retries a throwing subscriber with exponential backoff, in order, without holding up the others', async () => {
    let failuresLeft = 2;
    const flaky: EventRecord[] = [];
    const steady: EventRecord[] = [];
    const flakySession: Session = {
      onEvent: (_id, e) => {
        if (failuresLeft-- > 0) throw new Error('busy');
        flaky.push(e);
      },
    };
    ok(await hub.execute({ operation: 'subscribe-event', parameters: { patterns: ['SYSTEM_MAINTENANCE.#'], retry_policy: { max_retries: 3, backoff_base: '1s' } } }, flakySession));
    ok(await hub.execute({ operation: 'subscribe-event', parameters: { patterns: ['SYSTEM_MAINTENANCE.#'] } }, { onEvent: (_id, e) => void steady.push(e) }));
    for (let i = 1; i <= 3; i++) ok(await publish(hub, i));
    expect(ops(steady)).toEqual(['op1', 'op2', 'op3']);
    expect(ops(flaky)).toEqual([]);
    clock.advance(999);
    expect(ops(flaky)).toEqual([]);
    clock.advance(1); // first retry after 1 s fails again; the second comes 2 s later
    expect(ops(flaky)).toEqual([]);
    clock.advance(2_000);
    expect(ops(flaky)).toEqual(['op1', 'op2', 'op3']);
  });

  it('dead-letters after the retries, publishes EVENT_DEAD_LETTERED, and redrive delivers again once the subscriber works', async () => {
    let broken = true;
    const got: EventRecord[] = [];
    const watcher: EventRecord[] = [];
    const sub = ok(await hub.execute({ operation: 'subscribe-event', parameters: { patterns: ['SYSTEM_MAINTENANCE.#'], retry_policy: { max_retries: 1, backoff_base: '100ms' } } }, {
      onEvent: async (_id, e) => {
        if (broken) throw new Error('database down');
        got.push(e);
      },
    }));
    ok(await hub.execute({ operation: 'subscribe-event', parameters: { patterns: ['EVENT_DEAD_LETTERED.#'] } }, { onEvent: (_id, e) => void watcher.push(e) }));
    ok(await publish(hub, 1));
    await Promise.resolve();
    clock.advance(100);
    await new Promise((r) => setImmediate(r));
    const letters = ok(await hub.execute({ operation: 'dead-letters' }));
    expect(letters.total).toBe(1);
    expect(letters.dead_letters[0]).toMatchObject({ subscription_id: sub.subscription_id, reason: 'database down', attempts: 2 });
    expect(watcher.map((e) => e.data)).toEqual([expect.objectContaining({ subscription_id: sub.subscription_id, reason: 'database down' })]);
    broken = false;
    const redriven = ok(await hub.execute({ operation: 'redrive', parameters: { dead_letter_ids: [letters.dead_letters[0].dead_letter_id, 'dl_nope'] } }));
    expect(redriven).toEqual({ redriven: [letters.dead_letters[0].dead_letter_id], skipped: [{ dead_letter_id: 'dl_nope', reason: 'no such dead letter' }] });
    await new Promise((r) => setImmediate(r));
    expect(ops(got)).toEqual(['op1']);
    expect(ok(await hub.execute({ operation: 'dead-letters' })).total).toBe(0);
  });

  it.each([
    ['drop_oldest', ['op1', 'op4', 'op5'], 0],
    ['dead_letter', ['op1', 'op2', 'op3'], 2],
  ] as const)('a slow subscriber with a full queue (%s) never grows without bound', async (overflow, delivered, deadLetters) => {
    const got: EventRecord[] = [];
    const pending: (() => void)[] = [];
    ok(await hub.execute({ operation: 'subscribe-event', parameters: { patterns: ['SYSTEM_MAINTENANCE.#'], max_queue: 3, overflow } }, {
      onEvent: (_id, e) =>
        new Promise<void>((resolve) =>
          pending.push(() => {
            got.push(e);
            resolve();
          }),
        ),
    }));
    for (let i = 1; i <= 5; i++) ok(await publish(hub, i));
    // release the subscriber one event at a time
    for (let i = 0; i < 5 && pending.length > 0; i++) {
      pending.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    expect(ops(got)).toEqual(delivered);
    expect(ok(await hub.execute({ operation: 'dead-letters' })).total).toBe(deadLetters);
  });

  it('refuses overflow "block" with VALIDATION_FAILED that says why and what to use instead', async () => {
    const session: Session = { onEvent: () => {} };
    const block = await hub.execute({ operation: 'subscribe-event', parameters: { overflow: 'block' } }, session);
    expect(block.status).toBe('error');
    if (block.status !== 'error') return;
    expect(block.error.code).toBe('VALIDATION_FAILED');
    expect(block.error.details).toContain('overflow "block" is not offered: publishing never waits for a subscriber');
    expect(block.error.details).toContain('Use "drop_oldest"');
    expect(block.error.details).toContain('"dead_letter"');
    const other = await hub.execute({ operation: 'subscribe-event', parameters: { overflow: 'newest' } }, session);
    expect(other.status === 'error' && other.error.details).toContain('overflow is "drop_oldest" or "dead_letter"');
  });
});
