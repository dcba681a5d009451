import type { PhaseRef, WorkflowSnapshot } from '../scheduling/workflow-entry.js';
import type { TaskError, TaskRecord, TaskSpec } from '../../machines/types.js';
import { evaluateExpression, ExpressionEvalError, ExpressionSyntaxError, type ExpressionContext } from './expressions.js';
import { hasTemplates } from './task-templates.js';
// compiling is cached by source text (expressions.ts, templates.ts): a pump re-evaluating a `when` parses nothing again
import { compileCondition, renderValue } from './templates.js';

/** What the scheduler does with a ready task, once its condition and input are evaluated. */
export type Preparation =
  | { kind: 'run'; input: unknown }
  /** its condition is false: it ends `skipped` without running */
  | { kind: 'skip'; reason: string }
  /** its condition or input cannot be evaluated: it fails without running (not retried: the same data gives the same answer) */
  | { kind: 'fail'; error: TaskError };

/** Where each task's record lives: its phase, and its place in that phase's list. Derived once per workflow spec. */
const places = new WeakMap<object, Map<string, { phase: number; index: number; spec: TaskSpec }>>();

function placeOf(snapshot: WorkflowSnapshot, id: string) {
  const { spec } = snapshot.context;
  let map = places.get(spec);
  if (!map) {
    map = new Map();
    spec.phases.forEach((phase, p) => phase.tasks.forEach((task, i) => map!.set(task.id, { phase: p, index: i, spec: task })));
    places.set(spec, map);
  }
  return map.get(id);
}

/** A task's record as the workflow knows it now: from its ended phase's outcome, or from the live phase. */
function recordOf(snapshot: WorkflowSnapshot, id: string): TaskRecord | undefined {
  const place = placeOf(snapshot, id);
  if (!place) return undefined;
  const ended = snapshot.context.phases[place.phase];
  if (ended) return ended.tasks[place.index];
  const live = snapshot.children.phase as PhaseRef | undefined;
  const liveCtx = live?.getSnapshot().context;
  return liveCtx && liveCtx.index === place.phase ? liveCtx.tasks[id] : undefined;
}

/** Each task's lineage, derived once per spec (the graph never changes): a `when` waiting for an agent is evaluated at every pump. */
const lineages = new WeakMap<TaskSpec, string[]>();

/** `id` and every task it depends on, directly or through others: what its expressions may read. */
function lineage(snapshot: WorkflowSnapshot, id: string): string[] {
  const spec = placeOf(snapshot, id)?.spec;
  const known = spec && lineages.get(spec);
  if (known) return known;
  const found = new Set<string>([id]);
  const queue = [id];
  for (let i = 0; i < queue.length; i++) {
    for (const dep of placeOf(snapshot, queue[i]!)?.spec.dependsOn ?? []) {
      if (!found.has(dep)) {
        found.add(dep);
        queue.push(dep);
      }
    }
  }
  const ids = [...found];
  if (spec) lineages.set(spec, ids);
  return ids;
}

/**
 * The context a task's expressions see (DESIGN §11): the tasks it depends
 * on, directly or through others (their output and status, and the error of
 * one that failed), the workflow, its params and the attempt; a compensation
 * also sees the task it undoes (`tasks.<id>` and `output`). Nothing else is
 * in it, so a reference the definition check let through can still read
 * nothing it should not.
 */
export function expressionContext(snapshot: WorkflowSnapshot, spec: TaskSpec, attempt: number): ExpressionContext {
  const ctx = snapshot.context;
  const tasks: NonNullable<ExpressionContext['tasks']> = {};
  const root = spec.compensates ?? spec.id;
  for (const id of lineage(snapshot, root)) {
    if (id === spec.id) continue;
    const record = recordOf(snapshot, id);
    if (!record) continue;
    tasks[id] = {
      output: record.status === 'completed' ? record.output : null,
      status: record.status,
      ...(record.error ? { error: { code: record.error.code, message: record.error.message, data: record.error.data ?? null } } : {}),
    } as NonNullable<ExpressionContext['tasks']>[string];
  }
  return {
    tasks,
    workflow: { id: ctx.id, name: ctx.spec.name },
    params: ctx.spec.params ?? {},
    task: { attempt },
    ...(spec.compensates === undefined ? {} : { output: tasks[spec.compensates]?.output ?? null }),
  };
}

const failure = (code: string, message: string, data?: unknown): Preparation => ({
  kind: 'fail',
  error: { name: 'ExpressionError', code, message, retryable: false, ...(data === undefined ? {} : { data }) },
});

/**
 * Evaluates a ready task's `when` and renders its input (or its
 * compensation's) against what its dependencies produced. A task with
 * neither costs a lookup. Never throws: whatever goes wrong is the task's
 * failure, never the supervisor's.
 */
export function prepareTask(snapshot: WorkflowSnapshot, spec: TaskSpec, attempt: number): Preparation {
  if (spec.when === undefined && !hasTemplates(spec)) return { kind: 'run', input: spec.input };
  const where = spec.compensates === undefined ? `task ${spec.id}` : `the compensation of ${spec.compensates}`;
  try {
    const condition = spec.when === undefined ? null : compileCondition(spec.when);
    const context = expressionContext(snapshot, spec, attempt);
    if (condition !== null) {
      const holds = evaluateExpression(condition, context);
      if (typeof holds !== 'boolean') {
        return failure(
          'CONDITION_NOT_BOOLEAN',
          `The condition of ${where} gave ${JSON.stringify(holds)} (${holds === null ? 'null' : Array.isArray(holds) ? 'a list' : typeof holds}), not true or false: when: ${spec.when}`,
          { when: spec.when, value: holds },
        );
      }
      if (!holds) return { kind: 'skip', reason: 'condition' };
    }
    return { kind: 'run', input: hasTemplates(spec) ? renderValue(spec.input, context, 'input') : spec.input };
  } catch (error) {
    if (error instanceof ExpressionEvalError || error instanceof ExpressionSyntaxError) {
      const path = (error as { path?: string }).path;
      return failure('EXPRESSION_FAILED', `${where[0]!.toUpperCase()}${where.slice(1)}: ${path ?? 'when'}: ${error.reason}`, {
        ...(path === undefined ? { when: spec.when } : { path }),
        position: error.position,
      });
    }
    return failure('EXPRESSION_FAILED', `${where}: ${String(error)}`);
  }
}
