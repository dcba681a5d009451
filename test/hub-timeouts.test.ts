/**
 * Deadlines on the manual clock: the workflow timeout (a deadline in context,
 * DESIGN §2), a task's run-time timeout (armed when the worker starts it),
 * and `wait {timeout}`. The clock is moved by hand; nothing sleeps.
 */
import { describe, expect, it } from 'vitest';
import type { Hub, ManualClock } from '../src/index.js';
import { eachTestOwnHub, eventsOf, fails, ok, runLongTask, settleLoop, statusOf, taskOf, untilAgentFree, untilEvent, waitFor } from './hub-fixtures.js';

let hub: Hub;
let clock: ManualClock;

eachTestOwnHub((made) => ({ hub, clock } = made));

describe('workflow timeout', () => {
  it("timeout '1s' with a task sleeping 60 s: after 1 s on the clock the workflow fails with WORKFLOW_TIMEOUT", async () => {
    await runLongTask(hub, 'wf_t', { timeout: '1s' });
    const startedAt = Date.parse((await statusOf(hub, 'wf_t')).started_at!);

    clock.advance(999);
    await settleLoop();
    expect((await statusOf(hub, 'wf_t')).status).toBe('running');

    clock.advance(1);
    expect(await waitFor(hub, 'wf_t')).toEqual({
      workflow_id: 'wf_t',
      status: 'failed',
      failure: { code: 'WORKFLOW_TIMEOUT', message: 'Workflow wf_t passed its timeout' },
    });
    const state = await statusOf(hub, 'wf_t');
    expect(Date.parse(state.finished_at!) - startedAt).toBe(1_000);
    expect(state.phases[0]!.status).toBe('failed');
    expect(taskOf(state, 'long')).toMatchObject({ status: 'cancelled', reason: 'workflow timed out' });

    const failed = eventsOf(hub, 'wf_t', 'WORKFLOW_FAILED');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.data).toMatchObject({ status: 'failed', error: { code: 'WORKFLOW_TIMEOUT' }, duration_ms: 1_000 });
    expect(failed[0]!.severity).toBe('error');
    // the sleeping task was aborted on its worker: its agent is free with no more time passing
    await untilAgentFree(hub, 'wf_t', 'long');
    expect(taskOf(await statusOf(hub, 'wf_t'), 'long').status).toBe('cancelled');
  });

  it('the deadline counts from start, not from create', async () => {
    await ok(hub, {
      operation: 'create',
      workflow_id: 'wf_s',
      parameters: { name: 's', timeout: '1s', phases: [{ name: 'p', tasks: [{ id: 'long', handler: 'sleep', input: { ms: 60_000 } }] }] },
    });
    clock.advance(5_000);
    expect((await statusOf(hub, 'wf_s')).status).toBe('created');
    await ok(hub, { operation: 'start', workflow_id: 'wf_s' });
    await untilEvent(hub, 'wf_s', 'TASK_STARTED', 'long');
    clock.advance(999);
    await settleLoop();
    expect((await statusOf(hub, 'wf_s')).status).toBe('running');
    clock.advance(1);
    expect((await waitFor(hub, 'wf_s')).failure?.code).toBe('WORKFLOW_TIMEOUT');
  });

  it('a paused workflow still times out', async () => {
    await runLongTask(hub, 'wf_pt', { timeout: '2s' });
    await ok(hub, { operation: 'pause', workflow_id: 'wf_pt' });
    clock.advance(2_000);
    expect(await waitFor(hub, 'wf_pt')).toMatchObject({ status: 'failed', failure: { code: 'WORKFLOW_TIMEOUT' } });
  });

  it('a workflow that ends in time leaves no deadline timer behind', async () => {
    const before = clock.pending();
    await ok(hub, { operation: 'create', workflow_id: 'wf_q', parameters: { name: 'q', timeout: '1s', phases: [{ name: 'p', tasks: [{ id: 'n', handler: 'noop' }] }] } });
    await ok(hub, { operation: 'start', workflow_id: 'wf_q' });
    expect((await waitFor(hub, 'wf_q')).status).toBe('completed');
    expect(clock.pending()).toBe(before);
    clock.advance(5_000);
    expect((await statusOf(hub, 'wf_q')).status).toBe('completed');
  });
});

