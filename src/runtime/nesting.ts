import { Lexer, Parser } from 'yaml';
import { TroupeError } from './errors.js';

/**
 * How deep command parameters may nest objects and arrays: the parameters
 * object itself is level 1. What handles parameters after the boundary
 * recurses, one stack frame per level or more: msgpackr (checkpoints, the
 * log) overflows near 1 300 levels, structuredClone (a task's input on its
 * way to a worker) near 1 900, JSON.stringify (answers, events) near 4 000,
 * the YAML parser near 800, and fewer when they run deep in a call stack.
 * 100 is what JSON and protobuf libraries commonly allow (Ruby's JSON
 * `max_nesting`, protobuf's recursion limit) and what task outputs are held
 * to: a workflow definition needs about 6 levels to reach a task's `input`,
 * leaving more than 90 for the input itself, and each of those consumers
 * eight times the depth or more.
 */
export const MAX_PARAMS_DEPTH = 100;

/**
 * The NESTING_TOO_DEEP error for `what` (the parameters, a file, a request),
 * crossing `limit` levels at `where` (a path, or a character position).
 *
 * @example
 * nestingTooDeep('the parameters', 'character 501 of 607')
 */
export function nestingTooDeep(what: string, where: string, limit = MAX_PARAMS_DEPTH): TroupeError {
  return new TroupeError('NESTING_TOO_DEEP', `Objects and arrays nest more than ${limit} levels deep in ${what} (at ${where})`, {
    details: `At most ${limit} levels are accepted (the outermost object or array is level 1): flatten the data, or pass deeply nested data as a JSON string`,
  });
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `root.a[3].b`, its middle left out when it is long (a path through 100 levels says little more than its ends). */
function pathOf(root: string, keys: readonly (string | number)[]): string {
  const parts = keys.map((k) => (typeof k === 'number' ? `[${k}]` : IDENTIFIER.test(k) ? `.${k}` : `[${JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k)}]`));
  return root + (parts.length > 8 ? [...parts.slice(0, 4), '…', ...parts.slice(-3)] : parts).join('');
}

/** One object or array on the path being walked, with its children still to visit. */
interface Level {
  node: object;
  keys: readonly string[] | null;
  next: number;
  /** how the walk got here from its parent */
  key: string | number;
}

const childCount = (level: Level) => (level.keys ? level.keys.length : (level.node as unknown[]).length);

/**
 * Refuses `value` when it nests objects and arrays more than `limit` levels
 * deep, or refers back to itself, with NESTING_TOO_DEEP naming where (a path
 * from `root`; `what` names the value in the message, `root` by default).
 * The walk has no recursion and keeps only the current path (at most
 * `limit` levels), so the check itself cannot overflow, whatever it is given.
 *
 * @example
 * checkNesting({ a: { b: [1] } }, 'parameters') // passes: 3 levels
 */
export function checkNesting(value: unknown, root: string, options: { what?: string; limit?: number } = {}): void {
  const { what = root, limit = MAX_PARAMS_DEPTH } = options;
  if (typeof value !== 'object' || value === null) return;
  const open = (node: object, key: string | number): Level => ({ node, keys: Array.isArray(node) ? null : Object.keys(node), next: 0, key });
  const levels: Level[] = [open(value, '')];
  const onPath = new Set<object>([value]);
  const here = (key: string | number) => pathOf(root, [...levels.slice(1).map((l) => l.key), key]);
  while (levels.length > 0) {
    const level = levels.at(-1)!;
    if (level.next >= childCount(level)) {
      levels.pop();
      onPath.delete(level.node);
      continue;
    }
    const i = level.next++;
    const key = level.keys ? level.keys[i]! : i;
    const child = level.keys ? (level.node as Record<string, unknown>)[key] : (level.node as unknown[])[i];
    if (typeof child !== 'object' || child === null) continue;
    if (onPath.has(child)) {
      throw new TroupeError('NESTING_TOO_DEEP', `Objects and arrays nest without end in ${what}: ${here(key)} refers back to an object that contains it (a cycle)`, {
        details: `At most ${limit} levels of plain data are accepted: remove the cycle`,
      });
    }
    if (levels.length >= limit) {
      throw nestingTooDeep(what, here(key), limit);
    }
    levels.push(open(child, key));
    onPath.add(child);
  }
}

/**
 * The offset in JSON `text` where objects and arrays first nest more than
 * `limit` levels deep, or -1 (brackets inside strings do not count). One
 * pass over the text, before anything parses it. Text that is not JSON gets
 * an answer too; the parser reports it.
 *
 * @example
 * jsonNestingExceeds('{"a":[[1]]}', 2) // 5: the second `[`
 */
export function jsonNestingExceeds(text: string, limit: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limit) return i;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return -1;
}

/**
 * Refuses JSON `text` whose objects and arrays nest more than `limit` levels
 * deep with NESTING_TOO_DEEP, before it is parsed. `what` names the text in
 * the message ("the parameters", "the request").
 *
 * @example
 * checkJsonTextNesting('{"a":1}', 'the parameters') // passes
 */
export function checkJsonTextNesting(text: string, what: string, limit = MAX_PARAMS_DEPTH): void {
  const at = jsonNestingExceeds(text, limit);
  if (at === -1) return;
  throw nestingTooDeep(what, `character ${at + 1} of ${text.length}`, limit);
}

/**
 * Refuses YAML `text` nested much deeper than `limit` before the YAML parser
 * builds it: that parser recurses per level (it overflows near 800) and an
 * 8 MiB file of `[` exhausted the heap. The CST parser (iterative) is driven
 * lexeme by lexeme and stops once its stack of open nodes (the document, each
 * collection, a scalar) passes the limit with a little room; the exact depth
 * is checked on the parsed value (checkNesting). `what` names the text.
 *
 * @example
 * checkYamlTextNesting('a: [1, 2]', 'template file t.yaml') // passes
 */
export function checkYamlTextNesting(text: string, what: string, limit = MAX_PARAMS_DEPTH): void {
  const lexer = new Lexer();
  const parser = new Parser();
  const bound = limit + 4;
  for (const lexeme of lexer.lex(text)) {
    for (const _ of parser.next(lexeme));
    if (parser.stack.length > bound) throw nestingTooDeep(what, `character ${parser.offset} of ${text.length}`, limit);
  }
}
