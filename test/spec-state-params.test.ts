/**
 * The spec's state and recovery examples as written (coordination-hub
 * "State Management Operations" and "Recovery and Maintenance"), each
 * parameter doing what it asks, on real data directories.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Hub, ManualClock } from '../src/index.js';
import { splitLine } from '../src/cli/parse-line.js';
import { FileCheckpointStore } from '../src/persistence/checkpoint-store.js';
import { recordFiles } from '../src/runtime/durability/recorded-files.js';
import { closeHub, fails, makeHub, ok, statusOf, taskOf, until } from './hub-fixtures.js';
import { scratchDir } from './helpers/cli.js';

const twoRoles = {
  name: 'two roles',
  phases: [
    {
      name: 'p',
      tasks: [
        { id: 'a', handler: 'echo', role: 'code', input: { value: 1 } },
        { id: 'b', handler: 'echo', role: 'test', input: { value: 2 }, depends_on: ['a'] },
      ],
    },
  ],
};

let dir: string;
let cleanup: () => Promise<void>;
let open: { hub: Hub; clock: ManualClock }[] = [];

beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
afterEach(async () => {
  for (const { hub, clock } of open) await closeHub(hub, clock);
  open = [];
  await cleanup();
});

/** A hub on the manual clock over the test's data directory (`name` picks another one). */
async function openHub(name = 'data'): Promise<{ hub: Hub; clock: ManualClock }> {
  const made = makeHub({ dataDir: join(dir, name) });
  open.push(made);
  await made.hub.ready;
  return made;
}

async function closeLast(): Promise<void> {
  const last = open.pop()!;
  await closeHub(last.hub, last.clock);
}

const result = async (hub: Hub, command: Record<string, unknown>) => (await ok(hub, command)).result as any;
const status = (hub: Hub, id: string, parameters: Record<string, unknown>) => result(hub, { operation: 'get-status', workflow_id: id, parameters });
const checkpoints = async (hub: Hub, id: string) => (await result(hub, { operation: 'list-checkpoints', workflow_id: id })).checkpoints as { checkpoint_id: string; trigger: string; name: string | null }[];

describe('get-status {"include_metrics":true,"agent_details":true,"recent_events":10}', () => {
  it('computes agent_efficiency and resource_utilization from the run, shows each agent, and the last events from the log', async () => {
    const { hub, clock } = await openHub();
    const flaky = { name: 'flaky', phases: [{ name: 'p', tasks: [{ id: 'ok', handler: 'echo', input: { value: 1 } }, { id: 'flaky', handler: 'fail', input: { times: 1 }, retries: 1, depends_on: ['ok'] }] }] };
    await ok(hub, { operation: 'create', workflow_id: 'wf', parameters: flaky });
    await ok(hub, { operation: 'start', workflow_id: 'wf' });
    await until(async () => taskOf(await statusOf(hub, 'wf'), 'flaky').attempts === 1 && taskOf(await statusOf(hub, 'wf'), 'flaky').status === 'ready', 'the first attempt of flaky to fail', 30_000);
    clock.advance(1_000);
    expect((await result(hub, { operation: 'wait', workflow_id: 'wf' })).status).toBe('completed');

    const state = (await status(hub, 'wf', { include_metrics: true, agent_details: true, recent_events: 10 })).workflow_state;
    // three attempts finished (ok once, flaky twice), two succeeded
    expect(state.metrics).toMatchObject({ tasks_completed: 2, tasks_failed: 0, agent_efficiency: 66.7 });
    expect(state.metrics.total_execution_time).toEqual(expect.any(String));
    expect(state.metrics.resource_utilization).toEqual(expect.any(Number));
    expect(state.metrics.resource_utilization).toBe(state.kpis.parallel_efficiency.value);
    const agents = Object.values(state.agent_assignments) as any[];
    expect(agents.length).toBeGreaterThan(0);
    expect(agents.reduce((n, a) => n + a.workflow_tasks_completed, 0)).toBe(2);
    for (const agent of agents) expect(agent).toMatchObject({ role: 'general', current_task: null, performance_score: expect.any(Number), tasks_completed: expect.any(Number) });
    const mine = hub.events('wf');
    expect(state.recent_events.map((e: { seq: number }) => e.seq)).toEqual(mine.slice(-10).map((e) => e.seq));
    expect(state.recent_events.at(-1).event_type).toBe('WORKFLOW_COMPLETED');

    const bare = (await status(hub, 'wf', { include_metrics: false, agent_details: false })).workflow_state;
    expect(bare).not.toHaveProperty('metrics');
    expect(bare).not.toHaveProperty('kpis');
    expect(bare).not.toHaveProperty('agent_assignments');
    expect(bare).not.toHaveProperty('recent_events');
  });

  it('recent_events after a restart: the same newest events, read back from the log', async () => {
    const { hub } = await openHub();
    await ok(hub, { operation: 'create', workflow_id: 'wf', parameters: twoRoles });
    await ok(hub, { operation: 'start', workflow_id: 'wf' });
    await ok(hub, { operation: 'wait', workflow_id: 'wf' });
    // the last event: the end checkpoint, written (and announced) just after the workflow completed
    await until(() => hub.events('wf').some((e) => e.event_type === 'CHECKPOINT_CREATED' && e.data.trigger === 'end'), 'the end checkpoint');
    const before = (await status(hub, 'wf', { recent_events: 4 })).workflow_state.recent_events as { event_id: string }[];
    expect(before).toHaveLength(4);
    const total = hub.events('wf').length;
    await closeLast();

    const { hub: again } = await openHub();
    const after = (await status(again, 'wf', { recent_events: 4 })).workflow_state.recent_events as { event_id: string }[];
    expect(after.map((e) => e.event_id)).toEqual(before.map((e) => e.event_id));
    const all = (await status(again, 'wf', { recent_events: 1_000 })).workflow_state.recent_events;
    expect(all).toHaveLength(total);
    expect((await status(again, 'wf', { recent_events: 0 })).workflow_state.recent_events).toEqual([]);
  });
});

