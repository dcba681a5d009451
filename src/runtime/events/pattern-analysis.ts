import { EVENT_TYPES, type EventType } from './event-record.js';

/**
 * Reasoning about subscription patterns as sets of keys (`*` one segment,
 * `#` zero or more, case-insensitive), without any event at hand: whether one
 * pattern takes everything another takes, and which event types of the
 * registry a pattern can match at all. Both are dynamic programs over the two
 * patterns' segments, memoized, so no pattern shape blows up.
 */
const split = (pattern: string) => pattern.toLowerCase().split('.');

/** True when every key `inner` matches is matched by `outer` too (`TASK_FAILED.#` contains `TASK_FAILED.wf_1.*`). */
export function patternContains(outer: string, inner: string): boolean {
  const b = split(outer);
  const a = split(inner);
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * (a.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === b.length) result = j === a.length;
    // outer's `#` absorbs any of inner's segments, wildcards included
    else if (b[i] === '#') result = go(i + 1, j) || (j < a.length && go(i, j + 1));
    else if (j === a.length || a[j] === '#') result = false;
    else if (a[j] === '*') result = b[i] === '*' && go(i + 1, j + 1);
    else result = (b[i] === '*' || b[i] === a[j]) && go(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}

/** True when some key matches both patterns. */
export function patternsIntersect(left: string, right: string): boolean {
  return segmentsIntersect(split(left), split(right));
}

function segmentsIntersect(p: readonly string[], q: readonly string[]): boolean {
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * (q.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i < p.length && p[i] === '#') result = go(i + 1, j) || (j < q.length && go(i, j + 1));
    else if (j < q.length && q[j] === '#') result = go(i, j + 1) || (i < p.length && go(i + 1, j));
    else if (i === p.length || j === q.length) result = i === p.length && j === q.length;
    else result = (p[i] === '*' || q[j] === '*' || p[i] === q[j]) && go(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}

/**
 * The key shapes events of a type have: the routing key `TYPE.<workflow>.<phase>`
 * (a phase name may hold dots) and the topic (see `topicOf`).
 */
function shapesOf(type: EventType): string[][] {
  const t = type.toLowerCase();
  const shapes = [[t, '*', '*', '#']];
  if (t.startsWith('system_')) shapes.push(['system', 'global', t.slice('system_'.length)]);
  else {
    if (t.startsWith('agent_')) shapes.push(['agent', '*', t.slice('agent_'.length)]);
    shapes.push(['workflow', '*', t.startsWith('workflow_') ? t.slice('workflow_'.length) : t]);
  }
  return shapes;
}

const SHAPES = new Map(EVENT_TYPES.map((t) => [t, shapesOf(t)] as const));

/** The registry's event types a pattern can match (by routing key or topic); empty when it matches none. */
export function typesMatchedBy(pattern: string): EventType[] {
  const p = split(pattern);
  return EVENT_TYPES.filter((t) => SHAPES.get(t)!.some((shape) => segmentsIntersect(p, shape)));
}
