import type { EventRecord, HubResponse } from '../index.js';

/** ANSI styling that turns itself off for NO_COLOR, --no-color and non-terminals. */
export interface Palette {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

export function createPalette(enabled: boolean): Palette {
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), cyan: wrap(36, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

const STATUS_MARK: Record<string, string> = {
  completed: '✓', partial: '◐', failed: '✗', cancelled: '⊘', skipped: '↷', running: '▶', assigned: '▷',
  ready: '○', pending: '·', paused: '❚❚', created: '·', archived: '▣',
  compensating: '↶', compensated: '↺', compensation_failed: '✗', needs_intervention: '✋', waiting_approval: '⌛',
};

/** A status with its mark, coloured: `✓ completed`. */
export function colorStatus(p: Palette, status: string): string {
  const text = `${STATUS_MARK[status] ?? '·'} ${status}`;
  if (status === 'completed') return p.green(text);
  if (status === 'failed' || status === 'cancelled' || status === 'compensation_failed') return p.red(text);
  if (['partial', 'paused', 'skipped', 'compensated', 'compensating', 'needs_intervention', 'waiting_approval'].includes(status)) return p.yellow(text);
  if (status === 'running' || status === 'assigned') return p.cyan(text);
  return p.dim(text);
}

/** A bar of `width` cells for a percentage. */
export function progressBar(percent: number, width = 20): string {
  const full = Math.round((Math.max(0, Math.min(100, percent)) / 100) * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

// eslint-disable-next-line no-control-regex
const visibleLength = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').length;
const pad = (s: string, n: number) => (visibleLength(s) >= n ? s : s + ' '.repeat(n - visibleLength(s)));

interface StatusView {
  id: string; name: string; status: string; progress_percentage: number; current_phase: number; total_phases: number;
  started_at?: string | null; finished_at?: string | null;
  failure?: { code: string; message: string };
  phases: { name: string; status: string; tasks: { task_id: string; status: string; assigned_agent: string | null; attempts: number; execution_time: string | null; error?: { message: string }; reason?: string; log_tail?: string[]; approval?: { prompt: string } }[] }[];
  metrics: { tasks_completed: number; tasks_total: number; total_execution_time: string | null };
  compensation?: { reason: string; status: string; tasks: { task_id: string; compensation_task_id: string; status: string; attempts: number; error?: { message: string } }[] };
}

/** One line of a task's output, cut to fit beside the tree (escape sequences dropped: they would run past the cut). */
// eslint-disable-next-line no-control-regex
const clip = (line: string, width: number) => { const plain = line.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, ''); return plain.length > width ? `${plain.slice(0, width - 1)}…` : plain; };

/**
 * The wall time since the workflow started, as a clock (`0:07`, `12:34`,
 * `1:02:03`): up to its end once it ended, else up to `now` (ms since the
 * epoch, on the hub's clock: `formatResponse` takes the response's
 * timestamp); null before it started.
 */
export function elapsedClock(w: { started_at?: string | null; finished_at?: string | null }, now: number): string | null {
  if (!w.started_at) return null;
  const end = w.finished_at ? Date.parse(w.finished_at) : now;
  const seconds = Math.max(0, Math.floor((end - Date.parse(w.started_at)) / 1_000));
  if (!Number.isFinite(seconds)) return null;
  const two = (n: number) => String(n).padStart(2, '0');
  const [h, m, s] = [Math.floor(seconds / 3_600), Math.floor((seconds % 3_600) / 60), seconds % 60];
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

/**
 * A line of the status tree with what it weighs when the screen is too short
 * for all of them (cli/frame.ts `fitFrame` keeps the heaviest): 4 the header,
 * a failure and the phases; 3 the tasks that run, wait or failed; 2 their
 * output lines; 1 the other tasks (done, pending, skipped). `task` marks a task's line.
 */
export interface StatusLine { text: string; keep: 1 | 2 | 3 | 4; task?: boolean }

const ACTIVE = new Set(['running', 'assigned', 'failed', 'needs_intervention', 'waiting_approval', 'compensating', 'compensation_failed']);

/** The phase/task tree of `get-status`: a running task's newest output lines and a failed one's last lines under it. */
export function formatStatus(p: Palette, w: StatusView, now = Date.now()): string {
  return formatStatusLines(p, w, now).map((l) => l.text).join('\n');
}

/** `formatStatus` line by line, each with its weight (see StatusLine). */
export function formatStatusLines(p: Palette, w: StatusView, now = Date.now()): StatusLine[] {
  const elapsed = elapsedClock(w, now);
  const lines: StatusLine[] = [
    {
      text:
        `${p.bold(w.id)}  ${w.name}  ${colorStatus(p, w.status)}  ${progressBar(w.progress_percentage)} ${w.progress_percentage}%  ` +
        p.dim(`${elapsed ? `elapsed ${elapsed}, ` : ''}phase ${w.current_phase}/${w.total_phases}, ${w.metrics.tasks_completed}/${w.metrics.tasks_total} tasks`),
      keep: 4,
    },
  ];
  if (w.failure) lines.push({ text: p.red(`  ${w.failure.code}: ${w.failure.message}`), keep: 4 });
  w.phases.forEach((phase, i) => {
    const lastPhase = i === w.phases.length - 1;
    lines.push({ text: `${lastPhase ? '└─' : '├─'} ${pad(phase.name, 24)} ${colorStatus(p, phase.status)}`, keep: 4 });
    phase.tasks.forEach((t, j) => {
      const branch = `${lastPhase ? '   ' : '│  '}${j === phase.tasks.length - 1 ? '└─' : '├─'}`;
      const extra = [t.assigned_agent ?? '', t.execution_time ?? '', t.attempts > 1 ? `${t.attempts} attempts` : '']
        .filter(Boolean)
        .join('  ');
      // the message's first line: an exec failure's stderr follows it, and the log tail below shows it whole
      const why = (t.approval ? `waits for approval: ${t.approval.prompt}` : (t.error?.message ?? t.reason))?.split('\n')[0];
      const active = ACTIVE.has(t.status);
      lines.push({ text: `${branch} ${pad(t.task_id, 21)} ${pad(colorStatus(p, t.status), 12)} ${p.dim(extra)}${why ? `  ${p.dim(why)}` : ''}`, keep: active ? 3 : 1, task: true });
      const under = `${lastPhase ? '   ' : '│  '}${j === phase.tasks.length - 1 ? '   ' : '│  '}`;
      for (const line of t.log_tail ?? []) lines.push({ text: `${under}   ${p.dim('│')} ${(t.status === 'failed' ? p.red : p.dim)(clip(line, 100))}`, keep: active ? 2 : 1 });
    });
  });
  if (w.compensation) lines.push(...formatCompensation(p, w.compensation));
  return lines;
}

/** The compensation under the tree: why it ran, and each undo (its own task id, for `troupe logs`) in plan order. */
function formatCompensation(p: Palette, c: NonNullable<StatusView['compensation']>): StatusLine[] {
  const lines: StatusLine[] = [{ text: `${p.bold('compensation')} ${p.dim(`(workflow ${c.reason})`)}  ${colorStatus(p, c.status === 'running' ? 'compensating' : c.status)}`, keep: 4 }];
  c.tasks.forEach((t, i) => {
    const branch = i === c.tasks.length - 1 ? '└─' : '├─';
    const why = t.error?.message.split('\n')[0];
    const extra = t.attempts > 1 ? `${t.attempts} attempts` : '';
    const text = `${branch} ${pad(`undo ${t.task_id}`, 24)} ${pad(colorStatus(p, t.status), 12)} ${p.dim([t.compensation_task_id, extra].filter(Boolean).join('  '))}${why ? `  ${p.dim(why)}` : ''}`;
    lines.push({ text, keep: ACTIVE.has(t.status) ? 3 : 1, task: true });
  });
  return lines;
}

function formatTable(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => String(r[c] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => pad(v, widths[i]!)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

interface HelpList { usage: string; operations: { operation: string; group: string; summary: string; available: boolean }[] }
interface HelpOne { operation: string; usage: string; summary: string; available: boolean; example: string; parameters: { name: string; type: unknown; required: boolean; default?: unknown; description?: string }[] }

function formatHelp(p: Palette, help: HelpList | HelpOne): string {
  if ('operations' in help) {
    const lines = [p.bold('usage: ') + help.usage, ''];
    let group = '';
    for (const op of help.operations) {
      if (op.group !== group) {
        group = op.group;
        lines.push(p.bold(group));
      }
      lines.push(`  ${pad(op.operation, 20)} ${op.available ? op.summary : p.dim(`${op.summary} (planned)`)}`);
    }
    lines.push('', p.dim("'help <operation>' describes one; 'watch <id>' follows a workflow; 'correlate <id>' gives the commands that follow that correlation_id ('correlate off' stops); 'quit' leaves"));
    return lines.join('\n');
  }
  const lines = [`${p.bold(help.usage)}`, `  ${help.summary}${help.available ? '' : ' (planned, not in this version)'}`];
  if (help.parameters.length > 0) {
    lines.push('', p.bold('parameters'));
    for (const param of help.parameters) {
      const type = typeof param.type === 'string' ? param.type : JSON.stringify(param.type);
      const dflt = param.default === undefined ? '' : ` = ${JSON.stringify(param.default)}`;
      lines.push(`  ${pad(param.name + (param.required ? '' : '?'), 22)} ${type}${dflt}${param.description ? p.dim(`  ${param.description}`) : ''}`);
    }
  }
  if (help.example) lines.push('', p.bold('example'), `  ${help.example}`);
  return lines.join('\n');
}

interface KpiView { value: number | null; target: number; comparison: string; met: boolean | null }
type KpiWindows = Record<'all_time' | 'last_24h', Record<string, KpiView | string | null>>;

/** `metrics` as people read it: each KPI over all time and the last 24 h beside its target (the rest is in --json). */
function formatKpis(kpis: KpiWindows): string {
  const shown = (k: KpiView) => (k.value === null ? '-' : `${k.value}% ${k.met ? 'met' : 'missed'}`);
  const rows = Object.entries(kpis.all_time)
    .filter((entry): entry is [string, KpiView] => typeof entry[1] === 'object' && entry[1] !== null)
    .map(([name, k]) => ({ kpi: name, all_time: shown(k), last_24h: shown(kpis.last_24h[name] as KpiView), target: `${k.comparison} ${k.target}%` }));
  return formatTable(rows, ['kpi', 'all_time', 'last_24h', 'target']);
}

/** A response as people read it; `--json` prints the response itself instead. */
export function formatResponse(p: Palette, response: HubResponse): string {
  if (response.status === 'error') {
    const { code, message, details } = response.error;
    return [
      p.red(`✗ ${code}: ${message}`),
      ...(details ? details.split('\n').map((l) => `  ${l}`) : []),
      ...response.recovery_suggestions.map((s) => p.dim(`  → ${s}`)),
    ].join('\n');
  }
  const result = response.result as Record<string, unknown>;
  let body: string;
  if (response.operation === 'get-status') body = formatStatus(p, result.workflow_state as StatusView, Date.parse(response.timestamp));
  else if (response.operation === 'list-workflows') {
    const rows = result.workflows as Record<string, unknown>[];
    body = rows.length === 0 ? p.dim('no workflows') : formatTable(rows, ['workflow_id', 'name', 'status', 'progress_percentage', 'current_phase', 'updated_at']);
  } else if (response.operation === 'monitor-pool') {
    const rows = result.agents as Record<string, unknown>[];
    const pool = result.pool as Record<string, unknown>;
    body = rows.length === 0 ? p.dim('no agents yet') : formatTable(rows, ['agent_id', 'role', 'state', 'breaker', 'load', 'success_rate', 'performance_score', 'average_task_time', 'tasks_completed']);
    body += p.dim(`\npool: ${String(pool.threads)}/${String(pool.max_threads)} threads, ${String(pool.utilization)}% utilized, queue ${String(pool.queue_depth)}, run time p50 ${String(pool.run_time_p50)} p99 ${String(pool.run_time_p99)}`);
    const departed = result.departed as unknown[];
    if (departed.length > 0) body += p.dim(`\n${departed.length} agent(s) left the pool (see --json)`);
  } else if (response.operation === 'assign-agents') {
    body = formatTable(result.agents as Record<string, unknown>[], ['agent_id', 'role', 'state', 'performance_score', 'meets_threshold']);
    body += p.dim(`\n${String(result.assigned)} of ${String(result.requested)} agent(s)${result.shortfall ? `, ${String(result.shortfall)} short` : ''}`);
  } else if (response.operation === 'redistribute-tasks') {
    const moves = (result.redistribution_strategy as { new_assignments: Record<string, unknown>[] }).new_assignments;
    body = moves.length === 0 ? p.dim('the agent ran no tasks: it is out of the pool') : formatTable(moves, ['workflow_id', 'task_id', 'target_agent', 'reason']);
  } else if (response.operation === 'metrics' && result.kpis) {
    body = formatKpis(result.kpis as KpiWindows);
  } else if (response.operation === 'help') body = formatHelp(p, result as unknown as HelpList | HelpOne);
  else if (response.operation === 'get-events') {
    const events = result.events as EventRecord[];
    body = events.length === 0 ? p.dim('no events') : events.map((e) => formatEvent(p, e)).join('\n');
    body += p.dim(`\n${String(result.returned)} of ${String(result.total)} event(s)`);
  } else if (response.operation === 'subscribe-event') body = p.green(`✓ subscribed ${String(result.subscription_id)}`) + p.dim(` to ${JSON.stringify(result.patterns)}`);
  else {
    const parts = [`✓ ${response.operation}`];
    if (response.workflow_id) parts.push(response.workflow_id);
    if (typeof result.status === 'string') parts.push(`${result.previous_status ? `${String(result.previous_status)} → ` : ''}${colorStatus(p, result.status)}`);
    body = p.green(parts[0]!) + ' ' + parts.slice(1).join('  ');
    if (result.failure) body += '\n' + p.red(`  ${JSON.stringify(result.failure)}`);
  }
  // what the command did instead of something asked: said before what to do next, never hidden
  const warnings = (response.warnings ?? []).map((w) => p.yellow(`  ! ${w}`)).join('\n');
  const next = response.next_steps.length > 0 ? '\n' + response.next_steps.map((s) => p.dim(`  → ${s}`)).join('\n') : '';
  return body + (warnings ? `\n${warnings}` : '') + next;
}

/** One event as a line: `#seq time severity TYPE workflow/phase {data}`. */
export function formatEvent(p: Palette, e: EventRecord): string {
  const severity = e.severity === 'error' || e.severity === 'critical' ? p.red(e.severity) : e.severity === 'warning' ? p.yellow(e.severity) : p.dim(e.severity);
  const data = JSON.stringify(e.data);
  return `${p.dim(`#${e.seq} ${e.timestamp.slice(11, 23)}`)} ${pad(severity, 8)} ${p.bold(e.event_type)} ${e.workflow_id}/${e.phase} ${p.dim(data.length > 160 ? `${data.slice(0, 157)}...` : data)}`;
}
