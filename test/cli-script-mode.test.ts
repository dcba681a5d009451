import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, runCli, scratchDir } from './helpers/cli.js';

describe('troupe with standard input not a terminal', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await scratchDir()));
  afterAll(() => cleanup());

  it('answers each line with one JSON response and runs the hello example to completion', async () => {
    const script = [
      'wf_1 create @examples/hello.yaml',
      '# comments and blank lines get no answer',
      '',
      'wf_1 start',
      'wf_1 wait {"timeout":"60s"}',
      'wf_1 get-status',
      'list-workflows',
    ].join('\n');
    const result = await runCli(['--data-dir', dir], { stdin: `${script}\n` });
    const responses = jsonLines(result.stdout);
    expect(result.stdout.trim().split('\n')).toHaveLength(5);
    expect(responses.map((r) => [r.operation, r.status])).toEqual([
      ['create', 'success'],
      ['start', 'success'],
      ['wait', 'success'],
      ['get-status', 'success'],
      ['list-workflows', 'success'],
    ]);
    expect(responses[2]!.result.status).toBe('completed');
    const state = responses[3]!.result.workflow_state;
    expect(state).toMatchObject({ id: 'wf_1', status: 'completed', progress_percentage: 100, total_phases: 2 });
    const tasks = state.phases[1].tasks as { task_id: string; status: string; output: unknown }[];
    expect(tasks.map((t) => [t.task_id, t.status])).toEqual([
      ['hello', 'completed'],
      ['think', 'completed'],
      ['where', 'completed'],
    ]);
    expect(tasks[0]!.output).toBe('hello, troupe');
    expect((tasks[2]!.output as { stdout: string }).stdout).toMatch(/^ran on .+ as .+ in /);
    expect(responses[4]!.result.workflows).toEqual([expect.objectContaining({ workflow_id: 'wf_1', status: 'completed' })]);
    expect(result.code).toBe(0);
  });

  it('answers bad lines with error responses, keeps going, and exits 1', async () => {
    const script = [
      'wf_1 strat',
      'wf_1 create {not json',
      'wf_1 create @does/not/exist.yaml',
      'wf_9 start',
      'help',
    ].join('\n');
    const result = await runCli(['--data-dir', dir], { stdin: `${script}\n` });
    const responses = jsonLines(result.stdout);
    expect(responses.map((r) => r.status === 'error' ? r.error.code : 'ok')).toEqual([
      'UNKNOWN_OPERATION',
      'PARSE_ERROR',
      'FILE_NOT_FOUND',
      'WORKFLOW_NOT_FOUND',
      'ok',
    ]);
    expect(responses[0]!.error.details).toBe('Did you mean start?');
    expect(responses[3]).toMatchObject({
      operation: 'start',
      workflow_id: 'wf_9',
      error: { message: 'Workflow wf_9 does not exist' },
      recovery_suggestions: expect.arrayContaining(["List available workflows with 'list-workflows'"]),
    });
    expect(result.code).toBe(1);
  });

  it('reads YAML parameters from a file and rejects a dependency cycle before anything runs', async () => {
    const file = join(dir, 'cycle.yaml');
    await writeFile(
      file,
      'name: cyclic\nphases:\n  - name: p\n    tasks:\n      - {id: a, handler: noop, depends_on: [c]}\n      - {id: b, handler: noop, depends_on: [a]}\n      - {id: c, handler: noop, depends_on: [b]}\n',
    );
    const result = await runCli(['--data-dir', join(dir, 'fresh')], { stdin: `wf_c create @${file}\nlist-workflows\n` });
    const [created, listed] = jsonLines(result.stdout);
    expect(created!.error).toMatchObject({ code: 'DEPENDENCY_CYCLE', message: 'Dependency cycle: a -> c -> b -> a' });
    expect(listed!.result.workflows).toEqual([]);
  });
});
