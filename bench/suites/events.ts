import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/index.js';
import { Journal } from '../../src/runtime/durability/journal.js';
import { EventBus } from '../../src/runtime/events/event-bus.js';
import { createEventRecord, type EventRecord } from '../../src/runtime/events/event-record.js';
import type { BatchingConfig } from '../../src/runtime/events/event-batching.js';
import { DEFAULT_DELIVERY, Subscriptions, type Session } from '../../src/runtime/events/subscriptions.js';
import { row, throughput, type BenchRow, type Sample, type Suite } from '../measure.js';

/** The target: hub publish -> delivery at ≥ 1 000 000 events/s in memory with 1 000 wildcard subscriptions. */
const PUBLISH_TARGET = { on: 'value', limit: 1_000_000 } as const;

const EVENTS = 20_000;
/** listener calls per baseline run: the EventEmitter calls every listener for every event */
const BASELINE_CALLS = 20_000_000;

/**
 * Publish-to-delivery with `size` subscriptions (1, 100, 1 000, 10 000), each on its
 * own workflow (`*.wf_<i>.#`), beside a bare EventEmitter with `size`
 * listeners that each test the workflow id themselves: once for delivery alone
 * (the pattern index against per-listener filtering), once for the whole
 * publish (building the full record: id, time, text form, routing key);
 * with 1 000, also the whole publish with the log on against it in memory.
 */
export const eventsSuite: Suite = {
  name: 'events',
  sizes: { full: [1, 100, 1_000, 10_000], quick: [1, 1_000] },
  async run(size) {
    const events: EventRecord[] = Array.from({ length: EVENTS }, (_, i) =>
      createEventRecord({ type: 'TASK_COMPLETED', workflowId: `wf_${i % size}`, phase: 'build', data: { task_id: `t${i}` } }, i + 1, 0),
    );
    let delivered = 0;
    const session = { onEvent: () => void delivered++ };
    const subscriptions = new Subscriptions(systemClock, () => {});
    for (let i = 0; i < size; i++) subscriptions.add(session, { patterns: [`*.wf_${i}.#`], filters: {}, policy: DEFAULT_DELIVERY });
    const deliverOnly = await throughput(EVENTS, () => {
      for (const e of events) subscriptions.deliver(e);
    });
    const publish = await throughput(EVENTS, publishing(hubBus(subscriptions), size));
    const emitter = new EventEmitter();
    emitter.setMaxListeners(0);
    for (let i = 0; i < size; i++) {
      const id = `wf_${i}`;
      emitter.on('event', (e: { workflowId: string }) => {
        if (e.workflowId === id) delivered++;
      });
    }
    const bareEvents = Math.min(EVENTS, Math.max(1_000, Math.round(BASELINE_CALLS / size)));
    const bare = await throughput(bareEvents, () => {
      for (let i = 0; i < bareEvents; i++) emitter.emit('event', { type: 'TASK_COMPLETED', workflowId: `wf_${i % size}`, phase: 'build', data: { task_id: `t${i}` } });
    });
    if (delivered === 0) throw new Error('nothing delivered');
    const head = { suite: 'events', size, unit: 'events/s', baseline: 'EventEmitter, filter per listener' };
    return [
      row({ ...head, scenario: `deliver, ${size} subscription(s)` }, deliverOnly, bare),
      row({ ...head, scenario: `publish, ${size} subscription(s)` }, publish, bare, size === 1_000 ? PUBLISH_TARGET : undefined),
      ...(size === 1_000 ? [await loggedRow(subscriptions, size)] : []),
      ...(size <= 100 ? await batchRows(events, size) : []),
    ];
  },
};

/** A bus wired to `subscriptions` as the hub wires it: routed before it is recorded (the record names its subscribers), delivered after. */
function hubBus(subscriptions: Subscriptions): EventBus {
  const bus = new EventBus(systemClock, 10_000);
  bus.routeWith((e) => subscriptions.route(e));
  bus.subscribe((e) => subscriptions.deliver(e));
  return bus;
}

