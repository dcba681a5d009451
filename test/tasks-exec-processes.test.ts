/**
 * Issue 11: an `exec` task's process group and its log, in one supervisor:
 * stops end the group (SIGTERM, SIGKILL after kill_grace), a recorded pid now
 * owned by another process is never signalled, zombies count as ended, logs
 * are bounded and readable whatever the output, and a log that cannot be
 * written costs the log, not the task. Real pool, real processes, real files.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub, ManualClock } from '../src/index.js';
import { groupAlive, identityOf, isRunning, signalGroup, type ProcessIdentity } from '../src/actors/process-identity.js';
import { spoolDir } from '../src/actors/task-process.js';
import { closeHub, eventsOf, fails, makeHub, ok, run, statusOf, taskOf, until, waitFor } from './hub-fixtures.js';
import { scratchDir } from './helpers/cli.js';

const here = fileURLToPath(new URL('.', import.meta.url));

const execWorkflow = (command: string, extra: Record<string, unknown> = {}) => ({
  name: 'exec',
  phases: [{ name: 'work', tasks: [{ id: 'job', handler: 'exec', input: { command }, ...extra }] }],
});

/** The identity the shepherd of wf/job attempt 1 claimed. */
async function claimOf(dataDir: string, workflowId: string): Promise<ProcessIdentity> {
  return JSON.parse(await readFile(join(spoolDir(dataDir, workflowId, 0, 'job', 1), 'claim.json'), 'utf8')) as ProcessIdentity;
}

async function logsOf(hub: Hub, workflowId: string, params: Record<string, unknown> = { task_id: 'job' }) {
  return (await ok(hub, { operation: 'logs', workflow_id: workflowId, parameters: params })).result as { lines: string[]; dropped_bytes: number; size: number; attempt: number | null; live: boolean };
}