describe('task timeout', () => {
  it('a task running longer than its timeout fails with TASK_TIMEOUT, measured from its start', async () => {
    await ok(hub, {
      operation: 'create',
      workflow_id: 'wf_tt',
      parameters: { name: 'tt', phases: [{ name: 'p', tasks: [{ id: 'long', handler: 'sleep', input: { ms: 60_000 }, timeout: '2s' }] }] },
    });
    await ok(hub, { operation: 'start', workflow_id: 'wf_tt' });
    await untilEvent(hub, 'wf_tt', 'TASK_STARTED', 'long');
    clock.advance(1_999);
    await settleLoop();
    expect(taskOf(await statusOf(hub, 'wf_tt'), 'long').status).toBe('running');
    clock.advance(1);
    expect(await waitFor(hub, 'wf_tt')).toMatchObject({ status: 'failed', failure: { code: 'TASK_FAILED' } });
    const timeout = eventsOf(hub, 'wf_tt', 'TASK_TIMEOUT', 'long');
    expect(timeout).toHaveLength(1);
    expect(timeout[0]!.data).toMatchObject({ execution_time_ms: 2_000, will_retry: false, error: { code: 'TASK_TIMEOUT' } });
    expect(taskOf(await statusOf(hub, 'wf_tt'), 'long')).toMatchObject({ status: 'failed', error: { code: 'TASK_TIMEOUT' } });
  });
});

describe('wait {timeout}', () => {
  it('answers WAIT_TIMEOUT once the clock passes the timeout, and the workflow runs on', async () => {
    await runLongTask(hub, 'wf_w');
    let answered = false;
    const waiting = hub.execute({ operation: 'wait', workflow_id: 'wf_w', parameters: { timeout: '5s' } }).then((r) => {
      answered = true;
      return r;
    });
    await settleLoop();
    clock.advance(4_999);
    await settleLoop();
    expect(answered).toBe(false);

    clock.advance(1);
    const response = await waiting;
    expect(response).toMatchObject({
      status: 'error',
      operation: 'wait',
      workflow_id: 'wf_w',
      error: { code: 'WAIT_TIMEOUT', message: 'Workflow wf_w did not settle within 5s', details: 'It is running' },
      recovery_suggestions: ["Wait again with a longer 'timeout', or inspect with 'get-status'"],
    });
    expect((await statusOf(hub, 'wf_w')).status).toBe('running');
  });

  it('answers as soon as the workflow settles, and its timer is cancelled', async () => {
    await runLongTask(hub, 'wf_v');
    const before = clock.pending();
    const waiting = hub.execute({ operation: 'wait', workflow_id: 'wf_v', parameters: { timeout: '10m' } });
    await settleLoop();
    expect(clock.pending()).toBe(before + 1);
    await ok(hub, { operation: 'cancel', workflow_id: 'wf_v' });
    expect(await waiting).toMatchObject({ status: 'success', result: { workflow_id: 'wf_v', status: 'cancelled' } });
    // once the aborted run is back, no timer is left: not the wait's, the deadline's or the run's
    await untilAgentFree(hub, 'wf_v', 'long');
    // only the health monitor's periodic check is left
    expect(clock.pending()).toBe(1);
  });

  it('a bad timeout is a VALIDATION_FAILED, and waiting on an unknown workflow WORKFLOW_NOT_FOUND', async () => {
    expect((await fails(hub, { operation: 'wait', workflow_id: 'wf_none', parameters: { timeout: 'forever' } })).error.code).toBe('VALIDATION_FAILED');
    expect((await fails(hub, { operation: 'wait', workflow_id: 'wf_none' })).error.code).toBe('WORKFLOW_NOT_FOUND');
  });
});
