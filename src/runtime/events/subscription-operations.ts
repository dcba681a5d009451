import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { durationSchema } from '../definition.js';
import { TroupeError } from '../errors.js';
import type { Handler } from '../operation-kit.js';
import { eventTypeSchema } from './spec-event-names.js';
import { oneOrMany, overflowSchema, SEVERITIES } from './event-operations.js';
import { DEFAULT_DELIVERY, type Session } from './subscriber-queue.js';
import type { SubscriptionFilters, SubscriptionSpec } from './subscription-spec.js';
import { targetFrom, targetSchema } from './subscription-targets.js';

const nameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, 'a subscriber name is 1-100 letters, digits, _ . : - (starting with a letter or digit), e.g. "workflow_monitor"');

export const subscriptionParams = {
  'subscribe-event': z.strictObject({
    patterns: z.array(z.string().min(1)).min(1).default(['#']).describe('e.g. "TASK_FAILED.#", "workflow.*.phase_completed", "*.failed"'),
    callback: nameSchema.optional().describe("the subscriber's name (the spec's callback): subscribing again with it replaces the subscription; unsubscribe-event takes it"),
    name: nameSchema.optional().describe('the same as callback'),
    target: targetSchema.optional(),
    retry_policy: z
      .strictObject({
        max_retries: z.number().int().min(0).max(100).default(DEFAULT_DELIVERY.maxRetries),
        backoff_strategy: z.enum(['exponential', 'linear', 'fixed']).default(DEFAULT_DELIVERY.backoffStrategy).describe('exponential: the wait doubles; linear: base × retry; fixed: base'),
        backoff_base: durationSchema.prefault('1s').describe('the first wait'),
      })
      .prefault({})
      .describe('a failed delivery is retried with backoff, then dead-lettered'),
    max_queue: z.number().int().min(1).max(1_000_000).default(DEFAULT_DELIVERY.maxQueue).describe('events waiting for this subscriber at most'),
    overflow: overflowSchema.default(DEFAULT_DELIVERY.overflow).describe('what a full queue does with more'),
    delivery: z
      .enum(['realtime', 'batch', 'webhook'])
      .default('realtime')
      .describe("batch: the events 'configure-batching' covers come in batches; webhook: each event as it happens, to target {type:\"webhook\"}"),
    filters: z
      .strictObject({
        severity: oneOrMany(z.enum(SEVERITIES)).optional(),
        workflow_id: oneOrMany(z.string().min(1)).optional().describe('one id or a list'),
        event_type: oneOrMany(eventTypeSchema).optional(),
      })
      .default({}),
    enable_smart_filtering: z.boolean().optional().describe('filtering is always indexed and done before queueing: see the response'),
    optimization_goal: z.string().min(1).max(64).optional().describe('kept on the subscription for optimize-subscriptions'),
  }),
  'unsubscribe-event': z
    .strictObject({
      subscription_id: z.string().min(1).optional(),
      callback: z.string().min(1).optional().describe("the subscriber's name"),
      name: z.string().min(1).optional().describe('the same as callback'),
    })
    .refine((p) => [p.subscription_id, p.callback, p.name].filter((v) => v !== undefined).length === 1, 'give one of subscription_id, callback or name'),
} as const;

type SubscribeParams = z.output<(typeof subscriptionParams)['subscribe-event']>;

/** The receiver of a named subscription nobody receives yet: its events wait in its bounded queue, nothing is delivered. */
const AWAITING_RECEIVER: Session = { holding: true };

const invalid = (message: string, details: string) => new TroupeError('VALIDATION_FAILED', message, { details });

/** `callback` and `name` are one thing: either, or both the same. */
function nameOf(params: { callback?: string | undefined; name?: string | undefined }): string | undefined {
  if (params.callback !== undefined && params.name !== undefined && params.callback !== params.name) {
    throw invalid(`callback ${params.callback} and name ${params.name} differ`, 'They are the same thing (the subscriber\'s name): give one');
  }
  return params.callback ?? params.name;
}

