import { z } from 'zod';
import { TroupeError } from '../errors.js';
import { durationSchema } from '../definition.js';
import { formatDuration } from '../durations.js';
import type { Handler, OperationResult } from '../operation-kit.js';
import { ADAPTIVE_BATCH, DEFAULT_BATCHING } from './event-batching.js';
import { RUNTIME_SOURCES, SEVERITIES } from './event-record.js';
import { checkEventData, eventTypeSchema, readBatchingEntry } from './spec-event-names.js';

const BATCH_SIZE = `batch_size is a whole number from 1 to ${ADAPTIVE_BATCH.max}, or "adaptive"`;
const entrySchema = z
  .string()
  .min(1)
  .refine((p) => p.split('.').every((segment) => segment.length > 0), 'an entry is an event type ("task_completed") or a pattern of dot-separated segments, none empty, e.g. "TASK_FAILED.#" or "workflow.*.phase_completed"');

export const publishEventParams = z.strictObject({
  event_type: eventTypeSchema.describe('a registry type, in either case: "PHASE_COMPLETED" or "phase_completed"'),
  phase: z.string().min(1).optional(),
  severity: z.enum(SEVERITIES).optional(),
  data: z.record(z.string(), z.unknown()).default({}).describe("the registry's fields of the type; the spec's names (phase, duration) are taken for them; a missing one is said in warnings"),
  tags: z.array(z.string()).default([]),
  source: z
    .string()
    .min(1)
    .refine((s) => !RUNTIME_SOURCES.has(s), { message: `${[...RUNTIME_SOURCES].join(' and ')} are the runtime's own sources (the KPIs count their events): name yours otherwise` })
    .default('user'),
  causation_id: z.string().optional(),
  event_id: z.string().min(1).max(128).optional().describe('your id for the event; publishing again with the same id lets batch subscriptions skip the repeat (dedup_window)'),
  enable_batching: z.boolean().optional().describe("true: batch subscriptions get this event in batches whatever configure-batching covers; false: on its own"),
  batch_optimization: z.enum(['adaptive', 'fixed', 'none']).optional().describe("the batch sizing asked for; sizes are the hub's (configure-batching), a different one is said in warnings"),
});

export const configureBatchingParams = z.strictObject({
  event_types: z.array(entrySchema).min(1).default(['#']).describe('event types ("task_completed") or patterns (as in subscribe-event) of the events delivered in batches'),
  batch_size: z
    .union([z.number().int(BATCH_SIZE).min(1, BATCH_SIZE).max(ADAPTIVE_BATCH.max, BATCH_SIZE), z.literal('adaptive')], { error: BATCH_SIZE })
    .default(DEFAULT_BATCHING.batchSize)
    .describe('events per batch, or "adaptive": grows while the subscriber falls behind, shrinks when a delivery takes longer than timeout'),
  timeout: durationSchema.refine((ms) => ms > 0 && ms <= 3_600_000, 'timeout is longer than 0 and at most 1h').optional().describe('a batch that has not filled up goes out this long after it started collecting (default 100ms)'),
  batch_timeout: durationSchema.refine((ms) => ms > 0 && ms <= 3_600_000, 'batch_timeout is longer than 0 and at most 1h').optional().describe("the spec's name of timeout"),
  dedup_window: durationSchema.refine((ms) => ms <= 86_400_000, 'dedup_window is at most 1d').optional().describe('skip an event whose event_id the subscription took within this window; 0: off'),
  deduplication_enabled: z.boolean().optional().describe('the spec\'s switch for dedup by event_id: true without dedup_window dedups within 5m; false turns it off'),
  compression_enabled: z.boolean().default(false).describe('gzip batches where they are serialized (webhook bodies); in-process batches are never serialized'),
  enabled: z.boolean().default(true).describe('false: batch subscriptions get every event on its own'),
});

/** The dedup window `deduplication_enabled: true` means when no dedup_window is given. */
const DEFAULT_DEDUP_WINDOW_MS = 5 * 60_000;

type PublishParams = z.output<typeof publishEventParams>;
type BatchingParams = z.output<typeof configureBatchingParams>;

