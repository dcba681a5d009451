import { ago, cell, fields, listed, on, percent, plural, table, type ResultFormatter } from './format-kit.js';
import { amountsText, type Amounts } from './format-resources.js';
import type { Palette } from './format-style.js';

/** `✓ healthy`, `! degraded`, `✗ unhealthy`, `? unknown`, coloured. */
export function healthText(p: Palette, status: string): string {
  if (status === 'healthy') return p.green(`✓ ${status}`);
  if (status === 'degraded') return p.yellow(`! ${status}`);
  if (status === 'unhealthy') return p.red(`✗ ${status}`);
  return p.dim(`? ${status}`);
}

interface Component {
  component_id: string;
  component_type: string;
  status: string;
  reasons?: string[];
  last_activity: string | null;
  performance_metrics?: { response_time_avg?: string | null; success_rate?: number | null; error_rate?: number | null; runs?: number; failures?: number };
  active_operations?: number | null;
  queue_size?: number | null;
  details?: { subscribers?: { subscription_id: string; name?: string; target?: string; durable: boolean; queued: number; dropped: number; dead_lettered: number }[]; published?: number; reason?: string } | null;
}

interface Recovery {
  lock_taken_over_from: number | null;
  log_damage: unknown[];
  log_missing: unknown;
  recovered: { workflow_id: string; status: string; skipped_checkpoints: unknown[]; rerun_tasks: string[] }[];
  failed: { workflow_id: string; code: string; message: string }[];
  index_repaired?: unknown[];
  state_files?: Record<string, { status: string; reason?: string } | undefined>;
  duration_ms: number;
}

interface Health {
  status: string;
  components: Component[];
  recovery: Recovery | null;
  storage: { writable: boolean; dispatching: string; troubles: { part: string; message: string }[] } | null;
  workflows: Record<string, number>;
  resources: { capacity: Amounts; in_use: Amounts; allocations: unknown[]; queue: unknown[]; threshold_percent: number };
}

/** What a start found in the data directory, in one line. */
function recoveryText(r: Recovery | null): string {
  if (!r) return 'no data directory: nothing is kept across restarts';
  const lost = Object.entries(r.state_files ?? {}).filter(([, f]) => f?.status === 'corrupt').map(([name]) => name);
  const parts = [
    r.recovered.length > 0 ? `recovered ${listed(r.recovered.map((w) => `${w.workflow_id} (${w.status}${w.rerun_tasks.length > 0 ? `, ${w.rerun_tasks.length} to run again` : ''})`), 4)}` : '',
    r.failed.length > 0 ? `could not recover ${listed(r.failed.map((f) => `${f.workflow_id} (${f.code})`), 4)}` : '',
    r.lock_taken_over_from !== null ? `took the lock over from dead pid ${r.lock_taken_over_from}` : '',
    r.log_damage.length > 0 ? `cut ${plural(r.log_damage.length, 'damaged region')} out of the log` : '',
    r.log_missing ? 'the log is shorter than the checkpoints count on' : '',
    (r.index_repaired?.length ?? 0) > 0 ? `rebuilt ${plural(r.index_repaired!.length, 'index record')}` : '',
    r.recovered.some((w) => w.skipped_checkpoints.length > 0) ? 'skipped corrupt checkpoints' : '',
    lost.length > 0 ? `started ${lost.join(', ')} afresh (its file was unreadable)` : '',
  ].filter(Boolean);
  return `${parts.length === 0 ? 'nothing to recover' : parts.join('; ')} (start took ${r.duration_ms}ms)`;
}

/** `health`: each component of the hub as a row, then the handlers, workflows, storage, recovery, resources and subscribers. */
function health(p: Palette, now: string, h: Health): string {
  const core = h.components.filter((c) => c.component_type !== 'handler');
  const rows = core.map((c) => {
    const m = c.performance_metrics ?? {};
    return [
      c.component_id, healthText(p, c.status), cell(m.response_time_avg), percent(m.success_rate), cell(c.active_operations), cell(c.queue_size), ago(c.last_activity, now), (c.reasons ?? []).join('; '),
    ];
  });
  const columns = [
    { header: 'component', keep: true }, { header: 'status', keep: true }, { header: 'response', right: true }, { header: 'success', right: true },
    { header: 'active', right: true }, { header: 'queue', right: true }, { header: 'last active', keep: true }, 'why',
  ];
  const handlers = h.components.filter((c) => c.component_type === 'handler');
  const handlerText = handlers
    .map((c) => {
      const runs = c.performance_metrics?.runs ?? 0;
      const failures = c.performance_metrics?.failures ?? 0;
      const name = c.component_id.replace(/^handler:/, '');
      const figures = runs > 0 ? ` ${runs} run${runs === 1 ? '' : 's'}${failures > 0 ? `, ${failures} failed` : ''}` : '';
      return `${c.status === 'healthy' ? name : `${name} ${healthText(p, c.status)}${c.details?.reason ? ` (${c.details.reason})` : ''}`}${figures}`;
    })
    .join(', ');
  const events = h.components.find((c) => c.component_id === 'event-hub')?.details;
  const subscribers = events?.subscribers ?? [];
  const r = h.resources;
  const storage = h.storage;
  return [
    `${p.bold('health')} ${healthText(p, h.status)}`,
    table(p, columns, rows),
    '',
    fields(p, [
      ['handlers', handlers.length === 0 ? null : handlerText],
      ['workflows', Object.keys(h.workflows).length === 0 ? 'none' : Object.entries(h.workflows).map(([status, n]) => `${n} ${status}`).join(', ')],
      ['storage', storage ? (storage.writable ? 'writable' : p.red(`not writable, dispatching ${storage.dispatching}: ${storage.troubles.map((t) => `${t.part}: ${t.message}`).join('; ')}`)) : 'in memory (no data directory)'],
      ['recovery', recoveryText(h.recovery)],
      ['resources', `in use: ${amountsText(r.in_use)}; ${plural(r.allocations.length, 'allocation')}, ${r.queue.length} queued; capacity: ${amountsText(r.capacity)}`],
      [
        'subscribers',
        subscribers.length === 0
          ? null
          : listed(subscribers.map((s) => `${s.name ?? s.subscription_id}${s.target ? ` (${s.target}${s.durable ? ', durable' : ''})` : ''}: ${s.queued} queued${s.dropped > 0 ? `, ${s.dropped} dropped` : ''}${s.dead_lettered > 0 ? `, ${s.dead_lettered} dead-lettered` : ''}`), 4),
      ],
    ], ''),
  ].join('\n');
}