describe('exec process groups and task logs', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hub: Hub;
  let clock: ManualClock;
  let n = 0;
  const open = (options: Parameters<typeof makeHub>[0] = {}) => {
    const dataDir = join(dir, `data-${++n}`);
    ({ hub, clock } = makeHub({ dataDir, killGrace: '300ms', ...options }));
    return dataDir;
  };
  beforeAll(async () => ({ dir, cleanup } = await scratchDir()));
  afterAll(() => cleanup());

  it('a recorded pid now owned by an unrelated process is never signalled', async () => {
    const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const real = identityOf(bystander.pid!)!;
      // a claim naming the bystander's pid, from a process that started at another time
      const forged: ProcessIdentity = { ...real, pgid: real.pid, start_time: real.start_time + 12_345 };
      expect(isRunning(forged)).toBe(false);
      expect(groupAlive(forged)).toBe(false);
      expect(signalGroup(forged, 'SIGKILL')).toBe(false);
      // the same through the hub, in restart mode (which ends what it finds): a spool claimed by the forged identity
      const dataDir = open();
      const spool = spoolDir(dataDir, 'reuse', 0, 'job', 1);
      await mkdir(spool, { recursive: true });
      await writeFile(join(spool, 'claim.json'), JSON.stringify({ ...forged, started_at: Date.now() - 1_000, command: 'old' }));
      await run(hub, 'reuse', execWorkflow('echo fresh', { on_recovery: 'restart' }));
      expect((await waitFor(hub, 'reuse')).status).toBe('completed');
      expect((taskOf(await statusOf(hub, 'reuse'), 'job').output as { stdout: string }).stdout).toBe('fresh\n');
      expect(isRunning(real)).toBe(true);
      await closeHub(hub, clock);
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  it('a zombie counts as ended', async () => {
    // the background sleep's parent exec()s into a sleep that never reaps it
    const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (b: Buffer) => resolve(b.toString()))));
      const identity = identityOf(pid)!;
      expect(isRunning(identity)).toBe(true);
      await until(async () => (await readFile(`/proc/${pid}/stat`, 'utf8')).includes(') Z '), 'the child to become a zombie');
      expect(isRunning(identity)).toBe(false);
      expect(groupAlive({ ...identity, pgid: identity.pid })).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('a cancel ends a group that ignores SIGTERM with SIGKILL after kill_grace', async () => {
    const dataDir = open();
    await run(hub, 'stubborn', execWorkflow("trap '' TERM; echo started; sleep 30"));
    await until(async () => (await logsOf(hub, 'stubborn')).lines.includes('started'), 'the command to start', 15_000);
    const claim = await claimOf(dataDir, 'stubborn');
    expect(groupAlive(claim)).toBe(true);
    await ok(hub, { operation: 'cancel', workflow_id: 'stubborn' });
    await until(() => !groupAlive(claim), 'the group to be gone', 10_000);
    expect(taskOf(await statusOf(hub, 'stubborn'), 'job').status).toBe('cancelled');
    await closeHub(hub, clock);
  });

  it('shutdown ends running process groups, and marks them so the next start runs the task again', async () => {
    const dataDir = open();
    await run(hub, 'late', execWorkflow("trap '' TERM; echo started; sleep 30"));
    await until(async () => (await logsOf(hub, 'late')).lines.includes('started'), 'the command to start', 15_000);
    const claim = await claimOf(dataDir, 'late');
    await closeHub(hub, clock);
    expect(groupAlive(claim)).toBe(false);
    const aborted = JSON.parse(await readFile(join(spoolDir(dataDir, 'late', 0, 'job', 1), 'aborted.json'), 'utf8')) as { reason: string };
    expect(['HUB_SHUTDOWN', 'RUNNER_CLOSED']).toContain(aborted.reason);
  });

  it('keeps the end of a large output within task_log_max, and counts what it dropped', async () => {
    open({ taskLogMax: 64 * 1024 });
    // 5 000 lines of 44 bytes: 220 000 bytes
    await run(hub, 'big', execWorkflow('i=0; while [ $i -lt 5000 ]; do printf "line %05d of padding to make it longer....\\n" $i; i=$((i+1)); done'));
    expect((await waitFor(hub, 'big')).status).toBe('completed');
    const tail = await logsOf(hub, 'big', { task_id: 'job', tail: 3 });
    expect(tail.lines).toEqual(['line 04997 of padding to make it longer....', 'line 04998 of padding to make it longer....', 'line 04999 of padding to make it longer....']);
    expect(tail.size).toBe(220_000);
    expect(tail.dropped_bytes).toBeGreaterThan(220_000 - 64 * 1024);
    const { lines } = await logsOf(hub, 'big', { task_id: 'job', tail: 100_000 });
    expect(lines.length).toBeLessThanOrEqual((64 * 1024) / 44 + 1);
    await closeHub(hub, clock);
  });

  it('binary output reads back as text lines that cannot garble a terminal', async () => {
    open();
    await run(hub, 'binary', execWorkflow("head -c 4000 /dev/urandom; printf '\\n\\001\\002tail ok\\n'"));
    expect((await waitFor(hub, 'binary')).status).toBe('completed');
    const { lines } = await logsOf(hub, 'binary', { task_id: 'job', tail: 100_000 });
    expect(lines.at(-1)).toBe('\uFFFD\uFFFDtail ok');
    // eslint-disable-next-line no-control-regex
    expect(lines.filter((l) => /[\u0000-\u0008\u000a-\u001a\u001c-\u001f\u007f]/.test(l))).toEqual([]);
    expect(JSON.parse(JSON.stringify(lines))).toEqual(lines);
    await closeHub(hub, clock);
  });

  it("a user handler's ctx.log lines are its task's log", async () => {
    open({ handlers: { chatty: './fixtures/handlers/logging.mjs#chatty' }, handlersBaseDir: here });
    await run(hub, 'talk', { name: 'talk', phases: [{ name: 'work', tasks: [{ id: 'job', handler: 'chatty', input: { steps: 2 } }] }] });
    expect((await waitFor(hub, 'talk')).status).toBe('completed');
    expect((await logsOf(hub, 'talk')).lines).toEqual(['step 0', 'step 1', 'multi', 'line']);
    await closeHub(hub, clock);
  });

  it('a log that cannot be written costs the log, not the task: health turns degraded and says why', async () => {
    const dataDir = open();
    // the workflow's log folder is taken by a file: nothing can be created in it
    await mkdir(join(dataDir, 'logs'), { recursive: true });
    await writeFile(join(dataDir, 'logs', 'nolog'), 'in the way');
    await run(hub, 'nolog', execWorkflow('echo still runs'));
    expect((await waitFor(hub, 'nolog')).status).toBe('completed');
    expect((taskOf(await statusOf(hub, 'nolog'), 'job').output as { stdout: string }).stdout).toBe('still runs\n');
    const health = (await ok(hub, { operation: 'health' })).result as { status: string; components: { component_id: string; status: string; details: { write_errors: { task_id: string; message: string }[] } }[] };
    expect(health.status).toBe('degraded');
    const logs = health.components.find((c) => c.component_id === 'task-logs')!;
    expect(logs.status).toBe('degraded');
    expect(logs.details.write_errors.map((e) => e.task_id)).toEqual(['job']);
    expect(logs.details.write_errors[0]!.message).toMatch(/ENOTDIR|EEXIST/);
    expect(eventsOf(hub, 'nolog', 'SYSTEM_ERROR').map((e) => e.data.error_type)).toContain('task_log_write_failed');
    await closeHub(hub, clock);
  });

  it('logs answers the usual coded errors, naming what exists', async () => {
    open();
    await run(hub, 'ask', { name: 'ask', phases: [{ name: 'work', tasks: [{ id: 'job', handler: 'exec', input: { command: 'echo one' } }, { id: 'quiet', handler: 'noop' }] }] });
    expect((await waitFor(hub, 'ask')).status).toBe('completed');
    expect((await fails(hub, { operation: 'logs', workflow_id: 'nope', parameters: {} })).error.code).toBe('WORKFLOW_NOT_FOUND');
    const task = await fails(hub, { operation: 'logs', workflow_id: 'ask', parameters: { task_id: 'zz' } });
    expect([task.error.code, task.error.details]).toEqual(['TASK_NOT_FOUND', 'Its tasks: job, quiet']);
    const attempt = await fails(hub, { operation: 'logs', workflow_id: 'ask', parameters: { task_id: 'job', attempt: 2 } });
    expect([attempt.error.code, attempt.error.details]).toEqual(['LOG_NOT_FOUND', 'Attempts with a log: 1']);
    // a task that wrote nothing has an empty log, not an error
    expect(await logsOf(hub, 'ask', { task_id: 'quiet' })).toMatchObject({ attempt: null, lines: [], live: false });
    const all = (await ok(hub, { operation: 'logs', workflow_id: 'ask', parameters: {} })).result as { tasks: { task_id: string; lines: string[] }[] };
    expect(all.tasks.map((t) => [t.task_id, t.lines])).toEqual([['job', ['one']]]);
    await closeHub(hub, clock);
  });
});
