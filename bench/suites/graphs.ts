import { createHub } from '../../src/index.js';
import { row, summarise, timeRuns, type BenchRow, type Suite, type Target } from '../measure.js';
import { THREADS } from './tasks.js';

/** The target ("Hardening", item 8): a 10 000 or 16 000-task chain answers create and get-status well under a second. */
const UNDER_A_SECOND: Target = { on: 'value', limit: 1_000 };

type Shape = 'flat' | 'chain' | 'reversed chain' | 'cycle';

/** `size` noop tasks in one phase: independent (`flat`), or each depending on the one before, listed in order or reversed, or closed into one cycle. */
function definition(size: number, shape: Shape) {
  const tasks = Array.from({ length: size }, (_, i) => ({
    id: `t${i}`,
    handler: 'noop',
    estimated_duration: '1s',
    depends_on: shape === 'flat' ? [] : i > 0 ? [`t${i - 1}`] : shape === 'cycle' ? [`t${size - 1}`] : [],
  }));
  return { name: `graph-${shape}`, phases: [{ name: 'p', tasks: shape === 'reversed chain' ? tasks.reverse() : tasks }] };
}

/**
 * Milliseconds of `create` (and, unless refused, `get-status`) of each run,
 * after a warm-up, each under a fresh workflow id, on a hub of its own: the
 * workflows of one figure do not weigh on the garbage collection of the next.
 */
async function timeCreate(size: number, shape: Shape, withStatus: boolean) {
  const parameters = definition(size, shape);
  const hub = createHub({ maxThreads: THREADS });
  let ids = 0;
  try {
    const seconds = await timeRuns(async () => {
      const id = `w_${ids++}`;
      const created = await hub.execute({ operation: 'create', workflow_id: id, parameters });
      if ((shape === 'cycle') !== (created.status === 'error')) throw new Error(`create of a ${shape}: ${JSON.stringify(created).slice(0, 300)}`);
      if (withStatus) {
        const status = await hub.execute({ operation: 'get-status', workflow_id: id });
        if (status.status !== 'success') throw new Error(JSON.stringify(status).slice(0, 300));
      }
    });
    return summarise(seconds.map((s) => s * 1_000));
  } finally {
    await hub.close();
  }
}

/**
 * Big task graphs at the command boundary, in memory (no data directory: the
 * figures are the runtime's own): `create` + `get-status` of a chain of
 * `size` tasks (each depends on the one before; listed in order, and
 * reversed, which a recursion one frame per task could not take), and
 * `create` of one cycle through all of them (refused with
 * DEPENDENCY_CYCLE), each beside the same tasks without any dependency,
 * measured in the same run: a ratio near 1 means the graph costs about
 * nothing beyond its tasks, at every size (linear, where the critical path
 * used to be O(n²): 26 s for 16 000 tasks).
 */
export const graphsSuite: Suite = {
  name: 'graphs',
  sizes: { full: [1_000, 10_000, 16_000], quick: [2_000] },
  async run(size) {
    const flat = await timeCreate(size, 'flat', true);
    const flatCreate = await timeCreate(size, 'flat', false);
    const head = { suite: 'graphs', size, metric: 'duration', unit: 'ms' };
    const target = size >= 10_000 ? UNDER_A_SECOND : undefined;
    return [
      row({ ...head, scenario: 'create + get-status, chain', baseline: 'same tasks, no depends_on' }, await timeCreate(size, 'chain', true), flat, target),
      row({ ...head, scenario: 'create + get-status, chain listed in reverse', baseline: 'same tasks, no depends_on' }, await timeCreate(size, 'reversed chain', true), flat, target),
      row({ ...head, scenario: 'create refused, one cycle through every task', baseline: 'create, same tasks, no depends_on' }, await timeCreate(size, 'cycle', false), flatCreate, target),
    ] satisfies BenchRow[];
  },
};
