/**
 * DESIGN §11 end to end, on a real hub and Piscina pool: outputs passed
 * between tasks with `${{ }}`, conditions, allowed failures, and
 * compensation (saga) when a workflow fails or is cancelled with it. The
 * user handlers write what they did to a file, so the tests read what ran,
 * in which order, how often and under which idempotency key.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Hub, ManualClock, WorkflowDefinition } from '../src/index.js';
import { eachTestOwnHub, eventsOf, ok, run, statusOf, taskOf, until, waitFor } from './hub-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const handlers = { act: './fixtures/handlers/saga.mjs#act', undo: './fixtures/handlers/saga.mjs#undo' };

let hub: Hub;
let clock: ManualClock;
eachTestOwnHub((made) => ({ hub, clock } = made), { handlers, handlersBaseDir: here });

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'troupe-saga-'));
  file = join(dir, 'journal.ndjson');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** What the handlers did, in order. */
const journal = (): { what: string; task: string; attempt: number; key: string; input: Record<string, unknown> }[] => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
};

/** reserve -> charge -> ship, each undoable; ship fails unless told otherwise. */
function checkout(shipFails = true): WorkflowDefinition {
  const step = (id: string, deps: string[], input: Record<string, unknown>) => ({
    id,
    handler: 'act',
    depends_on: deps,
    input: { file, what: id, ...input },
    compensate: { handler: 'undo', input: { file, undo: '${{ output.id }}', by: '${{ workflow.id }}' } },
  });
  return {
    name: 'checkout',
    phases: [
      {
        name: 'order',
        tasks: [
          step('reserve', [], {}),
          step('charge', ['reserve'], { reservation: '${{ tasks.reserve.output.id }}' }),
          shipFails
            ? { id: 'ship', handler: 'fail', depends_on: ['charge'], input: { message: 'carrier down', retryable: false } }
            : step('ship', ['charge'], { charge: 'order ${{ tasks.charge.output.id }} of ${{ tasks.reserve.output.id }}' }),
        ],
      },
    ],
  };
}

describe('results passed between tasks', () => {
  it('a whole ${{ }} keeps its JSON type, an embedded one becomes text', async () => {
    await run(hub, 'flow', {
      name: 'flow',
      phases: [
        {
          name: 'p',
          tasks: [
            { id: 'a', handler: 'echo', input: { value: { n: 3, id: 'A-7', tags: ['x', 'y'] } } },
            {
              id: 'b',
              handler: 'echo',
              depends_on: ['a'],
              input: {
                value: {
                  n: '${{ tasks.a.output.n }}',
                  next: '${{ tasks.a.output.n + 1 }}',
                  tags: '${{ tasks.a.output.tags }}',
                  text: 'id=${{ tasks.a.output.id }} n=${{ tasks.a.output.n }}',
                  attempt: '${{ task.attempt }}',
                  wf: '${{ workflow.id }}/${{ workflow.name }}',
                },
              },
            },
          ],
        },
      ],
    });
    expect((await waitFor(hub, 'flow')).status).toBe('completed');
    const status = await ok(hub, { operation: 'get-status', workflow_id: 'flow', parameters: { include_output: true } });
    const b = (status.result as { workflow_state: { phases: { tasks: { task_id: string; output: unknown }[] }[] } }).workflow_state.phases[0]!.tasks[1]!;
    expect(b.output).toEqual({ n: 3, next: 4, tags: ['x', 'y'], text: 'id=A-7 n=3', attempt: 1, wf: 'flow/flow' });
  });

  it('an exec task reads what an earlier exec task wrote to $TROUPE_OUTPUT', async () => {
    await run(hub, 'exec-flow', {
      name: 'exec-flow',
      phases: [
        {
          name: 'p',
          tasks: [
            { id: 'order', handler: 'exec', input: { command: 'echo "order_id=A17" >> "$TROUPE_OUTPUT"' } },
            { id: 'pack', handler: 'exec', depends_on: ['order'], input: { command: 'echo "packing ${{ tasks.order.output.values.order_id }}"' } },
          ],
        },
      ],
    });
    expect((await waitFor(hub, 'exec-flow')).status).toBe('completed');
    const status = await ok(hub, { operation: 'get-status', workflow_id: 'exec-flow', parameters: { include_output: true } });
    const pack = (status.result as { workflow_state: { phases: { tasks: { output: { stdout: string } }[] }[] } }).workflow_state.phases[0]!.tasks[1]!;
    expect(pack.output.stdout).toBe('packing A17\n');
  });

  it('an input that cannot be evaluated fails its task with EXPRESSION_FAILED, not the supervisor', async () => {
    await run(hub, 'missing', {
      name: 'missing',
      phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'echo', input: { value: 1 } }, { id: 'b', handler: 'echo', depends_on: ['a'], input: { value: '${{ tasks.a.output.nope }}' }, retries: 3 }] }],
    });
    expect((await waitFor(hub, 'missing')).status).toBe('failed');
    const b = taskOf(await statusOf(hub, 'missing'), 'b');
    expect(b).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'EXPRESSION_FAILED', retryable: false } });
    expect(b.error!.message).toContain('input.value');
    // the hub goes on
    await run(hub, 'after', { name: 'after', phases: [{ name: 'p', tasks: [{ id: 'x', handler: 'noop' }] }] });
    expect((await waitFor(hub, 'after')).status).toBe('completed');
  });
});