describe('save-state {"include_checkpoints":true,"compress":true,"backup_location":"…"}', () => {
  it('creates the backup directory and writes the bundle into it under its default name', async () => {
    const { hub } = await openHub();
    await ok(hub, { operation: 'create', workflow_id: 'wf', parameters: twoRoles });
    const backup = join(dir, 'backup', 'workflows') + '/';
    const response = await ok(hub, { operation: 'save-state', workflow_id: 'wf', parameters: { include_checkpoints: true, compress: true, backup_location: backup } });
    const saved = response.result as any;
    expect(saved.backup_location).toBe(join(dir, 'backup', 'workflows'));
    expect(dirname(saved.path)).toBe(saved.backup_location);
    expect(saved.path).toMatch(/\/wf-[^/]+\.troupe$/);
    expect((await readFile(saved.path)).length).toBe(saved.size_bytes);
    expect(response.metrics.resources_used).toContain(`${saved.size_bytes}-byte bundle write`);

    const { hub: other } = await openHub('other');
    expect((await result(other, { operation: 'load-state', parameters: { path: saved.path } })).workflow_id).toBe('wf');
  });

  it('refuses path with backup_location, and a backup location that is a file, before anything is written', async () => {
    const { hub } = await openHub();
    await ok(hub, { operation: 'create', workflow_id: 'wf', parameters: twoRoles });
    const stored = (await checkpoints(hub, 'wf')).length;
    const both = await fails(hub, { operation: 'save-state', workflow_id: 'wf', parameters: { path: join(dir, 'x.troupe'), backup_location: dir } });
    expect(both.error.code).toBe('VALIDATION_FAILED');
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    const refused = await fails(hub, { operation: 'save-state', workflow_id: 'wf', parameters: { backup_location: file } });
    expect(refused.error.code).toBe('BACKUP_LOCATION_INVALID');
    expect(refused.error.details).toContain('not a directory');
    expect(refused.recovery_suggestions.length).toBeGreaterThan(0);
    const below = await fails(hub, { operation: 'save-state', workflow_id: 'wf', parameters: { backup_location: join(file, 'sub') } });
    expect(below.error.code).toBe('BACKUP_LOCATION_INVALID');
    expect(await checkpoints(hub, 'wf')).toHaveLength(stored);
  });
});

