import { EventEmitter } from 'node:events';
import { systemClock } from '../../src/index.js';
import { EventBus } from '../../src/runtime/event-bus.js';
import { createEventRecord, type EventRecord } from '../../src/runtime/event-record.js';
import { Subscriptions } from '../../src/runtime/subscriptions.js';
import { row, throughput, type Suite } from '../measure.js';

/** The target: hub publish -> delivery at ≥ 1 000 000 events/s in memory with 1 000 wildcard subscriptions. */
const PUBLISH_TARGET = { on: 'value', atLeast: 1_000_000 } as const;

const EVENTS = 20_000;
/** listener calls per baseline run: the EventEmitter calls every listener for every event */
const BASELINE_CALLS = 20_000_000;

/**
 * Publish-to-delivery with `size` subscriptions (1, 100, 1 000, 10 000), each on its
 * own workflow (`*.wf_<i>.#`), beside a bare EventEmitter with `size`
 * listeners that each test the workflow id themselves: once for delivery alone
 * (the pattern index against per-listener filtering), once for the whole
 * publish (building the full record: id, time, text form, routing key).
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
    for (let i = 0; i < size; i++) subscriptions.add(session, [`*.wf_${i}.#`], {});
    const deliverOnly = await throughput(EVENTS, () => {
      for (const e of events) subscriptions.deliver(e);
    });
    const bus = new EventBus(systemClock, 10_000);
    bus.subscribe((e) => subscriptions.deliver(e));
    const publish = await throughput(EVENTS, () => {
      for (let i = 0; i < EVENTS; i++) bus.publish({ type: 'TASK_COMPLETED', workflowId: `wf_${i % size}`, phase: 'build', data: { task_id: `t${i}` } });
    });
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
    ];
  },
};
