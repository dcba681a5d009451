/**
 * Lifecycle operations in every workflow state (DESIGN §2): an operation the
 * state does not allow is answered INVALID_TRANSITION naming the state and
 * the allowed operations, and changes nothing.
 */
import { describe, expect, it } from 'vitest';
import type { Hub, ManualClock } from '../src/index.js';
import { eachTestOwnHub, fails, ok, run, runLongTask, statusOf, waitFor } from './hub-fixtures.js';

let hub: Hub;
let clock: ManualClock;

eachTestOwnHub((made) => ({ hub, clock } = made));

const LIFECYCLE = ['start', 'pause', 'resume', 'complete', 'cancel', 'cleanup'] as const;
type Lifecycle = (typeof LIFECYCLE)[number];
/** The order in which the hub lists allowed operations. */
const HUB_ORDER: Lifecycle[] = ['start', 'pause', 'resume', 'cancel', 'complete', 'cleanup'];

const empty = { name: 'empty', phases: ['only'] };

/** Brings workflow `id` into `state`. */
const reach: Record<string, (id: string) => Promise<void>> = {
  created: async (id) => {
    await ok(hub, { operation: 'create', workflow_id: id, parameters: empty });
  },
  running: async (id) => runLongTask(hub, id),
  paused: async (id) => {
    await runLongTask(hub, id);
    await ok(hub, { operation: 'pause', workflow_id: id });
  },
  completed: async (id) => {
    // task-less phases complete synchronously on start
    await run(hub, id, empty);
  },
  failed: async (id) => {
    await run(hub, id, { name: 'f', phases: [{ name: 'p', tasks: [{ id: 'f', handler: 'fail', input: { retryable: false } }] }] });
    await waitFor(hub, id);
  },
  partial: async (id) => {
    await run(hub, id, {
      name: 'h',
      failure_tolerance: 'high',
      phases: [{ name: 'p', tasks: [{ id: 'f', handler: 'fail', input: { retryable: false } }, { id: 'n', handler: 'noop' }] }],
    });
    await waitFor(hub, id);
  },
  cancelled: async (id) => {
    await ok(hub, { operation: 'create', workflow_id: id, parameters: empty });
    await ok(hub, { operation: 'cancel', workflow_id: id });
  },
  archived: async (id) => {
    await run(hub, id, empty);
    await ok(hub, { operation: 'cleanup', workflow_id: id });
  },
};

const allowed: Record<string, Lifecycle[]> = {
  created: ['start', 'cancel'],
  running: ['pause', 'complete', 'cancel'],
  paused: ['resume', 'complete', 'cancel'],
  completed: ['cleanup'],
  failed: ['cleanup'],
  partial: ['cleanup'],
  cancelled: ['cleanup'],
  archived: [],
};

describe('INVALID_TRANSITION for every lifecycle operation a state disallows', () => {
  it.each(Object.keys(allowed))('in state %s', async (state) => {
    const id = `wf_${state}`;
    await reach[state]!(id);
    expect((await statusOf(hub, id)).status).toBe(state);
    // listed in the hub's order, then the read operations
    const listed = [...HUB_ORDER.filter((op) => allowed[state]!.includes(op)), 'get-status', 'wait'];
    for (const operation of LIFECYCLE.filter((op) => !allowed[state]!.includes(op))) {
      const response = await fails(hub, { operation, workflow_id: id });
      expect(response.error).toEqual({
        code: 'INVALID_TRANSITION',
        message: `Cannot ${operation} workflow ${id}: it is ${state}`,
        details: `Allowed in state ${state}: ${listed.join(', ')}`,
      });
      expect(response.recovery_suggestions[0]).toBe(`Allowed now: ${listed.map((op) => `'${id} ${op}'`).join(', ')}`);
      expect(response.recovery_suggestions).toContain("See the workflow's state with 'get-status'");
      expect((await statusOf(hub, id)).status, `${operation} changed nothing`).toBe(state);
    }
  });

  it('cleanup on a running workflow names the state and lists the allowed operations', async () => {
    await runLongTask(hub, 'wf_busy');
    const response = await fails(hub, { operation: 'cleanup', workflow_id: 'wf_busy' });
    expect(response).toMatchObject({ status: 'error', operation: 'cleanup', workflow_id: 'wf_busy' });
    expect(response.error.code).toBe('INVALID_TRANSITION');
    expect(response.error.message).toBe('Cannot cleanup workflow wf_busy: it is running');
    expect(response.error.details).toBe('Allowed in state running: pause, cancel, complete, get-status, wait');
  });

  it('get-status next_steps offer exactly the allowed operations', async () => {
    await reach.paused!('wf_next');
    const response = await ok(hub, { operation: 'get-status', workflow_id: 'wf_next' });
    expect(response.next_steps).toEqual(['wf_next resume', 'wf_next cancel', 'wf_next complete', 'wf_next wait']);
  });
});

describe('allowed transitions answer previous and new status', () => {
  it.each([
    ['created', 'cancel', 'cancelled'],
    ['running', 'pause', 'paused'],
    ['paused', 'resume', 'running'],
    ['paused', 'complete', 'completed'],
    ['paused', 'cancel', 'cancelled'],
    ['failed', 'cleanup', 'archived'],
    ['partial', 'cleanup', 'archived'],
    ['cancelled', 'cleanup', 'archived'],
  ] as const)('%s --%s--> %s', async (from, operation, to) => {
    const id = `wf_${from}_${operation}`;
    await reach[from]!(id);
    const response = await ok(hub, { operation, workflow_id: id });
    expect(response.result).toMatchObject({ workflow_id: id, previous_status: from, status: to });
    expect((await statusOf(hub, id)).status).toBe(to);
  });
});

describe('workflow ids after cleanup', () => {
  /**
   * BUG: the WORKFLOW_EXISTS recovery suggestion says "Pick another workflow
   * id, or 'cleanup' the existing workflow once it has ended", but an
   * archived workflow keeps its id for good: create on it answers
   * WORKFLOW_EXISTS ("It is archived") again, so the advice cannot be
   * followed. Fix (src/runtime/operations.ts create): let create replace an
   * archived entry (drop it from hub.workflows first), or change the
   * suggestion in src/runtime/errors.ts to say ids are never reused.
   */
  it('WORKFLOW_EXISTS gives advice that works: an id stays taken, also after cleanup', async () => {
    await reach.completed!('wf_again');
    const exists = await fails(hub, { operation: 'create', workflow_id: 'wf_again', parameters: empty });
    expect(exists.recovery_suggestions).toEqual(['Pick another workflow id: an id stays taken after cleanup, so its history stays unambiguous']);
    await ok(hub, { operation: 'cleanup', workflow_id: 'wf_again' });
    const again = await fails(hub, { operation: 'create', workflow_id: 'wf_again', parameters: empty });
    expect(again.error.code).toBe('WORKFLOW_EXISTS');
    await ok(hub, { operation: 'create', workflow_id: 'wf_again_2', parameters: empty });
  });
});
