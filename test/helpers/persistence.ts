/**
 * Helpers for the persistence suites: scratch directories on the real file
 * system (removed after each test) and fresh Node processes that import the
 * TypeScript sources through tsx, to prove that what one process writes
 * another one reads without shared state.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach } from 'vitest';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The file URL of a source module, for `import` in a child's code. */
export const srcUrl = (relative: string): string => pathToFileURL(join(ROOT, 'src', relative)).href;

/**
 * Registers an `afterEach` that removes every directory made in the test;
 * returns the function that makes one.
 */
export function useTempDirs(prefix = 'troupe-persistence-'): () => Promise<string> {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

/** Starts `node --import tsx -e <code>` (an ES module) in the project root. */
export function spawnTsx(code: string, env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a child to its end, stdin closed. */
export function runTsx(code: string, env: Record<string, string> = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawnTsx(code, env);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (exitCode, signal) => resolve({ code: exitCode, signal, stdout, stderr }));
    child.stdin.end();
  });
}

/** Resolves when the child has printed `text`; rejects if it exits first. */
export function waitForOutput(child: ChildProcessWithoutNullStreams, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const onData = (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes(text)) {
        cleanup();
        resolve();
      }
    };
    const onErr = (chunk: Buffer) => (stderr += chunk.toString());
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      reject(new Error(`child exited (${String(code)}, ${String(signal)}) before printing ${JSON.stringify(text)}; stdout: ${stdout}; stderr: ${stderr}`));
    };
    const cleanup = () => {
      child.stdout.off('data', onData);
      child.stderr.off('data', onErr);
      child.off('exit', onExit);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onErr);
    child.on('exit', onExit);
  });
}

/** Resolves once the child has exited (and, in Node, been reaped). */
export function exited(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** True when a JSON value has a `__proto__` key somewhere (msgpackr renames it on decode). */
export function hasProtoKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasProtoKey);
  if (value !== null && typeof value === 'object') return Object.entries(value).some(([k, v]) => k === '__proto__' || hasProtoKey(v));
  return false;
}

/** The value with every -0 replaced by 0 (msgpack writes -0 as the integer 0). */
export function withoutNegativeZero(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutNegativeZero(v)]));
  return value;
}
