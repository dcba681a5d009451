import { enqueueActions, setup } from 'xstate';
import { agentMachine, type AgentPerformance } from './agent-machine.js';

/** What the hub gives its agent pool. */
export interface PoolInput {
  /** agents never retired below this many */
  minAgents: number;
  /** agents never spawned beyond this many (the spec's `max_agent_pool_size`) */
  maxAgents: number;
  /** tasks one agent may run at once */
  maxConcurrentTasks: number;
  /** the same for the agents of some roles (a role not named here takes `maxConcurrentTasks`) */
  maxConcurrentTasksByRole?: Readonly<Record<string, number>>;
  /** consecutive failures that open an agent's breaker */
  breakerThreshold: number;
}

/** An agent the pool knows of; its live state is in the child actor with the same id. */
export interface PoolMember {
  id: string;
  role: string;
}

export interface PoolContext extends PoolInput {
  members: PoolMember[];
  /** sequence for the next agent id (`agent_001`, `agent_002`, …) */
  nextSeq: number;
}

export type PoolEvent =
  /** `id` and `performance` bring back an agent from before a restart (agent_pools/pool.ckpt) */
  | { type: 'agent.add'; role: string; id?: string; performance?: AgentPerformance }
  | { type: 'agent.remove'; agentId: string }
  /** a failed or unresponsive agent leaves, whatever the minimum: it holds no capacity */
  | { type: 'agent.discard'; agentId: string }
  | { type: 'pool.drain' };

/** Tasks an agent of `role` may run at once: its role's setting, else the pool's. */
export const concurrencyOf = (input: PoolInput, role: string): number => {
  const byRole = input.maxConcurrentTasksByRole;
  return byRole !== undefined && Object.hasOwn(byRole, role) ? byRole[role]! : input.maxConcurrentTasks;
};

/** The id of the `n`th agent a pool spawns. */
export const agentIdFor = (n: number): string => `agent_${String(n).padStart(3, '0')}`;

/** The `n` of an id `agentIdFor(n)` made, 0 for any other id: a restored agent's id is never given out again. */
const seqOfAgentId = (id: string): number => Number(/^agent_(\d+)$/.exec(id)?.[1] ?? 0);

/**
 * The agent pool: spawns agents by reference (`spawnChild('agent')`, never
 * inline logic, so a restored pool gets its children back), between
 * `minAgents` and `maxAgents`. `running` accepts new agents; `draining`
 * (shutdown) accepts none.
 */
export const poolMachine = setup({
  types: { input: {} as PoolInput, context: {} as PoolContext, events: {} as PoolEvent },
  actors: { agent: agentMachine },
  guards: {
    belowMax: ({ context, event }) =>
      context.members.length < context.maxAgents && !(event.type === 'agent.add' && event.id !== undefined && context.members.some((m) => m.id === event.id)),
    isMember: ({ context, event }) => event.type === 'agent.discard' && context.members.some((m) => m.id === event.agentId),
    aboveMin: ({ context, event }) =>
      event.type === 'agent.remove' &&
      context.members.length > context.minAgents &&
      context.members.some((m) => m.id === event.agentId),
  },
  actions: {
    spawnAgent: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'agent.add') return;
      const id = event.id ?? agentIdFor(context.nextSeq);
      enqueue.spawnChild('agent', {
        id,
        input: {
          id,
          role: event.role,
          maxConcurrentTasks: concurrencyOf(context, event.role),
          breakerThreshold: context.breakerThreshold,
          ...(event.performance ? { performance: event.performance } : {}),
        },
      });
      enqueue.assign({ members: [...context.members, { id, role: event.role }], nextSeq: event.id === undefined ? context.nextSeq + 1 : Math.max(context.nextSeq, seqOfAgentId(id) + 1) });
    }),
    retireAgent: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'agent.remove') return;
      enqueue.sendTo(event.agentId, { type: 'agent.retire' });
      enqueue.stopChild(event.agentId);
      enqueue.assign({ members: context.members.filter((m) => m.id !== event.agentId) });
    }),
    discardAgent: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'agent.discard') return;
      enqueue.stopChild(event.agentId);
      enqueue.assign({ members: context.members.filter((m) => m.id !== event.agentId) });
    }),
  },
}).createMachine({
  id: 'pool',
  context: ({ input }) => ({ ...input, members: [], nextSeq: 1 }),
  initial: 'running',
  states: {
    /** Agents are added on demand and removed down to the minimum. */
    running: {
      on: {
        'agent.add': { guard: 'belowMax', actions: 'spawnAgent' },
        'agent.remove': { guard: 'aboveMin', actions: 'retireAgent' },
        'agent.discard': { guard: 'isMember', actions: 'discardAgent' },
        'pool.drain': 'draining',
      },
    },
    /** Shutting down: no agent is added. */
    draining: {},
  },
});
