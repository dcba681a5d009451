import { readdir, rm, truncate, writeFile, appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, createManualClock, type EventRecord, type Hub } from '../src/index.js';
import { scratchDir } from './helpers/cli.js';
import { ok } from './helpers/responses.js';


/** Lets pending I/O callbacks (worker results, log writes) run, until `check` holds. */
async function until(check: () => boolean | Promise<boolean>, rounds = 2000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error('condition never held');
}

const task = (id: string, extra: Record<string, unknown> = {}) => ({ id, handler: 'echo', input: { value: id }, ...extra });

describe('a restart on the same data directory', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hubs: Hub[] = [];
  const open = (options: Parameters<typeof createHub>[0] = {}) => {
    const hub = createHub({ maxThreads: 2, dataDir: dir, ...options });
    hubs.push(hub);
    return hub;
  };
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(async () => {
    for (const hub of hubs) await hub.close({ graceMs: 0 });
    hubs = [];
    await cleanup();
  });

  const status = async (hub: Hub, id = 'wf') => ok(await hub.execute({ operation: 'get-status', workflow_id: id })).workflow_state;
  /** tasks started by this hub, after its startup (the history before it is restored from the log) */
  const startedTasks = (hub: Hub) => {
    const startup = hub.events().findLast((e) => e.event_type === 'SYSTEM_STARTUP')!.seq;
    return hub.events('wf').filter((e: EventRecord) => e.event_type === 'TASK_STARTED' && e.seq > startup).map((e) => String(e.data.task_id));
  };

  it('keeps a paused workflow paused with its completed tasks, and finishes it on resume without rerunning them', async () => {
    const a = open();
    await a.ready;
    const definition = { name: 'pausable', phases: [{ name: 'p', tasks: [task('one'), task('two', { depends_on: ['one'] })] }, { name: 'q', tasks: [task('three')] }] };
    ok(await a.execute({ operation: 'create', workflow_id: 'wf', parameters: definition }));
    ok(await a.execute({ operation: 'start', workflow_id: 'wf' }));
    ok(await a.execute({ operation: 'pause', workflow_id: 'wf' }));
    await until(async () => (await status(a)).phases[0].tasks[0].status === 'completed');
    await a.close();

    const b = open();
    await b.ready;
    const state = await status(b);
    expect(state.status).toBe('paused');
    expect(state.phases[0].tasks[0]).toMatchObject({ task_id: 'one', status: 'completed', attempts: 1, output: 'one' });
    expect(state.phases[0].tasks[1].status).toBe('ready');
    ok(await b.execute({ operation: 'resume', workflow_id: 'wf' }));
    expect(ok(await b.execute({ operation: 'wait', workflow_id: 'wf' })).status).toBe('completed');
    expect(startedTasks(b).filter((t) => t === 'one')).toEqual([]);
    // the history survives too: the first run's events are still there, in order
    const types = b.events('wf').map((e) => e.event_type);
    expect(types.indexOf('WORKFLOW_CREATED')).toBe(0);
    expect(types.filter((t) => t === 'WORKFLOW_PAUSED')).toHaveLength(1);
    const seqs = b.events().map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  });

  it('keeps a pending retry with its retry time, and runs it once the clock passes it', async () => {
    const clock = createManualClock(Date.UTC(2026, 0, 1));
    const a = open({ clock, random: () => 0.5 });
    await a.ready;
    const definition = { name: 'retry', phases: [{ name: 'p', tasks: [{ id: 'flaky', handler: 'fail', input: { times: 1 }, retries: 2 }] }] };
    ok(await a.execute({ operation: 'create', workflow_id: 'wf', parameters: definition }));
    ok(await a.execute({ operation: 'start', workflow_id: 'wf' }));
    await until(async () => (await status(a)).phases[0].tasks[0].retry_at !== undefined);
    const retryAt = (await status(a)).phases[0].tasks[0].retry_at as string;
    await a.close();

    const b = open({ clock, random: () => 0.5 });
    await b.ready;
    expect((await status(b)).phases[0].tasks[0]).toMatchObject({ status: 'ready', attempts: 1, retry_at: retryAt });
    clock.advance(Date.parse(retryAt) - clock.now());
    expect(ok(await b.execute({ operation: 'wait', workflow_id: 'wf' })).status).toBe('completed');
    expect((await status(b)).phases[0].tasks[0]).toMatchObject({ attempts: 2, output: { succeeded_on_attempt: 2 } });
  });

  it('re-arms the deadline: one that passed while the supervisor was down fires at once', async () => {
    const clock = createManualClock(Date.UTC(2026, 0, 1));
    const a = open({ clock });
    await a.ready;
    const definition = { name: 'deadline', timeout: '1h', phases: [{ name: 'p', tasks: [{ id: 'nap', handler: 'sleep', input: { ms: 60_000 } }] }] };
    ok(await a.execute({ operation: 'create', workflow_id: 'wf', parameters: definition }));
    ok(await a.execute({ operation: 'start', workflow_id: 'wf' }));
    await a.close({ graceMs: 0 });

    clock.advance(2 * 3_600_000);
    const b = open({ clock });
    await b.ready;
    // the re-armed deadline is already due: the manual clock fires it on its next move
    clock.advance(0);
    const done = ok(await b.execute({ operation: 'wait', workflow_id: 'wf' }));
    expect(done).toMatchObject({ status: 'failed', failure: { code: 'WORKFLOW_TIMEOUT' } });
  });

  it('runs a task that was in flight with no outcome again, with the same idempotency key', async () => {
    const a = open();
    await a.ready;
    const definition = { name: 'inflight', phases: [{ name: 'p', tasks: [{ id: 'nap', handler: 'sleep', input: { ms: 30_000 } }] }] };
    ok(await a.execute({ operation: 'create', workflow_id: 'wf', parameters: definition }));
    ok(await a.execute({ operation: 'start', workflow_id: 'wf' }));
    await until(async () => (await status(a)).phases[0].tasks[0].status === 'running');
    await a.close({ graceMs: 0 });

    const b = open();
    await b.ready;
    const restored = b.events('wf').find((e) => e.event_type === 'CHECKPOINT_RESTORED')!;
    expect(restored.data).toMatchObject({ rerun_tasks: ['nap'] });
    const reassigned = b.events('wf').find((e) => e.event_type === 'TASK_REASSIGNED')!;
    expect(reassigned.data.task_id).toBe('nap');
    const task0 = (await status(b)).phases[0].tasks[0];
    expect(task0.attempts).toBe(1);
    // and it really runs again: dispatched by this hub, same attempt, same idempotency key
    await until(() => startedTasks(b).length > 0);
    expect(startedTasks(b)).toEqual(['nap']);
    const assigned = b.events('wf').filter((e) => e.event_type === 'TASK_ASSIGNED');
    expect(assigned.at(-1)!.data).toMatchObject({ task_id: 'nap', attempt: 1 });
  });

  it('says "already exists" for a finished workflow after a restart, and lists it', async () => {
    const a = open();
    await a.ready;
    ok(await a.execute({ operation: 'create', workflow_id: 'wf', parameters: { name: 'done', phases: [{ name: 'p', tasks: [task('x')] }] } }));
    ok(await a.execute({ operation: 'start', workflow_id: 'wf' }));
    ok(await a.execute({ operation: 'wait', workflow_id: 'wf' }));
    await a.close();
    const b = open();
    await b.ready;
    expect(ok(await b.execute({ operation: 'list-workflows' })).workflows).toEqual([expect.objectContaining({ workflow_id: 'wf', status: 'completed' })]);
    const again = await b.execute({ operation: 'create', workflow_id: 'wf', parameters: { name: 'done', phases: ['p'] } });
    expect(again.status === 'error' && again.error.code).toBe('WORKFLOW_EXISTS');
  });
});