/** One run: EVENTS publishes, one per workflow in turn. */
function publishing(bus: EventBus, size: number): () => void {
  return () => {
    for (let i = 0; i < EVENTS; i++) bus.publish({ type: 'TASK_COMPLETED', workflowId: `wf_${i % size}`, phase: 'build', data: { task_id: `t${i}` } });
  };
}

/**
 * The same publish with every event appended to a real data directory's
 * log, as a hub with a data directory does (`batch` durability, its
 * default for events: group commit, one fsync per batch), beside the
 * in-memory publish measured again in the same run. A run ends once its
 * last event is written, so the figure is what the log sustains, not
 * only what publish hands it.
 */
async function loggedRow(subscriptions: Subscriptions, size: number): Promise<BenchRow> {
  const dir = await mkdtemp(join(tmpdir(), 'troupe-bench-events-'));
  const { journal } = await Journal.open(dir, { clock: systemClock });
  try {
    const bus = hubBus(subscriptions);
    let written: Promise<void> = Promise.resolve();
    bus.persistWith((event) => {
      const appended = journal.log.append({ kind: 'event', event }, 'batch');
      written = appended.durable;
      return appended.seq;
    });
    const publish = publishing(bus, size);
    const logged = await throughput(EVENTS, async () => {
      publish();
      await written;
    });
    const inMemory = await throughput(EVENTS, publishing(hubBus(subscriptions), size));
    return row({ suite: 'events', size, unit: 'events/s', baseline: 'the same publish in memory', scenario: `publish with the log on, ${size} subscription(s)` }, logged, inMemory);
  } finally {
    await journal.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Batched against per-event delivery to `size` async subscribers (each call
 * returns a promise, as a socket write or a database insert would): the
 * time from publishing EVENTS events until every subscriber has taken all
 * of them, once in batches of 100, once with the adaptive size, beside the
 * same subscribers taking them one call per event.
 */
async function batchRows(events: EventRecord[], size: number): Promise<BenchRow[]> {
  const perEvent = await asyncDelivery(events, size, null);
  const fixed = await asyncDelivery(events, size, { enabled: true, eventTypes: ['#'], batchSize: 100, timeoutMs: 1, dedupWindowMs: 0 });
  const adaptive = await asyncDelivery(events, size, { enabled: true, eventTypes: ['#'], batchSize: 'adaptive', timeoutMs: 1, dedupWindowMs: 0 });
  const head = { suite: 'events', size, unit: 'events/s', baseline: 'per-event delivery, async subscriber' };
  return [
    row({ ...head, scenario: `batches of 100, ${size} async subscriber(s)` }, fixed, perEvent),
    row({ ...head, scenario: `adaptive batches, ${size} async subscriber(s)` }, adaptive, perEvent),
  ];
}

/** Events per second through `size` async subscribers, batched under `batching`, or one call per event when null. */
async function asyncDelivery(events: EventRecord[], size: number, batching: BatchingConfig | null): Promise<Sample> {
  let left = 0;
  let finished: () => void = () => {};
  const took = (n: number) => {
    left -= n;
    if (left === 0) finished();
    return Promise.resolve();
  };
  const session: Session = batching ? { onBatch: (_id, batch) => took(batch.length) } : { onEvent: () => took(1) };
  const subscriptions = new Subscriptions(systemClock, () => {});
  if (batching) subscriptions.configureBatching(batching);
  for (let i = 0; i < size; i++) subscriptions.add(session, { patterns: ['#'], filters: {}, policy: { ...DEFAULT_DELIVERY, delivery: batching ? 'batch' : 'realtime', maxQueue: 2 * events.length } });
  const value = await throughput(events.length * size, async () => {
    left = events.length * size;
    const done = new Promise<void>((resolve) => (finished = resolve));
    for (const e of events) subscriptions.deliver(e);
    await done;
  });
  subscriptions.close();
  return value;
}
