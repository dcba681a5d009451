import { assign, enqueueActions, setup } from 'xstate';
import {
  blockedSet,
  countOpen,
  failsFast,
  finalPhaseStatus,
  newTaskMap,
  ownTasks,
  put,
  settle,
  specOf,
  STOP_EFFECT,
  stopOpenTasks,
} from './phase-records.js';
import type {
  FailureTolerance,
  PhaseOutcome,
  PhaseSpec,
  PhaseStatus,
  PhaseStop,
  TaskError,
  TaskRecord,
  TaskSpec,
  TaskStatus,
} from './types.js';

/** What the workflow hands a phase when it invokes it. */
export interface PhaseInput {
  index: number;
  spec: PhaseSpec;
  tolerance: FailureTolerance;
  /** ids of earlier phases' tasks that failed or were skipped: their dependents are skipped */
  blocked: string[];
  /** the blocked tasks whose not completing was benign (see `TaskRecord.benign`): so are their dependents' skips */
  excused?: string[];
  /** when the phase starts */
  at: number;
}

export interface PhaseContext {
  index: number;
  name: string;
  tolerance: FailureTolerance;
  specs: TaskSpec[];
  /** written in place by this phase actor (see `ownTasks`): `revision` says when it changed */
  tasks: Record<string, TaskRecord>;
  /** tasks not terminal yet; absent in checkpoints written before it was kept */
  open?: number;
  /** bumped whenever `tasks` changes, since the map itself keeps its identity; absent in older checkpoints */
  revision?: number;
  blocked: string[];
  /** absent in checkpoints written before conditions existed */
  excused?: string[];
  status: PhaseStatus;
  stoppedBy: PhaseStop | null;
  startedAt: number | null;
  finishedAt: number | null;
}

/** Events a phase accepts. The scheduler sends the task events; the workflow sends `phase.stop`. */
export type PhaseEvent =
  | { type: 'task.assigned'; taskId: string; agentId: string; at: number }
  | { type: 'task.started'; taskId: string; at: number }
  | { type: 'task.completed'; taskId: string; output: unknown; at: number }
  /** `retryAt`: when a retry may be assigned, if the phase decides to retry (backoff is the runtime's) */
  | { type: 'task.failed'; taskId: string; error: TaskError; retryAt: number; at: number }
  /** an assigned or running task goes back to `ready` (same attempt): its run is gone */
  | { type: 'task.released'; taskId: string; at: number }
  /** a ready task whose condition is false ends `skipped` without running (benign) */
  | { type: 'task.skipped'; taskId: string; reason: string; at: number }
  /** a ready approval waits for a person: no agent, no thread (`deadline`: null for none) */
  | { type: 'task.awaiting'; taskId: string; prompt: string; deadline: number | null; onTimeout: 'approve' | 'reject'; at: number }
  /** `retry-task`: a task waiting for intervention gets fresh attempts (its attempt number goes on counting) */
  | { type: 'task.retry'; taskId: string; at: number }
  /** `skip-task`: a task waiting for intervention ends `skipped`, or `completed` with the output given */
  | { type: 'task.skip'; taskId: string; output?: unknown; at: number }
  | { type: 'phase.stop'; reason: PhaseStop; at: number };

const has = (ctx: PhaseContext, taskId: string, ...statuses: TaskStatus[]): boolean => {
  const task = ctx.tasks[taskId];
  return task !== undefined && statuses.includes(task.status);
};

const openOf = (ctx: PhaseContext): number => ctx.open ?? countOpen(ctx.tasks);

/** What a phase tells its workflow: a task failed and waits for a person, or no task waits any more. */
export type PhaseNotice = { type: 'phase.intervention'; taskId: string; at: number } | { type: 'phase.resolved'; at: number };

