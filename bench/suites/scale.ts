import { createHub } from '../../src/index.js';
import { row, settledHeap, summarise, throughput, type BenchRow, type Sample, type Suite } from '../measure.js';
import { runWorkflow, THREADS } from './tasks.js';

const AGENTS = { full: [1, 5, 20], quick: [1, 20] };
/** The smallest workflow: every size is compared with it, so a ratio of 1 means linear scaling. */
const SMALLEST = 10;
const SMALL_PER_RUN = 20;

const definition = (tasks: number, agents: number) => ({
  name: 'scale',
  agent_requirements: { min_agents: 1, max_agents: agents },
  phases: [{ name: 'p', tasks: Array.from({ length: tasks }, (_, i) => ({ id: `t${i}`, handler: 'noop' })) }],
});

/**
 * How troupe scales as a workflow grows from 10 to 10 000 noop tasks (one
 * phase) and its agents from 1 to 20, in memory (no data directory, so the
 * figures are the runtime's own, not the disk's): throughput in tasks/s, and
 * the heap finished workflows keep per task (events included: the hub keeps
 * the last 10 000). Each figure's baseline is the
 * same one for a 10-task workflow with as many agents, measured in the same
 * run: throughput ratio 1 and memory ratio 1 mean linear growth.
 */
export const scaleSuite: Suite = {
  name: 'scale',
  sizes: { full: [10, 100, 1_000, 10_000], quick: [10, 500] },
  async run(size, { quick }) {
    const rows: BenchRow[] = [];
    const hub = createHub({ maxThreads: THREADS, maxAgentPoolSize: 20 });
    let n = 0;
    try {
      for (const agents of AGENTS[quick ? 'quick' : 'full']) {
        // fewer runs of the long ones; several per figure all the same
        const runs = size >= 10_000 ? 3 : undefined;
        // one 10-task workflow takes milliseconds: a run of several keeps the baseline's spread down
        const small = await throughput(SMALLEST * SMALL_PER_RUN, async () => {
          for (let i = 0; i < SMALL_PER_RUN; i++) await runWorkflow(hub, `s_${n++}`, definition(SMALLEST, agents));
        });
        const ours = size === SMALLEST ? small : await throughput(size, () => runWorkflow(hub, `w_${n++}`, definition(size, agents)), runs);
        const head = { suite: 'scale', size, baseline: `${SMALLEST}-task workflow, same agents` };
        rows.push(row({ ...head, scenario: `noop tasks/workflow, ${agents} agent(s)`, unit: 'tasks/s' }, ours, small));
      }
      rows.push(row({ suite: 'scale', scenario: 'heap kept per task, finished workflows', size, metric: 'memory', unit: 'KB', baseline: `${SMALLEST}-task workflow` }, await heapPerTask(size), await heapPerTask(SMALLEST)));
    } finally {
      await hub.close();
    }
    return rows;
  },
};

/** Tasks behind each memory figure: small workflows are measured many at a time, or the heap's noise drowns them. */
const MEMORY_TASKS = 4_000;
const heapCache = new Map<number, Promise<Sample>>();

/** Heap finished workflows of `tasks` tasks keep in their hub, per task, over five hubs (memoised: the baseline recurs). */
function heapPerTask(tasks: number): Promise<Sample> {
  let figure = heapCache.get(tasks);
  if (!figure) heapCache.set(tasks, (figure = measureHeap(tasks)));
  return figure;
}

async function measureHeap(tasks: number): Promise<Sample> {
  const workflows = Math.ceil(MEMORY_TASKS / tasks);
  const perTask: number[] = [];
  // five hubs: one run's heap can come out below its start (V8 frees code and feedback as it likes)
  for (let run = 0; run < 5; run++) {
    const hub = createHub({ maxThreads: THREADS });
    try {
      // warmed with the same size, so code compiled for it is in the heap before, not counted after
      await runWorkflow(hub, 'warm', definition(tasks, 20));
      const before = settledHeap();
      for (let i = 0; i < workflows; i++) await runWorkflow(hub, `m_${i}`, definition(tasks, 20));
      perTask.push((settledHeap() - before) / (workflows * tasks) / 1024);
    } finally {
      await hub.close();
    }
  }
  return summarise(perTask);
}
