/**
 * Model-based tests of the workflow lifecycle. An abstract model (below) says
 * what the workflow should do for its own events and for task outcomes; paths
 * generated from it by `xstate/graph` (shortest and simple) are replayed on
 * real workflow actors, whose invoked `phase` child is driven like the
 * scheduler drives it. After every step the real snapshot must match the
 * model, every workflow event the model forbids must be refused (`can()` false,
 * snapshot untouched), and in the end every transition of the real workflow
 * machine must have been taken.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assign, createActor, setup, type AnyStateNode, type AnyTransitionDefinition, type SnapshotFrom } from 'xstate';
import { createTestModel, type TestParam, type TestPath } from 'xstate/graph';
import { workflowMachine, type WorkflowEvent } from '../src/machines/workflow-machine.js';
import { TERMINAL_TASK_STATUSES } from '../src/machines/phase-records.js';
import type { FailureTolerance } from '../src/machines/types.js';
import { phase, task, taskError, workflowSpec } from './machines-fixtures.js';

/**
 * Phase 0 runs `a`; phase 1 runs `b` (needs `a`, from the earlier phase) and
 * the independent `c`. In a saga every task has a compensation: a failure
 * (or a cancel with compensation) after a task completed undoes it.
 */
const undo = { compensate: { handler: 'echo', input: { value: 'undo' }, timeoutMs: 1_000, retries: 0 } };
/** plain; saga: every task has a compensation; intervene: every task's final failure waits for a person */
type Variant = 'plain' | 'saga' | 'intervene';
const specFor = (tolerance: FailureTolerance, variant: Variant = 'plain') => {
  const extra = variant === 'saga' ? undo : variant === 'intervene' ? { onFailure: 'intervene' as const } : {};
  return workflowSpec([phase('build', [task('a', [], extra)]), phase('ship', [task('b', ['a'], extra), task('c', [], extra)])], tolerance);
};

const WORKFLOW_EVENTS = ['start', 'pause', 'resume', 'cancel', 'complete', 'cleanup', 'deadline', 'prioritize'] as const;
/** A workflow event of `type` at `at`; `prioritize` asks for critical (the spec's is medium) */
const workflowEvent = (type: (typeof WORKFLOW_EVENTS)[number], at: number): WorkflowEvent =>
  type === 'prioritize' ? { type, at, priority: 'critical' } : { type, at };
type TaskStep = { type: 'task.run' | 'task.succeed' | 'task.fail' | 'undo.run' | 'undo.succeed' | 'undo.fail'; at: number };
/** a person's answer to the task waiting for intervention (the executor fills in which task) */
type PersonStep = { type: 'retry-task' | 'skip-task'; at: number };
type ModelEvent = Exclude<WorkflowEvent, { type: 'retry-task' | 'skip-task' }> | TaskStep | PersonStep;

interface ModelContext {
  tolerance: FailureTolerance;
  /** every task has a compensation */
  saga: boolean;
  /** every task's final failure waits for a person */
  intervene: boolean;
  /** a person gave a task fresh attempts (so a path through a retry reaches a state of its own) */
  retried: boolean;
  /** tasks completed so far */
  completed: number;
  /** compensations not ended yet, one of them running, one failed */
  undoOpen: number;
  undoRunning: boolean;
  undoFailures: boolean;
  phase: number;
  /** tasks of the current phase that are not terminal */
  open: number;
  /** one task of the phase is running */
  running: boolean;
  /** a task failed (or was skipped) so far */
  failures: boolean;
}

const isFail = (event: ModelEvent) => event.type === 'task.fail';
/** tasks completed once this event is applied */
const completedAfter = (context: ModelContext, event: ModelEvent) => context.completed + (event.type === 'task.succeed' ? 1 : 0);

/** The running task's end fails the workflow: low fails fast, medium fails once the phase is over. */
const failsWorkflowNow = (context: ModelContext, event: ModelEvent) =>
  context.running &&
  (context.tolerance === 'low' ? isFail(event) : context.tolerance === 'medium' && context.open === 1 && (context.failures || isFail(event)));