/** `<id> subscribe-event` hears only that workflow; filters.workflow_id may list it (and is then narrowed to it). */
function scopeOf(workflowId: string | undefined, filters: SubscriptionFilters, warnings: string[]): SubscriptionFilters {
  if (workflowId === undefined) return filters;
  const listed = filters.workflow_id;
  if (listed && !listed.includes(workflowId)) {
    throw invalid(`filters.workflow_id ${JSON.stringify(listed)} leaves out ${workflowId}, the workflow this subscription is for`, `Drop the workflow id before subscribe-event to hear ${listed.join(', ')}, or add ${workflowId} to the list`);
  }
  if (listed && listed.length > 1) {
    warnings.push(`filters.workflow_id: subscribed as ${workflowId}, so only its events come; ${listed.filter((id) => id !== workflowId).join(', ')} left out (subscribe without a workflow id to hear them all)`);
  }
  return { ...filters, workflow_id: [workflowId] };
}

/**
 * Event keys have at least three segments (`workflow.wf_1.task_completed`,
 * `TASK_COMPLETED.wf_1.build`), so a pattern of two without `#` would match
 * nothing. The spec writes them so (`*.task_completed`: any source's
 * task_completed), which is the topic without its scope: taken as
 * `*.*.task_completed`, and said. One segment without `#` is only warned of.
 */
function keyPatterns(patterns: string[], warnings: string[]): string[] {
  return patterns.map((pattern) => {
    const parts = pattern.split('.');
    if (parts.includes('#') || parts.length >= 3) return pattern;
    if (parts.length === 2) {
      warnings.push(`pattern "${pattern}": event keys have three segments (<scope>.<id>.<name>, e.g. workflow.wf_1.task_completed), so it is taken as "*.${pattern}"`);
      return `*.${pattern}`;
    }
    warnings.push(`pattern "${pattern}" matches no event: keys have three segments (e.g. "TASK_FAILED.#" or "workflow.*.failed"); kept as given`);
    return pattern;
  });
}

/** What troupe did with the spec's tuning parameters, said plainly. */
function tuningNotes(params: SubscribeParams, warnings: string[]): void {
  if (params.enable_smart_filtering !== undefined) {
    warnings.push(
      `enable_smart_filtering: ${params.enable_smart_filtering}: troupe's filtering is the same either way: the patterns are indexed in a segment trie and the filters applied before an event is queued, so only matching events reach the subscriber; nothing is learned or predicted`,
    );
  }
  if (params.optimization_goal !== undefined) {
    warnings.push(`optimization_goal "${params.optimization_goal}": kept on the subscription (optimize-subscriptions reads it); delivery stays ${params.delivery} as asked`);
  }
}

async function checkedCwd(cwd: string | undefined): Promise<string | undefined> {
  if (cwd === undefined) return undefined;
  const absolute = resolve(cwd);
  const found = await stat(absolute).catch(() => null);
  if (!found?.isDirectory()) throw invalid(`target.cwd ${absolute} is not a directory`, 'Give an existing directory (a relative one is taken from where troupe runs)');
  return absolute;
}

