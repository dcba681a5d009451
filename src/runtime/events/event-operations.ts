import { z } from 'zod';
import { compilePattern } from './event-pattern.js';
import type { EventRecord } from './event-record.js';
import type { Handler } from '../operation-kit.js';
import type { EventBus } from './event-bus.js';
import { configureBatchingParams, publishEventParams, publishHandlers } from './publish-operations.js';
import { eventTypeSchema } from './spec-event-names.js';

/**
 * The log's events plus those of this run the persistence policy kept out of
 * it (configure-persistence), still in memory: each goes after the logged
 * event whose seq it shares.
 */
function withUnlogged(logged: EventRecord[], bus: EventBus): EventRecord[] {
  const unlogged = bus.recent().filter((e) => bus.unlogged(e));
  if (unlogged.length === 0) return logged;
  const all: EventRecord[] = [];
  let next = 0;
  for (const e of logged) {
    while (next < unlogged.length && unlogged[next]!.seq < e.seq) all.push(unlogged[next++]!);
    all.push(e);
  }
  return all.concat(unlogged.slice(next));
}

export const SEVERITIES = ['debug', 'info', 'warning', 'error', 'critical'] as const;

/**
 * `block` is refused on purpose: publishing is synchronous (every command and
 * every actor transition publishes), so a publisher that waited for room in
 * a slow subscriber's queue would stall the whole hub on that subscriber.
 */
const BLOCK_REFUSED =
  'overflow "block" is not offered: publishing never waits for a subscriber (it would stall the hub). Use "drop_oldest" (keep the newest) or "dead_letter" (keep every event, redrive later), with a larger max_queue if the subscriber is only bursty';
export const overflowSchema = z.enum(['drop_oldest', 'dead_letter'], {
  error: (issue) => (issue.input === 'block' ? BLOCK_REFUSED : 'overflow is "drop_oldest" or "dead_letter"'),
});
/**
 * One value or a list of them, always a list once parsed. A bad value is
 * refused with the message of the value's own schema (a list's with the
 * item's place), not the union's bare "Invalid input".
 */
export const oneOrMany = <T extends z.ZodType>(schema: T) =>
  z
    .union([schema, z.array(schema)], {
      error: (issue) => {
        if (issue.code !== 'invalid_union') return undefined;
        const [asOne, asList] = issue.errors;
        const inner = Array.isArray(issue.input) ? asList?.[0] : asOne?.[0];
        if (!inner) return undefined;
        return inner.path.length > 0 ? `item ${inner.path.join('.')}: ${inner.message}` : inner.message;
      },
    })
    .transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

export const eventParams = {
  'publish-event': publishEventParams,
  'configure-batching': configureBatchingParams,
  'dead-letters': z.strictObject({
    subscription_id: z.string().min(1).optional(),
    limit: z.number().int().min(1).max(10_000).default(100),
  }),
  redrive: z.strictObject({
    dead_letter_ids: z.array(z.string().min(1)).min(1).optional().describe('all dead letters when absent'),
    to_subscription_id: z.string().min(1).optional().describe("a live subscription to take them instead of their own (which ends with its session, e.g. at a restart)"),
  }),
  'get-events': z.strictObject({
    event_type: oneOrMany(eventTypeSchema).optional(),
    correlation_id: z.string().min(1).optional().describe("only the events of the commands sent with this correlation_id (and what they caused)"),
    pattern: z.string().min(1).optional().describe('a subscription pattern'),
    severity: oneOrMany(z.enum(SEVERITIES)).optional(),
    since: z.iso.datetime().optional().describe('ISO time, inclusive'),
    until: z.iso.datetime().optional().describe('ISO time, exclusive'),
    from_seq: z.number().int().min(0).optional(),
    to_seq: z.number().int().min(0).optional(),
    limit: z.number().int().min(1).max(10_000).default(100),
    order: z.enum(['asc', 'desc']).default('asc'),
  }),
} as const;

export const eventHandlers: Record<string, Handler> = {
  ...publishHandlers,

  'dead-letters'(hub, _id, params: z.output<(typeof eventParams)['dead-letters']>) {
    const letters = hub.subscriptions.deadLetters(params.subscription_id);
    return {
      result: { dead_letters: letters.slice(-params.limit), total: letters.length },
      next_steps: letters.length > 0 ? ["Deliver them again with 'redrive' (all) or 'redrive {\"dead_letter_ids\":[…]}'"] : [],
    };
  },

  async redrive(hub, _id, params: z.output<(typeof eventParams)['redrive']>) {
    return { result: await hub.subscriptions.redrive(params.dead_letter_ids, params.to_subscription_id), next_steps: [] };
  },

  async 'get-events'(hub, workflowId, params: z.output<(typeof eventParams)['get-events']>) {
    // with a data directory, the log is the history (it survives restarts); otherwise the retained window
    const all: EventRecord[] = hub.journal
      ? withUnlogged((await hub.journal.log.readAll()).filter((r) => r.kind === 'event').map((r) => ({ ...(r.event as Omit<EventRecord, 'seq'>), seq: r.seq })), hub.bus)
      : hub.bus.recent();
    const matches = params.pattern ? compilePattern(params.pattern) : null;
    const since = params.since ? Date.parse(params.since) : null;
    const until = params.until ? Date.parse(params.until) : null;
    let events = all.filter(
      (e) =>
        (workflowId === undefined || e.workflow_id === workflowId) &&
        (!params.event_type || params.event_type.includes(e.event_type)) &&
        (!params.severity || params.severity.includes(e.severity)) &&
        (params.correlation_id === undefined || e.correlation_id === params.correlation_id) &&
        (!matches || matches(e)) &&
        (since === null || Date.parse(e.timestamp) >= since) &&
        (until === null || Date.parse(e.timestamp) < until) &&
        (params.from_seq === undefined || e.seq >= params.from_seq) &&
        (params.to_seq === undefined || e.seq <= params.to_seq),
    );
    const total = events.length;
    if (params.order === 'desc') events = events.reverse();
    events = events.slice(0, params.limit);
    return {
      result: { ...(workflowId === undefined ? {} : { workflow_id: workflowId }), events, total, returned: events.length },
      next_steps: total > events.length ? [`${total - events.length} more: raise 'limit' or narrow with from_seq`] : [],
    };
  },
};