/** What the workflow should do, abstracted to phase index, open-task count and failures. */
const model = setup({
  types: { context: {} as ModelContext, events: {} as ModelEvent, input: {} as { tolerance: FailureTolerance; variant: Variant } },
  guards: {
    canRun: ({ context }) => !context.running,
    /** the running task's end fails the workflow: low fails fast, medium fails once the phase is over */
    failsWorkflow: ({ context, event }) => failsWorkflowNow(context, event),
    endsWorkflow: ({ context }) => context.running && context.open === 1 && context.phase === 1,
    endsPhase: ({ context }) => context.running && context.open === 1,
    isRunning: ({ context }) => context.running,
    /** a saga with a completed task compensates instead of ending failed */
    undoes: ({ context, event }) => context.saga && completedAfter(context, event) > 0,
    cancelUndoes: ({ context, event }) => event.type === 'cancel' && event.compensate === true && context.saga && context.completed > 0,
    canUndo: ({ context }) => !context.undoRunning && context.undoOpen > 0,
    /** the running task's failure waits for a person */
    heldFor: ({ context, event }) => context.intervene && context.running && isFail(event),
    undoRunning: ({ context }) => context.undoRunning,
    endsUndo: ({ context }) => context.undoRunning && context.undoOpen === 1,
  },
  actions: {
    run: assign({ running: true }),
    hold: assign({ running: false }),
    /** nothing the model tracks (the real spec's priority is checked after the event); `can()` counts only a transition that does something */
    reprioritize: () => {},
    beginUndo: assign(({ context, event }) => ({ running: false, undoOpen: completedAfter(context, event), completed: completedAfter(context, event) })),
    runUndo: assign({ undoRunning: true }),
    undoEnded: assign(({ context, event }) => ({ undoRunning: false, undoOpen: context.undoOpen - 1, undoFailures: context.undoFailures || event.type === 'undo.fail' })),
    taskEnded: assign(({ context, event }) => ({
      running: false,
      open: context.open - 1,
      failures: context.failures || isFail(event),
      completed: completedAfter(context, event),
    })),
    /** phase 1 has `b` and `c`, unless `a` failed: then `b` is skipped at once (tolerance high) */
    nextPhase: assign(({ context, event }) => ({
      running: false,
      phase: 1,
      open: isFail(event) ? 1 : 2,
      failures: context.failures || isFail(event),
      completed: completedAfter(context, event),
    })),
  },
}).createMachine({
  id: 'model',
  context: ({ input }) => ({
    tolerance: input.tolerance,
    saga: input.variant === 'saga',
    intervene: input.variant === 'intervene',
    retried: false,
    phase: 0,
    open: 1,
    running: false,
    failures: false,
    completed: 0,
    undoOpen: 0,
    undoRunning: false,
    undoFailures: false,
  }),
  initial: 'created',
  states: {
    // a new priority changes no state: allowed until the workflow ended
    created: { on: { start: 'active', cancel: 'cancelled', prioritize: { actions: 'reprioritize' } } },
    active: {
      initial: 'running',
      states: {
        running: { on: { pause: 'paused', 'task.run': { guard: 'canRun', actions: 'run' } } },
        paused: { on: { resume: 'running' } },
        needs_intervention: {
          on: {
            'retry-task': { target: 'running', actions: assign({ retried: true }) },
            // skipped: it counts as ended, not as a failure (a person decided)
            'skip-task': [
              { guard: ({ context }) => context.open === 1 && context.phase === 1, target: '#model.ended', actions: assign(({ context }) => ({ open: context.open - 1 })) },
              { guard: ({ context }) => context.open === 1, target: 'running', actions: assign({ phase: 1, open: 1 }) },
              { target: 'running', actions: assign(({ context }) => ({ open: context.open - 1 })) },
            ],
          },
        },
      },
      on: {
        cancel: [{ guard: 'cancelUndoes', target: '#model.compensating', actions: 'beginUndo' }, { target: '#model.cancelled' }],
        complete: '#model.completed',
        prioritize: { actions: 'reprioritize' },
        deadline: [{ guard: 'undoes', target: '#model.compensating', actions: 'beginUndo' }, { target: '#model.failed' }],
        'task.succeed': [
          { guard: ({ context, event }) => failsWorkflowNow(context, event) && context.saga && completedAfter(context, event) > 0, target: '#model.compensating', actions: 'beginUndo' },
          { guard: 'failsWorkflow', target: '#model.failed' },
          { guard: 'endsWorkflow', target: '#model.ended', actions: 'taskEnded' },
          { guard: 'endsPhase', actions: 'nextPhase' },
          { guard: 'isRunning', actions: 'taskEnded' },
        ],
        'task.fail': [
          { guard: 'heldFor', target: '.needs_intervention', actions: 'hold' },
          { guard: ({ context, event }) => failsWorkflowNow(context, event) && context.saga && completedAfter(context, event) > 0, target: '#model.compensating', actions: 'beginUndo' },
          { guard: 'failsWorkflow', target: '#model.failed' },
          { guard: 'endsWorkflow', target: '#model.ended', actions: 'taskEnded' },
          { guard: 'endsPhase', actions: 'nextPhase' },
          { guard: 'isRunning', actions: 'taskEnded' },
        ],
      },
    },
    compensating: {
      on: {
        'undo.run': { guard: 'canUndo', actions: 'runUndo' },
        'undo.succeed': [{ guard: 'endsUndo', target: 'compensationEnded', actions: 'undoEnded' }, { guard: 'undoRunning', actions: 'undoEnded' }],
        'undo.fail': [{ guard: 'endsUndo', target: 'compensationEnded', actions: 'undoEnded' }, { guard: 'undoRunning', actions: 'undoEnded' }],
        // a cancel stops the compensations: not everything was undone
        cancel: 'compensation_failed',
        prioritize: { actions: 'reprioritize' },
      },
    },
    compensationEnded: { always: [{ guard: ({ context }) => context.undoFailures, target: 'compensation_failed' }, { target: 'compensated' }] },
    compensated: { on: { cleanup: 'archived' } },
    compensation_failed: { on: { cleanup: 'archived' } },
    ended: { always: [{ guard: ({ context }) => context.failures, target: 'partial' }, { target: 'completed' }] },
    completed: { on: { cleanup: 'archived' } },
    partial: { on: { cleanup: 'archived' } },
    failed: { on: { cleanup: 'archived' } },
    cancelled: { on: { cleanup: 'archived' } },
    archived: { type: 'final' },
  },
});
type ModelSnapshot = SnapshotFrom<typeof model>;

