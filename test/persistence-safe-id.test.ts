/**
 * One rule for every id that becomes a path (issue "Hardening", item 1):
 * `unsafeIdReason`/`assertSafeId`/`idPath` in src/persistence/safe-id.ts, used
 * by the command boundary, the definition, load-state, the checkpoint store
 * and the workflow index. Real files in scratch directories.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertSafeId, idPath, isSafeId, SAFE_ID_RULE, UnsafeIdError } from '../src/index.js';
import { FileCheckpointStore } from '../src/persistence/checkpoint-store.js';
import { WorkflowIndex } from '../src/persistence/data-dir.js';
import { useTempDirs } from './helpers/persistence.js';

const tempDir = useTempDirs('troupe-safe-id-');

describe('the id rule', () => {
  it.each(['wf_1', 'hello_lx3k2', 'a', 'A-b.c_9', 'v1.2.3', '0000000003-phase', 'x'.repeat(128)])('%j may name a file', (id) => {
    expect(isSafeId(id)).toBe(true);
    expect(() => assertSafeId('workflow id', id)).not.toThrow();
  });

  it.each([
    ['../../victim', 'holds "/"'],
    ['/etc/passwd', 'holds "/"'],
    ['a\\b', 'holds "\\\\"'],
    ['a b', 'holds " "'],
    ['nul\u0000byte', 'holds "\\u0000"'],
    ['..', 'starts with "."'],
    ['.', 'starts with "."'],
    ['.hidden', 'starts with "."'],
    ['-rf', 'starts with "-"'],
    ['_x', 'starts with "_"'],
    ['a..b', 'holds ".."'],
    ['', 'is empty'],
    ['x'.repeat(129), 'is 129 characters long'],
    [42, 'is not a string (got number)'],
    [null, 'is not a string (got null)'],
  ])('%j is refused: it %s', (id, why) => {
    expect(isSafeId(id)).toBe(false);
    const thrown = (() => {
      try {
        assertSafeId('task id', id);
      } catch (error) {
        return error;
      }
      return null;
    })();
    expect(thrown).toBeInstanceOf(UnsafeIdError);
    expect(thrown).toMatchObject({ code: 'INVALID_ID', kind: 'task id', id, reason: why, message: `Task id ${JSON.stringify(id)} cannot name a file: it ${why}. ${SAFE_ID_RULE}` });
  });

  it('idPath gives <dir>/<id><suffix> directly inside dir for every id it accepts, and refuses every other', () => {
    const dir = '/data/checkpoints';
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[A-Za-z0-9._/-]{0,12}$/)), fc.constantFrom('', '.wf', '.ckpt', '.3.log'), (id, suffix) => {
        let path: string;
        try {
          path = idPath(dir, 'workflow id', id, suffix);
        } catch (error) {
          expect(error).toBeInstanceOf(UnsafeIdError);
          expect(isSafeId(id)).toBe(false);
          return;
        }
        expect(isSafeId(id)).toBe(true);
        expect(dirname(path)).toBe(resolve(dir));
        expect(basename(path)).toBe(`${id}${suffix}`);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the checkpoint store and the workflow index join ids only through the rule', () => {
  const header = (workflowId: string) => ({ machine_id: 'workflow', machine_version: 2, workflow_id: workflowId, seq: 1, trigger: 'manual', created_at: 0, epoch: 0, name: null });

  it('the checkpoint store refuses a path-like workflow or checkpoint id before touching a file', async () => {
    const root = await tempDir();
    await mkdir(join(root, 'victim'));
    await writeFile(join(root, 'victim', 'keep.txt'), 'precious');
    const store = new FileCheckpointStore(join(root, 'data', 'checkpoints'));
    await expect(store.write(header('../../victim'), {})).rejects.toBeInstanceOf(UnsafeIdError);
    await expect(store.remove('../../victim')).rejects.toMatchObject({ code: 'INVALID_ID', id: '../../victim' });
    await expect(store.list('../../victim')).rejects.toBeInstanceOf(UnsafeIdError);
    await expect(store.loadNewestValid('..')).rejects.toBeInstanceOf(UnsafeIdError);
    await expect(store.read({ workflowId: 'wf', seq: 1, trigger: 'manual', size: 0, id: '../../../victim/keep' })).rejects.toMatchObject({ code: 'INVALID_ID', kind: 'checkpoint id' });
    expect(await readFile(join(root, 'victim', 'keep.txt'), 'utf8')).toBe('precious');
    expect(await readdir(root)).toEqual(['victim']);
  });

  it('a directory or index file whose name is no workflow id is not listed as a workflow', async () => {
    const root = await tempDir();
    const store = new FileCheckpointStore(join(root, 'checkpoints'));
    await store.write(header('wf_1'), {});
    for (const odd of ['.staging', 'a b', '-x']) await mkdir(join(root, 'checkpoints', odd));
    expect(await store.workflows()).toEqual(['wf_1']);

    const index = new WorkflowIndex(join(root, 'workflows'));
    await index.put('active', { id: 'wf_1', name: 'n', status: 'created', updated_at: 0 });
    // `...wf` would read as id "..", `a b.wf` as "a b": neither is written by troupe
    for (const odd of ['...wf', 'a b.wf', '.x.wf']) await writeFile(join(root, 'workflows', 'active', odd), '');
    expect(await index.list('active')).toEqual(['wf_1']);
    await expect(index.put('active', { id: '../escape', name: 'n', status: 'created', updated_at: 0 })).rejects.toBeInstanceOf(UnsafeIdError);
    await expect(index.remove('../escape')).rejects.toBeInstanceOf(UnsafeIdError);
    expect(await readdir(root)).toEqual(['checkpoints', 'workflows']);
  });
});
