import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach } from 'vitest';
import { createHub, type Hub } from '../../src/index.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'troupe.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A scratch directory, removed by the returned cleanup. */
export async function scratchDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'troupe-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Runs the real `troupe` command (bin/troupe.js, which runs the built dist/)
 * as a child process, feeding `stdin` when given. `onSpawn` sees the child,
 * e.g. to signal it.
 */
export function runCli(
  args: string[],
  options: { stdin?: string; env?: Record<string, string>; cwd?: string; onStdout?: (text: string, child: ReturnType<typeof spawn>) => void } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      options.onStdout?.(stdout, child);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    if (options.stdin !== undefined) child.stdin.end(options.stdin);
    else child.stdin.end();
  });
}

/** The JSON objects printed one per line. */
export const jsonLines = (text: string): Record<string, any>[] =>
  text
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, any>);

/** Starts `troupe serve` (under `umask`, when given, e.g. "000") and resolves once it listens. */
export async function serve(dataDir: string, options: { umask?: string } = {}): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const args = [BIN, 'serve', '--data-dir', dataDir];
  const child =
    options.umask === undefined
      ? spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('sh', ['-c', `umask ${options.umask} && exec "$@"`, 'sh', process.execPath, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes('serving')) resolve();
    });
    void exited.then(() => reject(new Error(`serve exited: ${err}`)));
  });
  return { child, exited };
}

/**
 * For each test, a fresh scratch data directory and hubs opened on it (one
 * worker thread each), all closed and the directory removed after the test.
 * `dir()` is the current test's data directory.
 */
export function eachTestDataDir(): { dir(): string; open(): Promise<Hub> } {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  let hubs: Hub[] = [];
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(async () => {
    for (const hub of hubs) await hub.close({ graceMs: 0 });
    hubs = [];
    await cleanup();
  });
  return {
    dir: () => dir,
    async open() {
      const hub = createHub({ maxThreads: 1, dataDir: dir });
      hubs.push(hub);
      await hub.ready;
      return hub;
    },
  };
}

/**
 * Starts `troupe ARGS` and SIGKILLs it `ms` after `ready()` first holds (polled, true at once by
 * default: on a loaded machine a supervisor takes a while to get going), or resolves when it ends
 * by itself; resolves with its exit code.
 */
export function runAndKill(args: string[], ms: number, ready: () => Promise<boolean> = async () => true, env: Record<string, string> = {}): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, NO_COLOR: '1', ...env } });
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const poll = async () => {
      if (done) return;
      if (await ready()) timer = setTimeout(() => child.kill('SIGKILL'), ms);
      else timer = setTimeout(() => void poll(), 50);
    };
    void poll();
    child.on('exit', (code) => {
      done = true;
      clearTimeout(timer);
      resolve(code);
    });
  });
}
