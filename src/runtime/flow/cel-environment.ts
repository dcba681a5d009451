import { Environment, type ParseResult } from '@marcbachmann/cel-js';

/**
 * The roots an expression may name; each is a variable of the environment,
 * and nothing else is.
 *
 * @example EXPRESSION_ROOTS.includes('tasks') // true
 */
export const EXPRESSION_ROOTS = ['tasks', 'workflow', 'params', 'task', 'output'] as const;
/** One of {@link EXPRESSION_ROOTS}. */
export type ExpressionRoot = (typeof EXPRESSION_ROOTS)[number];

/**
 * Structural limits of one expression. Templates hold short expressions; the
 * library's defaults (100 000 nodes, depth 250) are sized for policy files and
 * would let one `create` make the hub parse for a long time.
 */
const LIMITS = { maxAstNodes: 2_000, maxDepth: 64, maxListElements: 1_000, maxMapEntries: 1_000, maxCallArguments: 32 };

type Arithmetic = '+' | '-' | '*' | '/';
const ARITHMETIC: Record<Arithmetic, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
};

/**
 * The one CEL environment every expression is parsed in.
 *
 * - Only the five roots are variables: `unlistedVariablesAreDyn` would resolve
 *   any unknown name against the context object (the probe got the context's
 *   `constructor` function back for the bare name `constructor`).
 * - Mixed aggregate literals (`[1, "a"]`) are allowed, as in JSON.
 * - JSON has one number type, CEL two: our integers become CEL `int`, other
 *   numbers `double`. CEL has no implicit conversion between them, so
 *   `output.price * 2` (double * int) would be "no such overload"; the mixed
 *   arithmetic and equality overloads below give the answer JSON readers
 *   expect. Ordering (`<`, `>=` …) between int and double is built in.
 */
function createEnvironment(): Environment {
  const env = new Environment({ homogeneousAggregateLiterals: false, limits: LIMITS });
  for (const root of EXPRESSION_ROOTS) env.registerVariable(root, 'dyn');
  for (const [op, apply] of Object.entries(ARITHMETIC)) {
    env.registerOperator(`int ${op} double: double`, (a: bigint, b: number) => apply(Number(a), b));
    env.registerOperator(`double ${op} int: double`, (a: number, b: bigint) => apply(a, Number(b)));
  }
  // The library derives `!=` and the mirrored `double == int` from this one.
  env.registerOperator('int == double', (a: bigint, b: number) => Number(a) === b);
  return env;
}

// Module-private: nothing outside this file can register more into it.
const environment = createEnvironment();

/**
 * Parses CEL text in the shared environment. Throws the library's ParseError.
 *
 * @example parseCel('tasks.a.output.n + 1')(context)
 */
export function parseCel(source: string): ParseResult {
  return environment.parse(source);
}
