import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, createManualClock, type EventRecord, type Hub, type ManualClock, type Session } from '../src/index.js';
import { ok } from './helpers/responses.js';

const maintenance = (n: number, eventId?: string) => ({
  operation: 'publish-event',
  parameters: { event_type: 'SYSTEM_MAINTENANCE', data: { operation_type: `op${n}`, estimated_duration: '1m', impact: 'none' }, ...(eventId ? { event_id: eventId } : {}) },
});
const ops = (events: EventRecord[]) => events.map((e) => (e.event_type === 'SYSTEM_MAINTENANCE' ? e.data.operation_type : e.event_type));
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('configure-batching: batch subscriptions get the covered events in batches', () => {
  let hub: Hub;
  let clock: ManualClock;
  let batches: EventRecord[][];
  const batchSession: Session = { onBatch: (_id, events) => void batches.push(events) };
  const configure = async (parameters: Record<string, unknown>) => ok(await hub.execute({ operation: 'configure-batching', parameters }));
  const subscribe = async (session: Session, parameters: Record<string, unknown> = {}) =>
    ok(await hub.execute({ operation: 'subscribe-event', parameters: { patterns: ['SYSTEM_MAINTENANCE.#', 'ERROR_ENCOUNTERED.#'], delivery: 'batch', ...parameters } }, session));
  const publishMany = async (from: number, to: number) => {
    for (let i = from; i <= to; i++) ok(await hub.execute(maintenance(i)));
  };
  beforeEach(() => {
    clock = createManualClock(Date.UTC(2026, 0, 1));
    hub = createHub({ maxThreads: 1, clock });
    batches = [];
  });
  afterEach(() => hub.close());

  it('flushes a batch when it holds batch_size events, and what is left once the timeout has passed', async () => {
    const result = await configure({ event_types: ['SYSTEM_MAINTENANCE.#'], batch_size: 3, timeout: '1s' });
    expect(result).toMatchObject({ batching: { batch_size: 3, timeout: '1s', dedup_window: '0ms', enabled: true }, batch_subscriptions: 0 });
    await subscribe(batchSession);
    await publishMany(1, 7);
    expect(batches.map(ops)).toEqual([['op1', 'op2', 'op3'], ['op4', 'op5', 'op6']]);
    clock.advance(999);
    expect(batches).toHaveLength(2);
    clock.advance(1);
    expect(batches.map(ops)).toEqual([['op1', 'op2', 'op3'], ['op4', 'op5', 'op6'], ['op7']]);
    // the timeout counts from when the next batch starts collecting
    await publishMany(8, 8);
    clock.advance(1_000);
    expect(batches.at(-1)!.map((e) => e.data.operation_type)).toEqual(['op8']);
  });

  it('delivers an event it does not batch at once, after the batch collecting before it (order is kept)', async () => {
    await configure({ event_types: ['SYSTEM_MAINTENANCE.#'], batch_size: 10, timeout: '1m' });
    const singles: EventRecord[] = [];
    await subscribe({ ...batchSession, onEvent: (_id, e) => void singles.push(e) });
    await publishMany(1, 2);
    ok(await hub.execute({ operation: 'publish-event', parameters: { event_type: 'ERROR_ENCOUNTERED', data: { component: 'disk' } } }));
    expect(batches.map(ops)).toEqual([['op1', 'op2']]);
    expect(ops(singles)).toEqual(['ERROR_ENCOUNTERED']);
  });

  it('a session without onBatch gets a batch event by event, in order, when the batch goes out', async () => {
    await configure({ batch_size: 2, timeout: '1s' });
    const got: EventRecord[] = [];
    await subscribe({ onEvent: (_id, e) => void got.push(e) });
    await publishMany(1, 3);
    expect(ops(got)).toEqual(['op1', 'op2']);
    clock.advance(1_000);
    expect(ops(got)).toEqual(['op1', 'op2', 'op3']);
  });

  it('deduplicates by event_id within the window, and takes the id again after it', async () => {
    await configure({ batch_size: 1, dedup_window: '1m' });
    const sub = await subscribe(batchSession);
    ok(await hub.execute(maintenance(1, 'job-42')));
    ok(await hub.execute(maintenance(2, 'job-42')));
    ok(await hub.execute(maintenance(3, 'job-43')));
    clock.advance(59_999);
    ok(await hub.execute(maintenance(4, 'job-42')));
    expect(batches.flat().map((e) => [e.event_id, e.data.operation_type])).toEqual([
      ['job-42', 'op1'],
      ['job-43', 'op3'],
    ]);
    clock.advance(1);
    ok(await hub.execute(maintenance(5, 'job-42')));
    expect(ops(batches.flat())).toEqual(['op1', 'op3', 'op5']);
    const listed = ok(await hub.execute({ operation: 'get-events', parameters: { event_type: 'SYSTEM_MAINTENANCE' } }));
    // the log keeps every publish: dedup is about delivery
    expect(listed.total).toBe(5);
    expect(sub.delivery).toBe('batch');
  });

  it('adaptive: the batch size doubles while the subscriber falls behind, and halves when a delivery takes longer than the timeout', async () => {
    await configure({ batch_size: 'adaptive', timeout: '100ms' });
    const release: (() => void)[] = [];
    const sub = await subscribe({
      onBatch: (_id, events) =>
        new Promise<void>((resolve) => {
          batches.push(events);
          release.push(resolve);
        }),
    });
    await publishMany(1, 16); // a full first batch (16) goes out and is held
    await publishMany(17, 60); // 44 wait behind it
    expect(batches.map((b) => b.length)).toEqual([16]);
    release.shift()!();
    await turn();
    expect(batches.map((b) => b.length)).toEqual([16, 32]);
    release.shift()!();
    await turn();
    // 12 were left, fewer than a batch (32: nothing waited behind the second one), so they wait for the timeout
    expect(batches.map((b) => b.length)).toEqual([16, 32]);
    clock.advance(100);
    expect(batches.map((b) => b.length)).toEqual([16, 32, 12]);
    clock.advance(150); // this delivery takes longer than the timeout: 32 -> 16
    release.shift()!();
    await turn();
    await publishMany(61, 100);
    expect(batches.map((b) => b.length)).toEqual([16, 32, 12, 16]);
    expect(sub.delivery).toBe('batch');
  });

  it('enabled: false delivers every event on its own again, flushing what was collecting', async () => {
    await configure({ batch_size: 5, timeout: '1m' });
    const got: EventRecord[] = [];
    await subscribe({ onEvent: (_id, e) => void got.push(e) });
    await publishMany(1, 2);
    expect(got).toEqual([]);
    await configure({ enabled: false });
    expect(ops(got)).toEqual(['op1', 'op2']);
    await publishMany(3, 3);
    expect(ops(got)).toEqual(['op1', 'op2', 'op3']);
  });

  it.each([
    [{ batch_size: 0 }, 'batch_size is a whole number from 1 to 1024, or "adaptive"'],
    [{ batch_size: 'auto' }, 'batch_size is a whole number from 1 to 1024, or "adaptive"'],
    [{ timeout: 'soon' }, 'Expected a duration such as "30s"'],
    [{ timeout: '0ms' }, 'timeout is longer than 0 and at most 1h'],
    [{ dedup_window: '2d' }, 'dedup_window is at most 1d'],
    [{ event_types: ['TASK_FAILED..#'] }, 'none empty'],
    [{ event_types: [] }, 'event_types'],
    [{ batchsize: 3 }, 'batchsize'],
  ])('refuses %j with VALIDATION_FAILED saying what is wrong', async (parameters, says) => {
    const response = await hub.execute({ operation: 'configure-batching', parameters });
    expect(response.status).toBe('error');
    if (response.status !== 'error') return;
    expect(response.error.code).toBe('VALIDATION_FAILED');
    expect(response.error.details).toContain(says);
    expect(response.recovery_suggestions.join(' ')).toContain('help');
  });

  it('help describes configure-batching as available, with its parameters', async () => {
    const help = ok(await hub.execute({ operation: 'help', parameters: { operation: 'configure-batching' } }));
    expect(help.available).toBe(true);
    expect(help.parameters.map((p: { name: string }) => p.name)).toEqual(['event_types', 'batch_size', 'timeout', 'batch_timeout', 'dedup_window', 'deduplication_enabled', 'compression_enabled', 'enabled']);
  });
});