/** Event templates: `at` is the offset of the event inside its step's tick (see `replay`). */
const EVENTS: ModelEvent[] = [
  ...WORKFLOW_EVENTS.map((type, i) => workflowEvent(type, 10 + i)),
  { type: 'cancel', at: 17, compensate: true },
  { type: 'task.run', at: 20 },
  { type: 'task.succeed', at: 30 },
  { type: 'task.fail', at: 40 },
  { type: 'retry-task', at: 45 },
  { type: 'skip-task', at: 46 },
  { type: 'undo.run', at: 50 },
  { type: 'undo.succeed', at: 60 },
  { type: 'undo.fail', at: 70 },
];

/** Every transition the real workflow machine declares, with a readable label. */
function transitionsOf(node: AnyStateNode): Array<[AnyTransitionDefinition, string]> {
  const own = [...node.transitions.values()].flat().concat(node.always ?? []);
  return [
    ...own.map((t, i): [AnyTransitionDefinition, string] => [t, `${node.id} #${i} --${t.eventType || 'always'}--> ${t.target?.map((s) => s.id).join(',') ?? '(self)'}`]),
    ...Object.values(node.states).flatMap(transitionsOf),
  ];
}
const ALL_TRANSITIONS = transitionsOf(workflowMachine.root);

interface Coverage {
  transitions: Set<AnyTransitionDefinition>;
  states: Set<string>;
}

