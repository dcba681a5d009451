import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { createHub, type Hub } from '../../src/index.js';
import type { Durability } from '../../src/persistence/append-log.js';
import { latencyRuns, row, throughput, type BenchRow, type Suite } from '../measure.js';

export const THREADS = 2;
const workerFile = new URL('../../src/worker/task-worker.ts', import.meta.url).href;
/** A worker whose task does nothing: a pool on it is the limit of this architecture (a task to a thread and back) on this machine. */
const emptyWorkerFile = new URL('../empty-worker.ts', import.meta.url).href;
const MODES: Durability[] = ['none', 'batch', 'sync'];
/** Tasks in the chain whose ready -> completed latency is measured (each one waits for the one before). */
const CHAIN = { full: 200, quick: 50 };

/** Starts a workflow and waits for it to complete; throws if it does not. */
export async function runWorkflow(hub: Hub, id: string, definition: unknown): Promise<void> {
  await hub.execute({ operation: 'create', workflow_id: id, parameters: definition });
  await hub.execute({ operation: 'start', workflow_id: id });
  const done = await hub.execute({ operation: 'wait', workflow_id: id, parameters: { timeout: '10m' } });
  if (done.status !== 'success' || (done.result as { status: string }).status !== 'completed') throw new Error(JSON.stringify(done));
}

/** A bare Piscina pool on troupe's own worker (or, with `empty`, on a worker that does nothing), as many threads as the hub. */
export const barePool = (empty = false) => new Piscina({ filename: empty ? emptyWorkerFile : workerFile, maxThreads: THREADS, minThreads: THREADS, execArgv: ['--import', 'tsx'] });
export const bareTask = (key: string, taskId: string) => ({ key, workflowId: 'b', taskId, handler: 'noop', input: {}, attempt: 1, idempotencyKey: key, timeoutMs: 60_000 });

/**
 * noop tasks end to end (definition, scheduler, agents, events, outcome log
 * and checkpoints under durability none | batch | sync) beside the same worker
 * on a bare Piscina pool with as many threads: throughput of `size`
 * independent tasks in one phase, and the ready -> completed latency of each
 * task of a chain (the next becomes ready when one completes) beside one
 * `pool.run` at a time. Batch durability is also set beside a bare pool on an
 * empty function: the limit of a task to a thread and back on this machine.
 */
