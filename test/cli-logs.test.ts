/**
 * Issue 11: `troupe logs ID [TASK] [-f]` from the shell, through the running
 * supervisor and straight from the data directory when none runs.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, scratchDir, serve } from './helpers/cli.js';

const LINES = 15;

describe('troupe logs', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await scratchDir()));
  afterAll(() => cleanup());

  it('-f follows a running task to its end through the supervisor; the lines stay readable from the data directory after it stops', async () => {
    const dataDir = join(dir, 'data');
    const server = await serve(dataDir);
    try {
      const definition = {
        name: 'printer',
        phases: [{ name: 'work', tasks: [{ id: 'job', handler: 'exec', input: { command: `i=1; while [ $i -le ${LINES} ]; do echo "out $i"; i=$((i+1)); sleep 0.1; done` } }] }],
      };
      const created = await runCli(['exec', `wf create ${JSON.stringify(definition)}`, 'wf start', '--data-dir', dataDir]);
      expect(created.code).toBe(0);
      // started before the task has printed anything: it waits for the log, follows it, and ends with the task
      const followed = await runCli(['logs', 'wf', 'job', '-f', '--data-dir', dataDir]);
      expect([followed.code, followed.stderr]).toEqual([0, '']);
      expect(followed.stdout.split('\n').filter(Boolean)).toEqual(Array.from({ length: LINES }, (_, i) => `out ${i + 1}`));
      const all = await runCli(['logs', 'wf', '--data-dir', dataDir, '--tail', '2']);
      expect(all.stdout).toBe(`── job attempt 1, completed\nout ${LINES - 1}\nout ${LINES}\n`);
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    }
    const offline = await runCli(['logs', 'wf', 'job', '--data-dir', dataDir, '--tail', '3']);
    expect([offline.code, offline.stdout]).toEqual([0, `out ${LINES - 2}\nout ${LINES - 1}\nout ${LINES}\n`]);
    // with no process running it, -f from the data directory prints what there is and ends
    expect((await runCli(['logs', 'wf', 'job', '-f', '--data-dir', dataDir, '--tail', '1'])).stdout).toBe(`out ${LINES}\n`);
    const missing = await runCli(['logs', 'wf', 'nope', '--data-dir', dataDir]);
    expect([missing.code, missing.stderr]).toEqual([1, `troupe: TASK_NOT_FOUND: No log of task nope of wf in ${dataDir}\n  Tasks with a log: job\n`]);
    expect((await runCli(['logs', '--data-dir', dataDir])).code).toBe(2);
  }, 60_000);
});
