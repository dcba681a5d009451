/**
 * The hub end to end on a real Piscina pool: create -> start -> wait, the
 * get-status schema, dependency order, exclusive files, pause/resume and
 * cleanup. Time that the hub measures runs on a manual clock; tasks really run,
 * and the tests await their completion through `wait` or by polling.
 */
import { describe, expect, it } from 'vitest';
import { createHub, type Hub, type ManualClock } from '../src/index.js';
import { eachTestOwnHub, eventsOf, ISO, ok, run, seqOf, settleLoop, statusOf, taskOf, until, untilEvent, waitFor, warmUp } from './hub-fixtures.js';

let hub: Hub;
let clock: ManualClock;

eachTestOwnHub((made) => ({ hub, clock } = made));

describe('create -> start -> wait -> completed', () => {
  it('answers each step and ends completed, with the spec state schema in get-status', async () => {
    const created = await ok(hub, {
      operation: 'create',
      workflow_id: 'wf_1',
      parameters: {
        name: 'Feature',
        phases: [
          'setup',
          {
            name: 'build',
            tasks: [
              { id: 'compile', handler: 'echo', role: 'code', input: { value: { built: true } }, estimated_duration: '2m' },
              { id: 'check', handler: 'cpu', role: 'test', input: { iterations: 1000 }, depends_on: ['compile'], estimated_duration: '1m' },
            ],
          },
        ],
      },
    });
    expect(created.result).toMatchObject({
      workflow_id: 'wf_1',
      status: 'created',
      name: 'Feature',
      phases: [
        { name: 'setup', tasks: 0 },
        { name: 'build', tasks: 2 },
      ],
      tasks: 2,
      roles: ['code', 'test'],
      critical_path: { tasks: ['compile', 'check'], estimated_duration: '3m' },
    });
    expect((await statusOf(hub, 'wf_1')).status).toBe('created');

    const started = await ok(hub, { operation: 'start', workflow_id: 'wf_1' });
    expect(started.result).toEqual({ workflow_id: 'wf_1', previous_status: 'created', status: 'running' });
    expect(await waitFor(hub, 'wf_1')).toEqual({ workflow_id: 'wf_1', status: 'completed' });

    const state = await statusOf(hub, 'wf_1');
    expect(state).toMatchObject({
      id: 'wf_1',
      name: 'Feature',
      status: 'completed',
      current_phase: 2,
      current_phase_name: 'build',
      total_phases: 2,
      progress_percentage: 100,
    });
    expect(state.failure).toBeUndefined();
    for (const key of ['created_at', 'updated_at', 'started_at', 'finished_at'] as const) expect(state[key]).toMatch(ISO);
    expect(state.phases.map((p) => [p.phase_id, p.name, p.status])).toEqual([
      [1, 'setup', 'completed'],
      [2, 'build', 'completed'],
    ]);
    const [compile, check] = state.phases[1]!.tasks;
    expect(compile).toMatchObject({ task_id: 'compile', status: 'completed', handler: 'echo', wave: 1, depends_on: [], attempts: 1, output: { built: true } });
    expect(check).toMatchObject({ task_id: 'check', status: 'completed', wave: 2, depends_on: ['compile'], attempts: 1 });
    expect(check!.output).toMatchObject({ iterations: 1000 });
    for (const task of [compile!, check!]) {
      expect(task.assigned_agent).toMatch(/^agent_\d+$/);
      expect(task.started_at).toMatch(ISO);
      expect(task.completed_at).toMatch(ISO);
      expect(typeof task.execution_time).toBe('string');
      expect(typeof task.execution_time_ms).toBe('number');
    }
    // one agent per role: the code task and the test task ran on different agents
    expect(compile!.assigned_agent).not.toBe(check!.assigned_agent);
    expect(state.agent_assignments[compile!.assigned_agent!]).toMatchObject({ role: 'code', state: 'idle', tasks_completed: 1 });
    expect(state.metrics).toMatchObject({ tasks_total: 2, tasks_completed: 2, tasks_failed: 0, tasks_skipped: 0, tasks_running: 0, retries: 0 });
    expect(state.configuration).toMatchObject({ failure_tolerance: 'low', timeout: '4h 0m', priority: 'medium' });

    const listed = await ok(hub, { operation: 'list-workflows', parameters: { status: 'completed' } });
    expect(listed.result).toMatchObject({ total: 1, workflows: [{ workflow_id: 'wf_1', status: 'completed', progress_percentage: 100 }] });
  });

  it('get-status {include_output:false} leaves the task outputs out', async () => {
    await run(hub, 'wf_out', { name: 'o', phases: [{ name: 'p', tasks: [{ id: 'e', handler: 'echo', input: { value: 42 } }] }] });
    await waitFor(hub, 'wf_out');
    const response = await ok(hub, { operation: 'get-status', workflow_id: 'wf_out', parameters: { include_output: false } });
    const task = (response.result as { workflow_state: { phases: { tasks: Record<string, unknown>[] }[] } }).workflow_state.phases[0]!.tasks[0]!;
    expect(task).not.toHaveProperty('output');
    expect(taskOf(await statusOf(hub, 'wf_out'), 'e').output).toBe(42);
  });

  it("an exec task's stdout appears in get-status output", async () => {
    await run(hub, 'wf_exec', {
      name: 'exec',
      phases: [{ name: 'p', tasks: [{ id: 'say', handler: 'exec', input: { command: 'printf "%s-%s" "$GREETING" done', env: { GREETING: 'hello' } } }] }],
    });
    expect((await waitFor(hub, 'wf_exec')).status).toBe('completed');
    expect(taskOf(await statusOf(hub, 'wf_exec'), 'say').output).toMatchObject({ exit_code: 0, stdout: 'hello-done', stderr: '' });
  });
});

