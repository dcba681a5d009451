/**
 * request-resources answers: approved, partial, queued and denied in the
 * protocol's allocation_response shape, with RESOURCE_* events whose data the
 * registry requires; bad input is refused with a code and changes nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { helpFor, type Hub, type ManualClock } from '../src/index.js';
import { closeHub, fails, ISO } from './hub-fixtures.js';
import { release, request, resourceEvents, resourceHub, resourcesView } from './resources-helpers.js';

let hub: Hub;
let clock: ManualClock;
beforeEach(async () => ({ hub, clock } = await resourceHub()));
afterEach(() => closeHub(hub, clock));

describe('answers', () => {
  it('approved: everything fits; the spec shape with allocation id, restrictions and auto-release; RESOURCE_ALLOCATED', async () => {
    const answer = await request(hub, 'wf_a', {
      allocation_request: {
        request_id: 'req_1',
        requester: 'coordination-hub',
        priority: 'high',
        resources: { agents: 2, memory_gb: 5, cpu_cores: 2, duration_hours: 2.5, exclusive_files: ['config.nix'], tool_instances: { bash: 1 } },
        constraints: { max_wait_time: '10m', conflict_tolerance: 'none', isolation_level: 'strict', min_performance: 'standard' },
      },
    });
    expect(answer).toMatchObject({
      response_id: expect.stringMatching(/^resp_/),
      request_id: 'req_1',
      status: 'approved',
      timestamp: expect.stringMatching(ISO),
      allocated_resources: { allocation_id: expect.stringMatching(/^alloc_/), agents: 2, memory_gb: 5, cpu_cores: 2, duration_hours: 2.5, exclusive_files: ['config.nix'], tool_instances: { bash: 1 } },
      restrictions: { monitoring_required: true, performance_limits: { memory_per_agent: '2.5GB' }, auto_release_timeout: '2h 30m', exclusive_access_windows: [expect.stringMatching(/^\d\d:\d\d-\d\d:\d\d$/)] },
      alternatives: [],
    });
    const [allocated] = resourceEvents(hub, 'RESOURCE_ALLOCATED');
    expect(allocated).toMatchObject({ workflow_id: 'wf_a', data: { allocation_id: answer.allocated_resources!.allocation_id, requester: 'coordination-hub', resource_details: { agents: 2 } } });
    const view = await resourcesView(hub);
    expect(view.in_use).toMatchObject({ agents: 2, memory_gb: 5, cpu_cores: 2, tool_instances: { bash: 1 } });
    expect(view.allocations.map((a) => a.request_id)).toEqual(['req_1']);
  });

  it('partial: not all free, but reduce_agents and accept_shared_resources allow less; it gets what is free', async () => {
    await request(hub, 'wf_a', { resources: { agents: 3, memory_gb: 10 } });
    const answer = await request(hub, 'wf_b', {
      resources: { agents: 3, memory_gb: 10, cpu_cores: 1 },
      fallback_options: { reduce_agents: true, accept_shared_resources: true },
    });
    expect(answer.status).toBe('partial');
    expect(answer.allocated_resources).toMatchObject({ agents: 1, memory_gb: 6, cpu_cores: 1 });
    expect(answer.reduced).toEqual(['agents', 'memory_gb']);
    expect(answer.restrictions!.monitoring_required).toBe(true);
    expect(answer.alternatives).toContainEqual(expect.objectContaining({ option: 'delayed_allocation', full_resources: true, available_at: expect.stringMatching(ISO) }));
    expect(resourceEvents(hub, 'RESOURCE_ALLOCATED').at(-1)!.data).toMatchObject({ status: 'partial', resource_details: { agents: 1 } });
  });

  it('queued: does not fit now; position in the queue and when it stops waiting; nothing is allocated', async () => {
    await request(hub, 'wf_a', { resources: { agents: 4 } });
    const answer = await request(hub, 'wf_b', { request_id: 'req_wait', resources: { agents: 2 }, constraints: { max_wait_time: '5m' } });
    expect(answer).toMatchObject({ status: 'queued', queue_position: 1, allocated_resources: null, allocation_id: expect.stringMatching(/^alloc_/), reason: 'not enough free: agents' });
    // the holder's allocation auto-releases after the default hour: that is when it would all fit
    expect(answer.alternatives[0]).toMatchObject({ option: 'delayed_allocation', available_at: new Date(clock.now() + 3_600_000).toISOString() });
    expect((await resourcesView(hub)).queue).toMatchObject([{ request_id: 'req_wait', queue_position: 1 }]);
    expect(resourceEvents(hub, 'RESOURCE_ALLOCATED')).toHaveLength(1);
  });

  it('denied: more than the hub has in total, with a reduce_request alternative and what it could get now', async () => {
    const answer = await request(hub, 'wf_a', { resources: { agents: 2, memory_gb: 64 } });
    expect(answer.status).toBe('denied');
    expect(answer.reason).toMatch(/more than the hub has in total: memory_gb/);
    expect(answer.alternatives).toEqual([
      expect.objectContaining({ option: 'reduce_request', max_resources: expect.objectContaining({ memory_gb: 16 }), exceeds: ['memory_gb'] }),
      expect.objectContaining({ option: 'reduced_allocation', resources: expect.objectContaining({ agents: 2, memory_gb: 16 }) }),
    ]);
    // an unknown tool has no instances: never fits
    expect((await request(hub, 'wf_a', { resources: { tool_instances: { gpu: 1 } } })).status).toBe('denied');
    expect(resourceEvents(hub, 'RESOURCE_ALLOCATED')).toEqual([]);
  });

  it('denied: does not fit now and queue_if_unavailable is off', async () => {
    await request(hub, 'wf_a', { resources: { cpu_cores: 4 } });
    const answer = await request(hub, 'wf_b', { resources: { cpu_cores: 1 }, fallback_options: { queue_if_unavailable: false } });
    expect(answer).toMatchObject({ status: 'denied', reason: 'not enough free: cpu_cores; queue_if_unavailable is off' });
    expect(answer.alternatives[0]).toMatchObject({ option: 'delayed_allocation', full_resources: true });
  });

  it('RESOURCE_THRESHOLD when a resource crosses 80% of its capacity, once on the way up', async () => {
    await request(hub, 'wf_a', { resources: { agents: 3 } });
    expect(resourceEvents(hub, 'RESOURCE_THRESHOLD')).toEqual([]);
    await request(hub, 'wf_a', { resources: { agents: 1, tool_instances: { bash: 2 } } });
    const events = resourceEvents(hub, 'RESOURCE_THRESHOLD');
    expect(events.map((e) => e.data)).toEqual([
      expect.objectContaining({ resource_type: 'agents', current_usage: { used: 4, capacity: 4, percent: 100 }, threshold: 80 }),
      expect.objectContaining({ resource_type: 'tool:bash', current_usage: { used: 2, capacity: 2, percent: 100 }, threshold: 80 }),
    ]);
  });
});

describe('help', () => {
  it('describes the request body (not the wrapper) and the release parameters', () => {
    const help = helpFor('request-resources') as { available: boolean; parameters: { name: string }[]; example: string };
    expect(help.available).toBe(true);
    expect(help.parameters.map((p) => p.name)).toEqual(['request_id', 'workflow_id', 'requester', 'timestamp', 'priority', 'resources', 'constraints', 'fallback_options']);
    expect((helpFor('release-resources') as { parameters: { name: string }[] }).parameters.map((p) => p.name)).toEqual(['allocation_id', 'request_id', 'reason']);
  });
});

describe('bad input', () => {
  it('schema errors are VALIDATION_FAILED with the field named, and change nothing', async () => {
    const cases: [unknown, RegExp][] = [
      [{ resources: { agents: -1 } }, /agents/],
      [{ resources: { agents: 1 }, priority: 'urgent' }, /priority/],
      [{ resources: { agents: 1 }, colour: 'red' }, /colour/],
      [{ resources: {} }, /at least one resource/],
      [{ resources: { agents: 1 }, constraints: { max_wait_time: 'soon' } }, /duration/],
    ];
    for (const [parameters, detail] of cases) {
      const error = await fails(hub, { operation: 'request-resources', workflow_id: 'wf_a', parameters });
      expect(error.error.code).toBe('VALIDATION_FAILED');
      expect(error.error.details).toMatch(detail);
    }
    const mismatch = await fails(hub, { operation: 'request-resources', workflow_id: 'wf_a', parameters: { workflow_id: 'wf_b', resources: { agents: 1 } } });
    expect(mismatch.error.code).toBe('VALIDATION_FAILED');
    expect((await fails(hub, { operation: 'request-resources', parameters: { resources: { agents: 1 } } })).error.code).toBe('WORKFLOW_ID_REQUIRED');
    expect((await fails(hub, { operation: 'request-resources', workflow_id: 'wf_nope', parameters: { resources: { agents: 1 } } })).error.code).toBe('WORKFLOW_NOT_FOUND');
    const view = await resourcesView(hub);
    expect([view.allocations, view.queue, resourceEvents(hub)]).toEqual([[], [], []]);
  });

  it('a request id used twice is refused; release of an unknown allocation is ALLOCATION_NOT_FOUND with suggestions', async () => {
    const first = await request(hub, 'wf_a', { request_id: 'req_same', resources: { agents: 1 } });
    const twice = await fails(hub, { operation: 'request-resources', workflow_id: 'wf_a', parameters: { request_id: 'req_same', resources: { agents: 1 } } });
    expect(twice.error).toMatchObject({ code: 'VALIDATION_FAILED', message: 'Request req_same is already allocated or queued' });
    const unknown = await fails(hub, { operation: 'release-resources', workflow_id: 'wf_a', parameters: { allocation_id: 'alloc_nope' } });
    expect(unknown.error.code).toBe('ALLOCATION_NOT_FOUND');
    expect(unknown.error.details).toContain(first.allocated_resources!.allocation_id);
    expect(unknown.recovery_suggestions.length).toBeGreaterThan(0);
    // another workflow's allocation is not this one's to release
    const foreign = await fails(hub, { operation: 'release-resources', workflow_id: 'wf_b', parameters: { allocation_id: first.allocated_resources!.allocation_id } });
    expect(foreign.error.code).toBe('ALLOCATION_NOT_FOUND');
    expect((await fails(hub, { operation: 'release-resources', workflow_id: 'wf_a', parameters: {} })).error.code).toBe('VALIDATION_FAILED');
    expect((await resourcesView(hub)).allocations).toHaveLength(1);
    const released = await release(hub, 'wf_a', { request_id: 'req_same' });
    expect(released).toMatchObject({ status: 'released', allocation_id: first.allocated_resources!.allocation_id });
    expect(resourceEvents(hub, 'RESOURCE_DEALLOCATED').map((e) => e.data.release_reason)).toEqual(['released by request']);
  });
});
