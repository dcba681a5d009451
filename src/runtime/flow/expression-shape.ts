import type { ASTNode } from '@marcbachmann/cel-js';
import { EXPRESSION_ROOTS, type ExpressionRoot } from './cel-environment.js';

/** What an expression names, and where each root first appears. */
export interface ExpressionShape {
  /** Task ids read as `tasks.<id>` or `tasks["<id>"]`, sorted. */
  readonly tasks: readonly string[];
  /** `tasks` indexed by a computed key (`tasks[x]`) or used whole (`size(tasks)`, `tasks.all(…)`). */
  readonly dynamicTasks: boolean;
  /** Params read as `params.<name>` or `params["<name>"]`, sorted. */
  readonly params: readonly string[];
  /** The roots named, in EXPRESSION_ROOTS order. */
  readonly roots: readonly ExpressionRoot[];
  /** The offset of each named root's first occurrence, for "not available here" errors. */
  readonly rootPositions: ReadonlyMap<ExpressionRoot, number>;
}

/** A construct the hub refuses; the caller turns it into an ExpressionSyntaxError. */
export class ShapeError extends Error {
  constructor(
    readonly reason: string,
    readonly position: number,
  ) {
    super(reason);
  }
}

const LOOPS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
/** The library drops these keys from map literals (its own prototype guard), silently. */
const DROPPED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const isRoot = (name: string): name is ExpressionRoot => (EXPRESSION_ROOTS as readonly string[]).includes(name);

interface Nesting {
  /** Inside the body of a comprehension. */
  readonly loop: boolean;
  /** Inside the value or body of a cel.bind. */
  readonly bind: boolean;
}

/**
 * Reads a parsed expression: what it names, and whether it uses a construct
 * the hub refuses. CEL cannot loop forever, but it can still take long enough
 * to stall the hub's one thread, so three things are refused up front:
 *
 * - a comprehension inside another's body (`a.map(x, b.map(y, …))`): the cost
 *   is the product of the lists, and three nested over literal lists of 1 000
 *   run a billion steps with no data at all;
 * - `cel.bind` inside `cel.bind`: each level can double a value
 *   (`cel.bind(a, l + l, cel.bind(b, a + a, …))`), past any memory;
 * - `matches`: JavaScript's RegExp backtracks (`(a+)+$` takes exponential
 *   time), where CEL's reference uses linear-time RE2.
 *
 * It also refuses a loop variable named like a root (it would hide the root,
 * and the references would be wrong) and map-literal keys the library drops.
 * Throws ShapeError.
 */
export function shapeOf(ast: ASTNode): ExpressionShape {
  const tasks = new Set<string>();
  const params = new Set<string>();
  const rootPositions = new Map<ExpressionRoot, number>();
  let dynamicTasks = false;

  const noteRoot = (node: Node, parent: Node | null) => {
    const name = node.args as string;
    if (!isRoot(name)) return;
    if (!rootPositions.has(name)) rootPositions.set(name, node.pos);
    if (name !== 'tasks' && name !== 'params') return;
    const key = staticKey(node, parent);
    if (name === 'params') {
      if (key !== null) params.add(key);
    } else if (key === null) dynamicTasks = true;
    else tasks.add(key);
  };

  const visit = (node: Node, parent: Node | null, nesting: Nesting): void => {
    if (node.op === 'id') return noteRoot(node, parent);
    if (node.op === 'map') refuseDroppedKeys(node);
    const call = node.op === 'call' || node.op === 'rcall' ? callOf(node) : null;
    if (call?.name === 'matches') throw new ShapeError(NO_MATCHES, node.pos);
    const kind = call ? macroKind(call) : null;
    if (call === null || kind === null) {
      for (const child of childrenOf(node.args)) visit(child, node, nesting);
      return;
    }
    if (kind === 'loop' && nesting.loop) throw new ShapeError(`\`${call.name}\` runs inside another comprehension's body, so its cost would multiply; ${NESTED_LOOP_FIX}`, node.pos);
    if (kind === 'bind' && nesting.bind) throw new ShapeError('`cel.bind` inside another `cel.bind` is not allowed: each level can double a value', node.pos);
    const [variable, ...body] = call.args;
    const name = variable!.args as string;
    if (isRoot(name) || name === 'cel') throw new ShapeError(`the variable \`${name}\` would hide the name \`${name}\`; choose another name`, variable!.pos);
    // A chained receiver (`l.filter(…).map(…)`) runs once, so it keeps the outer nesting.
    if (call.receiver) visit(call.receiver, node, nesting);
    const inner = { loop: nesting.loop || kind === 'loop', bind: nesting.bind || kind === 'bind' };
    for (const arg of body) visit(arg, node, inner);
  };

  visit(ast as Node, null, { loop: false, bind: false });
  return {
    tasks: [...tasks].sort(),
    dynamicTasks,
    params: [...params].sort(),
    roots: EXPRESSION_ROOTS.filter((root) => rootPositions.has(root)),
    rootPositions,
  };
}

/** The AST as this file reads it: the library's node, loosely typed (args vary by op). */
interface Node {
  readonly op: string;
  readonly args: unknown;
  readonly pos: number;
}

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && 'op' in value && 'pos' in value;

/** Every node inside an args payload: nodes, lists of nodes, map entries ([key, value] pairs). */
function childrenOf(args: unknown): Node[] {
  if (isNode(args)) return [args];
  if (!Array.isArray(args)) return [];
  return args.flatMap(childrenOf);
}

/** The key `node` (a root) is read with, when the parent reads it with a literal string: `root.key`, `root["key"]`. */
function staticKey(node: Node, parent: Node | null): string | null {
  if (parent === null) return null;
  const [object, key] = parent.args as [unknown, unknown];
  if (object !== node) return null;
  if (parent.op === '.' && typeof key === 'string') return key;
  if (parent.op === '[]' && isNode(key) && key.op === 'value' && typeof key.args === 'string') return key.args;
  return null;
}

const NO_MATCHES = '`matches` is not available: JavaScript regular expressions can take exponential time and would stall the hub; use contains, startsWith or endsWith';
const NESTED_LOOP_FIX = 'compute it once outside (cel.bind) or in a task';

interface Call {
  readonly name: string;
  /** `x` in `x.f()`; null for `f()`. */
  readonly receiver: Node | null;
  readonly args: Node[];
}

/** A `call` (`f(a)`: args [name, [a]]) or `rcall` (`x.f(a)`: args [name, x, [a]]) node, read alike. */
function callOf(node: Node): Call {
  if (node.op === 'rcall') {
    const [name, receiver, args] = node.args as [string, Node, Node[]];
    return { name, receiver, args };
  }
  const [name, args] = node.args as [string, Node[]];
  return { name, receiver: null, args };
}

/** Whether a call is a macro that binds a variable: a comprehension (`list.map(x, …)`) or `cel.bind(x, …)`. */
function macroKind({ name, receiver, args }: Call): 'loop' | 'bind' | null {
  if (receiver === null || args.length < 2 || args[0]?.op !== 'id') return null;
  if (LOOPS.has(name)) return 'loop';
  if (name === 'bind' && receiver.op === 'id' && receiver.args === 'cel') return 'bind';
  return null;
}

function refuseDroppedKeys(node: Node): void {
  for (const [key] of node.args as [Node, Node][]) {
    if (key.op === 'value' && typeof key.args === 'string' && DROPPED_KEYS.has(key.args)) {
      throw new ShapeError(`the key "${key.args}" cannot be written in a map literal (it would be dropped)`, key.pos);
    }
  }
}
