/**
 * createPiscinaRunner on a real Piscina pool (no mocks): timeouts, aborts,
 * thread termination, hooks and stats. Real time is used only where the
 * pool's real timing is what is under test, with short durations.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPiscinaRunner, type TaskRunner } from '../src/actors/task-runner.js';
import type { TaskError } from '../src/machines/types.js';
import { errorOf, outputOf, processExists, task, waitFor } from './fixtures/tasks.js';

let runner: TaskRunner;
let tmp: string;

beforeAll(async () => {
  runner = createPiscinaRunner({ maxThreads: 2 });
  tmp = await mkdtemp(join(tmpdir(), 'troupe-runner-'));
  // start both threads now (minThreads is 0): a thread booting mid-test would skew the timing tests
  const warm = [startRun(runner, 'sleep', { ms: 10_000 }), startRun(runner, 'sleep', { ms: 10_000 })];
  await Promise.all(warm.map((w) => w.started));
  for (const w of warm) w.abort(cancelled);
  await Promise.all(warm.map((w) => w.result));
});

afterAll(async () => {
  await runner?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const cancelled: TaskError = { name: 'CancelError', code: 'TASK_CANCELLED', message: 'cancelled by the test', retryable: false };

/** Runs a task and resolves once the worker reported it started. */
function startRun(r: TaskRunner, ...args: Parameters<typeof task>) {
  let onStarted!: (at: number) => void;
  const started = new Promise<number>((resolve) => (onStarted = resolve));
  const run = r.run(task(...args), { onStarted });
  return { ...run, started };
}