describe('conditions', () => {
  it('skips a task whose condition is false (reason condition), runs one whose condition holds, and ends completed', async () => {
    await run(hub, 'cond', {
      name: 'cond',
      failure_tolerance: 'high',
      phases: [
        {
          name: 'p',
          tasks: [
            { id: 'probe', handler: 'echo', input: { value: { big: false } } },
            { id: 'big', handler: 'noop', depends_on: ['probe'], when: 'tasks.probe.output.big' },
            { id: 'after_big', handler: 'noop', depends_on: ['big'] },
            { id: 'small', handler: 'noop', depends_on: ['probe'], when: '${{ !tasks.probe.output.big }}' },
          ],
        },
      ],
    });
    expect((await waitFor(hub, 'cond')).status).toBe('completed');
    const state = await statusOf(hub, 'cond');
    expect(taskOf(state, 'big')).toMatchObject({ status: 'skipped', reason: 'condition', attempts: 0 });
    expect(taskOf(state, 'after_big')).toMatchObject({ status: 'skipped', reason: 'dependency big did not complete' });
    expect(taskOf(state, 'small')).toMatchObject({ status: 'completed' });
    // the critical path is the work that ran
    expect((state as unknown as { critical_path: { tasks: string[] } }).critical_path.tasks).not.toContain('big');
  });

  it('a when downstream reacts to an allowed failure; the workflow completes under failure_tolerance low', async () => {
    await run(hub, 'allowed', {
      name: 'allowed',
      failure_tolerance: 'low',
      phases: [
        {
          name: 'p',
          tasks: [
            { id: 'lint', handler: 'fail', input: { message: 'style', retryable: false }, allow_failure: true },
            { id: 'report', handler: 'echo', depends_on: ['lint'], when: 'tasks.lint.status == "failed"', input: { value: '${{ tasks.lint.error.message }}' } },
            { id: 'celebrate', handler: 'noop', depends_on: ['lint'], when: 'tasks.lint.status == "completed"' },
          ],
        },
      ],
    });
    expect((await waitFor(hub, 'allowed')).status).toBe('completed');
    const state = await statusOf(hub, 'allowed');
    expect(taskOf(state, 'lint')).toMatchObject({ status: 'failed' });
    expect(taskOf(state, 'report')).toMatchObject({ status: 'completed' });
    expect(taskOf(state, 'celebrate')).toMatchObject({ status: 'skipped', reason: 'condition' });
  });

  it('a condition that is not a boolean fails its task with CONDITION_NOT_BOOLEAN', async () => {
    await run(hub, 'notbool', {
      name: 'notbool',
      phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'echo', input: { value: 'yes' } }, { id: 'b', handler: 'noop', depends_on: ['a'], when: 'tasks.a.output' }] }],
    });
    expect((await waitFor(hub, 'notbool')).status).toBe('failed');
    expect(taskOf(await statusOf(hub, 'notbool'), 'b')).toMatchObject({ status: 'failed', error: { code: 'CONDITION_NOT_BOOLEAN', retryable: false } });
  });
});

