import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { mkdirPrivate } from './private-files.js';

/** A data directory that someone other than this process's user could write into. */
export class DataDirUnsafeError extends Error {
  constructor(
    /** the data directory */
    readonly root: string,
    /** the directory found unsafe: the root or one under it */
    readonly path: string,
    /** what is wrong: another owner, or write permission for group or others */
    readonly rule: 'owner' | 'mode',
    /** its owner's uid */
    readonly uid: number,
    /** its permission bits */
    readonly mode: number,
    /** this process's effective uid */
    readonly euid: number,
  ) {
    super(
      rule === 'owner'
        ? `${path} belongs to uid ${uid}, not to this process's user (uid ${euid})`
        : `${path} has mode ${mode.toString(8).padStart(4, '0')}: group or others may write into it`,
    );
    this.name = 'DataDirUnsafeError';
  }
}

/** Below the root, directories this deep are checked too: the fixed ones (`workflows`, `checkpoints`...) and one level in them (`workflows/active`, `checkpoints/<id>`). */
const CHECKED_DEPTH = 2;

/**
 * Makes sure the data directory `root` is this user's alone before anything
 * in it is trusted: a checkpoint or a log record planted there by another
 * user would run its commands as this one. A directory troupe creates now is
 * made 0700 (whatever the umask), and so is fine. An existing one, and the
 * directories in it down to {@link CHECKED_DEPTH}, must belong to this
 * process's effective user and not be writable by group or others; the
 * first that is not throws {@link DataDirUnsafeError}. Files are not
 * checked: only someone who can write a directory can add one. Nothing is
 * changed: whether to trust what is in it is the user's call. (On a system
 * without uids, Windows, nothing is checked.)
 *
 * @example
 * await ensurePrivateDataDir('.troupe'); // DataDirUnsafeError for a 0777 or foreign-owned one
 */
export async function ensurePrivateDataDir(root: string): Promise<{ created: boolean }> {
  if (await mkdirPrivate(root)) return { created: true };
  const euid = process.geteuid?.();
  if (euid === undefined) return { created: false };
  checkTree(root, root, euid, 0);
  return { created: false };
}

/**
 * With blocking calls: a data directory with 10 000 workflows has 10 000
 * `checkpoints/<id>` directories to stat, and one asynchronous stat each
 * took ~0.7 s of a start on a busy 2-core machine (a thread-pool round trip
 * each); in line they take ~0.1 s.
 */
function checkTree(root: string, dir: string, euid: number, depth: number): void {
  // followed symbolic links: what counts is the directory troupe ends up writing in
  const found = statSync(dir);
  if (!found.isDirectory()) return;
  if (found.uid !== euid) throw new DataDirUnsafeError(root, dir, 'owner', found.uid, found.mode & 0o7777, euid);
  if ((found.mode & 0o022) !== 0) throw new DataDirUnsafeError(root, dir, 'mode', found.uid, found.mode & 0o7777, euid);
  if (depth >= CHECKED_DEPTH) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() && !entry.isSymbolicLink()) continue;
    try {
      checkTree(root, join(dir, entry.name), euid, depth + 1);
    } catch (error) {
      ignoreVanished(error);
    }
  }
}

/** A directory removed (or a dangling link) between the listing and the stat is no danger. */
function ignoreVanished(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
