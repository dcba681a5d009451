import { assign, sendTo, setup } from 'xstate';
import { compensationPlan } from './compensation-plan.js';
import { resumedPhases } from './resume-from.js';
import { phaseMachine, type PhaseNotice } from './phase-machine.js';
import type { FailureTolerance, PhaseOutcome, PhaseSpec, PhaseStop, Priority, WorkflowSpec } from './types.js';

/** What the hub gives a workflow when it creates it. */
export interface WorkflowInput {
  id: string;
  spec: WorkflowSpec;
  at: number;
}

/** The undoing of a failed or cancelled workflow's completed tasks (saga). */
export interface Compensation {
  /** what ended the workflow's run */
  reason: 'failed' | 'cancelled';
  /** the compensation tasks, one per completed task with a `compensate` */
  spec: PhaseSpec;
  /** how the compensation phase ended; null while it runs */
  outcome: PhaseOutcome | null;
}

/** Why a workflow failed. */
export interface WorkflowFailure {
  code: 'TASK_FAILED' | 'WORKFLOW_TIMEOUT';
  message: string;
}

export interface WorkflowContext {
  id: string;
  spec: WorkflowSpec;
  /** index of the phase running now, or of the next one to run */
  phaseIndex: number;
  /** outcomes of the phases that ended, in order */
  phases: PhaseOutcome[];
  /** ids of tasks that failed or were skipped: later dependents are skipped */
  blocked: string[];
  /** the blocked tasks whose not completing was benign (a false condition, an allowed failure); absent in older checkpoints */
  excused?: string[];
  /** set by `cancel {compensate: true}`: the cancel undoes what completed */
  compensateOnCancel?: boolean;
  /** the compensation, once one began; absent in older checkpoints */
  compensation?: Compensation | null;
  createdAt: number;
  startedAt: number | null;
  updatedAt: number;
  finishedAt: number | null;
  /** when the workflow times out: a deadline in context, not an XState `after` (lost on restore, XState #5331) */
  deadline: number | null;
  failure: WorkflowFailure | null;
  /** `pause {reason}` of the pause in force; null once resumed. Absent in older checkpoints */
  pauseReason?: string | null;
  /** `cancel {reason}`; absent in older checkpoints and when none was given */
  cancelReason?: string | null;
  /** `complete {notify_stakeholders}`: who the end is for, carried by WORKFLOW_COMPLETED */
  notifyStakeholders?: string[];
  /** `start {resume_from_phase}`: the index of the first phase that ran (those before it were skipped) */
  resumedFromPhase?: number;
}

/** Lifecycle events. Each carries the time it happened. */
export type WorkflowEvent =
  /**
   * `failureTolerance`, `priority` and `checkpointIntervalMs` override the
   * definition's for this run; `resumeFromPhase` (an index) skips the phases
   * before it, as done by the user
   */
  | { type: 'start'; at: number; failureTolerance?: FailureTolerance; priority?: Priority; checkpointIntervalMs?: number; resumeFromPhase?: number }
  | { type: 'pause'; at: number; reason?: string }
  | { type: 'resume'; at: number }
  /** `compensate`: undo the completed tasks (their `compensate`) once the running ones stopped */
  | { type: 'cancel'; at: number; compensate?: boolean; reason?: string }
  | { type: 'complete'; at: number; notifyStakeholders?: string[] }
  | { type: 'cleanup'; at: number }
  /** the runtime's clock passed `context.deadline` */
  | { type: 'deadline'; at: number }
  /** `retry-task`: the task waiting for intervention gets fresh attempts */
  | { type: 'retry-task'; taskId: string; at: number }
  /** `skip-task`: the task waiting for intervention ends skipped, or completed with `output` */
  | { type: 'skip-task'; taskId: string; output?: unknown; at: number }
  /** from the running phase (see PhaseNotice): a task waits for a person, or none does any more */
  | PhaseNotice
  /** `set-priority`: in the spec, so a checkpoint keeps it; any state but an ended one */
  | { type: 'prioritize'; at: number; priority: Priority };

/** Records a finished phase: its outcome, the tasks later phases must treat as blocked, the next index. */
function recordPhase(context: WorkflowContext, output: PhaseOutcome): Partial<WorkflowContext> {
  const blockedNow = output.tasks.filter((t) => t.status !== 'completed').map((t) => t.id);
  const excusedNow = output.tasks.filter((t) => t.status !== 'completed' && t.benign === true).map((t) => t.id);
  return {
    phases: [...context.phases, output],
    blocked: [...context.blocked, ...blockedNow],
    excused: [...(context.excused ?? []), ...excusedNow],
    phaseIndex: output.index + 1,
    updatedAt: output.finishedAt ?? context.updatedAt,
  };
}

