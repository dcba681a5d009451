import { done, listed, on, percent, plural, table, type ResultFormatter } from './format-kit.js';
import type { Palette } from './format-style.js';

interface AgentRow {
  agent_id: string;
  role: string;
  state: string;
  breaker: string;
  load: number;
  max_concurrent_tasks: number;
  current_tasks: string[];
  success_rate: number | null;
  average_task_time: string;
  performance_score: number;
  tasks_completed: number;
  tasks_failed: number;
}

interface Pool {
  agents: number;
  max_agent_pool_size: number;
  busy: number;
  running_tasks: number;
  task_slots: { used: number; total: number };
  open_breakers: number;
  threads: number;
  max_threads: number;
  utilization: number;
  queue_depth: number;
  run_time_p50: string;
  run_time_p99: string;
}

const stateText = (p: Palette, state: string) => (state === 'busy' ? p.cyan(state) : state === 'idle' ? state : p.yellow(state));
const breakerText = (p: Palette, breaker: string) => (breaker === 'closed' ? p.dim(breaker) : p.red(breaker));

/** The agents as a table, and the pool and its threads on two lines under it. */
function monitorPool(p: Palette, r: { agents: AgentRow[]; departed: { agent_id: string; role: string; state: string; tasks_completed: number; tasks_failed: number }[]; pool: Pool }): string {
  const rows = r.agents.map((a) => [
    a.agent_id, a.role, stateText(p, a.state), breakerText(p, a.breaker), `${a.load}/${a.max_concurrent_tasks}`, percent(a.success_rate),
    String(a.performance_score), a.average_task_time, String(a.tasks_completed), String(a.tasks_failed), listed(a.current_tasks, 3, '-'),
  ]);
  const columns = [
    { header: 'agent', keep: true }, 'role', { header: 'state', keep: true }, { header: 'breaker', keep: true }, { header: 'load', right: true },
    { header: 'success', right: true }, { header: 'score', right: true }, { header: 'avg time', right: true }, { header: 'done', right: true },
    { header: 'failed', right: true }, 'running',
  ];
  const pool = r.pool;
  const lines = [
    r.agents.length === 0 ? p.dim('no agents yet: a workflow that starts adds them') : table(p, columns, rows),
    p.dim(`pool: ${plural(pool.agents, 'agent')} of ${pool.max_agent_pool_size} at most, ${pool.busy} busy, ${plural(pool.running_tasks, 'task')} running in ${pool.task_slots.used}/${pool.task_slots.total} slots${pool.open_breakers > 0 ? `, ${pool.open_breakers} breaker(s) open` : ''}`),
    p.dim(`threads: ${pool.threads}/${pool.max_threads}, ${pool.utilization}% utilized, queue ${pool.queue_depth}, run time p50 ${pool.run_time_p50}, p99 ${pool.run_time_p99}`),
  ];
  if (r.departed.length > 0) lines.push(p.dim(`left the pool: ${listed(r.departed.map((d) => `${d.agent_id} (${d.role}, ${d.state}, ${d.tasks_completed} done, ${d.tasks_failed} failed)`), 4)}`));
  return lines.join('\n');
}

interface Assigned { requested: number; assigned: number; shortfall: number; performance_threshold: number | null; agents: (AgentRow & { meets_threshold: boolean })[]; pool: { agents: number; max_agent_pool_size: number } }

function assignAgents(p: Palette, r: Assigned): string {
  const rows = r.agents.map((a) => [a.agent_id, a.role, stateText(p, a.state), String(a.performance_score), a.meets_threshold ? 'yes' : p.yellow('no')]);
  const head = `${r.assigned} of ${r.requested} agent(s)${r.shortfall ? p.yellow(`, ${r.shortfall} short`) : ''}; performance threshold ${r.performance_threshold ?? 'none'}; pool ${r.pool.agents} of ${r.pool.max_agent_pool_size}`;
  return [head, ...(rows.length > 0 ? [table(p, [{ header: 'agent', keep: true }, 'role', 'state', { header: 'score', right: true }, 'meets threshold'], rows)] : [])].join('\n');
}

interface Redistributed {
  redistribution_trigger: { affected_agent: string };
  redistribution_strategy: { method: string; new_assignments: { workflow_id: string; task_id: string; target_agent: string | null; reason: string }[] };
}

function redistribute(p: Palette, r: Redistributed): string {
  const moves = r.redistribution_strategy.new_assignments;
  const head = `${r.redistribution_trigger.affected_agent} is out of the pool (${r.redistribution_strategy.method})`;
  if (moves.length === 0) return `${head}; ${p.dim('it ran no tasks')}`;
  const rows = moves.map((m) => [m.workflow_id, m.task_id, m.target_agent ?? p.yellow('waiting for an agent'), m.reason]);
  return `${head}; ${plural(moves.length, 'task')} moved\n${table(p, [{ header: 'workflow', keep: true }, { header: 'task', keep: true }, 'now on', 'why'], rows)}`;
}

export const agentFormatters: Record<string, ResultFormatter> = {
  'monitor-pool': on((v, r: Parameters<typeof monitorPool>[1]) => monitorPool(v.p, r)),
  'assign-agents': on((v, r: Assigned) => `${done(v)}  ${assignAgents(v.p, r)}`),
  'redistribute-tasks': on((v, r: Redistributed) => `${done(v)}  ${redistribute(v.p, r)}`),
};
