import { computeWaves } from './task-graph.js';
import type { PhaseOutcome, PhaseSpec, TaskSpec } from './types.js';

/** The id of the task that undoes `taskId`: a task id of its own, so its runs, logs and outcomes are kept apart. */
export const compensationId = (taskId: string): string => `${taskId}.compensate`;

/**
 * The compensation phase of a workflow that failed (or was cancelled with
 * compensation) after the phases in `ended`: one task per completed task
 * that has a `compensate`, each waiting for the compensations of the
 * completed tasks that depend on it (directly, or through tasks without a
 * compensation of their own), so effects are undone in reverse dependency
 * order while independent ones run in parallel. Null when nothing completed
 * has a compensation.
 *
 * A compensation waits for its dependencies to end in any state (see
 * `waitsForAnyEnd`): one that failed does not keep the others from running.
 * Pure and iterative; each completed task's search stops at the nearest
 * compensated dependents, so a chain of n tasks gives n - 1 edges.
 *
 * @example
 * // reserve -> charge -> ship, ship failed: charge is undone first, then reserve
 * compensationPlan(spec, phases)?.tasks.map((t) => [t.id, t.dependsOn])
 * // [['reserve.compensate', ['charge.compensate']], ['charge.compensate', []]]
 */
export function compensationPlan(specs: readonly PhaseSpec[], ended: readonly PhaseOutcome[]): PhaseSpec | null {
  const all = specs.flatMap((p) => p.tasks);
  const completed = new Set(ended.flatMap((p) => p.tasks.filter((t) => t.status === 'completed').map((t) => t.id)));
  const undoable = (spec: TaskSpec | undefined): spec is TaskSpec & { compensate: NonNullable<TaskSpec['compensate']> } =>
    spec !== undefined && spec.compensate !== undefined && completed.has(spec.id);
  const byId = new Map(all.map((s) => [s.id, s]));
  const dependents = new Map<string, string[]>();
  for (const spec of all) {
    for (const dep of spec.dependsOn) {
      const list = dependents.get(dep);
      if (list) list.push(spec.id);
      else dependents.set(dep, [spec.id]);
    }
  }
  const tasks: TaskSpec[] = [];
  for (const spec of all) {
    if (!undoable(spec)) continue;
    const after: string[] = [];
    const seen = new Set<string>([spec.id]);
    const queue = [...(dependents.get(spec.id) ?? [])];
    for (let i = 0; i < queue.length; i++) {
      const id = queue[i]!;
      if (seen.has(id)) continue;
      seen.add(id);
      if (undoable(byId.get(id))) after.push(compensationId(id));
      else queue.push(...(dependents.get(id) ?? []));
    }
    tasks.push({
      id: compensationId(spec.id),
      description: `undoes ${spec.id}`,
      handler: spec.compensate.handler,
      role: spec.role,
      input: spec.compensate.input,
      dependsOn: after,
      timeoutMs: spec.compensate.timeoutMs,
      retries: spec.compensate.retries,
      exclusiveFiles: spec.exclusiveFiles,
      estimatedDurationMs: 0,
      risky: false,
      compensates: spec.id,
      ...(spec.compensate.handler === 'exec' ? { onRecovery: spec.onRecovery ?? 'adopt' } : {}),
    });
  }
  if (tasks.length === 0) return null;
  // listed in the order they can run (by wave, then as defined), as status and events show them
  const waves = computeWaves(tasks);
  return { name: 'compensation', tasks: tasks.map((t, i) => ({ t, i })).sort((a, b) => waves.get(a.t.id)! - waves.get(b.t.id)! || a.i - b.i).map(({ t }) => t) };
}
