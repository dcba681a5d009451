import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createActor } from 'xstate';
import { resolveDefinition } from '../../src/index.js';
import { workflowMachine } from '../../src/machines/workflow-machine.js';
import { AppendLog } from '../../src/persistence/append-log.js';
import { writeFileAtomic } from '../../src/persistence/atomic-file.js';
import { FileCheckpointStore } from '../../src/persistence/checkpoint-store.js';
import type { BenchRow, Suite } from '../measure.js';

/** The persisted snapshot of a running workflow of `tasks` tasks, some done. */
export function sampleSnapshot(tasks: number, paused = false) {
  const spec = resolveDefinition({
    name: 'bench',
    phases: [{ name: 'p', tasks: Array.from({ length: tasks }, (_, i) => ({ id: `t${i}`, handler: 'echo', input: { value: `task ${i}` } })) }],
  });
  const actor = createActor(workflowMachine, { input: { id: 'wf', spec, at: 0 } }).start();
  actor.send({ type: 'start', at: 1 });
  const phase = actor.getSnapshot().children.phase!;
  for (let i = 0; i < tasks / 2; i++) {
    phase.send({ type: 'task.assigned', taskId: `t${i}`, agentId: 'agent_001', at: 2 });
    phase.send({ type: 'task.completed', taskId: `t${i}`, output: { value: `task ${i}` }, at: 3 });
  }
  if (paused) actor.send({ type: 'pause', at: 4 });
  const snapshot = actor.getPersistedSnapshot();
  actor.stop();
  return snapshot;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

const latencyRows = (scenario: string, size: number, baseline: string, ours: number[], theirs: number[]): BenchRow[] => {
  const a = [...ours].sort((x, y) => x - y);
  const b = [...theirs].sort((x, y) => x - y);
  return (['p50', 'p99'] as const).map((p) => {
    const value = percentile(a, Number(p.slice(1)));
    const base = percentile(b, Number(p.slice(1)));
    return { suite: 'durability', scenario, size, metric: `${p}_latency`, value: round(value), unit: 'ms', baseline, baseline_value: round(base), ratio: round(value / base) };
  });
};
const round = (n: number) => Math.round(n * 1000) / 1000;

/**
 * Checkpoint writes (msgpack + sha256 + atomic rename with fsyncs) beside the
 * same atomic write of JSON, and sync outcome appends with group commit
 * beside one fsync per record. `size` is the number of writes.
 */
export const durabilitySuite: Suite = {
  name: 'durability',
  sizes: { full: [50, 200], quick: [50] },
  async run(size) {
    const dir = await mkdtemp(join(tmpdir(), 'troupe-bench-'));
    try {
      const snapshot = sampleSnapshot(20);
      const body = { workflow_id: 'wf', epoch: 0, applied_seq: 0, snapshot, in_flight: [] };
      const store = new FileCheckpointStore(join(dir, 'ckpt'), { keep: 10 });
      const ours: number[] = [];
      for (let seq = 1; seq <= size; seq++) {
        const start = performance.now();
        await store.write({ machine_id: 'workflow', machine_version: 1, workflow_id: 'wf', seq, trigger: 'phase', created_at: 0, epoch: 0, name: null }, body);
        ours.push(performance.now() - start);
      }
      const json: number[] = [];
      for (let i = 0; i < size; i++) {
        const start = performance.now();
        await writeFileAtomic(join(dir, `json-${i % 10}.json`), Buffer.from(JSON.stringify(body)));
        json.push(performance.now() - start);
      }
      const rows = latencyRows('checkpoint write (20 tasks)', size, 'JSON, same atomic write', ours, json);

      // outcome appends in sync mode: many in flight at once share fsyncs (group commit)
      const { log } = await AppendLog.open(join(dir, 'log'));
      const record = { kind: 'outcome', workflow_id: 'wf', epoch: 0, task_id: 't1', attempt: 1, ok: true, output: null, at: 0 };
      let start = performance.now();
      await Promise.all(Array.from({ length: size }, () => log.append(record, 'sync').durable));
      const grouped = size / ((performance.now() - start) / 1000);
      const single: number[] = [];
      for (let i = 0; i < size; i++) {
        const t = performance.now();
        await log.append(record, 'sync').durable;
        single.push(performance.now() - t);
      }
      await log.close();
      const handle = await open(join(dir, 'per-write.log'), 'a');
      start = performance.now();
      for (let i = 0; i < size; i++) {
        await handle.write(Buffer.from(JSON.stringify(record)));
        await handle.sync();
      }
      const perWrite = size / ((performance.now() - start) / 1000);
      await handle.close();
      const sortedSingle = [...single].sort((x, y) => x - y);
      rows.push(
        { suite: 'durability', scenario: 'sync appends, group commit', size, metric: 'throughput', value: Math.round(grouped), unit: 'records/s', baseline: 'fsync per write', baseline_value: Math.round(perWrite), ratio: round(grouped / perWrite) },
        { suite: 'durability', scenario: 'one sync outcome append', size, metric: 'p50_latency', value: round(percentile(sortedSingle, 50)), unit: 'ms', baseline: 'fsync per write', baseline_value: round(1000 / perWrite), ratio: round(percentile(sortedSingle, 50) / (1000 / perWrite)) },
      );
      return rows;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