describe('timeouts', () => {
  it('a task running longer than timeoutMs fails with TASK_TIMEOUT, retryable', async () => {
    const t0 = Date.now();
    const outcome = await runner.run(task('sleep', { ms: 5_000 }, { timeoutMs: 150 })).result;
    expect(errorOf(outcome)).toEqual({
      name: 'TimeoutError',
      code: 'TASK_TIMEOUT',
      message: 'The task ran longer than its timeout of 150 ms',
      retryable: true,
    });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(145);
    // the handler's signal ended it, long before the 5 s sleep would have
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('counts run time, not queue time', async () => {
    // saturate both threads, and only then submit: the third task must wait ~300 ms in the queue
    const busy = [startRun(runner, 'sleep', { ms: 300 }), startRun(runner, 'sleep', { ms: 300 })];
    await Promise.all(busy.map((b) => b.started));
    const submittedAt = Date.now();
    const queued = startRun(runner, 'sleep', { ms: 100 }, { timeoutMs: 250 });

    const outcome = await queued.result;
    const startedAt = await queued.started;
    expect(outputOf(outcome)).toEqual({ slept_ms: 100 });
    // it did wait: queue time + run time exceed the timeout, run time alone does not
    expect(startedAt - submittedAt).toBeGreaterThanOrEqual(150);
    expect(outcome.durationMs).toBeLessThan(250);
    for (const b of busy) expect(outputOf(await b.result)).toEqual({ slept_ms: 300 });
  });

  it('an exec task that times out has its process group killed', async () => {
    const pidFile = join(tmp, 'timeout.pid');
    const command = `echo $$ > ${pidFile}; exec sleep 30`;
    // long enough for the command's shepherd to start it (a Node process, through tsx from source)
    const outcome = await runner.run(task('exec', { command }, { timeoutMs: 5_000 })).result;
    expect(errorOf(outcome).code).toBe('TASK_TIMEOUT');
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    expect(pid).toBeGreaterThan(0);
    await waitFor(() => (processExists(pid) ? undefined : true), 2_000, `pid ${pid} to exit`);
  });
});

describe('abort', () => {
  it('abort(reason) on a running task resolves ok:false with that reason, through the handler signal', async () => {
    const run = startRun(runner, 'sleep', { ms: 5_000 });
    await run.started;
    const t0 = Date.now();
    run.abort(cancelled);
    const outcome = await run.result;
    expect(errorOf(outcome)).toEqual(cancelled);
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
    // well inside the 1 s grace: the sleep saw its signal, the thread was not terminated
    expect(Date.now() - t0).toBeLessThan(900);
  });

  it('the first reason wins when abort is called twice', async () => {
    const run = startRun(runner, 'sleep', { ms: 5_000 });
    await run.started;
    run.abort(cancelled);
    run.abort({ ...cancelled, code: 'SECOND' });
    expect(errorOf(await run.result)).toEqual(cancelled);
  });

  it('abort after the task finished changes nothing', async () => {
    const run = runner.run(task('echo', { value: 'done' }));
    const outcome = await run.result;
    run.abort(cancelled);
    expect(outputOf(outcome)).toBe('done');
  });

  it('abort of a queued task resolves with the reason and never starts it', async () => {
    const busy = [startRun(runner, 'sleep', { ms: 200 }), startRun(runner, 'sleep', { ms: 200 })];
    await Promise.all(busy.map((b) => b.started));
    let started = 0;
    const queued = runner.run(task('echo', { value: 1 }), { onStarted: () => started++ });
    queued.abort(cancelled);
    const outcome = await queued.result;
    expect(errorOf(outcome)).toEqual(cancelled);
    expect(outcome.durationMs).toBe(0);
    for (const b of busy) expect(outputOf(await b.result)).toEqual({ slept_ms: 200 });
    expect(started).toBe(0);
  });

  it('an aborted exec `sleep 30` has its process killed', async () => {
    const pidFile = join(tmp, 'abort.pid');
    // exec: the shell becomes `sleep`, so $$ is the pid of the sleeping process
    const run = runner.run(task('exec', { command: `echo $$ > ${pidFile}; exec sleep 30` }));
    const pid = await waitFor(async () => {
      const text = await readFile(pidFile, 'utf8').catch(() => '');
      return text.endsWith('\n') ? Number(text.trim()) : undefined;
    }, 3_000, 'the pid file');
    expect(processExists(pid)).toBe(true);

    run.abort(cancelled);
    expect(errorOf(await run.result)).toEqual(cancelled);
    await waitFor(() => (processExists(pid) ? undefined : true), 2_000, `pid ${pid} to exit`);
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });
});

describe('abort racing the "started" message', () => {
  // Regression (found by these tests): abort() before the main thread has seen "started" calls
  // killer.abort at once, so piscina terminates the thread with no grace. If the worker already
  // ran the task, an exec child (detached: its own process group) survives as an orphan: the
  // worker is gone before it handles the control message that would have killed the group.
  // Here the main thread is kept busy (as a busy hub would be) until the child exists, then aborts.
  it('an exec task aborted before its "started" arrives leaves no process behind', async () => {
    const racer = createPiscinaRunner({ maxThreads: 2 });
    const survivors: number[] = [];
    try {
      await Promise.all([racer.run(task('noop', {})).result, racer.run(task('noop', {})).result]);
      for (let round = 0; round < 8 && survivors.length === 0; round++) {
        const files = [0, 1].map((i) => join(tmp, `race-${round}-${i}.pid`));
        const runs = files.map((file) => racer.run(task('exec', { command: `echo $$ > ${file}; exec sleep 30` })));
        // a busy main thread: no worker message is handled until both children exist
        const until = Date.now() + 2_000;
        while (!files.every((f) => existsSync(f) && readFileSync(f, 'utf8').endsWith('\n')) && Date.now() < until) {
          // spin
        }
        for (const run of runs) run.abort(cancelled);
        for (const run of runs) expect(errorOf(await run.result)).toEqual(cancelled);
        for (const file of files.filter((f) => existsSync(f))) {
          const pid = Number(readFileSync(file, 'utf8').trim());
          const gone = await waitFor(() => (processExists(pid) ? undefined : true), 300).catch(() => false);
          if (!gone) survivors.push(pid);
        }
      }
      expect(survivors).toEqual([]);
    } finally {
      for (const pid of survivors) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await racer.close();
    }
  });
});

describe('a handler that never yields', () => {
  let small: TaskRunner;
  const poolErrors: unknown[] = [];
  beforeAll(() => {
    small = createPiscinaRunner({ maxThreads: 1, abortGraceMs: 50, onPoolError: (e) => poolErrors.push(e) });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('cpu 1e10 times out: its thread is terminated after the grace, and the pool keeps serving', async () => {
    const t0 = Date.now();
    const outcome = await small.run(task('cpu', { iterations: 1e10 }, { timeoutMs: 200 })).result;
    expect(errorOf(outcome).code).toBe('TASK_TIMEOUT');
    expect(outcome.durationMs).toBeGreaterThanOrEqual(200);
    expect(Date.now() - t0).toBeLessThan(5_000);

    expect(outputOf(await small.run(task('echo', { value: 'still here' })).result)).toBe('still here');
    expect(outputOf(await small.run(task('cpu', { iterations: 10 })).result)).toMatchObject({ iterations: 10 });
  });
});

describe('hooks', () => {
  it('onStarted is called once, with a timestamp, before the result resolves', async () => {
    const calls: number[] = [];
    const submittedAt = Date.now();
    const run = runner.run(task('sleep', { ms: 50 }), { onStarted: (at) => calls.push(at) });
    const outcome = await run.result;
    const resolvedAt = Date.now();
    expect(calls).toHaveLength(1);
    const at = calls[0]!;
    expect(at).toBeGreaterThanOrEqual(submittedAt);
    expect(at).toBeLessThanOrEqual(resolvedAt);
    expect(outcome.durationMs).toBeGreaterThanOrEqual(25);
    expect(outcome.durationMs).toBeLessThanOrEqual(resolvedAt - at);
  });

  // Regression (found by these tests): the worker's "started" goes over parentPort, the result over
  // piscina's task MessagePort; the two are not ordered, so for a fast handler the result usually
  // arrives first, `live` is already deleted, onStarted is never called and durationMs is 0.
  it('onStarted is called for fast tasks too, and durationMs comes from a real start', async () => {
    let missed = 0;
    for (let i = 0; i < 30; i++) {
      let calls = 0;
      await runner.run(task('cpu', { iterations: 1_000 }), { onStarted: () => calls++ }).result;
      if (calls !== 1) missed++;
    }
    expect(missed).toBe(0);
  });
});

describe('stats', () => {
  it('reports numbers, maxThreads 2, and completed counting up', async () => {
    const before = runner.stats();
    await Promise.all([1, 2, 3].map((value) => runner.run(task('echo', { value })).result));
    const after = runner.stats();
    for (const s of [before, after]) {
      for (const value of Object.values(s)) expect(Number.isFinite(value)).toBe(true);
      expect(s.maxThreads).toBe(2);
      expect(s.threads).toBeGreaterThanOrEqual(0);
      expect(s.threads).toBeLessThanOrEqual(2);
      expect(s.utilization).toBeGreaterThanOrEqual(0);
      expect(s.utilization).toBeLessThanOrEqual(1);
      expect(s.runTimeP99Ms).toBeGreaterThanOrEqual(s.runTimeP50Ms);
    }
    expect(after.completed).toBeGreaterThanOrEqual(before.completed + 3);
    expect(after.queueSize).toBe(0);
  });
});
