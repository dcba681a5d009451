/**
 * Checkpoints as the spec asks (coordination-hub §6, protocol "Checkpoint
 * Synchronization"): the files a workflow touches recorded with their
 * checksums and compared later; bodies stored compressed under
 * `state_compression`, with corruption still found before anything is
 * inflated; and CHECKPOINT_CREATED, with the protocol's checkpoint_sync, for
 * every checkpoint whatever its trigger. Real hubs, real files, real pool.
 * The codec and store side of compression: persistence-checkpoint-compression.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, type EventRecord, type Hub, type HubOptions } from '../src/index.js';
import { decodeCheckpoint, packr } from '../src/persistence/checkpoint-codec.js';
import type { CheckpointBody } from '../src/runtime/durability/checkpoint-body.js';
import { compareRecordedFiles, fileSystemHash } from '../src/runtime/durability/recorded-files.js';
import { loadConfig } from '../src/cli/config-file.js';
import { scratchDir } from './helpers/cli.js';
import { ok } from './helpers/responses.js';

const sha256hex = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** Where the parts of an encoded checkpoint are: `TRPC | u32 len | header | stored body | sha256`. */
const bodyStart = (bytes: Buffer) => 8 + bytes.readUInt32BE(4);

describe('checkpoints of a running hub', () => {
  let dir: string;
  let work: string;
  let cleanups: (() => Promise<void>)[] = [];
  let hubs: Hub[] = [];
  const open = (options: HubOptions = {}) => {
    const hub = createHub({ maxThreads: 2, dataDir: dir, ...options });
    hubs.push(hub);
    return hub;
  };
  beforeEach(async () => {
    const a = await scratchDir();
    const b = await scratchDir();
    dir = a.dir;
    work = b.dir;
    cleanups = [a.cleanup, b.cleanup];
  });
  afterEach(async () => {
    for (const hub of hubs) await hub.close({ graceMs: 0 });
    hubs = [];
    for (const c of cleanups) await c();
  });

  const checkpointFiles = async (id: string) => (await readdir(join(dir, 'checkpoints', id))).sort();
  const readCheckpoint = async (id: string, name: string) => decodeCheckpoint(await readFile(join(dir, 'checkpoints', id, name)));

  it('include_files records the files the tasks name (resolved against the exec cwd), and list-checkpoints, restore and compareRecordedFiles tell what changed since', async () => {
    await writeFile(join(work, 'a.txt'), 'first');
    await writeFile(join(work, 'b.txt'), 'stays');
    await writeFile(join(work, 'c.txt'), 'goes away');
    const hub = open();
    await hub.ready;
    const definition = {
      name: 'files',
      phases: [{ name: 'p', tasks: [{ id: 'edit', handler: 'exec', input: { command: 'true', cwd: work }, exclusive_files: ['a.txt', 'b.txt', 'c.txt', 'never.txt'] }] }],
    };
    ok(await hub.execute({ operation: 'create', workflow_id: 'wf', parameters: definition }));
    // the spec's example, as written
    const made = ok(await hub.execute({ operation: 'checkpoint', workflow_id: 'wf', parameters: { name: 'before_critical_phase', include_files: true, validate_state: true } }));
    expect(made).toMatchObject({ name: 'before_critical_phase', integrity_check: 'passed', validated: true });
    expect(made.files).toEqual([
      { path: join(work, 'a.txt'), sha256: sha256hex('first'), size: 5, mtime_ms: expect.any(Number) },
      { path: join(work, 'b.txt'), sha256: sha256hex('stays'), size: 5, mtime_ms: expect.any(Number) },
      { path: join(work, 'c.txt'), sha256: sha256hex('goes away'), size: 9, mtime_ms: expect.any(Number) },
      { path: join(work, 'never.txt'), sha256: null, size: null, mtime_ms: null, missing: true },
    ]);
    const body = (await readCheckpoint('wf', `${made.checkpoint_id}.ckpt`)).body as CheckpointBody;
    expect(body.files?.files).toEqual(made.files);

    await writeFile(join(work, 'a.txt'), 'other'); // same size, other content
    await rm(join(work, 'c.txt'));
    const compared = await compareRecordedFiles(body.files!.files);
    expect(compared).toEqual({ changed: [join(work, 'a.txt')], missing: [join(work, 'c.txt')], unchanged: [join(work, 'b.txt'), join(work, 'never.txt')], unchecked: [] });

    const listed = ok(await hub.execute({ operation: 'list-checkpoints', workflow_id: 'wf' })).checkpoints;
    const manual = listed.find((c: { checkpoint_id: string }) => c.checkpoint_id === made.checkpoint_id);
    expect(manual.files).toEqual({ recorded: 4, unchanged: 2, changed: [join(work, 'a.txt')], missing: [join(work, 'c.txt')] });
    // the create checkpoint recorded none (the workflow does not set checkpoint_files)
    expect(listed[0].files).toBeUndefined();

    // verify_dependencies (on by default) compares the same files and refuses: restoring state does not restore them
    const refused = await hub.execute({ operation: 'restore', workflow_id: 'wf', parameters: { checkpoint_id: made.checkpoint_id } });
    expect(refused.status === 'error' && refused.error).toMatchObject({ code: 'DEPENDENCY_VALIDATION_FAILED', details: expect.stringContaining(`file ${join(work, 'c.txt')} is gone`) });
    const restored = ok(await hub.execute({ operation: 'restore', workflow_id: 'wf', parameters: { checkpoint_id: made.checkpoint_id, verify_dependencies: false } }));
    expect(restored.files).toEqual(manual.files);
    expect(restored.dependencies.files).toEqual({
      checked: 4,
      changed: [
        { path: join(work, 'a.txt'), was: { sha256: sha256hex('first'), size: 5 }, now: { sha256: sha256hex('other'), size: 5 } },
        { path: join(work, 'c.txt'), was: { sha256: sha256hex('goes away'), size: 9 }, now: null },
      ],
    });
  });

  it('include_files on a workflow that names no files says so', async () => {
    const hub = open();
    await hub.ready;
    ok(await hub.execute({ operation: 'create', workflow_id: 'wf', parameters: { name: 'none', phases: [{ name: 'p', tasks: [{ id: 't', handler: 'noop' }] }] } }));
    const response = await hub.execute({ operation: 'checkpoint', workflow_id: 'wf', parameters: { include_files: true } });
    expect(ok(response).files).toEqual([]);
    expect(response.status === 'success' && response.warnings).toEqual([expect.stringMatching(/^include_files: the workflow names no files/)]);
  });

  it('announces every checkpoint: an automatic phase checkpoint carries checkpoint_sync with the hashes of what it stored', async () => {
    await writeFile(join(work, 'shared.txt'), 'shared content');
    const hub = open();
    await hub.ready;
    const tasks = (phase: string) =>
      Array.from({ length: 15 }, (_, i) => ({ id: `${phase}${i}`, handler: 'echo', input: { value: { phase, i, text: `output of task ${i} in ${phase}` } }, exclusive_files: [join(work, 'shared.txt')] }));
    const definition = { name: 'phases', checkpoint_files: true, phases: [{ name: 'one', tasks: tasks('a') }, { name: 'two', tasks: tasks('b') }] };
    ok(await hub.execute({ operation: 'create', workflow_id: 'wf', parameters: definition }));
    ok(await hub.execute({ operation: 'start', workflow_id: 'wf' }));
    expect(ok(await hub.execute({ operation: 'wait', workflow_id: 'wf', parameters: { timeout: '60s' } })).status).toBe('completed');
    // the end checkpoint is written after the status turns: wait for its announcement
    for (let i = 0; i < 500 && !hub.events('wf').some((e) => e.event_type === 'CHECKPOINT_CREATED' && e.data.trigger === 'end'); i++) await new Promise((r) => setTimeout(r, 5));

    const events = hub.events('wf');
    expect(events.slice(0, 2).map((e) => [e.event_type, e.data.trigger ?? null])).toEqual([['WORKFLOW_CREATED', null], ['CHECKPOINT_CREATED', 'create']]);
    const announced = events.filter((e: EventRecord) => e.event_type === 'CHECKPOINT_CREATED');
    // one announcement per checkpoint written, whatever its trigger
    const written = (await checkpointFiles('wf')).map((n) => n.replace(/\.ckpt$/, ''));
    expect(announced.map((e) => e.data.checkpoint)).toEqual(written);
    expect(announced.map((e) => e.data.trigger)).toEqual(['create', 'start', 'phase', 'end']);

    const phase = announced.find((e) => e.data.trigger === 'phase')!;
    const sync = phase.data.checkpoint_sync as Record<string, Record<string, unknown> & { state_snapshot: Record<string, unknown>; storage_metadata: Record<string, unknown> }>;
    const stored = await readFile(join(dir, String(sync.storage_metadata!.storage_location)));
    const { header, body } = decodeCheckpoint(stored);
    const checkpointBody = body as CheckpointBody;
    expect(sync).toMatchObject({
      message_type: 'checkpoint_update',
      workflow_id: 'wf',
      checkpoint_id: phase.data.checkpoint,
      timestamp: new Date(header.created_at).toISOString(),
      checkpoint_type: 'phase_complete',
      trigger: 'automatic',
      // nothing was read back: an automatic checkpoint claims no check it did not make
      validation_results: { integrity_check: 'unknown', dependency_validation: 'unknown', resource_consistency: 'unknown' },
    });
    expect(sync.state_snapshot).toEqual({
      workflow_state_hash: `sha256:${header.body_sha256}`,
      file_system_hash: `sha256:${fileSystemHash(checkpointBody.files)}`,
      agent_state_hash: `sha256:${sha256hex(packr.pack(checkpointBody.in_flight.map((f) => [f.task_id, f.attempt, f.agent_id])))}`,
      resource_state_hash: `sha256:${sha256hex(packr.pack([]))}`,
    });
    expect(checkpointBody.files?.files).toEqual([{ path: join(work, 'shared.txt'), sha256: sha256hex('shared content'), size: 14, mtime_ms: expect.any(Number) }]);
    // the body of 15 completed tasks with outputs is over the threshold: stored deflated, the ratio measured
    expect(header).toMatchObject({ format_version: 2, compression: 'deflate-raw' });
    const storedBody = stored.length - bodyStart(stored) - 32;
    expect(sync.storage_metadata).toEqual({
      size_bytes: stored.length,
      compression_ratio: Math.round((storedBody / header.body_bytes!) * 1000) / 1000,
      compression: 'deflate-raw',
      storage_location: `checkpoints/wf/${String(phase.data.checkpoint)}.ckpt`,
    });
    expect(sync.storage_metadata!.compression_ratio).toBeLessThan(0.5);
  });

  it('state_compression false writes format 1; a hub with it on recovers those files and compresses its own', async () => {
    const tasks = Array.from({ length: 20 }, (_, i) => ({ id: `t${i}`, handler: 'echo', input: { value: `output number ${i} of a workflow written uncompressed` } }));
    const a = open({ stateCompression: false });
    await a.ready;
    ok(await a.execute({ operation: 'create', workflow_id: 'wf', parameters: { name: 'mixed', phases: [{ name: 'p', tasks }, { name: 'q', tasks: [{ id: 'last', handler: 'noop' }] }] } }));
    ok(await a.execute({ operation: 'start', workflow_id: 'wf' }));
    ok(await a.execute({ operation: 'pause', workflow_id: 'wf' }));
    const saved = ok(await a.execute({ operation: 'save-state', workflow_id: 'wf', parameters: { path: join(work, 'wf.troupe') } }));
    expect(saved.compressed).toBe(false);
    await a.close();
    for (const name of await checkpointFiles('wf')) expect((await readCheckpoint('wf', name)).header.format_version).toBe(1);

    const b = open();
    await b.ready;
    expect(ok(await b.execute({ operation: 'get-status', workflow_id: 'wf' })).workflow_state.status).toBe('paused');
    ok(await b.execute({ operation: 'resume', workflow_id: 'wf' }));
    expect(ok(await b.execute({ operation: 'wait', workflow_id: 'wf', parameters: { timeout: '60s' } })).status).toBe('completed');
    await b.close();
    const names = await checkpointFiles('wf');
    const newest = await readCheckpoint('wf', names.at(-1)!);
    expect(newest.header).toMatchObject({ format_version: 2, compression: 'deflate-raw' });

    // and the state in it is whole: a third hub reads the outputs from the compressed checkpoint
    const c = open();
    await c.ready;
    const state = ok(await c.execute({ operation: 'get-status', workflow_id: 'wf' })).workflow_state;
    expect(state.status).toBe('completed');
    expect(state.phases[0].tasks.map((t: { output: unknown }) => t.output)).toEqual(tasks.map((t) => t.input.value));
  });

  it('a flipped byte in the newest (compressed) checkpoint: the restart uses the previous one and says so', async () => {
    const tasks = Array.from({ length: 20 }, (_, i) => ({ id: `t${i}`, handler: 'echo', input: { value: `output number ${i} in a long enough body` } }));
    const a = open();
    await a.ready;
    ok(await a.execute({ operation: 'create', workflow_id: 'wf', parameters: { name: 'flip', phases: [{ name: 'p', tasks }, { name: 'q', tasks: [{ id: 'last', handler: 'noop' }] }] } }));
    ok(await a.execute({ operation: 'start', workflow_id: 'wf' }));
    ok(await a.execute({ operation: 'pause', workflow_id: 'wf' }));
    ok(await a.execute({ operation: 'checkpoint', workflow_id: 'wf', parameters: { name: 'good' } }));
    ok(await a.execute({ operation: 'checkpoint', workflow_id: 'wf', parameters: { name: 'to_be_damaged' } }));
    await a.close();
    const names = await checkpointFiles('wf');
    const newestPath = join(dir, 'checkpoints', 'wf', names.at(-1)!);
    const bytes = await readFile(newestPath);
    expect(decodeCheckpoint(bytes).header.compression).toBe('deflate-raw');
    const at = bodyStart(bytes) + 30;
    bytes[at] = bytes[at]! ^ 0x01;
    await writeFile(newestPath, bytes);

    const b = open();
    await b.ready;
    const restored = b.events('wf').findLast((e) => e.event_type === 'CHECKPOINT_RESTORED')!;
    expect(restored.severity).toBe('warning');
    expect(restored.data.checkpoint).toBe(names.at(-2)!.replace(/\.ckpt$/, ''));
    expect(JSON.stringify(restored.data.skipped_checkpoints)).toMatch(/sha256 mismatch/);
    expect(ok(await b.execute({ operation: 'get-status', workflow_id: 'wf' })).workflow_state.status).toBe('paused');
  });
});

