/**
 * `failure_tolerance` end to end (DESIGN §5): low fails fast, medium finishes
 * the phase and then fails, high skips the dependents and ends `partial`.
 * The same two-phase workflow runs under each.
 */
import { describe, expect, it } from 'vitest';
import type { Hub, ManualClock, WorkflowDefinition } from '../src/index.js';
import { eachTestOwnHub, eventsOf, run, seqOf, statusOf, taskOf, waitFor, warmUp } from './hub-fixtures.js';

let hub: Hub;
let clock: ManualClock;

eachTestOwnHub((made) => ({ hub, clock } = made));

/**
 * Phase p: `bad` fails for good; `dep` depends on it; `indep` is independent
 * and slower than `bad`. Phase q: `later` depends on `bad`, `free` on nothing.
 */
function definition(failure_tolerance: 'low' | 'medium' | 'high' | undefined, indepMs: number): WorkflowDefinition {
  return {
    name: 'tolerance',
    ...(failure_tolerance ? { failure_tolerance } : {}),
    phases: [
      {
        name: 'p',
        tasks: [
          { id: 'bad', handler: 'fail', input: { message: 'broken build', retryable: false } },
          { id: 'dep', handler: 'noop', depends_on: ['bad'] },
          { id: 'indep', handler: 'sleep', input: { ms: indepMs } },
        ],
      },
      {
        name: 'q',
        tasks: [
          { id: 'later', handler: 'noop', depends_on: ['bad'] },
          { id: 'free', handler: 'noop' },
        ],
      },
    ],
  };
}

const FAILURE = { code: 'TASK_FAILED', message: 'Task bad in phase p failed: broken build' };

