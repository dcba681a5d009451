import { and, assign, not, or, setup, stateIn } from 'xstate';

/** What the pool gives an agent when it spawns it. */
export interface AgentInput {
  id: string;
  role: string;
  /** tasks the agent may run at once, >= 1 */
  maxConcurrentTasks: number;
  /** consecutive failures that open the circuit breaker */
  breakerThreshold: number;
  /** its record from before a restart (agent_pools/pool.ckpt); fresh when absent */
  performance?: AgentPerformance;
}

/** The performance record of an agent, as the spec's agent tracking describes it. */
export interface AgentPerformance {
  tasksCompleted: number;
  tasksFailed: number;
  /** total run time of finished tasks, ms */
  totalTaskMs: number;
  /** scores of the last tasks (100 for a success, 0 for a failure), newest last, at most 20 */
  recentScores: number[];
}

export interface AgentContext extends AgentInput {
  /** ids of the tasks it runs now */
  running: string[];
  consecutiveFailures: number;
  performance: AgentPerformance;
  /** the one task a half-open breaker lets through */
  trialTaskId: string | null;
}

export type AgentEvent =
  | { type: 'task.assign'; taskId: string }
  | { type: 'task.done'; taskId: string; ok: boolean; durationMs: number }
  /** the runtime saw no heartbeat within its interval */
  | { type: 'heartbeat.missed' }
  | { type: 'heartbeat' }
  | { type: 'agent.fail' }
  | { type: 'agent.retire' }
  /** the runtime's clock passed the open breaker's cool-down */
  | { type: 'breaker.cooldown' };

const RECENT_SCORES = 20;

const finish = (context: AgentContext, taskId: string, ok: boolean, durationMs: number) => {
  const p = context.performance;
  return {
    running: context.running.filter((id) => id !== taskId),
    consecutiveFailures: ok ? 0 : context.consecutiveFailures + 1,
    performance: {
      tasksCompleted: p.tasksCompleted + (ok ? 1 : 0),
      tasksFailed: p.tasksFailed + (ok ? 0 : 1),
      totalTaskMs: p.totalTaskMs + durationMs,
      recentScores: [...p.recentScores, ok ? 100 : 0].slice(-RECENT_SCORES),
    },
  };
};

/**
 * An agent: `idle -> busy -> idle`, `unresponsive` after a missed heartbeat,
 * `failed`, `retired`; beside it a circuit breaker `closed | open | half_open`
 * that gates assignment after `breakerThreshold` consecutive failures (one
 * trial task when half open). Pure: the runtime's clock sends the heartbeat
 * and cool-down events.
 */
