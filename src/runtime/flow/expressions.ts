import { EvaluationError, ParseError, type ParseResult, TypeError as CelTypeError } from '@marcbachmann/cel-js';
import { BoundedCache } from './bounded-cache.js';
import { EXPRESSION_ROOTS, type ExpressionRoot, parseCel } from './cel-environment.js';
import { fromCel, ValueError } from './cel-values.js';
import { CelContext, type ExpressionContext, MissingRootError } from './expression-context.js';
import { evalErrorAt, type ExpressionSyntaxError, syntaxErrorAt } from './expression-errors.js';
import { type ExpressionShape, ShapeError, shapeOf } from './expression-shape.js';

export { EXPRESSION_ROOTS, type ExpressionRoot } from './cel-environment.js';
export type { ExpressionContext } from './expression-context.js';
export { ExpressionEvalError, ExpressionSyntaxError } from './expression-errors.js';

/**
 * A parsed expression, ready to evaluate many times. Shared through a cache,
 * so it is frozen; what evaluates it is out of the caller's reach.
 *
 * @example compileExpression('tasks.a.output.n > 2').source // "tasks.a.output.n > 2"
 */
export interface CompiledExpression {
  readonly source: string;
}

interface Compiled {
  readonly source: string;
  readonly run: ParseResult;
  readonly shape: ExpressionShape;
}

// Held aside, so no caller can call the library's function with a context of its own making.
const internals = new WeakMap<CompiledExpression, Compiled>();
const CACHE_SIZE = 1_000;
const cache = new BoundedCache<string, CompiledExpression>(CACHE_SIZE);

/**
 * Parses and checks CEL text. Refuses at once what would fail on every run:
 * syntax errors, names other than the roots, type errors the checker proves,
 * and the constructs expression-shape.ts refuses for the hub's sake.
 * Throws ExpressionSyntaxError, its position an offset into `source`.
 *
 * @example compileExpression('tasks.build.status == "failed"')
 */
export function compileExpression(source: string): CompiledExpression {
  const cached = cache.get(source);
  if (cached) return cached;
  let run: ParseResult;
  let shape: ExpressionShape;
  try {
    run = parseCel(source);
    const checked = run.check();
    if (!checked.valid) throw checked.error;
    shape = shapeOf(run.ast);
  } catch (error) {
    throw syntaxError(source, error);
  }
  const expr: CompiledExpression = Object.freeze({ source });
  internals.set(expr, { source, run, shape });
  cache.set(source, expr);
  return expr;
}

/**
 * What an expression names: the task ids it reads through `tasks.<id>` or
 * `tasks["<id>"]`, whether it indexes tasks dynamically or reads `tasks`
 * whole (then every task may be read), the params it names, and the roots.
 *
 * @example referencesOf(compileExpression('tasks.a.output.x + params.n')) // { tasks: ['a'], dynamicTasks: false, params: ['n'], roots: ['tasks', 'params'] }
 */
export function referencesOf(expr: CompiledExpression): { tasks: string[]; dynamicTasks: boolean; params: string[]; roots: ExpressionRoot[] } {
  const { shape } = compiled(expr);
  return { tasks: [...shape.tasks], dynamicTasks: shape.dynamicTasks, params: [...shape.params], roots: [...shape.roots] };
}

/**
 * Evaluates over a context of plain JSON data. The result is JSON: strings,
 * finite numbers, booleans, null, arrays and plain objects (a fresh copy).
 * Throws ExpressionEvalError.
 *
 * @example evaluateExpression(compileExpression('tasks.a.output.n + 1'), { tasks: { a: { output: { n: 2 }, status: 'completed' } } }) // 3
 */
export function evaluateExpression(expr: CompiledExpression, context: ExpressionContext): unknown {
  return _evaluateIn(expr, new CelContext(context));
}

/**
 * Evaluates against a context already wrapped, so that several expressions
 * over one context (a task's input) copy each part of it once.
 *
 * @internal
 */
export function _evaluateIn(expr: CompiledExpression, context: CelContext): unknown {
  const { source, run, shape } = compiled(expr);
  let result: unknown;
  try {
    result = run(context.variablesFor(shape));
  } catch (error) {
    if (error instanceof MissingRootError) throw evalErrorAt(source, error.message, shape.rootPositions.get(error.root) ?? null);
    if (error instanceof EvaluationError) throw evalErrorAt(source, error.summary, error.node?.pos ?? error.range?.start ?? null, error);
    // Anything else (a RangeError from a huge string, say) is still this expression's failure, not the hub's.
    throw evalErrorAt(source, reasonOf(error), null, error);
  }
  try {
    return fromCel(result);
  } catch (error) {
    throw evalErrorAt(source, reasonOf(error), null, error);
  }
}

/** What compileExpression() made for this object; a look-alike has nothing. */
function compiled(expr: CompiledExpression): Compiled {
  const found = internals.get(expr);
  if (found) return found;
  throw new TypeError('Expected a CompiledExpression from compileExpression(), got a different object');
}

function syntaxError(source: string, error: unknown): ExpressionSyntaxError {
  if (error instanceof ShapeError) return syntaxErrorAt(source, error.reason, error.position, error);
  if (error instanceof ParseError || error instanceof CelTypeError) {
    const position = error.node?.pos ?? error.range?.start ?? 0;
    const name = error.node?.args;
    if (error.code === 'unknown_variable' && typeof name === 'string') {
      return syntaxErrorAt(source, `unknown name \`${name}\`: an expression can name only ${EXPRESSION_ROOTS.join(', ')} (and its own loop variables)`, position, error);
    }
    return syntaxErrorAt(source, error.summary, position, error);
  }
  return syntaxErrorAt(source, reasonOf(error), 0, error);
}

function reasonOf(error: unknown): string {
  if (error instanceof ValueError) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