/** True when a task's final failure waits for a person: its own `on_failure`, or the phase's tolerance (never for an allowed failure). */
const intervenes = (spec: TaskSpec, tolerance: FailureTolerance): boolean =>
  spec.onFailure === 'intervene' || (tolerance === 'intervene' && spec.allowFailure !== true);

const waitingForPerson = (ctx: PhaseContext): boolean => Object.values(ctx.tasks).some((t) => t.status === 'needs_intervention');

/** The context change for one task's update: written in place (O(1)), then its dependents settled. */
function update(ctx: PhaseContext, owner: object, taskId: string, patch: Partial<TaskRecord>, at: number) {
  let open = openOf(ctx);
  const tasks = ownTasks(ctx.tasks, owner);
  open += put(tasks, { ...tasks[taskId]!, ...patch });
  open += settle(ctx.specs, tasks, blockedSet(ctx.blocked), at, [taskId], blockedSet(ctx.excused ?? []));
  return { tasks, open, revision: (ctx.revision ?? 0) + 1 };
}

/** How the phase ends now, or null while a task is open. */
function verdict(ctx: PhaseContext): PhaseOutcome['status'] | null {
  return openOf(ctx) === 0 ? finalPhaseStatus(Object.values(ctx.tasks), ctx.stoppedBy) : null;
}

/**
 * The phase lifecycle: `pending -> running -> completed | failed | skipped`
 * (and `cancelled` when its workflow is cancelled). It owns its task records,
 * computes the ready set from `depends_on`, applies retries and the failure
 * tolerance, and hands a {@link PhaseOutcome} to its workflow as its output.
 * It runs nothing itself: the scheduler watches the ready set and reports
 * back with task events. Pure: every time comes in an event's `at`.
 */
