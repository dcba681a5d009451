import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { WorkflowSpec } from '../../machines/types.js';

/**
 * The files a workflow touches, as a checkpoint records them (the spec's
 * "all modified files and their checksums"): each file its tasks name in
 * `exclusive_files`, resolved against the task's exec `cwd` or the
 * supervisor's, with its sha256, size and mtime when the checkpoint was taken.
 */
export interface RecordedFile {
  /** absolute */
  path: string;
  /** hex; null when missing, not a regular file, or over the hashing limits */
  sha256: string | null;
  size: number | null;
  mtime_ms: number | null;
  /** it did not exist when the checkpoint was taken */
  missing?: true;
  /** why it has no hash (and, when unreadable, no size either) */
  unhashed?: 'not a regular file' | 'larger than the per-file limit' | 'over the total limit' | `unreadable: ${string}`;
}

export interface RecordedFiles {
  files: RecordedFile[];
  /** paths named by the workflow beyond {@link FILE_LIMITS}.count, not recorded */
  omitted: number;
  limits: typeof FILE_LIMITS;
}

/** What one checkpoint hashes at most: a workflow naming huge or countless files cannot stall its checkpoints. */
export const FILE_LIMITS = { count: 1000, bytes_per_file: 64 * 1024 * 1024, total_bytes: 256 * 1024 * 1024 } as const;

/** The files a workflow names, absolute, each once, in the order its tasks name them. */
export function workflowFilePaths(spec: WorkflowSpec, cwd: string): string[] {
  const paths = new Set<string>();
  for (const phase of spec.phases) {
    for (const task of phase.tasks) {
      const taskCwd = (task.input as { cwd?: unknown } | null)?.cwd;
      // a templated cwd is only known when the task runs: its files are taken from the supervisor's cwd
      const base = task.handler === 'exec' && typeof taskCwd === 'string' && !taskCwd.includes('${{') ? resolve(cwd, taskCwd) : cwd;
      for (const file of task.exclusiveFiles) paths.add(isAbsolute(file) ? resolve(file) : resolve(base, file));
    }
  }
  return [...paths];
}

function hashFile(path: string): Promise<string> {
  return new Promise((done, fail) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', fail)
      .on('end', () => done(hash.digest('hex')));
  });
}

/** One file as it is now, hashing it if `budget` allows; `budget.left` goes down by what was read. */
async function currentFile(path: string, budget: { left: number }): Promise<RecordedFile> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return null;
    throw error;
  });
  if (!info) return { path, sha256: null, size: null, mtime_ms: null, missing: true };
  const base = { path, size: info.size, mtime_ms: info.mtimeMs };
  if (!info.isFile()) return { ...base, sha256: null, unhashed: 'not a regular file' };
  if (info.size > FILE_LIMITS.bytes_per_file) return { ...base, sha256: null, unhashed: 'larger than the per-file limit' };
  if (info.size > budget.left) return { ...base, sha256: null, unhashed: 'over the total limit' };
  budget.left -= info.size;
  // a file that vanishes between stat and read is missing, like one that was never there
  const sha256 = await hashFile(path).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? null : Promise.reject(error)));
  return sha256 === null ? { path, sha256: null, size: null, mtime_ms: null, missing: true } : { ...base, sha256 };
}

/** Records the files (at most {@link FILE_LIMITS}): hashes, sizes and mtimes, missing ones as missing. */
export async function recordFiles(paths: readonly string[]): Promise<RecordedFiles> {
  const budget = { left: FILE_LIMITS.total_bytes };
  const files: RecordedFile[] = [];
  for (const path of paths.slice(0, FILE_LIMITS.count)) {
    // a user's file that cannot be read (EACCES, EIO, …) is recorded as such: it must never fail the
    // checkpoint, whose writes are the data directory's, not this file's
    files.push(await currentFile(path, budget).catch((error: NodeJS.ErrnoException) => ({ path, sha256: null, size: null, mtime_ms: null, unhashed: `unreadable: ${error.code ?? error.message}` })));
  }
  return { files, omitted: Math.max(0, paths.length - FILE_LIMITS.count), limits: FILE_LIMITS };
}

/** The protocol's `file_system_hash`: sha256 over each recorded file's path and hash, in path order; null when none was recorded. */
export function fileSystemHash(recorded: RecordedFiles | null | undefined): string | null {
  if (!recorded || recorded.files.length === 0) return null;
  const hash = createHash('sha256');
  for (const f of [...recorded.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${f.path}\0${f.sha256 ?? (f.missing ? 'missing' : `${f.size}:${f.mtime_ms}`)}\n`);
  }
  return hash.digest('hex');
}

/** How recorded files compare with the files now. */
export interface FileComparison {
  /** different content (or size), or present now where it was missing */
  changed: string[];
  /** recorded present, gone now */
  missing: string[];
  /** the same content as recorded (or still missing) */
  unchanged: string[];
  /** recorded without a hash (over the limits, not a regular file) and with the same size and mtime: not proven either way */
  unchecked: string[];
}

/**
 * Compares recorded files with the files now, by content: each file is
 * hashed again within the same limits (size and mtime alone would miss a
 * same-size rewrite within the mtime's granularity). `cache` lets a caller
 * comparing several checkpoints read each file once.
 *
 * @example
 * const { changed, missing } = await compareRecordedFiles(body.files?.files ?? []);
 */
export async function compareRecordedFiles(files: readonly RecordedFile[], cache: Map<string, Promise<RecordedFile>> = new Map()): Promise<FileComparison> {
  const result: FileComparison = { changed: [], missing: [], unchanged: [], unchecked: [] };
  const budget = { left: FILE_LIMITS.total_bytes };
  for (const recorded of files) {
    let now = cache.get(recorded.path);
    if (!now) {
      now = currentFile(recorded.path, budget);
      cache.set(recorded.path, now);
    }
    const current = await now;
    if (current.missing) (recorded.missing ? result.unchanged : result.missing).push(recorded.path);
    else if (recorded.missing || current.size !== recorded.size) result.changed.push(recorded.path);
    else if (recorded.sha256 !== null && current.sha256 !== null) (current.sha256 === recorded.sha256 ? result.unchanged : result.changed).push(recorded.path);
    else if (current.mtime_ms !== recorded.mtime_ms) result.changed.push(recorded.path);
    else result.unchecked.push(recorded.path);
  }
  return result;
}
