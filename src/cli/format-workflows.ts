import { colorStatus } from './format-style.js';
import { ago, bytes, cell, done, fields, listed, on, plural, table, wrap, WIDTH, type ResultFormatter, type View } from './format-kit.js';

/** What a lifecycle operation answers: the move, and what came with it. */
interface Transition {
  workflow_id: string;
  previous_status?: string;
  status: string;
  failure?: { code: string; message: string };
  resumed_from_phase?: { phase_id: number; name: string; skipped_phases: string[] };
  released?: { allocations: string[]; exclusive_files: string[]; exclusive_files_releasing: string[] };
  temp_files?: { removed_files: number; removed_bytes: number; kept_running: string[] };
  notify_stakeholders?: string[];
  report?: { workflow_state: unknown };
}

/** `✓ start wf_1  created → ▶ running`, then what else the move did, and a report's tree. */
function transition(v: View, r: Transition): string {
  const { p } = v;
  const lines = [done(v, `${r.previous_status ? `${r.previous_status} → ` : ''}${colorStatus(p, r.status)}`)];
  if (r.failure) lines.push(p.red(`  ${r.failure.code}: ${r.failure.message.split('\n')[0]}`));
  const from = r.resumed_from_phase;
  const released = r.released;
  const temp = r.temp_files;
  const extra = fields(p, [
    ['began at', from ? `phase ${from.phase_id} (${from.name}); skipped ${listed(from.skipped_phases)}` : null],
    ['released', released ? releasedText(released) : null],
    ['temp files', temp ? `${plural(temp.removed_files, 'file')} removed (${bytes(temp.removed_bytes)})${temp.kept_running.length > 0 ? `; ${temp.kept_running.length} kept: their processes still run` : ''}` : null],
    ['stakeholders', r.notify_stakeholders ? r.notify_stakeholders.join(', ') : null],
  ]);
  if (extra) lines.push(extra);
  if (r.report) lines.push(p.bold('report'), v.tree(r.report.workflow_state));
  return lines.join('\n');
}

function releasedText(r: NonNullable<Transition['released']>): string {
  return [
    r.allocations.length > 0 ? `allocations ${listed(r.allocations)}` : '',
    r.exclusive_files.length > 0 ? `exclusive files ${listed(r.exclusive_files)}` : '',
    r.exclusive_files_releasing.length > 0 ? `${listed(r.exclusive_files_releasing)} once the task holding it ends` : '',
  ]
    .filter(Boolean)
    .join('; ');
}

interface Created {
  status: string;
  name: string;
  phases: { name: string; tasks: number }[];
  tasks: number;
  roles: string[];
  critical_path: { tasks: string[]; estimated_duration: string };
  template?: { name: string; source?: string };
  params?: Record<string, unknown>;
}

function created(v: View, r: Created): string {
  const { p } = v;
  return [
    done(v, `${colorStatus(p, r.status)}  ${r.name}`),
    fields(p, [
      ['phases', r.phases.map((ph) => `${ph.name} (${plural(ph.tasks, 'task')})`).join(', ')],
      ['tasks', `${r.tasks}${r.roles.length > 0 ? `, for the roles ${r.roles.join(', ')}` : ''}`],
      ['critical path', r.critical_path.tasks.length > 0 ? `${r.critical_path.tasks.join(' → ')} (estimated ${r.critical_path.estimated_duration})` : null],
      ['template', r.template ? `${r.template.name}${r.template.source ? ` (${r.template.source})` : ''}` : null],
      ['params', r.params && Object.keys(r.params).length > 0 ? Object.entries(r.params).map(([k, val]) => `${k}=${JSON.stringify(val)}`).join(', ') : null],
    ]),
  ].join('\n');
}

interface WorkflowRow { workflow_id: string; name: string; status: string; priority?: string; current_phase: string | number | null; progress_percentage: number; updated_at: string }

