import { createHash, randomBytes } from 'node:crypto';
import { link, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { mkdirPrivate, openPrivate } from './private-files.js';
import { ownIdentity, pidRunning, processStartedAt, type ProcessIdentity } from './process-identity.js';
import { dataDirLayout } from './data-dir.js';

/** How often a supervisor rewrites its lock, so a supervisor on another host can tell it still runs (ms). */
export const LOCK_HEARTBEAT_MS = 10_000;

/**
 * A lock whose holder cannot be probed (another host, another pid
 * namespace) is stale once it has not been rewritten for this long (ms),
 * measured on the file system's clock.
 */
export const LOCK_LEASE_MS = 60_000;

/** What `troupe.lock` (and a takeover guard) holds: its holder's identity, when it took the lock, and a nonce for this holding. */
export interface LockRecord extends ProcessIdentity {
  started_at: string;
  nonce: string | null;
}

/** Another live process holds the data directory. */
export class DataDirLockedError extends Error {
  /** the holder's host name, when the holder could not be probed from here (another host, another pid namespace) */
  readonly hostname: string | null;
  /** then: how long ago the holder last rewrote its lock (ms); the lock is taken over once this reaches {@link LOCK_LEASE_MS} */
  readonly ageMs: number | null;

  constructor(
    readonly path: string,
    readonly pid: number,
    holder: { hostname?: string | null; ageMs?: number | null } = {},
  ) {
    super(`The data directory is locked by process ${pid}${holder.hostname ? ` on ${holder.hostname}` : ''}`);
    this.name = 'DataDirLockedError';
    this.hostname = holder.hostname ?? null;
    this.ageMs = holder.ageMs ?? null;
  }
}

/** The lock this process holds. */
export interface DataDirLock {
  /** pid of the dead (or unreachable) holder whose lock was taken over, or null */
  readonly tookOverFrom: number | null;
  /** Rewrites the lock in place (same bytes), so its time says this holder still runs; a timer does it every {@link LOCK_HEARTBEAT_MS}. */
  heartbeat(): Promise<void>;
  /** Removes the lock if it is still this holding's. */
  release(): Promise<void>;
}

/**
 * Takes the single-supervisor lock of the data directory `root` (created
 * 0700 if missing).
 *
 * A free lock is taken with `link()` of a fully written file: atomic, and a
 * lock file always has its whole content. A stale lock (see {@link judge}) is
 * taken over under a guard: among the processes that judged the same lock
 * file stale (same inode and bytes), only the one that creates its guard
 * file `troupe.lock.takeover-<hash>` (again with `link()`, so exactly one)
 * may replace it, and only after checking, guard held, that the lock is
 * still that same file; it replaces it by `rename()` of a fresh file, so the
 * lock never disappears on the way. A late contender gets the guard only
 * after the winner has replaced the lock and dropped the guard, finds the
 * lock changed, and judges again: the winner is alive. A guard left by a
 * contender that died in those few steps is itself stale and is taken over
 * by the same rule one level up, so nothing is ever removed on the strength
 * of an old judgement.
 *
 * A lock naming this very process is taken over (it reports taking over from itself).
 *
 * @example
 * const lock = await acquireLock('.troupe'); // DataDirLockedError if a live supervisor holds it
 * await lock.release();
 */
export async function acquireLock(root: string, options: { heartbeatMs?: number } = {}): Promise<DataDirLock> {
  const { lock } = dataDirLayout(root);
  await mkdirPrivate(root);
  const record: LockRecord = { ...(await ownIdentity()), started_at: new Date().toISOString(), nonce: randomBytes(16).toString('hex') };
  const bytes = Buffer.from(JSON.stringify(record));
  const claimed = await claim(lock, bytes, record, 0);
  if (!claimed.won) throw new DataDirLockedError(lock, claimed.holder.pid, claimed.ageMs === null ? {} : { hostname: claimed.holder.hostname, ageMs: claimed.ageMs });
  // heartbeats go through a handle on this holding's own file: should it ever be replaced, they touch nothing of the next holder's
  const handle = await open(lock, 'r+');
  const heartbeat = async () => {
    await handle.write(bytes, 0, bytes.length, 0);
  };
  const timer = setInterval(() => void heartbeat().catch(() => {}), options.heartbeatMs ?? LOCK_HEARTBEAT_MS);
  timer.unref();
  let released = false;
  return {
    tookOverFrom: claimed.from?.pid ?? null,
    heartbeat,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await handle.close().catch(() => {});
      const found = await readLockFile(lock);
      if (found?.record?.nonce === record.nonce) await rm(lock, { force: true });
    },
  };
}