export const subscriptionHandlers: Record<string, Handler> = {
  async 'subscribe-event'(hub, workflowId, params: SubscribeParams, _raw, session) {
    const warnings: string[] = [];
    const name = nameOf(params);
    const target = params.target;
    if (params.delivery === 'webhook' && target?.type !== 'webhook') {
      throw invalid('delivery "webhook" needs a webhook target', 'Add "target":{"type":"webhook","url":"http://host:port/path"} (and a callback name)');
    }
    if (target && name === undefined) {
      throw invalid('A subscription with a target needs a name', 'It outlives this session, so it needs a name to update or end it later: add "callback":"my_subscriber"');
    }
    // the spec's callback names the receiver: a component registered under that name (hello) gets the events on its connection
    let receiver = session;
    const component = target || name === undefined ? undefined : hub.components.holder(name);
    if (component) {
      receiver = component;
      if (component !== session) warnings.push(`callback ${name}: the component registered as ${name} receives the events on its connection`);
    }
    if (!target && !receiver?.onEvent && !receiver?.onBatch) {
      if (name === undefined) {
        throw new TroupeError('VALIDATION_FAILED', 'subscribe-event needs a live session to deliver to', {
          details: 'Subscribe from the REPL, `troupe attach` or a control-socket connection, or give a target (exec or webhook) and a callback name; in-process code uses hub.subscribe()',
        });
      }
      receiver = AWAITING_RECEIVER;
      warnings.push(
        `callback ${name}: nothing receives it yet (no connection sent this command, no component is registered as ${name}, no target): matching events wait in its queue (max_queue ${params.max_queue}, then ${params.overflow}) until a session subscribes as ${name} (they are carried over to it) or it is unsubscribed`,
      );
    }
    const filters = scopeOf(workflowId, params.filters, warnings);
    tuningNotes(params, warnings);
    const spec: SubscriptionSpec = {
      ...(name === undefined ? {} : { name }),
      patterns: keyPatterns(params.patterns, warnings),
      filters,
      policy: {
        maxRetries: params.retry_policy.max_retries,
        backoffBaseMs: params.retry_policy.backoff_base,
        backoffStrategy: params.retry_policy.backoff_strategy,
        maxQueue: params.max_queue,
        overflow: params.overflow,
        delivery: params.delivery === 'batch' ? 'batch' : 'realtime',
      },
      ...(target ? { target: targetFrom(target, target.type === 'exec' ? await checkedCwd(target.cwd) : undefined) } : {}),
      ...(params.optimization_goal === undefined ? {} : { optimizationGoal: params.optimization_goal }),
    };
    const added = hub.subscriptions.add(receiver, spec);
    try {
      await hub.subscriptions.persisted();
    } catch (error) {
      hub.subscriptions.remove(added.id);
      throw new TroupeError('STORAGE_FAILED', `Could not store subscription ${name}: ${error instanceof Error ? error.message : String(error)}`, {
        details: 'Nothing was subscribed; check the data directory (space, permissions) and subscribe again',
      });
    }
    if (target && !added.durable) warnings.push('target: this hub has no data directory, so the subscription lasts as long as this process (it is not stored)');
    if (added.replaced) {
      warnings.push(
        `callback ${name}: replaced the subscription of that name (same id ${added.id}${added.replaced.durable && added.durable ? ', same position in the event log' : ''}; ${added.replaced.carried_over} waiting event(s) carried over)` +
          (added.replaced.durable && !added.durable ? '; its stored copy is removed, as this one has no target' : ''),
      );
    }
    const view = hub.subscriptions.view(added.id)!;
    return {
      result: { ...view, scope: workflowId ?? 'all workflows' },
      next_steps: [
        target ? `Matching events go to the ${target.type} target${added.durable ? ', also after a restart' : ''}; failures are retried, then listed by 'dead-letters'` : 'Matching events are printed as they happen',
        `Stop with 'unsubscribe-event {"${name === undefined ? 'subscription_id' : 'callback'}":"${name ?? added.id}"}'`,
      ],
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  },

  async 'unsubscribe-event'(hub, _id, params: z.output<(typeof subscriptionParams)['unsubscribe-event']>) {
    const wanted = (params.subscription_id ?? params.callback ?? params.name)!;
    const removed = hub.subscriptions.remove(wanted);
    if (!removed) {
      throw new TroupeError('SUBSCRIPTION_NOT_FOUND', `No subscription ${wanted}`, { details: `Subscriptions: ${hub.subscriptions.list().map((s) => s.name ?? s.subscription_id).join(', ') || 'none'}` });
    }
    await hub.subscriptions.persisted();
    return { result: { subscription_id: removed.id, ...(wanted === removed.id ? {} : { name: wanted }), unsubscribed: true, durable: removed.durable }, next_steps: [] };
  },
};
