import { createActor, createMachine } from 'xstate';
import { resolveDefinition } from '../../src/index.js';
import { workflowMachine } from '../../src/machines/workflow-machine.js';
import { row, throughput, type Suite } from '../measure.js';

const bare = createMachine({ initial: 'created', states: { created: { on: { start: 'running' } }, running: { on: { done: 'completed' } }, completed: {} } });

/** A workflow actor's whole lifecycle (create, start, one empty phase, complete) beside a bare three-state XState actor. */
export const actorsSuite: Suite = {
  name: 'actors',
  sizes: { full: [1_000, 10_000], quick: [1_000] },
  async run(size) {
    const spec = resolveDefinition({ name: 'bench', phases: ['only'] });
    const troupe = await throughput(size, () => {
      for (let i = 0; i < size; i++) {
        const actor = createActor(workflowMachine, { input: { id: `wf_${i}`, spec, at: 0 } }).start();
        actor.send({ type: 'start', at: 1 });
        if (actor.getSnapshot().value !== 'completed') throw new Error('workflow did not complete');
        actor.stop();
      }
    });
    const baseline = await throughput(size, () => {
      for (let i = 0; i < size; i++) {
        const actor = createActor(bare).start();
        actor.send({ type: 'start' });
        actor.send({ type: 'done' });
        actor.stop();
      }
    });
    return [row('actors', 'workflow lifecycle', size, 'bare XState actor', troupe, baseline, 'actors/s')];
  },
};
