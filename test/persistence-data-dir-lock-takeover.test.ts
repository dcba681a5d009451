/**
 * Taking over a stale data-dir lock (issue "Hardening", item 6): a lock is
 * stale when its holder is provably not a supervisor of this directory any
 * more — gone, a reused pid, a previous boot, or, for a holder that cannot be
 * probed from here (another host, another pid namespace), a lock not
 * refreshed for LOCK_LEASE_MS. Among processes that race to take over the
 * same stale lock exactly one wins.
 */
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { _takeoverGuardOf, acquireLock, DataDirLockedError, LOCK_LEASE_MS, type LockRecord } from '../src/persistence/data-dir-lock.js';
import { ownIdentity, procStat } from '../src/persistence/process-identity.js';
import { exited, spawnTsx, srcUrl, useTempDirs, waitForOutput } from './helpers/persistence.js';

const tempDir = useTempDirs('troupe-takeover-');

/** A `sleep` that lives for the test: a live process that is no troupe supervisor. */
const sleepers: ChildProcess[] = [];
afterEach(async () => {
  for (const child of sleepers.splice(0)) {
    child.kill('SIGKILL');
    await exited(child as ChildProcessWithoutNullStreams);
  }
});
async function liveSleep(): Promise<{ pid: number; startTicks: number }> {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  sleepers.push(child);
  await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  const stat = await procStat(child.pid!);
  return { pid: child.pid!, startTicks: stat!.start_ticks };
}

/** A lock record as this troupe writes it, for `pid`, with `changes` applied. */
async function recordOf(pid: number, changes: Partial<LockRecord> = {}): Promise<LockRecord> {
  return { ...(await ownIdentity()), pid, started_at: new Date().toISOString(), nonce: randomBytes(16).toString('hex'), ...changes };
}

async function plantLock(root: string, record: object, mtime?: Date): Promise<string> {
  const path = join(root, 'troupe.lock');
  await writeFile(path, JSON.stringify(record));
  if (mtime) await utimes(path, mtime, mtime);
  return path;
}

const holderPid = async (root: string) => (JSON.parse(await readFile(join(root, 'troupe.lock'), 'utf8')) as { pid: number }).pid;
const refused = (root: string) => acquireLock(root).then(() => null, (error: unknown) => error);
const longAgo = () => new Date(Date.now() - 2 * LOCK_LEASE_MS);