/** Replays one model path on a real workflow actor, checking it after every step. */
async function replay(path: TestPath<ModelSnapshot, ModelEvent>, tolerance: FailureTolerance, variant: Variant, coverage: Coverage) {
  const actor = createActor(workflowMachine, {
    input: { id: 'wf-1', spec: specFor(tolerance, variant), at: 0 },
    inspect: (ev) => {
      if (ev.type !== '@xstate.microstep' || ev.actorRef !== actor) return;
      ev._transitions.forEach((t) => coverage.transitions.add(t));
      coverage.states.add(JSON.stringify((ev.snapshot as SnapshotFrom<typeof workflowMachine>).value));
    },
  });
  actor.start();
  coverage.states.add(JSON.stringify(actor.getSnapshot().value));
  let tick = 0;
  /** the real clock only moves forward: tick * 100 + the event's own offset */
  const atOf = (event: ModelEvent) => ++tick * 100 + event.at;
  const child = () => {
    const ref = actor.getSnapshot().children.phase;
    expect(ref, 'the phase child while active').toBeDefined();
    return ref!;
  };
  const taskIn = (status: 'ready' | 'running') => {
    const { specs, tasks } = child().getSnapshot().context;
    const found = specs.map((s) => tasks[s.id]!).find((t) => t.status === status);
    expect(found, `a ${status} task`).toBeDefined();
    return found!.id;
  };
  const held = () => {
    const found = Object.values(child().getSnapshot().context.tasks).find((t) => t.status === 'needs_intervention');
    expect(found, 'a task waiting for intervention').toBeDefined();
    return found!.id;
  };
  const sendWorkflow = ({ event }: { event: ModelEvent }) => {
    const at = atOf(event);
    actor.send({ ...(event as WorkflowEvent), at });
    const snap = actor.getSnapshot();
    // a compensation that begins ends the workflow only once it is over
    if (snap.matches('compensating')) expect(snap.context.finishedAt).toBeNull();
    else if (['cancel', 'complete', 'deadline'].includes(event.type)) expect(snap.context.finishedAt).toBe(at);
    if (event.type === 'deadline') expect(snap.context.failure?.code).toBe('WORKFLOW_TIMEOUT');
    if (event.type === 'prioritize') expect(snap.context.spec.priority).toBe('critical');
    if (!['cancel', 'complete', 'deadline'].includes(event.type)) expect(snap.context.updatedAt).toBe(at);
  };
  const afterTask = () => {
    const snap = actor.getSnapshot();
    if (snap.matches('failed') || (snap.matches('compensating') && snap.context.compensation?.reason === 'failed')) {
      expect(snap.context.failure?.code).toBe('TASK_FAILED');
    }
    if (snap.matches('compensating')) expect(snap.context.finishedAt).toBeNull();
    else if (!snap.matches('active')) expect(snap.context.finishedAt).toBe(snap.context.updatedAt);
  };
  const check = (state: ModelSnapshot) => {
    const snap = actor.getSnapshot();
    expect(snap.value).toEqual(state.value);
    if (state.matches('active')) {
      const ctx = child().getSnapshot().context;
      const tasks = Object.values(ctx.tasks);
      expect(ctx.index).toBe(state.context.phase);
      expect(tasks.filter((t) => !TERMINAL_TASK_STATUSES.has(t.status))).toHaveLength(state.context.open);
      expect(tasks.some((t) => t.status === 'running')).toBe(state.context.running);
    } else if (state.matches('compensating')) {
      // the compensation phase: one task per completed task, after the definition's phases
      const ctx = child().getSnapshot().context;
      const tasks = Object.values(ctx.tasks);
      expect(ctx.index).toBe(2);
      expect(tasks).toHaveLength(state.context.completed);
      expect(tasks.filter((t) => !TERMINAL_TASK_STATUSES.has(t.status))).toHaveLength(state.context.undoOpen);
      expect(tasks.some((t) => t.status === 'running')).toBe(state.context.undoRunning);
    } else {
      expect(snap.children.phase).toBeUndefined();
    }
    for (const type of WORKFLOW_EVENTS) {
      const event = workflowEvent(type, 999_999);
      const allowed = state.can(event);
      expect(snap.can(event), `can(${type}) in ${JSON.stringify(snap.value)}`).toBe(allowed);
      if (allowed) continue;
      const childBefore = snap.children.phase?.getSnapshot();
      actor.send(event);
      const after = actor.getSnapshot();
      expect(after.value).toEqual(snap.value);
      expect(after.context).toEqual(snap.context);
      expect(after.children.phase?.getSnapshot()).toBe(childBefore);
    }
  };
  const params = {
    events: {
      ...Object.fromEntries(WORKFLOW_EVENTS.map((type) => [type, sendWorkflow])),
      'task.run': ({ event }: { event: ModelEvent }) => {
        const taskId = taskIn('ready');
        const at = atOf(event);
        child().send({ type: 'task.assigned', taskId, agentId: 'agent_001', at });
        child().send({ type: 'task.started', taskId, at });
      },
      'task.succeed': ({ event }: { event: ModelEvent }) => {
        child().send({ type: 'task.completed', taskId: taskIn('running'), output: { ok: true }, at: atOf(event) });
        afterTask();
      },
      'task.fail': ({ event }: { event: ModelEvent }) => {
        child().send({ type: 'task.failed', taskId: taskIn('running'), error: taskError(false), retryAt: 0, at: atOf(event) });
        afterTask();
      },
      'retry-task': ({ event }: { event: ModelEvent }) => {
        actor.send({ type: 'retry-task', taskId: held(), at: atOf(event) });
      },
      'skip-task': ({ event }: { event: ModelEvent }) => {
        actor.send({ type: 'skip-task', taskId: held(), at: atOf(event) });
        afterTask();
      },
      'undo.run': ({ event }: { event: ModelEvent }) => {
        const taskId = taskIn('ready');
        const at = atOf(event);
        child().send({ type: 'task.assigned', taskId, agentId: 'agent_001', at });
        child().send({ type: 'task.started', taskId, at });
      },
      'undo.succeed': ({ event }: { event: ModelEvent }) => {
        child().send({ type: 'task.completed', taskId: taskIn('running'), output: { undone: true }, at: atOf(event) });
      },
      'undo.fail': ({ event }: { event: ModelEvent }) => {
        child().send({ type: 'task.failed', taskId: taskIn('running'), error: taskError(false), retryAt: 0, at: atOf(event) });
      },
    },
    states: { '*': check },
  };
  // TestParam types an executor's event as `{ type }` only; ours read the event's `at` too
  await path.test(params as unknown as TestParam<ModelSnapshot, ModelEvent>);
}

