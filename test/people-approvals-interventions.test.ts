/**
 * People in the loop (DESIGN §12), on a real hub and pool with a manual
 * clock: approval gates (waiting_approval holds no agent; approve, reject,
 * deadlines with on_timeout; answers survive a restart) and interventions
 * (on_failure: intervene stops the workflow in needs_intervention until
 * retry-task or skip-task).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Hub, ManualClock, WorkflowDefinition } from '../src/index.js';
import { closeHub, eachTestOwnHub, eventsOf, fails, makeHub, ok, run, statusOf, taskOf, until, waitFor } from './hub-fixtures.js';

let hub: Hub;
let clock: ManualClock;
eachTestOwnHub((made) => ({ hub, clock } = made));

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'troupe-people-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** build -> release (an approval) -> deploy. */
function gated(approval: Record<string, unknown> = {}, extra: Partial<WorkflowDefinition> = {}): WorkflowDefinition {
  return {
    name: 'gated',
    ...extra,
    phases: [
      {
        name: 'ship',
        tasks: [
          { id: 'build', handler: 'echo', input: { value: { version: '1.4.2' } } },
          { id: 'release', handler: 'approval', depends_on: ['build'], retries: 3, input: { prompt: 'Release ${{ tasks.build.output.version }}?', ...approval } },
          { id: 'deploy', handler: 'echo', depends_on: ['release'], input: { value: '${{ tasks.release.output.by }}' } },
        ],
      },
    ],
  };
}

const waiting = async (h: Hub, id: string, taskId: string) =>
  until(async () => taskOf(await statusOf(h, id), taskId).status === 'waiting_approval', `${taskId} to wait for approval`);

