/**
 * RESOURCE_OPTIMIZED is published when troupe really optimizes something,
 * with measured figures: queued resource requests granted from what a
 * release freed (rebalancing), and an idle agent the pool retires (scale
 * down). Nothing else publishes it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Hub, ManualClock } from '../src/index.js';
import { closeHub, makeHub, run, until, waitFor } from './hub-fixtures.js';
import { release, request, resourceEvents, resourceHub } from './resources-helpers.js';

let hub: Hub;
let clock: ManualClock;
afterEach(() => closeHub(hub, clock));

const optimized = (type: string) => resourceEvents(hub, 'RESOURCE_OPTIMIZED').filter((e) => e.data.optimization_type === type);

describe('RESOURCE_OPTIMIZED', () => {
  it('queue_rebalancing: a release grants the requests waiting for it, with how long they waited and the use before and after', async () => {
    ({ hub, clock } = await resourceHub());
    const all = await request(hub, 'wf_a', { resources: { agents: 4 } });
    expect((await request(hub, 'wf_b', { request_id: 'two', resources: { agents: 2 } })).status).toBe('queued');
    expect((await request(hub, 'wf_b', { request_id: 'three', resources: { agents: 3 } })).status).toBe('queued');
    // a request that is simply approved optimizes nothing
    expect(optimized('queue_rebalancing')).toEqual([]);
    clock.advance(90_000);
    await release(hub, 'wf_a', { allocation_id: all.allocated_resources!.allocation_id });
    const [event] = optimized('queue_rebalancing');
    expect(event!.data.improvement_metrics).toEqual({
      requests_granted: 1,
      granted: [{ allocation_id: expect.any(String), request_id: 'two', workflow_id: 'wf_b', waited: '1m 30s' }],
      queue_length: { before: 2, after: 1 },
      longest_wait: '1m 30s',
      average_wait: '1m 30s',
      // the released agents stood idle (0 of 4 in use) until the queued request was granted 2 of them
      utilization_percent: { agents: { before: 0, after: 50 } },
    });
    expect(optimized('queue_rebalancing')).toHaveLength(1);
  });

  it('pool_scale_down: an idle agent beyond what is needed is retired after the idle timeout, with how long it idled', async () => {
    ({ hub, clock } = makeHub({ agentIdleTimeout: '1m', maxThreads: 2 }));
    // two tasks at once: two agents of one role
    await run(hub, 'wf_s', { name: 's', phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'noop' }, { id: 'b', handler: 'noop' }] }] });
    await waitFor(hub, 'wf_s');
    expect(optimized('pool_scale_down')).toEqual([]);
    clock.advance(60_000);
    await until(() => optimized('pool_scale_down').length === 1, 'the idle agent to retire');
    expect(optimized('pool_scale_down')[0]!.data.improvement_metrics).toMatchObject({
      role: 'general',
      idle_for: '1m',
      agents: { before: 2, after: 1 },
      agents_of_role: { before: 2, after: 1 },
      idle_task_slots_released: 1,
    });
  });
});