type Claim = { won: true; from: LockRecord | null } | { won: false; holder: LockRecord; ageMs: number | null };

/** Lock files that keep changing under a contender (each change is someone else's progress) end the attempt after this many rounds. */
const MAX_ROUNDS = 32;
/** Guards of guards: each level needs a contender to die inside a takeover. */
const MAX_DEPTH = 8;

/** Takes `target` with `bytes` (our record), taking over a stale holder under a guard; see {@link acquireLock}. */
async function claim(target: string, bytes: Buffer, self: LockRecord, depth: number): Promise<Claim> {
  const dir = dirname(target);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const fresh = await writeRecordFile(dir, bytes);
    try {
      await link(fresh.path, target);
      return { won: true, from: null };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await rm(fresh.path, { force: true });
    }
    const found = await readLockFile(target);
    // released between the link and the read: try again
    if (found === null) continue;
    // the lock (not a guard) naming this very process is ours to take again
    const ours = depth === 0 && found.record !== null && isSelf(found.record, self);
    const verdict = ours ? ({ live: false } as const) : await judge(found.record, found.mtimeMs, fresh.mtimeMs, self);
    if (verdict.live) return { won: false, holder: found.record!, ageMs: verdict.ageMs };
    if (depth >= MAX_DEPTH) throw new Error(`could not take over ${target}: ${MAX_DEPTH} takeovers of it died on the way`);
    const guard = guardPath(target, found.identity);
    const guarded = await claim(guard, bytes, self, depth + 1);
    // a live process is taking this same lock over right now: it will hold it
    if (!guarded.won) return guarded;
    try {
      const now = await readLockFile(target);
      // someone replaced or released it since it was judged: judge again
      if (now?.identity !== found.identity) continue;
      const replacement = await writeRecordFile(dir, bytes);
      await rename(replacement.path, target);
      return { won: true, from: found.record };
    } finally {
      await rm(guard, { force: true });
    }
  }
  throw new Error(`could not take ${target}: it changed ${MAX_ROUNDS} times while this process tried`);
}

/** The guard of a takeover of `target` as it is now (same inode, same bytes): one name, whoever computes it. */
function guardPath(target: string, identity: string): string {
  return join(dirname(target), `troupe.lock.takeover-${createHash('sha256').update(`${target}\n${identity}`).digest('hex').slice(0, 24)}`);
}

/**
 * The guard a takeover of `target`, as it is now, would use; null when there is no `target`.
 * @internal for tests that leave a guard as a contender dying mid-takeover would
 */
export async function _takeoverGuardOf(target: string): Promise<string | null> {
  const found = await readLockFile(target);
  return found === null ? null : guardPath(target, found.identity);
}

/** Live, with the lock's age when liveness is a lease (null when the holder was probed), or stale. */
type Verdict = { live: true; ageMs: number | null } | { live: false };

/**
 * Whether the holder a lock names still runs.
 * - unreadable, or no pid: its writer died before finishing; stale.
 * - the same kernel (same boot id; without one, the same host name) and
 *   the same pid namespace: the pid is probed; the lock is stale if no
 *   such process runs, it is a zombie, or it started at another time than
 *   the holder did (the pid was reused: a `sleep`, a shell, not a
 *   supervisor of this directory). A lock without a start time (older
 *   troupe) is stale when the process started after the lock was written.
 * - the same host name in another boot: written before this machine
 *   restarted; stale. (Two machines sharing a host name and a data
 *   directory are not told apart.)
 * - another host, or another pid namespace (a container): the pid means
 *   nothing here, so the lock is a lease: live while its holder rewrites it
 *   (every {@link LOCK_HEARTBEAT_MS}), stale once it is older than
 *   {@link LOCK_LEASE_MS}, measured against the time the file system gave a
 *   file written just now (no trust in clocks of other hosts).
 */
