import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../actors/clock.js';
import { topicOf, type EventDraft, type EventRecord, type Severity } from './event-record.js';
import { PatternTrie } from './pattern-trie.js';

/**
 * Who a command comes from: the REPL, a socket connection, or code in this
 * process. Live subscriptions deliver to it and end with it. A delivery that
 * throws or rejects is retried.
 */
export interface Session {
  /** receives the events of this session's subscriptions */
  onEvent?(subscriptionId: string, event: EventRecord): void | Promise<void>;
}

export interface SubscriptionFilters {
  severity?: Severity[];
  workflow_id?: string;
  event_type?: string[];
}

/** How a subscription copes with a failing or slow subscriber. */
export interface DeliveryPolicy {
  /** retries of a failed delivery before the event is dead-lettered */
  maxRetries: number;
  /** first retry delay, doubling per retry, ms */
  backoffBaseMs: number;
  /** events waiting for this subscriber at most */
  maxQueue: number;
  /** when the queue is full: drop the oldest waiting event, or dead-letter the new one */
  overflow: 'drop_oldest' | 'dead_letter';
}

export const DEFAULT_DELIVERY: DeliveryPolicy = { maxRetries: 3, backoffBaseMs: 1_000, maxQueue: 1_000, overflow: 'dead_letter' };

/** An event a subscriber could not take. */
export interface DeadLetter {
  dead_letter_id: string;
  subscription_id: string;
  event: EventRecord;
  reason: string;
  attempts: number;
  /** ISO time */
  dead_lettered_at: string;
}

interface Subscription {
  id: string;
  /** creation order: delivery follows it */
  order: number;
  patterns: string[];
  filters: SubscriptionFilters;
  session: Session;
  policy: DeliveryPolicy;
  /** events waiting, oldest first; the head is being delivered */
  queue: EventRecord[];
  /** failed attempts of the head */
  failures: number;
  retry: TimerHandle | null;
  delivering: boolean;
  dropped: number;
}

const segments = (pattern: string) => pattern.toLowerCase().split('.');
const DEAD_LETTERS_KEPT = 10_000;

/**
 * Live subscriptions by pattern (indexed in a segment trie) and filter.
 * Each subscriber has its own bounded queue, so one slow or failing
 * subscriber never stalls the others or the publisher: delivery is in
 * publish order per subscriber; a delivery that throws or rejects is retried
 * with exponential backoff on the injected clock; after `maxRetries` the
 * event goes to the dead-letter list (and an EVENT_DEAD_LETTERED event is
 * published), from where `redrive` delivers it again.
 */
export class Subscriptions {
  readonly #all = new Map<string, Subscription>();
  readonly #index = new PatternTrie<Subscription>();
  readonly #clock: Clock;
  readonly #publish: (draft: EventDraft) => void;
  #deadLetters: DeadLetter[] = [];
  #created = 0;

  constructor(clock: Clock, publish: (draft: EventDraft) => void) {
    this.#clock = clock;
    this.#publish = publish;
  }

  add(session: Session, patterns: string[], filters: SubscriptionFilters, policy: Partial<DeliveryPolicy> = {}): string {
    const id = `sub_${randomUUID().slice(0, 8)}`;
    const subscription: Subscription = {
      id,
      order: this.#created++,
      patterns,
      filters,
      session,
      policy: { ...DEFAULT_DELIVERY, ...policy },
      queue: [],
      failures: 0,
      retry: null,
      delivering: false,
      dropped: 0,
    };
    this.#all.set(id, subscription);
    for (const pattern of patterns) this.#index.add(segments(pattern), subscription);
    return id;
  }

  /** Removes a subscription and what waits for it; false when there is none with that id. */
  remove(id: string): boolean {
    const subscription = this.#all.get(id);
    if (!subscription) return false;
    for (const pattern of subscription.patterns) this.#index.remove(segments(pattern), subscription);
    subscription.retry?.cancel();
    subscription.queue = [];
    return this.#all.delete(id);
  }

