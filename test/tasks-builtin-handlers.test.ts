/**
 * The built-in handlers, run for real: through createPiscinaRunner on a real
 * Piscina pool, in worker threads started from src/worker/task-worker.ts.
 */
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPiscinaRunner, type TaskRunner } from '../src/actors/task-runner.js';
import { errorOf, outputOf, task, xorshift } from './fixtures/tasks.js';

let runner: TaskRunner;
let tmp: string;

beforeAll(async () => {
  runner = createPiscinaRunner({ maxThreads: 2 });
  // realpath: the shell's `pwd` reports the resolved path (macOS links /var to /private/var)
  tmp = await realpath(await mkdtemp(join(tmpdir(), 'troupe-tasks-')));
});

afterAll(async () => {
  await runner?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const run = (handler: string, input: unknown, overrides: Parameters<typeof task>[2] = {}) =>
  runner.run(task(handler, input, overrides)).result;

describe('echo, noop, cpu, sleep', () => {
  it('echo returns its value, structured data included', async () => {
    const value = { a: [1, 'two', null, { deep: true }], n: -0.5, s: 'ünïcødé' };
    expect(outputOf(await run('echo', { value }))).toEqual(value);
    expect(outputOf(await run('echo', { value: 42 }))).toBe(42);
  });

  it('echo of an undefined value returns null', async () => {
    expect(outputOf(await run('echo', { value: undefined }))).toBeNull();
  });

  it('noop returns null, with its input left out too', async () => {
    expect(outputOf(await run('noop', {}))).toBeNull();
    expect(outputOf(await run('noop', undefined))).toBeNull();
  });

  it('cpu returns {iterations, result}, the same for the same iterations', async () => {
    const [a, b, c] = await Promise.all([
      run('cpu', { iterations: 10_000 }),
      run('cpu', { iterations: 10_000 }),
      run('cpu', { iterations: 10_001 }),
    ]);
    expect(outputOf(a!)).toEqual({ iterations: 10_000, result: xorshift(10_000) });
    expect(outputOf(b!)).toEqual(outputOf(a!));
    expect(outputOf(c!)).toEqual({ iterations: 10_001, result: xorshift(10_001) });
    expect(outputOf(c!)).not.toEqual(outputOf(a!));
  });

  it('cpu with 0 iterations returns the seed', async () => {
    expect(outputOf(await run('cpu', { iterations: 0 }))).toEqual({ iterations: 0, result: 2463534242 });
  });

  it('sleep returns {slept_ms} after about that long', async () => {
    const outcome = await run('sleep', { ms: 40 });
    expect(outputOf(outcome)).toEqual({ slept_ms: 40 });
    // durationMs counts from the worker's "started"; a sleep of 40 ms cannot be done sooner
    expect(outcome.durationMs).toBeGreaterThanOrEqual(20);
  });
});

describe('fail', () => {
  it('always fails without `times`, with code TASK_FAILED_ON_PURPOSE and the retryable given', async () => {
    for (const attempt of [1, 2, 7]) {
      const error = errorOf(await run('fail', { message: 'boom', retryable: false }, { attempt }));
      expect(error).toEqual({ name: 'HandlerError', code: 'TASK_FAILED_ON_PURPOSE', message: 'boom', retryable: false });
    }
    expect(errorOf(await run('fail', { retryable: true })).retryable).toBe(true);
  });

  it('uses its defaults when the input is left out', async () => {
    const error = errorOf(await run('fail', undefined));
    expect(error).toMatchObject({ code: 'TASK_FAILED_ON_PURPOSE', message: 'task failed on purpose', retryable: true });
  });

  it('with times: 2 fails attempts 1 and 2 and succeeds on attempt 3', async () => {
    const outcomes = await Promise.all([1, 2, 3, 4].map((attempt) => run('fail', { times: 2 }, { attempt })));
    expect(errorOf(outcomes[0]!).code).toBe('TASK_FAILED_ON_PURPOSE');
    expect(errorOf(outcomes[1]!).code).toBe('TASK_FAILED_ON_PURPOSE');
    expect(outputOf(outcomes[2]!)).toEqual({ succeeded_on_attempt: 3 });
    expect(outputOf(outcomes[3]!)).toEqual({ succeeded_on_attempt: 4 });
  });

  it('with times: 0 succeeds at once', async () => {
    expect(outputOf(await run('fail', { times: 0 }))).toEqual({ succeeded_on_attempt: 1 });
  });
});

describe('exec', () => {
  it('captures stdout, stderr and exit_code 0', async () => {
    const output = outputOf(await run('exec', { command: 'echo out; echo err >&2' }));
    expect(output).toEqual({
      exit_code: 0,
      signal: null,
      stdout: 'out\n',
      stderr: 'err\n',
      // the command wrote nothing to $TROUPE_OUTPUT (see tasks-exec-values.test.ts)
      values: {},
      stdout_truncated_bytes: 0,
      stderr_truncated_bytes: 0,
    });
  });

  it('fails a non-zero exit with EXEC_FAILED, the exit code and the output in data', async () => {
    const error = errorOf(await run('exec', { command: 'echo partial; echo "it broke" >&2; exit 3' }));
    expect(error).toMatchObject({ name: 'HandlerError', code: 'EXEC_FAILED', retryable: true });
    expect(error.message).toContain('exited with code 3');
    expect(error.message).toContain('it broke');
    expect(error.data).toMatchObject({ exit_code: 3, signal: null, stdout: 'partial\n', stderr: 'it broke\n', values: {} });
  });

  it('keeps max_output bytes of stdout and of stderr and counts the rest', async () => {
    const output = outputOf(await run('exec', { command: "printf abcdefghij; printf XYZXYZ >&2", max_output: 4 }));
    expect(output).toMatchObject({
      exit_code: 0,
      stdout: 'abcd',
      stderr: 'XYZX',
      stdout_truncated_bytes: 6,
      stderr_truncated_bytes: 2,
    });
  });

  it('bounds output that arrives in many chunks', async () => {
    // 200 kB is more than one pipe read: the limit must hold across chunks
    const command = "head -c 200000 /dev/zero | tr '\\0' a";
    const output = outputOf(await run('exec', { command, max_output: 1000 })) as Record<string, unknown>;
    expect(output.stdout).toBe('a'.repeat(1000));
    expect(output.stdout_truncated_bytes).toBe(199_000);
    expect(output.stderr_truncated_bytes).toBe(0);
  });

  it('with max_output 0 keeps nothing and counts everything', async () => {
    const output = outputOf(await run('exec', { command: 'printf 12345', max_output: 0 }));
    expect(output).toMatchObject({ stdout: '', stdout_truncated_bytes: 5 });
  });

  it('runs in `cwd`', async () => {
    const output = outputOf(await run('exec', { command: 'pwd; echo made > made.txt', cwd: tmp })) as { stdout: string };
    expect(output.stdout).toBe(`${tmp}\n`);
    expect(await readFile(join(tmp, 'made.txt'), 'utf8')).toBe('made\n');
  });

  it('passes `env` on top of the inherited environment', async () => {
    const command = 'printf "%s|%s" "$TROUPE_TEST_VAR" "${PATH:+has-path}"';
    const output = outputOf(await run('exec', { command, env: { TROUPE_TEST_VAR: 'hello world' } })) as { stdout: string };
    expect(output.stdout).toBe('hello world|has-path');
  });

  it('fails with EXEC_SPAWN_FAILED, not retryable, when `cwd` does not exist', async () => {
    const error = errorOf(await run('exec', { command: 'true', cwd: join(tmp, 'missing') }));
    expect(error).toMatchObject({ code: 'EXEC_SPAWN_FAILED', retryable: false });
  });
});

describe('invalid input and unknown handlers', () => {
  it.each([
    ['sleep', { ms: 'x' }],
    ['sleep', { ms: -1 }],
    ['sleep', {}],
    ['echo', { value: 1, extra: true }],
    ['cpu', { iterations: 1.5 }],
    ['cpu', { iterations: 1e11 }],
    ['fail', { times: -1 }],
    ['exec', { command: '' }],
    ['exec', { command: 'true', env: { N: 1 } }],
  ])('%s %j fails with INVALID_INPUT, not retryable', async (handler, input) => {
    const error = errorOf(await run(handler, input));
    expect(error).toMatchObject({ name: 'ValidationError', code: 'INVALID_INPUT', retryable: false });
  });

  // Regression (found by these tests): `noop: () => null` never parses its input, although
  // handler-inputs.ts says the worker parses every input again (noop's schema is strictObject({})).
  it('noop {"unexpected":1} fails with INVALID_INPUT like every other handler', async () => {
    const error = errorOf(await run('noop', { unexpected: 1 }));
    expect(error).toMatchObject({ code: 'INVALID_INPUT', retryable: false });
  });

  it.each(['nope', 'toString', '__proto__', 'constructor'])('handler %s fails with HANDLER_NOT_FOUND', async (handler) => {
    const error = errorOf(await run(handler, {}));
    expect(error).toMatchObject({ name: 'HandlerNotFound', code: 'HANDLER_NOT_FOUND', retryable: false });
    expect(error.message).toContain(handler);
  });
});
