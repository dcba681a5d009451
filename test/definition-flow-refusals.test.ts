/**
 * What `create` refuses in data flow, conditions and compensation (DESIGN
 * §11), one row each: every refusal has its code, names the task, and says
 * what was wrong; a syntax error gives its position.
 */
import { describe, expect, it } from 'vitest';
import { resolveDefinition, TroupeError } from '../src/index.js';

type Task = Record<string, unknown>;
const workflow = (tasks: Task[], extra: Record<string, unknown> = {}) => ({ name: 'w', ...extra, phases: [{ name: 'p', tasks }] });
const a = { id: 'a', handler: 'echo', input: { value: 1 } };

const REFUSALS: { name: string; tasks: Task[]; code: string; says: string[] }[] = [
  {
    name: 'a reference to a task that does not exist',
    tasks: [a, { id: 'b', handler: 'echo', depends_on: ['a'], input: { value: '${{ tasks.nope.output }}' } }],
    code: 'INVALID_REFERENCE',
    says: ['Task b', 'input.value', 'tasks.nope', 'not a task of this workflow'],
  },
  {
    name: 'a reference to a task that is not a dependency',
    tasks: [a, { id: 'b', handler: 'echo', input: { value: '${{ tasks.a.output }}' } }],
    code: 'INVALID_REFERENCE',
    says: ['Task b', '${{ tasks.a.output }}', 'does not depend on', 'depends_on'],
  },
  {
    name: 'a reference by index to a task that is not a dependency',
    tasks: [a, { id: 'b', handler: 'echo', input: { value: '${{ tasks["a"].status }}' } }],
    code: 'INVALID_REFERENCE',
    says: ['Task b', 'tasks.a'],
  },
  {
    name: 'a condition that reads a task that is not a dependency',
    tasks: [a, { id: 'b', handler: 'noop', when: 'tasks.a.status == "failed"' }],
    code: 'INVALID_REFERENCE',
    says: ['Task b', 'when', 'does not depend on'],
  },
  {
    name: 'a task that reads its own output',
    tasks: [{ id: 'b', handler: 'echo', input: { value: '${{ tasks.b.output }}' } }],
    code: 'INVALID_REFERENCE',
    says: ['Task b', 'its own task'],
  },
  {
    name: 'output outside compensate.input',
    tasks: [{ id: 'b', handler: 'echo', input: { value: '${{ output }}' } }],
    code: 'INVALID_REFERENCE',
    says: ['Task b', 'only a compensation'],
  },
  {
    name: 'a parameter the workflow does not declare',
    tasks: [{ id: 'b', handler: 'echo', input: { value: '${{ params.env }}' } }],
    code: 'INVALID_REFERENCE',
    says: ['Task b', 'params.env'],
  },
  {
    name: 'a syntax error in an input',
    tasks: [a, { id: 'b', handler: 'echo', depends_on: ['a'], input: { value: 'id: ${{ tasks.a.output + }}' } }],
    code: 'INVALID_EXPRESSION',
    says: ['Task b', 'input.value', 'position'],
  },
  {
    name: 'an unclosed ${{',
    tasks: [{ id: 'b', handler: 'exec', input: { command: 'echo ${{ workflow.id' } }],
    code: 'INVALID_EXPRESSION',
    says: ['Task b', 'input.command', 'position 6'],
  },
  {
    name: 'a syntax error in a condition',
    tasks: [a, { id: 'b', handler: 'noop', depends_on: ['a'], when: 'tasks.a.status ==' }],
    code: 'INVALID_EXPRESSION',
    says: ['Task b', 'when', 'position'],
  },
  {
    name: 'an unknown name in an expression (no JavaScript globals)',
    tasks: [{ id: 'b', handler: 'echo', input: { value: '${{ process.env.HOME }}' } }],
    code: 'INVALID_EXPRESSION',
    says: ['Task b', 'process'],
  },
  {
    name: 'a syntax error in compensate.input',
    tasks: [{ ...a, compensate: { handler: 'echo', input: { value: '${{ output.id ) }}' } } }],
    code: 'INVALID_EXPRESSION',
    says: ['Task a', 'compensate.input.value', 'position'],
  },
  {
    name: 'compensate with an unknown handler',
    tasks: [{ ...a, compensate: { handler: 'refund' } }],
    code: 'HANDLER_NOT_FOUND',
    says: ['compensate of task a', 'refund'],
  },
  {
    name: 'compensate with a bad input for a built-in',
    tasks: [{ ...a, compensate: { handler: 'sleep', input: { ms: 'soon' } } }],
    code: 'VALIDATION_FAILED',
    says: ['compensate of task a', 'sleep'],
  },
  {
    name: 'compensate with an unknown key',
    tasks: [{ ...a, compensate: { handler: 'noop', undo: true } }],
    code: 'VALIDATION_FAILED',
    says: ['compensate', 'undo'],
  },
  {
    name: 'a task id taken by a compensation',
    tasks: [{ ...a, compensate: { handler: 'noop' } }, { id: 'a.compensate', handler: 'noop' }],
    code: 'DUPLICATE_TASK',
    says: ['a.compensate', 'compensation of task a'],
  },
  {
    name: 'a task id too long for its compensation id',
    tasks: [{ ...a, id: 'x'.repeat(120), compensate: { handler: 'noop' } }],
    code: 'INVALID_ID',
    says: ['.compensate', 'shorten'],
  },
  {
    name: 'an empty condition',
    tasks: [{ id: 'b', handler: 'noop', when: '  ' }],
    code: 'VALIDATION_FAILED',
    says: ['when'],
  },
  {
    name: 'allow_failure that is not a boolean',
    tasks: [{ id: 'b', handler: 'noop', allow_failure: 'yes' }],
    code: 'VALIDATION_FAILED',
    says: ['allow_failure'],
  },
];

