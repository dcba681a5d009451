import { newTaskRecord } from './phase-records.js';
import type { PhaseOutcome, WorkflowSpec } from './types.js';

/** The skip reason of the phases (and their tasks) a `start {resume_from_phase}` left out. */
export const RESUME_SKIP_REASON = 'resume_from_phase';

/**
 * The outcomes of the phases before `from` when a start resumes from it: the
 * user says they are done elsewhere, so they end `skipped` without running.
 * Their tasks are skipped benignly (a skip the user asked for is no failure,
 * so the workflow can still end `completed`) and none is blocked: a later
 * task that depends on one of them is not held back by it.
 */
export function resumedPhases(spec: WorkflowSpec, from: number, at: number): PhaseOutcome[] {
  return spec.phases.slice(0, from).map((phase, index) => ({
    index,
    name: phase.name,
    status: 'skipped',
    stoppedBy: null,
    startedAt: null,
    finishedAt: at,
    skipReason: RESUME_SKIP_REASON,
    tasks: phase.tasks.map((task) => ({ ...newTaskRecord(task.id), status: 'skipped', reason: RESUME_SKIP_REASON, benign: true, finishedAt: at })),
  }));
}
