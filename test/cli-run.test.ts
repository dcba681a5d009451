import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, runCli, scratchDir } from './helpers/cli.js';

describe('troupe run FILE', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await scratchDir()));
  afterAll(() => cleanup());

  it('runs the hello example, shows progress and exits 0', async () => {
    const result = await runCli(['run', 'examples/hello.yaml', '--id', 'hello_1', '--data-dir', dir]);
    expect(result.stdout).toContain('▶ phase greet');
    expect(result.stdout).toContain('✓ greet/where');
    expect(result.stdout).toMatch(/hello_1\s+Hello troupe\s+✓ completed/);
    expect(result.code).toBe(0);
  });

  it('runs the build pipeline for real in a temporary directory and exits 0', async () => {
    const result = await runCli(['run', 'examples/build-pipeline.yaml', '--json', '--data-dir', dir], { env: { TMPDIR: dir } });
    const lines = jsonLines(result.stdout);
    const status = lines.at(-1)!.result.workflow_state;
    expect(status.status).toBe('completed');
    expect(status.metrics).toMatchObject({ tasks_total: 10, tasks_completed: 10, tasks_failed: 0 });
    const task = (id: string) => status.phases.flatMap((p: { tasks: unknown[] }) => p.tasks).find((t: { task_id: string }) => t.task_id === id);
    expect(task('unit-tests').output.stdout).toBe('2 assertions passed\n');
    expect(task('warm-cache').attempts).toBe(2);
    // exclusive_files: compile and docs both hold dist/manifest.json, so they never overlap
    const [compile, docs] = [task('compile'), task('docs')];
    expect(compile.completed_at <= docs.started_at || docs.completed_at <= compile.started_at).toBe(true);
    await access(join(dir, 'troupe-build-pipeline', 'math-0.1.0.tgz'));
    // every checkpoint is announced as well (CHECKPOINT_CREATED); the workflow's own events start and end the run
    const events = lines.filter((l) => 'event_type' in l && l.event_type !== 'CHECKPOINT_CREATED').map((l) => l.event_type as string);
    expect(events[0]).toBe('WORKFLOW_STARTED');
    expect(events.at(-1)).toBe('WORKFLOW_COMPLETED');
    expect(result.code).toBe(0);
  });

  it('exits 1 when the workflow fails', async () => {
    const file = join(dir, 'failing.yaml');
    await writeFile(file, 'name: failing\nphases:\n  - name: p\n    tasks:\n      - {id: boom, handler: exec, input: {command: "echo nope >&2; exit 7"}}\n');
    const result = await runCli(['run', file, '--data-dir', dir]);
    expect(result.stdout).toContain('✗ p/boom: `echo nope >&2; exit 7` exited with code 7: nope');
    expect(result.stdout).toContain('TASK_FAILED');
    expect(result.code).toBe(1);
  });

  it.each([
    ['two..dots.yaml', /two\.dots_[a-z0-9]+\s+dots\s+✓ completed/],
    [`${'l'.repeat(140)}.yaml`, new RegExp(`${'l'.repeat(119)}_[a-z0-9]{8}\\s+dots\\s+✓ completed`)],
  ])('without --id, the id made from the file name %s follows the id rule', async (name, line) => {
    const file = join(dir, name);
    await writeFile(file, 'name: dots\nphases:\n  - name: p\n    tasks:\n      - {id: t, handler: noop}\n');
    const result = await runCli(['run', file, '--data-dir', dir]);
    expect(result.stdout).toMatch(line);
    expect(result.code).toBe(0);
  });

  it.each([
    ['a missing file', ['run', 'no/such/file.yaml'], 'FILE_NOT_FOUND'],
    ['an invalid definition', ['run', 'INVALID'], 'HANDLER_NOT_FOUND'],
  ])('exits 2 on %s', async (_name, args, code) => {
    const file = join(dir, 'invalid.yaml');
    await writeFile(file, 'name: bad\nphases:\n  - name: p\n    tasks:\n      - {id: t, handler: teleport}\n');
    const result = await runCli(args.map((a) => (a === 'INVALID' ? file : a)).concat('--data-dir', dir));
    expect(result.stdout).toContain(code);
    expect(result.code).toBe(2);
  });

  it('shuts down gracefully on SIGTERM', async () => {
    const file = join(dir, 'slow.yaml');
    await writeFile(file, 'name: slow\nphases:\n  - name: p\n    tasks:\n      - {id: nap, handler: sleep, input: {ms: 60000}}\n');
    const config = join(dir, 'config.yaml');
    await writeFile(config, 'shutdown_grace: 300ms\n');
    let signalled = false;
    const result = await runCli(['run', file, '--data-dir', dir, '--config', config], {
      onStdout: (text, child) => {
        if (!signalled && text.includes('p/nap started')) {
          signalled = true;
          child.kill('SIGTERM');
        }
      },
    });
    expect(signalled).toBe(true);
    expect(result.stderr).toContain('SIGTERM, shutting down (running tasks get up to 300ms to finish)');
    expect(result.code).toBe(143);
  });
});

describe('troupe command line', () => {
  it('prints usage with --help and exits 0', async () => {
    const result = await runCli(['--help']);
    expect(result.stdout).toContain('Usage: troupe [options] [command]');
    expect(result.stdout).toMatch(/^  run \[options\] \[file\]/m);
    expect(result.code).toBe(0);
  });

  it('rejects an unknown command with exit 2', async () => {
    const result = await runCli(['frobnicate']);
    expect(result.stderr).toContain("unknown command 'frobnicate'");
    expect(result.code).toBe(2);
  });
});