function refusal(definition: unknown): TroupeError {
  try {
    resolveDefinition(definition);
  } catch (error) {
    if (error instanceof TroupeError) return error;
    throw error;
  }
  throw new Error('the definition was accepted');
}

describe('create refuses, coded and naming the task', () => {
  it.each(REFUSALS)('$name: $code', ({ tasks, code, says }) => {
    const error = refusal(workflow(tasks));
    expect(error.code).toBe(code);
    const text = `${error.message}\n${error.details ?? ''}`;
    for (const part of says) expect(text).toContain(part);
  });

  it('accepts references to dependencies direct and transitive, a compensation reading its own task, and a templated built-in input', () => {
    const spec = resolveDefinition(
      workflow([
        a,
        { id: 'b', handler: 'echo', depends_on: ['a'], input: { value: '${{ tasks.a.output }}' } },
        {
          id: 'c',
          handler: 'sleep',
          depends_on: ['b'],
          when: '${{ tasks.a.status == "completed" && tasks.b.output == 1 }}',
          allow_failure: true,
          input: { ms: '${{ tasks.a.output }}' },
          compensate: { handler: 'echo', input: { value: '${{ output }} ${{ tasks.c.status }} ${{ tasks.a.output }}' }, timeout: '5s', retries: 2 },
        },
      ]),
    );
    const c = spec.phases[0]!.tasks[2]!;
    expect(c).toMatchObject({
      when: '${{ tasks.a.status == "completed" && tasks.b.output == 1 }}',
      allowFailure: true,
      compensate: { handler: 'echo', timeoutMs: 5_000, retries: 2 },
    });
  });

  it('the syntax error position points into the string as written', () => {
    const error = refusal(workflow([{ id: 'b', handler: 'exec', input: { command: 'echo ${{ 1 + }}' } }]));
    // "echo ${{ 1 + }}": the expression " 1 + " starts at 8; the parser stops at its end
    const position = Number(/position (\d+)/.exec(error.message)![1]);
    expect(position).toBeGreaterThanOrEqual(12);
    expect(position).toBeLessThanOrEqual(15);
    expect(error.details).toContain('echo ${{ 1 + }}');
  });
});