describe('approval gates', () => {
  it('waits holding no agent, is listed with its rendered prompt, and completes when approved', async () => {
    await run(hub, 'g1', gated({ timeout: '1h' }));
    await waiting(hub, 'g1', 'release');
    const listed = (await ok(hub, { operation: 'approvals' })).result as { approvals: Record<string, unknown>[] };
    expect(listed.approvals).toEqual([
      expect.objectContaining({ workflow_id: 'g1', task_id: 'release', prompt: 'Release 1.4.2?', on_timeout: 'reject', deadline: expect.any(String) }),
    ]);
    expect(eventsOf(hub, 'g1', 'APPROVAL_REQUESTED')[0]!.data).toMatchObject({ task_id: 'release', prompt: 'Release 1.4.2?' });
    // no agent and no thread are held while it waits
    const pool = (await ok(hub, { operation: 'monitor-pool' })).result as { agents: { load: number }[]; pool: { queue_depth: number } };
    expect(pool.agents.every((a) => a.load === 0)).toBe(true);
    const answered = await ok(hub, { operation: 'approve', workflow_id: 'g1', parameters: { task_id: 'release', by: 'alice', comment: 'ship it' } });
    expect(answered.result).toMatchObject({ task_id: 'release', approved: true, by: 'alice' });
    expect((await waitFor(hub, 'g1')).status).toBe('completed');
    const status = await ok(hub, { operation: 'get-status', workflow_id: 'g1', parameters: { include_output: true } });
    const tasks = (status.result as { workflow_state: { phases: { tasks: { task_id: string; output?: unknown }[] }[] } }).workflow_state.phases[0]!.tasks;
    expect(tasks[1]!.output).toMatchObject({ approved: true, by: 'alice', comment: 'ship it', at: expect.any(String) });
    expect(tasks[2]!.output).toBe('alice');
    expect(eventsOf(hub, 'g1', 'APPROVAL_GRANTED')[0]!.data).toMatchObject({ task_id: 'release', by: 'alice', comment: 'ship it' });
    // a second answer names the state
    const twice = await fails(hub, { operation: 'approve', workflow_id: 'g1', parameters: { task_id: 'release', by: 'bob' } });
    expect(twice.error).toMatchObject({ code: 'APPROVAL_NOT_PENDING' });
    expect(twice.error.message).toContain('approved by alice');
  });

  it('a rejection fails the task with APPROVAL_REJECTED, not retried', async () => {
    await run(hub, 'g2', gated());
    await waiting(hub, 'g2', 'release');
    await ok(hub, { operation: 'reject', workflow_id: 'g2', parameters: { task_id: 'release', by: 'carol', reason: 'not on Friday' } });
    expect((await waitFor(hub, 'g2')).status).toBe('failed');
    const release = taskOf(await statusOf(hub, 'g2'), 'release');
    expect(release).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'APPROVAL_REJECTED', retryable: false } });
    expect(release.error!.message).toContain('carol: not on Friday');
    expect(eventsOf(hub, 'g2', 'APPROVAL_REJECTED')[0]!.data).toMatchObject({ by: 'carol', reason: 'not on Friday' });
  });

  it.each([
    ['reject', 'failed'],
    ['approve', 'completed'],
  ])('its deadline on the clock applies on_timeout: %s', async (onTimeout, end) => {
    await run(hub, 'g3', gated({ timeout: '30m', on_timeout: onTimeout }));
    await waiting(hub, 'g3', 'release');
    clock.advance(29 * 60_000);
    expect(taskOf(await statusOf(hub, 'g3'), 'release').status).toBe('waiting_approval');
    clock.advance(60_000);
    expect((await waitFor(hub, 'g3')).status).toBe(end);
    const late = await fails(hub, { operation: 'approve', workflow_id: 'g3', parameters: { task_id: 'release', by: 'dave' } });
    expect(late.error.code).toBe('APPROVAL_NOT_PENDING');
    expect(late.error.message).toContain(end === 'failed' ? 'rejected by timeout' : 'approved by timeout');
  });

  it('refuses unknown workflows and tasks, and tasks that do not wait for an approval', async () => {
    await run(hub, 'g4', gated());
    await waiting(hub, 'g4', 'release');
    expect((await fails(hub, { operation: 'approve', workflow_id: 'nope', parameters: { task_id: 'release', by: 'x' } })).error.code).toBe('WORKFLOW_NOT_FOUND');
    expect((await fails(hub, { operation: 'approve', workflow_id: 'g4', parameters: { task_id: 'ghost', by: 'x' } })).error.code).toBe('TASK_NOT_FOUND');
    const notWaiting = await fails(hub, { operation: 'reject', workflow_id: 'g4', parameters: { task_id: 'build', by: 'x' } });
    expect(notWaiting.error).toMatchObject({ code: 'APPROVAL_NOT_PENDING' });
    expect(notWaiting.error.message).toContain('it is completed');
    expect((await fails(hub, { operation: 'approve', workflow_id: 'g4', parameters: { task_id: 'release' } })).error.code).toBe('VALIDATION_FAILED');
  });

  it('refuses a bad approval input at create', async () => {
    const bad = await fails(hub, { operation: 'create', workflow_id: 'g5', parameters: { name: 'x', phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'approval', input: { prompt: 'ok?', on_timeout: 'maybe' } }] }] } });
    expect(bad.error.code).toBe('VALIDATION_FAILED');
    expect(bad.error.details).toContain('on_timeout');
  });

  it('a pending approval and its deadline survive a restart, and are answered after it', async () => {
    const dataDir = join(dir, 'data');
    let durable = makeHub({ dataDir });
    await durable.hub.ready;
    await run(durable.hub, 'g6', gated({ timeout: '2h' }));
    await waiting(durable.hub, 'g6', 'release');
    await closeHub(durable.hub, durable.clock);
    durable = makeHub({ dataDir });
    await durable.hub.ready;
    try {
      const listed = (await ok(durable.hub, { operation: 'approvals' })).result as { approvals: { task_id: string; prompt: string }[] };
      expect(listed.approvals).toEqual([expect.objectContaining({ task_id: 'release', prompt: 'Release 1.4.2?' })]);
      await ok(durable.hub, { operation: 'approve', workflow_id: 'g6', parameters: { task_id: 'release', by: 'erin' } });
      expect((await waitFor(durable.hub, 'g6')).status).toBe('completed');
    } finally {
      await closeHub(durable.hub, durable.clock);
    }
    // and a deadline re-arms from the record: a new workflow, a restart, then the clock passes it
    durable = makeHub({ dataDir });
    await durable.hub.ready;
    await run(durable.hub, 'g7', gated({ timeout: '10m' }));
    await waiting(durable.hub, 'g7', 'release');
    await closeHub(durable.hub, durable.clock);
    durable = makeHub({ dataDir });
    await durable.hub.ready;
    try {
      durable.clock.advance(11 * 60_000);
      expect((await waitFor(durable.hub, 'g7')).status).toBe('failed');
      expect(taskOf(await statusOf(durable.hub, 'g7'), 'release').error).toMatchObject({ code: 'APPROVAL_REJECTED' });
    } finally {
      await closeHub(durable.hub, durable.clock);
    }
  });
});

