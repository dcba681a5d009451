import type { EventRecord } from '../index.js';
import type { Palette } from './format-style.js';
import { ago, done, fields, keyValues, listed, on, plural, table, type ResultFormatter, type View } from './format-kit.js';

const severityText = (p: Palette, s: string) => (s === 'error' || s === 'critical' ? p.red(s) : s === 'warning' ? p.yellow(s) : p.dim(s));

/** `08:38:53.909` for a time of the answer's day, `12-01 08:38:53` for another day (UTC, as the log keeps them). */
const timeOf = (iso: string, now: string) => (iso.slice(0, 10) === now.slice(0, 10) ? iso.slice(11, 23) : `${iso.slice(5, 10)} ${iso.slice(11, 19)}`);

/** Events as a table, their data as `key=value` words cut to the screen (the whole of it is in --json). */
export function eventTable(p: Palette, now: string, events: readonly EventRecord[]): string {
  const rows = events.map((e) => [String(e.seq), timeOf(e.timestamp, now), severityText(p, e.severity), e.event_type, `${e.workflow_id}/${e.phase}`, keyValues(e.data)]);
  const columns = [{ header: 'seq', right: true }, { header: 'time (utc)', keep: true }, { header: 'severity', keep: true }, { header: 'type', keep: true }, 'where', 'data'];
  return table(p, columns, rows);
}

interface DeadLetter { dead_letter_id: string; subscription_id: string; event: EventRecord; reason: string; attempts: number; dead_lettered_at: string }

interface Subscribed {
  subscription_id: string;
  name?: string;
  patterns: string[];
  filters: Record<string, unknown>;
  delivery: string;
  target?: { type: string; command?: string; url?: string };
  durable: boolean;
  max_queue: number;
  overflow: string;
  scope: string;
}

function subscribed(v: View, r: Subscribed): string {
  const { p } = v;
  const filters = Object.entries(r.filters).map(([k, value]) => `${k} ${Array.isArray(value) ? value.join(', ') : String(value)}`);
  return [
    `${p.green(`✓ subscribed ${r.subscription_id}`)}${r.name ? ` (${r.name})` : ''}${p.dim(` to ${r.patterns.join(', ')}`)}`,
    fields(p, [
      ['delivers', `${r.delivery}${r.target ? ` to ${r.target.type} ${r.target.command ?? r.target.url ?? ''}`.trimEnd() : ' to this session'}${r.durable ? ', durable (kept across restarts)' : ''}`],
      ['scope', r.scope],
      ['filters', filters.length > 0 ? filters.join('; ') : null],
      ['queue', `at most ${r.max_queue} waiting, then ${r.overflow.replace(/_/g, ' ')}`],
    ]),
  ].join('\n');
}

export const eventFormatters: Record<string, ResultFormatter> = {
  'get-events': on((v, r: { events: EventRecord[]; returned: number; total: number }) => {
    const { p, response } = v;
    const body = r.events.length === 0 ? p.dim('no events') : eventTable(p, response.timestamp, r.events);
    return `${body}\n${p.dim(`${r.returned} of ${plural(r.total, 'event')}`)}`;
  }),
  'dead-letters': on((v, r: { dead_letters: DeadLetter[]; total: number }) => {
    const { p, response } = v;
    if (r.dead_letters.length === 0) return p.dim('no dead letters');
    const rows = r.dead_letters.map((d) => [
      d.dead_letter_id, d.subscription_id, `#${d.event.seq} ${d.event.event_type}`, d.event.workflow_id, ago(d.dead_lettered_at, response.timestamp),
      `${d.reason}${d.attempts > 1 ? ` (${d.attempts} attempts)` : ''}`,
    ]);
    const columns = [{ header: 'dead letter', keep: true }, { header: 'subscription', keep: true }, { header: 'event', keep: true }, 'workflow', { header: 'when', keep: true }, 'reason'];
    return `${table(p, columns, rows)}\n${p.dim(`${r.dead_letters.length} of ${plural(r.total, 'dead letter')}`)}`;
  }),
  redrive: on((v, r: { redriven: string[]; skipped: { dead_letter_id: string; reason: string }[] }) =>
    [done(v, `${plural(r.redriven.length, 'dead letter')} delivered again${r.redriven.length > 0 ? `: ${listed(r.redriven)}` : ''}`), ...r.skipped.map((s) => v.p.yellow(`  ! ${s.dead_letter_id}: ${s.reason}`))].join('\n'),
  ),
  'subscribe-event': on(subscribed),
  'unsubscribe-event': on((v, r: { subscription_id: string; name?: string; durable: boolean }) =>
    done(v, `${r.subscription_id}${r.name ? ` (${r.name})` : ''} ended${r.durable ? '; removed from the data directory' : ''}`),
  ),
  'publish-event': on((v, r: { event: EventRecord }) => {
    const e = r.event;
    const to = e.subscribers && e.subscribers.length > 0 ? `; to ${listed(e.subscribers, 4)}` : '';
    return `${done(v, `#${e.seq} ${e.event_type} ${e.workflow_id}/${e.phase} ${severityText(v.p, e.severity)}${to}`)}\n  ${v.p.dim(keyValues(e.data))}`;
  }),
};
