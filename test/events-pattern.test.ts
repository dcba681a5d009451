import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePattern, matchSegments } from '../src/runtime/event-pattern.js';
import { createEventRecord } from '../src/runtime/event-record.js';

/** The reference: the definition, as plain backtracking (exponential, fine for short keys). */
function reference(pattern: readonly string[], key: readonly string[]): boolean {
  if (pattern.length === 0) return key.length === 0;
  const [head, ...rest] = pattern;
  if (head === '#') return reference(rest, key) || (key.length > 0 && reference(pattern, key.slice(1)));
  return key.length > 0 && (head === '*' || head === key[0]) && reference(rest, key.slice(1));
}

const record = (type: 'TASK_FAILED' | 'PHASE_COMPLETED' | 'WORKFLOW_FAILED' | 'AGENT_TIMEOUT', workflowId: string, phase: string, data: Record<string, unknown> = {}) =>
  createEventRecord({ type, workflowId, phase, data }, 1, 0);

describe('subscription patterns', () => {
  it.each([
    ['TASK_FAILED.#', record('TASK_FAILED', 'wf_1', 'build'), true],
    ['task_failed.#', record('TASK_FAILED', 'wf_1', 'build'), true],
    ['PHASE_COMPLETED.*.*', record('PHASE_COMPLETED', 'wf_1', 'build'), true],
    ['PHASE_COMPLETED.*', record('PHASE_COMPLETED', 'wf_1', 'build'), false],
    ['*.wf_1.#', record('PHASE_COMPLETED', 'wf_1', 'build'), true],
    ['*.wf_2.#', record('PHASE_COMPLETED', 'wf_1', 'build'), false],
    ['workflow.*.phase_completed', record('PHASE_COMPLETED', 'wf_1', 'build'), true],
    ['workflow.wf_1.failed', record('WORKFLOW_FAILED', 'wf_1', 'global'), true],
    ['workflow.wf_1.task_failed', record('TASK_FAILED', 'wf_1', 'build'), true],
    ['agent.agent_003.timeout', record('AGENT_TIMEOUT', 'global', 'global', { agent_id: 'agent_003' }), true],
    ['#', record('TASK_FAILED', 'wf_1', 'build'), true],
    ['#.build', record('TASK_FAILED', 'wf_1', 'build'), true],
  ])('%s on %s', (pattern, event, expected) => {
    expect(compilePattern(pattern)(event)).toBe(expected);
  });

  it('matches like the definition, on random patterns and keys', () => {
    const segment = fc.constantFrom('a', 'b', 'c');
    const patternSegment = fc.constantFrom('a', 'b', 'c', '*', '#');
    fc.assert(
      fc.property(fc.array(patternSegment, { minLength: 1, maxLength: 5 }), fc.array(segment, { minLength: 1, maxLength: 6 }), (pattern, key) => {
        expect(matchSegments(pattern, key)).toBe(reference(pattern, key));
      }),
      { numRuns: 2000 },
    );
  });
});
