import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePattern, matchSegments } from '../src/runtime/events/event-pattern.js';
import { createEventRecord } from '../src/runtime/events/event-record.js';

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

describe('the text form of events', () => {
  it('formats and parses back exactly, whatever the phase name and data', async () => {
    const { formatEventMessage, parseEventMessage, EVENT_TYPES } = await import('../src/index.js');
    fc.assert(
      fc.property(
        fc.constantFrom(...EVENT_TYPES),
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/),
        fc.string({ minLength: 1 }),
        fc.dictionary(fc.string(), fc.jsonValue()),
        (event_type, workflow_id, phase, data) => {
          const clean = JSON.parse(JSON.stringify(data)) as Record<string, unknown>;
          const text = formatEventMessage({ event_type, workflow_id, phase, data: clean });
          const parsed = parseEventMessage(text);
          expect(parsed && formatEventMessage(parsed)).toBe(text);
          expect(parsed).toEqual({ event_type, workflow_id, phase, data: clean });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('refuses text that is not a message', async () => {
    const { parseEventMessage } = await import('../src/index.js');
    for (const text of ['', 'TASK_FAILED', 'NOT_A_TYPE:wf:p:{}', 'TASK_FAILED:wf:p:[1]', 'TASK_FAILED:wf:p:{bad']) expect(parseEventMessage(text)).toBeNull();
  });
});

describe('the pattern index', () => {
  it('finds exactly the patterns that match, for random pattern sets and keys, also after removals', async () => {
    const { PatternTrie } = await import('../src/runtime/events/pattern-trie.js');
    const segment = fc.constantFrom('a', 'b', 'c');
    const pattern = fc.array(fc.constantFrom('a', 'b', 'c', '*', '#'), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(fc.array(pattern, { maxLength: 12 }), fc.array(fc.nat(11)), fc.array(segment, { minLength: 1, maxLength: 5 }), (patterns, removed, key) => {
        const trie = new PatternTrie<number>();
        patterns.forEach((p, i) => trie.add(p, i));
        const gone = new Set(removed.filter((r) => r < patterns.length));
        for (const r of gone) trie.remove(patterns[r]!, r);
        const expected = patterns.map((p, i) => i).filter((i) => !gone.has(i) && matchSegments(patterns[i]!, key));
        expect([...trie.match(key)].sort((x, y) => x - y)).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
