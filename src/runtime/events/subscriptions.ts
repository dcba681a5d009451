import { randomUUID } from 'node:crypto';
import type { Clock } from '../../actors/clock.js';
import { BatchingRules, DEFAULT_BATCHING, type BatchingConfig } from './event-batching.js';
import { DeadLetterStore, type DeadLetter } from './dead-letters.js';
import { TroupeError } from '../errors.js';
import { topicOf, type EventDraft, type EventRecord, type Severity } from './event-record.js';
import { PatternTrie } from './pattern-trie.js';
import { AsyncProcessing } from './async-processing.js';
import { DEFAULT_DELIVERY, SubscriberQueue, type DeliveryPolicy, type Session } from './subscriber-queue.js';

export type { DeadLetter } from './dead-letters.js';
export { DEFAULT_DELIVERY, type DeliveryPolicy, type Session } from './subscriber-queue.js';

export interface SubscriptionFilters {
  severity?: Severity[];
  workflow_id?: string;
  event_type?: string[];
}

export interface Subscription {
  id: string;
  /** the name a subscriber goes by (the spec's `callback`), when it has one */
  name?: string;
  /** creation order: delivery follows it */
  order: number;
  patterns: string[];
  filters: SubscriptionFilters;
  queue: SubscriberQueue;
}

const segments = (pattern: string) => pattern.toLowerCase().split('.');
const NO_ONE: string[] = Object.freeze([]) as unknown as string[];

/**
 * Live subscriptions by pattern (indexed in a segment trie) and filter.
 * Each subscriber has its own bounded queue ({@link SubscriberQueue}), so one
 * slow or failing subscriber never stalls the others or the publisher. An
 * event a subscriber could not take goes to the dead-letter list (and an
 * EVENT_DEAD_LETTERED event is published), from where `redrive` delivers it
 * again. The batching configuration (`configure-batching`) is the hub's,
 * applied by every `delivery: batch` subscription.
 */
export class Subscriptions {
  readonly #all = new Map<string, Subscription>();
  readonly #index = new PatternTrie<Subscription>();
  readonly #clock: Clock;
  readonly #publish: (draft: EventDraft) => void;
  readonly deadLetterStore = new DeadLetterStore();
  #batching = new BatchingRules(DEFAULT_BATCHING);
  #created = 0;
  /** told of every failed delivery attempt and every dead letter (the hub's health counts them over its window) */
  onDeliveryFailure: (() => void) | null = null;
  onDeadLetter: (() => void) | null = null;
  /** the last event routed and where it goes: publish routes it (naming its subscribers), then delivers it */
  #routed: { event: EventRecord; to: Subscription[] } | null = null;
  /** `publish-event {"enable_batching"}`: the next event routed is batched (true) or not (false) whatever configure-batching covers */
  #batchNext: boolean | null = null;
  /** enable-async-processing: the order a backed-up queue delivers in, and how many deliveries may be under way */
  readonly processing = new AsyncProcessing();

  constructor(clock: Clock, publish: (draft: EventDraft) => void) {
    this.#clock = clock;
    this.#publish = publish;
  }

