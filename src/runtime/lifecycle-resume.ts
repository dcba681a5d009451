import type { WorkflowSpec } from '../machines/types.js';
import { TroupeError } from './errors.js';

/**
 * The index of the phase `start {resume_from_phase}` names: a number counts
 * from 1 (the spec's phase_id), a string is a phase name (or, when no phase
 * is called that, a number written as text). PHASE_NOT_FOUND lists the phases.
 */
export function phaseIndexOf(workflowId: string, spec: WorkflowSpec, wanted: number | string): number {
  const byName = typeof wanted === 'string' ? spec.phases.findIndex((p) => p.name === wanted) : -1;
  if (byName >= 0) return byName;
  const number = typeof wanted === 'number' ? wanted : /^\d+$/.test(wanted) ? Number(wanted) : NaN;
  if (Number.isInteger(number) && number >= 1 && number <= spec.phases.length) return number - 1;
  const listed = spec.phases.map((p, i) => `${i + 1} ${p.name}`).join(', ');
  throw new TroupeError('PHASE_NOT_FOUND', `Workflow ${workflowId} has no phase ${JSON.stringify(wanted)} to resume from`, {
    details: `Its phases (number and name): ${listed}`,
  });
}

/**
 * What a resume does instead of running the skipped phases, where it shows:
 * later tasks that depend on a skipped task run as if it had completed, but
 * it has no output for their expressions to read.
 */
export function resumeWarnings(spec: WorkflowSpec, from: number): string[] {
  const skipped = new Set(spec.phases.slice(0, from).flatMap((p) => p.tasks.map((t) => t.id)));
  const dependents = spec.phases.slice(from).flatMap((p) => p.tasks.filter((t) => t.dependsOn.some((d) => skipped.has(d))).map((t) => t.id));
  if (dependents.length === 0) return [];
  return [
    `resume_from_phase: troupe does not know what the skipped phases produced; ${dependents.join(', ')} depend on their tasks and run as if those had completed, with no output for an expression to read`,
  ];
}
