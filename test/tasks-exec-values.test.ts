/**
 * Issue 13: an `exec` task's output is `{exit_code, stdout, stderr, values}`,
 * `values` being what its command wrote to `$TROUPE_OUTPUT` (a JSON object or
 * key=value lines), bounded by max_output, read however the run came to an
 * end: spawned, adopted from an earlier supervisor's shepherd, or recorded
 * from a spool. Real Piscina pool, real shepherds and commands, real files.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityOf } from '../src/actors/process-identity.js';
import { valuesFile, type ProcessClaim, type ProcessResult } from '../src/actors/task-process.js';
import { createPiscinaRunner, type TaskRunner } from '../src/actors/task-runner.js';
import type { ProcessMode } from '../src/actors/worker-protocol.js';
import type { ShepherdArgs } from '../src/worker/shepherd-protocol.js';
import { errorOf, outputOf, processExists, task, waitFor } from './fixtures/tasks.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let runner: TaskRunner;

beforeAll(() => {
  runner = createPiscinaRunner({ maxThreads: 2 });
});
afterAll(() => runner?.close());

const run = (input: Record<string, unknown>) => runner.run(task('exec', input)).result;
const valuesOf = async (command: string) => (outputOf(await run({ command })) as { values: unknown }).values;

describe('exec values from $TROUPE_OUTPUT', () => {
  it('the output is {exit_code, stdout, stderr, values} with the signal and truncation counts beside', async () => {
    const output = outputOf(await run({ command: 'echo out; echo err >&2; echo "order_id=A17" >> "$TROUPE_OUTPUT"' }));
    expect(output).toEqual({
      exit_code: 0,
      stdout: 'out\n',
      stderr: 'err\n',
      values: { order_id: 'A17' },
      signal: null,
      stdout_truncated_bytes: 0,
      stderr_truncated_bytes: 0,
    });
  });

  it('a JSON object keeps its types and nesting', async () => {
    const json = '{"count": 3, "ok": true, "nested": {"list": [1, "two", null]}, "none": null}';
    expect(await valuesOf(`printf '%s\\n' '${json}' > "$TROUPE_OUTPUT"`)).toEqual({ count: 3, ok: true, nested: { list: [1, 'two', null] }, none: null });
  });

  it('key=value lines: comments and blank lines skipped, `=` kept in the value, the last of a repeated key wins', async () => {
    const command = [
      'echo "# written by the build" >> "$TROUPE_OUTPUT"',
      'echo "" >> "$TROUPE_OUTPUT"',
      'echo "version=1.0" >> "$TROUPE_OUTPUT"',
      'echo "query=a=b&c=d" >> "$TROUPE_OUTPUT"',
      'echo "  # indented comment" >> "$TROUPE_OUTPUT"',
      'echo "spaced= kept as is " >> "$TROUPE_OUTPUT"',
      'echo "empty=" >> "$TROUPE_OUTPUT"',
      'echo "dotted.key-name_2=x" >> "$TROUPE_OUTPUT"',
      'printf "crlf=y\\r\\n" >> "$TROUPE_OUTPUT"',
      'echo "version=2.0" >> "$TROUPE_OUTPUT"',
    ].join('; ');
    expect(await valuesOf(command)).toEqual({ version: '2.0', query: 'a=b&c=d', spaced: ' kept as is ', empty: '', 'dotted.key-name_2': 'x', crlf: 'y' });
  });

  it('no file, an empty file, or only blank lines: {}', async () => {
    expect(await valuesOf('true')).toEqual({});
    expect(await valuesOf(': > "$TROUPE_OUTPUT"')).toEqual({});
    expect(await valuesOf('printf "\\n  \\n" > "$TROUPE_OUTPUT"')).toEqual({});
  });

  it("troupe's TROUPE_OUTPUT wins over one in the task's env", async () => {
    const output = outputOf(await run({ command: 'echo "k=v" >> "$TROUPE_OUTPUT"; echo "$TROUPE_OUTPUT"', env: { TROUPE_OUTPUT: '/dev/null' } })) as { stdout: string; values: unknown };
    expect(output.values).toEqual({ k: 'v' });
    expect(output.stdout).not.toBe('/dev/null\n');
  });

  it('a file over max_output fails with EXEC_VALUES_TOO_LARGE, not retryable, naming the size and the limit; one at the limit passes', async () => {
    const error = errorOf(await run({ command: 'printf "k=123456" > "$TROUPE_OUTPUT"', max_output: 7 }));
    expect(error).toMatchObject({ code: 'EXEC_VALUES_TOO_LARGE', retryable: false });
    expect(error.message).toContain('holds 8 bytes, over the task\'s max_output (7 bytes)');
    expect(error.message).toMatch(/Write less.*raise max_output/);
    expect(error.data).toMatchObject({ exit_code: 0 });
    expect(outputOf(await run({ command: 'printf "k=12345" > "$TROUPE_OUTPUT"', max_output: 7 }))).toMatchObject({ values: { k: '12345' } });
  });

  it.each([
    ['a line without `=`', 'printf "a=1\\n\\nnot a pair\\n" > "$TROUPE_OUTPUT"', /line 3 \("not a pair"\) is not key=value/],
    ['a bad key', 'printf "a=1\\n9lives=x\\n" > "$TROUPE_OUTPUT"', /line 2 .*"9lives" is not a key/],
    ['a key with a space before `=`', 'printf "a =1\\n" > "$TROUPE_OUTPUT"', /line 1 .*"a " is not a key/],
    ['a JSON array', 'echo "[1, 2]" > "$TROUPE_OUTPUT"', /holds a JSON array, not an object/],
    ['a JSON number', 'echo 42 > "$TROUPE_OUTPUT"', /holds a JSON number, not an object/],
    ['a JSON string', 'echo \'"a=b"\' > "$TROUPE_OUTPUT"', /holds a JSON string, not an object/],
    ['a JSON syntax error', 'printf \'{\\n  "a": 1,\\n  "b": \\n}\\n\' > "$TROUPE_OUTPUT"', /line 4 is not valid JSON/],
    ['a JSON object cut short', 'printf \'{\\n  "a": 1,\\n  "b": [1,\\n\' > "$TROUPE_OUTPUT"', /line 4 is not valid JSON/],
    ['text after the JSON object', 'printf \'{"a": 1}\\nb=2\\n\' > "$TROUPE_OUTPUT"', /line 2 is not valid JSON/],
    ['bytes that are not UTF-8', 'printf "a=1\\nb=\\377\\n" > "$TROUPE_OUTPUT"', /line 2 is not UTF-8 text/],
    ['a reserved key in key=value lines', 'printf "ok=1\\n__proto__=x\\n" > "$TROUPE_OUTPUT"', /line 2: the key `__proto__` is reserved/],
    ['constructor as a key', 'echo "constructor=x" > "$TROUPE_OUTPUT"', /line 1: the key `constructor` is reserved/],
    ['a reserved key nested in JSON', 'echo \'{"a": [{"__proto__": {"polluted": true}}]}\' > "$TROUPE_OUTPUT"', /the key `__proto__` \(at values\.a\[0\]\.__proto__\) is reserved/],
    ['a directory', 'mkdir "$TROUPE_OUTPUT"', /is not a regular file/],
    // a FIFO nobody writes to: opening it must not hang the worker
    ['a FIFO', 'mkfifo "$TROUPE_OUTPUT"', /is not a regular file/],
  ])('%s fails with EXEC_VALUES_INVALID, not retryable, saying where and what the file must hold', async (_what, command, problem) => {
    const error = errorOf(await run({ command }));
    expect(error).toMatchObject({ code: 'EXEC_VALUES_INVALID', retryable: false });
    expect(error.message).toMatch(/^\$TROUPE_OUTPUT \(\/.*\/output\)/);
    expect(error.message).toMatch(problem);
    expect(error.message).toContain('must hold a JSON object or key=value lines');
  });

  it("a non-zero exit fails with EXEC_FAILED (retryable), the values in the error's data", async () => {
    const error = errorOf(await run({ command: 'echo "step=2" >> "$TROUPE_OUTPUT"; echo broke >&2; exit 4' }));
    expect(error).toMatchObject({ code: 'EXEC_FAILED', retryable: true });
    expect(error.data).toEqual({ exit_code: 4, stdout: '', stderr: 'broke\n', values: { step: '2' }, signal: null, stdout_truncated_bytes: 0, stderr_truncated_bytes: 0 });
  });

  it('a non-zero exit with values that cannot be read still fails as EXEC_FAILED (a retry may help), the problem beside', async () => {
    const error = errorOf(await run({ command: 'printf \'{"half": \' > "$TROUPE_OUTPUT"; kill -TERM $$' }));
    expect(error).toMatchObject({ code: 'EXEC_FAILED', retryable: true, data: { exit_code: null, signal: 'SIGTERM', values: {} } });
    expect((error.data as { values_error: { code: string; message: string } }).values_error).toMatchObject({ code: 'EXEC_VALUES_INVALID', message: expect.stringContaining('line 1 is not valid JSON') });
  });
});

describe('values of a run an earlier supervisor started', () => {
  /** Runs a task whose spool was prepared by `prepare`; resolves its outcome and the modes it reported. */
  async function runPrepared(input: Record<string, unknown>, prepare: (spool: string) => Promise<void>, overrides: Parameters<typeof task>[2] = {}) {
    const t = task('exec', input, overrides);
    const spool = t.files!.spool;
    await mkdir(spool, { recursive: true, mode: 0o700 });
    await prepare(spool);
    const modes: ProcessMode[] = [];
    const outcome = await runner.run(t, { onProcess: ({ mode }) => modes.push(mode) }).result;
    return { outcome, modes, spool };
  }

  const claim = (identity: Omit<ProcessClaim, 'started_at' | 'command'>, command: string): ProcessClaim => ({ ...identity, started_at: Date.now() - 1_000, command });
  const result = (exit: number, stdout: string): ProcessResult => ({ exit_code: exit, signal: null, stdout, stderr: '', stdout_truncated_bytes: 0, stderr_truncated_bytes: 0, ended_at: Date.now() });
  // a shepherd that is long gone: with a result recorded, nobody looks at its process
  const gone = { pid: 2 ** 22 + 1, pgid: 2 ** 22 + 1, start_time: 1, boot_id: 'an-earlier-boot' };

  it('recorded: a command that ended while no supervisor ran has its values read from the spool', async () => {
    const { outcome, modes } = await runPrepared({ command: 'echo "must not run" >> "$TROUPE_OUTPUT"; exit 9' }, async (spool) => {
      await writeFile(join(spool, 'claim.json'), JSON.stringify(claim(gone, 'the earlier run')));
      await writeFile(valuesFile(spool), '# from the earlier run\norder_id=A17\n');
      await writeFile(join(spool, 'result.json'), JSON.stringify(result(0, 'done\n')));
    });
    expect(modes).toEqual(['recorded']);
    expect(outputOf(outcome)).toMatchObject({ exit_code: 0, stdout: 'done\n', values: { order_id: 'A17' } });
  });

  it("recorded with a non-zero exit: the error's data carries the values", async () => {
    const { outcome, modes } = await runPrepared({ command: 'true' }, async (spool) => {
      await writeFile(join(spool, 'claim.json'), JSON.stringify(claim(gone, 'the earlier run')));
      await writeFile(valuesFile(spool), '{"reached": "charge"}');
      await writeFile(join(spool, 'result.json'), JSON.stringify(result(2, '')));
    });
    expect(modes).toEqual(['recorded']);
    expect(errorOf(outcome)).toMatchObject({ code: 'EXEC_FAILED', data: { exit_code: 2, values: { reached: 'charge' } } });
  });

  it('adopted: a command still running under an earlier shepherd has the values it wrote', async () => {
    let shepherd: ReturnType<typeof spawn> | undefined;
    const t = task('exec', { command: 'unused: the shepherd started before this attempt runs its own command' });
    const spool = t.files!.spool;
    const gate = join(spool, '..', `${t.taskId}.go`);
    try {
      await mkdir(spool, { recursive: true, mode: 0o700 });
      // the shepherd an earlier supervisor would have started: it writes a value, then waits for the test's go
      const args: ShepherdArgs = {
        spool,
        log: t.files!.log,
        logMaxBytes: t.files!.logMaxBytes,
        command: `echo "order_id=A17" >> "$TROUPE_OUTPUT"; while [ ! -e "${gate}" ]; do sleep 0.05; done; echo finished`,
        cwd: root,
        maxOutput: 1024,
        rerunNote: 'again',
      };
      shepherd = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/worker/shepherd.ts'), JSON.stringify(args)], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
      const [first] = (await once(shepherd.stdout!, 'data')) as [Buffer];
      expect(JSON.parse(first.toString().split('\n')[0]!)).toMatchObject({ claimed: true });
      const modes: ProcessMode[] = [];
      const pending = runner.run(t, { onProcess: ({ mode }) => modes.push(mode) }).result;
      await waitFor(() => (modes.length > 0 ? true : undefined), 10_000, 'the attempt to find the running shepherd');
      expect(modes).toEqual(['adopted']);
      await writeFile(gate, '');
      expect(outputOf(await pending)).toMatchObject({ exit_code: 0, stdout: 'finished\n', values: { order_id: 'A17' } });
    } finally {
      if (shepherd?.pid !== undefined && processExists(shepherd.pid)) process.kill(-shepherd.pid, 'SIGKILL');
    }
  });

  it('restarted: the new run does not see the values of the run it ended', async () => {
    // an earlier run still going, which had written a value: its own process group, claimed as the shepherd
    const earlier = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    try {
      const identity = identityOf(earlier.pid!)!;
      const { outcome, modes } = await runPrepared(
        { command: 'echo "fresh=yes" >> "$TROUPE_OUTPUT"' },
        async (spool) => {
          await writeFile(join(spool, 'claim.json'), JSON.stringify(claim(identity, 'the earlier run')));
          await writeFile(valuesFile(spool), 'stale=yes\n');
        },
        { files: { ...task('exec', {}).files!, onRecovery: 'restart' } },
      );
      expect(modes).toEqual(['restarted']);
      expect(outputOf(outcome)).toMatchObject({ values: { fresh: 'yes' } });
      expect(processExists(earlier.pid!)).toBe(false);
    } finally {
      earlier.kill('SIGKILL');
    }
  });
});
