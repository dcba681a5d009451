import type { TaskSpec } from '../../machines/types.js';
import { findTemplates } from './templates.js';

/** True when a value (an input) holds a `${{ }}` anywhere; a syntax error counts (the definition check, or rendering, reports it). */
export function inputHasTemplates(input: unknown): boolean {
  try {
    return findTemplates(input, 'input').length > 0;
  } catch {
    return true;
  }
}

/** Whether a spec's input holds a `${{ }}`, found once per spec (specs never change). */
const templated = new WeakMap<TaskSpec, boolean>();

/** True when the task's input must be rendered before it runs. */
export function hasTemplates(spec: TaskSpec): boolean {
  let found = templated.get(spec);
  if (found === undefined) templated.set(spec, (found = inputHasTemplates(spec.input)));
  return found;
}
