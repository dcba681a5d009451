import { randomUUID } from 'node:crypto';
import type { Clock } from '../../actors/clock.js';
import { BatchingRules, DEFAULT_BATCHING, type BatchingConfig } from './event-batching.js';
import { DeadLetterStore, type DeadLetter } from './dead-letters.js';
import { deadLetter, redriveLetters, type Redriven } from './dead-letter-routing.js';
import { TroupeError } from '../errors.js';
import type { EventDraft, EventRecord } from './event-record.js';
import { routingSegments, topicSegments } from './event-keys.js';
import { Fifo } from './fifo.js';
import { PatternTrie } from './pattern-trie.js';
import { AsyncProcessing } from './async-processing.js';
import { SubscriberQueue, type Session } from './subscriber-queue.js';
import { targetSession } from './subscription-targets.js';
import { describeSubscription, passesFilters, specMatcher, type SubscriptionSpec } from './subscription-spec.js';

export type { DeadLetter } from './dead-letters.js';
export { DEFAULT_DELIVERY, type DeliveryPolicy, type Session } from './subscriber-queue.js';
export type { SubscriptionFilters, SubscriptionSpec } from './subscription-spec.js';
export type { Added, StoredSubscription, Subscription, SubscriptionStore } from './subscription-model.js';
import type { Added, StoredSubscription, Subscription, SubscriptionStore } from './subscription-model.js';


const segments = (pattern: string) => pattern.toLowerCase().split('.');
const NO_ONE: string[] = Object.freeze([]) as unknown as string[];

/** Sorts matches in creation order and drops repeats (a subscription both key forms, or two of its patterns, reached). */
function inCreationOrder(matches: Subscription[]): void {
  // the usual case: one subscription reached through both key forms
  if (matches.length === 2 && matches[0] === matches[1]) {
    matches.length = 1;
    return;
  }
  matches.sort((a, b) => a.order - b.order);
  let kept = 1;
  for (let i = 1; i < matches.length; i++) if (matches[i] !== matches[kept - 1]) matches[kept++] = matches[i]!;
  matches.length = kept;
}

/**
 * Live subscriptions by pattern (indexed in a segment trie) and filter.
 * Each subscriber has its own bounded queue ({@link SubscriberQueue}), so one
 * slow or failing subscriber never stalls the others or the publisher. An
 * event a subscriber could not take goes to the dead-letter list (and an
 * EVENT_DEAD_LETTERED event is published), from where `redrive` delivers it
 * again. The batching configuration (`configure-batching`) is the hub's,
 * applied by every `delivery: batch` subscription.
 *
 * A subscription may have a name (unique: subscribing again with it replaces
 * the old one, keeping its id) and a target (exec, webhook) it delivers to
 * instead of the session. With a data directory, one with a target is
 * durable: kept in the store with the seq it has delivered up to, made again
 * at the next start, and handed the logged events after that seq first.
 */
export class Subscriptions {
  readonly #all = new Map<string, Subscription>();
  readonly #index = new PatternTrie<Subscription>();
  readonly #clock: Clock;
  readonly #publish: (draft: EventDraft) => void;
  readonly deadLetterStore = new DeadLetterStore();
  #batching = new BatchingRules(DEFAULT_BATCHING);
  #created = 0;
  #store: SubscriptionStore | null = null;
  #lastSeq: () => number = () => 0;
  #closed = false;
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

  /** From now on subscriptions with a target are durable: kept in `store`; a new one starts after `lastSeq()`. */
  useStore(store: SubscriptionStore, lastSeq: () => number): void {
    this.#store = store;
    this.#lastSeq = lastSeq;
  }

  get durableEnabled(): boolean {
    return this.#store !== null;
  }

