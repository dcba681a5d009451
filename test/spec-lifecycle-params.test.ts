/**
 * The lifecycle operations take the spec's parameters as written
 * (coordination-hub.md §3 "Workflow Lifecycle Management", "Recovery and
 * Maintenance") and do what each asks, or say in `warnings` what troupe did
 * instead. Real hubs on a real Piscina pool and a real data directory; time
 * on a manual clock.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, createManualClock, type Hub, type ManualClock } from '../src/index.js';
import { closeHub, eventsOf, fails, ok, run, settleLoop, statusOf, taskOf, until, untilEvent, waitFor, type WorkflowState } from './hub-fixtures.js';
import { scratchDir } from './helpers/cli.js';

let dir: string;
let removeDir: () => Promise<void>;
let opened: { hub: Hub; clock: ManualClock }[] = [];

/** A hub on the test's data directory (a second one after the first closed is a restart). */
function open(): { hub: Hub; clock: ManualClock } {
  const clock = createManualClock(Date.now());
  const made = { hub: createHub({ maxThreads: 2, clock, random: () => 0.5, dataDir: dir }), clock };
  opened.push(made);
  return made;
}

beforeEach(async () => ({ dir, cleanup: removeDir } = await scratchDir()));
afterEach(async () => {
  for (const { hub, clock } of opened) await closeHub(hub, clock);
  opened = [];
  await removeDir();
});

/** Real time a worker-thread step may take on a loaded machine (the first task also starts the pool). */
const PATIENCE = 20_000;

type State = WorkflowState & Record<string, unknown>;
const state = async (hub: Hub, id: string) => (await statusOf(hub, id)) as State;

const echo = (id: string, extra: Record<string, unknown> = {}) => ({ id, handler: 'echo', input: { value: id }, ...extra });
const gate = (id: string, extra: Record<string, unknown> = {}) => ({ id, handler: 'approval', input: { prompt: `go on after ${id}?` }, ...extra });

/** Three phases, the later ones depending on tasks of the earlier ones. */
const threePhases = {
  name: 'three',
  phases: [
    { name: 'setup', tasks: [echo('prepare')] },
    { name: 'build', tasks: [echo('compile', { depends_on: ['prepare'] })] },
    { name: 'ship', tasks: [echo('deploy', { depends_on: ['compile'] })] },
  ],
};

describe('create as the spec writes it', () => {
  it('takes agent_requirements {min, max} as min_agents/max_agents, and refuses the two spellings with different values', async () => {
    const { hub } = open();
    const line = { name: 'Feature Implementation', phases: ['setup', 'implementation', 'testing', 'deployment'], agent_requirements: { min: 3, max: 8 }, timeout: '2h' };
    await ok(hub, { operation: 'create', workflow_id: 'workflow_123', parameters: line });
    expect((await state(hub, 'workflow_123')).configuration).toMatchObject({ min_agents: 3, max_agents: 8, timeout: '2h 0m' });

    const both = await fails(hub, { operation: 'create', workflow_id: 'wf_both', parameters: { name: 'x', phases: ['p'], agent_requirements: { max: 8, max_agents: 6 } } });
    expect(both.error.code).toBe('VALIDATION_FAILED');
    expect(both.error.details).toContain('max is another name for max_agents, and the two are given different values (8 and 6): give one');
  });

  it('keeps external dependencies, shows them beside the internal ones in get-status, and says it cannot probe them', async () => {
    const { hub } = open();
    const created = await ok(hub, {
      operation: 'create',
      workflow_id: 'unique_identifier',
      parameters: {
        name: 'Workflow Name',
        description: 'Workflow description',
        phases: [{ name: 'phase1', tasks: [echo('migrate')] }, { name: 'phase2', tasks: [echo('serve', { depends_on: ['migrate'] }), echo('warm', { depends_on: ['serve'] })] }, 'phase3'],
        agent_requirements: { min_agents: 2, max_agents: 10, specialized_roles: ['code', 'test', 'docs'] },
        dependencies: ['external_service', 'database'],
        timeout: '2h',
        priority: 'high',
      },
    });
    expect(created.warnings).toHaveLength(1);
    expect(created.warnings![0]).toMatch(/dependencies \(external_service, database\): troupe cannot probe a service by its name/);
    expect(created.warnings![0]).toContain('"handler":"exec"');
    const status = await state(hub, 'unique_identifier');
    // internal: only the depends_on that crosses phases (serve -> warm stays inside phase2)
    expect(status.dependencies).toEqual({ external: ['external_service', 'database'], internal: ['migrate (phase1) -> serve (phase2)'] });

    const without = await ok(hub, { operation: 'create', workflow_id: 'wf_plain', parameters: { name: 'plain', phases: ['p'] } });
    expect(without.warnings).toBeUndefined();
    expect((await state(hub, 'wf_plain')).dependencies).toEqual({ external: [], internal: [] });
  });
});

