/**
 * What the log can hold (issue "Hardening", item 4): the checks a task's
 * output, error and progress pass in the worker and again on the main thread.
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveHandlerRefs } from '../src/actors/handler-registry.js';
import { createPiscinaRunner } from '../src/actors/task-runner.js';
import { loadConfig } from '../src/cli/config-file.js';
import { createHub, TroupeError } from '../src/index.js';
import { errorOf, outputOf, task } from './fixtures/tasks.js';
import { scratchDir } from './helpers/cli.js';
import { measure, MAX_DEPTH } from '../src/actors/encodable.js';
import { boundOutcome, boundProgress, boundTaskError, checkOutput, MAX_ERROR_MESSAGE } from '../src/actors/output-limits.js';
import { packr } from '../src/persistence/checkpoint-codec.js';

const nested = (depth: number) => {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};
const cyclic = () => {
  const value: Record<string, unknown> = { a: { b: [1] } };
  ((value.a as Record<string, unknown>).b as unknown[]).push(value);
  return value;
};
const limits = { taskId: 'build', maxBytes: 1024 * 1024 };

describe('checkOutput', () => {
  it.each([
    ['nested past the limit', nested(3_000), 'OUTPUT_NOT_SERIALIZABLE', `output nests deeper than ${MAX_DEPTH} levels (at output[0][0][0][0]…[0][0][0])`],
    ['a cycle', cyclic(), 'OUTPUT_NOT_SERIALIZABLE', 'output.a.b[1] refers back to output (a cycle)'],
    ['a BigInt', { n: [1, 2n ** 70n] }, 'OUTPUT_NOT_SERIALIZABLE', 'output.n[1] is a BigInt (1180591620717411303424n)'],
    ['a symbol', { 'odd key': Symbol('s') }, 'OUTPUT_NOT_SERIALIZABLE', 'output["odd key"] is a symbol (Symbol(s))'],
    ['a throwing getter', { get boom() { throw new Error('no'); } }, 'OUTPUT_NOT_SERIALIZABLE', 'reading output threw: no'],
    ['too large (lower bound)', { s: 'x'.repeat(2 * 1024 * 1024) }, 'OUTPUT_TOO_LARGE', 'output is at least 2 MiB, over max_output_bytes (1 MiB)'],
    ['too large (encoded)', Array.from({ length: 150_000 }, () => 1e300), 'OUTPUT_TOO_LARGE', 'output is 1.3 MiB (1350005 bytes) encoded, over max_output_bytes (1 MiB)'],
  ])('fails %s with its code, not retryable, naming the task, the problem and the fix', (_what, output, code, problem) => {
    const checked = checkOutput(output, limits);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.error).toMatchObject({ name: 'OutputError', code, retryable: false });
    expect(checked.error.message).toContain(`The output of task build cannot be stored: ${problem}. `);
  });

  it('takes plain data up to the depth limit, shared (not cyclic) objects, and exotic values the codec knows', () => {
    const shared = { x: 1 };
    for (const output of [null, 'text', 42, nested(MAX_DEPTH - 1), { a: shared, b: [shared, shared] }, new Date(0), new Map([[1, 2]]), new Uint8Array(10), /re/g, new Error('e')]) {
      expect(checkOutput(output, limits).ok).toBe(true);
    }
  });

  it('with normalize, gives the output back as the log will after a restart', () => {
    const checked = checkOutput({ m: new Map([['k', 1]]), f: () => 1, u: undefined }, { ...limits, normalize: true });
    expect(checked).toEqual({ ok: true, output: { m: { k: 1 }, f: undefined, u: undefined } });
  });

  it('stops early on a value that shares one object exponentially often', () => {
    let value: unknown = { leaf: 'x'.repeat(100) };
    for (let i = 0; i < 60; i++) value = [value, value];
    const checked = checkOutput(value, limits);
    expect(checked).toMatchObject({ ok: false, error: { code: 'OUTPUT_TOO_LARGE' } });
  });

  it('agrees with the log codec: what passes encodes within the limit, what is too large encodes over it', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 6, withMap: true, withSet: true, withDate: true, withTypedArray: true, withNullPrototype: true }), fc.integer({ min: 1, max: 4_000 }), (value, maxBytes) => {
        const found = measure(value, { maxBytes, root: 'output' });
        const size = packr.pack(value).length;
        if (found.ok) expect(size).toBeLessThanOrEqual(maxBytes);
        else if (found.kind === 'size') expect(found.exact ? found.bytes === size && size > maxBytes : found.bytes <= size).toBe(true);
        else expect.unreachable(`unexpected ${found.kind}: ${found.problem}`);
      }),
      { numRuns: 500 },
    );
  });

  it('encodes exactly as the log does (the worker repeats the codec options)', () => {
    const value = { a: [1, 'two', null], d: new Date(5), m: new Map([['k', new Set([1])]]), b: new Uint8Array([1, 2]) };
    const found = measure(value, { maxBytes: 1024, root: 'output', encode: true });
    expect(found.ok && Buffer.from(found.encoded!).equals(packr.pack(value))).toBe(true);
  });
});

describe('boundTaskError', () => {
  const base = { name: 'HandlerError', code: 'DEPLOY_FAILED', message: 'deploy failed', retryable: false };

  it('keeps a small error as it is, data included', () => {
    expect(boundTaskError({ ...base, data: { exit_code: 2 } }, limits)).toEqual({ ...base, data: { exit_code: 2 } });
  });

  it.each([
    ['cyclic', cyclic(), "the error's data.a.b[1] refers back to data (a cycle)"],
    ['a BigInt', { n: 1n }, "the error's data.n is a BigInt (1n)"],
    ['too large', { s: 'x'.repeat(2 * 1024 * 1024) }, "the error's data is at least 2 MiB, over max_output_bytes (1 MiB)"],
  ])('replaces %s data by a note, keeping the code and retryable', (_what, data, note) => {
    expect(boundTaskError({ ...base, data }, limits)).toEqual({ ...base, data: { omitted: note } });
  });

  it('cuts a long message, name and code, and gives a missing code and retryable their defaults', () => {
    const bounded = boundTaskError({ name: 'n'.repeat(500), code: '', message: 'm'.repeat(100_000), retryable: undefined as unknown as boolean }, limits);
    expect(bounded.message).toHaveLength(MAX_ERROR_MESSAGE);
    expect(bounded.message.endsWith('… (message cut: 100000 characters, at most 16384 are kept)')).toBe(true);
    expect(bounded.name).toHaveLength(200);
    expect(bounded).toMatchObject({ code: 'HANDLER_ERROR', retryable: true });
    // a second pass (the main thread's, after the worker's) changes nothing
    expect(boundTaskError(bounded, limits)).toEqual(bounded);
  });
});

describe('boundOutcome and boundProgress', () => {
  it('turns an outcome the log cannot hold into a failure, keeping its other fields', () => {
    expect(boundOutcome({ ok: true, output: { n: 1n }, durationMs: 5 }, limits)).toEqual({
      ok: false,
      durationMs: 5,
      error: expect.objectContaining({ code: 'OUTPUT_NOT_SERIALIZABLE', retryable: false }),
    });
    const fine = { ok: true as const, output: { n: 1 }, durationMs: 5 };
    expect(boundOutcome(fine, limits)).toBe(fine);
  });

  it('replaces progress the codec cannot hold by a note', () => {
    expect(boundProgress({ step: 3, of: 10 })).toEqual({ step: 3, of: 10 });
    expect(boundProgress(undefined)).toBeNull();
    expect(boundProgress(cyclic())).toEqual({ omitted: 'progress.a.b[1] refers back to progress (a cycle)' });
    expect(boundProgress('x'.repeat(100_000))).toEqual({ omitted: 'progress is at least 97.7 KiB, over the progress limit (64 KiB)' });
  });
});

describe('the worker', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const runner = createPiscinaRunner({
    maxThreads: 1,
    handlers: resolveHandlerRefs({ huge: './fixtures/handlers/bad-outputs.mjs#huge', bigint: './fixtures/handlers/bad-outputs.mjs#bigint' }, here),
  });
  afterAll(() => runner.close());

  it("applies the task's maxOutputBytes itself, so an output over it never crosses to the main thread", async () => {
    // the runner has no check of its own: what comes back is the worker's verdict
    const error = errorOf(await runner.run(task('huge', { mib: 1 }, { maxOutputBytes: 64 * 1024 })).result);
    expect(error).toMatchObject({ code: 'OUTPUT_TOO_LARGE', retryable: false });
    expect(error.message).toContain('output is at least 1 MiB, over max_output_bytes (64 KiB)');
    expect(outputOf(await runner.run(task('huge', { mib: 1 }, { maxOutputBytes: 2 * 1024 * 1024 })).result)).toEqual({ blob: expect.any(String) });
    expect(errorOf(await runner.run(task('bigint', {})).result)).toMatchObject({ code: 'OUTPUT_NOT_SERIALIZABLE' });
  }, 30_000);
});

describe('max_output_bytes', () => {
  it.each([['70MiB'], [512], ['lots'], [-1]])('refuses %j as a hub option, naming the option, the range and the value', (value) => {
    expect(() => createHub({ maxOutputBytes: value as string })).toThrow(TroupeError);
    expect(() => createHub({ maxOutputBytes: value as string })).toThrow(`Option maxOutputBytes (max_output_bytes) must be a size from 1KiB to 16MiB, got ${JSON.stringify(value)}`);
  });

  it('is read from the configuration file as bytes or a size, and a bad one stops the start with its reason', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const file = join(dir, 'troupe.config.yaml');
      await writeFile(file, 'max_output_bytes: 512KiB\n');
      expect((await loadConfig(file)).hub.maxOutputBytes).toBe('512KiB');
      await writeFile(file, 'max_output_bytes: 1048576\n');
      expect((await loadConfig(file)).hub.maxOutputBytes).toBe(1048576);
      await writeFile(file, 'max_output_bytes: 64MiB\n');
      await expect(loadConfig(file)).rejects.toThrow('max_output_bytes must be a size from 1KiB to 16MiB');
    } finally {
      await cleanup();
    }
  });
});