describe('recorded files without a hub', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(() => cleanup());

  it('a file that appears where one was recorded missing is changed; a directory is recorded by size and mtime only', async () => {
    const path = join(dir, 'later.txt');
    await mkdir(join(dir, 'folder'));
    const { recordFiles } = await import('../src/runtime/durability/recorded-files.js');
    const recorded = await recordFiles([path, join(dir, 'folder')]);
    expect(recorded.files[0]).toEqual({ path, sha256: null, size: null, mtime_ms: null, missing: true });
    expect(recorded.files[1]).toMatchObject({ sha256: null, unhashed: 'not a regular file' });
    await writeFile(path, 'now here');
    expect(await compareRecordedFiles(recorded.files)).toEqual({ changed: [path], missing: [], unchanged: [], unchecked: [join(dir, 'folder')] });
  });
});

describe('state_compression in the configuration', () => {
  it('is the hub option stateCompression; absent, the hub keeps the spec default (on)', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      await writeFile(join(dir, 'off.yaml'), 'state_compression: false\n');
      await writeFile(join(dir, 'none.yaml'), 'keep_checkpoints: 3\n');
      expect((await loadConfig(join(dir, 'off.yaml'), dir)).hub.stateCompression).toBe(false);
      expect((await loadConfig(join(dir, 'none.yaml'), dir)).hub.stateCompression).toBeUndefined();
      await writeFile(join(dir, 'bad.yaml'), 'state_compression: "yes"\n');
      await expect(loadConfig(join(dir, 'bad.yaml'), dir)).rejects.toThrow(/state_compression/);
    } finally {
      await cleanup();
    }
  });
});
