/**
 * Issue "Hardening", item 7: SIGHUP (a closed terminal) used to end the
 * supervisor at once (exit 129 by the signal), leaving its lock, its socket
 * and running `exec` children; a reader of its output that went away early
 * was an unhandled EPIPE crash. Now a hang-up shuts down gracefully like
 * SIGTERM (exit 129 after it), and closed output ends quietly with a
 * graceful shutdown (exit 141, as SIGPIPE would). Real processes, real pipes.
 */
import { spawn } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataDirLayout } from '../src/index.js';
import { BIN, ROOT, runCli, scratchDir } from './helpers/cli.js';

const exists = (path: string) => access(path).then(() => true, () => false);

/** True while `pid` runs (a zombie waiting to be reaped counts as gone). */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return false;
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** Resolves once `predicate` holds, checking on every chunk of output or file change the caller awaits. */
async function until(predicate: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function supervisor(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

describe('signals and pipes', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await scratchDir()));
  afterAll(() => cleanup());

  it('SIGHUP shuts a supervisor down gracefully: its exec child is ended, lock and socket are removed, exit 129', async () => {
    const dataDir = join(dir, 'hup');
    const pidFile = join(dir, 'child.pid');
    const config = join(dir, 'hup.config.json');
    await writeFile(config, JSON.stringify({ shutdown_grace: '200ms' }));
    const wf = join(dir, 'hup.yaml');
    await writeFile(wf, `name: hang-up\nphases:\n  - name: p\n    tasks:\n      - {id: long, handler: exec, input: {command: "echo $$ > ${pidFile}; exec sleep 60"}}\n`);
    const { layout, run } = { layout: dataDirLayout(dataDir), run: supervisor(['--data-dir', dataDir, '--config', config]) };
    run.child.stdin.write(`wf create @${wf}\nwf start\n`);
    // written whole: the shell creates the file before it writes the pid and its newline
    await until(async () => (await exists(pidFile)) && (await readFile(pidFile, 'utf8')).endsWith('\n'), 'the exec child to start');
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    expect(await alive(pid)).toBe(true);
    expect([await exists(layout.lock), await exists(layout.socket)]).toEqual([true, true]);

    run.child.kill('SIGHUP');
    expect(await run.exited).toEqual({ code: 129, signal: null });
    expect(run.stderr()).toContain('troupe: SIGHUP, shutting down');
    expect([await exists(layout.lock), await exists(layout.socket)]).toEqual([false, false]);
    await until(async () => !(await alive(pid)), 'the exec child to be gone', 5_000);
    run.child.stdin.destroy();
    // the workflow is still active and resumes at the next start
    const next = await runCli(['--data-dir', dataDir, '--config', config], { stdin: 'wf get-status\n' });
    expect(next.stdout).toContain('"status":"running"');
  }, 60_000);

  it('closed standard output in script mode ends quietly with a graceful shutdown (exit 141), leaving the data directory free', async () => {
    const dataDir = join(dir, 'pipe');
    const run = supervisor(['--data-dir', dataDir]);
    const first = new Promise<void>((resolve) => run.child.stdout.once('data', () => resolve()));
    run.child.stdin.write('list-workflows\n');
    await first;
    // the reader goes away; the next responses have nowhere to go
    run.child.stdout.destroy();
    run.child.stdin.write('list-workflows\nhealth\nlist-workflows\n');
    expect(await run.exited).toEqual({ code: 141, signal: null });
    expect(run.stderr()).not.toMatch(/EPIPE|Error|at /);
    expect(await exists(dataDirLayout(dataDir).lock)).toBe(false);
    run.child.stdin.destroy();
    expect((await runCli(['run', 'examples/hello.yaml', '--data-dir', dataDir])).code).toBe(0);
  }, 60_000);

  it('troupe exec whose reader closes early sends no further line and exits 141 quietly; serve stops on SIGHUP with 129', async () => {
    const dataDir = join(dir, 'exec');
    const serve = supervisor(['serve', '--data-dir', dataDir]);
    await until(async () => serve.stderr().includes('serving'), 'serve to listen');
    const exec = spawn(process.execPath, [BIN, 'exec', '--data-dir', dataDir, 'list-workflows', ...Array.from({ length: 50 }, (_, i) => `wf_${i} create {"name":"n","phases":["setup"]}`)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    exec.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => exec.on('exit', resolve));
    await new Promise<void>((resolve) => exec.stdout.once('data', () => resolve()));
    exec.stdout.destroy();
    expect(await exited).toBe(141);
    expect(stderr).toBe('');
    // it stopped sending: far fewer than the 50 creates reached the supervisor
    const listed = await runCli(['exec', '--data-dir', dataDir, 'list-workflows']);
    expect((JSON.parse(listed.stdout) as { result: { workflows: unknown[] } }).result.workflows.length).toBeLessThan(50);

    serve.child.kill('SIGHUP');
    expect(await serve.exited).toEqual({ code: 129, signal: null });
    expect(await exists(dataDirLayout(dataDir).socket)).toBe(false);
  }, 60_000);
});