function workflowList(v: View, r: { workflows: WorkflowRow[]; total: number }): string {
  const { p, response } = v;
  if (r.workflows.length === 0) return p.dim('no workflows');
  const rows = r.workflows.map((w) => [w.workflow_id, w.name, colorStatus(p, w.status), w.priority ?? '-', `${w.progress_percentage}%`, cell(w.current_phase), ago(w.updated_at, response.timestamp)]);
  const columns = [{ header: 'workflow', keep: true }, 'name', { header: 'status', keep: true }, 'priority', { header: 'progress', right: true }, 'phase', { header: 'updated', keep: true }];
  return `${table(p, columns, rows)}\n${p.dim(plural(r.total, 'workflow'))}`;
}

interface TaskLog { task_id: string; status: string; attempts: number[]; attempt: number | null; lines: string[]; dropped_bytes: number; live: boolean }

/** One task's log: a heading with its attempt and status, then its lines as written. */
function taskLog(v: View, t: TaskLog): string {
  const { p } = v;
  const attempt = t.attempt === null ? 'no output yet' : `attempt ${t.attempt}${t.attempts.length > 1 ? ` (with a log: ${t.attempts.join(', ')})` : ''}`;
  const head = `${p.bold(`── ${t.task_id}`)} ${p.dim(`${attempt}, ${t.status}${t.live ? ', still writing' : ''}`)}`;
  const dropped = t.dropped_bytes > 0 ? [p.dim(`(${bytes(t.dropped_bytes)} of its start dropped: a log is bounded)`)] : [];
  return [head, ...dropped, ...(t.lines.length === 0 && t.attempt !== null ? [p.dim('(nothing in the lines asked for)')] : t.lines)].join('\n');
}

function logs(v: View, r: TaskLog | { workflow_status: string; tasks: TaskLog[] }): string {
  if ('task_id' in r) return taskLog(v, r);
  return r.tasks.length === 0 ? v.p.dim('no task has written output yet') : r.tasks.map((t) => taskLog(v, t)).join('\n');
}

interface TemplateParam { name: string; type: string; required: boolean; default?: unknown; description?: string }
interface Template { name: string; source: string; path: string; params?: TemplateParam[]; description?: unknown; error?: { code: string; message: string }; shadowed_by?: string }

/** Each template with what it does, then its params as a table (what `--param` and `params` take). */
function templates(v: View, r: { templates: Template[]; sources: { source: string; path: string; templates: number; error?: unknown }[] }): string {
  const { p } = v;
  const blocks = r.templates.map((t) => {
    const head = [`${p.bold(t.name)} ${p.dim(`(${t.source})`)}`, ...(typeof t.description === 'string' ? wrap(t.description, WIDTH - 2).map((l) => `  ${l}`) : [])];
    if (t.error) return [...head, `  ${p.red(`✗ cannot be used: ${t.error.message}`)}`].join('\n');
    if (t.shadowed_by) return [...head, `  ${p.dim(`hidden by ${t.shadowed_by} (the same name, found first)`)}`].join('\n');
    const params = t.params ?? [];
    const rows = params.map((x) => [x.name, x.type, x.required ? 'required' : x.default === undefined ? '-' : JSON.stringify(x.default), x.description ?? '']);
    const body = params.length === 0 ? `  ${p.dim('no params')}` : table(p, [{ header: 'param', keep: true }, 'type', 'default', { header: 'description', wrap: true }], rows, WIDTH - 2).replace(/^/gm, '  ');
    return [...head, body].join('\n');
  });
  const where = r.sources.map((s) => `${s.source} ${s.path} (${s.templates})${s.error ? ' unreadable' : ''}`).join('; ');
  return [blocks.length === 0 ? p.dim('no templates') : blocks.join('\n\n'), p.dim(`looked in: ${where}`)].join('\n');
}

export const workflowFormatters: Record<string, ResultFormatter> = {
  create: on(created),
  'list-workflows': on(workflowList),
  start: on(transition),
  pause: on(transition),
  resume: on(transition),
  cancel: on(transition),
  complete: on(transition),
  cleanup: on(transition),
  wait: on(transition),
  'set-priority': on((v, r: { previous_priority: string; priority: string }) => done(v, `priority ${r.previous_priority} → ${r.priority}`)),
  logs: on(logs),
  'list-templates': on(templates),
};