  /**
   * Adds a subscription delivering to its target, or else to `session`. A
   * name already taken replaces that subscription: same id, its waiting
   * events that the new one matches carried over, and (both durable) its
   * position. `restored` makes a stored one again, with the events to
   * replay.
   */
  add(session: Session | undefined, spec: SubscriptionSpec, restored?: { id: string; cursor: number; replay: readonly EventRecord[] }): Added {
    const old = spec.name === undefined ? undefined : this.#byName(spec.name);
    const id = restored?.id ?? old?.id ?? `sub_${randomUUID().slice(0, 8)}`;
    const target = spec.target ? targetSession(spec.target, this.#clock, () => this.#compression()) : null;
    const durable = target !== null && this.#store !== null;
    const deliverTo = target ?? session;
    if (!deliverTo) throw new TroupeError('VALIDATION_FAILED', 'A subscription without a target needs a session to deliver to');
    // what the old one still had to deliver: its queue, and the replayed events not yet handed to it
    const carried = old ? [...old.queue.pending(), ...(old.backlog?.slice(0, old.backlog.length) ?? [])] : [];
    if (old) this.#drop(old);
    const subscription: Subscription = {
      id,
      get name() {
        return this.spec.name;
      },
      get patterns() {
        return this.spec.patterns;
      },
      order: this.#created++,
      spec,
      target,
      durable,
      cursor: restored?.cursor ?? (old?.durable && durable ? old.cursor : this.#lastSeq()),
      backlog: null,
      queue: undefined as unknown as SubscriberQueue,
    };
    subscription.queue = new SubscriberQueue(id, deliverTo, spec.policy, {
      clock: this.#clock,
      batching: () => this.#batching,
      processing: this.processing,
      deadLetter: (event, reason, attempts) => this.#deadLetter(id, event, reason, attempts),
      settled: (events) => this.#settled(subscription, events),
      deliveryFailed: () => this.onDeliveryFailure?.(),
    });
    this.#all.set(id, subscription);
    for (const pattern of spec.patterns) this.#index.add(segments(pattern), subscription);
    const matches = specMatcher(id, spec);
    const carriedOver = carried.filter(matches);
    const replay = [...(restored?.replay ?? []).filter(matches), ...carriedOver];
    if (replay.length > 0) {
      subscription.backlog = new Fifo();
      for (const event of replay) subscription.backlog.push(event);
      this.#feed(subscription);
    }
    if (durable || old?.durable) this.#store!.changed();
    return { id, durable, replaced: old ? { durable: old.durable, carried_over: carriedOver.length } : null };
  }

  /** The subscription with this id or name, as `list` shows it; undefined when there is none. */
  view(idOrName: string) {
    const found = this.#all.get(idOrName) ?? this.#byName(idOrName);
    return found && this.#view(found);
  }

  /** Removes a subscription (by id or name) and what waits for it, and its stored copy; its id, or null when there is none. */
  remove(idOrName: string): { id: string; durable: boolean } | null {
    const subscription = this.#all.get(idOrName) ?? this.#byName(idOrName);
    if (!subscription) return null;
    this.#drop(subscription);
    if (subscription.durable) this.#store!.changed();
    return { id: subscription.id, durable: subscription.durable };
  }

  /** Ends every subscription of a session (its connection closed); those with a target live on. */
  endSession(session: Session): void {
    for (const s of [...this.#all.values()]) if (s.queue.session === session) this.remove(s.id);
  }

  list(session?: Session) {
    return [...this.#all.values()].filter((s) => !session || s.queue.session === session).map((s) => this.#view(s));
  }

  /**
   * The durable subscriptions as the store keeps them. One with nothing
   * waiting has done with every event so far, matched or not: its position
   * moves to the log's end, so one that rarely matches never holds old log
   * segments back from retention.
   */
  stored(): StoredSubscription[] {
    const durable = [...this.#all.values()].filter((s) => s.durable);
    // not once closed: close empties the queues, and what they held is still to deliver
    if (!this.#closed) for (const s of durable) if (s.queue.waiting === 0 && !s.backlog) s.cursor = Math.max(s.cursor, this.#lastSeq());
    return durable.map(({ id, spec, cursor }) => ({ id, spec, cursor }));
  }

  /** Resolves once every durable change so far is on disk (at once without a store). */
  persisted(): Promise<void> {
    return this.#store?.flush() ?? Promise.resolve();
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

  /** Delivers dead letters again (see {@link redriveLetters}); `to` is a live subscription's id or name. */
  redrive(ids?: string[], to?: string): Promise<Redriven> {
    return redriveLetters(this.deadLetterStore, (key) => (this.#all.get(key) ?? this.#byName(key))?.queue, () => [...this.#all.keys()], ids, to);
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
    // most events go to one subscription: its one-name list is made once and shared (records never write to it)
    if (to.length === 1) return (to[0]!.alone ??= Object.freeze([to[0]!.name ?? to[0]!.id]) as string[]);
    const names = new Array<string>(to.length);
    for (let i = 0; i < to.length; i++) names[i] = to[i]!.name ?? to[i]!.id;
    return names;
  }

  deliver(event: EventRecord): void {
    if (this.#all.size === 0) return;
    const to = this.#routed?.event === event ? this.#routed.to : this.#match(event);
    this.#routed = null;
    for (const s of to) {
      // routed to one a command has since replaced or removed: not delivered
      if (this.#all.get(s.id) !== s) continue;
      // a replay still under way goes first: live events wait behind it, in order
      if (s.backlog) s.backlog.push(event);
      else s.queue.push(event);
    }
  }

  /** The subscriptions whose pattern and filters take the event, in creation order. */
  #match(event: EventRecord): Subscription[] {
    // one walk of the index per key form: the routing key and the topic
    const to: Subscription[] = [];
    this.#index.collect(routingSegments(event), to);
    this.#index.collect(topicSegments(event), to);
    if (to.length > 1) inCreationOrder(to);
    let kept = 0;
    for (const s of to) {
      if (!passesFilters(s.spec.filters, event)) continue;
      // a subscriber never hears of its own dead letters: that could loop forever
      if (event.event_type === 'EVENT_DEAD_LETTERED' && event.data.subscription_id === s.id) continue;
      to[kept++] = s;
    }
    if (kept < to.length) to.length = kept;
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

  /** Replaces a subscription's patterns (optimize-subscriptions); what waits in its queue stays, and a durable one is stored again. */
  replacePatterns(id: string, patterns: string[]): void {
    const subscription = this.#all.get(id);
    // a subscription without patterns could neither match nor be stored: it keeps what it had
    if (!subscription || patterns.length === 0) return;
    for (const pattern of subscription.patterns) this.#index.remove(segments(pattern), subscription);
    subscription.spec = { ...subscription.spec, patterns };
    for (const pattern of patterns) this.#index.add(segments(pattern), subscription);
    if (subscription.durable) this.#store!.changed();
  }

  /** Events done with: the position moves on (never back: a redriven event is older), and a replay refills the queue. */
  #settled(s: Subscription, events: readonly EventRecord[]): void {
    let last = events.reduce((max, e) => Math.max(max, e.seq), 0);
    // a backed-up queue may deliver a later, more urgent event first (enable-async-processing): the
    // position never passes an event still waiting, or a restart would replay after it and lose it
    if (s.durable) for (const waiting of s.queue.pending()) last = Math.min(last, waiting.seq - 1);
    if (last > s.cursor) {
      s.cursor = last;
      // after close only the shutdown's last write takes it (a write must not race the journal's closing)
      if (s.durable && !this.#closed && this.#all.get(s.id) === s) this.#store!.changed();
    }
    if (s.backlog) this.#feed(s);
  }

  /** Hands the queue replayed events while it has room, so a long replay never overflows it. */
  #feed(s: Subscription): void {
    const backlog = s.backlog!;
    while (backlog.length > 0 && s.queue.waiting < s.spec.policy.maxQueue) s.queue.push(backlog.shift()!, false);
    if (backlog.length === 0) s.backlog = null;
  }

  #byName(name: string): Subscription | undefined {
    for (const s of this.#all.values()) if (s.spec.name === name) return s;
    return undefined;
  }

  #drop(s: Subscription): void {
    for (const pattern of s.spec.patterns) this.#index.remove(segments(pattern), s);
    s.queue.close();
    s.target?.close();
    this.#all.delete(s.id);
  }

  /** Batch bodies to webhooks are gzip-encoded when the batching configuration has compression on. */
  #compression(): boolean {
    return this.#batching.config.compression === true;
  }

  #view(s: Subscription) {
    return describeSubscription(s.id, s.spec, s.queue, s.durable ? s.cursor : null, s.backlog?.length ?? 0);
  }


  #deadLetter(subscriptionId: string, event: EventRecord, reason: string, attempts: number): void {
    deadLetter(this.deadLetterStore, this.#clock.now(), this.#publish, { subscriptionId, event, reason, attempts });
    this.onDeadLetter?.();
  }

  /** Cancels pending retries and batch timeouts (shutdown). */
  close(): void {
    this.#closed = true;
    for (const s of this.#all.values()) {
      s.queue.close();
      s.target?.close();
    }
  }
}
