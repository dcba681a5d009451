/**
 * enable-async-processing: a backed-up subscriber queue delivers its most
 * severe waiting events first (weighted round robin or strict), FIFO within a
 * severity; at most processing_pool_size deliveries are under way at once.
 * Time is the manual clock: the queue backs up while its first delivery waits
 * for a retry.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, createManualClock, type EventRecord, type Hub, type ManualClock, type Session } from '../src/index.js';
import { ok } from './helpers/responses.js';

const publish = (hub: Hub, name: string, severity: string) =>
  hub.execute({ operation: 'publish-event', parameters: { event_type: 'SYSTEM_MAINTENANCE', severity, data: { operation_type: name, estimated_duration: '1m', impact: 'none' } } });
const names = (events: EventRecord[]) => events.map((e) => String(e.data.operation_type));

describe('enable-async-processing: priority order in a backed-up queue', () => {
  let hub: Hub;
  let clock: ManualClock;
  let got: EventRecord[];
  let failNext: boolean;
  /** fails its first delivery, so what follows waits behind the retry */
  const session: Session = {
    onEvent: (_id, e) => {
      if (failNext) {
        failNext = false;
        throw new Error('busy');
      }
      got.push(e);
    },
  };
  const backUp = async (events: [string, string][]) => {
    ok(await hub.execute({ operation: 'subscribe-event', parameters: { patterns: ['SYSTEM_MAINTENANCE.#'], retry_policy: { max_retries: 3, backoff_base: '1s' } } }, session));
    failNext = true;
    for (const [name, severity] of events) ok(await publish(hub, name, severity));
    expect(got).toEqual([]);
    clock.advance(1_000);
  };
  beforeEach(() => {
    clock = createManualClock(Date.UTC(2026, 0, 1));
    hub = createHub({ maxThreads: 1, clock });
    got = [];
    failNext = false;
  });
  afterEach(() => hub.close());

  it('without it, a backed-up queue delivers in arrival order', async () => {
    await backUp([['first', 'info'], ['i1', 'info'], ['c1', 'critical'], ['i2', 'info']]);
    expect(names(got)).toEqual(['first', 'i1', 'c1', 'i2']);
  });

  it('strict: critical overtakes error, warning and info; each severity stays in order', async () => {
    const r = ok(await hub.execute({ operation: 'enable-async-processing', workflow_id: 'workflow_123', parameters: { processing_pool_size: 8, priority_scheme: 'strict' } }));
    expect(r.async_processing).toMatchObject({ enabled: true, processing_pool_size: 8, priority_scheme: 'strict' });
    await backUp([['first', 'info'], ['i1', 'info'], ['w1', 'warning'], ['c1', 'critical'], ['e1', 'error'], ['c2', 'critical'], ['i2', 'info']]);
    // the head under retry goes first: it was already being delivered
    expect(names(got)).toEqual(['first', 'c1', 'c2', 'e1', 'w1', 'i1', 'i2']);
  });

  it('weighted (the spec example): critical goes ahead, but info is not starved behind a stream of criticals', async () => {
    const example = { processing_pool_size: 8, priority_scheme: 'weighted', optimization_mode: 'balanced', auto_scaling: true };
    const r = await hub.execute({ operation: 'enable-async-processing', workflow_id: 'workflow_123', parameters: example });
    expect(r.status === 'success' && r.warnings?.join()).toMatch(/processing_pool_size 8: .*not threads/);
    const criticals = Array.from({ length: 20 }, (_, i) => [`c${i}`, 'critical'] as [string, string]);
    await backUp([['first', 'info'], ['i1', 'info'], ...criticals]);
    const order = names(got);
    // 8 criticals for each info while both wait (weights 8:1)
    expect(order.indexOf('i1')).toBeGreaterThan(order.indexOf('c0'));
    expect(order.indexOf('i1')).toBeLessThanOrEqual(9);
    expect(order.filter((n) => n.startsWith('c'))).toEqual(criticals.map(([n]) => n));
    const stats = ok(await hub.execute({ operation: 'enable-async-processing' })).async_processing;
    expect(stats.now.reordered).toBeGreaterThan(0);
  });

  it('processing_pool_size bounds the async deliveries under way over all queues', async () => {
    ok(await hub.execute({ operation: 'enable-async-processing', parameters: { processing_pool_size: 1 } }));
    const pending: (() => void)[] = [];
    const seen: string[] = [];
    const slow = (tag: string): Session => ({
      onEvent: (_id, e) => {
        seen.push(`${tag}:${String(e.data.operation_type)}`);
        return new Promise<void>((resolve) => pending.push(resolve));
      },
    });
    ok(await hub.execute({ operation: 'subscribe-event', parameters: { patterns: ['SYSTEM_MAINTENANCE.#'] } }, slow('a')));
    ok(await hub.execute({ operation: 'subscribe-event', parameters: { patterns: ['SYSTEM_MAINTENANCE.#'] } }, slow('b')));
    ok(await publish(hub, 'e1', 'info'));
    expect(seen).toEqual(['a:e1']);
    pending.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['a:e1', 'b:e1']);
    pending.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    const now = ok(await hub.execute({ operation: 'enable-async-processing' })).async_processing.now;
    expect(now).toMatchObject({ in_flight: 0, peak_in_flight: 1, waited_for_slot: 1 });
  });
});