describe('compensation', () => {
  it('a failed checkout undoes charge, then reserve, once each, with the outputs they made', async () => {
    await run(hub, 'shop', checkout());
    expect((await waitFor(hub, 'shop')).status).toBe('compensated');
    const done = journal();
    expect(done.map((d) => d.what)).toEqual(['reserve', 'charge', 'undo charge-1', 'undo reserve-1']);
    // the id passed from one step to the next
    expect(done[1]!.input.reservation).toBe('reserve-1');
    expect(done[2]).toMatchObject({ task: 'charge.compensate', key: 'shop/charge.compensate', input: { by: 'shop' } });
    const state = await statusOf(hub, 'shop');
    expect(state.status).toBe('compensated');
    expect(taskOf(state, 'reserve').status).toBe('compensated');
    expect(taskOf(state, 'charge').status).toBe('compensated');
    expect(taskOf(state, 'ship').status).toBe('failed');
    const compensation = (state as unknown as { compensation: { reason: string; status: string; tasks: { task_id: string; status: string; after: string[] }[] } }).compensation;
    expect(compensation).toMatchObject({ reason: 'failed', status: 'compensated' });
    // in the order they run
    expect(compensation.tasks.map((t) => [t.task_id, t.status, t.after])).toEqual([
      ['charge', 'completed', []],
      ['reserve', 'completed', ['charge.compensate']],
    ]);
    // the events, in order
    const types = hub.events('shop').map((e) => e.event_type).filter((t) => /COMPENSAT|WORKFLOW_FAILED/.test(t));
    expect(types).toEqual(['WORKFLOW_FAILED', 'COMPENSATION_STARTED', 'TASK_COMPENSATED', 'TASK_COMPENSATED', 'WORKFLOW_COMPENSATED']);
    expect(eventsOf(hub, 'shop', 'COMPENSATION_STARTED')[0]!.data).toMatchObject({ reason: 'failed', tasks: ['charge', 'reserve'] });
    expect(eventsOf(hub, 'shop', 'TASK_COMPENSATED').map((e) => e.data.task_id)).toEqual(['charge', 'reserve']);
    expect(eventsOf(hub, 'shop', 'WORKFLOW_COMPENSATED')[0]!.data).toMatchObject({ status: 'compensated', compensated_tasks: ['charge', 'reserve'], failed_compensations: [] });
    // no compensation counts as a completed task
    expect(eventsOf(hub, 'shop', 'TASK_COMPLETED').map((e) => e.data.task_id)).toEqual(['reserve', 'charge']);
  });

  it('a compensation that fails for good leaves compensation_failed, and the others still run', async () => {
    const definition = checkout();
    const tasks = (definition.phases[0] as { tasks: { compensate: { input: Record<string, unknown>; retries?: number } }[] }).tasks;
    tasks[1]!.compensate.input.fail = true;
    tasks[1]!.compensate.retries = 1;
    await run(hub, 'stuck', definition);
    // the failed compensation is retried once (with backoff on the manual clock)
    await until(async () => {
      clock.advance(1_000);
      return !['running', 'compensating'].includes((await statusOf(hub, 'stuck')).status);
    }, 'the compensation to end', 10_000);
    expect((await waitFor(hub, 'stuck')).status).toBe('compensation_failed');
    expect(journal().map((d) => d.what)).toEqual(['reserve', 'charge', 'undo charge-1', 'undo charge-1', 'undo reserve-1']);
    expect(eventsOf(hub, 'stuck', 'TASK_COMPENSATION_FAILED').map((e) => e.data.will_retry)).toEqual([true, false]);
    expect(eventsOf(hub, 'stuck', 'WORKFLOW_COMPENSATED')[0]!.data).toMatchObject({ status: 'compensation_failed', compensated_tasks: ['reserve'], failed_compensations: ['charge'] });
    const state = await statusOf(hub, 'stuck');
    expect(taskOf(state, 'charge').status).toBe('completed');
    expect(taskOf(state, 'reserve').status).toBe('compensated');
  });

  it('cancel {"compensate": true} undoes what completed; a plain cancel does not', async () => {
    for (const compensate of [true, false]) {
      const id = `cancel-${compensate}`;
      await run(hub, id, {
        name: id,
        phases: [
          {
            name: 'p',
            tasks: [
              { id: 'reserve', handler: 'act', input: { file, what: `reserve-${compensate}` }, compensate: { handler: 'undo', input: { file, undo: '${{ output.id }}' } } },
              { id: 'wait', handler: 'sleep', depends_on: ['reserve'], input: { ms: 60_000 } },
            ],
          },
        ],
      });
      for (let i = 0; i < 200 && taskOf(await statusOf(hub, id), 'wait').status !== 'running'; i++) await new Promise((r) => setTimeout(r, 5));
      await ok(hub, { operation: 'cancel', workflow_id: id, parameters: { compensate } });
      expect((await waitFor(hub, id)).status).toBe(compensate ? 'compensated' : 'cancelled');
    }
    expect(journal().map((d) => d.what)).toEqual(['reserve-true', 'undo reserve-true-1', 'reserve-false']);
    expect(eventsOf(hub, 'cancel-true', 'COMPENSATION_STARTED')[0]!.data.reason).toBe('cancelled');
  });

  it('a workflow that succeeds compensates nothing', async () => {
    await run(hub, 'fine', checkout(false));
    expect((await waitFor(hub, 'fine')).status).toBe('completed');
    expect(journal().map((d) => d.what)).toEqual(['reserve', 'charge', 'ship']);
    expect(journal()[2]!.input.charge).toBe('order charge-1 of reserve-1');
  });
});