  add(session: Session, patterns: string[], filters: SubscriptionFilters, policy: Partial<DeliveryPolicy> = {}): string {
    const id = `sub_${randomUUID().slice(0, 8)}`;
    const queue = new SubscriberQueue(id, session, { ...DEFAULT_DELIVERY, ...policy }, {
      clock: this.#clock,
      batching: () => this.#batching,
      processing: this.processing,
      deadLetter: (event, reason, attempts) => this.#deadLetter(id, event, reason, attempts),
      deliveryFailed: () => this.onDeliveryFailure?.(),
    });
    const subscription: Subscription = { id, order: this.#created++, patterns, filters, queue };
    this.#all.set(id, subscription);
    for (const pattern of patterns) this.#index.add(segments(pattern), subscription);
    return id;
  }

  /** Removes a subscription and what waits for it; false when there is none with that id. */
  remove(id: string): boolean {
    const subscription = this.#all.get(id);
    if (!subscription) return false;
    for (const pattern of subscription.patterns) this.#index.remove(segments(pattern), subscription);
    subscription.queue.close();
    return this.#all.delete(id);
  }

  /** Ends every subscription of a session (its connection closed). */
  endSession(session: Session): void {
    for (const [id, s] of this.#all) if (s.queue.session === session) this.remove(id);
  }

  list(session?: Session) {
    return [...this.#all.values()]
      .filter((s) => !session || s.queue.session === session)
      .map(({ id, patterns, filters, queue }) => ({
        subscription_id: id,
        patterns,
        filters,
        delivery: queue.policy.delivery,
        queued: queue.waiting,
        max_queue: queue.policy.maxQueue,
        overflow: queue.policy.overflow,
        dropped: queue.dropped,
        delivered: queue.delivered,
        failed_deliveries: queue.failed,
        delivery_ms: Math.round(queue.deliveryMs * 10) / 10,
        ...(queue.policy.delivery === 'batch' ? { batch_size: queue.batchSize, deduplicated: queue.deduplicated, collecting: queue.collecting } : {}),
      }));
  }

  /** The batching configuration in effect. */
  get batching(): BatchingConfig {
    return this.#batching.config;
  }

  /** Replaces the batching configuration; batches collecting now are looked at again under it. */
  configureBatching(config: BatchingConfig): void {
    this.#batching = new BatchingRules(config);
    for (const s of this.#all.values()) s.queue.rebatch();
  }

  deadLetters(subscriptionId?: string): DeadLetter[] {
    return this.deadLetterStore.list(subscriptionId);
  }

  /**
   * Delivers dead letters again: to the live subscription `to`, or to each
   * letter's own subscription while it lives (subscriptions end with their
   * session, so after a restart only `to` can take them). Resolves, with what
   * was redriven and what was not, once their removal is durable: a crash
   * before that lists them again (delivered at least once, never lost).
   */
  async redrive(ids?: string[], to?: string): Promise<{ redriven: string[]; skipped: { dead_letter_id: string; reason: string }[] }> {
    const target = to === undefined ? undefined : this.#all.get(to);
    if (to !== undefined && !target) {
      throw new TroupeError('VALIDATION_FAILED', `No live subscription ${to} to redrive to`, {
        details: `Live subscriptions: ${[...this.#all.keys()].join(', ') || 'none'}; subscribe first with 'subscribe-event'`,
      });
    }
    const chosen = this.deadLetterStore.find(ids);
    const redriven: { letter: DeadLetter; queue: SubscriberQueue }[] = [];
    const skipped: { dead_letter_id: string; reason: string }[] = [];
    for (const letter of chosen) {
      const queue = (target ?? this.#all.get(letter.subscription_id))?.queue;
      if (queue) redriven.push({ letter, queue });
      else skipped.push({ dead_letter_id: letter.dead_letter_id, reason: `subscription ${letter.subscription_id} has ended: redrive to a live one with to_subscription_id` });
    }
    const removed = this.deadLetterStore.remove(redriven.map((r) => r.letter), 'redriven');
    for (const { letter, queue } of redriven) queue.push(letter.event, false);
    for (const id of ids ?? []) {
      if (!chosen.some((d) => d.dead_letter_id === id)) skipped.push({ dead_letter_id: id, reason: 'no such dead letter' });
    }
    await removed;
    return { redriven: redriven.map((r) => r.letter.dead_letter_id), skipped };
  }

  /**
   * Where an event goes: the subscriptions whose pattern and filters take it,
   * in creation order; returns their names (ids when unnamed) for the record.
   * Called by the bus before the event is logged; `deliver` then uses it.
   */
  route(event: EventRecord): string[] {
    const batch = this.#batchNext;
    this.#batchNext = null;
    if (batch !== null) this.#batching.decide(event, batch);
    if (this.#all.size === 0) return NO_ONE;
    const to = this.#match(event);
    this.#routed = { event, to };
    if (to.length === 0) return NO_ONE;
    const names = new Array<string>(to.length);
    for (let i = 0; i < to.length; i++) names[i] = to[i]!.name ?? to[i]!.id;
    return names;
  }

  deliver(event: EventRecord): void {
    if (this.#all.size === 0) return;
    const to = this.#routed?.event === event ? this.#routed.to : this.#match(event);
    this.#routed = null;
    for (const s of to) if (this.#all.has(s.id)) s.queue.push(event);
  }

  /** The subscriptions whose pattern and filters take the event, in creation order. */
  #match(event: EventRecord): Subscription[] {
    // one walk of the index per key form: the routing key and the topic
    const matched = this.#index.match(segments(topicOf(event)), this.#index.match(segments(event.routing_key)));
    const ordered = matched.size > 1 ? [...matched].sort((a, b) => a.order - b.order) : matched;
    const to: Subscription[] = [];
    for (const s of ordered) {
      const { severity, workflow_id: workflowId, event_type: types } = s.filters;
      if (severity && !severity.includes(event.severity)) continue;
      if (workflowId && event.workflow_id !== workflowId) continue;
      if (types && !types.includes(event.event_type)) continue;
      // a subscriber never hears of its own dead letters: that could loop forever
      if (event.event_type === 'EVENT_DEAD_LETTERED' && event.data.subscription_id === s.id) continue;
      to.push(s);
    }
    return to;
  }

  /** The next event published is delivered in batches to batch subscriptions (`batched`), or on its own, whatever configure-batching covers. */
  batchNextEvent(batched: boolean): void {
    this.#batchNext = batched;
  }

  /** The subscriptions whose id or name is `key`; all of them without one. */
  find(key?: string): Subscription[] {
    return [...this.#all.values()].filter((s) => key === undefined || s.id === key || s.name === key);
  }

  /** Replaces a subscription's patterns (optimize-subscriptions); what waits in its queue stays. */
  replacePatterns(id: string, patterns: string[]): void {
    const subscription = this.#all.get(id);
    if (!subscription) return;
    for (const pattern of subscription.patterns) this.#index.remove(segments(pattern), subscription);
    subscription.patterns = patterns;
    for (const pattern of patterns) this.#index.add(segments(pattern), subscription);
  }

  #deadLetter(subscriptionId: string, event: EventRecord, reason: string, attempts: number): void {
    const letter: DeadLetter = {
      dead_letter_id: `dl_${randomUUID().slice(0, 8)}`,
      subscription_id: subscriptionId,
      event,
      reason,
      attempts,
      dead_lettered_at: new Date(this.#clock.now()).toISOString(),
    };
    this.deadLetterStore.add(letter);
    this.onDeadLetter?.();
    // a notice of another subscriber's dead letter is kept, not announced: with two full queues
    // each announcement would dead-letter at the other and announce again, without end
    if (event.event_type === 'EVENT_DEAD_LETTERED') return;
    this.#publish({
      type: 'EVENT_DEAD_LETTERED',
      workflowId: event.workflow_id,
      phase: event.phase,
      data: { original_event_id: event.event_id, subscription_id: subscriptionId, reason, attempts, dead_letter_id: letter.dead_letter_id, event_type: event.event_type },
      causationId: event.event_id,
      correlationId: event.correlation_id,
    });
  }

  /** Cancels pending retries and batch timeouts (shutdown). */
  close(): void {
    for (const s of this.#all.values()) s.queue.close();
  }
}
