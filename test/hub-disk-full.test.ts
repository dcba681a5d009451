/**
 * Issue "Hardening", item 7: a full disk used to be an unhandled ENOSPC
 * crash. Now the hub reports it (SYSTEM_ERROR, `health` degraded with the
 * reason), stops dispatching while it keeps answering commands, and resumes
 * once writes succeed again: the outcome that could not be logged is logged
 * then, and nothing is lost, torn or run twice. The data directory is a real
 * tmpfs of 2 MiB, filled up by the test; where mounting one is not allowed
 * (not root, no CAP_SYS_ADMIN) the file is skipped with the reason printed.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createManualClock, errorResponse, type Hub, type ManualClock } from '../src/index.js';
import { STORAGE_PROBE_MS, StorageHealth, type StorageReport } from '../src/runtime/durability/storage-health.js';
import { closeHub, fails, makeHub, ok, run, statusOf, taskOf, tick, until, untilAgentFree, untilEvent, waitFor } from './hub-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const handlers = { gated: './fixtures/handlers/gated.mjs#gated' };

const scratch = await mkdtemp(join(tmpdir(), 'troupe-disk-full-'));
const mountPoint = join(scratch, 'tmpfs');
await mkdir(mountPoint);
let skipReason: string | null = null;
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint], { stdio: 'pipe' });
} catch (error) {
  skipReason = `cannot mount a tmpfs here (${(error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message}): the disk-full tests need root or CAP_SYS_ADMIN`;
  console.warn(`hub-disk-full.test.ts skipped: ${skipReason}`);
}

afterAll(async () => {
  if (!skipReason) execFileSync('umount', [mountPoint]);
  await rm(scratch, { recursive: true, force: true });
});

/** Writes zeros into `path` until the file system is full. */
async function fill(path: string): Promise<void> {
  const file = await open(path, 'w');
  const chunk = Buffer.alloc(16 * 1024);
  try {
    for (;;) await file.write(chunk);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    await file.close();
  }
}

describe.skipIf(skipReason !== null)('a full disk under a running supervisor', () => {
  let made: { hub: Hub; clock: ManualClock } | undefined;
  afterAll(async () => {
    if (made) await closeHub(made.hub, made.clock);
  });

  it('is reported, pauses dispatching while commands are answered, and resumes once space is freed, losing and rerunning nothing', async () => {
    const dataDir = join(mountPoint, 'data');
    const gate = join(scratch, 'gate');
    await mkdir(gate);
    const runs = join(gate, 'runs.txt');
    made = makeHub({ dataDir, handlers, handlersBaseDir: here });
    const { hub, clock } = made;
    await hub.ready;
    await run(hub, 'wf', {
      name: 'disk full',
      phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'gated', input: { runs, go: join(gate, 'go') } }, { id: 'b', handler: 'echo', input: { value: 'after' }, depends_on: ['a'] }] }],
    });
    await untilEvent(hub, 'wf', 'TASK_STARTED', 'a');
    await hub.execute({ operation: 'health' });

    await fill(join(mountPoint, 'filler'));
    // the log's last page may still have room: events go to the log until it says it cannot write
    const unwritable = () => hub.events().some((e) => e.event_type === 'SYSTEM_ERROR' && e.data.error_type === 'storage_unwritable');
    for (let i = 0; !unwritable(); i++) {
      await ok(hub, { operation: 'publish-event', parameters: { event_type: 'ERROR_ENCOUNTERED', data: { component: 'disk filler', i } } });
      await tick();
      expect(i).toBeLessThan(100_000);
    }
    // a ends now: its agent is free once the outcome is back, and the outcome waits for the log
    await writeFile(join(gate, 'go'), '');
    await untilAgentFree(hub, 'wf', 'a');
    const reported = hub.events().find((e) => e.data.error_type === 'storage_unwritable')!;
    expect(reported).toMatchObject({ workflow_id: 'global', severity: 'critical', data: { affected_components: ['log'], codes: ['ENOSPC'] } });
    expect(reported.data.message).toContain('The data directory cannot be written (the log: ENOSPC');

    // commands are answered; the outcome of a waits to be logged, and b is not dispatched
    const health = (await ok(hub, { operation: 'health' })).result as { status: string; storage: { writable: boolean; dispatching: string; troubles: { part: string; code: string }[] }; components: { component_id: string; status: string }[] };
    expect(health.status).toBe('degraded');
    expect(health.storage).toMatchObject({ writable: false, dispatching: 'paused', troubles: [{ part: 'log', code: 'ENOSPC' }] });
    expect(health.components.find((c) => c.component_id === 'log')!.status).toBe('degraded');
    const during = await statusOf(hub, 'wf');
    expect([taskOf(during, 'a').status, taskOf(during, 'b').status]).toEqual(['running', 'pending']);
    await ok(hub, { operation: 'list-workflows' });
    const refused = await fails(hub, { operation: 'create', workflow_id: 'wf_new', parameters: { name: 'new', phases: ['setup'] } });
    expect(refused.error).toMatchObject({ code: 'STORAGE_FAILED', message: expect.stringContaining('The data directory could not be written (ENOSPC)') });

    await rm(join(mountPoint, 'filler'));
    clock.advance(STORAGE_PROBE_MS);
    expect((await waitFor(hub, 'wf')).status).toBe('completed');
    await until(() => hub.events().some((e) => e.event_type === 'SYSTEM_MAINTENANCE' && e.data.operation_type === 'storage recovered'), 'storage recovered');
    expect(((await ok(hub, { operation: 'health' })).result as { storage: { writable: boolean } }).storage.writable).toBe(true);
    expect(taskOf(await statusOf(hub, 'wf'), 'b').output).toBe('after');
    // the create refused while the disk was full left nothing behind
    expect((await fails(hub, { operation: 'get-status', workflow_id: 'wf_new' })).error.code).toBe('WORKFLOW_NOT_FOUND');

    await closeHub(hub, clock);
    made = makeHub({ dataDir, handlers, handlersBaseDir: here });
    await made.hub.ready;
    const again = (await ok(made.hub, { operation: 'health' })).result as { status: string; recovery: { log_damage: unknown[] } };
    expect(again.recovery.log_damage).toEqual([]);
    expect((await statusOf(made.hub, 'wf')).status).toBe('completed');
    expect((await readFile(runs, 'utf8')).trim().split('\n')).toEqual(['a']);
    expect((await made.hub.execute({ operation: 'get-status', workflow_id: 'wf_new' })).status).toBe('error');
  }, 60_000);
});