describe('damage in the data directory is detected, survived and reported', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hubs: Hub[] = [];
  const open = () => {
    const hub = createHub({ maxThreads: 1, dataDir: dir });
    hubs.push(hub);
    return hub;
  };
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(async () => {
    for (const hub of hubs) await hub.close({ graceMs: 0 });
    hubs = [];
    await cleanup();
  });

  /** Two paused workflows, `wf` and `other`, with several checkpoints each. */
  async function twoPausedWorkflows() {
    const a = open();
    await a.ready;
    for (const id of ['wf', 'other']) {
      ok(await a.execute({ operation: 'create', workflow_id: id, parameters: { name: id, phases: [{ name: 'p', tasks: [task('x'), task('y', { depends_on: ['x'] })] }] } }));
      ok(await a.execute({ operation: 'start', workflow_id: id }));
      ok(await a.execute({ operation: 'pause', workflow_id: id }));
      ok(await a.execute({ operation: 'checkpoint', workflow_id: id, parameters: { name: 'manual' } }));
    }
    await a.close();
  }
  const health = async (hub: Hub) => ok(await hub.execute({ operation: 'health' }));
  const newestCheckpoint = async (id: string) => {
    const files = (await readdir(join(dir, 'checkpoints', id))).sort();
    return join(dir, 'checkpoints', id, files.at(-1)!);
  };

  it('a flipped byte in the newest checkpoint: the previous one is used, and health says so', async () => {
    await twoPausedWorkflows();
    const newest = await newestCheckpoint('wf');
    const bytes = await readFile(newest);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    await writeFile(newest, bytes);
    const b = open();
    await b.ready;
    const report = await health(b);
    expect(report.status).toBe('degraded');
    const wf = report.recovery.recovered.find((r: { workflow_id: string }) => r.workflow_id === 'wf');
    expect(wf.skipped_checkpoints).toEqual([{ id: newest.split('/').at(-1)!.replace('.ckpt', ''), reason: 'sha256 mismatch: the file is torn or altered' }]);
    expect(ok(await b.execute({ operation: 'get-status', workflow_id: 'wf' })).workflow_state.status).toBe('paused');
    expect(b.events('wf').find((e) => e.event_type === 'CHECKPOINT_RESTORED')!.severity).toBe('warning');
    // the other workflow is untouched
    expect(ok(await b.execute({ operation: 'get-status', workflow_id: 'other' })).workflow_state.status).toBe('paused');
  });

  it('missing checkpoint files: that workflow is reported as not recovered, the others run on', async () => {
    await twoPausedWorkflows();
    await rm(join(dir, 'checkpoints', 'wf'), { recursive: true });
    const b = open();
    await b.ready;
    const report = await health(b);
    expect(report.recovery.failed).toEqual([{ workflow_id: 'wf', code: 'CHECKPOINT_NOT_FOUND', message: 'Workflow wf cannot be recovered: it has no checkpoint' }]);
    expect(ok(await b.execute({ operation: 'resume', workflow_id: 'other' })).status).toBe('running');
    expect(ok(await b.execute({ operation: 'wait', workflow_id: 'other' })).status).toBe('completed');
  });

  it.each([
    ['a torn tail', async (file: string) => truncate(file, (await readFile(file)).length - 5), 'torn frame body'],
    ['a zero-filled tail', (file: string) => appendFile(file, Buffer.alloc(64)), 'bad frame magic (zeroed or overwritten)'],
  ])('%s of the log: truncated to the last good frame and reported', async (_name, damage, reason) => {
    await twoPausedWorkflows();
    const log = join(dir, 'events', (await readdir(join(dir, 'events'))).sort().at(-1)!);
    await damage(log);
    const b = open();
    await b.ready;
    const report = await health(b);
    expect(report.recovery.log_damage).toEqual([expect.objectContaining({ reason })]);
    expect(b.events().some((e) => e.event_type === 'ERROR_ENCOUNTERED' && e.data.component === 'log')).toBe(true);
    // both workflows still recover, and new records append cleanly after the cut
    expect(ok(await b.execute({ operation: 'resume', workflow_id: 'wf' })).status).toBe('running');
    expect(ok(await b.execute({ operation: 'wait', workflow_id: 'wf' })).status).toBe('completed');
    await b.close();
    const c = open();
    await c.ready;
    expect((await health(c)).recovery.log_damage).toEqual([]);
    expect(ok(await c.execute({ operation: 'get-status', workflow_id: 'wf' })).workflow_state.status).toBe('completed');
  });
});

