import type { WorkflowSpec } from '../../machines/types.js';

/**
 * The spec's `dependencies` of `get-status`: `external`, the services the
 * definition names (troupe records them; it cannot probe a name), and
 * `internal`, what troupe knows one phase takes from another: each
 * `depends_on` that crosses phases, as "dep (its phase) -> task (its phase)".
 */
export function describeDependencies(spec: WorkflowSpec): { external: string[]; internal: string[] } {
  const phaseOf = new Map(spec.phases.flatMap((phase) => phase.tasks.map((task) => [task.id, phase.name] as const)));
  const internal = spec.phases.flatMap((phase) =>
    phase.tasks.flatMap((task) =>
      task.dependsOn.filter((dep) => phaseOf.get(dep) !== phase.name).map((dep) => `${dep} (${phaseOf.get(dep)}) -> ${task.id} (${phase.name})`),
    ),
  );
  return { external: spec.dependencies ?? [], internal };
}