describe('a write the storage refuses, as a command answers it', () => {
  it('is STORAGE_FAILED with the errno, the operation and what to do', () => {
    const error = Object.assign(new Error("ENOSPC: no space left on device, open '/d/checkpoints/wf/x.tmp'"), { code: 'ENOSPC' });
    const response = errorResponse(error, { operation: 'pause', workflow_id: 'wf' }, 0);
    expect(response.error).toEqual({
      code: 'STORAGE_FAILED',
      message: 'The data directory could not be written (ENOSPC), so pause is not durable',
      details: "ENOSPC: no space left on device, open '/d/checkpoints/wf/x.tmp'. Its change may hold in memory until the supervisor stops; it is not acknowledged",
    });
    expect(response.recovery_suggestions[0]).toMatch(/^Free space in the data directory/);
  });
});

describe('StorageHealth', () => {
  const enospc = { code: 'ENOSPC', message: 'no space left on device' };

  it('reports a part that cannot be written once, probes it on the clock, and reports writable when the probe succeeds', async () => {
    const clock = createManualClock(0);
    let logWorks = false;
    const probed: string[] = [];
    const health = new StorageHealth(clock, {
      log: async () => (probed.push('log'), logWorks),
      checkpoints: async () => (probed.push('checkpoints'), true),
    });
    const reports: StorageReport[] = [];
    health.onReport((r) => reports.push(r));
    health.failed('log', enospc);
    health.failed('log', { code: 'ENOSPC', message: 'again' });
    clock.advance(500);
    health.failed('checkpoints', { code: 'EIO', message: 'i/o error' });
    expect(reports.map((r) => r.type)).toEqual(['unwritable', 'unwritable']);
    expect(health.troubles).toEqual([
      { part: 'log', code: 'ENOSPC', message: 'again', since: 0 },
      { part: 'checkpoints', code: 'EIO', message: 'i/o error', since: 500 },
    ]);
    expect(health.describe()).toBe(
      'The data directory cannot be written (the log: ENOSPC (again), for 500ms; checkpoints: EIO (i/o error), for 0ms): no new task is dispatched, commands are answered, writes are tried again every 2s',
    );
    clock.advance(STORAGE_PROBE_MS - 500);
    await until(() => probed.length === 2, 'the first probe');
    expect(health.troubles.map((t) => t.part)).toEqual(['log']);
    logWorks = true;
    clock.advance(STORAGE_PROBE_MS);
    await until(() => !health.degraded, 'the second probe');
    expect(reports.at(-1)).toEqual({ type: 'writable', unwritableMs: 2 * STORAGE_PROBE_MS });
    expect(clock.pending()).toBe(0);
  });

  it('ignores errors that are not the storage\'s, and stops when closed', () => {
    const clock = createManualClock(0);
    const health = new StorageHealth(clock, { log: async () => true, checkpoints: async () => true });
    health.failed('checkpoints', new RangeError('Maximum call stack size exceeded'));
    health.failed('log', { code: 'EBADF', message: 'bad file descriptor' });
    expect(health.degraded).toBe(false);
    health.failed('log', enospc);
    health.close();
    expect(clock.pending()).toBe(0);
  });
});
