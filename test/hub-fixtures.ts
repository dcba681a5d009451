/**
 * Shared helpers for the hub tests (not a test file itself: vitest only
 * collects `*.test.ts`). Every hub runs real tasks on a real Piscina pool;
 * time-based behaviour (backoff, deadlines, wait timeouts) runs on a manual
 * clock that the tests move by hand.
 */
import { afterEach, beforeEach, expect } from 'vitest';
import {
  createHub,
  createManualClock,
  type ErrorResponse,
  type EventRecord,
  type Hub,
  type HubOptions,
  type ManualClock,
  type SuccessResponse,
  type WorkflowDefinition,
} from '../src/index.js';

/** One task of `get-status`, as far as the tests read it. */
export interface TaskView {
  task_id: string;
  status: string;
  handler: string;
  wave: number;
  depends_on: string[];
  /** its estimate plus the longest remaining path of its dependents, as a duration */
  remaining_path: string;
  assigned_agent: string | null;
  attempts: number;
  started_at: string | null;
  completed_at: string | null;
  execution_time: string | null;
  execution_time_ms: number | null;
  retry_at?: string;
  error?: { name: string; code: string; message: string; retryable: boolean };
  reason?: string;
  output?: unknown;
}

export interface PhaseView {
  phase_id: number;
  name: string;
  status: string;
  started_at: string | null;
  completed_at: string | null;
  tasks: TaskView[];
}

/** `get-status`'s `result.workflow_state`. */
export interface WorkflowState {
  id: string;
  name: string;
  status: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  current_phase: number;
  current_phase_name: string;
  total_phases: number;
  progress_percentage: number;
  failure?: { code: string; message: string };
  phases: PhaseView[];
  agent_assignments: Record<string, { agent_id: string; role: string; state: string; current_tasks: string[]; tasks_completed: number }>;
  configuration: Record<string, unknown>;
  metrics: {
    total_execution_time: string | null;
    tasks_total: number;
    tasks_completed: number;
    tasks_failed: number;
    tasks_skipped: number;
    tasks_cancelled: number;
    tasks_running: number;
    retries: number;
  };
}

/** A hub on a manual clock with deterministic jitter (random 0.5: a retry waits 0.75 x its backoff). */
export function makeHub(options: HubOptions = {}): { hub: Hub; clock: ManualClock } {
  const clock = createManualClock(Date.now());
  const hub = createHub({ maxThreads: 2, clock, random: () => 0.5, ...options });
  return { hub, clock };
}

/**
 * A fresh hub (see makeHub) for each test of the file, closed after it:
 * `take` receives it before each test. Returns `replace`, for a test that
 * needs other options: it closes the current hub and hands over a new one,
 * which is closed after the test in turn.
 *
 * @example
 * let hub: Hub;
 * let clock: ManualClock;
 * eachTestOwnHub((made) => ({ hub, clock } = made));
 */
export function eachTestOwnHub(take: (made: { hub: Hub; clock: ManualClock }) => void, options: HubOptions = {}): (options: HubOptions) => Promise<void> {
  let current: { hub: Hub; clock: ManualClock } | undefined;
  const open = (with_: HubOptions) => {
    current = makeHub(with_);
    take(current);
  };
  beforeEach(() => open(options));
  afterEach(async () => {
    if (current) await closeHub(current.hub, current.clock);
    current = undefined;
  });
  return async (replacement) => {
    if (current) await closeHub(current.hub, current.clock);
    open(replacement);
  };
}

/** Lets the event loop run once (no timer, no fixed delay). */
export const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Several turns of the event loop: enough for any already-resolved work to be processed. */
export async function settleLoop(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await tick();
}

/**
 * Closes a hub without waiting for real time: an abort the worker never saw
 * (see the BUG in hub-cancel.test.ts) is only enforced by the runner's kill
 * timer, which runs on the manual clock, so the clock is moved while closing.
 */
export async function closeHub(hub: Hub, clock: ManualClock): Promise<void> {
  let closed = false;
  const closing = hub.close({ graceMs: 0 }).then(() => {
    closed = true;
  });
  const giveUp = Date.now() + 10_000;
  while (!closed && Date.now() < giveUp) {
    clock.advance(1_000);
    await tick();
  }
  await closing;
}

/** Runs a command that must succeed and returns its response. */
export async function ok(hub: Hub, command: Record<string, unknown>): Promise<SuccessResponse> {
  const response = await hub.execute(command);
  if (response.status !== 'success') {
    throw new Error(`expected success for ${JSON.stringify(command)}, got ${JSON.stringify(response.error)}`);
  }
  return response;
}

