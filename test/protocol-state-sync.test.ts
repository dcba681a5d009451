/**
 * The protocol's workflow_state message (protocol-standards.md "Workflow
 * State Message"): `get-status {"format":"state_sync"}` on a real data
 * directory. Its state_version grows with every change and across a
 * restart; checkpoint_id is the newest stored checkpoint; the current phase
 * estimates its end from its open tasks' estimates; nothing is invented.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, createManualClock, type Hub, type ManualClock } from '../src/index.js';
import { scratchDir } from './helpers/cli.js';
import { eventsOf, ok, until, waitFor } from './hub-fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
const hubs: Hub[] = [];
let clock: ManualClock;

beforeEach(async () => {
  ({ dir, cleanup } = await scratchDir());
  clock = createManualClock(Date.parse('2025-01-15T12:00:00Z'));
});
afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close({ graceMs: 0 });
  await cleanup();
});

async function open(): Promise<Hub> {
  const hub = createHub({ maxThreads: 1, dataDir: dir, clock });
  hubs.push(hub);
  await hub.ready;
  return hub;
}

const stateSync = async (hub: Hub) => ((await ok(hub, { operation: 'get-status', workflow_id: 'wf_s', parameters: { format: 'state_sync' } })).result as { workflow_state: Record<string, any> }).workflow_state;

describe('get-status {"format":"state_sync"}', () => {
  it('answers the workflow_state message, measured, its version growing with each change and across a restart', async () => {
    const hub = await open();
    await ok(hub, {
      operation: 'create',
      workflow_id: 'wf_s',
      parameters: {
        name: 'sync',
        phases: [
          { name: 'build', tasks: [{ id: 'compile', handler: 'noop', estimated_duration: '1m' }] },
          { name: 'review', tasks: [{ id: 'gate', handler: 'approval', input: { prompt: 'ship?' }, estimated_duration: '1m' }, { id: 'publish', handler: 'noop', depends_on: ['gate'], estimated_duration: '3m' }] },
        ],
      },
    });
    const created = await stateSync(hub);
    expect(created).toMatchObject({ message_type: 'state_sync', workflow_id: 'wf_s', timestamp: '2025-01-15T12:00:00.000Z', metadata: { conflict_detected: false } });
    expect(created).not.toHaveProperty('metadata.synchronization_confidence');

    await ok(hub, { operation: 'start', workflow_id: 'wf_s' });
    // the first task runs on a worker thread, which a loaded machine may take a while to start
    await until(() => eventsOf(hub, 'wf_s', 'APPROVAL_REQUESTED').length > 0, 'the approval gate', 30_000);
    const waiting = await stateSync(hub);
    const checkpoints = (await ok(hub, { operation: 'list-checkpoints', workflow_id: 'wf_s' })).result as { checkpoints: { checkpoint_id: string; size_bytes: number }[] };
    expect(waiting.state_version).toBeGreaterThan(created.state_version);
    expect(waiting).toMatchObject({
      checkpoint_id: checkpoints.checkpoints.at(-1)!.checkpoint_id,
      // the gate (1m) and what waits for it (3m) are still to do
      current_phase: { phase_id: 2, name: 'review', progress: 0, started_at: '2025-01-15T12:00:00.000Z', estimated_completion: '2025-01-15T12:04:00.000Z' },
      validation_required: [],
      metadata: { conflict_detected: false, last_update_source: expect.any(String) },
    });
    expect(Object.values(waiting.agent_states)[0]).toMatchObject({ status: expect.any(String), performance_score: expect.any(Number) });
    expect(waiting.resource_usage.memory_current).toBeGreaterThan(0);
    const stored = checkpoints.checkpoints.reduce((n, c) => n + c.size_bytes, 0);
    expect(waiting.resource_usage.storage_used).toBeCloseTo(stored / 1024 ** 3, 6);

    clock.advance(90_000);
    await ok(hub, { operation: 'approve', workflow_id: 'wf_s', parameters: { task_id: 'gate', by: 'alice' } });
    expect((await waitFor(hub, 'wf_s')).status).toBe('completed');
    const done = await stateSync(hub);
    expect(done.state_version).toBeGreaterThan(waiting.state_version);
    expect(done.current_phase).toMatchObject({ name: 'review', progress: 100, estimated_completion: expect.stringMatching(/^2025-01-15T12:01:30/) });

    await hub.close({ graceMs: 0 });
    hubs.splice(0);
    const again = await open();
    const restarted = await stateSync(again);
    expect(restarted.state_version).toBeGreaterThanOrEqual(done.state_version);
    expect(restarted.checkpoint_id).toBe(((await ok(again, { operation: 'list-checkpoints', workflow_id: 'wf_s' })).result as { checkpoints: { checkpoint_id: string }[] }).checkpoints.at(-1)!.checkpoint_id);
  });

  it('refuses a format it does not know, naming the ones it does', async () => {
    const hub = await open();
    const response = await hub.execute({ operation: 'get-status', workflow_id: 'wf_x', parameters: { format: 'xml' } });
    expect(response).toMatchObject({ status: 'error', error: { code: 'VALIDATION_FAILED', details: expect.stringContaining('state_sync') } });
  });
});
