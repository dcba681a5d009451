import { topicOf, type EventRecord } from './event-record.js';

/**
 * Compiles a subscription pattern (DESIGN §6): dot-separated segments, `*`
 * matches exactly one segment, `#` zero or more, case-insensitive. An event
 * matches when the pattern matches its routing key
 * (`EVENT_TYPE.workflow_id.phase`) or its topic (`workflow.wf_1.phase_completed`).
 *
 * @example compilePattern('TASK_FAILED.#')(record)
 */
export function compilePattern(pattern: string): (event: Pick<EventRecord, 'routing_key' | 'event_type' | 'workflow_id' | 'data'>) => boolean {
  const segments = pattern.toLowerCase().split('.');
  const matches = (key: string) => matchSegments(segments, key.toLowerCase().split('.'));
  return (event) => matches(event.routing_key) || matches(topicOf(event));
}

/** Segment matching with `*` and `#`, by dynamic programming over (pattern, key) positions: linear in their product, no backtracking blow-up. */
export function matchSegments(pattern: readonly string[], key: readonly string[]): boolean {
  // can[i][j]: pattern[i..] matches key[j..]
  let next: boolean[] = Array.from({ length: key.length + 1 }, (_, j) => j === key.length);
  for (let i = pattern.length - 1; i >= 0; i--) {
    const p = pattern[i]!;
    const row: boolean[] = new Array(key.length + 1).fill(false);
    for (let j = key.length; j >= 0; j--) {
      if (p === '#') row[j] = next[j]! || (j < key.length && row[j + 1]!);
      else row[j] = j < key.length && (p === '*' || p === key[j]) && next[j + 1]!;
    }
    next = row;
  }
  return next[0]!;
}
