import { remainingPaths } from '../../machines/task-graph.js';
import type { PhaseSpec, TaskRecord, TaskSpec, WorkflowSpec } from '../../machines/types.js';

/*
 * Within a workflow, ready tasks go longest remaining path first (DESIGN
 * §12). The scheduler walks the live phase's tasks in that order instead of
 * the definition's, so a pump costs what it did: the order is derived once
 * per phase (O(tasks + edges), then a sort) and kept beside the phase's task
 * map, which lives as long as the phase runs: a finished workflow keeps none
 * of it.
 */

/** Each task's remaining path over the whole workflow: a later phase's dependents lengthen an earlier phase's task. */
export const remainingPathsOf = (phases: readonly PhaseSpec[]): Map<string, number> => remainingPaths(phases.flatMap((p) => p.tasks));

const orders = new WeakMap<object, readonly TaskSpec[]>();

/**
 * The live phase's specs, longest remaining path first, ties in definition
 * order (the sort is stable). A phase of the definition is measured within
 * the whole workflow; the compensation phase (after the last) within itself.
 * A task weighs more than its dependents, so this is a topological order too:
 * the scan mark of `openSpecs` moves forward about as it did over the
 * definition's order.
 */
export function dispatchOrder(
  phase: { index: number; specs: readonly TaskSpec[]; tasks: Readonly<Record<string, TaskRecord>> },
  workflow: WorkflowSpec,
): readonly TaskSpec[] {
  let order = orders.get(phase.tasks);
  if (!order) {
    const path = phase.index < workflow.phases.length ? remainingPathsOf(workflow.phases) : remainingPaths(phase.specs);
    const weight = (spec: TaskSpec) => path.get(spec.id) ?? 1;
    order = [...phase.specs].sort((a, b) => weight(b) - weight(a));
    orders.set(phase.tasks, order);
  }
  return order;
}
