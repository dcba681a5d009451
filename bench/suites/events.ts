import { EventEmitter } from 'node:events';
import { EventBus } from '../../src/runtime/event-bus.js';
import { systemClock } from '../../src/index.js';
import { row, throughput, type Suite } from '../measure.js';

/** Publishing to in-process subscribers: troupe's event bus (full records) beside a bare EventEmitter. */
export const eventsSuite: Suite = {
  name: 'events',
  sizes: { full: [1_000, 10_000, 100_000], quick: [10_000] },
  async run(size) {
    const bus = new EventBus(systemClock, 10_000);
    let seen = 0;
    bus.subscribe(() => seen++);
    const troupe = await throughput(size, () => {
      for (let i = 0; i < size; i++) bus.publish({ type: 'TASK_COMPLETED', workflowId: 'wf_1', phase: 'build', data: { task_id: `t${i}` } });
    });
    const emitter = new EventEmitter();
    emitter.on('event', () => seen++);
    const bare = await throughput(size, () => {
      for (let i = 0; i < size; i++) emitter.emit('event', { type: 'TASK_COMPLETED', workflowId: 'wf_1', phase: 'build', data: { task_id: `t${i}` } });
    });
    if (seen === 0) throw new Error('no event was delivered');
    return [row('events', 'publish to 1 subscriber', size, 'EventEmitter', troupe, bare, 'events/s')];
  },
};
