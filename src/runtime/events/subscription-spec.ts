import { compilePattern } from './event-pattern.js';
import type { EventRecord, Severity } from './event-record.js';
import type { DeliveryPolicy, SubscriberQueue } from './subscriber-queue.js';
import { describeTarget, type DeliveryTarget } from './subscription-targets.js';

export interface SubscriptionFilters {
  severity?: Severity[];
  /** the workflows whose events it gets; `<id> subscribe-event` sets it to [id] */
  workflow_id?: string[];
  event_type?: string[];
}

/** What a subscription is: everything a restart needs to make it again. */
export interface SubscriptionSpec {
  /** the spec's `callback` (subscriber id): unique, so subscribing again with it replaces, and unsubscribe or optimize-subscriptions can name it */
  name?: string;
  patterns: string[];
  filters: SubscriptionFilters;
  policy: DeliveryPolicy;
  /** where it delivers instead of the session that made it */
  target?: DeliveryTarget;
  /** the spec's optimization_goal, kept as given (optimize-subscriptions reads it) */
  optimizationGoal?: string;
}

/** True when the event passes the subscription's filters (its patterns are matched by the index). */
export function passesFilters(filters: SubscriptionFilters, event: EventRecord): boolean {
  if (filters.severity && !filters.severity.includes(event.severity)) return false;
  if (filters.workflow_id && !filters.workflow_id.includes(event.workflow_id)) return false;
  if (filters.event_type && !filters.event_type.includes(event.event_type)) return false;
  return true;
}

/**
 * Patterns and filters without the index, for a replay from the log or the
 * events carried over to a replacement. Never the subscription's own dead
 * letter notices (as live delivery: that could loop).
 */
export function specMatcher(id: string, spec: SubscriptionSpec): (event: EventRecord) => boolean {
  const patterns = spec.patterns.map(compilePattern);
  return (event) =>
    passesFilters(spec.filters, event) &&
    patterns.some((matches) => matches(event)) &&
    !(event.event_type === 'EVENT_DEAD_LETTERED' && event.data.subscription_id === id);
}

/** A subscription as `subscribe-event`, `health` and optimize-subscriptions show it; `cursor` is null unless durable. */
export function describeSubscription(id: string, spec: SubscriptionSpec, queue: SubscriberQueue, cursor: number | null, backlog: number) {
  return {
    subscription_id: id,
    ...(spec.name === undefined ? {} : { name: spec.name }),
    patterns: spec.patterns,
    filters: spec.filters,
    delivery: queue.policy.delivery,
    ...(spec.target ? { target: describeTarget(spec.target) } : {}),
    durable: cursor !== null,
    // the seq it has delivered up to (stored): a restart hands it the logged events after this one
    ...(cursor === null ? {} : { delivered_seq: cursor }),
    ...(spec.optimizationGoal === undefined ? {} : { optimization_goal: spec.optimizationGoal }),
    queued: queue.waiting + backlog,
    max_queue: queue.policy.maxQueue,
    overflow: queue.policy.overflow,
    dropped: queue.dropped,
    delivered: queue.delivered,
    failed_deliveries: queue.failed,
    delivery_ms: Math.round(queue.deliveryMs * 10) / 10,
    ...(queue.policy.delivery === 'batch' ? { batch_size: queue.batchSize, deduplicated: queue.deduplicated, collecting: queue.collecting } : {}),
  };
}
