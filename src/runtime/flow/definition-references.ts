import type { TaskSpec } from '../../machines/types.js';
import { TroupeError } from '../errors.js';
import { ExpressionSyntaxError, referencesOf, type CompiledExpression } from './expressions.js';
import { compileCondition, findTemplates, TemplateSyntaxError } from './templates.js';

/** Every task a task depends on, directly or through others (the graph is known to be acyclic here). */
function ancestorsOf(task: TaskSpec, byId: ReadonlyMap<string, TaskSpec>): Set<string> {
  const found = new Set<string>();
  const queue = [...task.dependsOn];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    if (found.has(id)) continue;
    found.add(id);
    queue.push(...(byId.get(id)?.dependsOn ?? []));
  }
  return found;
}

/** One place expressions are written: a task's `when`, its `input`, or its `compensate.input`. */
interface Site {
  /** where, as a user finds it: `when`, `input.command`, `compensate.input.id` */
  path: string;
  text: string;
  expressions: CompiledExpression[];
}

/** The places `task` writes expressions; a syntax error is reported (the rest of that field is not read) and the others are still found. */
function sitesOf(task: TaskSpec, report: ReferenceReport): Site[] {
  const sites: Site[] = [];
  const fail = (error: ExpressionSyntaxError, path: string, text: string): void => {
    report(
      new TroupeError('INVALID_EXPRESSION', `Task ${task.id} has a syntax error in ${path} at position ${error.position + 1}: ${error.reason}`, {
        details: `${text}\n${' '.repeat(Math.max(0, error.position))}^\nExpressions are CEL (e.g. tasks.build.output.id, tasks.test.status == "failed"); see the README, "Passing data between tasks"`,
      }),
      task,
      path,
    );
  };
  if (task.when !== undefined) {
    try {
      sites.push({ path: 'when', text: task.when, expressions: [compileCondition(task.when)] });
    } catch (error) {
      if (!(error instanceof ExpressionSyntaxError)) throw error;
      fail(error, 'when', task.when);
    }
  }
  const templated = (value: unknown, prefix: string) => {
    try {
      for (const { path, template } of findTemplates(value, prefix)) sites.push({ path, text: template.source, expressions: template.expressions });
    } catch (error) {
      if (!(error instanceof TemplateSyntaxError)) throw error;
      fail(error, error.path, textAt(value, error.path, prefix));
    }
  };
  templated(task.input, 'input');
  if (task.compensate) templated(task.compensate.input, 'compensate.input');
  return sites;
}

/** The string at `path` inside `value` (for the caret line of a syntax error), or the path when it cannot be walked. */
function textAt(value: unknown, path: string, prefix: string): string {
  let here: unknown = value;
  for (const part of path.slice(prefix.length).match(/[^.[\]]+/g) ?? []) {
    if (here === null || typeof here !== 'object') return path;
    here = (here as Record<string, unknown>)[part];
  }
  return typeof here === 'string' ? here : path;
}

/** What is wrong with what one expression of `task` reads (the first thing), or null when it may read it all. */
function refusal(
  refs: ReturnType<typeof referencesOf>,
  task: TaskSpec,
  compensation: boolean,
  declared: ReadonlySet<string>,
  byId: ReadonlyMap<string, TaskSpec>,
  ancestors: ReadonlySet<string>,
): { what: string; fix: string } | null {
  if (refs.roots.includes('output') && !compensation) {
    return { what: 'reads output, which only a compensation has', fix: `Read a dependency's output as tasks.<id>.output; 'output' is the compensated task's output inside compensate.input` };
  }
  for (const param of refs.params) {
    if (declared.has(param)) continue;
    return {
      what: `reads params.${param}, which this workflow does not declare`,
      fix: declared.size === 0 ? 'Declare it: params: {NAME: {type: string | number | boolean, default, description}}' : `Declared params: ${[...declared].join(', ')}`,
    };
  }
  for (const id of refs.tasks) {
    if (!byId.has(id)) return { what: `reads tasks.${id}, which is not a task of this workflow`, fix: `Known tasks: ${[...byId.keys()].slice(0, 20).join(', ')}` };
    if (id === task.id && !compensation) return { what: `reads its own task ${id}, which has not run yet when this is evaluated`, fix: 'Read the output of a task it depends on' };
    if (id !== task.id && !ancestors.has(id)) {
      return {
        what: `reads tasks.${id}, which task ${task.id} does not depend on`,
        fix: `Add ${id} to the depends_on of ${task.id} (directly or through another task), so it has ended when ${task.id} runs`,
      };
    }
  }
  return null;
}

/** Where a refused expression is reported: the error, its task, and the field in the task (`when`, `input.command`). */
export type ReferenceReport = (error: TroupeError, task: TaskSpec, path: string) => void;

/**
 * Checks every expression of a workflow at `create` (DESIGN §11): its
 * syntax (INVALID_EXPRESSION with the position), and what it names
 * (INVALID_REFERENCE): a task must exist and be one the expression's task
 * depends on, directly or through others, because only those have ended
 * when it runs; a compensation may also read its own task (`output`, or
 * `tasks.<self>`); `output` exists only in `compensate.input`; `params.NAME`
 * needs the workflow to declare it (`declaredParams`, DESIGN §12). Each
 * expression's first problem is reported, and the checking goes on.
 */
export function checkReferences(tasks: readonly TaskSpec[], declaredParams: readonly string[], report: ReferenceReport): void {
  const declared = new Set(declaredParams);
  const byId = new Map(tasks.map((t) => [t.id, t]));
  for (const task of tasks) {
    const sites = sitesOf(task, report);
    if (sites.length === 0) continue;
    const ancestors = ancestorsOf(task, byId);
    for (const site of sites) {
      const compensation = site.path.startsWith('compensate.');
      for (const expression of site.expressions) {
        const refused = refusal(referencesOf(expression), task, compensation, declared, byId, ancestors);
        if (refused) report(new TroupeError('INVALID_REFERENCE', `Task ${task.id}: ${site.path} (${site.text}) ${refused.what}`, { details: refused.fix }), task, site.path);
      }
    }
  }
}
