import { BoundedCache } from './bounded-cache.js';
import { MAX_RESULT_CHARS, setOwn } from './cel-values.js';
import { CelContext } from './expression-context.js';
import { evalErrorAt, syntaxErrorAt } from './expression-errors.js';
import {
  _evaluateIn,
  type CompiledExpression,
  compileExpression,
  type ExpressionContext,
  ExpressionEvalError,
  ExpressionSyntaxError,
} from './expressions.js';
import { scanTemplate, UnclosedTemplateError } from './template-scan.js';

/** A piece of a template: literal text, or an expression starting at `offset` of the template. */
export type TemplatePart = { readonly text: string } | { readonly expr: CompiledExpression; readonly offset: number };

/**
 * A string holding `${{ EXPR }}`, compiled once.
 *
 * @example compileTemplate('${{ tasks.a.output.n }}')!.whole // true
 */
export interface CompiledTemplate {
  readonly source: string;
  /** The whole string is exactly one `${{ }}` (surrounding whitespace allowed): its value keeps its JSON type. */
  readonly whole: boolean;
  readonly expressions: CompiledExpression[];
  /** Literal text and expressions, in order. */
  readonly parts: readonly TemplatePart[];
}

/** A template syntax error inside a JSON value, with the path of the string that holds it (`input.env.TOKEN`). */
export class TemplateSyntaxError extends ExpressionSyntaxError {
  override readonly name: string = 'TemplateSyntaxError';
  constructor(
    readonly path: string,
    inner: ExpressionSyntaxError,
  ) {
    super(inner.reason, inner.position, `${path}: ${inner.message}`, { cause: inner });
  }
}

/** A template evaluation error inside a JSON value, with the path of the string that holds it. */
export class TemplateEvalError extends ExpressionEvalError {
  override readonly name: string = 'TemplateEvalError';
  constructor(
    readonly path: string,
    inner: ExpressionEvalError,
  ) {
    super(inner.reason, inner.position, `${path}: ${inner.message}`, { cause: inner });
  }
}

const OPEN = '${{';
const cache = new BoundedCache<string, CompiledTemplate>(1_000);

/**
 * Finds `${{ EXPR }}` in text and compiles each; null when there is none.
 * Throws ExpressionSyntaxError, its position an offset into `text`; an
 * unclosed `${{` is an error at its `$`.
 *
 * @example compileTemplate('id-${{ tasks.a.output.id }}')!.parts // [{ text: 'id-' }, { expr, offset: 6 }]
 */
export function compileTemplate(text: string): CompiledTemplate | null {
  if (!text.includes(OPEN)) return null;
  const cached = cache.get(text);
  if (cached) return cached;
  let spans;
  try {
    spans = scanTemplate(text);
  } catch (error) {
    if (error instanceof UnclosedTemplateError) throw syntaxErrorAt(text, error.message, error.position);
    throw error;
  }
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const span of spans) {
    if (span.open > last) parts.push({ text: text.slice(last, span.open) });
    parts.push({ expr: compileAt(text, span.exprStart, span.exprEnd), offset: span.exprStart });
    last = span.end;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  const first = spans[0]!;
  const whole = spans.length === 1 && text.slice(0, first.open).trim() === '' && text.slice(first.end).trim() === '';
  const expressions = parts.flatMap((part) => ('expr' in part ? [part.expr] : []));
  const template: CompiledTemplate = Object.freeze({ source: text, whole, expressions: Object.freeze(expressions) as CompiledExpression[], parts: Object.freeze(parts.map((part) => Object.freeze(part))) });
  cache.set(text, template);
  return template;
}

/** Compiles the expression between `start` and `end` of `text`, its errors placed in `text`. */
function compileAt(text: string, start: number, end: number): CompiledExpression {
  try {
    return compileExpression(text.slice(start, end));
  } catch (error) {
    if (error instanceof ExpressionSyntaxError) throw syntaxErrorAt(text, error.reason, start + error.position, error);
    throw error;
  }
}

/**
 * Renders a template. A whole template gives the expression's JSON value;
 * otherwise each value goes into the text, strings as they are and anything
 * else as JSON. Throws ExpressionEvalError, its position an offset into the
 * template's text.
 *
 * @example renderTemplate(compileTemplate('n=${{ tasks.a.output.n }}')!, context) // "n=3"
 */
export function renderTemplate(t: CompiledTemplate, ctx: ExpressionContext): unknown {
  return renderIn(t, new CelContext(ctx));
}

function renderIn(t: CompiledTemplate, context: CelContext): unknown {
  const evaluate = (part: { expr: CompiledExpression; offset: number }) => {
    try {
      return _evaluateIn(part.expr, context);
    } catch (error) {
      if (!(error instanceof ExpressionEvalError)) throw error;
      throw evalErrorAt(t.source, error.reason, error.position === null ? null : part.offset + error.position, error);
    }
  };
  if (t.whole) return evaluate(t.parts.find((part) => 'expr' in part) as { expr: CompiledExpression; offset: number });
  let out = '';
  for (const part of t.parts) {
    const piece = 'text' in part ? part.text : textOf(evaluate(part));
    // Each value is bounded, but a string of many could still outgrow what V8 can hold.
    if (out.length + piece.length > MAX_RESULT_CHARS) throw evalErrorAt(t.source, `the rendered text is longer than ${MAX_RESULT_CHARS} characters`, null);
    out += piece;
  }
  return out;
}

