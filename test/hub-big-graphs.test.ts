/**
 * Workflows of tens of thousands of tasks through the command boundary
 * (issue "Hardening", item 8 "Big graphs"): a 5 000-task chain listed in
 * reverse order, or a 10 000-task cycle, answered INTERNAL_ERROR (a stack
 * overflow in the graph functions) instead of success or DEPENDENCY_CYCLE, and
 * a long chain cost O(n²) at `create` and `get-status`. Here every answer is
 * checked for being the right one; how fast it comes is the bench's business
 * (bench/suites/graphs.ts), never a timed test's.
 */
import { describe, expect, it } from 'vitest';
import type { ErrorResponse, Hub } from '../src/index.js';
import { eachTestOwnHub, ok, type WorkflowState } from './hub-fixtures.js';
import { useTempDirs } from './helpers/persistence.js';

let hub: Hub;
const replace = eachTestOwnHub((made) => ({ hub } = made));
const tempDir = useTempDirs('troupe-big-graphs-');

/** `t0 <- t1 <- … <- t(n-1)`, 1 s each; `closed` adds `t0 -> t(n-1)`: one cycle of all n tasks. */
function chain(n: number, order: 'in order' | 'reversed', closed = false) {
  const tasks = Array.from({ length: n }, (_, i) => ({
    id: `t${i}`,
    handler: 'noop',
    estimated_duration: '1s',
    depends_on: i > 0 ? [`t${i - 1}`] : closed ? [`t${n - 1}`] : [],
  }));
  return { name: 'chain', phases: [{ name: 'p', tasks: order === 'reversed' ? tasks.reverse() : tasks }] };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);

/** Creates the chain, then checks what `create` and `get-status` answer: every wave, the whole critical path. */
async function createAndDescribe(workflowId: string, n: number, order: 'in order' | 'reversed') {
  const created = (await ok(hub, { operation: 'create', workflow_id: workflowId, parameters: chain(n, order) })).result as {
    tasks: number;
    critical_path: { tasks: string[]; estimated_duration: string };
  };
  expect(created.tasks).toBe(n);
  expect(created.critical_path.tasks).toEqual(ids(n));
  const state = ((await ok(hub, { operation: 'get-status', workflow_id: workflowId })).result as { workflow_state: WorkflowState & { critical_path: { tasks: string[]; estimated_duration: string } } }).workflow_state;
  expect(state.status).toBe('created');
  expect(state.metrics.tasks_total).toBe(n);
  // waves count from 1 in get-status
  const waves = Object.fromEntries(state.phases[0]!.tasks.map((t) => [t.task_id, t.wave]));
  expect(waves).toEqual(Object.fromEntries(ids(n).map((id, i) => [id, i + 1])));
  expect(state.critical_path.tasks).toEqual(ids(n));
  expect(state.critical_path.estimated_duration).toBe(created.critical_path.estimated_duration);
}

describe('big graphs at create and get-status', () => {
  for (const n of [10_000, 16_000]) {
    for (const order of ['in order', 'reversed'] as const) {
      it(`a ${n}-task chain listed ${order} is created, with one task per wave and the whole chain as its critical path`, async () => {
        await createAndDescribe(`chain_${n}_${order.replace(' ', '_')}`, n, order);
      }, 120_000);
    }
  }

  it('a 16 000-task chain listed in reverse is created durably in a data directory, and described again after a restart', async () => {
    const dataDir = await tempDir();
    await replace({ dataDir });
    await createAndDescribe('durable_chain', 16_000, 'reversed');
    await replace({ dataDir });
    const state = ((await ok(hub, { operation: 'get-status', workflow_id: 'durable_chain' })).result as { workflow_state: { critical_path: { tasks: string[] } } }).workflow_state;
    expect(state.critical_path.tasks).toEqual(ids(16_000));
  }, 120_000);

  for (const order of ['in order', 'reversed'] as const) {
    it(`a 10 000-task cycle listed ${order} is refused with DEPENDENCY_CYCLE, its ends in the message and the whole cycle in the details`, async () => {
      const response = (await hub.execute({ operation: 'create', workflow_id: 'cyclic', parameters: chain(10_000, order, true) })) as ErrorResponse;
      expect(response.status).toBe('error');
      expect(response.error.code).toBe('DEPENDENCY_CYCLE');
      // the search starts at the first task listed and follows depends_on
      const around = order === 'in order' ? ['t0', ...ids(10_000).slice(1).reverse(), 't0'] : [...ids(10_000).reverse(), 't9999'];
      expect(response.error.message).toBe(`Dependency cycle of 10000 tasks: ${[...around.slice(0, 10), '… 9981 more …', ...around.slice(-10)].join(' -> ')}`);
      expect(response.error.details).toBe(`Tasks in a cycle would wait for each other forever. The whole cycle: ${around.join(' -> ')}`);
      expect(response.recovery_suggestions).toEqual(['Remove one of the depends_on edges named in the cycle']);
      // nothing was registered
      expect((await hub.execute({ operation: 'get-status', workflow_id: 'cyclic' })).status).toBe('error');
    }, 120_000);
  }

  it('an unknown dependency in a workflow of thousands of tasks lists the known ids abbreviated, with their count', async () => {
    const parameters = chain(5_000, 'in order');
    parameters.phases[0]!.tasks[4_999]!.depends_on = ['ghost'];
    const response = (await hub.execute({ operation: 'create', workflow_id: 'ghostly', parameters })) as ErrorResponse;
    expect(response.error).toMatchObject({
      code: 'UNKNOWN_DEPENDENCY',
      message: 'Task t4999 (phases[0].tasks[4999]) depends on ghost, which is not a task of this workflow',
      details: `Known task ids: ${[...ids(10), '… 4980 more …', ...ids(5_000).slice(-10)].join(', ')}`,
    });
  });
});
