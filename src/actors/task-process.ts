/**
 * The spool of one `exec` attempt: a folder in the data directory through
 * which a task's process outlives its supervisor. The shepherd (a small
 * process that leads the task's process group, `src/worker/shepherd.ts`)
 * claims the folder before it starts the command, and records the exit
 * status there when the command ends; whoever finds the folder later — the
 * same supervisor, or one recovered after `kill -9` — learns from it whether
 * the command runs, ended, or never started.
 *
 * The claim is the one arbiter: a shepherd starts its command only after it
 * created `claim.json` exclusively (a hard link fails if it exists). So a
 * shepherd spawned just before a crash, and one spawned by the recovered
 * supervisor, can never both run the command: the loser exits at once, and
 * the recovered supervisor adopts the winner.
 */
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { groupAlive, isRunning, type ProcessIdentity } from './process-identity.js';

/** What a shepherd writes before it starts the command. */
export interface ProcessClaim extends ProcessIdentity {
  /** wall-clock ms when the shepherd started */
  started_at: number;
  command: string;
}

/** What a shepherd writes when the command has ended. */
export interface ProcessResult {
  exit_code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  stdout_truncated_bytes: number;
  stderr_truncated_bytes: number;
  /** wall-clock ms */
  ended_at: number;
  /** the command could not be started at all (e.g. its cwd does not exist) */
  spawn_error?: string;
  /** the task log could not be written (the command ran regardless) */
  log_error?: string;
}

/** Where things stand for one attempt's process. */
export type SpoolState =
  /** no shepherd ever claimed it: the command never started */
  | { kind: 'empty'; aborted: string | null }
  /** its shepherd runs: the command runs or is about to */
  | { kind: 'running'; claim: ProcessClaim; aborted: string | null }
  /** the command ended and its exit status is recorded */
  | { kind: 'ended'; claim: ProcessClaim; result: ProcessResult; aborted: string | null }
  /** the shepherd is gone without a result, but what it started still runs */
  | { kind: 'orphaned'; claim: ProcessClaim; aborted: string | null }
  /** the shepherd and its group are gone without a result (killed) */
  | { kind: 'lost'; claim: ProcessClaim; aborted: string | null };

/** The spool of one attempt of one task in one epoch (after a rollback the same attempt number is new work). */
export function spoolDir(root: string, workflowId: string, epoch: number, taskId: string, attempt: number): string {
  return join(root, 'processes', workflowId, String(epoch), `${taskId}.${attempt}`);
}

const CLAIM = 'claim.json';
const RESULT = 'result.json';
const ABORTED = 'aborted.json';

/**
 * Where the command writes its values (`$TROUPE_OUTPUT`): in the spool, so a
 * run adopted or recorded by a later supervisor still has them, and a spool
 * cleared for a new run takes the old run's values with it.
 */
export function valuesFile(dir: string): string {
  return join(dir, 'output');
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    // absent, or (after a power cut before its fsync) unreadable: either way it does not count
    return null;
  }
}

/*
 * Spool files are written whole and put in place atomically (a hard link or a rename), and read
 * back checked (a file that does not parse does not count), but never fsynced: a spool has to
 * outlive the supervisor's process, not the machine. After a power cut no process from before it
 * runs (the boot id says so), and a claim or result lost with the page cache only means the task
 * runs again, as any task in flight at a crash does.
 */

/** Writes a temporary file whole; returns its path. */
function writeTemp(dir: string, name: string, value: unknown): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.${name}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, JSON.stringify(value));
  } finally {
    closeSync(fd);
  }
  return temp;
}

/** Writes a JSON file atomically (a temporary file renamed over it). */
function writeJsonAtomic(path: string, value: unknown): void {
  renameSync(writeTemp(dirname(path), 'w', value), path);
}

/** Reads a spool and asks /proc whether its shepherd still runs. */
export function inspectSpool(dir: string): SpoolState {
  const aborted = readJson<{ reason: string }>(join(dir, ABORTED))?.reason ?? null;
  const claim = readJson<ProcessClaim>(join(dir, CLAIM));
  if (!claim) return { kind: 'empty', aborted };
  const result = readJson<ProcessResult>(join(dir, RESULT));
  if (result) return { kind: 'ended', claim, result, aborted };
  if (isRunning(claim)) return { kind: 'running', claim, aborted };
  return groupAlive(claim) ? { kind: 'orphaned', claim, aborted } : { kind: 'lost', claim, aborted };
}

/**
 * Claims the spool for the calling process (the shepherd): true when it won,
 * false when another process had already claimed it. In place before it
 * returns, so a command never runs without its claim.
 */
export function claimSpool(dir: string, claim: ProcessClaim): boolean {
  const temp = writeTemp(dir, 'claim', claim);
  try {
    linkSync(temp, join(dir, CLAIM));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
  return true;
}

/** Records the command's end (the shepherd, once its child has exited). */
export function recordResult(dir: string, result: ProcessResult): void {
  writeJsonAtomic(join(dir, RESULT), result);
}

/**
 * Marks the attempt's run as stopped on purpose (a cancel, a timeout, a move,
 * a shutdown) before its group is signalled: the exit status that follows is
 * the stop's, not the task's, and a later run must not take it as an outcome.
 */
export function markAborted(dir: string, reason: string): void {
  try {
    writeJsonAtomic(join(dir, ABORTED), { reason });
  } catch {
    // no spool (the shepherd never got to make it): nothing to mark
  }
}

/** Empties a spool whose run is over and was not the task's outcome, so a new run can claim it. */
export function clearSpool(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
