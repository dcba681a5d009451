/**
 * `progress_percentage` is the share of the work done: completed tasks, and
 * tasks that ended benignly (skipped by `resume_from_phase` as done before, a
 * false condition, an allowed failure), over all tasks. A failure, a cancel
 * or a skip that a failure caused is no progress: a cancelled, failed or
 * partial workflow stays below 100, a completed one is 100. get-status,
 * list-workflows, PHASE_PROGRESS and the state_sync message count alike.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Hub, WorkflowDefinition } from '../src/index.js';
import { eachTestOwnHub, eventsOf, ok, run, statusOf, taskOf, until, untilEvent, waitFor } from './hub-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
let hub: Hub;

eachTestOwnHub((made) => ({ hub } = made), { handlers: { pulse: './fixtures/handlers/faulty.mjs#pulse' }, handlersBaseDir: here });

const listed = async (id: string) =>
  ((await ok(hub, { operation: 'list-workflows' })).result as { workflows: { workflow_id: string; progress_percentage: number }[] }).workflows.find((w) => w.workflow_id === id)!.progress_percentage;
const stateSyncProgress = async (id: string) =>
  ((await ok(hub, { operation: 'get-status', workflow_id: id, parameters: { format: 'state_sync' } })).result as { workflow_state: { current_phase: { progress: number } } }).workflow_state.current_phase.progress;

const broken = { id: 'bad', handler: 'fail', input: { message: 'broken', retryable: false } };

describe('progress_percentage', () => {
  it('a cancelled workflow: only what completed before the cancel', async () => {
    await run(hub, 'wf_c', {
      name: 'c',
      phases: [
        { name: 'p', tasks: [{ id: 'first', handler: 'noop' }, { id: 'long', handler: 'sleep', input: { ms: 60_000 }, depends_on: ['first'] }] },
        { name: 'q', tasks: [{ id: 'later', handler: 'noop' }] },
      ],
    });
    await untilEvent(hub, 'wf_c', 'TASK_STARTED', 'long');
    expect((await statusOf(hub, 'wf_c')).progress_percentage).toBe(33.3);
    // the running phase: one of its two tasks is done
    expect(await stateSyncProgress('wf_c')).toBe(50);
    await ok(hub, { operation: 'cancel', workflow_id: 'wf_c' });
    const state = await statusOf(hub, 'wf_c');
    expect(state.status).toBe('cancelled');
    expect(state.progress_percentage).toBe(33.3);
    expect(await listed('wf_c')).toBe(33.3);
  });

  it('a failed workflow: the failure and what it skipped or cancelled are no progress', async () => {
    await run(hub, 'wf_f', {
      name: 'f',
      phases: [
        { name: 'p', tasks: [{ id: 'first', handler: 'noop' }, { ...broken, depends_on: ['first'] }] },
        { name: 'q', tasks: [{ id: 'later', handler: 'noop' }] },
      ],
    });
    expect((await waitFor(hub, 'wf_f')).status).toBe('failed');
    const state = await statusOf(hub, 'wf_f');
    expect(state.progress_percentage).toBe(33.3);
    expect(await listed('wf_f')).toBe(33.3);
  });

  it('a partial workflow: below 100; a completed one: 100', async () => {
    const definition: WorkflowDefinition = {
      name: 'partial',
      failure_tolerance: 'high',
      phases: [
        { name: 'p', tasks: [{ id: 'first', handler: 'noop' }, broken] },
        { name: 'q', tasks: [{ id: 'later', handler: 'noop' }] },
      ],
    };
    await run(hub, 'wf_p', definition);
    expect((await waitFor(hub, 'wf_p')).status).toBe('partial');
    expect((await statusOf(hub, 'wf_p')).progress_percentage).toBe(66.7);

    await run(hub, 'wf_ok', { ...definition, phases: [{ name: 'p', tasks: [{ id: 'first', handler: 'noop' }] }, { name: 'q', tasks: [{ id: 'later', handler: 'noop' }] }] });
    expect((await waitFor(hub, 'wf_ok')).status).toBe('completed');
    expect((await statusOf(hub, 'wf_ok')).progress_percentage).toBe(100);
    expect(await stateSyncProgress('wf_ok')).toBe(100);
  });

  it('benign ends count as done: a false condition, an allowed failure, and the phases resume_from_phase left out', async () => {
    await run(
      hub,
      'wf_b',
      {
        name: 'b',
        phases: [
          { name: 'before', tasks: [{ id: 'old1', handler: 'noop' }, { id: 'old2', handler: 'noop' }] },
          {
            name: 'now',
            tasks: [
              { id: 'unneeded', handler: 'noop', when: 'false' },
              { ...broken, id: 'lint', allow_failure: true },
              { id: 'long', handler: 'sleep', input: { ms: 60_000 } },
              { id: 'cut', handler: 'noop', depends_on: ['long'] },
            ],
          },
        ],
      },
      { resume_from_phase: 2 },
    );
    await untilEvent(hub, 'wf_b', 'TASK_STARTED', 'long');
    await until(async () => {
      const state = await statusOf(hub, 'wf_b');
      return taskOf(state, 'unneeded').status === 'skipped' && taskOf(state, 'lint').status === 'failed';
    }, 'unneeded and lint to end', 10_000);
    // old1, old2, unneeded and lint of six
    expect((await statusOf(hub, 'wf_b')).progress_percentage).toBe(66.7);
    // the running phase: unneeded and lint of its four
    expect(await stateSyncProgress('wf_b')).toBe(50);
    await ok(hub, { operation: 'cancel', workflow_id: 'wf_b' });
    expect((await statusOf(hub, 'wf_b')).progress_percentage).toBe(66.7);
  });

  it("PHASE_PROGRESS: a running task's report counts its phase's done tasks, not its failed ones", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'troupe-progress-'));
    try {
      await run(hub, 'wf_e', {
        name: 'e',
        failure_tolerance: 'high',
        phases: [{ name: 'p', tasks: [{ id: 'first', handler: 'noop' }, broken, { id: 'beat', handler: 'pulse', input: { steps: 1, dir }, depends_on: ['first'] }] }],
      });
      await until(async () => taskOf(await statusOf(hub, 'wf_e'), 'bad').status === 'failed', 'bad to fail', 10_000);
      await untilEvent(hub, 'wf_e', 'TASK_STARTED', 'beat');
      await writeFile(join(dir, 'go-1'), '');
      await until(() => eventsOf(hub, 'wf_e', 'PHASE_PROGRESS').length === 1, 'the beat');
      expect(eventsOf(hub, 'wf_e', 'PHASE_PROGRESS')[0]!.data).toMatchObject({ phase_id: 1, task_id: 'beat', progress_percentage: 33.3, task_progress: { step: 1 } });
      await writeFile(join(dir, 'go-end'), '');
      expect((await waitFor(hub, 'wf_e')).status).toBe('partial');
      expect((await statusOf(hub, 'wf_e')).progress_percentage).toBe(66.7);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