describe('dependency order', () => {
  // a diamond in one phase, and a task of a later phase depending on its tip
  const diamond = {
    name: 'diamond',
    phases: [
      {
        name: 'p',
        tasks: [
          { id: 'd', handler: 'noop', depends_on: ['b', 'c'] },
          { id: 'b', handler: 'sleep', input: { ms: 20 }, depends_on: ['a'] },
          { id: 'c', handler: 'echo', input: { value: 'c' }, depends_on: ['a'] },
          { id: 'a', handler: 'sleep', input: { ms: 20 } },
        ],
      },
      { name: 'q', tasks: [{ id: 'e', handler: 'noop', depends_on: ['d'] }] },
    ],
  };
  const edges: [string, string][] = [
    ['b', 'a'],
    ['c', 'a'],
    ['d', 'b'],
    ['d', 'c'],
    ['e', 'd'],
  ];

  it('a task is assigned and started only after each of its dependencies completed (event order)', async () => {
    await run(hub, 'wf_dag', diamond);
    expect((await waitFor(hub, 'wf_dag')).status).toBe('completed');
    for (const [task, dep] of edges) {
      const depDone = seqOf(hub, 'wf_dag', 'TASK_COMPLETED', dep);
      expect(seqOf(hub, 'wf_dag', 'TASK_ASSIGNED', task), `${task} after ${dep}`).toBeGreaterThan(depDone);
      expect(seqOf(hub, 'wf_dag', 'TASK_STARTED', task)).toBeGreaterThan(depDone);
    }
    const state = await statusOf(hub, 'wf_dag');
    expect(state.phases[0]!.tasks.map((t) => [t.task_id, t.wave])).toEqual([
      ['d', 3],
      ['b', 2],
      ['c', 2],
      ['a', 1],
    ]);
  });

  /**
   * BUG: a fast task's started_at precedes its dependency's completed_at (and
   * even the workflow's started_at). When the worker's result overtakes its
   * "started" message (usual for a task of well under a millisecond),
   * createPiscinaRunner derives the start as `clock.now() - runMs`, mixing
   * the worker's real performance.now() run time with the injected clock: on
   * the manual clock such a task "started" a fraction of a millisecond before
   * the clock's now, i.e. before the dependency that completed at now. (On
   * the wall clock the ms truncation gives the same 1 ms inversions.)
   * The overtaking is made certain here: the main thread is kept busy for a
   * moment after each dispatch, and then handles the result port first.
   * Fix in src/actors/task-runner.ts: note `submittedAt = clock.now()` in
   * run() and use `started(Math.max(submittedAt, clock.now() - runMs))`.
   */
  it("BUG: a task's started_at is never before its dependency's completed_at", async () => {
    await warmUp(hub);
    const busy = () => {
      const until = performance.now() + 25;
      while (performance.now() < until) {
        // hold the main thread while the worker runs the task and posts both messages
      }
    };
    hub.subscribe((event) => {
      if (event.workflow_id === 'wf_chain' && event.event_type === 'TASK_ASSIGNED') queueMicrotask(busy);
    });
    const chain = Array.from({ length: 4 }, (_, i) => ({ id: `t${i}`, handler: 'echo', input: { value: i }, ...(i > 0 ? { depends_on: [`t${i - 1}`] } : {}) }));
    await run(hub, 'wf_chain', { name: 'chain', phases: [{ name: 'p', tasks: chain }] });
    expect((await waitFor(hub, 'wf_chain')).status).toBe('completed');
    const state = await statusOf(hub, 'wf_chain');
    const tasks = state.phases[0]!.tasks;
    for (const [i, task] of tasks.entries()) {
      expect(Date.parse(task.started_at!), `${task.task_id} started after the workflow`).toBeGreaterThanOrEqual(Date.parse(state.started_at!));
      if (i > 0) expect(Date.parse(task.started_at!), `${task.task_id} started after t${i - 1}`).toBeGreaterThanOrEqual(Date.parse(tasks[i - 1]!.completed_at!));
    }
  });
});