describe('start {resume_from_phase}', () => {
  it('skips the phases before it (PHASE_SKIPPED, tasks skipped with that reason), runs the rest unblocked, and ends completed', async () => {
    const { hub } = open();
    await ok(hub, { operation: 'create', workflow_id: 'wf', parameters: threePhases });
    const started = await ok(hub, { operation: 'start', workflow_id: 'wf', parameters: { resume_from_phase: 2, agent_pool_size: 2, checkpoint_interval: '15m', failure_tolerance: 'medium' } });
    expect(started.result).toMatchObject({ status: 'running', resumed_from_phase: { phase_id: 2, name: 'build', skipped_phases: ['setup'] } });
    // compile depends on the skipped prepare: it runs as if prepare had completed, and the answer says so
    expect(started.warnings?.[0]).toMatch(/^resume_from_phase: .*compile depend on their tasks/);
    expect(started.metrics.agents_affected).toBe(2);

    expect((await waitFor(hub, 'wf')).status).toBe('completed');
    const status = await state(hub, 'wf');
    expect(status.phases.map((p) => p.status)).toEqual(['skipped', 'completed', 'completed']);
    expect(taskOf(status, 'prepare')).toMatchObject({ status: 'skipped', reason: 'resume_from_phase', attempts: 0 });
    expect(taskOf(status, 'compile')).toMatchObject({ status: 'completed', output: 'compile' });
    expect(status.resumed_from_phase).toBe(2);
    expect(eventsOf(hub, 'wf', 'PHASE_SKIPPED').map((e) => e.data)).toEqual([expect.objectContaining({ phase_id: 1, skip_reason: 'resume_from_phase' })]);
    // a phase that never ran never started
    expect(eventsOf(hub, 'wf', 'PHASE_STARTED').map((e) => e.data.phase_id)).toEqual([2, 3]);
    expect(eventsOf(hub, 'wf', 'TASK_STARTED', 'prepare')).toEqual([]);
  });

  it('takes a phase name, and refuses an unknown phase or one out of range with PHASE_NOT_FOUND listing the phases', async () => {
    const { hub } = open();
    await ok(hub, { operation: 'create', workflow_id: 'wf', parameters: threePhases });
    for (const wanted of [4, 'deploy']) {
      const refused = await fails(hub, { operation: 'start', workflow_id: 'wf', parameters: { resume_from_phase: wanted } });
      expect(refused.error).toMatchObject({ code: 'PHASE_NOT_FOUND', details: 'Its phases (number and name): 1 setup, 2 build, 3 ship' });
    }
    expect((await state(hub, 'wf')).status).toBe('created');
    await ok(hub, { operation: 'start', workflow_id: 'wf', parameters: { resume_from_phase: 'ship' } });
    expect((await waitFor(hub, 'wf')).status).toBe('completed');
    expect((await state(hub, 'wf')).phases.map((p) => p.status)).toEqual(['skipped', 'skipped', 'completed']);
  });

  it('survives a restart: the skipped phases stay skipped and the rest runs on', async () => {
    const first = open();
    const definition = { name: 'gated', phases: [{ name: 'old', tasks: [echo('done_before')] }, { name: 'now', tasks: [gate('review', { depends_on: ['done_before'] }), echo('after', { depends_on: ['review'] })] }] };
    await ok(first.hub, { operation: 'create', workflow_id: 'wf', parameters: definition });
    await ok(first.hub, { operation: 'start', workflow_id: 'wf', parameters: { resume_from_phase: 2 } });
    await until(async () => taskOf(await statusOf(first.hub, 'wf'), 'review').status === 'waiting_approval', 'the approval to wait', PATIENCE);
    await closeHub(first.hub, first.clock);

    const second = open();
    await second.hub.ready;
    expect(taskOf(await statusOf(second.hub, 'wf'), 'done_before')).toMatchObject({ status: 'skipped', reason: 'resume_from_phase' });
    await ok(second.hub, { operation: 'approve', workflow_id: 'wf', parameters: { task_id: 'review', by: 'alice' } });
    expect((await waitFor(second.hub, 'wf')).status).toBe('completed');
    expect(taskOf(await statusOf(second.hub, 'wf'), 'done_before').status).toBe('skipped');
  });

  it('on a paused workflow says to resume it', async () => {
    const { hub } = open();
    await run(hub, 'wf', { name: 'p', phases: [{ name: 'p', tasks: [gate('hold')] }] });
    await ok(hub, { operation: 'pause', workflow_id: 'wf' });
    const refused = await fails(hub, { operation: 'start', workflow_id: 'wf' });
    expect(refused.error.code).toBe('INVALID_TRANSITION');
    expect(refused.recovery_suggestions).toContain("It is paused, not new: go on with 'wf resume' (start begins a created workflow)");
  });
});

