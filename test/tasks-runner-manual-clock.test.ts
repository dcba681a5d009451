/**
 * createPiscinaRunner on a real Piscina pool with an injected manual clock:
 * the timeout and the abort grace run on the runner's clock, so the tests
 * move time by hand and the run-time arithmetic is exact.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../src/actors/clock.js';
import { createPiscinaRunner, type TaskOutcome, type TaskRunner } from '../src/actors/task-runner.js';
import type { TaskError } from '../src/machines/types.js';
import { errorOf, outputOf, task } from './fixtures/tasks.js';

const GRACE = 500;
let clock: ManualClock;
let runner: TaskRunner;

beforeAll(() => {
  clock = createManualClock(1_000_000);
  runner = createPiscinaRunner({ maxThreads: 1, abortGraceMs: GRACE, clock });
});

afterAll(async () => {
  await runner?.close();
});

const cancelled: TaskError = { name: 'CancelError', code: 'TASK_CANCELLED', message: 'cancelled by the test', retryable: false };

/** Runs a task on `r`, noting when it starts and whether it settled. */
function track(r: TaskRunner, ...args: Parameters<typeof task>) {
  const starts: number[] = [];
  let onStarted!: (at: number) => void;
  const started = new Promise<number>((resolve) => (onStarted = resolve));
  const run = r.run(task(...args), {
    onStarted: (at) => {
      starts.push(at);
      onStarted(at);
    },
  });
  const state = { settled: false, starts };
  const result = run.result.then((outcome: TaskOutcome) => {
    state.settled = true;
    return outcome;
  });
  return { abort: run.abort, result, started, state };
}

describe('timeout on the runner clock', () => {
  it('is armed when the worker starts the task, and fires after exactly timeoutMs of run time', async () => {
    const run = track(runner, 'sleep', { ms: 10_000 }, { timeoutMs: 100 });
    // queue time: no timer yet, however far the clock moves
    expect(clock.pending()).toBe(0);
    const at = await run.started;
    expect(at).toBe(clock.now());
    expect(clock.pending()).toBe(1);

    clock.advance(99);
    await sleep(50);
    expect(run.state.settled).toBe(false);

    clock.advance(1);
    const outcome = await run.result;
    expect(errorOf(outcome).code).toBe('TASK_TIMEOUT');
    expect(outcome.durationMs).toBe(100);
    // the sleep honoured its signal: the grace timer was cancelled with the rest
    expect(clock.pending()).toBe(0);
    expect(run.state.starts).toEqual([at]);
  });

  it('a task that finishes in time cancels its timeout timer', async () => {
    const run = track(runner, 'sleep', { ms: 30 }, { timeoutMs: 100 });
    await run.started;
    expect(clock.pending()).toBe(1);
    expect(outputOf(await run.result)).toEqual({ slept_ms: 30 });
    expect(clock.pending()).toBe(0);
  });

  it('a handler that ignores its signal is terminated when the grace runs out, not before', async () => {
    const run = track(runner, 'cpu', { iterations: 1e10 }, { timeoutMs: 100 });
    await run.started;
    clock.advance(100);
    // the abort went out; the busy loop cannot see it; only the grace timer is left
    expect(clock.pending()).toBe(1);
    await sleep(100);
    expect(run.state.settled).toBe(false);

    clock.advance(GRACE);
    const outcome = await run.result;
    expect(errorOf(outcome).code).toBe('TASK_TIMEOUT');
    expect(outcome.durationMs).toBe(100 + GRACE);
    expect(clock.pending()).toBe(0);
    // a fresh thread takes over
    expect(outputOf(await runner.run(task('echo', { value: 'after' })).result)).toBe('after');
  });

  it('abort on a running task wins over a later timeout', async () => {
    const run = track(runner, 'sleep', { ms: 10_000 }, { timeoutMs: 100 });
    await run.started;
    run.abort(cancelled);
    const outcome = await run.result;
    expect(errorOf(outcome)).toEqual(cancelled);
    expect(outcome.durationMs).toBe(0);
    expect(clock.pending()).toBe(0);
    clock.advance(1_000);
  });
});

describe('close', () => {
  it('resolves (never rejects) the results of running and queued tasks, as RUNNER_CLOSED', async () => {
    const own = createPiscinaRunner({ maxThreads: 1, clock: createManualClock(0) });
    const running = track(own, 'sleep', { ms: 10_000 });
    await running.started;
    const queued = track(own, 'echo', { value: 1 });
    await own.close();
    // close stops now: the hub drains running tasks within its grace period before it closes the runner
    expect(errorOf(await running.result).code).toBe('RUNNER_CLOSED');
    expect(errorOf(await queued.result)).toMatchObject({ code: 'RUNNER_CLOSED', retryable: true });
    const after = await own.run({ key: 'after-close', workflowId: 'wf', taskId: 't', handler: 'noop', input: {}, attempt: 1, idempotencyKey: 'k', timeoutMs: 1_000 }).result;
    expect(after).toMatchObject({ ok: false, error: { code: 'RUNNER_CLOSED' } });
  });

  // Regression: close() used to close the control channel before the pool, so a timeout falling
  // due meanwhile threw InvalidStateError from a timer callback.
  it('a timeout falling due while close() waits for a running task does not throw', async () => {
    const manual = createManualClock(0);
    const own = createPiscinaRunner({ maxThreads: 1, clock: manual, abortGraceMs: 50 });
    const run = track(own, 'sleep', { ms: 300 }, { timeoutMs: 100 });
    await run.started;
    const closed = own.close();
    try {
      expect(() => manual.advance(100)).not.toThrow();
    } finally {
      await closed;
      await run.result;
    }
  });
});
