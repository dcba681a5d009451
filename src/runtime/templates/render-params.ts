import { TroupeError } from '../errors.js';
import { setOwn } from '../flow/cel-values.js';
import { pointAt } from '../flow/expression-errors.js';
import { ExpressionEvalError, ExpressionSyntaxError, referencesOf, type ExpressionRoot } from '../flow/expressions.js';
import { compileTemplate, renderTemplate, type CompiledTemplate } from '../flow/templates.js';
import type { ParamValue } from './param-declarations.js';

const OPEN = '${{';

/**
 * What a place in a definition is, for its `${{ }}`:
 * - `text`: known once the params are (names, descriptions, durations, ids…):
 *   rendered at create, and only params can be read there;
 * - `runtime`: a task's `input` or `compensate.input`, rendered again when the
 *   task runs: a string that reads only params is rendered at create (its
 *   built-in input is then checked at once), anything else waits;
 * - `condition`: a `when`, an expression evaluated when the task runs, with
 *   params in its context: left alone.
 * The others are steps down the definition's structure.
 */
type Place = 'root' | 'phases' | 'phase' | 'tasks' | 'task' | 'compensate' | 'text' | 'runtime' | 'condition' | 'skip';

function placeOf(parent: Place, key: string | number): Place {
  switch (parent) {
    case 'root':
      return key === 'phases' ? 'phases' : key === 'params' ? 'skip' : 'text';
    case 'phases':
      return 'phase';
    case 'phase':
      return key === 'tasks' ? 'tasks' : 'text';
    case 'tasks':
      return 'task';
    case 'task':
      return key === 'input' ? 'runtime' : key === 'when' ? 'condition' : key === 'compensate' ? 'compensate' : 'text';
    case 'compensate':
      return key === 'input' ? 'runtime' : 'text';
    default:
      return parent;
  }
}

/**
 * Where a value sits: its place, and the way back to the root (paths are
 * spelled out only for a message: building one per value would cost more
 * than the walk).
 */
interface Where {
  place: Place;
  parent: Where | null;
  key: string | number;
  /** the id of the task it is in, if any */
  task: string | null;
}