const PLAIN = ['"created"', '{"active":"running"}', '{"active":"paused"}', '"ended"', '"completed"', '"partial"', '"failed"', '"cancelled"', '"archived"'];
const UNDOING = ['"compensating"', '"compensationEnded"', '"compensated"', '"compensation_failed"'];
const INTERVENING = '{"active":"needs_intervention"}';
const LIFECYCLE = [...PLAIN, ...UNDOING, INTERVENING];
/** the configurations replayed: each tolerance plain and as a saga, and interventions under medium */
const TOLERANCES: FailureTolerance[] = ['low', 'medium', 'high'];
const CONFIGURATIONS: [FailureTolerance, Variant][] = [...TOLERANCES.flatMap((t) => [[t, 'plain'], [t, 'saga']] as [FailureTolerance, Variant][]), ['medium', 'intervene']];
/** the states a configuration reaches */
function expectedStates(tolerance: FailureTolerance, variant: Variant): string[] {
  // with interventions nothing fails for good: no partial end; a failure is only the deadline's
  if (variant === 'intervene') return [...PLAIN.filter((s) => s !== '"partial"'), INTERVENING];
  const states = variant === 'saga' ? [...PLAIN, ...UNDOING] : PLAIN;
  return tolerance === 'high' ? states : states.filter((s) => s !== '"partial"');
}
/**
 * Shortest paths over the default serialization, which tells states apart by
 * the transition that reached them: one path per model transition. Simple
 * paths over plain states (value + context): every loop-free way to each.
 */
const traversal = (tolerance: FailureTolerance, variant: Variant) => ({
  input: { tolerance, variant },
  events: EVENTS,
  /** only events the model takes: a guarded-out task event is no step */
  filterEvents: (state: ModelSnapshot, event: ModelEvent) => state.can(event),
});
const generators = {
  shortest: (tolerance: FailureTolerance, variant: Variant) => createTestModel(model, traversal(tolerance, variant)).getShortestPaths(),
  simple: (tolerance: FailureTolerance, variant: Variant) =>
    createTestModel(model, { ...traversal(tolerance, variant), serializeTransition: () => '' }).getSimplePaths(),
};

/** A replay of every path of one configuration (see below); a correctness test that happens to be long, never a speed check. */
const REPLAY_TIMEOUT_MS = 120_000;

