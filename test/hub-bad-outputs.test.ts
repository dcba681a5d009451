/**
 * Issue "Hardening", item 4: a user handler's output that msgpack cannot
 * encode (nested 3 000 deep, cyclic, a BigInt) or that is too large for the
 * log (70 MiB) used to crash the supervisor when its outcome was logged, and
 * again at every restart (the task ran again); a 70 MiB one was written and
 * then cut off as damage at the next start. Now such an output fails its task
 * only, with a coded, non-retryable error, and nothing bad reaches the log.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Hub, ManualClock } from '../src/index.js';
import { closeHub, eventsOf, makeHub, ok, run, statusOf, taskOf, untilEvent, waitFor } from './hub-fixtures.js';
import { scratchDir } from './helpers/cli.js';

const here = dirname(fileURLToPath(import.meta.url));
const module = './fixtures/handlers/bad-outputs.mjs';
const handlers = Object.fromEntries(['deep', 'cyclic', 'bigint', 'huge', 'badError', 'badProgress', 'fine'].map((name) => [name, `${module}#${name}`]));

let dir: string;
let removeDir: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup: removeDir } = await scratchDir()));
afterAll(() => removeDir());

let open: { hub: Hub; clock: ManualClock } | undefined;
afterEach(async () => {
  if (open) await closeHub(open.hub, open.clock);
  open = undefined;
});

async function hubOn(dataDir: string): Promise<Hub> {
  if (open) await closeHub(open.hub, open.clock);
  open = makeHub({ handlers, handlersBaseDir: here, dataDir });
  await open.hub.ready;
  return open.hub;
}

const runsIn = async (runDir: string) => (await readFile(join(runDir, 'runs.txt'), 'utf8').catch(() => '')).split('\n').filter(Boolean);

describe('a handler output the log cannot hold', () => {
  it.each([
    ['deep', 'OUTPUT_NOT_SERIALIZABLE', 'nests deeper than 100 levels'],
    ['cyclic', 'OUTPUT_NOT_SERIALIZABLE', 'output.child.back refers back to output (a cycle)'],
    ['bigint', 'OUTPUT_NOT_SERIALIZABLE', 'output.total is a BigInt (12345678901234567890n)'],
    ['huge', 'OUTPUT_TOO_LARGE', 'is at least 70 MiB, over max_output_bytes (4 MiB)'],
  ])('%s: fails its task only with %s; the supervisor survives, and a restart neither reruns it nor finds damage', async (handler, code, says) => {
    const dataDir = join(dir, `data-${handler}`);
    const runDir = join(dir, `runs-${handler}`);
    await mkdir(runDir);
    let hub = await hubOn(dataDir);
    await run(hub, 'wf', {
      name: handler,
      failure_tolerance: 'high',
      phases: [{ name: 'p', tasks: [{ id: 'bad', handler, input: { dir: runDir } }, { id: 'good', handler: 'fine', input: { dir: runDir } }] }],
    });
    expect((await waitFor(hub, 'wf')).status).toBe('partial');
    const bad = taskOf(await statusOf(hub, 'wf'), 'bad');
    expect(bad).toMatchObject({ status: 'failed', attempts: 1, error: { code, retryable: false } });
    expect(bad.error!.message).toContain(says);
    expect(bad.error!.message).toContain('task bad');
    expect(taskOf(await statusOf(hub, 'wf'), 'good').status).toBe('completed');

    hub = await hubOn(dataDir);
    const again = await statusOf(hub, 'wf');
    expect(again.status).toBe('partial');
    expect(taskOf(again, 'bad').error).toMatchObject({ code, retryable: false });
    // each ran once: the failure was logged, so the restart resolved it from the log
    expect((await runsIn(runDir)).sort()).toEqual(['bad', 'good']);
    const health = (await ok(hub, { operation: 'health' })).result as { status: string; recovery: { log_damage: unknown[] } };
    expect(health.recovery.log_damage).toEqual([]);
    expect(health.status).toBe('healthy');
    // the hub still runs work
    await run(hub, 'wf_after', { name: 'after', phases: [{ name: 'p', tasks: [{ id: 't', handler: 'fine' }] }] });
    expect((await waitFor(hub, 'wf_after')).status).toBe('completed');
  }, 60_000);

  it('an error whose message, name and code are huge fails its task with them cut to size', async () => {
    const hub = await hubOn(join(dir, 'data-error'));
    await run(hub, 'wf', { name: 'err', phases: [{ name: 'p', tasks: [{ id: 't', handler: 'badError' }] }] });
    expect((await waitFor(hub, 'wf')).status).toBe('failed');
    const { error } = taskOf(await statusOf(hub, 'wf'), 't');
    expect(error!.message).toHaveLength(16 * 1024);
    expect(error!.message).toMatch(/^m+… \(message cut: 8388608 characters, at most 16384 are kept\)$/);
    expect(error!.name).toMatch(/^N+… \(name cut: 10000 characters, at most 200 are kept\)$/);
    expect(error!.name).toHaveLength(200);
    expect(error!.code.length).toBeLessThanOrEqual(100);
    expect(error!.code.startsWith('BAD_CCC')).toBe(true);
  }, 30_000);

  it('progress the codec cannot encode is replaced by a note; the task completes and the supervisor survives', async () => {
    const hub = await hubOn(join(dir, 'data-progress'));
    const seen = join(dir, 'progress-seen');
    await run(hub, 'wf', { name: 'progress', phases: [{ name: 'p', tasks: [{ id: 't', handler: 'badProgress', input: { seen } }] }] });
    const progress = await untilEvent(hub, 'wf', 'PHASE_PROGRESS', 't');
    // the handshake: the handler returns only once its beat has been seen
    await writeFile(seen, '');
    expect((await waitFor(hub, 'wf')).status).toBe('completed');
    expect(progress.data.task_progress).toEqual({ omitted: expect.stringContaining('progress.step is a BigInt (1n)') });
    expect(eventsOf(hub, 'wf', 'TASK_COMPLETED', 't')).toHaveLength(1);
  }, 30_000);
});