/** prepare -> deploy (fails once, then succeeds) -> verify. */
function fragile(taskExtra: Record<string, unknown> = { on_failure: 'intervene' }, extra: Partial<WorkflowDefinition> = {}): WorkflowDefinition {
  return {
    name: 'fragile',
    ...extra,
    phases: [
      {
        name: 'p',
        tasks: [
          { id: 'prepare', handler: 'noop' },
          { id: 'deploy', handler: 'fail', depends_on: ['prepare'], input: { message: 'cluster unreachable', retryable: false, times: 1 }, ...taskExtra },
          { id: 'verify', handler: 'echo', depends_on: ['deploy'], input: { value: '${{ tasks.deploy.output }}' } },
        ],
      },
    ],
  };
}

describe('interventions', () => {
  it('a failure with on_failure: intervene waits for a person; retry-task gives fresh attempts and the workflow goes on', async () => {
    await run(hub, 'i1', fragile());
    expect((await waitFor(hub, 'i1')).status).toBe('needs_intervention');
    const state = await statusOf(hub, 'i1');
    expect(taskOf(state, 'deploy')).toMatchObject({ status: 'needs_intervention', attempts: 1, error: { message: 'cluster unreachable' } });
    expect(taskOf(state, 'verify').status).toBe('pending');
    const alarm = eventsOf(hub, 'i1', 'ERROR_ENCOUNTERED')[0]!;
    expect(alarm.data).toMatchObject({ manual_intervention_required: true, task_id: 'deploy' });
    expect(alarm.data.options).toEqual(expect.arrayContaining(['i1 retry-task {"task_id":"deploy"}']));
    const retried = await ok(hub, { operation: 'retry-task', workflow_id: 'i1', parameters: { task_id: 'deploy' } });
    expect(retried.result).toMatchObject({ previous_status: 'needs_intervention' });
    expect((await waitFor(hub, 'i1')).status).toBe('completed');
    expect(taskOf(await statusOf(hub, 'i1'), 'deploy')).toMatchObject({ status: 'completed', attempts: 2 });
    expect(eventsOf(hub, 'i1', 'WORKFLOW_RESUMED')[0]!.data).toMatchObject({ state_validation: 'intervention resolved' });
  });

  it('skip-task ends the task skipped (its dependents benignly skipped), or completed with the output given', async () => {
    await run(hub, 'i2', fragile({ on_failure: 'intervene', input: { message: 'down', retryable: false } }));
    expect((await waitFor(hub, 'i2')).status).toBe('needs_intervention');
    await ok(hub, { operation: 'skip-task', workflow_id: 'i2', parameters: { task_id: 'deploy' } });
    expect((await waitFor(hub, 'i2')).status).toBe('completed');
    expect(taskOf(await statusOf(hub, 'i2'), 'deploy')).toMatchObject({ status: 'skipped', reason: 'skipped by a person (skip-task)' });
    expect(taskOf(await statusOf(hub, 'i2'), 'verify').status).toBe('skipped');

    await run(hub, 'i3', fragile({ on_failure: 'intervene', input: { message: 'down', retryable: false } }));
    expect((await waitFor(hub, 'i3')).status).toBe('needs_intervention');
    await ok(hub, { operation: 'skip-task', workflow_id: 'i3', parameters: { task_id: 'deploy', output: { url: 'https://by-hand.test' } } });
    expect((await waitFor(hub, 'i3')).status).toBe('completed');
    const status = await ok(hub, { operation: 'get-status', workflow_id: 'i3', parameters: { include_output: true } });
    const verify = (status.result as { workflow_state: { phases: { tasks: { output?: unknown }[] }[] } }).workflow_state.phases[0]!.tasks[2]!;
    expect(verify.output).toEqual({ url: 'https://by-hand.test' });
  });

  it('failure_tolerance: intervene makes every task wait for a person; cancel still works', async () => {
    await run(hub, 'i4', fragile({}, { failure_tolerance: 'intervene' }));
    expect((await waitFor(hub, 'i4')).status).toBe('needs_intervention');
    await ok(hub, { operation: 'cancel', workflow_id: 'i4' });
    expect((await waitFor(hub, 'i4')).status).toBe('cancelled');
    expect(taskOf(await statusOf(hub, 'i4'), 'deploy').status).toBe('cancelled');
  });

  it('refuses retry-task and skip-task outside needs_intervention (naming what is allowed), and for tasks that do not wait', async () => {
    await run(hub, 'i5', { name: 'x', phases: [{ name: 'p', tasks: [{ id: 'slow', handler: 'sleep', input: { ms: 60_000 } }, { id: 'bad', handler: 'fail', input: { retryable: false }, on_failure: 'intervene' }] }] });
    expect((await waitFor(hub, 'i5')).status).toBe('needs_intervention');
    const wrongTask = await fails(hub, { operation: 'retry-task', workflow_id: 'i5', parameters: { task_id: 'slow' } });
    expect(wrongTask.error.code).toBe('INVALID_TRANSITION');
    expect(wrongTask.error.message).toMatch(/it is (assigned|running)/);
    expect(wrongTask.error.details).toContain('bad');
    expect((await fails(hub, { operation: 'skip-task', workflow_id: 'i5', parameters: { task_id: 'ghost' } })).error.code).toBe('TASK_NOT_FOUND');
    await ok(hub, { operation: 'skip-task', workflow_id: 'i5', parameters: { task_id: 'bad' } });
    const running = await fails(hub, { operation: 'retry-task', workflow_id: 'i5', parameters: { task_id: 'bad' } });
    expect(running.error.code).toBe('INVALID_TRANSITION');
    expect(running.error.details).toContain('Allowed in state running');
    expect(running.error.details).not.toContain('retry-task');
  });

  it('a workflow waiting for intervention stays so across a restart, and is answered after it', async () => {
    const dataDir = join(dir, 'data');
    let durable = makeHub({ dataDir });
    await durable.hub.ready;
    await run(durable.hub, 'i6', fragile());
    expect((await waitFor(durable.hub, 'i6')).status).toBe('needs_intervention');
    await closeHub(durable.hub, durable.clock);
    durable = makeHub({ dataDir });
    await durable.hub.ready;
    try {
      expect((await statusOf(durable.hub, 'i6')).status).toBe('needs_intervention');
      await ok(durable.hub, { operation: 'retry-task', workflow_id: 'i6', parameters: { task_id: 'deploy' } });
      expect((await waitFor(durable.hub, 'i6')).status).toBe('completed');
    } finally {
      await closeHub(durable.hub, durable.clock);
    }
  });
});
