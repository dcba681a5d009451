/**
 * The data directory is its user's alone (issue "Hardening", items 2 and 3):
 * what troupe creates is 0700 / 0600 whatever the umask, and a data
 * directory another user owns or may write into is refused with
 * DATA_DIR_UNSAFE before anything in it is read.
 */
import { chmod, chown, mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../src/persistence/atomic-file.js';
import { DataDirUnsafeError, ensurePrivateDataDir } from '../src/persistence/data-dir-safety.js';
import { appendFilePrivate, mkdirPrivate, openPrivate } from '../src/persistence/private-files.js';
import { createHub, createManualClock, type TroupeError } from '../src/index.js';
import { isTroupeError } from '../src/runtime/errors.js';
import { useTempDirs } from './helpers/persistence.js';

const tempDir = useTempDirs('troupe-private-');
const NOBODY = 65534;
const modeOf = async (path: string) => (await stat(path)).mode & 0o7777;

describe('private files and directories, whatever the umask', () => {
  let saved: number;
  beforeEach(() => {
    saved = process.umask();
  });
  afterEach(() => {
    process.umask(saved);
  });

  it.each([0o000, 0o002, 0o777])('umask %o: mkdirPrivate makes every missing directory 0700, openPrivate, appendFilePrivate and writeFileAtomic files 0600', async (umask) => {
    const base = await tempDir();
    process.umask(umask);
    expect(await mkdirPrivate(join(base, 'a', 'b', 'c'))).toBe(true);
    expect(await mkdirPrivate(join(base, 'a', 'b', 'c'))).toBe(false);
    for (const dir of ['a', 'a/b', 'a/b/c']) expect([dir, await modeOf(join(base, dir))]).toEqual([dir, 0o700]);
    const handle = await openPrivate(join(base, 'a', 'log'), 'a');
    await handle.close();
    await appendFilePrivate(join(base, 'a', 'history'), 'line\n');
    await writeFileAtomic(join(base, 'a', 'atomic'), Buffer.from('x'));
    for (const file of ['log', 'history', 'atomic']) expect([file, await modeOf(join(base, 'a', file))]).toEqual([file, 0o600]);
  });

  it('mkdirPrivate leaves an existing directory as it is', async () => {
    const dir = await tempDir();
    await chmod(dir, 0o755);
    expect(await mkdirPrivate(dir)).toBe(false);
    expect(await modeOf(dir)).toBe(0o755);
  });
});

describe('ensurePrivateDataDir', () => {
  const unsafe = (root: string) => ensurePrivateDataDir(root).then(() => null, (error: unknown) => error);

  it('creates a missing data directory 0700 and takes it as safe', async () => {
    const root = join(await tempDir(), 'new', '.troupe');
    expect(await ensurePrivateDataDir(root)).toEqual({ created: true });
    expect(await modeOf(root)).toBe(0o700);
  });

  it('accepts an existing one of this user that no one else may write (0700, 0750, 0755)', async () => {
    for (const mode of [0o700, 0o750, 0o755]) {
      const root = await tempDir();
      await mkdir(join(root, 'checkpoints', 'wf_1'), { recursive: true });
      await chmod(root, mode);
      expect(await ensurePrivateDataDir(root)).toEqual({ created: false });
    }
  });

  it('refuses one owned by another user, naming the path, the owner and this user', async () => {
    const root = await tempDir();
    await chown(root, NOBODY, NOBODY);
    await chmod(root, 0o700);
    const error = await unsafe(root);
    expect(error).toBeInstanceOf(DataDirUnsafeError);
    expect(error).toMatchObject({ root, path: root, rule: 'owner', uid: NOBODY, euid: 0, message: `${root} belongs to uid ${NOBODY}, not to this process's user (uid 0)` });
  });

  it.each([0o777, 0o770, 0o1777, 0o757])('refuses one of mode %o (group or others may write), naming the mode', async (mode) => {
    const root = await tempDir();
    await chmod(root, mode);
    const error = await unsafe(root);
    expect(error).toMatchObject({ path: root, rule: 'mode', mode, message: `${root} has mode ${mode.toString(8).padStart(4, '0')}: group or others may write into it` });
  });

  it.each([
    ['a fixed directory open to others', 'checkpoints', 'mode'],
    ['a workflow directory open to others', 'checkpoints/wf_1', 'mode'],
    ['a shelf owned by another user', 'workflows/active', 'owner'],
  ] as const)('refuses a private root holding %s, naming that directory', async (_, sub, rule) => {
    const root = await tempDir();
    await mkdir(join(root, sub), { recursive: true, mode: 0o700 });
    if (rule === 'mode') await chmod(join(root, sub), 0o777);
    else await chown(join(root, sub), NOBODY, NOBODY);
    expect(await unsafe(root)).toMatchObject({ root, path: join(root, sub), rule });
  });

  it('follows a symbolic link to where troupe would write: one to another user\'s directory is refused', async () => {
    const root = await tempDir();
    const elsewhere = await tempDir();
    await chown(elsewhere, NOBODY, NOBODY);
    await symlink(elsewhere, join(root, 'checkpoints'));
    expect(await unsafe(root)).toMatchObject({ path: join(root, 'checkpoints'), rule: 'owner', uid: NOBODY });
  });
});

describe('a hub on a data directory that is not private', () => {
  it('does not open: DATA_DIR_UNSAFE names the directory, the rule, the mode and the fix, and nothing is written in it', async () => {
    const root = await tempDir();
    await mkdir(join(root, 'checkpoints', 'wf_planted'), { recursive: true });
    await writeFile(join(root, 'checkpoints', 'wf_planted', '0000000001-create.ckpt'), 'planted');
    await chmod(root, 0o777);
    const before = await readdir(root, { recursive: true });
    const hub = createHub({ maxThreads: 1, dataDir: root, clock: createManualClock(0) });
    const error = (await hub.ready.then(() => null, (e: unknown) => e)) as TroupeError;
    await hub.close();
    expect(isTroupeError(error, 'DATA_DIR_UNSAFE')).toBe(true);
    expect(error.message).toBe(`The data directory ${root} is not private to this user: ${root} has mode 0777: group or others may write into it`);
    expect(error.details).toContain(`Fix: chown -R 0 ${root} && chmod -R go-w ${root} if you trust its content, or use another --data-dir`);
    expect(await readdir(root, { recursive: true })).toEqual(before);
    expect(await readFile(join(root, 'checkpoints', 'wf_planted', '0000000001-create.ckpt'), 'utf8')).toBe('planted');
  });

  it('locked from another host: DATA_DIR_LOCKED names the host, the age of its lock and when it can be taken over', async () => {
    const root = await tempDir();
    await chmod(root, 0o700);
    await writeFile(join(root, 'troupe.lock'), JSON.stringify({ pid: 77, hostname: 'build-box-7', started_at: new Date().toISOString() }));
    const now = new Date();
    await utimes(join(root, 'troupe.lock'), now, now);
    const hub = createHub({ maxThreads: 1, dataDir: root, clock: createManualClock(0) });
    const error = (await hub.ready.then(() => null, (e: unknown) => e)) as TroupeError;
    await hub.close();
    expect(isTroupeError(error, 'DATA_DIR_LOCKED')).toBe(true);
    expect(error.message).toMatch(new RegExp(`^The data directory ${root} is in use by a troupe supervisor on another host \\(pid 77 on build-box-7, lock refreshed \\d+s ago\\)$`));
    expect(error.details).toContain('its lock is taken over once it has not been refreshed for 60s');
  });
});