export const agentMachine = setup({
  types: { input: {} as AgentInput, context: {} as AgentContext, events: {} as AgentEvent },
  guards: {
    hasRoom: ({ context }) => context.running.length < context.maxConcurrentTasks,
    hasNoTrial: ({ context }) => context.trialTaskId === null,
    isNewTask: ({ context, event }) => event.type === 'task.assign' && !context.running.includes(event.taskId),
    /**
     * ready for work (idle or busy: an unresponsive, failed or retired agent
     * takes nothing, whichever region is asked), room for one more task it does
     * not run yet, and the breaker allows it: never when open, one trial when half open
     */
    canTake: and([
      or([stateIn({ lifecycle: 'idle' }), stateIn({ lifecycle: 'busy' })]),
      'hasRoom',
      'isNewTask',
      not(stateIn({ breaker: 'open' })),
      or([not(stateIn({ breaker: 'half_open' })), 'hasNoTrial']),
    ]),
    isActive: not(stateIn({ lifecycle: 'retired' })),
    isLastTask: ({ context, event }) =>
      event.type === 'task.done' && context.running.length === 1 && context.running[0] === event.taskId,
    isRunning: ({ context, event }) => event.type === 'task.done' && context.running.includes(event.taskId),
    // only reports of tasks the agent runs count: a stray or duplicate report must not move the breaker
    tripsBreaker: ({ context, event }) =>
      event.type === 'task.done' && context.running.includes(event.taskId) && !event.ok && context.consecutiveFailures + 1 >= context.breakerThreshold,
    /** the half-open trial is decided by the trial task only, not by one that started before the breaker opened */
    trialFailed: ({ context, event }) => event.type === 'task.done' && event.taskId === context.trialTaskId && !event.ok,
    trialSucceeded: ({ context, event }) => event.type === 'task.done' && event.taskId === context.trialTaskId && event.ok,
  },
  actions: {
    take: assign(({ context, event }) => (event.type === 'task.assign' ? { running: [...context.running, event.taskId] } : {})),
    markTrial: assign(({ event }) => (event.type === 'task.assign' ? { trialTaskId: event.taskId } : {})),
    clearTrial: assign({ trialTaskId: null }),
    settle: assign(({ context, event }) =>
      event.type === 'task.done' ? finish(context, event.taskId, event.ok, event.durationMs) : {},
    ),
  },
}).createMachine({
  id: 'agent',
  type: 'parallel',
  context: ({ input }) => ({
    ...input,
    running: [],
    consecutiveFailures: 0,
    trialTaskId: null,
    performance: input.performance ?? { tasksCompleted: 0, tasksFailed: 0, totalTaskMs: 0, recentScores: [] },
  }),
  states: {
    lifecycle: {
      initial: 'idle',
      states: {
        /** Ready for work, nothing running. */
        idle: {
          on: {
            'task.assign': { guard: 'canTake', target: 'busy', actions: 'take' },
            'heartbeat.missed': 'unresponsive',
          },
        },
        /** Running at least one task; takes more while it has room. */
        busy: {
          on: {
            'task.assign': { guard: 'canTake', actions: 'take' },
            'task.done': [
              { guard: 'isLastTask', target: 'idle', actions: 'settle' },
              { guard: 'isRunning', actions: 'settle' },
            ],
            'heartbeat.missed': 'unresponsive',
          },
        },
        /** Missed heartbeats: gets no work; its tasks are reassigned. */
        unresponsive: {
          on: {
            heartbeat: [{ guard: ({ context }) => context.running.length > 0, target: 'busy' }, { target: 'idle' }],
            'task.done': { guard: 'isRunning', actions: 'settle' },
          },
        },
        /** Failed for good; never gets work again. Its running tasks still report how they ended. */
        failed: {
          on: { 'task.done': { guard: 'isRunning', actions: 'settle' } },
        },
        /** Taken out of the pool on purpose. */
        retired: { type: 'final' },
      },
      on: {
        'agent.fail': { guard: 'isActive', target: '.failed' },
        'agent.retire': { guard: 'isActive', target: '.retired' },
      },
    },
    breaker: {
      initial: 'closed',
      states: {
        /** Normal operation. */
        closed: { on: { 'task.done': { guard: 'tripsBreaker', target: 'open' } } },
        /** Too many consecutive failures: no assignment until the cool-down passes. */
        open: { on: { 'breaker.cooldown': { target: 'half_open', actions: 'clearTrial' } } },
        /** One trial task decides: success closes, failure opens again. */
        half_open: {
          on: {
            'task.assign': { guard: 'canTake', actions: 'markTrial' },
            'task.done': [
              { guard: 'trialSucceeded', target: 'closed', actions: 'clearTrial' },
              { guard: 'trialFailed', target: 'open', actions: 'clearTrial' },
            ],
          },
        },
      },
    },
  },
});

/**
 * Whether the agent would take a new task now: the `canTake` guard read off
 * a snapshot. The pool asks this of every agent of a role for every task,
 * and `snapshot.can()` computes a whole transition to answer it (a few µs
 * each); a test checks the two agree in every reachable state.
 */
export function acceptsNewTask(snapshot: { value: unknown; context: AgentContext }): boolean {
  const { lifecycle, breaker } = snapshot.value as { lifecycle: string; breaker: string };
  const c = snapshot.context;
  if (lifecycle !== 'idle' && lifecycle !== 'busy') return false;
  if (c.running.length >= c.maxConcurrentTasks || breaker === 'open') return false;
  return breaker !== 'half_open' || c.trialTaskId === null;
}

