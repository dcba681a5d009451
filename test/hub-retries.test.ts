/**
 * Retries with exponential backoff on the manual clock (DESIGN §3): a failed
 * attempt goes back to `ready` with a `retry_at`, nothing runs before it, and
 * moving the clock past it runs the next attempt on the real pool.
 * With random() = 0.5 the jitter factor is 0.75: attempt n waits
 * 0.75 x base x 2^(n-1), base 1 s by default.
 */
import { describe, expect, it } from 'vitest';
import type { Hub, ManualClock } from '../src/index.js';
import { eachTestOwnHub, eventsOf, run, settleLoop, statusOf, taskOf, until, waitFor } from './hub-fixtures.js';

let hub: Hub;
let clock: ManualClock;

const replaceHub = eachTestOwnHub((made) => ({ hub, clock } = made));

const failing = (input: Record<string, unknown>, retries: number) => ({
  name: 'retry',
  phases: [{ name: 'p', tasks: [{ id: 'flaky', handler: 'fail', input, retries }] }],
});

/** Waits until the task failed `attempts` times and waits for its retry. */
async function untilRetryPending(id: string, attempts: number) {
  await until(async () => {
    const task = taskOf(await statusOf(hub, id), 'flaky');
    return task.status === 'ready' && task.attempts === attempts;
  }, `attempt ${attempts} of ${id} to fail`);
  return taskOf(await statusOf(hub, id), 'flaky');
}

describe('retries', () => {
  it('fail {times:1} with retries:1: attempt 1 fails, retry_at after the backoff, attempt 2 completes', async () => {
    await run(hub, 'wf_r', failing({ times: 1 }, 1));
    const failedAt = clock.now();
    const pending = await untilRetryPending('wf_r', 1);
    expect(pending).toMatchObject({ status: 'ready', attempts: 1, assigned_agent: null });
    expect(pending.error).toMatchObject({ code: 'TASK_FAILED_ON_PURPOSE', message: 'task failed on purpose', retryable: true });
    expect(pending.retry_at).toBe(new Date(failedAt + 750).toISOString());
    const [failure] = eventsOf(hub, 'wf_r', 'TASK_FAILED', 'flaky');
    expect(failure!.data).toMatchObject({ attempt: 1, will_retry: true });
    expect(failure!.severity).toBe('warning');
    expect((await statusOf(hub, 'wf_r')).status).toBe('running');

    // nothing runs before the backoff is over
    clock.advance(749);
    await settleLoop();
    expect(eventsOf(hub, 'wf_r', 'TASK_ASSIGNED', 'flaky')).toHaveLength(1);
    expect(taskOf(await statusOf(hub, 'wf_r'), 'flaky')).toMatchObject({ status: 'ready', attempts: 1 });

    clock.advance(1);
    expect(await waitFor(hub, 'wf_r')).toEqual({ workflow_id: 'wf_r', status: 'completed' });
    const state = await statusOf(hub, 'wf_r');
    expect(taskOf(state, 'flaky')).toMatchObject({ status: 'completed', attempts: 2, output: { succeeded_on_attempt: 2 } });
    expect(taskOf(state, 'flaky').retry_at).toBeUndefined();
    expect(state.metrics.retries).toBe(1);
    expect(eventsOf(hub, 'wf_r', 'TASK_ASSIGNED', 'flaky').map((e) => e.data.attempt)).toEqual([1, 2]);
  });

  it('retries exhausted: the backoff doubles per attempt, then the task and the workflow fail', async () => {
    await run(hub, 'wf_x', failing({ message: 'still broken' }, 2));
    let at = clock.now();
    expect((await untilRetryPending('wf_x', 1)).retry_at).toBe(new Date(at + 750).toISOString());
    clock.advance(750);
    at = clock.now();
    expect((await untilRetryPending('wf_x', 2)).retry_at).toBe(new Date(at + 1_500).toISOString());
    clock.advance(1_500);

    expect(await waitFor(hub, 'wf_x')).toEqual({
      workflow_id: 'wf_x',
      status: 'failed',
      failure: { code: 'TASK_FAILED', message: 'Task flaky in phase p failed: still broken' },
    });
    const state = await statusOf(hub, 'wf_x');
    expect(taskOf(state, 'flaky')).toMatchObject({ status: 'failed', attempts: 3, error: { message: 'still broken' } });
    expect(state.metrics).toMatchObject({ tasks_failed: 1, retries: 2 });
    expect(eventsOf(hub, 'wf_x', 'TASK_FAILED', 'flaky').map((e) => e.data.will_retry)).toEqual([true, true, false]);
  });

  it('a non-retryable error is not retried, whatever retries says', async () => {
    await run(hub, 'wf_n', failing({ retryable: false }, 3));
    expect((await waitFor(hub, 'wf_n')).status).toBe('failed');
    expect(taskOf(await statusOf(hub, 'wf_n'), 'flaky')).toMatchObject({ status: 'failed', attempts: 1 });
    expect(eventsOf(hub, 'wf_n', 'TASK_FAILED', 'flaky').map((e) => e.data.will_retry)).toEqual([false]);
  });

  it('the backoff honours retryBackoffBase and is capped by retryBackoffMax', async () => {
    await replaceHub({ retryBackoffBase: '100ms', retryBackoffMax: '150ms' });
    await run(hub, 'wf_b', failing({ times: 3 }, 3));
    // attempt 1: 0.75 x 100; attempt 2: 0.75 x 150 (200 capped); attempt 3: the same cap
    for (const [attempt, wait] of [
      [1, 75],
      [2, 113],
      [3, 113],
    ] as const) {
      const at = clock.now();
      expect((await untilRetryPending('wf_b', attempt)).retry_at, `attempt ${attempt}`).toBe(new Date(at + wait).toISOString());
      clock.advance(wait);
    }
    expect((await waitFor(hub, 'wf_b')).status).toBe('completed');
    expect(taskOf(await statusOf(hub, 'wf_b'), 'flaky').attempts).toBe(4);
  });

  it('a retry that falls due while the workflow is paused waits for resume', async () => {
    await run(hub, 'wf_p', failing({ times: 1 }, 1));
    await untilRetryPending('wf_p', 1);
    await hub.execute({ operation: 'pause', workflow_id: 'wf_p' });
    clock.advance(10_000);
    await settleLoop();
    expect(eventsOf(hub, 'wf_p', 'TASK_ASSIGNED', 'flaky')).toHaveLength(1);
    expect((await statusOf(hub, 'wf_p')).status).toBe('paused');
    await hub.execute({ operation: 'resume', workflow_id: 'wf_p' });
    expect((await waitFor(hub, 'wf_p')).status).toBe('completed');
  });
});
