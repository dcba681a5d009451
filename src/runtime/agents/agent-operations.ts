/** `assign-agents`, `redistribute-tasks` and `monitor-pool`: the command side of the agent pool. */
import { z } from 'zod';
import type { AgentView } from './agent-pool.js';
import { formatDuration } from '../durations.js';
import { TroupeError } from '../errors.js';
import { entryOf, type Handler } from '../operation-kit.js';
import { ENDED_STATUSES, statusOf, type PhaseRef, type WorkflowEntry } from '../scheduling/workflow-entry.js';
import { rolesOf } from '../events/event-data.js';
import type { WorkflowSpec } from '../../machines/types.js';
import { DEFAULTS } from '../defaults.js';

const roleName = z.string().regex(/^[A-Za-z0-9][\w.-]*$/, 'a role is letters, digits, _, - or .');

/** The parameters of the agent operations (kept beside their handlers). */
export const agentParams = {
  'assign-agents': z.strictObject({
    agent_count: z.number().int().min(1).max(DEFAULTS.max_agent_pool_size * 50).describe('agents the workflow should have across its roles'),
    specializations: z.array(roleName).min(1).optional().describe("the roles to spread them over; default: the workflow's roles"),
    performance_threshold: z.number().min(0).max(100).optional().describe("agents scoring below it (0..100) get this workflow's tasks only when no other can"),
  }),
  'redistribute-tasks': z.strictObject({
    failed_agent: z.string().min(1).describe('the agent to take out of the pool; its running tasks move to others'),
    strategy: z.enum(['performance_based', 'round_robin', 'specialization_match']).default('performance_based'),
    preserve_order: z.boolean().default(true).describe('re-dispatch in definition order (always the case: tasks never overtake each other)'),
  }),
};

const successRate = (a: AgentView) => (a.tasks_completed + a.tasks_failed === 0 ? 100 : Math.round((a.tasks_completed / (a.tasks_completed + a.tasks_failed)) * 1000) / 10);

/** An agent as `monitor-pool` and `assign-agents` show it. */
const agentRow = (a: AgentView) => ({
  agent_id: a.agent_id,
  role: a.role,
  state: a.state,
  breaker: a.breaker,
  load: a.current_tasks.length,
  max_concurrent_tasks: a.max_concurrent_tasks,
  /** percent of its task slots in use */
  utilization: Math.round((a.current_tasks.length / a.max_concurrent_tasks) * 1000) / 10,
  current_tasks: a.current_tasks,
  success_rate: successRate(a),
  average_task_time: formatDuration(a.average_task_ms),
  performance_score: a.performance_score,
  recent_performance: a.recent_performance,
  tasks_completed: a.tasks_completed,
  tasks_failed: a.tasks_failed,
});

/** The roles a workflow needs: its specialized roles, then its tasks' roles. */
export const rolesOfWorkflow = (spec: WorkflowSpec): string[] => [...new Set([...spec.agentRequirements.specializedRoles, ...rolesOf(spec.phases.flatMap((p) => p.tasks))])];

/** `count` spread evenly over `parts`: the share of part `i` (the first parts take the remainder). */
export const shareOf = (count: number, parts: number, i: number): number => Math.floor(count / parts) + (i < count % parts ? 1 : 0);

/** The task a running attempt belongs to, with its agent now (after a move). */
function placeOf(entry: WorkflowEntry, taskId: string): string | null {
  const phase = entry.actor.getSnapshot().children.phase as PhaseRef | undefined;
  const task = phase?.getSnapshot().context.tasks[taskId];
  return task && (task.status === 'assigned' || task.status === 'running') ? task.agentId : null;
}

