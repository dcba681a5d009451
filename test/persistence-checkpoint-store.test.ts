/**
 * The checkpoint store contract (DESIGN §4, §7), as one conformance suite
 * that runs against every CheckpointStore implementation (STYLE: "One
 * conformance suite runs against every store"), plus the file layout of the
 * file store.
 */
import { readdir, readFile, rm, stat, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptCheckpointError, encodeCheckpoint, type CheckpointHeader } from '../src/persistence/checkpoint-codec.js';
import { FileCheckpointStore, type CheckpointInfo, type CheckpointStore } from '../src/persistence/checkpoint-store.js';
import { useTempDirs } from './helpers/persistence.js';

type HeaderInput = Omit<CheckpointHeader, 'format_version' | 'body_sha256'>;

/** What the suite needs from an implementation: the store, and ways to damage what it stored. */
interface CheckpointStoreHarness {
  store: CheckpointStore;
  /** Alters the stored bytes of one checkpoint so it fails its integrity check. */
  corrupt(info: CheckpointInfo): Promise<void>;
  /** Makes one checkpoint vanish behind the store's back (deleted file, lost object). */
  lose(info: CheckpointInfo): Promise<void>;
}

type MakeCheckpointStore = (options: { keep?: number }) => Promise<CheckpointStoreHarness>;

const header = (workflowId: string, seq: number, over: Partial<HeaderInput> = {}): HeaderInput => ({
  machine_id: 'workflow',
  machine_version: 1,
  workflow_id: workflowId,
  seq,
  trigger: 'phase',
  created_at: 1_700_000_000_000 + seq,
  epoch: 0,
  name: null,
  ...over,
});

const bodyOf = (workflowId: string, seq: number) => ({ workflow_id: workflowId, applied_seq: seq * 10, snapshot: { value: `state-${seq}`, when: new Date(seq) } });

/**
 * The conformance suite: every behaviour a CheckpointStore promises, against
 * the implementation `makeStore` builds (a fresh, empty store per test).
 */