function stepInto(where: Where, key: string | number, item: unknown): Where {
  const place = placeOf(where.place, key);
  if (place !== 'task') return { place, parent: where, key, task: where.task };
  const id = (item as { id?: unknown } | null)?.id;
  // a task without an id (the schema refuses it later) is named by its path
  return { place, parent: where, key, task: typeof id === 'string' ? id : null };
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The path from the root (`phases[1].tasks[0].timeout`), or from the task it is in when `inTask`. */
function pathOf(where: Where, inTask: boolean): string {
  const keys: (string | number)[] = [];
  for (let w: Where | null = where; w !== null && w.place !== 'root' && !(inTask && w.place === 'task'); w = w.parent) keys.unshift(w.key);
  let path = '';
  for (const key of keys) path = typeof key === 'number' ? `${path}[${key}]` : IDENTIFIER.test(key) ? (path === '' ? key : `${path}.${key}`) : `${path}[${JSON.stringify(key)}]`;
  return path;
}

/** Where a string sits, as a user finds it: `Task build: timeout`, or `phases[1].name`. */
const label = (w: Where) => (w.task === null ? pathOf(w, false) : `Task ${w.task}: ${pathOf(w, true)}`);

/**
 * The definition with its params placed (DESIGN §12): every string whose
 * `${{ }}` read params only is rendered with `values`, a string that is
 * exactly one `${{ }}` keeping the value's JSON type (`timeout: "${{
 * params.timeout }}"` becomes a number when the param is one). A fresh copy;
 * `params` itself and every `when` are left as written. Iterative, so no
 * depth can exhaust the stack. Throws INVALID_EXPRESSION (a syntax error
 * outside task inputs, an evaluation that fails with these values),
 * INVALID_REFERENCE (outside task inputs, anything but params; an
 * undeclared param) and INVALID_PARAMS (a rendered string that holds `${{`).
 *
 * @example renderParams({ name: 'fix ${{ params.issue }}', phases: ['p'] }, { issue: 'BUG-1' }) // { name: 'fix BUG-1', phases: ['p'] }
 */
export function renderParams(definition: Record<string, unknown>, values: Record<string, ParamValue>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const stack: [unknown, Record<string, unknown> | unknown[], string | number, Where][] = [];
  const top: Where = { place: 'root', parent: null, key: '', task: null };
  const keys = Object.keys(definition);
  for (let i = keys.length - 1; i >= 0; i--) stack.push([definition[keys[i]!], root, keys[i]!, stepInto(top, keys[i]!, definition[keys[i]!])]);
  while (stack.length > 0) {
    const [item, holder, key, where] = stack.pop()!;
    let copy: unknown = item;
    if (where.place === 'skip' || where.place === 'condition') copy = item;
    else if (typeof item === 'string') copy = item.includes(OPEN) ? renderString(item, where, values) : item;
    else if (Array.isArray(item)) {
      copy = new Array<unknown>(item.length);
      for (let i = item.length - 1; i >= 0; i--) stack.push([item[i], copy as unknown[], i, stepInto(where, i, item[i])]);
    } else if (item !== null && typeof item === 'object') {
      copy = {};
      const inner = Object.keys(item);
      for (let i = inner.length - 1; i >= 0; i--) {
        const value = (item as Record<string, unknown>)[inner[i]!];
        stack.push([value, copy as Record<string, unknown>, inner[i]!, stepInto(where, inner[i]!, value)]);
      }
    }
    if (Array.isArray(holder)) holder[key as number] = copy;
    else setOwn(holder, key as string, copy);
  }
  return root;
}

function renderString(text: string, where: Where, values: Record<string, ParamValue>): unknown {
  const runtime = where.place === 'runtime';
  let template: CompiledTemplate | null;
  try {
    template = compileTemplate(text);
  } catch (error) {
    if (!(error instanceof ExpressionSyntaxError)) throw error;
    // in a task input the reference check reports it, with its position; elsewhere nothing would
    if (runtime) return text;
    throw new TroupeError('INVALID_EXPRESSION', `${label(where)} has a syntax error at position ${error.position + 1}: ${error.reason}`, {
      details: `${pointAt(text, error.position)}\nOutside a task's input, ${OPEN} }} takes params only: ${OPEN} params.NAME }}`,
    });
  }
  if (template === null) return text;
  const roots = new Set<ExpressionRoot>();
  const params = new Set<string>();
  for (const expression of template.expressions) {
    const refs = referencesOf(expression);
    refs.roots.forEach((r) => roots.add(r));
    refs.params.forEach((p) => params.add(p));
  }
  const others = [...roots].filter((r) => r !== 'params');
  const undeclared = [...params].filter((p) => !Object.hasOwn(values, p));
  if (runtime && (others.length > 0 || !roots.has('params') || undeclared.length > 0)) return text;
  if (others.length > 0) {
    throw new TroupeError('INVALID_REFERENCE', `${label(where)} (${text}) reads ${others.join(', ')}, which only a task's input, when and compensate.input can read`, {
      details: `They are known when a task runs; ${pathOf(where, false)} is fixed when the workflow is created, so only params can be read there: ${OPEN} params.NAME }}`,
    });
  }
  if (undeclared.length > 0) {
    const declared = Object.keys(values);
    throw new TroupeError('INVALID_REFERENCE', `${label(where)} (${text}) reads params.${undeclared[0]}, which this workflow does not declare`, {
      details: declared.length === 0 ? 'Declare it: params: {NAME: {type: string | number | boolean, default, description}}' : `Declared params: ${declared.join(', ')}`,
    });
  }
  let rendered: unknown;
  try {
    rendered = renderTemplate(template, { params: values });
  } catch (error) {
    if (!(error instanceof ExpressionEvalError)) throw error;
    throw new TroupeError('INVALID_EXPRESSION', `${label(where)} (${text}) cannot be rendered with these params: ${error.reason}`, {
      details: `${error.message}\nParams: ${JSON.stringify(values)}`,
    });
  }
  // a value is data: text put together from values must not become an expression the run would evaluate
  const json = typeof rendered === 'string' ? rendered : JSON.stringify(rendered);
  if (json.includes(OPEN)) {
    throw new TroupeError('INVALID_PARAMS', `${label(where)} (${text}) renders to text holding "${OPEN}", which would be read as an expression`, {
      details: `Rendered: ${json.slice(0, 200)}`,
    });
  }
  return rendered;
}