  /** Ends every subscription of a session (its connection closed). */
  endSession(session: Session): void {
    for (const [id, s] of this.#all) if (s.session === session) this.remove(id);
  }

  list(session?: Session) {
    return [...this.#all.values()]
      .filter((s) => !session || s.session === session)
      .map((s) => ({ subscription_id: s.id, patterns: s.patterns, filters: s.filters, queued: s.queue.length, dropped: s.dropped }));
  }

  deadLetters(subscriptionId?: string): DeadLetter[] {
    return this.#deadLetters.filter((d) => subscriptionId === undefined || d.subscription_id === subscriptionId);
  }

  /** Delivers dead letters again to their (live) subscriptions; returns what was redriven and what was not. */
  redrive(ids?: string[]): { redriven: string[]; skipped: { dead_letter_id: string; reason: string }[] } {
    const chosen = this.#deadLetters.filter((d) => ids === undefined || ids.includes(d.dead_letter_id));
    const redriven: string[] = [];
    const skipped: { dead_letter_id: string; reason: string }[] = [];
    for (const letter of chosen) {
      const subscription = this.#all.get(letter.subscription_id);
      if (!subscription) {
        skipped.push({ dead_letter_id: letter.dead_letter_id, reason: `subscription ${letter.subscription_id} has ended` });
        continue;
      }
      this.#deadLetters = this.#deadLetters.filter((d) => d !== letter);
      this.#enqueue(subscription, letter.event);
      redriven.push(letter.dead_letter_id);
    }
    for (const id of ids ?? []) {
      if (!chosen.some((d) => d.dead_letter_id === id)) skipped.push({ dead_letter_id: id, reason: 'no such dead letter' });
    }
    return { redriven, skipped };
  }

  deliver(event: EventRecord): void {
    if (this.#all.size === 0) return;
    // one walk of the index per key form: the routing key and the topic
    const matched = this.#index.match(segments(topicOf(event)), this.#index.match(segments(event.routing_key)));
    const ordered = matched.size > 1 ? [...matched].sort((a, b) => a.order - b.order) : matched;
    for (const s of ordered) {
      const { severity, workflow_id: workflowId, event_type: types } = s.filters;
      if (severity && !severity.includes(event.severity)) continue;
      if (workflowId && event.workflow_id !== workflowId) continue;
      if (types && !types.includes(event.event_type)) continue;
      // a subscriber never hears of its own dead letters: that could loop forever
      if (event.event_type === 'EVENT_DEAD_LETTERED' && event.data.subscription_id === s.id) continue;
      this.#enqueue(s, event);
    }
  }

  #enqueue(s: Subscription, event: EventRecord): void {
    if (s.queue.length >= s.policy.maxQueue) {
      if (s.policy.overflow === 'drop_oldest') {
        // the head may be mid-delivery: drop the oldest of those still waiting behind it
        s.queue.splice(s.queue.length > 1 ? 1 : 0, 1);
        s.dropped++;
      } else {
        this.#deadLetter(s, event, `the subscriber's queue is full (${s.policy.maxQueue})`, 0);
        return;
      }
    }
    s.queue.push(event);
    if (!s.delivering && !s.retry) this.#drain(s);
  }

  /** Delivers the queue in order; a failure stops it until its retry time. */
  #drain(s: Subscription): void {
    s.delivering = true;
    while (s.queue.length > 0 && this.#all.get(s.id) === s) {
      const event = s.queue[0]!;
      let result: void | Promise<void>;
      try {
        result = s.session.onEvent?.(s.id, event);
      } catch (error) {
        if (!this.#failed(s, event, error)) break;
        continue;
      }
      if (result instanceof Promise) {
        // an async subscriber: the next event waits for this one
        result.then(
          () => this.#succeeded(s, event, true),
          (error: unknown) => {
            s.delivering = false;
            if (this.#failed(s, event, error)) this.#drain(s);
          },
        );
        return;
      }
      this.#succeeded(s, event, false);
    }
    s.delivering = false;
  }

  #succeeded(s: Subscription, event: EventRecord, resume: boolean): void {
    if (s.queue[0] === event) s.queue.shift();
    s.failures = 0;
    if (resume) {
      s.delivering = false;
      this.#drain(s);
    }
  }

  /** Counts a failure of the head; true when the queue may go on at once (the head was dead-lettered). */
  #failed(s: Subscription, event: EventRecord, error: unknown): boolean {
    s.failures++;
    const reason = error instanceof Error ? error.message : String(error);
    if (s.failures > s.policy.maxRetries) {
      if (s.queue[0] === event) s.queue.shift();
      const attempts = s.failures;
      s.failures = 0;
      this.#deadLetter(s, event, reason, attempts);
      return true;
    }
    const delay = s.policy.backoffBaseMs * 2 ** (s.failures - 1);
    s.retry = this.#clock.setTimer(delay, () => {
      s.retry = null;
      if (this.#all.get(s.id) === s && !s.delivering) this.#drain(s);
    });
    return false;
  }

  #deadLetter(s: Subscription, event: EventRecord, reason: string, attempts: number): void {
    const letter: DeadLetter = {
      dead_letter_id: `dl_${randomUUID().slice(0, 8)}`,
      subscription_id: s.id,
      event,
      reason,
      attempts,
      dead_lettered_at: new Date(this.#clock.now()).toISOString(),
    };
    this.#deadLetters.push(letter);
    if (this.#deadLetters.length > DEAD_LETTERS_KEPT) this.#deadLetters.shift();
    this.#publish({
      type: 'EVENT_DEAD_LETTERED',
      workflowId: event.workflow_id,
      phase: event.phase,
      data: { original_event_id: event.event_id, subscription_id: s.id, reason, attempts, dead_letter_id: letter.dead_letter_id, event_type: event.event_type },
    });
  }

  /** Cancels pending retries (shutdown). */
  close(): void {
    for (const s of this.#all.values()) s.retry?.cancel();
  }
}