export const phaseMachine = setup({
  types: {
    input: {} as PhaseInput,
    context: {} as PhaseContext,
    events: {} as PhaseEvent,
    output: {} as PhaseOutcome,
  },
  guards: {
    endsAs: ({ context }, params: { status: PhaseOutcome['status'] }) => verdict(context) === params.status,
    isReady: ({ context, event }) => (event.type === 'task.assigned' || event.type === 'task.skipped') && has(context, event.taskId, 'ready'),
    isAssigned: ({ context, event }) => event.type === 'task.started' && has(context, event.taskId, 'assigned'),
    /** a task given to an agent, started or not, whose run is gone (its agent left, or the supervisor restarted) */
    isReleasable: ({ context, event }) => event.type === 'task.released' && has(context, event.taskId, 'assigned', 'running'),
    isInFlight: ({ context, event }) =>
      (event.type === 'task.completed' || event.type === 'task.failed') &&
      has(context, event.taskId, 'assigned', 'running', 'waiting_approval'),
    isWaitingApproval: ({ context, event }) => event.type === 'task.awaiting' && has(context, event.taskId, 'ready'),
    needsIntervention: ({ context, event }) => (event.type === 'task.retry' || event.type === 'task.skip') && has(context, event.taskId, 'needs_intervention'),
  },
  actions: {
    begin: assign(({ context, self }) => {
      let open = openOf(context);
      const tasks = ownTasks(context.tasks, self);
      open += settle(context.specs, tasks, blockedSet(context.blocked), context.startedAt ?? 0, undefined, blockedSet(context.excused ?? []));
      return { status: 'running' as const, tasks, open, revision: (context.revision ?? 0) + 1 };
    }),
    markAssigned: assign(({ context, event, self }) => {
      if (event.type !== 'task.assigned') return {};
      const attempts = context.tasks[event.taskId]!.attempts + 1;
      return update(context, self, event.taskId, { status: 'assigned', agentId: event.agentId, attempts, notBefore: null }, event.at);
    }),
    markStarted: assign(({ context, event, self }) => {
      if (event.type !== 'task.started') return {};
      return update(context, self, event.taskId, { status: 'running', startedAt: event.at }, event.at);
    }),
    markReleased: assign(({ context, event, self }) => {
      if (event.type !== 'task.released') return {};
      const attempts = context.tasks[event.taskId]!.attempts - 1;
      return update(context, self, event.taskId, { status: 'ready', agentId: null, attempts, startedAt: null }, event.at);
    }),
    markCompleted: assign(({ context, event, self }) => {
      if (event.type !== 'task.completed') return {};
      const patch = { status: 'completed' as const, output: event.output, error: null, finishedAt: event.at };
      return update(context, self, event.taskId, patch, event.at);
    }),
    markFailed: assign(({ context, event, self }) => {
      if (event.type !== 'task.failed') return {};
      const task = context.tasks[event.taskId]!;
      const spec = specOf(context.specs, event.taskId)!;
      // retries count from the last `retry-task`, if a person gave fresh attempts
      if (event.error.retryable && task.attempts - (task.retryBase ?? 0) <= spec.retries) {
        const patch = { status: 'ready' as const, agentId: null, error: event.error, notBefore: event.retryAt };
        return update(context, self, event.taskId, patch, event.at);
      }
      // a failure a person decides on stops nothing yet: its dependents wait, the phase stays open
      if (intervenes(spec, context.tolerance)) {
        return update(context, self, event.taskId, { status: 'needs_intervention', agentId: null, error: event.error, finishedAt: event.at, notBefore: null }, event.at);
      }
      // an allowed failure is benign: it stops nothing, and its dependents' skips are benign too
      const allowed = spec.allowFailure === true;
      const failed = update(context, self, event.taskId, { status: 'failed', error: event.error, finishedAt: event.at, ...(allowed ? { benign: true } : {}) }, event.at);
      if (allowed || !failsFast(context.tolerance)) return failed;
      return { ...failed, tasks: stopOpenTasks(failed.tasks, 'cancelled', `task ${event.taskId} failed`, event.at), open: 0 };
    }),
    markSkipped: assign(({ context, event, self }) => {
      if (event.type !== 'task.skipped') return {};
      const patch = { status: 'skipped' as const, reason: event.reason, benign: true, finishedAt: event.at, notBefore: null };
      return update(context, self, event.taskId, patch, event.at);
    }),
    markAwaiting: assign(({ context, event, self }) => {
      if (event.type !== 'task.awaiting') return {};
      const attempts = context.tasks[event.taskId]!.attempts + 1;
      const approval = { prompt: event.prompt, deadline: event.deadline, onTimeout: event.onTimeout };
      return update(context, self, event.taskId, { status: 'waiting_approval', attempts, startedAt: event.at, notBefore: null, approval }, event.at);
    }),
    markRetry: assign(({ context, event, self }) => {
      if (event.type !== 'task.retry') return {};
      const task = context.tasks[event.taskId]!;
      return update(context, self, event.taskId, { status: 'ready', retryBase: task.attempts, finishedAt: null, notBefore: null }, event.at);
    }),
    markResolved: assign(({ context, event, self }) => {
      if (event.type !== 'task.skip') return {};
      const patch =
        event.output === undefined
          ? { status: 'skipped' as const, reason: 'skipped by a person (skip-task)', benign: true, finishedAt: event.at }
          : { status: 'completed' as const, output: event.output, reason: 'completed by a person (skip-task)', finishedAt: event.at };
      return update(context, self, event.taskId, patch, event.at);
    }),
    /** the failure just applied left its task waiting for a person: the workflow is told */
    tellIfIntervenes: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'task.failed' || context.tasks[event.taskId]?.status !== 'needs_intervention') return;
      enqueue.sendParent({ type: 'phase.intervention', taskId: event.taskId, at: event.at } satisfies PhaseNotice);
    }),
    /** a person's answer left no task waiting: the workflow goes on */
    tellIfResolved: enqueueActions(({ context, event, enqueue }) => {
      if ((event.type !== 'task.retry' && event.type !== 'task.skip') || waitingForPerson(context)) return;
      enqueue.sendParent({ type: 'phase.resolved', at: event.at } satisfies PhaseNotice);
    }),
    stop: assign(({ context, event }) => {
      if (event.type !== 'phase.stop') return {};
      const effect = STOP_EFFECT[event.reason];
      const tasks = stopOpenTasks(context.tasks, effect.status, effect.reason, event.at);
      return { stoppedBy: event.reason, tasks, open: 0, revision: (context.revision ?? 0) + 1 };
    }),
    finish: assign(({ context }) => {
      const records = Object.values(context.tasks);
      const finishedAt = records.reduce((latest, t) => Math.max(latest, t.finishedAt ?? 0), context.startedAt ?? 0);
      return { status: finalPhaseStatus(records, context.stoppedBy), finishedAt };
    }),
  },
}).createMachine({
  id: 'phase',
  context: ({ input, self }) => ({
    index: input.index,
    name: input.spec.name,
    tolerance: input.tolerance,
    specs: input.spec.tasks,
    tasks: newTaskMap(input.spec.tasks, self),
    open: input.spec.tasks.length,
    revision: 0,
    blocked: input.blocked,
    excused: input.excused ?? [],
    status: 'pending',
    stoppedBy: null,
    startedAt: input.at,
    finishedAt: null,
  }),
  initial: 'pending',
  states: {
    /** Waiting to be entered; leaves at once, computing the first ready set. */
    pending: {
      always: { target: 'running', actions: 'begin' },
    },
    /** Tasks are being scheduled; ends when every task is terminal. */
    running: {
      always: (['completed', 'failed', 'skipped', 'cancelled'] as const).map((status) => ({
        guard: { type: 'endsAs' as const, params: { status } },
        target: status,
        actions: 'finish' as const,
      })),
      on: {
        'task.assigned': { guard: 'isReady', actions: 'markAssigned' },
        'task.started': { guard: 'isAssigned', actions: 'markStarted' },
        'task.released': { guard: 'isReleasable', actions: 'markReleased' },
        'task.skipped': { guard: 'isReady', actions: 'markSkipped' },
        'task.completed': { guard: 'isInFlight', actions: 'markCompleted' },
        'task.failed': { guard: 'isInFlight', actions: ['markFailed', 'tellIfIntervenes'] },
        'task.awaiting': { guard: 'isWaitingApproval', actions: 'markAwaiting' },
        'task.retry': { guard: 'needsIntervention', actions: ['markRetry', 'tellIfResolved'] },
        'task.skip': { guard: 'needsIntervention', actions: ['markResolved', 'tellIfResolved'] },
        'phase.stop': { actions: 'stop' },
      },
    },
    /** Every task completed (or was skipped by an early `complete`). */
    completed: { type: 'final' },
    /** A task failed for good, or the workflow's deadline passed. */
    failed: { type: 'final' },
    /** Every task was skipped because dependencies in earlier phases did not complete. */
    skipped: { type: 'final' },
    /** The workflow was cancelled. */
    cancelled: { type: 'final' },
  },
  output: ({ context }) => ({
    index: context.index,
    name: context.name,
    status: context.status as PhaseOutcome['status'],
    stoppedBy: context.stoppedBy,
    startedAt: context.startedAt,
    finishedAt: context.finishedAt,
    tasks: context.specs.map((s) => context.tasks[s.id]!),
  }),
});

/**
 * A persisted snapshot must not change once taken (a checkpoint is encoded
 * after it is taken, and a snapshot may be restored beside the live actor),
 * but the live task map is written in place: persisting takes a copy of it.
 */
const persistLive = phaseMachine.getPersistedSnapshot.bind(phaseMachine);
phaseMachine.getPersistedSnapshot = (snapshot, options) => {
  const persisted = persistLive(snapshot, options) as typeof snapshot;
  return { ...persisted, context: { ...persisted.context, tasks: { ...persisted.context.tasks } } };
};