describe('workflow lifecycle, model-based', () => {
  beforeEach(() => {
    // events sent to an archived (stopped) workflow are refused with a dev warning
    vi.spyOn(console, 'warn').mockImplementation(() => {});
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe.each(Object.entries(generators))('%s paths', (name, generate) => {
    // a simple path never comes back to a state it saw: a transition that leaves value and model context as they were (a new priority) is the shortest paths' to take
    const selfLoops = name === 'simple' ? new Set(['prioritize']) : new Set<string>();
    // what each (tolerance, saga) replay covered: the last test adds them up, replaying only what a filtered run left out
    const covered = new Map<string, Coverage>();
    const replayAll = async (tolerance: FailureTolerance, variant: Variant): Promise<Coverage> => {
      const key = `${tolerance}/${variant}`;
      const known = covered.get(key);
      if (known) return known;
      const coverage: Coverage = { transitions: new Set(), states: new Set() };
      const paths = generate(tolerance, variant);
      expect(paths.length).toBeGreaterThan(5);
      for (const path of paths) await replay(path, tolerance, variant, coverage);
      covered.set(key, coverage);
      return coverage;
    };

    // hundreds of paths, each replayed on real actors: 10–30 s each on a quiet 2-core machine, so more than the default timeout under load
    it.each(CONFIGURATIONS)('replay on real workflows (failure_tolerance %s, %s)', async (tolerance, variant) => {
      const coverage = await replayAll(tolerance, variant);
      expect([...coverage.states].sort()).toEqual([...expectedStates(tolerance, variant)].sort());
    }, REPLAY_TIMEOUT_MS);

    it('reach every lifecycle state and take every workflow transition', async () => {
      const coverage: Coverage = { transitions: new Set(), states: new Set() };
      for (const [tolerance, variant] of CONFIGURATIONS) {
        const one = await replayAll(tolerance, variant);
        one.transitions.forEach((t) => coverage.transitions.add(t));
        one.states.forEach((s) => coverage.states.add(s));
      }
      expect([...coverage.states].sort()).toEqual([...LIFECYCLE].sort());
      const missed = ALL_TRANSITIONS.filter(([t]) => !coverage.transitions.has(t) && !selfLoops.has(t.eventType)).map(([, label]) => label);
      expect(missed).toEqual([]);
      expect(ALL_TRANSITIONS.length).toBeGreaterThanOrEqual(32);
    }, REPLAY_TIMEOUT_MS);
  });

  it('a created workflow takes only start, cancel and a new priority', () => {
    const initial = createActor(workflowMachine, { input: { id: 'wf-2', spec: specFor('low'), at: 5 } }).start().getSnapshot();
    expect(WORKFLOW_EVENTS.filter((type) => initial.can(workflowEvent(type, 6)))).toEqual(['start', 'cancel', 'prioritize']);
  });

  it('start can override the priority; a new priority keeps the running phase and its task records', () => {
    const actor = createActor(workflowMachine, { input: { id: 'wf-4', spec: specFor('low'), at: 5 } }).start();
    actor.send({ type: 'start', at: 10, priority: 'high' });
    expect(actor.getSnapshot().context.spec.priority).toBe('high');
    const phase = actor.getSnapshot().children.phase!;
    phase.send({ type: 'task.assigned', taskId: 'a', agentId: 'agent_001', at: 11 });
    actor.send({ type: 'prioritize', priority: 'low', at: 12 });
    expect(actor.getSnapshot().context).toMatchObject({ spec: { priority: 'low', failureTolerance: 'low' }, updatedAt: 12 });
    // the same phase actor, its task still assigned: nothing was re-entered
    expect(actor.getSnapshot().children.phase).toBe(phase);
    expect(phase.getSnapshot().context.tasks.a!.status).toBe('assigned');
  });

  it('start can override the failure tolerance for the run', () => {
    const actor = createActor(workflowMachine, { input: { id: 'wf-3', spec: specFor('low'), at: 5 } }).start();
    actor.send({ type: 'start', at: 10, failureTolerance: 'high' });
    expect(actor.getSnapshot().context.spec.failureTolerance).toBe('high');
    const phaseRef = () => actor.getSnapshot().children.phase!;
    expect(phaseRef().getSnapshot().context.tolerance).toBe('high');
    phaseRef().send({ type: 'task.assigned', taskId: 'a', agentId: 'agent_001', at: 11 });
    phaseRef().send({ type: 'task.failed', taskId: 'a', error: taskError(false), retryAt: 0, at: 12 });
    expect(phaseRef().getSnapshot().context.tasks).toMatchObject({ b: { status: 'skipped' }, c: { status: 'ready' } });
    phaseRef().send({ type: 'task.assigned', taskId: 'c', agentId: 'agent_001', at: 13 });
    phaseRef().send({ type: 'task.completed', taskId: 'c', output: null, at: 14 });
    expect(actor.getSnapshot().value).toBe('partial');
    expect(actor.getSnapshot().context).toMatchObject({ blocked: ['a', 'b'], finishedAt: 14, failure: null });
  });
});
