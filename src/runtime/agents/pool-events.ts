import { formatDuration } from '../durations.js';
import type { EventDraft } from '../events/event-record.js';

/** RESOURCE_OPTIMIZED for an idle agent the pool retired: how long it idled, the pool before and after, the slots given back. */
export function scaleDownEvent(agent: { agent_id: string; role: string; max_concurrent_tasks: number }, idleMs: number, before: { agents: number; ofRole: number }, after: { agents: number; ofRole: number }): EventDraft {
  return {
    type: 'RESOURCE_OPTIMIZED',
    source: 'agent-pool',
    data: {
      optimization_type: 'pool_scale_down',
      improvement_metrics: {
        agent_id: agent.agent_id,
        role: agent.role,
        idle_for: formatDuration(idleMs),
        agents: { before: before.agents, after: after.agents },
        agents_of_role: { before: before.ofRole, after: after.ofRole },
        idle_task_slots_released: agent.max_concurrent_tasks,
      },
    },
  };
}
