import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileExpression,
  evaluateExpression,
  EXPRESSION_ROOTS,
  type ExpressionContext,
  ExpressionEvalError,
  ExpressionSyntaxError,
} from '../src/runtime/flow/expressions.js';
import { compileTemplate, renderTemplate, renderValue } from '../src/runtime/flow/templates.js';

/** Names a JavaScript object answers to without owning them, and the globals an escape would want. */
const DANGEROUS = ['constructor', '__proto__', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__', 'globalThis', 'process', 'require', 'Function', 'eval', 'length', 'name', 'call', 'apply', 'bind', 'then'];
/** Words CEL cannot take after a dot (`x.true`): a syntax error there is right. */
const NOT_FIELD_NAMES = new Set(['true', 'false', 'null', 'in']);
const name = fc.oneof(fc.constantFrom(...DANGEROUS, 'a', 'b', 'int', 'cel', 'type', 'dyn'), fc.stringMatching(/^[a-z_][a-z0-9_]{0,5}$/));

/** An object with exactly these own keys: `__proto__` too, as JSON.parse makes it. */
function objectOf(entries: [string, unknown][]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

const double = fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d));
const jsonWith = (text: fc.Arbitrary<string>): fc.Arbitrary<unknown> =>
  fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.integer({ min: -1e6, max: 1e6 }),
      fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 60),
      double,
      text,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.array(fc.tuple(name, tie('value')), { maxLength: 4 }).map(objectOf),
    ),
  })).value;
const json = jsonWith(fc.string());

/** Every root, less one now and then (`output` exists only in compensation, say). */
const context: fc.Arbitrary<ExpressionContext> = fc
  .tuple(
    fc.record({
      tasks: fc.array(fc.tuple(name, fc.record({ output: json, status: fc.constantFrom('completed', 'failed') })), { minLength: 1, maxLength: 4 }).map(objectOf),
      workflow: fc.record({ id: fc.string(), name: fc.string() }),
      params: fc.array(fc.tuple(name, json), { maxLength: 4 }).map(objectOf),
      task: fc.record({ attempt: fc.nat(10) }),
      output: json,
    }),
    fc.option(fc.constantFrom(...EXPRESSION_ROOTS), { freq: 3 }),
  )
  .map(([ctx, without]) => {
    if (without !== null) delete (ctx as Record<string, unknown>)[without];
    return ctx as ExpressionContext;
  });

type Step = { kind: 'dot' | 'index'; key: string } | { kind: 'at'; at: number };
/** A step choice: follow a key the value has (`existing`), or try a name or a list index. */
const stepChoice = fc.tuple(fc.oneof({ weight: 12, arbitrary: fc.constant('existing') }, fc.constantFrom('dot', 'index', 'at')), fc.nat(), name, fc.boolean());

