import type { ExpressionRoot } from './cel-environment.js';
import { toCel } from './cel-values.js';
import type { ExpressionShape } from './expression-shape.js';

/**
 * The context of an evaluation: plain JSON data, built by the caller. It is
 * copied before the evaluator sees it, so it is never changed.
 *
 * @example
 * const context: ExpressionContext = { tasks: { a: { output: { n: 3 }, status: 'completed' } }, workflow: { id: 'w1', name: 'build' } };
 */
export interface ExpressionContext {
  tasks?: Record<string, { output: unknown; status: string }>;
  workflow?: { id: string; name: string };
  params?: Record<string, unknown>;
  task?: { attempt: number };
  /** The compensated task's output, in `compensate.input` only. */
  output?: unknown;
}

/** A root the context does not have, named by the expression: the caller reports where. */
export class MissingRootError extends Error {
  constructor(readonly root: ExpressionRoot) {
    super(`\`${root}\` is not available here`);
  }
}

/**
 * The CEL variables for one context, converted on demand and kept for the
 * next expression: rendering a task's input evaluates several expressions
 * over one context, and a task's output may be large, so each root (and
 * each task) is copied at most once, and only when an expression names it.
 */
export class CelContext {
  readonly #source: ExpressionContext;
  readonly #roots = new Map<ExpressionRoot, unknown>();
  readonly #tasks = new Map<string, unknown>();

  constructor(source: ExpressionContext) {
    this.#source = source;
  }

  /**
   * The variables an expression of this shape reads. A static reader of
   * `tasks` gets only the tasks it names: `has(tasks.x)` and `tasks.x` then
   * behave as over the whole map, at the cost of those tasks alone.
   * Throws MissingRootError.
   */
  variablesFor(shape: ExpressionShape): Record<string, unknown> {
    const variables: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const root of shape.roots) {
      if (own(this.#source, root) === undefined) throw new MissingRootError(root);
      variables[root] = root === 'tasks' && !shape.dynamicTasks ? this.#someTasks(shape.tasks) : this.#root(root);
    }
    return variables;
  }

  #root(root: ExpressionRoot): unknown {
    if (this.#roots.has(root)) return this.#roots.get(root);
    let value: unknown;
    if (root === 'tasks') {
      const all = this.#source.tasks ?? {};
      value = this.#someTasks(Object.keys(all));
    } else value = toCel(own(this.#source, root));
    this.#roots.set(root, value);
    return value;
  }

  #someTasks(ids: readonly string[]): Map<string, unknown> {
    const all = this.#source.tasks ?? {};
    const tasks = new Map<string, unknown>();
    for (const id of ids) {
      if (!this.#tasks.has(id)) this.#tasks.set(id, toCel(own(all, id)));
      const task = this.#tasks.get(id);
      if (task !== undefined) tasks.set(id, task);
    }
    return tasks;
  }
}

/** Own properties only: a key inherited through a polluted prototype is not data. */
function own(object: object, key: string): unknown {
  return Object.hasOwn(object, key) ? (object as Record<string, unknown>)[key] : undefined;
}
