import { createActor, createMachine } from 'xstate';
import { createHub, resolveDefinition, type Hub } from '../../src/index.js';
import { workflowMachine } from '../../src/machines/workflow-machine.js';
import { row, settledHeap, summarise, throughput, type Suite } from '../measure.js';

/** The old baseline, kept for its own row: a three-state actor, the least XState can do. */
const threeState = createMachine({ initial: 'created', states: { created: { on: { start: 'running' } }, running: { on: { done: 'completed' } }, completed: {} } });

/**
 * A small, typical definition: one phase of five tasks. They wait for a
 * person (`handler: approval`), so a started workflow stays running with a
 * live phase and no task reaches the worker pool: the suite measures actors,
 * not tasks.
 */
const definition = {
  name: 'bench',
  phases: [{ name: 'build', tasks: Array.from({ length: 5 }, (_, i) => ({ id: `t${i}`, handler: 'approval', input: { prompt: 'go on?' } })) }],
};
/** Idle workflows measured for memory: enough to drown the hub's fixed costs. */
const IDLE = { full: 10_000, quick: 1_000 };

/**
 * A workflow's whole life in troupe, create -> start -> cancel through the
 * hub's commands (in memory), beside the same workflow and phase machines run
 * bare in XState with the same events (the fair baseline: the ratio is what
 * troupe adds around its machines — validation, the definition, events,
 * approvals, bookkeeping — not what the machines cost). A second row puts
 * those bare machines beside a bare three-state actor: the machines' own
 * cost. And the memory one idle (created) workflow costs in a hub.
 */
export const actorsSuite: Suite = {
  name: 'actors',
  sizes: { full: [1_000, 20_000], quick: [1_000] },
  async run(size, { quick }) {
    const spec = resolveDefinition(definition);
    const runs = size > 10_000 ? 3 : undefined;
    const hub = createHub({ maxThreads: 1 });
    let n = 0;
    const ours = await throughput(size, () => lifecycles(hub, `r${n++}`, size), runs);
    await hub.close();
    const machines = await throughput(
      size,
      () => {
        for (let i = 0; i < size; i++) {
          const actor = createActor(workflowMachine, { input: { id: `wf_${i}`, spec, at: 0 } }).start();
          actor.send({ type: 'start', at: 1 });
          if (!actor.getSnapshot().matches({ active: 'running' })) throw new Error('workflow did not start');
          actor.send({ type: 'cancel', at: 2 });
          if (actor.getSnapshot().value !== 'cancelled') throw new Error('workflow did not cancel');
          actor.stop();
        }
      },
      runs,
    );
    const least = await throughput(
      size,
      () => {
        for (let i = 0; i < size; i++) {
          const actor = createActor(threeState).start();
          actor.send({ type: 'start' });
          actor.send({ type: 'done' });
          actor.stop();
        }
      },
      runs,
    );
    const head = { suite: 'actors', size, unit: 'workflows/s' };
    const rows = [
      // the target: at least 0.8× the same machines bare (workflows/s: higher is better)
      row({ ...head, scenario: 'create -> start -> cancel, hub commands', baseline: 'same machines, bare XState' }, ours, machines, { on: 'ratio', limit: 0.8 }),
      row({ ...head, scenario: 'workflow + phase machines, bare XState', baseline: 'three-state actor, bare XState' }, machines, least),
    ];
    if (size === Math.min(...actorsSuite.sizes[quick ? 'quick' : 'full'])) rows.push(await idleMemory(quick ? IDLE.quick : IDLE.full));
    return rows;
  },
};

/** `count` workflows created, started and cancelled through the hub's commands, one after another. */
async function lifecycles(hub: Hub, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const workflow_id = `${prefix}_${i}`;
    for (const request of [{ operation: 'create', parameters: definition }, { operation: 'start' }, { operation: 'cancel' }]) {
      const answer = await hub.execute({ ...request, workflow_id });
      if (answer.status !== 'success') throw new Error(`${request.operation} ${workflow_id}: ${JSON.stringify(answer)}`);
    }
  }
}

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
    for (let i = 0; i < count; i++) kept.push(createActor(threeState).start());
    theirs.push((settledHeap() - start) / count / 1024);
    kept.length = 0;
  }
  return row(
    { suite: 'actors', scenario: 'memory per idle workflow', size: count, metric: 'memory', unit: 'KB', baseline: 'three-state actor, started' },
    summarise(ours),
    summarise(theirs),
    { on: 'value', limit: 20 },
  );
}
