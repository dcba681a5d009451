import { z } from 'zod';
import { TroupeError } from '../errors.js';
import { compilePattern } from './event-pattern.js';
import { EVENT_DATA } from './event-registry.js';
import { durationSchema } from '../definition.js';
import { ADAPTIVE_BATCH, DEFAULT_BATCHING } from './event-batching.js';
import { formatDuration } from '../durations.js';
import { EVENT_TYPES, RUNTIME_SOURCES, type EventRecord } from './event-record.js';
import type { Handler } from '../operation-kit.js';

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
const BATCH_SIZE = `batch_size is a whole number from 1 to ${ADAPTIVE_BATCH.max}, or "adaptive"`;
const patternSchema = z
  .string()
  .min(1)
  .refine((p) => p.split('.').every((segment) => segment.length > 0), 'a pattern is dot-separated segments, none empty, e.g. "TASK_FAILED.#" or "workflow.*.phase_completed"');
export const oneOrMany = <T extends z.ZodType>(schema: T) => z.union([schema, z.array(schema)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

export const eventParams = {
  'publish-event': z.strictObject({
    event_type: z.enum(EVENT_TYPES),
    phase: z.string().min(1).optional(),
    severity: z.enum(SEVERITIES).optional(),
    data: z.record(z.string(), z.unknown()).default({}),
    tags: z.array(z.string()).default([]),
    source: z
      .string()
      .min(1)
      .refine((s) => !RUNTIME_SOURCES.has(s), { message: `${[...RUNTIME_SOURCES].join(' and ')} are the runtime's own sources (the KPIs count their events): name yours otherwise` })
      .default('user'),
    causation_id: z.string().optional(),
    event_id: z.string().min(1).max(128).optional().describe('your id for the event; publishing again with the same id lets batch subscriptions skip the repeat (dedup_window)'),
  }),
  'configure-batching': z.strictObject({
    event_types: z.array(patternSchema).min(1).default(['#']).describe('patterns (as in subscribe-event) of the events delivered in batches'),
    batch_size: z
      .union([z.number().int(BATCH_SIZE).min(1, BATCH_SIZE).max(ADAPTIVE_BATCH.max, BATCH_SIZE), z.literal('adaptive')], { error: BATCH_SIZE })
      .default(DEFAULT_BATCHING.batchSize)
      .describe('events per batch, or "adaptive": grows while the subscriber falls behind, shrinks when a delivery takes longer than timeout'),
    timeout: durationSchema
      .refine((ms) => ms > 0 && ms <= 3_600_000, 'timeout is longer than 0 and at most 1h')
      .prefault(formatDuration(DEFAULT_BATCHING.timeoutMs))
      .describe('a batch that has not filled up goes out this long after it started collecting'),
    dedup_window: durationSchema
      .refine((ms) => ms <= 86_400_000, 'dedup_window is at most 1d')
      .prefault('0ms')
      .describe('skip an event whose event_id the subscription took within this window; 0: off'),
    enabled: z.boolean().default(true).describe('false: batch subscriptions get every event on its own'),
  }),
  'dead-letters': z.strictObject({
    subscription_id: z.string().min(1).optional(),
    limit: z.number().int().min(1).max(10_000).default(100),
  }),
  redrive: z.strictObject({
    dead_letter_ids: z.array(z.string().min(1)).min(1).optional().describe('all dead letters when absent'),
    to_subscription_id: z.string().min(1).optional().describe("a live subscription to take them instead of their own (which ends with its session, e.g. at a restart)"),
  }),
  'get-events': z.strictObject({
    event_type: oneOrMany(z.enum(EVENT_TYPES)).optional(),
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
  'publish-event'(hub, workflowId, params: z.output<(typeof eventParams)['publish-event']>) {
    const data = EVENT_DATA[params.event_type].safeParse(params.data);
    if (!data.success) {
      throw new TroupeError('VALIDATION_FAILED', `The data of this ${params.event_type} event misses what the event registry requires`, {
        details: z.prettifyError(data.error),
      });
    }
    const record = hub.bus.publish({
      type: params.event_type,
      ...(workflowId === undefined ? {} : { workflowId }),
      ...(params.phase === undefined ? {} : { phase: params.phase }),
      ...(params.severity === undefined ? {} : { severity: params.severity }),
      data: params.data,
      tags: params.tags,
      source: params.source,
      correlationId: hub.correlationId,
      causationId: params.causation_id ?? null,
      ...(params.event_id === undefined ? {} : { eventId: params.event_id }),
    });
    return { result: { event: record }, next_steps: [] };
  },

  'configure-batching'(hub, _id, params: z.output<(typeof eventParams)['configure-batching']>) {
    hub.subscriptions.configureBatching({
      enabled: params.enabled,
      eventTypes: params.event_types,
      batchSize: params.batch_size,
      timeoutMs: params.timeout,
      dedupWindowMs: params.dedup_window,
    });
    const batched = hub.subscriptions.list().filter((s) => s.delivery === 'batch').length;
    return {
      result: {
        batching: { enabled: params.enabled, event_types: params.event_types, batch_size: params.batch_size, timeout: formatDuration(params.timeout), dedup_window: formatDuration(params.dedup_window) },
        batch_subscriptions: batched,
      },
      next_steps: batched === 0 ? ['Subscriptions opened with \'subscribe-event {"delivery":"batch"}\' get these events in batches'] : [],
    };
  },

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
      ? (await hub.journal.log.readAll()).filter((r) => r.kind === 'event').map((r) => ({ ...(r.event as Omit<EventRecord, 'seq'>), seq: r.seq }))
      : hub.bus.recent();
    const matches = params.pattern ? compilePattern(params.pattern) : null;
    const since = params.since ? Date.parse(params.since) : null;
    const until = params.until ? Date.parse(params.until) : null;
    let events = all.filter(
      (e) =>
        (workflowId === undefined || e.workflow_id === workflowId) &&
        (!params.event_type || params.event_type.includes(e.event_type)) &&
        (!params.severity || params.severity.includes(e.severity)) &&
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