/** Turns choices into steps over `start`, following real keys when asked, so paths often exist. */
function stepsOver(start: unknown, choices: [string, number, string, boolean][]): Step[] {
  const steps: Step[] = [];
  let current = start;
  for (const [choice, n, key, dot] of choices) {
    let step: Step;
    if (choice === 'existing' && Array.isArray(current) && current.length > 0) step = { kind: 'at', at: n % current.length };
    else if (choice === 'existing' && isObject(current) && Object.keys(current).length > 0) step = { kind: dot ? 'dot' : 'index', key: Object.keys(current)[n % Object.keys(current).length]! };
    else if (choice === 'existing') continue; // a leaf (or empty): the path ends here more often than not
    else if (choice === 'at') step = { kind: 'at', at: n % 6 };
    else step = { kind: choice === 'dot' ? 'dot' : 'index', key };
    steps.push(step);
    current = lookup(current, step);
  }
  return steps;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const MISSING = Symbol('missing');
function lookup(value: unknown, step: Step): unknown {
  if (step.kind === 'at') return Array.isArray(value) && step.at < value.length ? value[step.at] : MISSING;
  return isObject(value) && Object.hasOwn(value, step.key) ? value[step.key] : MISSING;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const sourceOf = (root: string, steps: Step[]) =>
  root + steps.map((s) => (s.kind === 'at' ? `[${s.at}]` : s.kind === 'dot' && IDENT.test(s.key) ? `.${s.key}` : `[${JSON.stringify(s.key)}]`)).join('');

/** Strings, finite numbers, booleans, null, arrays and plain objects of those, nothing else. */
function isJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJson);
  if (typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.keys(value).every((key) => isJson((value as Record<string, unknown>)[key]));
}

function attempt(source: string, ctx: ExpressionContext): { value?: unknown; error?: unknown } {
  try {
    return { value: evaluateExpression(compileExpression(source), ctx) };
  } catch (error) {
    return { error };
  }
}

const PROTOTYPES = [Object.prototype, Array.prototype, Function.prototype, String.prototype, Number.prototype, Map.prototype, BigInt.prototype];
const snapshot = () => PROTOTYPES.map((p) => Object.getOwnPropertyNames(p).sort().join(','));
let before: string[];
beforeAll(() => {
  before = snapshot();
});
afterAll(() => {
  // Nothing the expressions did may have reached a shared prototype.
  expect(snapshot()).toEqual(before);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

describe('the sandbox, over random contexts', () => {
  it('a path gives the value at that path when it exists as own data, else an expression error; the context is unchanged', () => {
    fc.assert(
      fc.property(context, fc.oneof({ weight: 6, arbitrary: fc.constant('tasks') }, { weight: 4, arbitrary: fc.constantFrom(...EXPRESSION_ROOTS) }, { weight: 2, arbitrary: name }), fc.array(stepChoice, { maxLength: 5 }), (ctx, root, choices) => {
        const rootValue = (EXPRESSION_ROOTS as readonly string[]).includes(root) && Object.hasOwn(ctx, root) ? (ctx as Record<string, unknown>)[root] : MISSING;
        const steps = stepsOver(rootValue, choices);
        const expected = steps.reduce<unknown>((value, step) => (value === MISSING ? MISSING : lookup(value, step)), rootValue);
        const text = JSON.stringify(ctx);
        const { value, error } = attempt(sourceOf(root, steps), ctx);
        expect(JSON.stringify(ctx)).toBe(text);
        if (error !== undefined) expect(error instanceof ExpressionEvalError || error instanceof ExpressionSyntaxError).toBe(true);
        const unwritable = steps.some((s) => s.kind === 'dot' && NOT_FIELD_NAMES.has(s.key));
        if (expected === MISSING) expect(error).toBeDefined();
        else if (!unwritable) {
          expect(error).toBeUndefined();
          expect(value).toEqual(expected);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('any mix of calls, literals and names gives JSON or an expression error, never a function', () => {
    const forms = fc.constantFrom(
      (r: string, n: string) => `${n}(${r})`,
      (r: string, n: string) => `${r}.${n}()`,
      (r: string, n: string) => `${r}[${r}]`,
      (r: string, n: string) => `{}.${n}`,
      (r: string, n: string) => `[].${n}`,
      (r: string, n: string) => `"s".${n}`,
      (r: string, n: string) => `type(${r}).${n}`,
      (r: string, n: string) => `dyn(${r})["${n}"]`,
      (r: string, n: string) => `${r}.map(x, x.${n})`,
      (r: string, n: string) => `{"${n}": ${r}}`,
      (r: string, n: string) => `${r} + ${r}`,
      (r: string, n: string) => `${n}.${n}`,
      (r: string, n: string) => `cel.bind(${n === 'cel' ? 'v' : 'v'}, ${r}, v.${n})`,
    );
    fc.assert(
      fc.property(context, fc.oneof(fc.constantFrom(...EXPRESSION_ROOTS), name), name, forms, (ctx, root, key, form) => {
        const text = JSON.stringify(ctx);
        const { value, error } = attempt(form(root, key), ctx);
        expect(JSON.stringify(ctx)).toBe(text);
        if (error === undefined) expect(isJson(value)).toBe(true);
        else expect(error instanceof ExpressionEvalError || error instanceof ExpressionSyntaxError).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('templates, over random values', () => {
  it('renderValue on JSON without templates returns an equal, fresh copy', () => {
    const plain = jsonWith(fc.string().map((s) => s.replaceAll('${{', '$ {{')));
    fc.assert(
      fc.property(plain, context, (value, ctx) => {
        const text = JSON.stringify(value);
        const copy = renderValue(value, ctx, 'input');
        expect(copy).toEqual(value);
        expect(JSON.stringify(copy)).toBe(text);
        expect(JSON.stringify(value)).toBe(text);
        if (typeof value === 'object' && value !== null) expect(copy).not.toBe(value);
      }),
    );
  });

  it('a whole template keeps the JSON type of its value', () => {
    const value = fc.oneof(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), double, fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.oneof(fc.integer(), double, fc.string())));
    const space = fc.constantFrom('', ' ', '\n  ');
    fc.assert(
      fc.property(value, space, space, (v, left, right) => {
        const ctx: ExpressionContext = { tasks: { a: { output: { v }, status: 'completed' } } };
        const template = compileTemplate(`${left}\${{ tasks.a.output.v }}${right}`)!;
        expect(template.whole).toBe(true);
        const rendered = renderTemplate(template, ctx);
        expect(rendered).toEqual(v);
        expect(typeof rendered).toBe(typeof v);
      }),
    );
  });

  it('a whole template of a number or boolean literal gives that value', () => {
    const literal = fc.oneof(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), double, fc.boolean());
    fc.assert(
      fc.property(literal, (v) => {
        // An integral double beyond ±2^53 prints like an int literal, and an int that large is refused; `.0` keeps it a double.
        const text = typeof v === 'number' && !Number.isSafeInteger(v) && /^-?\d+$/.test(String(v)) ? `${v}.0` : String(v);
        expect(renderTemplate(compileTemplate(`\${{ ${text} }}`)!, {})).toEqual(v);
      }),
    );
  });
});