function taskFailure(output: PhaseOutcome): WorkflowFailure {
  const failed = output.tasks.find((t) => t.status === 'failed');
  return {
    code: 'TASK_FAILED',
    message: failed
      ? `Task ${failed.id} in phase ${output.name} failed: ${failed.error?.message ?? 'unknown error'}`
      : `Phase ${output.name} failed`,
  };
}

/** A task failed or was skipped, and not benignly (a false condition or an allowed failure is the plan working). */
const hasFailures = (phases: readonly PhaseOutcome[]): boolean =>
  phases.some((p) => p.tasks.some((t) => (t.status === 'failed' || t.status === 'skipped') && t.benign !== true));

/** The compensation to run once `output` is recorded, or null when no completed task has one. */
const planAfter = (context: WorkflowContext, output: PhaseOutcome, reason: Compensation['reason']): Compensation | null => {
  const spec = compensationPlan(context.spec.phases, [...context.phases, output]);
  return spec ? { reason, spec, outcome: null } : null;
};

/** The index of the compensation phase: the one after the last. */
export const compensationIndex = (spec: WorkflowSpec): number => spec.phases.length;

/**
 * The workflow lifecycle:
 * `created -> running <-> paused -> completed | partial | failed | cancelled -> archived`.
 * `running` and `paused` are the two children of `active`, which invokes the
 * current phase as a child actor by name (`src: 'phase'`, never inline logic,
 * XState #5057 and #4873), so pausing keeps the phase and its task records.
 * Phases run one after the other; when one ends, `active` is re-entered
 * through its history state, so a workflow paused while its last running task
 * finished stays paused in the next phase.
 */