describe('exclusive files', () => {
  it('tasks sharing a file never overlap, while a task without files runs beside them (event order)', async () => {
    const locked = (id: string) => ({ id, handler: 'sleep', input: { ms: 30 }, exclusive_files: ['package.json', `${id}.log`] });
    await run(hub, 'wf_lock', {
      name: 'lock',
      phases: [{ name: 'p', tasks: [locked('x'), locked('y'), locked('z'), { id: 'free', handler: 'sleep', input: { ms: 30 } }] }],
    });
    expect((await waitFor(hub, 'wf_lock')).status).toBe('completed');
    const spans = ['x', 'y', 'z'].map((id) => [seqOf(hub, 'wf_lock', 'TASK_ASSIGNED', id), seqOf(hub, 'wf_lock', 'TASK_COMPLETED', id)] as const);
    for (const [i, a] of spans.entries()) {
      for (const b of spans.slice(i + 1)) expect(a[1] < b[0] || b[1] < a[0], `spans ${a} and ${b} overlap`).toBe(true);
    }
    // `free` was dispatched in the first round, beside the first locked task
    expect(seqOf(hub, 'wf_lock', 'TASK_ASSIGNED', 'free')).toBeLessThan(Math.min(...spans.map(([, done]) => done)));
  });

  it('on the wall clock, the recorded run times of two tasks sharing a file do not overlap', async () => {
    const wall = createHub({ maxThreads: 2, random: () => 0.5 });
    try {
      const task = (id: string) => ({ id, handler: 'exec', input: { command: 'sleep 0.1' }, exclusive_files: ['shared.db'] });
      await run(wall, 'wf_wall', { name: 'wall', phases: [{ name: 'p', tasks: [task('first'), task('second')] }] });
      expect((await waitFor(wall, 'wf_wall')).status).toBe('completed');
      const [first, second] = (await statusOf(wall, 'wf_wall')).phases[0]!.tasks;
      const span = (t: typeof first) => [Date.parse(t!.started_at!), Date.parse(t!.completed_at!)] as const;
      const [a, b] = [span(first), span(second)];
      expect(a[1] - a[0]).toBeGreaterThanOrEqual(90);
      expect(a[1] <= b[0] || b[1] <= a[0], `first ${a} and second ${b} overlap`).toBe(true);
    } finally {
      await wall.close({ graceMs: 0 });
    }
  });
});

