/**
 * The data directory (DESIGN §7): one supervisor per directory through
 * `troupe.lock` — held against other live processes, taken over from dead
 * ones — and the workflow index shelves `workflows/{active,completed,failed}`.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packr } from '../src/persistence/checkpoint-codec.js';
import { dataDirLayout, WorkflowIndex, type WorkflowIndexRecord } from '../src/persistence/data-dir.js';
import { acquireLock, DataDirLockedError } from '../src/persistence/data-dir-lock.js';
import { exited, runTsx, spawnTsx, srcUrl, useTempDirs, waitForOutput } from './helpers/persistence.js';

const tempDir = useTempDirs('troupe-datadir-');

const exists = (path: string) => stat(path).then(() => true, () => false);

/** A child process that takes the lock, says `locked`, and releases it when told `release` on stdin. */
const LOCK_HOLDER = `
  import { acquireLock } from ${JSON.stringify(srcUrl('persistence/data-dir-lock.ts'))};
  const lock = await acquireLock(process.env.LOCK_DIR);
  process.stdout.write('locked ' + JSON.stringify({ pid: process.pid, tookOverFrom: lock.tookOverFrom }) + '\\n');
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', async (text) => {
    if (text.includes('release')) {
      await lock.release();
      process.stdout.write('released\\n');
      process.exit(0);
    }
  });
`;

describe('data dir lock: in one process', () => {
  it('creates the directory and a lock file naming this process', async () => {
    const root = join(await tempDir(), '.troupe');
    const lock = await acquireLock(root);
    expect(lock.tookOverFrom).toBeNull();
    const content = JSON.parse(await readFile(join(root, 'troupe.lock'), 'utf8')) as Record<string, unknown>;
    // the whole record: test/persistence-data-dir-lock-takeover.test.ts
    expect(content).toMatchObject({ pid: process.pid, hostname: hostname(), started_at: expect.any(String) as string });
    expect(new Date(content.started_at as string).toISOString()).toBe(content.started_at);
    await lock.release();
  });

  it('release() removes the lock file, and the lock can be taken again without a takeover', async () => {
    const root = await tempDir();
    const lock = await acquireLock(root);
    await lock.release();
    expect(await exists(join(root, 'troupe.lock'))).toBe(false);
    const again = await acquireLock(root);
    expect(again.tookOverFrom).toBeNull();
    await again.release();
  });

  it('release() leaves a lock that another process has since taken', async () => {
    const root = await tempDir();
    const lock = await acquireLock(root);
    const other = JSON.stringify({ pid: 2_147_483_000, hostname: 'elsewhere', started_at: new Date(0).toISOString() });
    await writeFile(join(root, 'troupe.lock'), other);
    await lock.release();
    expect(await readFile(join(root, 'troupe.lock'), 'utf8')).toBe(other);
  });

  it('this process may take its own lock again (it reports taking it over from itself)', async () => {
    const root = await tempDir();
    const first = await acquireLock(root);
    const second = await acquireLock(root);
    expect(second.tookOverFrom).toBe(process.pid);
    await second.release();
    await first.release();
  });

  it.each([
    ['garbage', 'not json at all {'],
    ['an empty file (a writer that died before writing)', ''],
    ['JSON without a pid', '{"hostname":"x"}'],
    ['a pid that is not a number', '{"pid":"1234"}'],
    ['half-written JSON', '{"pid": 12'],
  ])('takes over a lock file holding %s', async (_, content) => {
    const root = await tempDir();
    await writeFile(join(root, 'troupe.lock'), content);
    const lock = await acquireLock(root);
    expect(lock.tookOverFrom).toBeNull();
    expect((JSON.parse(await readFile(join(root, 'troupe.lock'), 'utf8')) as { pid: number }).pid).toBe(process.pid);
    await lock.release();
    expect(await exists(join(root, 'troupe.lock'))).toBe(false);
  });

  it('takes over the lock of a pid that does not exist, and says whose it was', async () => {
    const root = await tempDir();
    // above any Linux pid_max: no such process
    await writeFile(join(root, 'troupe.lock'), JSON.stringify({ pid: 2_147_483_000, hostname: hostname(), started_at: new Date(0).toISOString() }));
    const lock = await acquireLock(root);
    expect(lock.tookOverFrom).toBe(2_147_483_000);
    await lock.release();
  });
});

