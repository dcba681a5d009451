import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkDataDir, createHub, type Hub } from '../src/index.js';
import { FileCheckpointStore } from '../src/persistence/checkpoint-store.js';
import { WorkflowIndex } from '../src/persistence/data-dir.js';
import { migrate, WORKFLOW_MACHINE, type CheckpointBody } from '../src/runtime/durability/checkpoint-body.js';
import { runCli, scratchDir } from './helpers/cli.js';
import { ok } from './helpers/responses.js';

const definition = { name: 'bundle', phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'echo', input: { value: 1 } }, { id: 'b', handler: 'echo', input: { value: 2 }, depends_on: ['a'] }] }] };

describe('save-state and load-state', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hubs: Hub[] = [];
  const open = async (name: string) => {
    const hub = createHub({ maxThreads: 1, dataDir: join(dir, name) });
    hubs.push(hub);
    await hub.ready;
    return hub;
  };
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(async () => {
    for (const hub of hubs) await hub.close({ graceMs: 0 });
    hubs = [];
    await cleanup();
  });

  it.each([[true], [false]])('moves a paused workflow to another data directory (compress %s), where it finishes', async (compress) => {
    const a = await open('a');
    ok(await a.execute({ operation: 'create', workflow_id: 'wf', parameters: definition }));
    ok(await a.execute({ operation: 'start', workflow_id: 'wf' }));
    ok(await a.execute({ operation: 'pause', workflow_id: 'wf' }));
    ok(await a.execute({ operation: 'wait', workflow_id: 'wf' }));
    const path = join(dir, 'wf.troupe');
    const saved = ok(await a.execute({ operation: 'save-state', workflow_id: 'wf', parameters: { path, compress } }));
    expect(saved).toMatchObject({ path, compressed: compress, checkpoints: expect.any(Number) });
    expect(saved.checkpoints).toBeGreaterThanOrEqual(4);
    expect((await readFile(path)).subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(compress);

    const b = await open('b');
    const loaded = ok(await b.execute({ operation: 'load-state', parameters: { path } }));
    expect(loaded).toMatchObject({ workflow_id: 'wf', status: 'paused', epoch: 1, checkpoints: saved.checkpoints });
    expect(b.events('wf').some((e) => e.event_type === 'WORKFLOW_CREATED' && e.tags.includes('imported'))).toBe(true);
    ok(await b.execute({ operation: 'resume', workflow_id: 'wf' }));
    expect(ok(await b.execute({ operation: 'wait', workflow_id: 'wf' })).status).toBe('completed');
  });

  it('refuses to overwrite an existing workflow unless told to, and refuses a damaged bundle', async () => {
    const a = await open('a');
    ok(await a.execute({ operation: 'create', workflow_id: 'wf', parameters: definition }));
    const path = join(dir, 'wf.troupe');
    ok(await a.execute({ operation: 'save-state', workflow_id: 'wf', parameters: { path } }));
    const refused = await a.execute({ operation: 'load-state', parameters: { path } });
    expect(refused.status === 'error' && refused.error.code).toBe('WORKFLOW_EXISTS');
    expect(ok(await a.execute({ operation: 'load-state', parameters: { path, overwrite: true } })).status).toBe('created');

    const bytes = await readFile(path);
    bytes[bytes.length - 40]! ^= 0xff;
    await writeFile(path, bytes);
    const damaged = await a.execute({ operation: 'load-state', parameters: { path, overwrite: true } });
    expect(damaged.status === 'error' && damaged.error.code).toBe('CHECKPOINT_CORRUPT');
    // the workflow it would have replaced is untouched
    expect(ok(await a.execute({ operation: 'get-status', workflow_id: 'wf' })).workflow_state.status).toBe('created');
  });
});

describe('checkpoints from another machine version', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(() => cleanup());

  /** A data directory holding `good` (a real checkpoint) and `future` (one written by machine version 99). */
  async function dataDir(): Promise<string> {
    const hub = createHub({ maxThreads: 1, dataDir: dir });
    await hub.ready;
    ok(await hub.execute({ operation: 'create', workflow_id: 'good', parameters: definition }));
    await hub.close();
    const store = new FileCheckpointStore(join(dir, 'checkpoints'));
    const { header, body } = await store.read((await store.list('good'))[0]!);
    const { format_version: _f, body_sha256: _h, ...rest } = header;
    await store.write({ ...rest, workflow_id: 'future', machine_version: 99 }, { ...(body as CheckpointBody), workflow_id: 'future' });
    await new WorkflowIndex(join(dir, 'workflows')).put('active', { id: 'future', name: 'future', status: 'created', updated_at: 0 });
    return dir;
  }

  it('troupe check gives each checkpoint its verdict and exits 1 when a workflow would not recover', async () => {
    await dataDir();
    const { verdicts, workflowsAtRisk } = await checkDataDir(dir);
    expect(verdicts.filter((v) => v.workflow_id === 'future')).toEqual([
      expect.objectContaining({ verdict: 'incompatible', message: expect.stringContaining('newer than this troupe') }),
    ]);
    const good = verdicts.filter((v) => v.workflow_id === 'good');
    expect(good.length).toBeGreaterThan(0);
    expect(good.every((v) => v.verdict === 'ok' && v.status === 'created')).toBe(true);
    expect(workflowsAtRisk).toEqual(['future']);
    const cli = await runCli(['check', '--data-dir', dir]);
    expect(cli.stdout).toContain('! incompatible future');
    expect(cli.stdout).toContain('workflows that would not recover: future');
    expect(cli.code).toBe(1);
  });

  it('a supervisor refuses the incompatible workflow with CHECKPOINT_INCOMPATIBLE and runs the rest', async () => {
    await dataDir();
    const hub = createHub({ maxThreads: 1, dataDir: dir });
    await hub.ready;
    const health = ok(await hub.execute({ operation: 'health' }));
    expect(health.recovery.failed).toEqual([expect.objectContaining({ workflow_id: 'future', code: 'CHECKPOINT_INCOMPATIBLE' })]);
    ok(await hub.execute({ operation: 'start', workflow_id: 'good' }));
    expect(ok(await hub.execute({ operation: 'wait', workflow_id: 'good' })).status).toBe('completed');
    await hub.close();
  });

  it('a registered migration lifts an old body; a gap in the chain is refused, naming the versions', () => {
    const body = { workflow_id: 'w', epoch: 0, applied_seq: 0, snapshot: {} as never, in_flight: [] } satisfies CheckpointBody;
    const lifted = migrate(body, 'workflow', WORKFLOW_MACHINE.version - 1, new Map([[WORKFLOW_MACHINE.version - 1, (b) => ({ ...b, epoch: 7 })]]));
    expect(lifted.epoch).toBe(7);
    expect(() => migrate(body, 'workflow', WORKFLOW_MACHINE.version - 1, new Map())).toThrow(
      `Checkpoint of w was written by workflow machine version ${WORKFLOW_MACHINE.version - 1}; this troupe runs version ${WORKFLOW_MACHINE.version} and has no migration from ${WORKFLOW_MACHINE.version - 1}`,
    );
    expect(() => migrate(body, 'agent', WORKFLOW_MACHINE.version)).toThrow('The checkpoint holds a agent machine, not a workflow');
  });
});
