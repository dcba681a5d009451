import { Piscina } from 'piscina';
import { createHub } from '../../src/index.js';
import { row, throughput, type Suite } from '../measure.js';

const THREADS = 2;
const workerFile = new URL('../../src/worker/task-worker.ts', import.meta.url).href;

/** noop tasks through a whole workflow (scheduler, agents, events) beside the same worker on a bare Piscina pool. */
export const tasksSuite: Suite = {
  name: 'tasks',
  sizes: { full: [100, 1_000, 2_000], quick: [500] },
  async run(size) {
    const hub = createHub({ maxThreads: THREADS });
    const tasks = Array.from({ length: size }, (_, i) => ({ id: `t${i}`, handler: 'noop' }));
    let n = 0;
    const troupe = await throughput(
      size,
      async () => {
        const id = `bench_${n++}`;
        const definition = { name: 'bench', agent_requirements: { min_agents: 1, max_agents: 20 }, phases: [{ name: 'p', tasks }] };
        await hub.execute({ operation: 'create', workflow_id: id, parameters: definition });
        await hub.execute({ operation: 'start', workflow_id: id });
        const done = await hub.execute({ operation: 'wait', workflow_id: id, parameters: { timeout: '10m' } });
        if (done.status !== 'success' || (done.result as { status: string }).status !== 'completed') throw new Error(JSON.stringify(done));
      },
      2,
    );
    await hub.close();
    const pool = new Piscina({ filename: workerFile, maxThreads: THREADS, minThreads: THREADS, execArgv: ['--import', 'tsx'] });
    const baseline = await throughput(
      size,
      async () => {
        await Promise.all(
          Array.from({ length: size }, (_, i) =>
            pool.run({ key: `k${n}_${i}`, workflowId: 'b', taskId: `t${i}`, handler: 'noop', input: {}, attempt: 1, idempotencyKey: 'k', timeoutMs: 60_000 }),
          ),
        );
        n++;
      },
      2,
    );
    await pool.close();
    return [row('tasks', 'noop tasks in one phase', size, 'bare Piscina pool', troupe, baseline, 'tasks/s')];
  },
};