function describeCheckpointStore(name: string, makeStore: MakeCheckpointStore): void {
  describe(`CheckpointStore conformance: ${name}`, () => {
    const writeAll = async (store: CheckpointStore, workflowId: string, seqs: number[], trigger = 'phase') => {
      const infos: CheckpointInfo[] = [];
      for (const seq of seqs) infos.push(await store.write(header(workflowId, seq, { trigger }), bodyOf(workflowId, seq)));
      return infos;
    };

    it('write returns the info of what it stored, and list shows it', async () => {
      const { store } = await makeStore({});
      const info = await store.write(header('wf-a', 1, { trigger: 'manual' }), bodyOf('wf-a', 1));
      expect(info).toEqual({ workflowId: 'wf-a', seq: 1, trigger: 'manual', size: expect.any(Number) as number, id: '0000000001-manual' });
      expect(info.size).toBeGreaterThan(0);
      expect(await store.list('wf-a')).toEqual([info]);
    });

    it('read gives back the full header and the body', async () => {
      const { store } = await makeStore({});
      const info = await store.write(header('wf-a', 3, { trigger: 'manual', name: 'before-ship', epoch: 2 }), bodyOf('wf-a', 3));
      const loaded = await store.read(info);
      expect(loaded.info).toEqual(info);
      expect(loaded.header).toMatchObject({ ...header('wf-a', 3, { trigger: 'manual', name: 'before-ship', epoch: 2 }), format_version: 1 });
      expect(loaded.header.body_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(loaded.body).toStrictEqual(bodyOf('wf-a', 3));
    });

    it('lists oldest first by seq, whatever order they were written in', async () => {
      const { store } = await makeStore({});
      await writeAll(store, 'wf-a', [3, 1, 12, 2, 100]);
      expect((await store.list('wf-a')).map((i) => i.seq)).toEqual([1, 2, 3, 12, 100]);
    });

    it('keeps the newest 10 by default, pruning the oldest', async () => {
      const { store } = await makeStore({});
      await writeAll(store, 'wf-a', Array.from({ length: 13 }, (_, i) => i + 1));
      const listed = await store.list('wf-a');
      expect(listed.map((i) => i.seq)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
      // the pruned ones are gone, the kept ones read back
      for (const info of listed) expect((await store.read(info)).body).toStrictEqual(bodyOf('wf-a', info.seq));
    });

    it('keeps a custom number of versions', async () => {
      const { store } = await makeStore({ keep: 3 });
      await writeAll(store, 'wf-a', [1, 2, 3, 4, 5]);
      expect((await store.list('wf-a')).map((i) => i.seq)).toEqual([3, 4, 5]);
      await writeAll(store, 'wf-a', [6]);
      expect((await store.list('wf-a')).map((i) => i.seq)).toEqual([4, 5, 6]);
    });

    it('keep: 1 holds only the newest', async () => {
      const { store } = await makeStore({ keep: 1 });
      await writeAll(store, 'wf-a', [1, 2, 3]);
      expect((await store.list('wf-a')).map((i) => i.seq)).toEqual([3]);
    });

    it('prunes per workflow: one workflow never evicts another', async () => {
      const { store } = await makeStore({ keep: 2 });
      await writeAll(store, 'wf-a', [1, 2]);
      await writeAll(store, 'wf-b', [1, 2, 3, 4]);
      expect((await store.list('wf-a')).map((i) => i.seq)).toEqual([1, 2]);
      expect((await store.list('wf-b')).map((i) => i.seq)).toEqual([3, 4]);
    });

    it('loadNewestValid returns the newest when all are good, with nothing skipped', async () => {
      const { store } = await makeStore({});
      await writeAll(store, 'wf-a', [1, 2, 3]);
      const newest = await store.loadNewestValid('wf-a');
      expect(newest.skipped).toEqual([]);
      expect(newest.checkpoint?.info.seq).toBe(3);
      expect(newest.checkpoint?.body).toStrictEqual(bodyOf('wf-a', 3));
    });

    it('loadNewestValid falls back past a corrupt newest and reports it in skipped', async () => {
      const { store, corrupt } = await makeStore({});
      const infos = await writeAll(store, 'wf-a', [1, 2, 3]);
      await corrupt(infos[2]!);
      await expect(store.read(infos[2]!)).rejects.toThrow(CorruptCheckpointError);
      const newest = await store.loadNewestValid('wf-a');
      expect(newest.checkpoint?.info.seq).toBe(2);
      expect(newest.checkpoint?.body).toStrictEqual(bodyOf('wf-a', 2));
      expect(newest.skipped).toHaveLength(1);
      expect(newest.skipped[0]!.info.seq).toBe(3);
      expect(newest.skipped[0]!.reason).toMatch(/sha256|torn|altered|corrupt/i);
    });

    it('loadNewestValid skips several corrupt ones, newest first', async () => {
      const { store, corrupt } = await makeStore({});
      const infos = await writeAll(store, 'wf-a', [1, 2, 3, 4]);
      await corrupt(infos[3]!);
      await corrupt(infos[2]!);
      const newest = await store.loadNewestValid('wf-a');
      expect(newest.checkpoint?.info.seq).toBe(2);
      expect(newest.skipped.map((s) => s.info.seq)).toEqual([4, 3]);
    });

    it('loadNewestValid gives null when every checkpoint is corrupt, listing them all', async () => {
      const { store, corrupt } = await makeStore({});
      const infos = await writeAll(store, 'wf-a', [1, 2]);
      for (const info of infos) await corrupt(info);
      const newest = await store.loadNewestValid('wf-a');
      expect(newest.checkpoint).toBeNull();
      expect(newest.skipped.map((s) => s.info.seq)).toEqual([2, 1]);
    });

    it('a lost checkpoint is not listed, and loading falls to the previous one without a skip', async () => {
      const { store, lose } = await makeStore({});
      const infos = await writeAll(store, 'wf-a', [1, 2, 3]);
      await lose(infos[2]!);
      expect((await store.list('wf-a')).map((i) => i.seq)).toEqual([1, 2]);
      const newest = await store.loadNewestValid('wf-a');
      expect(newest.checkpoint?.info.seq).toBe(2);
      expect(newest.skipped).toEqual([]);
    });

    it('reading a lost checkpoint rejects', async () => {
      const { store, lose } = await makeStore({});
      const [info] = await writeAll(store, 'wf-a', [1]);
      await lose(info!);
      await expect(store.read(info!)).rejects.toThrow();
    });

    it('an unknown workflow has no checkpoints', async () => {
      const { store } = await makeStore({});
      expect(await store.list('wf-nobody')).toEqual([]);
      expect(await store.loadNewestValid('wf-nobody')).toEqual({ checkpoint: null, skipped: [] });
    });

    it('an empty store has no workflows', async () => {
      const { store } = await makeStore({});
      expect(await store.workflows()).toEqual([]);
    });

    it('workflows() lists every workflow with checkpoints, sorted', async () => {
      const { store } = await makeStore({});
      await writeAll(store, 'wf-c', [1]);
      await writeAll(store, 'wf-a', [1, 2]);
      await writeAll(store, 'wf-b', [5]);
      expect(await store.workflows()).toEqual(['wf-a', 'wf-b', 'wf-c']);
    });

    it('remove() drops every checkpoint of one workflow and leaves the others', async () => {
      const { store } = await makeStore({});
      await writeAll(store, 'wf-a', [1, 2]);
      await writeAll(store, 'wf-b', [1]);
      await store.remove('wf-a');
      expect(await store.list('wf-a')).toEqual([]);
      expect(await store.loadNewestValid('wf-a')).toEqual({ checkpoint: null, skipped: [] });
      expect(await store.workflows()).toEqual(['wf-b']);
      expect((await store.list('wf-b')).map((i) => i.seq)).toEqual([1]);
    });

    it('remove() of an unknown workflow is a no-op, and a removed workflow can be written again', async () => {
      const { store } = await makeStore({});
      await store.remove('wf-nobody');
      await writeAll(store, 'wf-a', [1, 2]);
      await store.remove('wf-a');
      await writeAll(store, 'wf-a', [1]);
      expect((await store.list('wf-a')).map((i) => i.seq)).toEqual([1]);
      expect((await store.loadNewestValid('wf-a')).checkpoint?.body).toStrictEqual(bodyOf('wf-a', 1));
    });

    it('keeps every trigger the runtime uses in the id', async () => {
      const { store } = await makeStore({ keep: 100 });
      const triggers = ['create', 'start', 'pause', 'resume', 'cancel', 'complete', 'cleanup', 'phase', 'end', 'interval', 'manual', 'risky', 'agent_failure', 'restore', 'rollback', 'shutdown', 'recovery', 'import'];
      for (const [i, trigger] of triggers.entries()) await store.write(header('wf-a', i + 1, { trigger }), { i });
      const listed = await store.list('wf-a');
      expect(listed.map((i) => i.trigger)).toEqual(triggers);
      expect(listed.map((i) => i.id)).toEqual(triggers.map((t, i) => `${String(i + 1).padStart(10, '0')}-${t}`));
    });

    it('concurrent writes to different workflows all land', async () => {
      const { store } = await makeStore({});
      await Promise.all(['wf-a', 'wf-b', 'wf-c', 'wf-d'].map((id) => writeAll(store, id, [1, 2, 3])));
      expect(await store.workflows()).toEqual(['wf-a', 'wf-b', 'wf-c', 'wf-d']);
      for (const id of ['wf-a', 'wf-b', 'wf-c', 'wf-d']) expect((await store.loadNewestValid(id)).checkpoint?.body).toStrictEqual(bodyOf(id, 3));
    });

    // BUG: a trigger outside [a-z_] (or a seq of 11+ digits) is written under a
    // file name that list() does not match, so write() resolves but the
    // checkpoint is never listed, loaded nor pruned. The contract should hold
    // for any trigger write() accepts: either reject it or list it.
    it('a checkpoint write() accepted is listed, whatever its trigger', async () => {
      const { store } = await makeStore({});
      let accepted = true;
      try {
        await store.write(header('wf-a', 1, { trigger: 'phase-2' }), {});
      } catch {
        accepted = false;
      }
      if (accepted) expect((await store.list('wf-a')).map((i) => i.trigger)).toEqual(['phase-2']);
    });
  });
}

// ---------------------------------------------------------------------------

const tempDir = useTempDirs('troupe-ckpt-');

const fileStore =
  (dirOf: () => Promise<string>): MakeCheckpointStore =>
  async (options) => {
    const dir = await dirOf();
    const path = (info: CheckpointInfo) => join(dir, info.workflowId, `${info.id}.ckpt`);
    return {
      store: new FileCheckpointStore(dir, options),
      async corrupt(info) {
        const bytes = await readFile(path(info));
        const at = Math.floor(bytes.length / 2);
        bytes[at] = bytes[at]! ^ 0x01;
        await writeFile(path(info), bytes);
      },
      lose: (info) => rm(path(info)),
    };
  };

describeCheckpointStore('FileCheckpointStore', fileStore(tempDir));
// a data dir whose checkpoints/ folder does not exist yet (a fresh `.troupe/`)
describeCheckpointStore('FileCheckpointStore (directory not created yet)', fileStore(async () => join(await tempDir(), 'checkpoints')));

describe('FileCheckpointStore: files on disk', () => {
  const write = (store: FileCheckpointStore, workflowId: string, seq: number, trigger = 'phase') => store.write(header(workflowId, seq, { trigger }), bodyOf(workflowId, seq));

  it('lays files out as <dir>/<workflow-id>/<10-digit seq>-<trigger>.ckpt', async () => {
    const dir = await tempDir();
    const store = new FileCheckpointStore(dir);
    await write(store, 'wf-layout', 1, 'create');
    await write(store, 'wf-layout', 42, 'agent_failure');
    await write(store, 'wf-layout', 1234567890, 'manual');
    expect(await readdir(dir)).toEqual(['wf-layout']);
    expect((await readdir(join(dir, 'wf-layout'))).sort()).toEqual(['0000000001-create.ckpt', '0000000042-agent_failure.ckpt', '1234567890-manual.ckpt']);
  });

  it('info.size is the file size, and the file is a checkpoint of what was written', async () => {
    const dir = await tempDir();
    const store = new FileCheckpointStore(dir);
    const info = await write(store, 'wf-a', 5);
    const file = join(dir, 'wf-a', '0000000005-phase.ckpt');
    expect((await stat(file)).size).toBe(info.size);
    const bytes = await readFile(file);
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('TRPC');
    expect(bytes.length).toBe(encodeCheckpoint(header('wf-a', 5), bodyOf('wf-a', 5)).length);
  });

  it('leaves no temporary files behind after writes', async () => {
    const dir = await tempDir();
    const store = new FileCheckpointStore(dir, { keep: 3 });
    for (let seq = 1; seq <= 6; seq++) await write(store, 'wf-a', seq);
    await Promise.all([write(store, 'wf-b', 1), write(store, 'wf-b', 2), write(store, 'wf-c', 1)]);
    for (const workflow of ['wf-a', 'wf-b', 'wf-c']) {
      const names = await readdir(join(dir, workflow));
      expect(names.filter((n) => !/^\d{10}-[a-z_]+\.ckpt$/.test(n))).toEqual([]);
    }
    expect((await readdir(join(dir, 'wf-a'))).sort()).toEqual(['0000000004-phase.ckpt', '0000000005-phase.ckpt', '0000000006-phase.ckpt']);
  });

  it('ignores a leftover temp file (a crash before the rename) in list and loadNewestValid', async () => {
    const dir = await tempDir();
    const store = new FileCheckpointStore(dir);
    await write(store, 'wf-a', 1);
    await write(store, 'wf-a', 2);
    // what writeFileAtomic leaves if the process dies between write and rename, plus other debris
    await writeFile(join(dir, 'wf-a', '.0000000003-phase.ckpt.4242.deadbeef.tmp'), Buffer.from('half a checkpoint'));
    await writeFile(join(dir, 'wf-a', '0000000004-phase.ckpt.tmp'), Buffer.from('junk'));
    await writeFile(join(dir, 'wf-a', 'notes.txt'), 'x');
    expect((await store.list('wf-a')).map((i) => i.id)).toEqual(['0000000001-phase', '0000000002-phase']);
    const newest = await store.loadNewestValid('wf-a');
    expect(newest.checkpoint?.info.seq).toBe(2);
    expect(newest.skipped).toEqual([]);
  });

  it('a leftover temp file does not count against keep', async () => {
    const dir = await tempDir();
    const store = new FileCheckpointStore(dir, { keep: 2 });
    await write(store, 'wf-a', 1);
    await writeFile(join(dir, 'wf-a', '.0000000002-phase.ckpt.1.aaaa.tmp'), 'x');
    await writeFile(join(dir, 'wf-a', '.0000000003-phase.ckpt.1.bbbb.tmp'), 'x');
    await write(store, 'wf-a', 2);
    expect((await store.list('wf-a')).map((i) => i.seq)).toEqual([1, 2]);
  });

  it('a zero-length or zero-filled checkpoint file (torn before the rename was durable) is skipped', async () => {
    const dir = await tempDir();
    const store = new FileCheckpointStore(dir);
    await write(store, 'wf-a', 1);
    const second = await write(store, 'wf-a', 2);
    const third = await write(store, 'wf-a', 3);
    await writeFile(join(dir, 'wf-a', `${third.id}.ckpt`), Buffer.alloc(0));
    await writeFile(join(dir, 'wf-a', `${second.id}.ckpt`), Buffer.alloc(second.size));
    const newest = await store.loadNewestValid('wf-a');
    expect(newest.checkpoint?.info.seq).toBe(1);
    expect(newest.skipped.map((s) => [s.info.seq, s.reason])).toEqual([
      [3, expect.stringMatching(/bad magic or too short/)],
      [2, expect.stringMatching(/bad magic/)],
    ]);
  });

  it('a file that holds another checkpoint than its name says is corrupt', async () => {
    const dir = await tempDir();
    const store = new FileCheckpointStore(dir);
    await write(store, 'wf-a', 1);
    await write(store, 'wf-b', 2);
    // a valid checkpoint, misfiled: seq 1 under the name of seq 2, and wf-b's seq 2 under wf-a
    await copyFile(join(dir, 'wf-a', '0000000001-phase.ckpt'), join(dir, 'wf-a', '0000000002-phase.ckpt'));
    await copyFile(join(dir, 'wf-b', '0000000002-phase.ckpt'), join(dir, 'wf-a', '0000000003-phase.ckpt'));
    const listed = await store.list('wf-a');
    await expect(store.read(listed[1]!)).rejects.toThrow(CorruptCheckpointError);
    await expect(store.read(listed[2]!)).rejects.toThrow(/holds checkpoint 2 of wf-b/);
    const newest = await store.loadNewestValid('wf-a');
    expect(newest.checkpoint?.info.seq).toBe(1);
    expect(newest.skipped.map((s) => s.info.seq)).toEqual([3, 2]);
  });

  it('remove() deletes the workflow directory', async () => {
    const dir = await tempDir();
    const store = new FileCheckpointStore(dir);
    await write(store, 'wf-a', 1);
    await write(store, 'wf-b', 1);
    await store.remove('wf-a');
    expect(await readdir(dir)).toEqual(['wf-b']);
  });

  it('a second store on the same directory (a restarted process) sees the same checkpoints', async () => {
    const dir = await tempDir();
    await write(new FileCheckpointStore(dir), 'wf-a', 1);
    await write(new FileCheckpointStore(dir), 'wf-a', 2);
    const again = new FileCheckpointStore(dir);
    expect((await again.list('wf-a')).map((i) => i.seq)).toEqual([1, 2]);
    expect((await again.loadNewestValid('wf-a')).checkpoint?.body).toStrictEqual(bodyOf('wf-a', 2));
  });
});