describe('failure_tolerance', () => {
  it('low (the default): fail fast, the phase\'s open tasks are cancelled and nothing later runs', async () => {
    // two warm threads: bad and indep start together, and indep is still running when bad fails
    await warmUp(hub);
    await run(hub, 'wf_low', definition(undefined, 5_000));
    expect(await waitFor(hub, 'wf_low')).toEqual({ workflow_id: 'wf_low', status: 'failed', failure: FAILURE });
    const state = await statusOf(hub, 'wf_low');
    expect(state.failure).toEqual(FAILURE);
    expect(state.configuration.failure_tolerance).toBe('low');
    expect(taskOf(state, 'bad')).toMatchObject({ status: 'failed', attempts: 1, error: { message: 'broken build', retryable: false } });
    expect(taskOf(state, 'dep')).toMatchObject({ status: 'skipped', reason: 'dependency bad did not complete' });
    expect(taskOf(state, 'indep')).toMatchObject({ status: 'cancelled', reason: 'task bad failed' });
    expect(state.phases.map((p) => p.status)).toEqual(['failed', 'skipped']);
    expect(state.phases[1]!.tasks.map((t) => t.status)).toEqual(['skipped', 'skipped']);
    expect(eventsOf(hub, 'wf_low', 'TASK_ASSIGNED', 'free')).toEqual([]);
    expect(eventsOf(hub, 'wf_low', 'WORKFLOW_FAILED')[0]!.data).toMatchObject({ status: 'failed', error: FAILURE });
  });

  it('medium: independent tasks of the phase still complete, dependents are skipped, the workflow fails at the phase end', async () => {
    await warmUp(hub);
    await run(hub, 'wf_med', definition('medium', 150));
    expect(await waitFor(hub, 'wf_med')).toEqual({ workflow_id: 'wf_med', status: 'failed', failure: FAILURE });
    const state = await statusOf(hub, 'wf_med');
    expect(taskOf(state, 'bad').status).toBe('failed');
    expect(taskOf(state, 'dep')).toMatchObject({ status: 'skipped', reason: 'dependency bad did not complete' });
    expect(taskOf(state, 'indep')).toMatchObject({ status: 'completed', output: { slept_ms: 150 } });
    // the workflow failed after the phase ended, not when bad failed
    expect(seqOf(hub, 'wf_med', 'TASK_COMPLETED', 'indep')).toBeLessThan(seqOf(hub, 'wf_med', 'WORKFLOW_FAILED'));
    expect(seqOf(hub, 'wf_med', 'TASK_FAILED', 'bad')).toBeLessThan(seqOf(hub, 'wf_med', 'TASK_COMPLETED', 'indep'));
    expect(state.phases.map((p) => p.status)).toEqual(['failed', 'skipped']);
    expect(eventsOf(hub, 'wf_med', 'PHASE_STARTED').map((e) => e.phase)).toEqual(['p']);
    expect(eventsOf(hub, 'wf_med', 'PHASE_FAILED').map((e) => e.phase)).toEqual(['p']);
    expect(state.metrics).toMatchObject({ tasks_completed: 1, tasks_failed: 1, tasks_skipped: 3 });
  });

  it("high: the workflow ends 'partial', dependents in later phases are skipped, the rest runs", async () => {
    await run(hub, 'wf_high', definition('high', 50));
    expect(await waitFor(hub, 'wf_high')).toEqual({ workflow_id: 'wf_high', status: 'partial' });
    const state = await statusOf(hub, 'wf_high');
    expect(state.failure).toBeUndefined();
    // indep and free of the five: a failure and the skips it caused are no progress
    expect(state.progress_percentage).toBe(40);
    expect(taskOf(state, 'bad').status).toBe('failed');
    expect(taskOf(state, 'dep').status).toBe('skipped');
    expect(taskOf(state, 'indep').status).toBe('completed');
    expect(taskOf(state, 'later')).toMatchObject({ status: 'skipped', reason: 'dependency bad did not complete', attempts: 0 });
    expect(taskOf(state, 'free')).toMatchObject({ status: 'completed', attempts: 1 });
    expect(state.phases.map((p) => p.status)).toEqual(['failed', 'completed']);
    const [completed] = eventsOf(hub, 'wf_high', 'WORKFLOW_COMPLETED');
    expect(completed!.data).toMatchObject({ status: 'partial', failed_tasks: ['bad'], skipped_tasks: ['dep', 'later'] });
    expect(state).toMatchObject({ failed_tasks: ['bad'], skipped_tasks: ['dep', 'later'] });
    expect(eventsOf(hub, 'wf_high', 'WORKFLOW_FAILED')).toEqual([]);
  });

  it('high, when every task of a later phase depends on a failed one: that phase is skipped', async () => {
    await run(hub, 'wf_skip', {
      name: 'skip',
      failure_tolerance: 'high',
      phases: [
        { name: 'p', tasks: [{ id: 'bad', handler: 'fail', input: { retryable: false } }] },
        { name: 'q', tasks: [{ id: 'x', handler: 'noop', depends_on: ['bad'] }, { id: 'y', handler: 'noop', depends_on: ['x'] }] },
        { name: 'r', tasks: [{ id: 'z', handler: 'noop' }] },
      ],
    });
    expect((await waitFor(hub, 'wf_skip')).status).toBe('partial');
    const state = await statusOf(hub, 'wf_skip');
    expect(state.phases.map((p) => p.status)).toEqual(['failed', 'skipped', 'completed']);
    expect(taskOf(state, 'y')).toMatchObject({ status: 'skipped', reason: 'dependency x did not complete' });
    expect(eventsOf(hub, 'wf_skip', 'PHASE_SKIPPED').map((e) => e.phase)).toEqual(['q']);
  });

  it('start {failure_tolerance} overrides the definition for the run', async () => {
    await run(hub, 'wf_over', definition('low', 50), { failure_tolerance: 'high' });
    expect((await waitFor(hub, 'wf_over')).status).toBe('partial');
    expect((await statusOf(hub, 'wf_over')).configuration.failure_tolerance).toBe('high');
  });

  it('a workflow without failures ends completed under every tolerance', async () => {
    for (const tolerance of ['low', 'medium', 'high'] as const) {
      const id = `wf_ok_${tolerance}`;
      await run(hub, id, { name: 'ok', failure_tolerance: tolerance, phases: [{ name: 'p', tasks: [{ id: 'n', handler: 'noop' }] }] });
      expect(await waitFor(hub, id)).toEqual({ workflow_id: id, status: 'completed' });
    }
  });
});