describe('data dir lock: across processes', () => {
  it('a live holder keeps it (DataDirLockedError with its pid); once it is killed the lock is taken over from it', async () => {
    const root = await tempDir();
    const child = spawnTsx(LOCK_HOLDER, { LOCK_DIR: root });
    try {
      await waitForOutput(child, 'locked');
      expect(child.pid).toBeTypeOf('number');
      const error = await acquireLock(root).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DataDirLockedError);
      expect(error).toMatchObject({ name: 'DataDirLockedError', pid: child.pid, path: join(root, 'troupe.lock') });
      expect((error as Error).message).toContain(String(child.pid));
      // the failed attempt left the holder's lock as it was
      expect((JSON.parse(await readFile(join(root, 'troupe.lock'), 'utf8')) as { pid: number }).pid).toBe(child.pid);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited(child)).toEqual({ code: null, signal: 'SIGKILL' });
    const lock = await acquireLock(root);
    expect(lock.tookOverFrom).toBe(child.pid);
    expect((JSON.parse(await readFile(join(root, 'troupe.lock'), 'utf8')) as { pid: number }).pid).toBe(process.pid);
    await lock.release();
  });

  it('a holder that releases leaves nothing to take over', async () => {
    const root = await tempDir();
    const child = spawnTsx(LOCK_HOLDER, { LOCK_DIR: root });
    try {
      await waitForOutput(child, 'locked');
      await expect(acquireLock(root)).rejects.toBeInstanceOf(DataDirLockedError);
      const released = waitForOutput(child, 'released');
      child.stdin.write('release\n');
      await released;
      expect(await exited(child)).toEqual({ code: 0, signal: null });
    } finally {
      child.kill('SIGKILL');
    }
    const lock = await acquireLock(root);
    expect(lock.tookOverFrom).toBeNull();
    await lock.release();
  });

  it('another process cannot take the lock this process holds', async () => {
    const root = await tempDir();
    const lock = await acquireLock(root);
    const result = await runTsx(
      `
      import { acquireLock, DataDirLockedError } from ${JSON.stringify(srcUrl('persistence/data-dir-lock.ts'))};
      try {
        await acquireLock(process.env.LOCK_DIR);
        process.stdout.write(JSON.stringify({ took: true }));
      } catch (error) {
        process.stdout.write(JSON.stringify({ took: false, locked: error instanceof DataDirLockedError, pid: error.pid }));
      }
    `,
      { LOCK_DIR: root },
    );
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ took: false, locked: true, pid: process.pid });
    await lock.release();
  });
});

describe('data dir layout', () => {
  it('names the paths of DESIGN §7', () => {
    expect(dataDirLayout('/data/.troupe')).toEqual({
      root: '/data/.troupe',
      lock: '/data/.troupe/troupe.lock',
      socket: '/data/.troupe/troupe.sock',
      workflows: '/data/.troupe/workflows',
      checkpoints: '/data/.troupe/checkpoints',
      events: '/data/.troupe/events',
      agentPools: '/data/.troupe/agent_pools',
      poolRecords: '/data/.troupe/agent_pools/pool.ckpt',
      kpiTotals: '/data/.troupe/metrics/kpis.ckpt',
      subscriptions: '/data/.troupe/subscriptions.ckpt',
      bundleKey: '/data/.troupe/bundle.key',
    });
  });
});