const textOf = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/**
 * Every template string inside a JSON value (objects, arrays, nested), with
 * its path under `prefix`: `input.env.TOKEN`, `input.args[2]`,
 * `input["odd key"]`. Keys are never templates. Throws TemplateSyntaxError.
 *
 * @example findTemplates({ args: ['-n', '${{ params.n }}'] }, 'input') // [{ path: 'input.args[1]', template }]
 */
export function findTemplates(value: unknown, prefix: string): { path: string; template: CompiledTemplate }[] {
  const found: { path: string; template: CompiledTemplate }[] = [];
  walk(value, prefix, (text, path) => {
    const template = compileIn(text, path);
    if (template) found.push({ path, template });
  });
  return found;
}

/**
 * The value with every template string rendered: a fresh copy, the input is
 * never changed. One context copy serves every template in it.
 * Throws TemplateEvalError (TemplateSyntaxError for a template never checked).
 *
 * @example renderValue({ msg: 'n=${{ tasks.a.output.n }}' }, context, 'input') // { msg: 'n=3' }
 */
export function renderValue(value: unknown, ctx: ExpressionContext, prefix: string): unknown {
  const context = new CelContext(ctx);
  return walk(value, prefix, (text, path) => {
    const template = compileIn(text, path);
    if (!template) return text;
    try {
      return renderIn(template, context);
    } catch (error) {
      if (error instanceof ExpressionEvalError) throw new TemplateEvalError(path, error);
      throw error;
    }
  });
}

/**
 * A `when` condition: bare (`tasks.a.status == "failed"`) or wrapped
 * (`${{ tasks.a.status == "failed" }}`), the same expression either way.
 * The positions of its errors, at compile time and when it runs, are offsets
 * into `text`: a wrapped one is compiled with `${{` and `}}` blanked out.
 * Throws ExpressionSyntaxError.
 *
 * @example compileCondition('${{ tasks.a.status == "failed" }}').source // '    tasks.a.status == "failed"   '
 */
export function compileCondition(text: string): CompiledExpression {
  // A bare condition may hold "${{" inside a string literal; only a leading one wraps.
  if (!text.trimStart().startsWith(OPEN)) return compileExpression(text);
  const template = compileTemplate(text)!;
  // It starts with a `${{`, so the first expression is that one.
  const first = template.parts.find((part) => 'expr' in part) as { expr: CompiledExpression; offset: number };
  const end = first.offset + first.expr.source.length;
  if (!template.whole) {
    const after = end + 2;
    const position = after + Math.max(0, text.slice(after).search(/\S/));
    throw syntaxErrorAt(text, 'a condition is one expression: bare, or one `${{ }}` with nothing around it', position);
  }
  return compileExpression(' '.repeat(first.offset) + first.expr.source + ' '.repeat(text.length - end));
}

function compileIn(text: string, path: string): CompiledTemplate | null {
  try {
    return compileTemplate(text);
  } catch (error) {
    if (error instanceof ExpressionSyntaxError) throw new TemplateSyntaxError(path, error);
    throw error;
  }
}

/**
 * Copies a JSON value, passing each string through `onString` with its path.
 * Iterative, so no input depth can exhaust the stack; siblings are visited in
 * order so the first error reported is the first in the document.
 */
function walk(value: unknown, prefix: string, onString: (text: string, path: string) => unknown): unknown {
  const root: Record<string, unknown> = {};
  const stack: [unknown, Record<string, unknown> | unknown[], string | number, string][] = [[value, root, 'value', prefix]];
  while (stack.length > 0) {
    const [item, holder, key, path] = stack.pop()!;
    let copy: unknown = item;
    if (typeof item === 'string') copy = onString(item, path);
    else if (Array.isArray(item)) {
      copy = new Array<unknown>(item.length);
      for (let i = item.length - 1; i >= 0; i--) stack.push([item[i], copy as unknown[], i, `${path}[${i}]`]);
    } else if (item !== null && typeof item === 'object') {
      copy = {};
      const keys = Object.keys(item);
      for (let i = keys.length - 1; i >= 0; i--) stack.push([(item as Record<string, unknown>)[keys[i]!], copy as Record<string, unknown>, keys[i]!, joinPath(path, keys[i]!)]);
    }
    if (Array.isArray(holder)) holder[key as number] = copy;
    else setOwn(holder, key as string, copy);
  }
  return root.value;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const joinPath = (path: string, key: string) => (IDENTIFIER.test(key) ? (path === '' ? key : `${path}.${key}`) : `${path}[${JSON.stringify(key)}]`);
