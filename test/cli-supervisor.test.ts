import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, runCli, scratchDir } from './helpers/cli.js';

describe('the supervisor and its data directory', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await scratchDir()));
  afterAll(() => cleanup());

  it('a second supervisor on the same data directory is refused with DATA_DIR_LOCKED and the holder pid', async () => {
    const dataDir = join(dir, 'locked');
    const first = spawn(process.execPath, [BIN, '--data-dir', dataDir], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const firstExit = new Promise<number | null>((resolve) => first.on('exit', resolve));
    // the first answers a command once its data directory is open and locked
    const answered = new Promise<void>((resolve) => first.stdout.on('data', () => resolve()));
    first.stdin.write('list-workflows\n');
    await answered;
    // (`run` would submit to it instead: see cli-commands.test.ts)
    const second = await runCli(['serve', '--data-dir', dataDir]);
    expect(second.stderr).toContain(`DATA_DIR_LOCKED: The data directory ${dataDir} is in use by another troupe supervisor (pid ${first.pid})`);
    expect(second.code).toBe(2);
    first.stdin.end();
    expect(await firstExit).toBe(0);
    // once the first has shut down, the directory is free
    expect((await runCli(['run', 'examples/hello.yaml', '--data-dir', dataDir])).code).toBe(0);
  });

  it('SIGTERM during a busy run loses nothing: running tasks finish, and the next start completes without rerunning any', async () => {
    const out = join(dir, 'busy.txt');
    const file = join(dir, 'busy.yaml');
    const tasks = Array.from({ length: 16 }, (_, i) => `      - {id: t${i}, handler: exec, input: {command: "sleep 0.1; echo t${i} >> ${out}"}}`);
    await writeFile(file, `name: busy\nagent_requirements: {max_agents: 4}\nphases:\n  - name: p\n    tasks:\n${tasks.join('\n')}\n`);
    const args = ['run', file, '--id', 'busy', '--data-dir', join(dir, 'busy')];
    let signalled = false;
    const first = await runCli(args, {
      onStdout: (text, child) => {
        if (!signalled && (text.match(/✓ p\//g) ?? []).length >= 3) {
          signalled = true;
          child.kill('SIGTERM');
        }
      },
    });
    expect(signalled).toBe(true);
    expect(first.code).toBe(143);
    const before = (await readFile(out, 'utf8')).trim().split('\n').length;
    expect(before).toBeLessThan(16);
    const second = await runCli(args);
    expect(second.stdout).toContain('(recovered from the data directory: running)');
    expect(second.code).toBe(0);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(16);
    expect(new Set(lines).size).toBe(16);
  });

  it('troupe run resumes a workflow paused in an earlier session and finishes it', async () => {
    const dataDir = join(dir, 'paused');
    const file = join(dir, 'pausable.yaml');
    await writeFile(file, 'name: pausable\nphases:\n  - name: p\n    tasks:\n      - {id: a, handler: sleep, input: {ms: 100}}\n      - {id: b, handler: echo, input: {value: 1}, depends_on: [a]}\n');
    const script = await runCli(['--data-dir', dataDir], { stdin: `wf_p create @${file}\nwf_p start\nwf_p pause\n` });
    expect(script.code).toBe(0);
    const run = await runCli(['run', file, '--id', 'wf_p', '--data-dir', dataDir]);
    expect(run.stdout).toContain('(recovered from the data directory: paused)');
    expect(run.stdout).toContain('resuming the paused workflow');
    expect(run.stdout).toMatch(/wf_p\s+pausable\s+✓ completed/);
    expect(run.code).toBe(0);
  });

  it('SIGTERM stops a supervisor whose standard input stays open, and frees its data directory', async () => {
    const dataDir = join(dir, 'sigterm-script');
    const child = spawn(process.execPath, [BIN, '--data-dir', dataDir], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const answered = new Promise<void>((resolve) => child.stdout.on('data', () => resolve()));
    child.stdin.write('list-workflows\n');
    await answered;
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect((await runCli(['run', 'examples/hello.yaml', '--data-dir', dataDir])).code).toBe(0);
    child.stdin.destroy();
  });
});
