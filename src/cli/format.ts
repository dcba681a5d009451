import type { EventRecord, HubResponse } from '../index.js';
import { colorStatus, pad, type Palette } from './format-style.js';
import { formatResult } from './format-results.js';
import { wrap, WIDTH } from './format-kit.js';

export { colorStatus, createPalette, type Palette } from './format-style.js';

/** A bar of `width` cells for a percentage. */
export function progressBar(percent: number, width = 20): string {
  const full = Math.round((Math.max(0, Math.min(100, percent)) / 100) * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

interface StatusView {
  id: string; name: string; status: string; progress_percentage: number; current_phase: number; total_phases: number;
  started_at?: string | null; finished_at?: string | null;
  pause_reason?: string; cancel_reason?: string;
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
  // why a person paused or cancelled it, as they said it
  if (w.status === 'paused' && w.pause_reason) lines.push({ text: p.yellow(`  paused: ${w.pause_reason}`), keep: 4 });
  if (w.cancel_reason) lines.push({ text: p.red(`  cancelled: ${w.cancel_reason}`), keep: 4 });
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

/** A response as people read it; `--json` prints the response itself instead. */
export function formatResponse(p: Palette, response: HubResponse): string {
  if (response.status === 'error') {
    const { code, message, details } = response.error;
    return [
      p.red(`✗ ${code}: ${message}`),
      ...(details ? details.split('\n').flatMap((l) => wrap(l, WIDTH - 2)).map((l) => `  ${l}`) : []),
      ...response.recovery_suggestions.map((s) => p.dim(`  → ${s}`)),
    ].join('\n');
  }
  const result = response.result as Record<string, unknown>;
  let body: string;
  const now = Date.parse(response.timestamp);
  const shown = formatResult(p, response, (state) => formatStatus(p, state as StatusView, now));
  if (shown !== null) body = shown;
  else if (response.operation === 'get-status') body = formatStatus(p, result.workflow_state as StatusView, now);
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
