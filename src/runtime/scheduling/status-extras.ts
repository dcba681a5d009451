import type { TaskRecord, TaskSpec } from '../../machines/types.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { EventRecord } from '../events/event-record.js';
import type { HubState } from '../hub-state.js';
import type { workflowKpis } from '../metrics/kpi-report.js';

const round1 = (x: number) => Math.round(x * 10) / 10;

/** A workflow's own KPIs, as `workflowKpis` gives them. */
export type WorkflowKpis = ReturnType<typeof workflowKpis>;

/**
 * The spec's `agent_efficiency` and `resource_utilization` of one workflow,
 * 0..100 with one decimal, null while there is nothing to divide by.
 * agent_efficiency: of the attempts agents finished on its tasks, the share
 * that succeeded (a retry costs one). resource_utilization: its parallel
 * efficiency, task run time over wall time × the agents it held at its peak.
 */
export function efficiencyMetrics(tasks: readonly TaskRecord[], kpis: WorkflowKpis | undefined) {
  const ran = tasks.filter((t) => t.attempts > 0);
  const finished = ran.reduce((n, t) => n + t.attempts - (t.status === 'running' || t.status === 'assigned' ? 1 : 0), 0);
  const succeeded = ran.filter((t) => t.status === 'completed').length;
  return {
    agent_efficiency: finished > 0 ? round1((100 * succeeded) / finished) : null,
    resource_utilization: kpis?.parallel_efficiency.value ?? null,
  };
}

/** One agent of `agent_assignments`: the spec's role, current task, performance score and tasks completed, and its pool view. */
export interface AgentAssignment {
  agent_id: string;
  role: string;
  /** the task of this workflow it runs now */
  current_task: string | null;
  /** null for an agent no longer known to the pool (it left before a restart) */
  performance_score: number | null;
  /** over all its work */
  tasks_completed: number | null;
  /** this workflow's tasks it completed */
  workflow_tasks_completed: number;
  state: string;
  [more: string]: unknown;
}

/**
 * `agent_assignments`: every agent a task of this workflow ran on (its
 * record names it), with its view in the pool; an agent the pool no longer
 * knows is shown from the workflow's records, state `gone`.
 */
export function agentAssignments(specs: readonly TaskSpec[], tasks: readonly TaskRecord[], pool: AgentPool): Record<string, AgentAssignment> {
  const roleOf = new Map(specs.map((s) => [s.id, s.role]));
  const byAgent = new Map<string, TaskRecord[]>();
  for (const task of tasks) if (task.agentId !== null) byAgent.set(task.agentId, [...(byAgent.get(task.agentId) ?? []), task]);
  const agents: Record<string, AgentAssignment> = {};
  for (const [id, mine] of byAgent) {
    const view = pool.view(id);
    const current = mine.find((t) => t.status === 'running' || t.status === 'assigned')?.id ?? null;
    const done = mine.filter((t) => t.status === 'completed').length;
    agents[id] = view
      ? { ...view, current_task: current, workflow_tasks_completed: done }
      : { agent_id: id, role: roleOf.get(mine[0]!.id) ?? 'unknown', state: 'gone', current_task: current, performance_score: null, tasks_completed: null, workflow_tasks_completed: done };
  }
  return agents;
}

/**
 * The workflow's last `count` events, newest last. The bus keeps the
 * newest events of the log (restored from it at start); only when this
 * workflow has fewer than `count` there and the bus dropped older ones is
 * the log read.
 */
export async function recentEvents(hub: HubState, workflowId: string, count: number): Promise<EventRecord[]> {
  if (count === 0) return [];
  const kept = hub.bus.recent(workflowId);
  if (kept.length >= count || !hub.journal || hub.bus.recent().length < hub.bus.capacity) return kept.slice(-count);
  const all = await hub.journal.log.readAll();
  const mine = all.filter((r) => r.kind === 'event' && (r.event as EventRecord).workflow_id === workflowId);
  return mine.slice(-count).map((r) => ({ ...(r.event as Omit<EventRecord, 'seq'>), seq: r.seq }));
}
