/**
 * The resource manager over time: conflicts on exclusive files (with another
 * allocation, with a running task), queued requests granted in priority
 * order, auto-release and max_wait_time on the manual clock, and a
 * workflow's allocations released when it ends.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Hub, ManualClock } from '../src/index.js';
import { closeHub, fails, ok, run, settleLoop, statusOf, taskOf, until, untilEvent } from './hub-fixtures.js';
import { release, request, resourceEvents, resourceHub, resourcesView } from './resources-helpers.js';

let hub: Hub;
let clock: ManualClock;
beforeEach(async () => ({ hub, clock } = await resourceHub()));
afterEach(() => closeHub(hub, clock));

const MINUTE = 60_000;

describe('conflicts on exclusive files', () => {
  it('with another allocation: RESOURCE_CONFLICT, then denied, partial or queued as the request allows', async () => {
    const holder = await request(hub, 'wf_a', { request_id: 'req_holder', resources: { exclusive_files: ['home.nix'] } });
    const holderId = holder.allocated_resources!.allocation_id;

    const denied = await request(hub, 'wf_b', { resources: { exclusive_files: ['home.nix'] }, fallback_options: { queue_if_unavailable: false } });
    expect(denied).toMatchObject({ status: 'denied', conflicts: { severity: 'high', resolution: 'denied' } });
    const partial = await request(hub, 'wf_b', { resources: { agents: 1, exclusive_files: ['home.nix', 'config.nix'] }, constraints: { conflict_tolerance: 'low' } });
    expect(partial).toMatchObject({ status: 'partial', allocated_resources: { agents: 1, exclusive_files: ['config.nix'] }, reduced: ['file:home.nix'], conflicts: { severity: 'low' } });
    const queued = await request(hub, 'wf_b', { request_id: 'req_q', resources: { exclusive_files: ['home.nix'] } });
    expect(queued).toMatchObject({ status: 'queued', conflicts: { severity: 'medium' } });

    const conflicts = resourceEvents(hub, 'RESOURCE_CONFLICT');
    expect(conflicts).toHaveLength(3);
    expect(conflicts[2]!.data).toMatchObject({
      conflict_id: queued.conflicts!.conflict_id,
      severity: 'medium',
      conflicting_requests: [
        { kind: 'request', request_id: 'req_q', workflow_id: 'wf_b', files: ['home.nix'] },
        { kind: 'allocation', allocation_id: holderId, request_id: 'req_holder', workflow_id: 'wf_a', files: ['home.nix'] },
      ],
    });
    // the holder lets go: the queued request gets the file
    const released = await release(hub, 'wf_a', { allocation_id: holderId });
    expect(released.granted_from_queue).toEqual([{ allocation_id: queued.allocation_id, request_id: 'req_q', workflow_id: 'wf_b' }]);
    expect(resourceEvents(hub, 'RESOURCE_ALLOCATED').at(-1)!.data).toMatchObject({ allocation_id: queued.allocation_id, resource_details: { exclusive_files: ['home.nix'] } });
  });

  it("with a running task's exclusive file: reported with the task, granted when the task lets go", async () => {
    await run(hub, 'wf_t', { name: 't', phases: [{ name: 'work', tasks: [{ id: 'long', handler: 'sleep', input: { ms: 60_000 }, exclusive_files: ['db.sqlite'] }] }] });
    await untilEvent(hub, 'wf_t', 'TASK_STARTED', 'long');
    const queued = await request(hub, 'wf_a', { resources: { exclusive_files: ['db.sqlite'] } });
    expect(queued.status).toBe('queued');
    expect(queued.conflicts!.conflicting_requests[1]).toMatchObject({ kind: 'task', workflow_id: 'wf_t', task_id: 'long', files: ['db.sqlite'] });
    // nobody can tell when a task ends
    expect(queued.alternatives[0]).toMatchObject({ option: 'delayed_allocation', available_at: null });
    await ok(hub, { operation: 'cancel', workflow_id: 'wf_t' });
    await until(() => resourceEvents(hub, 'RESOURCE_ALLOCATED').length > 0, 'the queued request to be granted');
    expect(resourceEvents(hub, 'RESOURCE_ALLOCATED')[0]!.data.allocation_id).toBe(queued.allocation_id);
  });

  it('a task does not start while an allocation holds its file', async () => {
    await request(hub, 'wf_a', { resources: { exclusive_files: ['shared.lock'] } });
    await run(hub, 'wf_t', { name: 't', phases: [{ name: 'work', tasks: [{ id: 'blocked', handler: 'noop', exclusive_files: ['shared.lock'] }, { id: 'free', handler: 'noop' }] }] });
    await until(async () => taskOf(await statusOf(hub, 'wf_t'), 'free').status === 'completed', 'the task without files to finish');
    await settleLoop();
    const blocked = taskOf(await statusOf(hub, 'wf_t'), 'blocked');
    expect(blocked.assigned_agent).toBeNull();
    expect(blocked.status).not.toBe('completed');
  });
});

describe('the queue', () => {
  it('grants in priority order (critical > high > medium > low, FIFO within one) when resources free up', async () => {
    const all = await request(hub, 'wf_a', { resources: { agents: 4 } });
    for (const [id, priority] of [['low', 'low'], ['med1', 'medium'], ['crit', 'critical'], ['med2', 'medium'], ['high', 'high']] as const) {
      expect((await request(hub, 'wf_b', { request_id: id, priority, resources: { agents: 2 } })).status).toBe('queued');
    }
    expect((await resourcesView(hub)).queue.map((q) => q.request_id)).toEqual(['crit', 'high', 'med1', 'med2', 'low']);

    const first = await release(hub, 'wf_a', { allocation_id: all.allocated_resources!.allocation_id });
    expect(first.granted_from_queue.map((g) => g.request_id)).toEqual(['crit', 'high']);
    const byRequest = new Map((await resourcesView(hub)).allocations.map((a) => [a.request_id, a.allocation_id]));
    expect((await release(hub, 'wf_b', { allocation_id: byRequest.get('high')! })).granted_from_queue.map((g) => g.request_id)).toEqual(['med1']);
    expect((await release(hub, 'wf_b', { allocation_id: byRequest.get('crit')! })).granted_from_queue.map((g) => g.request_id)).toEqual(['med2']);
    expect(resourceEvents(hub, 'RESOURCE_ALLOCATED').map((e) => e.data.request_id)).toEqual([expect.stringMatching(/^req_/), 'crit', 'high', 'med1', 'med2']);
    expect((await resourcesView(hub)).queue.map((q) => q.request_id)).toEqual(['low']);
  });

  it('a smaller request behind one that does not fit yet is granted first (first fit)', async () => {
    await request(hub, 'wf_a', { resources: { agents: 3 } });
    const cores = await request(hub, 'wf_a', { resources: { cpu_cores: 4 } });
    expect((await request(hub, 'wf_b', { request_id: 'big', priority: 'high', resources: { agents: 4 } })).status).toBe('queued');
    expect((await request(hub, 'wf_b', { request_id: 'small', priority: 'low', resources: { agents: 1, cpu_cores: 1 } })).status).toBe('queued');
    // the cores come back: `big` still does not fit (one agent free), `small` does
    const released = await release(hub, 'wf_a', { allocation_id: cores.allocated_resources!.allocation_id });
    expect(released.granted_from_queue.map((g) => g.request_id)).toEqual(['small']);
    expect((await resourcesView(hub)).queue.map((q) => q.request_id)).toEqual(['big']);
  });

  it('max_wait_time: a queued request expires (RESOURCE_DEALLOCATED, granted false); a queued one can be cancelled', async () => {
    await request(hub, 'wf_a', { resources: { agents: 4 } });
    const waiting = await request(hub, 'wf_b', { request_id: 'req_w', resources: { agents: 1 }, constraints: { max_wait_time: '5m' } });
    await request(hub, 'wf_b', { request_id: 'req_c', resources: { agents: 1 } });
    clock.advance(5 * MINUTE - 1);
    expect((await resourcesView(hub)).queue).toHaveLength(2);
    clock.advance(1);
    expect((await resourcesView(hub)).queue.map((q) => q.request_id)).toEqual(['req_c']);
    expect(resourceEvents(hub, 'RESOURCE_DEALLOCATED').map((e) => e.data)).toEqual([
      expect.objectContaining({ allocation_id: waiting.allocation_id, request_id: 'req_w', granted: false, release_reason: 'max_wait_time (5m) expired while queued' }),
    ]);
    expect(await release(hub, 'wf_b', { request_id: 'req_c' })).toMatchObject({ status: 'cancelled', granted_from_queue: [] });
    expect((await resourcesView(hub)).queue).toEqual([]);
  });

  it('auto-release after duration_hours frees the resources and grants what waits', async () => {
    const short = await request(hub, 'wf_a', { resources: { agents: 4, duration_hours: 0.5 } });
    expect(short.restrictions!.auto_release_timeout).toBe('30m');
    const queued = await request(hub, 'wf_b', { resources: { agents: 2 }, constraints: { max_wait_time: '1h' } });
    expect(queued.alternatives[0]!.available_at).toBe(new Date(clock.now() + 30 * MINUTE).toISOString());
    clock.advance(30 * MINUTE);
    expect(resourceEvents(hub, 'RESOURCE_DEALLOCATED')[0]!.data).toMatchObject({ allocation_id: short.allocated_resources!.allocation_id, release_reason: 'auto_release_timeout (30m) reached' });
    expect((await resourcesView(hub)).allocations.map((a) => a.allocation_id)).toEqual([queued.allocation_id]);
    // the granted one is not expired by its old max_wait_time
    clock.advance(45 * MINUTE);
    expect((await resourcesView(hub)).allocations.map((a) => a.allocation_id)).toEqual([queued.allocation_id]);
  });
});

describe('workflow end', () => {
  it("releases the workflow's allocations and cancels its queued requests; an ended workflow gets none", async () => {
    await run(hub, 'wf_t', { name: 't', phases: [{ name: 'work', tasks: [{ id: 'long', handler: 'sleep', input: { ms: 60_000 } }] }] });
    await request(hub, 'wf_t', { resources: { agents: 4, exclusive_files: ['out.txt'] } });
    await request(hub, 'wf_t', { resources: { agents: 1 } });
    const other = await request(hub, 'wf_a', { resources: { exclusive_files: ['out.txt'] } });
    await ok(hub, { operation: 'cancel', workflow_id: 'wf_t' });
    await until(() => resourceEvents(hub, 'RESOURCE_ALLOCATED').length === 2, "wf_a's request to be granted");
    expect(resourceEvents(hub, 'RESOURCE_DEALLOCATED').filter((e) => e.workflow_id === 'wf_t').map((e) => e.data.release_reason)).toEqual(['workflow cancelled', 'workflow cancelled']);
    expect((await resourcesView(hub)).allocations.map((a) => a.allocation_id)).toEqual([other.allocation_id]);
    const late = await fails(hub, { operation: 'request-resources', workflow_id: 'wf_t', parameters: { resources: { agents: 1 } } });
    expect(late.error.code).toBe('INVALID_TRANSITION');
  });
});
