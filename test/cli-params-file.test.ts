/**
 * Parameters from `@path` and inline on a REPL or script line (issue
 * "Hardening", item 8): `@/dev/zero` grew the supervisor to 620 MB before it
 * failed, a FIFO hung it, and a file of deeply nested YAML exhausted its
 * heap. Now `@path` reads regular files only (FILE_NOT_REGULAR), at most
 * 8 MiB (FILE_TOO_LARGE, read in chunks so a file that lies about its size
 * is stopped too), and parameters nest at most 100 levels
 * (NESTING_TOO_DEEP), checked before a parser that recurses sees them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_PARAMS_FILE_BYTES, readParamsFile } from '../src/cli/params-file.js';
import { parseParams } from '../src/cli/parse-line.js';
import { jsonLines, runCli } from './helpers/cli.js';
import { useTempDirs } from './helpers/persistence.js';

const tempDir = useTempDirs('troupe-params-file-');

/** The TroupeError `promise` rejects with, as code, message and details. */
async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string; details: string }> {
  const error = (await promise.then(
    () => expect.unreachable('expected a refusal'),
    (e: unknown) => e,
  )) as { code: string; message: string; details: string };
  return { code: error.code, message: error.message, details: error.details };
}

const DEPTH_DETAILS = 'At most 100 levels are accepted (the outermost object or array is level 1): flatten the data, or pass deeply nested data as a JSON string';

describe('@path reads regular files only, at most 8 MiB', () => {
  it('refuses /dev/zero as a character device, without reading it', async () => {
    expect(await refusal(parseParams('@/dev/zero'))).toEqual({
      code: 'FILE_NOT_REGULAR',
      message: 'Parameters file /dev/zero is a character device; @path reads regular files only',
      details: 'A device, pipe or socket may never end, and a directory holds no parameters: save the parameters to a regular file and name that',
    });
  });

  it('refuses a FIFO with no writer at once (opening it used to wait for one), and a directory', async () => {
    const dir = await tempDir();
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    expect(await refusal(parseParams('@fifo', dir))).toMatchObject({ code: 'FILE_NOT_REGULAR', message: `Parameters file ${join(dir, 'fifo')} is a pipe (FIFO); @path reads regular files only` });
    await mkdir(join(dir, 'sub'));
    expect(await refusal(parseParams('@sub', dir))).toMatchObject({ code: 'FILE_NOT_REGULAR', message: `Parameters file ${join(dir, 'sub')} is a directory; @path reads regular files only` });
  });

  it('refuses a file over 8 MiB by its size, and takes one of exactly 8 MiB', async () => {
    const dir = await tempDir();
    const big = join(dir, 'big.json');
    await writeFile(big, '');
    await truncate(big, MAX_PARAMS_FILE_BYTES + 1);
    expect(await refusal(parseParams(`@${big}`))).toEqual({
      code: 'FILE_TOO_LARGE',
      message: `Parameters file ${big} holds 8388609 bytes; a parameters file holds at most 8388608 bytes (8 MiB)`,
      details: 'It was not read further. Split the workflow, or keep big data out of the parameters',
    });
    const padded = `{"name":"x","pad":"${'x'.repeat(MAX_PARAMS_FILE_BYTES - 21)}"}`;
    expect(padded.length).toBe(MAX_PARAMS_FILE_BYTES);
    await writeFile(big, padded);
    expect(await parseParams(`@${big}`)).toMatchObject({ name: 'x' });
  });

  // /proc files say they hold 0 bytes: only reading tells, and the read stops past the limit
  it.runIf(existsSync('/proc/self/maps'))('stops reading a file whose size says 0 as soon as it passes the limit', async () => {
    expect(await refusal(readParamsFile('/proc/self/maps', 1024))).toMatchObject({
      code: 'FILE_TOO_LARGE',
      message: 'Parameters file /proc/self/maps holds more than 1024 bytes (its size said 0); a parameters file holds at most 1024 bytes',
    });
  });

  it('a missing file is still FILE_NOT_FOUND', async () => {
    expect(await refusal(parseParams('@no/such/file.yaml', '/'))).toMatchObject({ code: 'FILE_NOT_FOUND', message: 'Cannot read parameters file /no/such/file.yaml' });
  });
});

