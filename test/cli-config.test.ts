import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, jsonLines, runCli, scratchDir } from './helpers/cli.js';

describe('the configuration file', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(() => cleanup());

  it('troupe.config.yaml in the current directory is found and applied (data_dir, durability)', async () => {
    await writeFile(join(dir, 'troupe.config.yaml'), 'data_dir: ./state\ndurability: batch\nmax_threads: 1\n');
    const result = await runCli([], { cwd: dir, stdin: `wf create @${join(ROOT, 'examples/hello.yaml')}\nwf start\nwf wait\n` });
    expect(jsonLines(result.stdout).map((r) => r.status)).toEqual(['success', 'success', 'success']);
    await access(join(dir, 'state', 'checkpoints', 'wf'));
  });

  it('handlers in the config are user handlers, paths relative to the config file; a broken one is refused at create', async () => {
    await writeFile(join(dir, 'greet.mjs'), 'export const hello = async (input, ctx) => ({ hello: input.name, task: ctx.taskId });\n');
    await writeFile(join(dir, 'troupe.config.yaml'), 'data_dir: ./state\nhandlers:\n  greet: ./greet.mjs#hello\n  ghost: ./greet.mjs#nope\n');
    const task = (handler: string) => JSON.stringify({ name: 'u', phases: [{ name: 'p', tasks: [{ id: 't', handler, input: { name: 'you' } }] }] });
    const result = await runCli([], { cwd: dir, stdin: `wf create ${task('greet')}\nwf start\nwf wait\nwf get-status\nwf2 create ${task('ghost')}\n` });
    const [created, , waited, status, ghost] = jsonLines(result.stdout) as { status: string; result: any; error: any }[];
    expect(created!.status).toBe('success');
    expect(waited!.result.status).toBe('completed');
    expect(status!.result.workflow_state.phases[0].tasks[0].output).toEqual({ hello: 'you', task: 't' });
    expect(ghost!.error).toMatchObject({ code: 'HANDLER_NOT_FOUND', details: expect.stringContaining('has no export nope') });
  });

  it('a bad configuration is refused before anything starts, every problem under its key, exit 2', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ max_threads: 0, colour: 'blue' }));
    const result = await runCli(['--config', file, '--data-dir', join(dir, 'data')], { stdin: 'list-workflows\n' });
    expect(result.stderr).toContain(`troupe: invalid configuration ${file}`);
    expect(result.stderr).toContain('colour is not a setting');
    expect(result.stderr).toContain('max_threads must be a whole number from 1 to 256, got 0');
    expect(result.code).toBe(2);
    await expect(access(join(dir, 'data'))).rejects.toThrow();
  });
});