describe('rollback and the idempotency key', () => {
  it('a task run again after a rollback keeps its idempotency key, so its handler recognises it', async () => {
    const { createHub } = await import('../src/index.js');
    const durable = createHub({ maxThreads: 2, dataDir: join(dir, 'data'), handlers, handlersBaseDir: here });
    await durable.ready;
    try {
      const definition = { name: 'rb', phases: [{ name: 'p', tasks: [{ id: 'pay', handler: 'act', input: { file, what: 'pay' } }] }] };
      await ok(durable, { operation: 'create', workflow_id: 'rb', parameters: definition });
      await ok(durable, { operation: 'checkpoint', workflow_id: 'rb', parameters: { name: 'fresh' } });
      await ok(durable, { operation: 'start', workflow_id: 'rb' });
      await ok(durable, { operation: 'wait', workflow_id: 'rb' });
      const rolled = await ok(durable, { operation: 'rollback', workflow_id: 'rb', parameters: { name: 'fresh' } });
      expect(rolled.result).toMatchObject({ epoch: 1 });
      await ok(durable, { operation: 'start', workflow_id: 'rb' });
      await ok(durable, { operation: 'wait', workflow_id: 'rb' });
      expect(journal().map((d) => [d.what, d.key])).toEqual([
        ['pay', 'rb/pay'],
        ['pay', 'rb/pay'],
      ]);
    } finally {
      await durable.close({ graceMs: 0 });
    }
  });
});

describe('compensation after a fail-fast', () => {
  it('aborts what still runs of the failed phase, then undoes only what completed', async () => {
    await run(hub, 'fast', {
      name: 'fast',
      failure_tolerance: 'low',
      phases: [
        {
          name: 'p',
          tasks: [
            { id: 'reserve', handler: 'act', input: { file, what: 'reserve' }, compensate: { handler: 'undo', input: { file, undo: '${{ output.id }}' } } },
            { id: 'slow', handler: 'sleep', depends_on: ['reserve'], input: { ms: 60_000 }, compensate: { handler: 'undo', input: { file, undo: 'slow' } } },
            { id: 'boom', handler: 'fail', depends_on: ['reserve'], input: { message: 'boom', times: 1, retryable: false } },
          ],
        },
      ],
    });
    expect((await waitFor(hub, 'fast')).status).toBe('compensated');
    const state = await statusOf(hub, 'fast');
    expect(taskOf(state, 'slow')).toMatchObject({ status: 'cancelled' });
    expect(taskOf(state, 'reserve').status).toBe('compensated');
    expect(journal().map((d) => d.what)).toEqual(['reserve', 'undo reserve-1']);
    // the aborted run ends and frees its agent
    await until(async () => {
      clock.advance(1_000);
      const pool = await ok(hub, { operation: 'monitor-pool' });
      return (pool.result as { agents: { load: number }[] }).agents.every((a) => a.load === 0);
    }, 'the aborted sleep to free its agent');
  });
});

describe('a skip that ends a phase', () => {
  it('moves the workflow on: the next phase runs, and the end is announced', async () => {
    const chain = Array.from({ length: 300 }, (_, i) => ({ id: `c${i}`, handler: 'noop', when: 'false', ...(i > 0 ? { depends_on: [`c${i - 1}`] } : {}) }));
    // every c after c0 waits for its dependency to end, and each is skipped by its own condition in turn
    await run(hub, 'skips', { name: 'skips', phases: [{ name: 'maybe', tasks: chain }, { name: 'then', tasks: [{ id: 'last', handler: 'noop' }] }] });
    expect((await waitFor(hub, 'skips')).status).toBe('completed');
    const types = hub.events('skips').map((e) => e.event_type);
    expect(types).toEqual(expect.arrayContaining(['PHASE_SKIPPED', 'PHASE_COMPLETED', 'WORKFLOW_COMPLETED']));
    expect(taskOf(await statusOf(hub, 'skips'), 'last').status).toBe('completed');
    expect(taskOf(await statusOf(hub, 'skips'), 'c299')).toMatchObject({ status: 'skipped', reason: 'condition' });
  });
});
