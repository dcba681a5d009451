import { TroupeError } from '../errors.js';
import type { HubState } from '../hub-state.js';
import { entryOf, type OperationResult } from '../operation-kit.js';
import { rolesOfWorkflow, shareOf } from '../agents/agent-operations.js';
import { phaseRecords } from '../scheduling/status.js';
import { ENDED_STATUSES, statusOf, type WorkflowEntry } from '../scheduling/workflow-entry.js';
import { findCheckpoint, loadCheckpoint, newestValidCheckpoint } from './checkpoint-lookup.js';
import { restoreTo } from './recovery-operations.js';
import { rehydrate } from './recovery.js';

/** load-state's parameters, both forms. */
export interface LoadStateParams {
  path?: string;
  overwrite: boolean;
  checkpoint_id?: string;
  verify_integrity: boolean;
  restore_agents: boolean;
}

/** What `restore_agents` did for one role. */
interface RoleAgents {
  role: string;
  /** agents of the role the checkpoint's tasks used, or its share of min_agents when more */
  wanted: number;
  present_before: number;
  added: string[];
}

/** What is said when `verify_integrity: false` was asked: the sha256 check is never skipped. */
export const INTEGRITY_ALWAYS = {
  checkpoint: 'verify_integrity: false: the sha256 check is never skipped, so the checkpoint was checked anyway; only the trial restore into a scratch actor was left out',
  bundle: 'verify_integrity: false: a bundle is always checked whole (the sha256 and signature of the file, then every checkpoint restored in memory) before anything changes, so it was checked anyway',
} as const;

/**
 * `<id> load-state {"checkpoint_id"}`: the workflow's state from one of its
 * stored checkpoints (by id, seq or name; its newest valid one without),
 * as `restore` does it (full_restore: the epoch is bumped, later work runs
 * again). Its sha256 is always checked; `verify_integrity` also restores it
 * into a scratch actor first. `restore_agents` re-creates the agents the
 * checkpoint's tasks used, so it can run at once.
 */
export async function loadFromCheckpoint(hub: HubState, id: string, params: LoadStateParams, raw: unknown): Promise<OperationResult> {
  const entry = entryOf(hub, id);
  const warnings: string[] = [];
  const loaded =
    params.checkpoint_id === undefined
      ? await newestValidCheckpoint(hub, entry, 'load-state')
      : await loadCheckpoint(hub, await findCheckpoint(hub, entry, params.checkpoint_id, 'load-state'), 'load-state');
  let scratch: { status: string } | null = null;
  if (params.verify_integrity) {
    const { actor } = rehydrate(loaded);
    scratch = { status: statusOf(actor.getSnapshot()) };
    actor.stop();
  } else {
    warnings.push(INTEGRITY_ALWAYS.checkpoint);
  }
  if (typeof raw === 'object' && raw !== null && 'overwrite' in raw) {
    warnings.push("overwrite: it applies to importing a bundle (path); loading a workflow's own checkpoint always replaces its state now, and its history stays");
  }
  const restored = await restoreTo(hub, entry, loaded, 'full_restore', 'load-state');
  const agents = params.restore_agents ? restoreAgents(hub, entry, warnings) : null;
  const added = agents?.reduce((n, r) => n + r.added.length, 0) ?? 0;
  return {
    result: {
      ...restored.result,
      integrity: {
        sha256: 'verified',
        body_sha256: loaded.header.body_sha256,
        scratch_restore: scratch === null ? 'skipped' : 'passed',
        ...(scratch === null ? {} : { status_in_checkpoint: scratch.status }),
      },
      ...(agents === null ? {} : { restored_agents: agents }),
    },
    next_steps: [`Follow it with '${entry.id} get-status'`],
    warnings,
    metrics: { agents_affected: restored.stoppedAgents + added, resources_used: restored.resourcesUsed },
  };
}

/**
 * `restore_agents`: for each role the workflow needs, as many agents as its
 * tasks in the (restored) state were run by, and at least its share of
 * `min_agents`, kept as its floor while it is unfinished. Agents brought back
 * from `agent_pools/pool.ckpt` at start count; only the missing are added.
 * An ended workflow runs nothing again: no agent is added, and `warnings` says so.
 */
export function restoreAgents(hub: HubState, entry: WorkflowEntry, warnings: string[]): RoleAgents[] {
  const snapshot = entry.actor.getSnapshot();
  const status = statusOf(snapshot);
  if (ENDED_STATUSES.has(status)) {
    warnings.push(`restore_agents: the workflow is ${status} in this state, so no task runs again and no agent was re-created`);
    return [];
  }
  const spec = snapshot.context.spec;
  const roleOf = new Map(spec.phases.flatMap((p) => p.tasks.map((t) => [t.id, t.role] as const)));
  const used = new Map<string, Set<string>>();
  for (const task of phaseRecords(snapshot).flatMap((p) => p.tasks)) {
    const role = roleOf.get(task.id);
    if (task.agentId === null || role === undefined) continue;
    used.set(role, (used.get(role) ?? new Set()).add(task.agentId));
  }
  const roles = rolesOfWorkflow(spec);
  const floor = Math.max(spec.agentRequirements.minAgents, roles.length);
  return roles.map((role, i) => {
    const before = new Set(hub.pool.ofRole(role).map((a) => a.agent_id));
    const wanted = Math.max(used.get(role)?.size ?? 0, shareOf(floor, roles.length, i));
    hub.pool.ensure(role, wanted, entry.id);
    const added = hub.pool.ofRole(role).map((a) => a.agent_id).filter((a) => !before.has(a));
    if (hub.pool.ofRole(role).length < wanted) {
      warnings.push(`restore_agents: role ${role} wanted ${wanted} agents, the pool holds ${hub.pool.ofRole(role).length} (its maximum is ${hub.pool.maxAgents})`);
    }
    return { role, wanted, present_before: before.size, added };
  });
}

/** load-state's refusals of mixed forms, before anything is read. */
export function checkLoadForm(id: string | undefined, params: LoadStateParams): void {
  if (params.path === undefined && id === undefined) {
    throw new TroupeError('VALIDATION_FAILED', 'load-state needs a bundle to import ("path") or a workflow id (to load one of its stored checkpoints)', {
      details: 'Usage: load-state {"path":"wf_1.troupe"}   or   wf_1 load-state {"checkpoint_id":"…"}',
    });
  }
  if (params.path !== undefined && params.checkpoint_id !== undefined) {
    throw new TroupeError('VALIDATION_FAILED', 'load-state takes "path" (a bundle) or "checkpoint_id" (a stored checkpoint of the workflow), not both', {
      details: 'A bundle loads its newest state; to pick an older one, load the bundle, then restore one of its checkpoints',
    });
  }
}