async function judge(record: LockRecord | null, mtimeMs: number, fsNowMs: number, self: ProcessIdentity): Promise<Verdict> {
  if (record === null) return { live: false };
  const lease = (): Verdict => {
    const ageMs = Math.max(0, fsNowMs - mtimeMs);
    return ageMs < LOCK_LEASE_MS ? { live: true, ageMs } : { live: false };
  };
  // a lock without a host name (hand-written, or very old) is taken to be from this host
  const sameHostname = record.hostname === '' || record.hostname === self.hostname;
  const bootsKnown = record.boot_id !== null && self.boot_id !== null;
  const sameKernel = bootsKnown ? record.boot_id === self.boot_id : sameHostname;
  if (!sameKernel) return bootsKnown && sameHostname ? { live: false } : lease();
  if (record.pid_ns !== null && self.pid_ns !== null && record.pid_ns !== self.pid_ns) return lease();
  const { running, stat } = await pidRunning(record.pid);
  if (!running) return { live: false };
  if (stat !== null && record.start_ticks !== null) return stat.start_ticks === record.start_ticks ? { live: true, ageMs: null } : { live: false };
  if (stat !== null) {
    const startedAt = await processStartedAt(stat);
    const written = Date.parse(record.started_at);
    // 2 s: the start time is known to the tick, the boot time to the second
    if (startedAt !== null && Number.isFinite(written) && startedAt > written + 2_000) return { live: false };
  }
  return { live: true, ageMs: null };
}

function isSelf(record: LockRecord, self: ProcessIdentity): boolean {
  return record.pid === self.pid && record.hostname === self.hostname && record.boot_id === self.boot_id && record.start_ticks === self.start_ticks;
}

/**
 * Writes our record to a new private file beside the lock; returns it with
 * the file system's "now" (its mtime). No fsync, here or of the directory: a
 * lock matters only while its holder runs, a power cut ends every holder,
 * and a lock it leaves empty is unreadable, so stale.
 */
async function writeRecordFile(dir: string, bytes: Buffer): Promise<{ path: string; mtimeMs: number }> {
  const path = join(dir, `troupe.lock.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await openPrivate(path, 'wx');
  try {
    await handle.writeFile(bytes);
    return { path, mtimeMs: (await handle.stat()).mtimeMs };
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  } finally {
    await handle.close();
  }
}

/**
 * A lock file as found: its record (null when unreadable), its identity
 * (device, inode and a hash of its bytes: a replaced or rewritten lock has
 * another), and its mtime; null when there is none.
 */
async function readLockFile(path: string): Promise<{ record: LockRecord | null; identity: string; mtimeMs: number } | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const stat = await handle.stat({ bigint: true });
    const bytes = await handle.readFile();
    return {
      record: parseRecord(bytes),
      identity: `${stat.dev}:${stat.ino}:${createHash('sha256').update(bytes).digest('hex')}`,
      mtimeMs: Number(stat.mtimeNs / 1_000_000n),
    };
  } finally {
    await handle.close();
  }
}

/** A lock record, filling what older versions did not write with null; null when there is no usable pid. */
function parseRecord(bytes: Buffer): LockRecord | null {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { pid } = value;
  // 0 and negative pids would address process groups in kill(): never a holder
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return null;
  const text = (key: string) => (typeof value[key] === 'string' ? (value[key] as string) : null);
  const startTicks = value.start_ticks;
  return {
    pid,
    hostname: text('hostname') ?? '',
    boot_id: text('boot_id'),
    pid_ns: text('pid_ns'),
    start_ticks: typeof startTicks === 'number' && Number.isSafeInteger(startTicks) ? startTicks : null,
    started_at: text('started_at') ?? '',
    nonce: text('nonce'),
  };
}
