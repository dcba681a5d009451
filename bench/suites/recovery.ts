import { readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createHub } from '../../src/index.js';
import { encodeCheckpoint, packr } from '../../src/persistence/checkpoint-codec.js';
import { row, summarise, type Suite } from '../measure.js';
import { sampleSnapshot } from './durability.js';

const RUNS = 3;

/**
 * Recovery at start: `size` paused workflows (20 tasks each, half done), each
 * with one checkpoint, rebuilt by a new hub (lock, log, load, verify, rehydrate,
 * release in-flight tasks) beside just reading the same files. Every run
 * (a warm-up, then three) recovers a fresh copy of the same data directory.
 */
export const recoverySuite: Suite = {
  name: 'recovery',
  sizes: { full: [1, 100, 10_000], quick: [1, 500] },
  async run(size) {
    const root = await mkdtemp(join(tmpdir(), 'troupe-bench-recovery-'));
    try {
      const fixture = join(root, 'fixture');
      await writeFixture(fixture, size);
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let run = 0; run <= RUNS; run++) {
        const dir = join(root, `run-${run}`);
        await cp(fixture, dir, { recursive: true });
        let start = performance.now();
        const hub = createHub({ maxThreads: 1, dataDir: dir });
        await hub.ready;
        const recovered = performance.now() - start;
        if (hub.workflowIds().length !== size) throw new Error(`recovered ${hub.workflowIds().length} of ${size}`);
        await hub.close({ graceMs: 0 });
        start = performance.now();
        readFiles(dir);
        const raw = performance.now() - start;
        // run 0 warms up
        if (run > 0) ours.push(recovered), theirs.push(raw);
        await rm(dir, { recursive: true, force: true });
      }
      return [
        row(
          { suite: 'recovery', scenario: 'recover paused workflows', size, metric: 'duration', unit: 'ms', baseline: 'read the same files only (readdirSync + readFileSync)' },
          summarise(ours),
          summarise(theirs),
          size === 10_000 ? { on: 'value', limit: 2_000 } : undefined,
        ),
      ];
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  },
};

/**
 * The baseline: the files a recovery must read, read the fastest plain way
 * (blocking calls, no thread-pool round trips): the active shelf's listing,
 * then each workflow's checkpoint directory listing and its newest
 * checkpoint. Nothing is decoded or verified.
 */
function readFiles(dir: string): void {
  for (const record of readdirSync(join(dir, 'workflows', 'active'))) {
    const checkpoints = join(dir, 'checkpoints', record.slice(0, -'.wf'.length));
    const names = readdirSync(checkpoints).sort();
    readFileSync(join(checkpoints, names.at(-1)!));
  }
}

/** `size` paused workflows with one checkpoint each, written without fsync: only the recovery is measured. */
export async function writeFixture(dir: string, size: number): Promise<void> {
  // paused: recovery is measured, not the dispatch of 10 tasks per workflow that a running one would start
  const snapshot = sampleSnapshot(20, true) as unknown as { context: { id: string } };
  await mkdir(join(dir, 'workflows', 'active'), { recursive: true });
  for (let i = 0; i < size; i++) {
    const id = `wf_${i}`;
    const snap = { ...snapshot, context: { ...snapshot.context, id } };
    const bytes = encodeCheckpoint(
      { machine_id: 'workflow', machine_version: 1, workflow_id: id, seq: 1, trigger: 'start', created_at: 0, epoch: 0, name: null },
      { workflow_id: id, epoch: 0, applied_seq: 0, snapshot: snap, in_flight: [] },
      // as a hub writes it by default (state_compression: a 20-task body is stored deflated)
      { compress: true },
    );
    await mkdir(join(dir, 'checkpoints', id), { recursive: true });
    await writeFile(join(dir, 'checkpoints', id, '0000000001-start.ckpt'), bytes);
    await writeFile(join(dir, 'workflows', 'active', `${id}.wf`), packr.pack({ id, name: 'bench', status: 'paused', updated_at: 0 }));
  }
}