export const tasksSuite: Suite = {
  name: 'tasks',
  sizes: { full: [100, 1_000], quick: [200] },
  async run(size, { quick }) {
    const pool = barePool();
    let n = 0;
    const bare = await throughput(size, async () => {
      await Promise.all(Array.from({ length: size }, (_, i) => pool.run(bareTask(`k${n}_${i}`, `t${i}`))));
      n++;
    });
    const chain = quick ? CHAIN.quick : CHAIN.full;
    const bareLatency = await latencyRuns(async () => {
      const samples: number[] = [];
      for (let i = 0; i < chain; i++) {
        const start = performance.now();
        await pool.run(bareTask(`l${n}_${i}`, `t${i}`));
        samples.push(performance.now() - start);
      }
      n++;
      return samples;
    });
    await pool.close();
    const emptyPool = barePool(true);
    const limit = await throughput(size, () => Promise.all(Array.from({ length: size }, () => emptyPool.run(null))).then(() => {}));
    await emptyPool.close();

    const rows: BenchRow[] = [];
    const tasks = Array.from({ length: size }, (_, i) => ({ id: `t${i}`, handler: 'noop' }));
    const wide = { name: 'bench', agent_requirements: { min_agents: 1, max_agents: 20 }, phases: [{ name: 'p', tasks }] };
    const chained = { name: 'chain', phases: [{ name: 'p', tasks: Array.from({ length: chain }, (_, i) => ({ id: `c${i}`, handler: 'noop', depends_on: i === 0 ? [] : [`c${i - 1}`] })) }] };
    for (const mode of MODES) {
      const dir = await mkdtemp(join(tmpdir(), 'troupe-bench-tasks-'));
      const hub = createHub({ maxThreads: THREADS, dataDir: dir, durability: mode });
      try {
        await hub.ready;
        const ours = await throughput(size, () => runWorkflow(hub, `wide_${n++}`, wide));
        const head = { suite: 'tasks', size, unit: 'tasks/s', baseline: `bare Piscina on troupe's worker, ${THREADS} threads` };
        // the targets: batch at least 0.6× bare Piscina on troupe's worker and 0.2× the empty-function
        // limit (tasks/s: higher is better); sync p50 at most 2 ms
        rows.push(row({ ...head, scenario: `noop tasks, durability ${mode}` }, ours, bare, mode === 'batch' ? { on: 'ratio', limit: 0.6 } : undefined));
        if (mode === 'batch') {
          rows.push(row({ ...head, scenario: 'noop tasks, durability batch', baseline: `bare Piscina on an empty function, ${THREADS} threads` }, ours, limit, { on: 'ratio', limit: 0.2 }));
        }
        const latency = await latencyRuns(() => chainLatencies(hub, `chain_${n++}`, chained));
        for (const p of ['p50', 'p99'] as const) {
          const target = mode === 'sync' && p === 'p50' ? ({ on: 'value', limit: 2 } as const) : undefined;
          rows.push(
            row(
              { suite: 'tasks', scenario: `ready -> completed, durability ${mode}`, size: chain, metric: `${p}_latency`, unit: 'ms', baseline: "one pool.run at a time on troupe's worker" },
              latency[p],
              bareLatency[p],
              target,
            ),
          );
        }
      } finally {
        await hub.close();
        await rm(dir, { recursive: true, force: true });
      }
    }
    rows.push(await execRow(quick ? 6 : 60));
    return rows;
  },
};

/** Runs `sh -c true` `count` times, `width` at a time: what an exec task costs without troupe. */
async function bareSpawns(count: number, width: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      next++;
      await new Promise<void>((resolve, reject) => spawn('sh', ['-c', 'true'], { stdio: 'ignore' }).on('exit', () => resolve()).on('error', reject));
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
}

/**
 * `exec true` tasks end to end (each under its shepherd process, with its log
 * and spool, durability sync) beside spawning `sh -c true` as many at a time
 * as the hub has threads: the price of a command that survives the supervisor.
 */
async function execRow(count: number): Promise<BenchRow> {
  const bare = await throughput(count, () => bareSpawns(count, THREADS));
  const dir = await mkdtemp(join(tmpdir(), 'troupe-bench-exec-'));
  const hub = createHub({ maxThreads: THREADS, dataDir: dir });
  try {
    await hub.ready;
    const tasks = Array.from({ length: count }, (_, i) => ({ id: `e${i}`, handler: 'exec', input: { command: 'true' } }));
    let n = 0;
    const ours = await throughput(count, () => runWorkflow(hub, `exec_${n++}`, { name: 'exec', phases: [{ name: 'p', tasks }] }));
    return row({ suite: 'tasks', scenario: 'exec `true` tasks (a shepherd each), durability sync', size: count, unit: 'tasks/s', baseline: `sh -c true, ${THREADS} at a time` }, ours, bare);
  } finally {
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs a chain workflow; each task's latency runs from its predecessor's TASK_COMPLETED (when it became ready) to its own. */
async function chainLatencies(hub: Hub, id: string, definition: unknown): Promise<number[]> {
  const samples: number[] = [];
  let last: number | null = null;
  const unsubscribe = hub.subscribe((event) => {
    if (event.event_type !== 'TASK_COMPLETED' || event.workflow_id !== id) return;
    const now = performance.now();
    if (last !== null) samples.push(now - last);
    last = now;
  });
  try {
    await runWorkflow(hub, id, definition);
  } finally {
    unsubscribe();
  }
  return samples;
}