/** Runs a command that must fail and returns its error response. */
export async function fails(hub: Hub, command: unknown): Promise<ErrorResponse> {
  const response = await hub.execute(command);
  if (response.status !== 'error') throw new Error(`expected an error for ${JSON.stringify(command)}, got ${JSON.stringify(response)}`);
  return response;
}

/** The workflow state `get-status` answers. */
export async function statusOf(hub: Hub, workflowId: string): Promise<WorkflowState> {
  const response = await ok(hub, { operation: 'get-status', workflow_id: workflowId });
  return (response.result as { workflow_state: WorkflowState }).workflow_state;
}

/** A task of a workflow state, by id. */
export function taskOf(state: WorkflowState, taskId: string): TaskView {
  const task = state.phases.flatMap((p) => p.tasks).find((t) => t.task_id === taskId);
  if (!task) throw new Error(`no task ${taskId} in ${state.id}`);
  return task;
}

/** Polls `predicate` on event-loop turns until it holds; fails after `ms` of real time. */
export async function until(predicate: () => boolean | Promise<boolean>, what: string, ms = 4_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
}

/** Events of one workflow of one type, optionally for one task. */
export function eventsOf(hub: Hub, workflowId: string, type: string, taskId?: string): EventRecord[] {
  return hub.events(workflowId).filter((e) => e.event_type === type && (taskId === undefined || e.data.task_id === taskId));
}

/** Waits until an event of `type` (for `taskId`, if given) has been published for the workflow. */
export async function untilEvent(hub: Hub, workflowId: string, type: string, taskId?: string): Promise<EventRecord> {
  await until(() => eventsOf(hub, workflowId, type, taskId).length > 0, `${type} ${taskId ?? ''} of ${workflowId}`);
  return eventsOf(hub, workflowId, type, taskId)[0]!;
}

/** `create` + `start`. */
export async function run(hub: Hub, workflowId: string, definition: WorkflowDefinition, start: Record<string, unknown> = {}): Promise<void> {
  await ok(hub, { operation: 'create', workflow_id: workflowId, parameters: definition });
  await ok(hub, { operation: 'start', workflow_id: workflowId, parameters: start });
}

/** `wait` (default timeout): the status the workflow settled in, and the failure if any. */
export async function waitFor(hub: Hub, workflowId: string): Promise<{ status: string; failure?: { code: string; message: string } }> {
  const response = await ok(hub, { operation: 'wait', workflow_id: workflowId });
  return response.result as { status: string; failure?: { code: string; message: string } };
}

/** A workflow whose one task sleeps for a minute; returns once the worker really runs it. */
export async function runLongTask(hub: Hub, workflowId: string, extra: Partial<WorkflowDefinition> = {}): Promise<void> {
  await run(hub, workflowId, {
    name: 'long',
    phases: [{ name: 'work', tasks: [{ id: 'long', handler: 'sleep', input: { ms: 60_000 } }] }],
    ...extra,
  });
  await untilEvent(hub, workflowId, 'TASK_STARTED', 'long');
}

/** A sequence number of the first event of `type` for `taskId`. */
export function seqOf(hub: Hub, workflowId: string, type: string, taskId?: string): number {
  const event = eventsOf(hub, workflowId, type, taskId)[0];
  expect(event, `${type} ${taskId ?? ''}`).toBeDefined();
  return event!.seq;
}

/** ISO-8601 with milliseconds, as `new Date().toISOString()` writes it. */
export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Runs two tasks side by side so both worker threads of the pool are up before the test's own timing matters. */
export async function warmUp(hub: Hub): Promise<void> {
  const task = (id: string) => ({ id, handler: 'sleep', input: { ms: 20 } });
  await run(hub, 'warm_up', { name: 'warm-up', phases: [{ name: 'p', tasks: [task('w1'), task('w2')] }] });
  await waitFor(hub, 'warm_up');
}

/**
 * Waits until the run of `taskId` is really over on the pool: its outcome came
 * back (an aborted run included) and its agent is idle again.
 */
export async function untilAgentFree(hub: Hub, workflowId: string, taskId: string, ms = 4_000): Promise<void> {
  await until(
    async () => {
      const state = await statusOf(hub, workflowId);
      const agentId = taskOf(state, taskId).assigned_agent;
      const agent = agentId === null ? undefined : state.agent_assignments[agentId];
      return agent !== undefined && agent.state === 'idle' && agent.current_tasks.length === 0;
    },
    `the agent of ${taskId} to be free`,
    ms,
  );
}