describe('load-state {"checkpoint_id":"chkpt_456","verify_integrity":true,"restore_agents":true}', () => {
  it("loads the workflow's own checkpoint by name, verified, and re-creates its agents", async () => {
    const { hub } = await openHub();
    await ok(hub, { operation: 'create', workflow_id: 'wf', parameters: twoRoles });
    await ok(hub, { operation: 'checkpoint', workflow_id: 'wf', parameters: { name: 'chkpt_456' } });
    const rolesBefore = (await result(hub, { operation: 'monitor-pool' })).agents.map((a: { role: string }) => a.role);
    const response = await ok(hub, { operation: 'load-state', workflow_id: 'wf', parameters: { checkpoint_id: 'chkpt_456', verify_integrity: true, restore_agents: true } });
    const loaded = response.result as any;
    expect(loaded).toMatchObject({ workflow_id: 'wf', strategy: 'full_restore', epoch: 1, status: 'created', integrity: { sha256: 'verified', scratch_restore: 'passed', status_in_checkpoint: 'created' } });
    const added = loaded.restored_agents.flatMap((r: { added: string[] }) => r.added);
    expect(loaded.restored_agents.map((r: { role: string }) => r.role).sort()).toEqual(['code', 'test']);
    expect(response.metrics.agents_affected).toBe(added.length);
    const rolesAfter = (await result(hub, { operation: 'monitor-pool' })).agents.map((a: { role: string }) => a.role);
    for (const role of ['code', 'test']) expect(rolesAfter).toContain(role);
    expect(rolesAfter.length - rolesBefore.length).toBe(added.length);
    expect(response.warnings).toBeUndefined();
    // it can run at once
    await ok(hub, { operation: 'start', workflow_id: 'wf' });
    expect((await result(hub, { operation: 'wait', workflow_id: 'wf' })).status).toBe('completed');
  });

  it('an unknown id is CHECKPOINT_NOT_FOUND listing the stored ones; a corrupted one is CHECKPOINT_CORRUPT, verify_integrity or not, and nothing changes', async () => {
    const { hub } = await openHub();
    await ok(hub, { operation: 'create', workflow_id: 'wf', parameters: twoRoles });
    const [first] = await checkpoints(hub, 'wf');
    const missing = await fails(hub, { operation: 'load-state', workflow_id: 'wf', parameters: { checkpoint_id: 'chkpt_456' } });
    expect(missing.error.code).toBe('CHECKPOINT_NOT_FOUND');
    expect(missing.error.details).toContain(first!.checkpoint_id);

    const file = join(dir, 'data', 'checkpoints', 'wf', `${first!.checkpoint_id}.ckpt`);
    const bytes = await readFile(file);
    bytes[bytes.length - 5]! ^= 0xff;
    await writeFile(file, bytes);
    for (const verify_integrity of [true, false]) {
      const corrupt = await fails(hub, { operation: 'load-state', workflow_id: 'wf', parameters: { checkpoint_id: first!.checkpoint_id, verify_integrity } });
      expect(corrupt.error.code).toBe('CHECKPOINT_CORRUPT');
    }
    const listed = await checkpoints(hub, 'wf');
    expect(listed).toHaveLength(1);
    expect((await status(hub, 'wf', {})).workflow_state.status).toBe('created');
  });

  it('verify_integrity false is said to be checked anyway; the bundle form still works, mixed forms are refused', async () => {
    const { hub } = await openHub();
    await ok(hub, { operation: 'create', workflow_id: 'wf', parameters: twoRoles });
    const unverified = await ok(hub, { operation: 'load-state', workflow_id: 'wf', parameters: { verify_integrity: false } });
    expect((unverified.result as any).integrity).toMatchObject({ sha256: 'verified', scratch_restore: 'skipped' });
    expect(unverified.warnings!.join(' ')).toMatch(/sha256 check is never skipped/);

    const path = join(dir, 'wf.troupe');
    await ok(hub, { operation: 'save-state', workflow_id: 'wf', parameters: { path } });
    const bundle = await ok(hub, { operation: 'load-state', parameters: { path, overwrite: true, verify_integrity: false } });
    expect(bundle.warnings!.join(' ')).toMatch(/always checked whole/);
    expect((await fails(hub, { operation: 'load-state', parameters: {} })).error.code).toBe('VALIDATION_FAILED');
    expect((await fails(hub, { operation: 'load-state', workflow_id: 'wf', parameters: { path, checkpoint_id: '1' } })).error.code).toBe('VALIDATION_FAILED');
    await ok(hub, { operation: 'create', workflow_id: 'other', parameters: twoRoles });
    const wrongId = await fails(hub, { operation: 'load-state', workflow_id: 'other', parameters: { path, overwrite: true } });
    expect(wrongId.error.message).toContain('holds workflow "wf", not other');
  });

  it('the REPL parses both forms', () => {
    expect(splitLine('workflow_123 load-state {"checkpoint_id":"chkpt_456","verify_integrity":true,"restore_agents":true}')).toEqual({
      workflowId: 'workflow_123',
      operation: 'load-state',
      paramsText: '{"checkpoint_id":"chkpt_456","verify_integrity":true,"restore_agents":true}',
    });
    expect(splitLine('load-state {"path":"wf.troupe"}')).toEqual({ operation: 'load-state', paramsText: '{"path":"wf.troupe"}' });
  });
});