interface Kpi { value: number | null; target: number; comparison: string; met: boolean | null }
type KpiWindow = Record<string, Kpi | string | null>;

interface Metrics {
  workflow_efficiency: { workflows: number; average_workflow_time: string; phase_completion_rate: number; tasks_completed: number; tasks_failed: number; retries: number };
  agent_performance: { agents: number; average_task_completion: string; success_rate: number | null };
  event_throughput: { events_published: number; events_per_second: number; subscribers: number };
  kpis?: { all_time: KpiWindow; last_24h: KpiWindow };
  system_health: { memory_usage: string; cpu_utilization: number; event_queue_depth: number; max_subscriber_queue: number; agent_pool_utilization: number; task_queue_depth: number; uptime: string };
}

/** A KPI's value and whether it meets its target: `73.5% ✓`, `32.7% ✗ below`, `-` when nothing was measured. */
function kpiCell(p: Palette, k: Kpi | undefined): string {
  if (!k || k.value === null) return p.dim('-');
  return k.met ? p.green(`${k.value}% ✓`) : p.red(`${k.value}% ✗`);
}

/** `metrics`: the KPIs beside their targets, then the figures of workflows, agents, events and the system. */
function metrics(p: Palette, m: Metrics): string {
  const lines: string[] = [];
  if (m.kpis) {
    const names = Object.keys(m.kpis.all_time).filter((name) => typeof m.kpis!.all_time[name] === 'object' && m.kpis!.all_time[name] !== null);
    const rows = names.map((name) => {
      const all = m.kpis!.all_time[name] as Kpi;
      return [name.replace(/_/g, ' '), kpiCell(p, all), kpiCell(p, m.kpis!.last_24h[name] as Kpi | undefined), `${all.comparison} ${all.target}%`];
    });
    lines.push(table(p, ['kpi', { header: 'all time', right: true }, { header: 'last 24h', right: true }, { header: 'target', right: true }], rows), '');
  }
  const w = m.workflow_efficiency;
  const a = m.agent_performance;
  const e = m.event_throughput;
  const s = m.system_health;
  lines.push(
    fields(p, [
      ['workflows', `${w.workflows} (those ended took ${w.average_workflow_time} on average); ${w.phase_completion_rate}% of phases completed; tasks ${w.tasks_completed} completed, ${w.tasks_failed} failed, ${plural(w.retries, 'retry', 'retries')}`],
      ['agents', `${plural(a.agents, 'agent')}, a task takes ${a.average_task_completion} on average, ${percent(a.success_rate)} succeed`],
      ['events', `${e.events_published} published (${e.events_per_second}/s), ${plural(e.subscribers, 'subscriber')}`],
      ['system', `memory ${s.memory_usage}, CPU ${s.cpu_utilization}%, up ${s.uptime}; task queue ${s.task_queue_depth}, event queues ${s.event_queue_depth} (deepest ${s.max_subscriber_queue}), agent pool ${s.agent_pool_utilization}% used`],
    ], ''),
  );
  return lines.join('\n');
}

interface Hello {
  negotiated_version: string;
  supported_versions: string;
  capabilities: string[];
  common_capabilities: string[];
  registered: { component_id: string } | null;
  components: { component_id: string; component_type: string; version: string; status: string; last_activity: string | null }[];
}

function hello(p: Palette, now: string, h: Hello): string {
  const rows = h.components.map((c) => [c.component_id, c.component_type, c.version, healthText(p, c.status), ago(c.last_activity, now)]);
  return [
    fields(p, [
      ['protocol', `${h.negotiated_version} (supported: ${h.supported_versions})`],
      ['capabilities', h.capabilities.join(', ')],
      ['in common', h.common_capabilities.length > 0 ? h.common_capabilities.join(', ') : null],
      ['registered', h.registered ? `as ${h.registered.component_id}` : 'no (no component_registration)'],
    ], ''),
    table(p, [{ header: 'component', keep: true }, 'type', 'version', 'status', 'last active'], rows),
  ].join('\n');
}

export const systemFormatters: Record<string, ResultFormatter> = {
  health: on((v, h: Health) => health(v.p, v.response.timestamp, h)),
  metrics: on((v, m: Metrics) => metrics(v.p, m)),
  hello: on((v, h: Hello) => hello(v.p, v.response.timestamp, h)),
};