/** The triggers of the workflow's stored checkpoints, oldest first. */
async function triggers(hub: Hub, id: string): Promise<string[]> {
  const listed = await ok(hub, { operation: 'list-checkpoints', workflow_id: id });
  return (listed.result as { checkpoints: { trigger: string }[] }).checkpoints.map((c) => c.trigger);
}

describe('start {checkpoint_interval}', () => {
  it("overrides the definition's interval, drives the interval checkpoints, and is kept across a restart", async () => {
    const first = open();
    // an echo, then two approvals in turn: each answer is an outcome applied after the last checkpoint
    const definition = { name: 'slow', checkpoint_interval: '1h', phases: [{ name: 'p', tasks: [echo('a'), gate('g1', { depends_on: ['a'] }), gate('g2', { depends_on: ['g1'] })] }] };
    await ok(first.hub, { operation: 'create', workflow_id: 'wf', parameters: definition });
    await ok(first.hub, { operation: 'start', workflow_id: 'wf', parameters: { checkpoint_interval: '2m' } });
    await until(async () => taskOf(await statusOf(first.hub, 'wf'), 'g1').status === 'waiting_approval', 'g1 to wait', PATIENCE);
    expect((await state(first.hub, 'wf')).configuration.checkpoint_interval).toBe('2m');
    expect(await triggers(first.hub, 'wf')).not.toContain('interval');
    first.clock.advance(119_000);
    await settleLoop();
    expect(await triggers(first.hub, 'wf')).not.toContain('interval');
    first.clock.advance(1_000);
    await until(async () => (await triggers(first.hub, 'wf')).includes('interval'), 'an interval checkpoint at 2m', PATIENCE);
    await closeHub(first.hub, first.clock);

    const second = open();
    await second.hub.ready;
    expect((await state(second.hub, 'wf')).configuration.checkpoint_interval).toBe('2m');
    const before = (await triggers(second.hub, 'wf')).filter((t) => t === 'interval').length;
    await ok(second.hub, { operation: 'approve', workflow_id: 'wf', parameters: { task_id: 'g1', by: 'alice' } });
    await until(async () => taskOf(await statusOf(second.hub, 'wf'), 'g2').status === 'waiting_approval', 'g2 to wait', PATIENCE);
    second.clock.advance(120_000);
    await until(async () => (await triggers(second.hub, 'wf')).filter((t) => t === 'interval').length > before, 'an interval checkpoint at 2m after the restart', PATIENCE);
  });
});

describe('pause {reason} and cancel {reason}', () => {
  it('keeps the reasons in the workflow state: in the events, in get-status, and after a restart', async () => {
    const first = open();
    await run(first.hub, 'wf_p', { name: 'p', phases: [{ name: 'p', tasks: [gate('hold')] }] });
    await ok(first.hub, { operation: 'pause', workflow_id: 'wf_p', parameters: { reason: 'waiting for review' } });
    expect((await untilEvent(first.hub, 'wf_p', 'WORKFLOW_PAUSED')).data.pause_reason).toBe('waiting for review');
    await run(first.hub, 'wf_c', { name: 'c', phases: [{ name: 'p', tasks: [gate('hold')] }] });
    await ok(first.hub, { operation: 'cancel', workflow_id: 'wf_c', parameters: { reason: 'superseded by wf_d' } });
    expect((await untilEvent(first.hub, 'wf_c', 'WORKFLOW_CANCELLED')).data.cancellation_reason).toBe('superseded by wf_d');
    await closeHub(first.hub, first.clock);

    const second = open();
    await second.hub.ready;
    expect((await state(second.hub, 'wf_p')).pause_reason).toBe('waiting for review');
    expect((await state(second.hub, 'wf_c')).cancel_reason).toBe('superseded by wf_d');
    await ok(second.hub, { operation: 'resume', workflow_id: 'wf_p' });
    expect((await state(second.hub, 'wf_p')).pause_reason).toBeUndefined();
  });
});

