import { EventEmitter } from 'node:events';
import { createEventRecord, type EventRecord } from '../../src/runtime/event-record.js';
import { Subscriptions } from '../../src/runtime/subscriptions.js';
import { row, throughput, type Suite } from '../measure.js';

const EVENTS = 2_000;

/**
 * Publish-to-delivery through `size` pattern subscriptions (each on its own
 * workflow: `*.wf_<i>.#`), beside a bare EventEmitter with `size` listeners
 * that each test the workflow id themselves.
 */
export const subscriptionsSuite: Suite = {
  name: 'subscriptions',
  sizes: { full: [1, 100, 10_000], quick: [1, 100] },
  async run(size) {
    const events: EventRecord[] = Array.from({ length: EVENTS }, (_, i) =>
      createEventRecord({ type: 'TASK_COMPLETED', workflowId: `wf_${i % size}`, phase: 'build', data: { task_id: `t${i}` } }, i + 1, 0),
    );
    let delivered = 0;
    const subs = new Subscriptions();
    const session = { onEvent: () => void delivered++ };
    for (let i = 0; i < size; i++) subs.add(session, [`*.wf_${i}.#`], {});
    const troupe = await throughput(EVENTS, () => {
      for (const e of events) subs.deliver(e);
    });
    const emitter = new EventEmitter();
    emitter.setMaxListeners(0);
    for (let i = 0; i < size; i++) {
      const id = `wf_${i}`;
      emitter.on('event', (e: EventRecord) => {
        if (e.workflow_id === id) delivered++;
      });
    }
    const bare = await throughput(EVENTS, () => {
      for (const e of events) emitter.emit('event', e);
    });
    if (delivered === 0) throw new Error('nothing delivered');
    return [row('events', `deliver via ${size} subscription(s)`, size, 'EventEmitter, filter per listener', troupe, bare, 'events/s')];
  },
};