describe('lock record', () => {
  it('names the holder by pid, host, boot, pid namespace and start time, and this holding by a nonce', async () => {
    const root = await tempDir();
    const lock = await acquireLock(root);
    const own = await procStat(process.pid);
    const record = JSON.parse(await readFile(join(root, 'troupe.lock'), 'utf8')) as Record<string, unknown>;
    expect(record).toEqual({
      pid: process.pid,
      hostname: (await ownIdentity()).hostname,
      boot_id: (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim(),
      pid_ns: expect.stringMatching(/^pid:\[\d+\]$/) as string,
      start_ticks: own!.start_ticks,
      started_at: expect.any(String) as string,
      nonce: expect.stringMatching(/^[0-9a-f]{32}$/) as string,
    });
    expect((await stat(join(root, 'troupe.lock'))).mode & 0o777).toBe(0o600);
    await lock.release();
  });

  it('heartbeat() rewrites the lock in place: same bytes, a new mtime', async () => {
    const root = await tempDir();
    const lock = await acquireLock(root);
    const path = join(root, 'troupe.lock');
    const before = await readFile(path, 'utf8');
    await utimes(path, longAgo(), longAgo());
    await lock.heartbeat();
    expect(Date.now() - (await stat(path)).mtimeMs).toBeLessThan(LOCK_LEASE_MS / 2);
    expect(await readFile(path, 'utf8')).toBe(before);
    await lock.release();
  });
});

describe('a lock naming a live process of this host', () => {
  it('that is not the holder (its pid was reused: a `sleep`) is taken over, and the process is left alone', async () => {
    const root = await tempDir();
    const sleeper = await liveSleep();
    await plantLock(root, await recordOf(sleeper.pid, { start_ticks: sleeper.startTicks - 1 }));
    const lock = await acquireLock(root);
    expect(lock.tookOverFrom).toBe(sleeper.pid);
    expect(await holderPid(root)).toBe(process.pid);
    expect(() => process.kill(sleeper.pid, 0)).not.toThrow();
    await lock.release();
  });

  it('that is the holder (same start time) keeps it', async () => {
    const root = await tempDir();
    const sleeper = await liveSleep();
    const path = await plantLock(root, await recordOf(sleeper.pid, { start_ticks: sleeper.startTicks }));
    expect(await refused(root)).toMatchObject({ name: 'DataDirLockedError', pid: sleeper.pid, path, hostname: null });
  });

  it('written by an older troupe (no start time) before the process started is taken over', async () => {
    const root = await tempDir();
    const sleeper = await liveSleep();
    await plantLock(root, { pid: sleeper.pid, hostname: (await ownIdentity()).hostname, started_at: new Date(Date.now() - 3_600_000).toISOString() });
    const lock = await acquireLock(root);
    expect(lock.tookOverFrom).toBe(sleeper.pid);
    await lock.release();
  });

  it('written by an older troupe after the process started keeps it (it may be that supervisor)', async () => {
    const root = await tempDir();
    const sleeper = await liveSleep();
    await plantLock(root, { pid: sleeper.pid, hostname: (await ownIdentity()).hostname, started_at: new Date(Date.now() + 60_000).toISOString() });
    expect(await refused(root)).toMatchObject({ name: 'DataDirLockedError', pid: sleeper.pid });
  });

  it('under another host name but in this same boot (the machine was renamed): probed like any, so a reused pid is taken over at once', async () => {
    const root = await tempDir();
    const sleeper = await liveSleep();
    await plantLock(root, await recordOf(sleeper.pid, { hostname: 'old-name', start_ticks: sleeper.startTicks + 1 }));
    expect((await acquireLock(root)).tookOverFrom).toBe(sleeper.pid);
  });

  it('written in an earlier boot of this machine is taken over, whatever runs under that pid now', async () => {
    const root = await tempDir();
    const sleeper = await liveSleep();
    await plantLock(root, await recordOf(sleeper.pid, { start_ticks: sleeper.startTicks, boot_id: '00000000-0000-0000-0000-000000000000' }));
    expect((await acquireLock(root)).tookOverFrom).toBe(sleeper.pid);
  });
});

describe('a lock whose holder cannot be probed from here is a lease', () => {
  it('from another host, refreshed within the lease: held, and the error names the host and the age', async () => {
    const root = await tempDir();
    await plantLock(root, await recordOf(4242, { hostname: 'build-box-7', boot_id: 'other', pid_ns: 'pid:[1]', start_ticks: 5 }));
    const error = await refused(root);
    expect(error).toBeInstanceOf(DataDirLockedError);
    expect(error).toMatchObject({ pid: 4242, hostname: 'build-box-7', message: 'The data directory is locked by process 4242 on build-box-7' });
    expect((error as DataDirLockedError).ageMs).toBeLessThan(LOCK_LEASE_MS);
  });

  it('from another host, not refreshed for longer than the lease: taken over', async () => {
    const root = await tempDir();
    await plantLock(root, await recordOf(4242, { hostname: 'build-box-7', boot_id: 'other' }), longAgo());
    expect((await acquireLock(root)).tookOverFrom).toBe(4242);
  });

  it('from another pid namespace of this host (a container), even naming a live pid here: held while fresh, taken over once stale', async () => {
    const root = await tempDir();
    const sleeper = await liveSleep();
    const record = await recordOf(sleeper.pid, { start_ticks: sleeper.startTicks, pid_ns: 'pid:[1]' });
    await plantLock(root, record);
    expect(await refused(root)).toMatchObject({ name: 'DataDirLockedError', pid: sleeper.pid, hostname: (await ownIdentity()).hostname });
    await plantLock(root, record, longAgo());
    expect((await acquireLock(root)).tookOverFrom).toBe(sleeper.pid);
  });
});

/** A process that takes the lock of each directory named on a stdin line, holds what it wins, and reports `<dir> won|locked|error`. */
const CONTENDER = `
  import { acquireLock } from ${JSON.stringify(srcUrl('persistence/data-dir-lock.ts'))};
  const held = [];
  let buffer = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\\n'); nl !== -1; nl = buffer.indexOf('\\n')) {
      const dir = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      acquireLock(dir).then(
        (lock) => { held.push(lock); process.stdout.write(dir + ' won\\n'); },
        (error) => process.stdout.write(dir + (error.name === 'DataDirLockedError' ? ' locked' : ' error ' + JSON.stringify(String(error))) + '\\n'),
      );
    }
  });
  process.stdout.write('ready\\n');
`;

describe('the takeover guard', () => {
  it('left by a contender that died in the middle of a takeover is itself taken over: the lock is taken, nothing is left behind', async () => {
    const root = await tempDir();
    const lockPath = await plantLock(root, await recordOf(2_147_483_000));
    await writeFile((await _takeoverGuardOf(lockPath))!, JSON.stringify(await recordOf(2_147_483_001)));
    const lock = await acquireLock(root);
    expect(lock.tookOverFrom).toBe(2_147_483_000);
    expect(await holderPid(root)).toBe(process.pid);
    expect(await readdir(root)).toEqual(['troupe.lock']);
    await lock.release();
  });

  it('held by a live process means that process is taking the lock over right now: refused, naming it', async () => {
    const root = await tempDir();
    const lockPath = await plantLock(root, await recordOf(2_147_483_000));
    const sleeper = await liveSleep();
    const guard = (await _takeoverGuardOf(lockPath))!;
    await writeFile(guard, JSON.stringify(await recordOf(sleeper.pid, { start_ticks: sleeper.startTicks })));
    expect(await refused(root)).toMatchObject({ name: 'DataDirLockedError', pid: sleeper.pid });
    // the stale lock and the live guard are as they were
    expect(await holderPid(root)).toBe(2_147_483_000);
    expect(JSON.parse(await readFile(guard, 'utf8'))).toMatchObject({ pid: sleeper.pid });
  });
});

describe('racing takeovers', () => {
  // six processes start on two cores: more than the default 30 s when the machine is busy
  it('many processes take over the same stale lock at once: exactly one wins, every trial', { timeout: 120_000 }, async () => {
    const CONTENDERS = 6;
    const TRIALS = 30;
    const base = await tempDir();
    const children = Array.from({ length: CONTENDERS }, () => spawnTsx(CONTENDER));
    try {
      await Promise.all(children.map((child) => waitForOutput(child, 'ready')));
      const results = new Map<string, string[]>();
      let notify: (() => void) | null = null;
      for (const child of children) {
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n')) {
            const [dir, ...verdict] = text.slice(0, nl).split(' ');
            text = text.slice(nl + 1);
            results.set(dir!, [...(results.get(dir!) ?? []), verdict.join(' ')]);
            notify?.();
          }
        });
      }
      const winners: number[] = [];
      for (let trial = 0; trial < TRIALS; trial++) {
        const dir = join(base, `trial-${trial}`);
        await mkdir(dir);
        // the lock of a supervisor that died (no such pid)
        await plantLock(dir, await recordOf(2_147_483_000));
        const done = new Promise<void>((resolve) => {
          notify = () => (results.get(dir)?.length === CONTENDERS ? resolve() : undefined);
        });
        for (const child of children) child.stdin.write(`${dir}\n`);
        await done;
        const verdicts = results.get(dir)!;
        expect(verdicts.filter((v) => v !== 'won' && v !== 'locked')).toEqual([]);
        winners.push(verdicts.filter((v) => v === 'won').length);
        // the lock names the winner, and no guard or temporary file is left beside it
        expect(children.map((c) => c.pid)).toContain(await holderPid(dir));
        expect(await readdir(dir)).toEqual(['troupe.lock']);
      }
      expect(winners).toEqual(Array.from({ length: TRIALS }, () => 1));
    } finally {
      for (const child of children) child.kill('SIGKILL');
      await Promise.all(children.map(exited));
    }
  });
});