describe('pause and resume', () => {
  const twoPhases = {
    name: 'pausable',
    phases: [
      {
        name: 'p',
        tasks: [
          { id: 'slow', handler: 'sleep', input: { ms: 150 } },
          { id: 'after', handler: 'noop', depends_on: ['slow'] },
        ],
      },
      { name: 'q', tasks: [{ id: 'q1', handler: 'noop' }] },
    ],
  };

  it('pause while a task runs: it finishes, nothing new is dispatched, wait answers paused; resume completes', async () => {
    await run(hub, 'wf_p', twoPhases);
    await untilEvent(hub, 'wf_p', 'TASK_STARTED', 'slow');
    const paused = await ok(hub, { operation: 'pause', workflow_id: 'wf_p', parameters: { reason: 'review' } });
    expect(paused.result).toEqual({ workflow_id: 'wf_p', previous_status: 'running', status: 'paused' });
    expect(await waitFor(hub, 'wf_p')).toEqual({ workflow_id: 'wf_p', status: 'paused' });

    await until(async () => taskOf(await statusOf(hub, 'wf_p'), 'slow').status === 'completed', 'slow to complete while paused');
    await settleLoop();
    const state = await statusOf(hub, 'wf_p');
    expect(state.status).toBe('paused');
    expect(taskOf(state, 'after')).toMatchObject({ status: 'ready', assigned_agent: null, attempts: 0 });
    expect(taskOf(state, 'q1').status).toBe('pending');
    expect(eventsOf(hub, 'wf_p', 'TASK_ASSIGNED', 'after')).toEqual([]);

    const resumed = await ok(hub, { operation: 'resume', workflow_id: 'wf_p' });
    expect(resumed.result).toEqual({ workflow_id: 'wf_p', previous_status: 'paused', status: 'running' });
    expect((await waitFor(hub, 'wf_p')).status).toBe('completed');
    const done = await statusOf(hub, 'wf_p');
    expect(done.phases.flatMap((p) => p.tasks.map((t) => t.status))).toEqual(['completed', 'completed', 'completed']);
    const types = hub.events('wf_p').map((e) => e.event_type);
    expect(types.indexOf('WORKFLOW_PAUSED')).toBeLessThan(types.indexOf('WORKFLOW_RESUMED'));
  });

  it("paused while the phase's last task runs: the next phase is entered but stays paused", async () => {
    await run(hub, 'wf_edge', {
      name: 'edge',
      phases: [
        { name: 'p', tasks: [{ id: 'slow', handler: 'sleep', input: { ms: 100 } }] },
        { name: 'q', tasks: [{ id: 'q1', handler: 'noop' }] },
      ],
    });
    await untilEvent(hub, 'wf_edge', 'TASK_STARTED', 'slow');
    await ok(hub, { operation: 'pause', workflow_id: 'wf_edge' });
    await untilEvent(hub, 'wf_edge', 'PHASE_COMPLETED');
    await settleLoop();
    const state = await statusOf(hub, 'wf_edge');
    expect(state).toMatchObject({ status: 'paused', current_phase: 2 });
    expect(taskOf(state, 'q1')).toMatchObject({ status: 'ready', attempts: 0 });
    await ok(hub, { operation: 'resume', workflow_id: 'wf_edge' });
    expect((await waitFor(hub, 'wf_edge')).status).toBe('completed');
  });
});

describe('cleanup', () => {
  it('archives an ended workflow; get-status and list-workflows still show it', async () => {
    await run(hub, 'wf_c', { name: 'c', phases: [{ name: 'p', tasks: [{ id: 'n', handler: 'noop' }] }] });
    await waitFor(hub, 'wf_c');
    const response = await ok(hub, { operation: 'cleanup', workflow_id: 'wf_c' });
    expect(response.result).toEqual({ workflow_id: 'wf_c', previous_status: 'completed', status: 'archived' });
    expect((await statusOf(hub, 'wf_c')).status).toBe('archived');
    expect((await waitFor(hub, 'wf_c')).status).toBe('archived');
    const listed = await ok(hub, { operation: 'list-workflows', parameters: { status: 'archived' } });
    expect(listed.result).toMatchObject({ total: 1, workflows: [{ workflow_id: 'wf_c' }] });
  });
});