export const workflowMachine = setup({
  types: {
    input: {} as WorkflowInput,
    context: {} as WorkflowContext,
    events: {} as WorkflowEvent,
  },
  actors: { phase: phaseMachine },
  actions: {
    stamp: assign(({ event }) => ({ updatedAt: event.at })),
    begin: assign(({ context, event }) => {
      if (event.type !== 'start') return {};
      const overrides = {
        ...(event.failureTolerance ? { failureTolerance: event.failureTolerance } : {}),
        ...(event.priority ? { priority: event.priority } : {}),
        ...(event.checkpointIntervalMs ? { checkpointIntervalMs: event.checkpointIntervalMs } : {}),
      };
      // in the spec, so every checkpoint keeps what this run was started with
      const spec = Object.keys(overrides).length > 0 ? { ...context.spec, ...overrides } : context.spec;
      const from = event.resumeFromPhase ?? 0;
      return {
        spec,
        startedAt: event.at,
        updatedAt: event.at,
        deadline: event.at + context.spec.timeoutMs,
        ...(from > 0 ? { phases: resumedPhases(spec, from, event.at), phaseIndex: from, resumedFromPhase: from } : {}),
      };
    }),
    /** the reason of a pause, or null when none was given (and when resumed) */
    notePause: assign(({ event }) => ({ pauseReason: event.type === 'pause' ? (event.reason ?? null) : null })),
    noteCancel: assign(({ event }) => (event.type === 'cancel' && event.reason !== undefined ? { cancelReason: event.reason } : {})),
    noteComplete: assign(({ event }) => (event.type === 'complete' && event.notifyStakeholders ? { notifyStakeholders: event.notifyStakeholders } : {})),
    finish: assign(({ context }) => ({ finishedAt: context.updatedAt })),
    /** Asks the running phase to end its open tasks; its output then decides the workflow's next state. */
    stopPhase: sendTo('phase', ({ event }, params: { reason: PhaseStop }) => ({
      type: 'phase.stop' as const,
      reason: params.reason,
      at: event.at,
    })),
  },
}).createMachine({
  id: 'workflow',
  context: ({ input }) => ({
    id: input.id,
    spec: input.spec,
    phaseIndex: 0,
    phases: [],
    blocked: [],
    excused: [],
    compensation: null,
    createdAt: input.at,
    startedAt: null,
    updatedAt: input.at,
    finishedAt: null,
    deadline: null,
    failure: null,
  }),
  initial: 'created',
  on: {
    // targetless at the root: the running phase is not re-entered; every ended state has finishedAt set
    prioritize: {
      guard: ({ context }) => context.finishedAt === null,
      actions: ['stamp', assign(({ context, event }) => ({ spec: { ...context.spec, priority: event.priority } }))],
    },
  },
  states: {
    /** Defined and validated; nothing runs until `start`. */
    created: {
      on: {
        start: { target: 'active', actions: 'begin' },
        cancel: { target: 'cancelled', actions: ['stamp', 'noteCancel', 'finish'] },
      },
    },
    /** Started and not ended: one phase at a time is invoked. */
    active: {
      invoke: {
        id: 'phase',
        src: 'phase',
        input: ({ context }) => ({
          index: context.phaseIndex,
          spec: context.spec.phases[context.phaseIndex]!,
          tolerance: context.spec.failureTolerance,
          blocked: context.blocked,
          excused: context.excused ?? [],
          at: context.updatedAt,
        }),
        onDone: [
          {
            guard: ({ context, event }) =>
              event.output.stoppedBy === 'cancel' && context.compensateOnCancel === true && planAfter(context, event.output, 'cancelled') !== null,
            target: 'compensating',
            actions: assign(({ context, event }) => ({
              ...recordPhase(context, event.output),
              compensation: planAfter(context, event.output, 'cancelled'),
            })),
          },
          {
            guard: ({ event }) => event.output.stoppedBy === 'cancel',
            target: 'cancelled',
            actions: [assign(({ context, event }) => recordPhase(context, event.output)), 'finish'],
          },
          {
            guard: ({ context, event }) => event.output.stoppedBy === 'deadline' && planAfter(context, event.output, 'failed') !== null,
            target: 'compensating',
            actions: assign(({ context, event }) => ({
              ...recordPhase(context, event.output),
              failure: { code: 'WORKFLOW_TIMEOUT' as const, message: `Workflow ${context.id} passed its timeout` },
              compensation: planAfter(context, event.output, 'failed'),
            })),
          },
          {
            guard: ({ event }) => event.output.stoppedBy === 'deadline',
            target: 'failed',
            actions: [
              assign(({ context, event }) => ({
                ...recordPhase(context, event.output),
                failure: { code: 'WORKFLOW_TIMEOUT' as const, message: `Workflow ${context.id} passed its timeout` },
              })),
              'finish',
            ],
          },
          {
            guard: ({ event }) => event.output.stoppedBy === 'complete',
            target: 'completed',
            actions: [assign(({ context, event }) => recordPhase(context, event.output)), 'finish'],
          },
          {
            guard: ({ context, event }) =>
              event.output.status === 'failed' && context.spec.failureTolerance !== 'high' && planAfter(context, event.output, 'failed') !== null,
            target: 'compensating',
            actions: assign(({ context, event }) => ({
              ...recordPhase(context, event.output),
              failure: taskFailure(event.output),
              compensation: planAfter(context, event.output, 'failed'),
            })),
          },
          {
            guard: ({ context, event }) => event.output.status === 'failed' && context.spec.failureTolerance !== 'high',
            target: 'failed',
            actions: [
              assign(({ context, event }) => ({ ...recordPhase(context, event.output), failure: taskFailure(event.output) })),
              'finish',
            ],
          },
          {
            guard: ({ context, event }) => event.output.index >= context.spec.phases.length - 1,
            target: 'ended',
            actions: [assign(({ context, event }) => recordPhase(context, event.output)), 'finish'],
          },
          { target: '.history', reenter: true, actions: assign(({ context, event }) => recordPhase(context, event.output)) },
        ],
      },
      initial: 'running',
      states: {
        /** The scheduler dispatches the phase's ready tasks. */
        running: {
          on: {
            pause: { target: 'paused', actions: ['stamp', 'notePause'] },
            'phase.intervention': { target: 'needs_intervention', actions: 'stamp' },
          },
        },
        /** Nothing new is dispatched; tasks already running finish and are recorded. */
        paused: {
          on: {
            resume: { target: 'running', actions: ['stamp', 'notePause'] },
            // a failure that waits for a person outranks a pause: the answer resumes the workflow
            'phase.intervention': { target: 'needs_intervention', actions: 'stamp' },
          },
        },
        /**
         * A task failed for good with `on_failure: intervene`: running tasks
         * finish, nothing new starts, until a person answers every such task
         * with `retry-task` or `skip-task` (or cancels the workflow).
         */
        needs_intervention: {
          on: {
            'retry-task': { actions: ['stamp', sendTo('phase', ({ event }) => ({ type: 'task.retry' as const, taskId: event.taskId, at: event.at }))] },
            'skip-task': {
              actions: ['stamp', sendTo('phase', ({ event }) => ({ type: 'task.skip' as const, taskId: event.taskId, at: event.at, ...(event.output === undefined ? {} : { output: event.output }) }))],
            },
            'phase.resolved': { target: 'running', actions: 'stamp' },
          },
        },
        history: { type: 'history' },
      },
      on: {
        cancel: {
          actions: ['stamp', 'noteCancel', assign(({ event }) => ({ compensateOnCancel: event.compensate === true })), { type: 'stopPhase', params: { reason: 'cancel' } }],
        },
        complete: { actions: ['stamp', 'noteComplete', { type: 'stopPhase', params: { reason: 'complete' } }] },
        deadline: { actions: ['stamp', { type: 'stopPhase', params: { reason: 'deadline' } }] },
      },
    },
    /** The last phase ended: decides between `completed` and `partial`. */
    ended: {
      always: [
        {
          guard: ({ context }) => hasFailures(context.phases),
          target: 'partial',
        },
        { target: 'completed' },
      ],
    },
    /**
     * The workflow failed (or was cancelled with compensation): the
     * compensations of its completed tasks run as one more phase, in reverse
     * dependency order. A cancel stops them, which leaves the workflow
     * `compensation_failed`: not everything was undone.
     */
    compensating: {
      invoke: {
        id: 'phase',
        src: 'phase',
        input: ({ context }) => ({
          index: compensationIndex(context.spec),
          spec: context.compensation!.spec,
          // one that fails never stops the others
          tolerance: 'medium' as const,
          blocked: [],
          at: context.updatedAt,
        }),
        onDone: {
          target: 'compensationEnded',
          actions: assign(({ context, event }) => ({
            compensation: { ...context.compensation!, outcome: event.output },
            updatedAt: event.output.finishedAt ?? context.updatedAt,
          })),
        },
      },
      on: { cancel: { actions: ['stamp', 'noteCancel', { type: 'stopPhase', params: { reason: 'cancel' } }] } },
    },
    /** The compensation phase ended: did every compensation complete? */
    compensationEnded: {
      always: [
        {
          guard: ({ context }) => context.compensation?.outcome?.status === 'completed',
          target: 'compensated',
          actions: 'finish',
        },
        { target: 'compensation_failed', actions: 'finish' },
      ],
    },
    /** Every completed task's compensation completed: the workflow's effects are undone. */
    compensated: { on: { cleanup: { target: 'archived', actions: 'stamp' } } },
    /** A compensation failed for good (or a cancel stopped them): some effects may remain. */
    compensation_failed: { on: { cleanup: { target: 'archived', actions: 'stamp' } } },
    /** Every phase ran and every task completed (or `complete` ended it early). */
    completed: { on: { cleanup: { target: 'archived', actions: 'stamp' } } },
    /** Ended under `failure_tolerance: high` with failed or skipped tasks. */
    partial: { on: { cleanup: { target: 'archived', actions: 'stamp' } } },
    /** A task failed for good (tolerance low or medium), or the deadline passed. */
    failed: { on: { cleanup: { target: 'archived', actions: 'stamp' } } },
    /** Cancelled by a user; running tasks were aborted. */
    cancelled: { on: { cleanup: { target: 'archived', actions: 'stamp' } } },
    /** Cleaned up: resources released, kept for the record only. */
    archived: { type: 'final' },
  },
});