export const publishHandlers: Record<string, Handler> = {
  'publish-event'(hub, workflowId, params: PublishParams): OperationResult {
    const checked = checkEventData(params.event_type, params.data);
    if (checked.invalid) {
      throw new TroupeError('VALIDATION_FAILED', `The data of this ${params.event_type} event has values the event registry refuses`, { details: z.prettifyError(checked.invalid) });
    }
    const warnings = [...checked.notes];
    if (checked.missing.length > 0) {
      warnings.push(`${params.event_type}'s registry data also names ${checked.missing.join(', ')}, which this event lacks: it is published without them, so a subscriber reading them finds none`);
    }
    const sizing = hub.subscriptions.batching.batchSize;
    if (params.batch_optimization !== undefined && (params.batch_optimization === 'adaptive') !== (sizing === 'adaptive')) {
      warnings.push(
        `batch_optimization "${params.batch_optimization}": batch sizes are set hub-wide by configure-batching (now ${sizing === 'adaptive' ? '"adaptive"' : sizing}), so this event goes in batches of that size; change it with 'configure-batching {"batch_size":…}'`,
      );
    }
    if (params.enable_batching !== undefined) hub.subscriptions.batchNextEvent(params.enable_batching);
    const record = hub.bus.publish({
      type: params.event_type,
      ...(workflowId === undefined ? {} : { workflowId }),
      ...(params.phase === undefined ? {} : { phase: params.phase }),
      ...(params.severity === undefined ? {} : { severity: params.severity }),
      data: checked.data,
      tags: params.tags,
      source: params.source,
      correlationId: hub.correlationId,
      causationId: params.causation_id ?? null,
      ...(params.event_id === undefined ? {} : { eventId: params.event_id }),
    });
    const subscribers = record.subscribers ?? [];
    const next: string[] = [];
    if (params.enable_batching) {
      const batched = hub.subscriptions.find().filter((s) => s.queue.policy.delivery === 'batch' && subscribers.includes(s.name ?? s.id));
      if (batched.length === 0) next.push('No batch subscription took it, so it went out on its own: subscribe with \'subscribe-event {"delivery":"batch"}\' to get events in batches');
    }
    return { result: { event: record }, next_steps: next, warnings, metrics: { resources_used: hub.journal && !hub.bus.unlogged(record) ? '1 log record' : 'none' } };
  },

  'configure-batching'(hub, _id, params: BatchingParams): OperationResult {
    const warnings: string[] = [];
    if (params.timeout !== undefined && params.batch_timeout !== undefined && params.timeout !== params.batch_timeout) {
      throw new TroupeError('VALIDATION_FAILED', 'timeout and batch_timeout are the same setting and disagree', {
        details: `timeout is ${formatDuration(params.timeout)}, batch_timeout ${formatDuration(params.batch_timeout)}: give one of them`,
      });
    }
    const timeoutMs = params.batch_timeout ?? params.timeout ?? DEFAULT_BATCHING.timeoutMs;
    if (params.deduplication_enabled === false && params.dedup_window !== undefined && params.dedup_window > 0) {
      throw new TroupeError('VALIDATION_FAILED', 'deduplication_enabled is false but dedup_window asks for a window', { details: 'Give one of them: dedup_window "0ms" is off too' });
    }
    const dedupWindowMs = params.deduplication_enabled === false ? 0 : (params.dedup_window ?? (params.deduplication_enabled ? DEFAULT_DEDUP_WINDOW_MS : 0));
    const entries = params.event_types.map(readBatchingEntry);
    for (const e of entries) if (e.note && e.pattern !== `${e.entry.toUpperCase()}.#`) warnings.push(`event_types: ${e.note}`);
    const patterns = [...new Set(entries.flatMap((e) => (e.pattern ? [e.pattern] : [])))];
    if (patterns.length === 0) warnings.push('event_types: no entry names an event troupe publishes, so nothing is batched; batch subscriptions get every event on its own');
    if (params.compression_enabled) {
      warnings.push('compression_enabled: batches delivered in this process (REPL, socket, in-process sessions) are handed over as objects and never serialized, so nothing is compressed there; wherever a batch is serialized (a webhook body), it is gzip-encoded');
    }
    hub.subscriptions.configureBatching({ enabled: params.enabled, eventTypes: patterns, batchSize: params.batch_size, timeoutMs, dedupWindowMs, compression: params.compression_enabled });
    const batched = hub.subscriptions.list().filter((s) => s.delivery === 'batch').length;
    return {
      result: {
        batching: {
          enabled: params.enabled,
          event_types: patterns,
          batch_size: params.batch_size,
          timeout: formatDuration(timeoutMs),
          dedup_window: formatDuration(dedupWindowMs),
          deduplication_enabled: dedupWindowMs > 0,
          compression_enabled: params.compression_enabled,
        },
        entries: entries.map(({ entry, pattern, event_types }) => ({ entry, pattern, event_types })),
        batch_subscriptions: batched,
      },
      next_steps: batched === 0 ? ['Subscriptions opened with \'subscribe-event {"delivery":"batch"}\' get these events in batches'] : [],
      warnings,
    };
  },
};