describe('workflow index', () => {
  const record = (id: string, status: string, updated_at = 1_000): WorkflowIndexRecord => ({ id, name: `name of ${id}`, status, updated_at });

  it('put writes workflows/<shelf>/<id>.wf holding the record', async () => {
    const dir = join(await tempDir(), 'workflows');
    const index = new WorkflowIndex(dir);
    await index.put('active', record('wf-1', 'running'));
    expect(await readdir(join(dir, 'active'))).toEqual(['wf-1.wf']);
    expect(packr.unpack(await readFile(join(dir, 'active', 'wf-1.wf')))).toEqual(record('wf-1', 'running'));
  });

  it('put moves a record between shelves: active -> completed', async () => {
    const index = new WorkflowIndex(await tempDir());
    await index.put('active', record('wf-1', 'running'));
    expect(await index.list('active')).toEqual(['wf-1']);
    await index.put('completed', record('wf-1', 'completed', 2_000));
    expect(await index.list('active')).toEqual([]);
    expect(await index.list('completed')).toEqual(['wf-1']);
    expect(await index.list('failed')).toEqual([]);
  });

  it('put moves a record from any shelf to any other', async () => {
    const dir = await tempDir();
    const index = new WorkflowIndex(dir);
    await index.put('failed', record('wf-1', 'failed'));
    await index.put('active', record('wf-1', 'running'));
    expect([await index.list('active'), await index.list('completed'), await index.list('failed')]).toEqual([['wf-1'], [], []]);
    await index.put('failed', record('wf-1', 'cancelled'));
    expect([await index.list('active'), await index.list('completed'), await index.list('failed')]).toEqual([[], [], ['wf-1']]);
    expect(packr.unpack(await readFile(join(dir, 'failed', 'wf-1.wf')))).toEqual(record('wf-1', 'cancelled'));
  });

  it('put on the same shelf replaces the record', async () => {
    const dir = await tempDir();
    const index = new WorkflowIndex(dir);
    await index.put('active', record('wf-1', 'running', 1));
    await index.put('active', record('wf-1', 'paused', 2));
    expect(await index.list('active')).toEqual(['wf-1']);
    expect(packr.unpack(await readFile(join(dir, 'active', 'wf-1.wf')))).toEqual(record('wf-1', 'paused', 2));
  });

  it('lists each shelf separately, sorted, and an empty or missing shelf as []', async () => {
    const index = new WorkflowIndex(join(await tempDir(), 'not-yet'));
    expect(await index.list('active')).toEqual([]);
    await index.put('active', record('wf-c', 'running'));
    await index.put('active', record('wf-a', 'running'));
    await index.put('completed', record('wf-b', 'completed'));
    await index.put('failed', record('wf-d', 'failed'));
    expect(await index.list('active')).toEqual(['wf-a', 'wf-c']);
    expect(await index.list('completed')).toEqual(['wf-b']);
    expect(await index.list('failed')).toEqual(['wf-d']);
  });

  it('remove takes a workflow off every shelf; removing an unknown one is a no-op', async () => {
    const index = new WorkflowIndex(await tempDir());
    await index.put('active', record('wf-1', 'running'));
    await index.put('completed', record('wf-2', 'completed'));
    await index.remove('wf-1');
    await index.remove('wf-2');
    await index.remove('wf-nobody');
    expect([await index.list('active'), await index.list('completed'), await index.list('failed')]).toEqual([[], [], []]);
  });

  it('leaves no temporary files, and ignores a leftover one', async () => {
    const dir = await tempDir();
    const index = new WorkflowIndex(dir);
    for (let i = 0; i < 5; i++) await index.put('active', record(`wf-${i}`, 'running'));
    await index.put('completed', record('wf-0', 'completed'));
    expect((await readdir(join(dir, 'active'))).every((n) => n.endsWith('.wf'))).toBe(true);
    expect(await readdir(join(dir, 'completed'))).toEqual(['wf-0.wf']);
    await writeFile(join(dir, 'active', '.wf-9.wf.123.abcd1234.tmp'), 'half');
    expect(await index.list('active')).toEqual(['wf-1', 'wf-2', 'wf-3', 'wf-4']);
  });

  // BUG: WorkflowIndex.put writes the new shelf before removing the old one and
  // says "a crash between leaves two, and `list` prefers the ended shelf", but
  // list(shelf) reads one directory and prefers nothing: after such a crash a
  // completed workflow is still listed as active, and hub-open recovers every
  // id of list('active').
  it('after a crash between the write and the removal, list prefers the ended shelf', async () => {
    const dir = await tempDir();
    const index = new WorkflowIndex(dir);
    await index.put('completed', record('wf-1', 'completed'));
    await index.put('active', record('wf-2', 'running'));
    // the state a crash leaves between put('completed')'s rename and its rm of the active record
    await mkdir(join(dir, 'active'), { recursive: true });
    await writeFile(join(dir, 'active', 'wf-1.wf'), packr.pack(record('wf-1', 'running')));
    expect(await index.list('completed')).toEqual(['wf-1']);
    expect(await index.list('active')).toEqual(['wf-2']);
  });
});
