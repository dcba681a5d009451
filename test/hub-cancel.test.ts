/**
 * Ending a workflow from outside while its tasks run: `cancel` aborts the
 * running task on the worker, `complete` ends the workflow as completed and
 * skips what has not run.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Hub, ManualClock } from '../src/index.js';
import { eachTestOwnHub, eventsOf, ok, run, runLongTask, statusOf, taskOf, until, untilAgentFree, untilEvent, waitFor } from './hub-fixtures.js';

let hub: Hub;
let clock: ManualClock;

eachTestOwnHub((made) => ({ hub, clock } = made));

describe('cancel', () => {
  it('aborts a running sleep task on the worker: workflow cancelled, task cancelled', async () => {
    await runLongTask(hub, 'wf_x');
    const started = Date.now();
    const response = await ok(hub, { operation: 'cancel', workflow_id: 'wf_x', parameters: { reason: 'superseded' } });
    expect(response.result).toEqual({ workflow_id: 'wf_x', previous_status: 'running', status: 'cancelled' });
    expect(response.next_steps).toEqual(["Archive it with 'wf_x cleanup'"]);
    expect(await waitFor(hub, 'wf_x')).toEqual({ workflow_id: 'wf_x', status: 'cancelled' });

    const state = await statusOf(hub, 'wf_x');
    expect(state.status).toBe('cancelled');
    expect(state.phases[0]!.status).toBe('cancelled');
    expect(taskOf(state, 'long')).toMatchObject({ status: 'cancelled', reason: 'workflow cancelled', attempts: 1 });
    expect(state.metrics.tasks_cancelled).toBe(1);

    // the worker saw the abort: the 60 s sleep is over now (no clock moved), and its agent is free
    await untilAgentFree(hub, 'wf_x', 'long');
    expect(Date.now() - started).toBeLessThan(5_000);
    // only the health monitor's periodic check is left
    expect(clock.pending()).toBe(1);
    // the record stays cancelled whatever the aborted run reported
    expect(taskOf(await statusOf(hub, 'wf_x'), 'long').status).toBe('cancelled');
  });

  it('cancels the tasks that had not run, in this and later phases', async () => {
    await run(hub, 'wf_y', {
      name: 'y',
      phases: [
        { name: 'p', tasks: [{ id: 'long', handler: 'sleep', input: { ms: 60_000 } }, { id: 'next', handler: 'noop', depends_on: ['long'] }] },
        { name: 'q', tasks: [{ id: 'later', handler: 'noop' }] },
      ],
    });
    await untilEvent(hub, 'wf_y', 'TASK_STARTED', 'long');
    await ok(hub, { operation: 'cancel', workflow_id: 'wf_y' });
    const state = await statusOf(hub, 'wf_y');
    expect(taskOf(state, 'next')).toMatchObject({ status: 'cancelled', attempts: 0, assigned_agent: null });
    expect(taskOf(state, 'later').status).not.toMatch(/^(completed|running|ready|pending)$/);
    // nothing was done: a cancelled task is no progress
    expect(state.progress_percentage).toBe(0);
    expect(eventsOf(hub, 'wf_y', 'WORKFLOW_CANCELLED')).toHaveLength(1);
  });

  it('a created workflow is cancelled at once', async () => {
    await ok(hub, { operation: 'create', workflow_id: 'wf_z', parameters: { name: 'z', phases: [{ name: 'p', tasks: [{ id: 'n', handler: 'noop' }] }] } });
    const response = await ok(hub, { operation: 'cancel', workflow_id: 'wf_z' });
    expect(response.result).toEqual({ workflow_id: 'wf_z', previous_status: 'created', status: 'cancelled' });
    expect(eventsOf(hub, 'wf_z', 'TASK_ASSIGNED')).toEqual([]);
  });
});

describe('complete', () => {
  it('on a running workflow: completed, tasks not yet run skipped, the running one aborted', async () => {
    await run(hub, 'wf_c', {
      name: 'c',
      phases: [
        {
          name: 'p',
          tasks: [
            { id: 'done', handler: 'noop' },
            { id: 'long', handler: 'sleep', input: { ms: 60_000 }, depends_on: ['done'] },
            { id: 'next', handler: 'noop', depends_on: ['long'] },
          ],
        },
        { name: 'q', tasks: [{ id: 'later', handler: 'noop' }] },
      ],
    });
    await untilEvent(hub, 'wf_c', 'TASK_STARTED', 'long');
    const response = await ok(hub, { operation: 'complete', workflow_id: 'wf_c' });
    const result = response.result as { workflow_id: string; previous_status: string; status: string; report: { workflow_state: { status: string } } };
    expect(result).toMatchObject({ workflow_id: 'wf_c', previous_status: 'running', status: 'completed' });
    // generate_report defaults to true
    expect(result.report.workflow_state.status).toBe('completed');
    expect(await waitFor(hub, 'wf_c')).toEqual({ workflow_id: 'wf_c', status: 'completed' });

    const state = await statusOf(hub, 'wf_c');
    expect(state.failure).toBeUndefined();
    expect(state.progress_percentage).toBe(100);
    expect(taskOf(state, 'done').status).toBe('completed');
    expect(taskOf(state, 'next')).toMatchObject({ status: 'skipped', attempts: 0 });
    expect(taskOf(state, 'later')).toMatchObject({ status: 'skipped', attempts: 0 });
    expect(state.phases.map((p) => p.status)).toEqual(['completed', 'skipped']);
    expect(taskOf(state, 'long').status).not.toBe('running');
    await untilAgentFree(hub, 'wf_c', 'long');
    expect(taskOf(await statusOf(hub, 'wf_c'), 'long').status).not.toBe('completed');
    expect(eventsOf(hub, 'wf_c', 'TASK_ASSIGNED', 'later')).toEqual([]);
  });

  it('generate_report:false leaves the report out', async () => {
    await runLongTask(hub, 'wf_r');
    const response = await ok(hub, { operation: 'complete', workflow_id: 'wf_r', parameters: { generate_report: false } });
    expect(response.result).toEqual({ workflow_id: 'wf_r', previous_status: 'running', status: 'completed' });
  });
});

describe('cancel right after start, before the worker thread is up', () => {
  /**
   * BUG: an abort sent before the worker thread has opened its control
   * BroadcastChannel is lost. The runner aborts through
   * `BroadcastChannel.postMessage`, and a channel only receives messages
   * posted after it was created; a fresh thread loads for ~300 ms. So a task
   * cancelled right after dispatch still starts (TASK_STARTED arrives after
   * WORKFLOW_CANCELLED), runs until the runner's kill timer terminates the
   * thread abortGraceMs later, and an exec child, started `detached` in its
   * own process group, survives the thread as an orphan (on the wall clock:
   * after 1 s; on a manual clock the aborted task runs to its natural end).
   * Repro: fresh hub; create an exec task `sleep 30`; start; cancel at once;
   * close -> the `sleep 30` process is still alive.
   * Fix (src/actors/task-runner.ts): when the "started" message of a run
   * arrives and the run was aborted already (`stopReason` set), broadcast
   * the abort again (the worker registers its controller before posting
   * "started", so the second abort is always seen); or carry aborts over
   * the task's own MessagePort instead of a BroadcastChannel.
   */
  it('the exec child of a task cancelled at once does not outlive the cancel', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'troupe-orphan-'));
    const pidFile = join(dir, 'child.pid');
    const readPid = () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) || undefined : undefined);
    let pid: number | undefined;
    try {
      await run(hub, 'wf_o', {
        name: 'o',
        phases: [{ name: 'p', tasks: [{ id: 'sh', handler: 'exec', input: { command: `echo $$ > '${pidFile}'; exec sleep 30` } }] }],
      });
      await ok(hub, { operation: 'cancel', workflow_id: 'wf_o' });
      const agentFree = async () => {
        const state = await statusOf(hub, 'wf_o');
        const agents = Object.values(state.agent_assignments);
        return agents.length > 0 && agents.every((a) => a.state === 'idle' && a.current_tasks.length === 0);
      };
      // either the abort stops the run (the agent is free) or the shell starts regardless
      await until(async () => readPid() !== undefined || (await agentFree()), 'the cancelled run to stop or start', 10_000);
      // the abort reaches the worker once its thread is up (the runner says it again on "started"),
      // and the handler kills its process group: that takes a moment of real time, which the grace
      // period (1 s of the manual clock) stands for; only then is the grace allowed to run out
      const early = readPid();
      if (early !== undefined) await until(async () => !isAlive(early), 'the handler to kill its child', 2_000).catch(() => {});
      clock.advance(1_000);
      await until(agentFree, 'the aborted run to end', 10_000);
      pid = readPid();
      // a kill is delivered asynchronously by the OS: give it a bounded moment
      const child = pid;
      if (child !== undefined) await until(async () => !isAlive(child), `exec child ${child} of a cancelled task to die`, 2_000).catch(() => {});
      expect(pid === undefined || !isAlive(pid), `exec child ${pid} of a cancelled task is still running`).toBe(true);
    } finally {
      // the test started this process: end it by its id
      pid ??= readPid();
      if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Running, not a zombie: a child killed after its worker thread was terminated stays unreaped until the process exits. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}