describe('restore and rollback', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hub: Hub;
  beforeEach(async () => {
    ({ dir, cleanup } = await scratchDir());
    hub = createHub({ maxThreads: 2, dataDir: dir });
    await hub.ready;
  });
  afterEach(async () => {
    await hub.close({ graceMs: 0 });
    await cleanup();
  });

  it('rollback to a named checkpoint bumps the epoch and runs the later work again', async () => {
    const definition = { name: 'rb', phases: [{ name: 'p', tasks: [task('a')] }, { name: 'q', tasks: [task('b')] }] };
    ok(await hub.execute({ operation: 'create', workflow_id: 'wf', parameters: definition }));
    ok(await hub.execute({ operation: 'checkpoint', workflow_id: 'wf', parameters: { name: 'fresh' } }));
    ok(await hub.execute({ operation: 'start', workflow_id: 'wf' }));
    ok(await hub.execute({ operation: 'wait', workflow_id: 'wf' }));
    const listed = ok(await hub.execute({ operation: 'list-checkpoints', workflow_id: 'wf' })).checkpoints;
    expect(listed.map((c: { trigger: string }) => c.trigger)).toEqual(expect.arrayContaining(['create', 'manual', 'start', 'phase']));
    expect(listed.every((c: { valid: boolean }) => c.valid)).toBe(true);

    const rolled = ok(await hub.execute({ operation: 'rollback', workflow_id: 'wf', parameters: { name: 'fresh' } }));
    expect(rolled).toMatchObject({ epoch: 1, status: 'created' });
    ok(await hub.execute({ operation: 'start', workflow_id: 'wf' }));
    expect(ok(await hub.execute({ operation: 'wait', workflow_id: 'wf' })).status).toBe('completed');
    const starts = hub.events('wf').filter((e) => e.event_type === 'TASK_STARTED').map((e) => e.data.task_id);
    expect(starts.filter((t) => t === 'a')).toHaveLength(2);
  });

  it('restore of an unknown checkpoint is CHECKPOINT_NOT_FOUND, naming the ones there are', async () => {
    ok(await hub.execute({ operation: 'create', workflow_id: 'wf', parameters: { name: 'x', phases: ['p'] } }));
    const r = await hub.execute({ operation: 'restore', workflow_id: 'wf', parameters: { checkpoint_id: 'nope' } });
    expect(r.status === 'error' && r.error).toMatchObject({ code: 'CHECKPOINT_NOT_FOUND', details: 'Its checkpoints: 0000000001-create' });
  });
});
