/**
 * `troupe run --template NAME --param k=v` (DESIGN §5, §12) through the real
 * command: a shipped template runs to completed, `--param` text becomes the
 * declared type, `--param` sets a workflow file's declared params too, and
 * refusals exit 2 with the coded message.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, runCli, scratchDir } from './helpers/cli.js';

describe('troupe run --template', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await scratchDir()));
  afterAll(() => cleanup());

  it('runs a shipped template with --param values to completed and exits 0', async () => {
    const result = await runCli(['run', '--template', 'bug-fix', '--param', 'issue=BUG-7', '--param', 'test_retries=2', '--id', 'bf_1', '--json', '--data-dir', dir], { cwd: dir });
    const state = jsonLines(result.stdout).at(-1)!.result.workflow_state;
    expect(state).toMatchObject({ id: 'bf_1', name: 'Fix BUG-7 in core', status: 'completed' });
    // "2" typed on the command line is the number the template declares
    expect(state.configuration.params).toEqual({ issue: 'BUG-7', component: 'core', test_retries: 2 });
    const note = state.phases.flatMap((p: { tasks: { task_id: string }[] }) => p.tasks).find((t: { task_id: string }) => t.task_id === 'release_note');
    expect(note.output.stdout).toBe('BUG-7 (core): fixed, covered by regression_BUG-7 passes\n');
    expect(result.code).toBe(0);
  });

  it('sets the declared params of a workflow file', async () => {
    const file = join(dir, 'greet.yaml');
    await writeFile(file, 'name: "greet ${{ params.who }}"\nparams: {who: {type: string, default: world}, loud: {type: boolean, default: false}}\nphases:\n  - name: p\n    tasks:\n      - {id: hi, handler: echo, input: {value: "${{ params.loud }}"}}\n');
    const result = await runCli(['run', file, '--param', 'who=troupe', '--param', 'loud=true', '--id', 'greet_1', '--data-dir', dir], { cwd: dir });
    expect(result.stdout).toMatch(/greet_1: greet troupe/);
    expect(result.stdout).toMatch(/greet_1\s+greet troupe\s+✓ completed/);
    expect(result.code).toBe(0);
  });

  it.each([
    ['a mistyped param', ['--template', 'bug-fix', '--param', 'test_retries=two'], ['INVALID_PARAMS', 'param test_retries must be a number, got string "two"']],
    ['a template name with ../', ['--template', '../templates/bug-fix'], ['INVALID_ID', 'Template name "../templates/bug-fix"']],
  ])('exits 2 on %s', async (_name, args, says) => {
    const result = await runCli(['run', ...args, '--data-dir', dir], { cwd: dir });
    for (const text of says) expect(result.stdout).toContain(text);
    expect(result.code).toBe(2);
  });

  it.each([
    ['a --param without =', ['run', '--template', 'bug-fix', '--param', 'issue'], '--param issue is not key=value'],
    ['a file and a template', ['run', 'x.yaml', '--template', 'bug-fix'], 'troupe run takes a workflow file or --template NAME, not both'],
    ['--template outside run', ['exec', 'health', '--template', 'bug-fix'], "troupe: unknown option '--template'"],
  ])('exits 2 on %s, before a supervisor starts', async (_name, args, says) => {
    const result = await runCli([...args, '--data-dir', dir], { cwd: dir });
    expect(result.stderr).toContain(says);
    expect(result.code).toBe(2);
  });
});