describe('restore {"checkpoint_id":"chkpt_789","strategy":"full_restore","verify_dependencies":true}', () => {
  /**
   * A data directory whose workflow `wf` (created, not started) has two more
   * checkpoints written as a troupe with `include_files` would: `with_files`
   * recording `tracked`, and `bad_handler`, whose task b names a handler this
   * troupe does not have.
   */
  async function prepared(): Promise<{ hub: Hub; tracked: string }> {
    const { hub } = await openHub();
    await ok(hub, { operation: 'create', workflow_id: 'wf', parameters: twoRoles });
    await closeLast();
    const tracked = join(dir, 'tracked.txt');
    await writeFile(tracked, 'as it was');
    const store = new FileCheckpointStore(join(dir, 'data', 'checkpoints'));
    const newest = await store.read((await store.list('wf')).at(-1)!);
    const { format_version: _v, body_sha256: _s, ...header } = newest.header;
    const body = newest.body as any;
    const spec = structuredClone(body.snapshot.context.spec);
    spec.phases[0].tasks[1].handler = 'nowhere';
    await store.write({ ...header, seq: header.seq + 1, trigger: 'manual', name: 'bad_handler' }, { ...body, snapshot: { ...body.snapshot, context: { ...body.snapshot.context, spec } } });
    await store.write({ ...header, seq: header.seq + 2, trigger: 'manual', name: 'with_files' }, { ...body, files: await recordFiles([tracked]) });
    return { hub: (await openHub()).hub, tracked };
  }

  it('passes when the recorded files are unchanged; refuses, changing nothing, once one changed, unless verify_dependencies is false', async () => {
    const { hub, tracked } = await prepared();
    const passed = await ok(hub, { operation: 'restore', workflow_id: 'wf', parameters: { checkpoint_id: 'with_files', strategy: 'full_restore', verify_dependencies: true } });
    expect(passed.result).toMatchObject({ dependency_validation: 'passed', dependencies: { tasks_checked: 2, reasons: [], files: { checked: 1, changed: [] } } });
    expect(passed.metrics).toMatchObject({ agents_affected: 0, resources_used: expect.stringMatching(/read.*written/) });

    await writeFile(tracked, 'changed since');
    const epoch = (passed.result as any).epoch;
    const refused = await fails(hub, { operation: 'restore', workflow_id: 'wf', parameters: { checkpoint_id: 'with_files', verify_dependencies: true } });
    expect(refused.error.code).toBe('DEPENDENCY_VALIDATION_FAILED');
    expect(refused.error.details).toContain(`file ${tracked} changed since the checkpoint`);
    const forced = await ok(hub, { operation: 'restore', workflow_id: 'wf', parameters: { checkpoint_id: 'with_files', verify_dependencies: false } });
    // the refused restore bumped nothing
    expect((forced.result as any).epoch).toBe(epoch + 1);
    expect(forced.result).toMatchObject({ dependency_validation: 'failed', dependencies: { files: { changed: [{ path: tracked }] } } });
    expect(forced.warnings!.join(' ')).toMatch(/verify_dependencies: false/);
  });

  it('refuses a checkpoint whose tasks to run again name a handler this troupe does not have', async () => {
    const { hub } = await prepared();
    const refused = await fails(hub, { operation: 'restore', workflow_id: 'wf', parameters: { checkpoint_id: 'bad_handler' } });
    expect(refused.error.code).toBe('DEPENDENCY_VALIDATION_FAILED');
    expect(refused.error.details).toContain('task b: its handler nowhere is not configured here');
    expect(existsSync(join(dir, 'data', 'checkpoints', 'wf'))).toBe(true);
    expect((await checkpoints(hub, 'wf')).every((c) => c.trigger !== 'restore')).toBe(true);
  });

  it('strategy rollback: back to the checkpoint as the rollback operation goes, recorded as a rollback; completed work runs again', async () => {
    const { hub } = await openHub();
    await ok(hub, { operation: 'create', workflow_id: 'wf', parameters: twoRoles });
    await ok(hub, { operation: 'start', workflow_id: 'wf' });
    await ok(hub, { operation: 'wait', workflow_id: 'wf' });
    const start = (await checkpoints(hub, 'wf')).find((c) => c.trigger === 'start')!;
    const rolled = (await result(hub, { operation: 'restore', workflow_id: 'wf', parameters: { checkpoint_id: start.checkpoint_id, strategy: 'rollback' } })) as any;
    expect(rolled).toMatchObject({ strategy: 'rollback', restored_from: start.checkpoint_id, dependency_validation: 'passed' });
    expect(rolled.new_checkpoint).toMatch(/-rollback$/);
    expect(rolled.completed_tasks_to_run_again.sort()).toEqual(['a', 'b']);
    expect(hub.events('wf').findLast((e) => e.event_type === 'CHECKPOINT_RESTORED')!.data).toMatchObject({ strategy: 'rollback', source: 'restore' });
    expect((await result(hub, { operation: 'wait', workflow_id: 'wf' })).status).toBe('completed');
  });
});