/** The persisted form of the invoked phase, as far as the two functions below look into it. */
type PersistedWithPhase = {
  context: WorkflowContext;
  children: Record<string, { snapshot: { context?: { index: number; specs?: unknown } } } | undefined>;
};

/**
 * The live phase's task specs are its workflow's own (`spec.phases[i].tasks`,
 * or the compensation plan's for the compensation phase):
 * a persisted snapshot leaves the phase's copy out (a third of a 20-task
 * workflow's checkpoint, written at every checkpoint and decoded again at
 * every recovery) and a restore puts the workflow's back. A snapshot that
 * still holds them (machine version 1) is restored as it is.
 */
const persistWorkflow = workflowMachine.getPersistedSnapshot.bind(workflowMachine);
workflowMachine.getPersistedSnapshot = (snapshot, options) => {
  const persisted = persistWorkflow(snapshot, options) as unknown as PersistedWithPhase;
  const phase = persisted.children.phase;
  if (!phase?.snapshot.context) return persisted as never;
  const { specs: _shared, ...context } = phase.snapshot.context;
  return { ...persisted, children: { ...persisted.children, phase: { ...phase, snapshot: { ...phase.snapshot, context } } } } as never;
};
const restoreWorkflow = workflowMachine.restoreSnapshot.bind(workflowMachine);
workflowMachine.restoreSnapshot = (snapshot, scope) => {
  const persisted = snapshot as unknown as PersistedWithPhase;
  const phase = persisted.children?.phase;
  const context = phase?.snapshot.context;
  if (!phase || !context || context.specs !== undefined) return restoreWorkflow(snapshot, scope);
  const { spec, compensation } = persisted.context;
  // the compensation phase's tasks are the workflow's too: in its compensation plan
  const specs = context.index === compensationIndex(spec) ? compensation?.spec.tasks : spec.phases[context.index]?.tasks;
  const restored = { ...persisted, children: { ...persisted.children, phase: { ...phase, snapshot: { ...phase.snapshot, context: { ...context, specs } } } } };
  return restoreWorkflow(restored as never, scope);
};
