import type { TaskSpec } from '../../machines/types.js';
import type { CompiledExpression } from './expressions.js';
import { compileCondition, findTemplates } from './templates.js';

/** Whether a spec's input holds a `${{ }}`, found once per spec (specs never change). */
const templated = new WeakMap<TaskSpec, boolean>();

/** True when the task's input must be rendered before it runs. */
export function hasTemplates(spec: TaskSpec): boolean {
  let found = templated.get(spec);
  if (found === undefined) {
    try {
      found = findTemplates(spec.input, 'input').length > 0;
    } catch {
      // a syntax error the definition check let through (an old checkpoint): rendering reports it
      found = true;
    }
    templated.set(spec, found);
  }
  return found;
}

/** A `when`, compiled once per text. */
const conditions = new Map<string, CompiledExpression>();

export function compiledCondition(text: string): CompiledExpression {
  let compiled = conditions.get(text);
  if (!compiled) {
    compiled = compileCondition(text);
    if (conditions.size >= 1000) conditions.clear();
    conditions.set(text, compiled);
  }
  return compiled;
}
