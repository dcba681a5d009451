/** `request-resources` and `release-resources`: the command side of the resource manager. */
import { parseDuration } from '../durations.js';
import { DEFAULTS } from '../defaults.js';
import { TroupeError } from '../errors.js';
import { entryOf, type Handler } from '../operation-kit.js';
import type { AllocationRequestParams } from './resource-params.js';
import { ENDED_STATUSES, statusOf } from '../scheduling/workflow-entry.js';

const NEXT: Record<string, (id: string, r: { allocation_id?: string; allocated_resources?: { allocation_id: string } | null }) => string[]> = {
  approved: (id, r) => [`Release when done: '${id} release-resources {"allocation_id":"${r.allocated_resources!.allocation_id}"}'`],
  partial: (id, r) => [`Less than asked for was granted (see reduced); release when done: '${id} release-resources {"allocation_id":"${r.allocated_resources!.allocation_id}"}'`],
  queued: (id, r) => [`Granted when resources free up (RESOURCE_ALLOCATED); cancel with '${id} release-resources {"allocation_id":"${r.allocation_id}"}'`],
  denied: () => ['See alternatives, or ask again with less (capacity and use are in health.resources)'],
};

/** What an allocation holds, said in the spec's `resources_used` words. */
function held(r: { agents: number; memory_gb: number; cpu_cores: number; exclusive_files: string[]; tool_instances: Record<string, number> } | null, none: string): string {
  if (!r) return none;
  const tools = Object.values(r.tool_instances).reduce((n, c) => n + c, 0);
  return `${r.agents} agent(s), ${r.memory_gb} GB memory, ${r.cpu_cores} CPU core(s), ${tools} tool instance(s), ${r.exclusive_files.length} exclusive file(s)`;
}

export const resourceHandlers: Record<string, Handler> = {
  'request-resources'(hub, id, params: AllocationRequestParams) {
    const entry = entryOf(hub, id);
    if (params.workflow_id !== undefined && params.workflow_id !== entry.id) {
      throw new TroupeError('VALIDATION_FAILED', `workflow_id ${params.workflow_id} in the request is not the command's workflow ${entry.id}`, { details: 'Leave workflow_id out of the body, or make it the same' });
    }
    const status = statusOf(entry.actor.getSnapshot());
    if (ENDED_STATUSES.has(status)) {
      throw new TroupeError('INVALID_TRANSITION', `Workflow ${entry.id} is ${status}: its allocations would be released at once`, { details: 'Request resources for a workflow that is created, running or paused' });
    }
    const { resources: r, constraints: c, fallback_options: fallback } = params;
    const result = hub.resources.request({
      request_id: params.request_id,
      workflow_id: entry.id,
      requester: params.requester,
      priority: params.priority,
      amounts: { agents: r.agents, memory_gb: r.memory_gb, cpu_cores: r.cpu_cores, tool_instances: r.tool_instances },
      exclusive_files: [...new Set(r.exclusive_files)],
      duration_ms: r.duration_hours === undefined ? parseDuration(DEFAULTS.resource_duration)! : Math.round(r.duration_hours * 3_600_000),
      fallback,
      tolerance: c.conflict_tolerance,
      isolation: c.isolation_level,
      maxWaitMs: c.max_wait_time,
    });
    const granted = (result as { allocated_resources: Parameters<typeof held>[0] }).allocated_resources;
    return {
      result,
      next_steps: NEXT[result.status]!(entry.id, result as Parameters<(typeof NEXT)['approved']>[1]),
      metrics: { resources_used: held(granted, `none (${result.status})`), agents_affected: granted?.agents ?? 0 },
    };
  },

  'release-resources'(hub, id, params: { allocation_id?: string; request_id?: string; reason: string }) {
    const entry = entryOf(hub, id);
    const result = hub.resources.release(entry.id, params, params.reason);
    return {
      result,
      next_steps: result.granted_from_queue.length > 0 ? [`Granted from the queue: ${result.granted_from_queue.map((g) => `${g.allocation_id} (${g.workflow_id})`).join(', ')}`] : [],
      metrics: {
        resources_used: `released: ${held(result.released_resources, 'none (a queued request was cancelled)')}`,
        agents_affected: result.released_resources?.agents ?? 0,
      },
    };
  },
};
