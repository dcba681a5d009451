import { ago, done, fields, listed, on, type ResultFormatter, type View } from './format-kit.js';
import type { Palette } from './format-style.js';

/** Amounts of resources, as `request-resources` and `health` give them. */
export interface Amounts { agents: number; memory_gb: number; cpu_cores: number; tool_instances?: Record<string, number>; exclusive_files?: string[] }

/** `2 agents, 4 GB memory, 1 core, bash ×2, files a, b`; `nothing` for all zero. */
export function amountsText(a: Amounts): string {
  const tools = Object.entries(a.tool_instances ?? {}).filter(([, n]) => n > 0);
  const files = a.exclusive_files ?? [];
  const parts = [
    a.agents ? `${a.agents} agent${a.agents === 1 ? '' : 's'}` : '',
    a.memory_gb ? `${a.memory_gb} GB memory` : '',
    a.cpu_cores ? `${a.cpu_cores} core${a.cpu_cores === 1 ? '' : 's'}` : '',
    ...tools.map(([name, n]) => `${name} ×${n}`),
    files.length > 0 ? `exclusive ${listed(files, 4)}` : '',
  ].filter(Boolean);
  return parts.length === 0 ? 'nothing' : parts.join(', ');
}

const STATUS_COLOR: Record<string, keyof Palette> = { approved: 'green', partial: 'yellow', queued: 'yellow', denied: 'red' };

interface Answer {
  request_id: string;
  status: string;
  allocation_id?: string;
  allocated_resources: (Amounts & { allocation_id: string; duration_hours?: number }) | null;
  restrictions: { auto_release_at?: string; auto_release_timeout?: string; exclusive_access_windows?: string[] } | null;
  reduced?: string[];
  queue_position?: number;
  max_wait_until?: string;
  reason?: string;
  alternatives: { option: string; available_at?: string | null; note?: string; resources?: Amounts; exceeds?: string[]; requires?: string[] }[];
  conflicts?: { conflicting_requests: { kind: string; workflow_id?: string; files?: string[]; task_id?: string }[] };
}

/** The answer's verdict, what was granted (or why not), and the alternatives offered. */
function requested(v: View, r: Answer): string {
  const { p, response } = v;
  const granted = r.allocated_resources;
  const lines = [done(v, p[STATUS_COLOR[r.status] ?? 'dim'](r.status))];
  lines.push(
    fields(p, [
      ['allocation', granted ? granted.allocation_id : (r.allocation_id ?? null)],
      ['granted', granted ? amountsText(granted) : null],
      ['reduced', r.reduced && r.reduced.length > 0 ? listed(r.reduced) : null],
      ['released', r.restrictions?.auto_release_at ? `automatically ${ago(r.restrictions.auto_release_at, response.timestamp)} (after ${r.restrictions.auto_release_timeout})` : null],
      ['queue', r.queue_position === undefined ? null : `position ${r.queue_position}; gives up ${ago(r.max_wait_until, response.timestamp)}`],
      ['why', r.reason ?? null],
      ['conflicts', r.conflicts ? listed(r.conflicts.conflicting_requests.filter((c) => c.kind !== 'request').map((c) => `${c.workflow_id ?? '?'}${c.task_id ? `/${c.task_id}` : ''} holds ${listed(c.files ?? [], 3)}`), 3) : null],
      ['request', r.request_id],
    ]),
  );
  for (const a of r.alternatives) {
    const when = a.available_at === undefined ? '' : a.available_at === null ? ` ${a.note ?? 'later'}` : ` ${ago(a.available_at, response.timestamp)}`;
    const what = a.resources ? `: ${amountsText(a.resources)}` : a.exceeds ? `: more than the hub has (${a.exceeds.join(', ')})` : '';
    lines.push(p.dim(`  or ${a.option.replace(/_/g, ' ')}${when}${what}${a.requires ? ` (needs ${a.requires.join(', ')})` : ''}`));
  }
  return lines.join('\n');
}

interface Released { allocation_id: string; status: string; release_reason: string; released_resources: Amounts | null; granted_from_queue: { allocation_id: string; workflow_id: string }[] }

export const resourceFormatters: Record<string, ResultFormatter> = {
  'request-resources': on(requested),
  'release-resources': on((v, r: Released) => {
    const what = r.released_resources ? `released ${r.allocation_id}: ${amountsText(r.released_resources)}` : `cancelled the queued request ${r.allocation_id}`;
    const queue = r.granted_from_queue.length > 0 ? `\n  ${v.p.dim(`then granted from the queue: ${r.granted_from_queue.map((g) => `${g.allocation_id} (${g.workflow_id})`).join(', ')}`)}` : '';
    return `${done(v, what)}${queue}`;
  }),
};