describe('complete as the spec writes it', () => {
  it('releases allocations, their files and agents, archives, reports, and puts the stakeholders in WORKFLOW_COMPLETED', async () => {
    const { hub } = open();
    await run(hub, 'wf', { name: 'c', phases: [{ name: 'p', tasks: [gate('hold')] }] });
    const granted = await ok(hub, { operation: 'request-resources', workflow_id: 'wf', parameters: { resources: { memory_gb: 1, exclusive_files: ['package.json'] } } });
    const allocation = (granted.result as { allocated_resources: { allocation_id: string } }).allocated_resources.allocation_id;
    const response = await ok(hub, {
      operation: 'complete',
      workflow_id: 'wf',
      parameters: { cleanup_resources: true, archive_state: true, generate_report: true, notify_stakeholders: ['team', 'pm'] },
    });
    const result = response.result as { status: string; previous_status: string; released: { allocations: string[]; exclusive_files: string[] }; report: { workflow_state: { status: string } } };
    expect(result).toMatchObject({ previous_status: 'running', status: 'archived', released: { allocations: [allocation], exclusive_files: ['package.json'] } });
    expect(result.report.workflow_state.status).toBe('completed');
    expect(response.metrics.agents_affected).toBe(1);
    expect(response.metrics.resources_used).toBe('released 1 agent, 1 resource allocation, 1 exclusive file');
    expect(response.warnings).toEqual([expect.stringMatching(/^notify_stakeholders \(team, pm\): troupe has no address book.*subscribe-event/)]);
    expect(eventsOf(hub, 'wf', 'WORKFLOW_COMPLETED')[0]!.data.notify_stakeholders).toEqual(['team', 'pm']);
    const health = await ok(hub, { operation: 'health' });
    expect(JSON.stringify(health.result)).not.toContain(allocation);
    expect((await state(hub, 'wf')).status).toBe('archived');
  });
});

describe('cleanup as the spec writes it', () => {
  it('archives, removes the spools of ended exec attempts (counted), and reports', async () => {
    const { hub } = open();
    await run(hub, 'wf', { name: 'x', phases: [{ name: 'p', tasks: [{ id: 'say', handler: 'exec', input: { command: 'echo hello' } }] }] });
    expect((await waitFor(hub, 'wf')).status).toBe('completed');
    const spools = join(dir, 'processes', 'wf');
    expect((await readdir(spools)).length).toBeGreaterThan(0);
    const response = await ok(hub, { operation: 'cleanup', workflow_id: 'wf', parameters: { archive_state: true, remove_temp_files: true, generate_report: true } });
    const result = response.result as { status: string; temp_files: { removed_files: number; removed_bytes: number; kept_running: string[] }; report: { workflow_state: { status: string; kpis?: unknown } } };
    expect(result.status).toBe('archived');
    expect(result.temp_files.removed_files).toBeGreaterThan(0);
    expect(result.temp_files.removed_bytes).toBeGreaterThan(0);
    expect(result.temp_files.kept_running).toEqual([]);
    await expect(readdir(spools)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(result.report.workflow_state).toMatchObject({ status: 'archived' });
    expect(response.metrics.resources_used).toContain(`removed ${result.temp_files.removed_files} temporary files (${result.temp_files.removed_bytes} bytes)`);
    // the task's log is no temporary file
    expect(await readdir(join(dir, 'logs', 'wf'))).toContain('say.1.log');
  });

  it('archive_state:false leaves it ended and says its state is kept; a running workflow is refused', async () => {
    const { hub } = open();
    await run(hub, 'wf', { name: 'x', phases: ['p'] });
    const response = await ok(hub, { operation: 'cleanup', workflow_id: 'wf', parameters: { archive_state: false, notify_stakeholders: ['ops'] } });
    expect(response.result).toMatchObject({ previous_status: 'completed', status: 'completed', notify_stakeholders: ['ops'] });
    expect(response.warnings![0]).toMatch(/^archive_state: false: wf stays completed, not archived; its stored state .* is kept/);
    expect(response.warnings![1]).toMatch(/^notify_stakeholders \(ops\)/);
    await run(hub, 'wf_busy', { name: 'b', phases: [{ name: 'p', tasks: [gate('hold')] }] });
    expect((await fails(hub, { operation: 'cleanup', workflow_id: 'wf_busy', parameters: { archive_state: false } })).error.code).toBe('INVALID_TRANSITION');
  });
});
