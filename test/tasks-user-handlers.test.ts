/**
 * User handlers on the real Piscina pool, loaded from a fixture module
 * (test/fixtures/handlers/faulty.mjs): each way a handler can misbehave fails
 * only its own task, as data, and the pool keeps serving. Also the start-up
 * probe that tells which configured handlers can run.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveHandlerRefs } from '../src/actors/handler-registry.js';
import { createPiscinaRunner, type TaskRunner } from '../src/actors/task-runner.js';
import { errorOf, outputOf, task } from './fixtures/tasks.js';

const here = dirname(fileURLToPath(import.meta.url));
const faulty = (name: string) => `./fixtures/handlers/faulty.mjs#${name}`;
const refs = resolveHandlerRefs(
  {
    ok: faulty('ok'),
    throws: faulty('throws'),
    rejects: faulty('rejects'),
    exits: faulty('exits'),
    oom: faulty('oom'),
    strayRejection: faulty('strayRejection'),
    beats: faulty('beats'),
    missingExport: faulty('nope'),
    notAFunction: faulty('notAFunction'),
    waitsForAbort: faulty('waitsForAbort'),
    missingModule: './fixtures/handlers/does-not-exist.mjs#run',
    brokenModule: './fixtures/handlers/broken-at-import.mjs',
  },
  here,
);

let runner: TaskRunner;

beforeAll(() => {
  // one thread: every fault below hits the same pool, which must keep serving
  runner = createPiscinaRunner({ maxThreads: 1, handlers: refs, maxOldGenerationSizeMb: 32, abortGraceMs: 100 });
});

afterAll(async () => {
  await runner?.close();
});

const stillServes = async () => expect(outputOf(await runner.run(task('ok', { n: 1 })).result)).toMatchObject({ input: { n: 1 } });

describe('a user handler', () => {
  it('runs with its input and returns its output', async () => {
    expect(outputOf(await runner.run(task('ok', { hello: 'world' })).result)).toMatchObject({ input: { hello: 'world' } });
  });

  it('that throws fails its task with the error as data, code kept', async () => {
    const error = errorOf(await runner.run(task('throws', { message: 'boom' })).result);
    expect(error).toEqual({ name: 'Error', code: 'FIXTURE_THROW', message: 'boom', retryable: true });
    await stillServes();
  });

  it('that rejects fails its task with HANDLER_ERROR', async () => {
    const error = errorOf(await runner.run(task('rejects', {})).result);
    expect(error).toMatchObject({ code: 'HANDLER_ERROR', message: 'rejected on purpose', retryable: true });
    await stillServes();
  });

  it('that calls process.exit fails its task with WORKER_CRASHED; the process and the pool live on', async () => {
    const error = errorOf(await runner.run(task('exits', {})).result);
    expect(error).toMatchObject({ code: 'WORKER_CRASHED', retryable: true });
    await stillServes();
  });

  it('that exceeds the worker heap limit fails its task with WORKER_CRASHED (out of memory)', async () => {
    const error = errorOf(await runner.run(task('oom', {})).result);
    expect(error.code).toBe('WORKER_CRASHED');
    expect(error.message).toMatch(/memory/i);
    await stillServes();
  });

  it('with a rejection left behind after it returned succeeds, and the thread keeps serving', async () => {
    expect(outputOf(await runner.run(task('strayRejection', {})).result)).toBe('returned');
    await new Promise((resolve) => setTimeout(resolve, 30));
    await stillServes();
  });

  it('that beats sends each heartbeat with its progress', async () => {
    const beats: unknown[] = [];
    const outcome = await runner.run(task('beats', { beats: 3 }), { onHeartbeat: (progress) => beats.push(progress) }).result;
    expect(outputOf(outcome)).toMatchObject({ beats: 3, attempt: 1 });
    expect(beats.filter((b) => b !== null)).toEqual([{ step: 1 }, { step: 2 }, { step: 3 }]);
  });

  it('the built-in cpu, holding its thread, still beats with its progress about once a second', async () => {
    const beats: unknown[] = [];
    const outcome = await runner.run(task('cpu', { iterations: 3e8 }), { onHeartbeat: (progress) => beats.push(progress) }).result;
    outputOf(outcome);
    const seconds = outcome.durationMs / 1000;
    const progress = beats.filter((b): b is { done: number } => b !== null).map((b) => b.done);
    // at most one beat per second of run time; time is read every 2^24 iterations, so a loaded
    // machine beats less often, but a run of several seconds always beats
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(seconds));
    if (seconds >= 3) expect(progress.length).toBeGreaterThan(0);
    for (const [i, done] of progress.entries()) expect(done).toBeGreaterThan(i === 0 ? 0 : progress[i - 1]!);
  });

  it('that cannot load fails with HANDLER_NOT_FOUND, not retryable, saying why', async () => {
    expect(errorOf(await runner.run(task('missingExport', {})).result)).toMatchObject({ code: 'HANDLER_NOT_FOUND', retryable: false, message: expect.stringContaining('has no export nope') });
    expect(errorOf(await runner.run(task('missingModule', {})).result).message).toContain('could not be loaded');
    expect(errorOf(await runner.run(task('unknownName', {})).result).code).toBe('HANDLER_NOT_FOUND');
    await stillServes();
  });
});

describe('a thread lost to a crash', () => {
  it('is replaced at once: queued tasks do not wait for the other thread to free up (piscina replaces only up to minThreads)', async () => {
    const two = createPiscinaRunner({ maxThreads: 2, handlers: refs });
    try {
      let onStarted!: () => void;
      const busyStarted = new Promise<void>((resolve) => (onStarted = resolve));
      const busy = two.run(task('waitsForAbort', {}), { onStarted });
      await busyStarted;
      const crash = two.run(task('exits', {}));
      const queued = [two.run(task('ok', { n: 1 })), two.run(task('ok', { n: 2 }))];
      expect(errorOf(await crash.result).code).toBe('WORKER_CRASHED');
      // the other thread is still busy: only a replacement thread can run these
      for (const run of queued) outputOf(await run.result);
      busy.abort({ name: 'TestAbort', code: 'TEST_ABORT', message: 'done waiting', retryable: false });
      expect(errorOf(await busy.result).code).toBe('TEST_ABORT');
    } finally {
      await two.close();
    }
  });
});

describe('probeHandlers', () => {
  it('tells, in a worker, which configured handlers can run and why the others cannot', async () => {
    const probes = await runner.probeHandlers();
    // a module without name/version exports: its file name, and the version of the nearest package.json (troupe's own here)
    const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    expect(probes.ok).toEqual({ ok: true, name: 'faulty', version, version_source: 'package.json' });
    expect(probes.exits).toEqual({ ok: true, name: 'faulty', version, version_source: 'package.json' });
    expect(probes.missingExport).toEqual({ ok: false, reason: expect.stringContaining('has no export nope') });
    expect(probes.notAFunction).toEqual({ ok: false, reason: expect.stringContaining('is a number, not a function') });
    expect(probes.missingModule).toEqual({ ok: false, reason: expect.stringContaining('could not be loaded') });
    expect(probes.brokenModule).toEqual({ ok: false, reason: expect.stringContaining('broken at import on purpose') });
  });
});

describe('resolveHandlerRefs', () => {
  it('resolves paths against the base directory and defaults the export to default', () => {
    const [ref] = resolveHandlerRefs({ mine: './h.js' }, '/base');
    expect(ref).toEqual({ name: 'mine', spec: './h.js', url: 'file:///base/h.js', exportName: 'default' });
  });

  it('refuses a built-in name, a bad name and an empty path', () => {
    expect(() => resolveHandlerRefs({ exec: './h.js#run' }, '/')).toThrow(/built-in/);
    expect(() => resolveHandlerRefs({ '1x': './h.js#run' }, '/')).toThrow(/must start with a letter/);
    expect(() => resolveHandlerRefs({ x: '#run' }, '/')).toThrow(/is not "path/);
  });
});
