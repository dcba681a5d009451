import { createActor, createMachine } from 'xstate';
import { createHub, resolveDefinition } from '../../src/index.js';
import { workflowMachine } from '../../src/machines/workflow-machine.js';
import { row, settledHeap, summarise, throughput, type Suite } from '../measure.js';

const bare = createMachine({ initial: 'created', states: { created: { on: { start: 'running' } }, running: { on: { done: 'completed' } }, completed: {} } });

/** A small, typical definition: one phase of five tasks, so a started workflow stays running with a live phase. */
const definition = { name: 'bench', phases: [{ name: 'build', tasks: Array.from({ length: 5 }, (_, i) => ({ id: `t${i}`, handler: 'noop' })) }] };
/** Idle workflows measured for memory: enough to drown the hub's fixed costs. */
const IDLE = { full: 10_000, quick: 1_000 };

/**
 * Create -> start -> stop of `size` workflow actors (the workflow enters
 * `running` and invokes its phase) beside a bare XState actor doing the same;
 * and the memory one idle (created) workflow costs in a hub beside a started bare actor.
 */
export const actorsSuite: Suite = {
  name: 'actors',
  sizes: { full: [1_000, 100_000], quick: [1_000] },
  async run(size, { quick }) {
    const spec = resolveDefinition(definition);
    const runs = size > 10_000 ? 3 : undefined;
    const troupe = await throughput(
      size,
      () => {
        for (let i = 0; i < size; i++) {
          const actor = createActor(workflowMachine, { input: { id: `wf_${i}`, spec, at: 0 } }).start();
          actor.send({ type: 'start', at: 1 });
          if (!actor.getSnapshot().matches({ active: 'running' })) throw new Error('workflow did not start');
          actor.stop();
        }
      },
      runs,
    );
    const baseline = await throughput(
      size,
      () => {
        for (let i = 0; i < size; i++) {
          const actor = createActor(bare).start();
          actor.send({ type: 'start' });
          actor.stop();
        }
      },
      runs,
    );
    const head = { suite: 'actors', size, baseline: 'bare XState actor' };
    // the targets: at least 0.8× a bare actor's rate (actors/s: higher is better); at most 20 KB per idle workflow
    const rows = [row({ ...head, scenario: 'create -> start -> stop', unit: 'actors/s' }, troupe, baseline, { on: 'ratio', limit: 0.8 })];
    if (size === Math.min(...actorsSuite.sizes[quick ? 'quick' : 'full'])) rows.push(await idleMemory(quick ? IDLE.quick : IDLE.full));
    return rows;
  },
};

/** Heap per idle workflow: `count` created (not started) workflows in a hub with no data directory, over three hubs. */
async function idleMemory(count: number) {
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let run = 0; run < 3; run++) {
    const hub = createHub({ maxThreads: 1 });
    const before = settledHeap();
    for (let i = 0; i < count; i++) await hub.execute({ operation: 'create', workflow_id: `wf_${i}`, parameters: definition });
    ours.push((settledHeap() - before) / count / 1024);
    await hub.close();
    const kept: unknown[] = [];
    const start = settledHeap();
    for (let i = 0; i < count; i++) kept.push(createActor(bare).start());
    theirs.push((settledHeap() - start) / count / 1024);
    kept.length = 0;
  }
  return row(
    { suite: 'actors', scenario: 'memory per idle workflow', size: count, metric: 'memory', unit: 'KB', baseline: 'bare XState actor, started' },
    summarise(ours),
    summarise(theirs),
    { on: 'value', limit: 20 },
  );
}
