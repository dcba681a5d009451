import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createHub } from '../../src/index.js';
import { encodeCheckpoint, packr } from '../../src/persistence/checkpoint-codec.js';
import type { Suite } from '../measure.js';
import { sampleSnapshot } from './durability.js';

/**
 * Recovery at start: `size` paused workflows (20 tasks each, half done), each
 * with one checkpoint, rebuilt by a new hub (lock, log, load, verify, rehydrate,
 * release in-flight tasks) beside just reading the same files.
 */
export const recoverySuite: Suite = {
  name: 'recovery',
  sizes: { full: [1, 100, 10_000], quick: [1, 100] },
  async run(size) {
    const dir = await mkdtemp(join(tmpdir(), 'troupe-bench-recovery-'));
    try {
      // paused: recovery is measured, not the dispatch of 10 tasks per workflow that a running one would start
      const snapshot = sampleSnapshot(20, true) as unknown as { context: { id: string } };
      // the fixture is written without fsync: only the recovery is measured
      for (let i = 0; i < size; i++) {
        const id = `wf_${i}`;
        const snap = { ...snapshot, context: { ...snapshot.context, id } };
        const bytes = encodeCheckpoint(
          { machine_id: 'workflow', machine_version: 1, workflow_id: id, seq: 1, trigger: 'start', created_at: 0, epoch: 0, name: null },
          { workflow_id: id, epoch: 0, applied_seq: 0, snapshot: snap, in_flight: [] },
        );
        await mkdir(join(dir, 'checkpoints', id), { recursive: true });
        await writeFile(join(dir, 'checkpoints', id, '0000000001-start.ckpt'), bytes);
        await mkdir(join(dir, 'workflows', 'active'), { recursive: true });
        await writeFile(join(dir, 'workflows', 'active', `${id}.wf`), packr.pack({ id, name: 'bench', status: 'paused', updated_at: 0 }));
      }
      let start = performance.now();
      const hub = createHub({ maxThreads: 1, dataDir: dir });
      await hub.ready;
      const recovered = performance.now() - start;
      if (hub.workflowIds().length !== size) throw new Error(`recovered ${hub.workflowIds().length} of ${size}`);
      await hub.close({ graceMs: 0 });
      start = performance.now();
      for (const id of await readdir(join(dir, 'checkpoints'))) await readFile(join(dir, 'checkpoints', id, '0000000001-start.ckpt'));
      const raw = performance.now() - start;
      const round = (n: number) => Math.round(n * 1000) / 1000;
      return [{ suite: 'recovery', scenario: 'recover active workflows', size, metric: 'duration', value: round(recovered), unit: 'ms', baseline: 'read the files only', baseline_value: round(raw), ratio: round(recovered / raw) }];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
