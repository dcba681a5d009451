/**
 * A person in the loop through the real command line (DESIGN §5, §12): `troupe
 * run` stops at an approval and says how to answer; the supervisor is killed
 * with -9 and started again; the answer comes from another terminal
 * (`troupe exec` on the control socket) and the run finishes. Likewise for a
 * task that waits for intervention.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, scratchDir } from './helpers/cli.js';

describe('troupe run with a person in the loop', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await scratchDir()));
  afterAll(() => cleanup());

  it('an approval is answered from another terminal after a kill -9 and a restart', async () => {
    const file = join(dir, 'release.yaml');
    await writeFile(
      file,
      [
        'name: release',
        'phases:',
        '  - name: ship',
        '    tasks:',
        '      - {id: build, handler: echo, input: {value: "1.4.2"}}',
        '      - {id: release, handler: approval, depends_on: [build], input: {prompt: "Release ${{ tasks.build.output }}?", timeout: 1h}}',
        '      - {id: deploy, handler: echo, depends_on: [release], input: {value: "deployed"}}',
      ].join('\n'),
    );
    const dataDir = join(dir, 'data-approval');
    const args = ['run', file, '--id', 'rel', '--data-dir', dataDir];
    // the first supervisor says how to answer, and is killed while it waits
    const first = await runCli(args, { onStdout: (text, child) => text.includes('answer from another terminal') && child.kill('SIGKILL') });
    expect(first.signal).toBe('SIGKILL');
    expect(first.stdout).toContain('waits for approval: Release 1.4.2?');
    expect(first.stdout).toContain(`answer from another terminal: troupe approve rel release --data-dir ${dataDir}`);
    // the second one recovers it, still waiting; another terminal approves through its socket
    let answered: Promise<unknown> | null = null;
    const second = await runCli(args, {
      onStdout: (text) => {
        if (answered || !text.includes('recovered from the data directory')) return;
        answered = (async () => {
          for (let i = 0; i < 100; i++) {
            const pending = await runCli(['exec', '--data-dir', dataDir, '--json', 'approvals']);
            if (pending.stdout.includes('"task_id":"release"')) break;
            await new Promise((r) => setTimeout(r, 100));
          }
          // the command the first run printed, as typed
          return runCli(['approve', 'rel', 'release', '--data-dir', dataDir, '--by', 'alice', '--comment', 'go']);
        })();
      },
    });
    const approval = (await answered) as { code: number; stdout: string } | null;
    expect(approval?.code).toBe(0);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('approved by alice');
    expect(second.stdout).toMatch(/deploy\s+✓ completed/);
  }, 60_000);

  it('a task that waits for intervention is retried from another terminal, and the run ends completed', async () => {
    const file = join(dir, 'fragile.yaml');
    const flag = join(dir, 'fixed');
    await writeFile(
      file,
      [
        'name: fragile',
        'phases:',
        '  - name: p',
        '    tasks:',
        `      - {id: deploy, handler: exec, on_failure: intervene, input: {command: "test -f ${flag}"}}`,
      ].join('\n'),
    );
    const dataDir = join(dir, 'data-intervene');
    let answered: Promise<unknown> | null = null;
    const run = await runCli(['run', file, '--id', 'fr', '--data-dir', dataDir], {
      onStdout: (text) => {
        if (answered || !text.includes('waits for a person')) return;
        answered = (async () => {
          await writeFile(flag, 'now it works');
          return runCli(['exec', '--data-dir', dataDir, 'fr retry-task {"task_id":"deploy"}']);
        })();
      },
    });
    expect(((await answered) as { code: number } | null)?.code).toBe(0);
    expect(run.stdout).toContain(`fr retry-task {"task_id":"deploy"}`);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/deploy\s+✓ completed/);
  }, 60_000);
});