describe('parameters nest at most 100 levels, inline or in a file', () => {
  const deepJson = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

  it('inline JSON: 100 levels are taken, 101 are refused before parsing', async () => {
    expect(await parseParams(deepJson(100))).toBeTypeOf('object');
    expect(await refusal(parseParams(deepJson(101)))).toEqual({
      code: 'NESTING_TOO_DEEP',
      message: `Objects and arrays nest more than 100 levels deep in the parameters (at character 501 of ${deepJson(101).length})`,
      details: DEPTH_DETAILS,
    });
  });

  it.each([
    ['JSON, 5 000 levels', 'deep.json', deepJson(5_000), 'character 501'],
    // 8 MB of `[`: the YAML parser ran out of heap (a crash, not an error) after a minute
    ['4 000 000 flow brackets', 'brackets.yaml', `${'['.repeat(4_000_000)}${']'.repeat(4_000_000)}`, 'character 101'],
    ['YAML block sequences, 4 000 000 levels on one line', 'dashes.yaml', `${'- '.repeat(4_000_000)}1`, 'character 207'],
    ['YAML block mappings, 2 000 levels', 'block.yaml', `${Array.from({ length: 2_000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')} 1`, 'character 5666'],
  ])('a file of %s is refused before the parser builds it', async (_, name, text, where) => {
    const dir = await tempDir();
    await writeFile(join(dir, name), text);
    const { code, message, details } = await refusal(parseParams(`@${name}`, dir));
    expect({ code, details }).toEqual({ code: 'NESTING_TOO_DEEP', details: DEPTH_DETAILS });
    expect(message).toBe(`Objects and arrays nest more than 100 levels deep in parameters file ${join(dir, name)} (at ${where} of ${text.length})`);
  });

  it('YAML aliases that nest a document deeper than its text are refused with the path', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'alias.yaml'), `a: &x ${'['.repeat(60)}${']'.repeat(60)}\nb: ${'['.repeat(60)}*x${']'.repeat(60)}\n`);
    expect(await refusal(parseParams('@alias.yaml', dir))).toEqual({
      code: 'NESTING_TOO_DEEP',
      message: `Objects and arrays nest more than 100 levels deep in parameters file ${join(dir, 'alias.yaml')} (at parameters.b[0][0][0]…[0][0][0])`,
      details: DEPTH_DETAILS,
    });
  });

  it('a YAML file 100 levels deep, and the examples, are read as before; a JSON file is read as JSON', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'at-limit.yaml'), `${Array.from({ length: 100 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')} 1\n`);
    let value = (await parseParams('@at-limit.yaml', dir)) as Record<string, unknown>;
    for (let i = 0; i < 99; i++) value = value.a as Record<string, unknown>;
    expect(value).toEqual({ a: 1 });
    expect(await parseParams('@examples/hello.yaml')).toMatchObject({ name: expect.any(String) });
    await writeFile(join(dir, 'flow.json'), '{"name": "j", "phases": ["p"], "note": "# not a comment"}');
    expect(await parseParams('@flow.json', dir)).toEqual({ name: 'j', phases: ['p'], note: '# not a comment' });
    // flow-style YAML that is not JSON still goes to the YAML parser
    await writeFile(join(dir, 'flow.yaml'), '{name: y, phases: [p]}');
    expect(await parseParams('@flow.yaml', dir)).toEqual({ name: 'y', phases: ['p'] });
  });
});

describe('the script-mode supervisor answers each refusal and goes on', () => {
  it('@/dev/zero, a deep inline line and a huge file are answered with their codes; the next line works', async () => {
    const dir = await tempDir();
    const big = join(dir, 'big.yaml');
    await writeFile(big, '');
    await truncate(big, 64 * 1024 * 1024);
    const stdin = [`wf create @/dev/zero`, `wf create ${'['.repeat(5_000)}${']'.repeat(5_000)}`, `wf create @${big}`, 'list-workflows', ''].join('\n');
    const result = await runCli(['--data-dir', join(dir, 'data')], { stdin });
    expect(jsonLines(result.stdout).map((r) => r.error?.code ?? r.status)).toEqual(['FILE_NOT_REGULAR', 'NESTING_TOO_DEEP', 'FILE_TOO_LARGE', 'success']);
  }, 60_000);
});
