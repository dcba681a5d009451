/**
 * A workflow definition with several mistakes is refused with all of them in
 * one answer, each at its path, not one per round trip: through `create` and
 * `troupe run FILE`. One mistake alone keeps its own code, message and
 * details (definition-validation.test.ts has them exactly).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, resolveDefinition, TroupeError, type ErrorResponse, type Hub } from '../src/index.js';
import { jsonLines, runCli, scratchDir } from './helpers/cli.js';

/** An unknown handler, a missing dependency, a duplicate id, a cycle, a field of the wrong type, an unknown key, a bad reference. */
const MANY = `name: many
phases:
  - name: build
    tasks:
      - id: a
        handler: nope
      - id: b
        handler: noop
        depends_on: [ghost]
      - id: a
        handler: noop
  - name: test
    tasks:
      - id: c
        handler: noop
        depends_on: [d]
        dependson: [b]
      - id: d
        handler: noop
        depends_on: [c]
        retries: lots
      - id: e
        handler: echo
        input: { value: "\${{ tasks.zz.output }}" }
`;

const EXPECTED: [code: string, text: string, path: string][] = [
  ['VALIDATION_FAILED', 'Unrecognized key: "dependson"', 'phases[1].tasks[0]'],
  ['VALIDATION_FAILED', 'Invalid input: expected number, received string', 'phases[1].tasks[1].retries'],
  ['DUPLICATE_TASK', 'Task id a is used twice: at phases[0].tasks[0] and at phases[0].tasks[2]', 'phases[0].tasks[2].id'],
  ['HANDLER_NOT_FOUND', 'nope', 'phases[0].tasks[0].handler'],
  ['UNKNOWN_DEPENDENCY', 'Task b (phases[0].tasks[1]) depends on ghost', 'phases[0].tasks[1].depends_on[0]'],
  ['DEPENDENCY_CYCLE', 'Dependency cycle: c -> d -> c', 'phases[1].tasks[0].depends_on'],
  ['INVALID_REFERENCE', 'reads tasks.zz, which is not a task of this workflow', 'phases[1].tasks[2].input.value'],
];

/** Each expected problem is an entry of `details` (`✖ [CODE: ]what\n  → at path`), in this order. */
function expectEveryProblem(details: string): void {
  const entries = details.split(/\n(?=✖ |Unknown key )/).filter((e) => e.startsWith('✖ '));
  expect(entries).toHaveLength(EXPECTED.length);
  EXPECTED.forEach(([code, text, path], i) => {
    const entry = entries[i]!;
    expect(entry.startsWith(code === 'VALIDATION_FAILED' ? '✖ ' : `✖ ${code}: `), entry).toBe(true);
    expect(entry).toContain(text);
    expect(entry.endsWith(`\n  → at ${path}`), entry).toBe(true);
  });
}

describe('a definition with several problems', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hub: Hub;
  beforeAll(async () => {
    ({ dir, cleanup } = await scratchDir());
    hub = createHub({ maxThreads: 1 });
  });
  afterAll(async () => {
    await hub.close({ graceMs: 0 });
    await cleanup();
  });

  it('`troupe run FILE` lists every one in one answer, exit 2', async () => {
    const file = join(dir, 'many.yaml');
    await writeFile(file, MANY);
    const result = await runCli(['run', file, '--json', '--data-dir', join(dir, 'data')]);
    expect(result.code).toBe(2);
    const [response] = jsonLines(result.stdout) as ErrorResponse[];
    expect(response!.error.code).toBe('VALIDATION_FAILED');
    expect(response!.error.message).toBe('Invalid parameters for create (1 of 7 problems: all are listed in the details)');
    expectEveryProblem(response!.error.details);
    // and the "did you mean" of the unknown key
    expect(response!.error.details).toContain('Unknown key "dependson" in phases.1.tasks.0: did you mean "depends_on"?');
    // human output: the same list
    const human = await runCli(['run', file, '--data-dir', join(dir, 'data')]);
    expect(human.code).toBe(2);
    expect(human.stdout).toContain('✖ HANDLER_NOT_FOUND');
    expect(human.stdout).toContain('→ at phases[1].tasks[0].depends_on');
  });

  it('several problems after the schema: the code and message of the first, all in the details', async () => {
    const response = (await hub.execute({
      operation: 'create',
      workflow_id: 'wf_graph',
      parameters: {
        name: 'g',
        phases: [
          { name: 'p', tasks: [{ id: 'a', handler: 'noop' }, { id: 'a', handler: 'noop' }, { id: 'b', handler: 'nope', depends_on: ['x'] }] },
        ],
      },
    })) as ErrorResponse;
    expect(response.error.code).toBe('DUPLICATE_TASK');
    expect(response.error.message).toBe('Task id a is used twice: at phases[0].tasks[0] and at phases[0].tasks[1] (1 of 3 problems: all are listed in the details)');
    expect(response.error.details.split('\n').filter((l) => l.startsWith('✖ ')).map((l) => l.split(':')[0])).toEqual(['✖ DUPLICATE_TASK', '✖ UNKNOWN_DEPENDENCY', '✖ HANDLER_NOT_FOUND']);
    expect(response.recovery_suggestions).toEqual(expect.arrayContaining(['Give every task in the workflow its own id', 'depends_on names task ids of the same or an earlier phase']));
    expect(hub.workflowIds()).not.toContain('wf_graph');
  });

  it('one problem alone keeps its own code, message and details', () => {
    const error = (() => {
      try {
        resolveDefinition({ name: 'g', phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'noop', depends_on: ['x'] }] }] });
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(TroupeError);
    expect(error).toMatchObject({ code: 'UNKNOWN_DEPENDENCY', message: 'Task a (phases[0].tasks[0]) depends on x, which is not a task of this workflow', details: 'Known task ids: a' });
  });

  it('a graph of thousands of bad dependencies lists a bounded number of them', () => {
    const tasks = Array.from({ length: 2000 }, (_, i) => ({ id: `t${i}`, handler: 'noop', depends_on: [`missing${i}`] }));
    try {
      resolveDefinition({ name: 'big', phases: [{ name: 'p', tasks }] });
      expect.unreachable();
    } catch (error) {
      const { code, message, details } = error as TroupeError;
      expect(code).toBe('UNKNOWN_DEPENDENCY');
      expect(message).toContain('(1 of 2000 problems');
      expect(details!.split('\n').filter((l) => l.startsWith('✖ '))).toHaveLength(51);
      expect(details).toContain('✖ … and 1950 more not listed here');
    }
  });
});