export const agentHandlers: Record<string, Handler> = {
  'assign-agents'(hub, id, params: z.infer<(typeof agentParams)['assign-agents']>) {
    const entry = entryOf(hub, id);
    const status = statusOf(entry.actor.getSnapshot());
    if (ENDED_STATUSES.has(status)) {
      throw new TroupeError('INVALID_TRANSITION', `Workflow ${entry.id} is ${status}: it runs no more tasks`, { details: 'Assign agents to a workflow that is created, running or paused' });
    }
    const roles = params.specializations ?? rolesOfWorkflow(entry.actor.getSnapshot().context.spec);
    const poolBefore = hub.pool.views().length;
    // agents serve the whole hub: this makes sure enough of each role exist, spread evenly;
    // added one role at a time in turn, so a pool that fills up is still shared fairly
    const target = (i: number) => shareOf(params.agent_count, roles.length, i);
    for (let grew = true; grew; ) {
      grew = false;
      roles.forEach((role, i) => {
        if (hub.pool.ofRole(role).length < target(i) && hub.pool.add(role, entry.id) !== null) grew = true;
      });
    }
    // and they stay while the workflow is unfinished: its floor, which idle retirement keeps
    roles.forEach((role, i) => hub.pool.ensure(role, target(i), entry.id));
    if (params.performance_threshold !== undefined) entry.performanceThreshold = params.performance_threshold;
    const agents = roles.flatMap((role) => hub.pool.ofRole(role));
    const threshold = entry.performanceThreshold;
    return {
      result: {
        workflow_id: entry.id,
        requested: params.agent_count,
        assigned: agents.length,
        shortfall: Math.max(0, params.agent_count - agents.length),
        performance_threshold: threshold,
        agents: agents.map((a) => ({ ...agentRow(a), meets_threshold: threshold === null || a.performance_score >= threshold })),
        pool: { agents: hub.pool.views().length, max_agent_pool_size: hub.pool.maxAgents },
      },
      next_steps:
        agents.length < params.agent_count
          ? [`The pool is full (max_agent_pool_size ${hub.pool.maxAgents}): raise it in the config, or free agents of other roles`]
          : [`See them with 'monitor-pool'`],
      // the agents now serving the workflow's roles, and what the pool grew by for it
      metrics: { agents_affected: agents.length, resources_used: `${hub.pool.views().length - poolBefore} agent(s) added to the pool (${hub.pool.views().length} of ${hub.pool.maxAgents})` },
    };
  },

  async 'redistribute-tasks'(hub, id, params: z.infer<(typeof agentParams)['redistribute-tasks']>) {
    entryOf(hub, id);
    const agent = hub.pool.views().find((a) => a.agent_id === params.failed_agent);
    if (!agent) {
      const gone = hub.pool.view(params.failed_agent);
      throw new TroupeError('AGENT_NOT_FOUND', `Agent ${params.failed_agent} is not in the pool`, {
        details: gone ? `It left the pool as ${gone.state}` : `Agents: ${hub.pool.views().map((a) => a.agent_id).join(', ') || 'none'}`,
      });
    }
    const moved = hub.scheduler.redistribute(agent.agent_id, `redistribute-tasks: ${params.failed_agent} taken out (${params.strategy})`, params.strategy);
    // each run ends first (its thread may hold files); then its task is dispatched again at once
    await Promise.all(moved.map((m) => m.ended));
    await new Promise((resolve) => setImmediate(resolve));
    const assignments = moved.map((m) => {
      const target = placeOf(hub.workflows.get(m.workflow_id)!, m.task_id);
      return { workflow_id: m.workflow_id, task_id: m.task_id, target_agent: target, reason: target === null ? 'waiting for an agent' : params.strategy === 'round_robin' ? 'next_in_turn' : params.strategy === 'performance_based' ? 'best_match' : 'role_match' };
    });
    return {
      result: {
        redistribution_trigger: { trigger_type: 'agent_failure', affected_agent: agent.agent_id, pending_tasks: moved.map((m) => m.task_id) },
        redistribution_strategy: { method: params.strategy, constraints: { preserve_task_order: params.preserve_order, respect_agent_limits: true }, new_assignments: assignments },
        failed_agent: hub.pool.view(agent.agent_id),
      },
      next_steps: [`Follow the moves with '${id} get-events {"event_type":"TASK_REASSIGNED"}'`],
      // the agent taken out, and each agent that took one of its tasks
      metrics: {
        agents_affected: new Set([agent.agent_id, ...assignments.flatMap((a) => (a.target_agent === null ? [] : [a.target_agent]))]).size,
        resources_used: `${moved.length} task(s) moved`,
      },
    };
  },

  'monitor-pool'(hub) {
    const agents = hub.pool.views();
    const pool = hub.runner.stats();
    const slots = hub.pool.slots();
    return {
      result: {
        agents: agents.map(agentRow),
        departed: hub.pool.departed().map((a) => ({ agent_id: a.agent_id, role: a.role, state: a.state, tasks_completed: a.tasks_completed, tasks_failed: a.tasks_failed })),
        pool: {
          agents: agents.length,
          max_agent_pool_size: hub.pool.maxAgents,
          busy: agents.filter((a) => a.state === 'busy').length,
          unavailable: agents.filter((a) => a.state !== 'busy' && a.state !== 'idle').length,
          open_breakers: agents.filter((a) => a.breaker !== 'closed').length,
          // tasks the agents run, and could run (the agents there and those the pool may add)
          running_tasks: agents.reduce((n, a) => n + a.current_tasks.length, 0),
          task_slots: slots,
          agent_utilization: slots.total === 0 ? 0 : Math.round((slots.used / slots.total) * 1000) / 10,
          threads: pool.threads,
          max_threads: pool.maxThreads,
          utilization: Math.round(pool.utilization * 1000) / 10,
          queue_depth: pool.queueSize,
          run_time_p50: formatDuration(pool.runTimeP50Ms),
          run_time_p99: formatDuration(pool.runTimeP99Ms),
        },
      },
      next_steps: [],
      // it reads the pool and changes nothing
      metrics: { agents_affected: 0, resources_used: 'none' },
    };
  },
};
