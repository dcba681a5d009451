/**
 * The spec's success metrics (agents_affected, resources_used) of the agent
 * and resource operations, measured from what each command did.
 */
import { describe, expect, it } from 'vitest';
import type { Hub, ManualClock } from '../src/index.js';
import { eachTestOwnHub, ok } from './hub-fixtures.js';

let hub: Hub;
let _clock: ManualClock;
eachTestOwnHub((made) => ({ hub, clock: _clock } = made));

const create = () => ok(hub, { operation: 'create', workflow_id: 'wf_m', parameters: { name: 'm', phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'noop', role: 'code' }, { id: 'b', handler: 'noop', role: 'test' }] }] } });

describe('success metrics of agent and resource operations', () => {
  it('monitor-pool changes nothing; assign-agents counts the agents serving the workflow and what the pool grew by', async () => {
    await create();
    expect((await ok(hub, { operation: 'monitor-pool' })).metrics).toMatchObject({ agents_affected: 0, resources_used: 'none' });
    const assigned = await ok(hub, { operation: 'assign-agents', workflow_id: 'wf_m', parameters: { agent_count: 4 } });
    expect(assigned.metrics).toMatchObject({ agents_affected: 4, resources_used: '4 agent(s) added to the pool (4 of 20)' });
    const again = await ok(hub, { operation: 'assign-agents', workflow_id: 'wf_m', parameters: { agent_count: 4 } });
    expect(again.metrics).toMatchObject({ agents_affected: 4, resources_used: '0 agent(s) added to the pool (4 of 20)' });
  });

  it('request-resources and release-resources count the allocation they granted or released', async () => {
    await create();
    const granted = await ok(hub, { operation: 'request-resources', workflow_id: 'wf_m', parameters: { resources: { agents: 2, memory_gb: 1, exclusive_files: ['a.txt'] } } });
    expect(granted.metrics).toMatchObject({ agents_affected: 2, resources_used: expect.stringMatching(/^2 agent\(s\), 1 GB memory, .* 1 exclusive file\(s\)$/) });
    const id = (granted.result as { allocated_resources: { allocation_id: string } }).allocated_resources.allocation_id;
    const released = await ok(hub, { operation: 'release-resources', workflow_id: 'wf_m', parameters: { allocation_id: id } });
    expect(released.metrics).toMatchObject({ agents_affected: 2, resources_used: expect.stringMatching(/^released: 2 agent\(s\)/) });
  });
});
