import { performance } from 'node:perf_hooks';
import { Fifo } from './fifo.js';
import type { Clock, TimerHandle } from '../../actors/clock.js';
import { adaptBatchSize, SeenIds, type BatchingRules } from './event-batching.js';
import type { EventRecord } from './event-record.js';
import type { AsyncProcessing, PriorityPicker } from './async-processing.js';

/**
 * Who a command comes from: the REPL, a socket connection, or code in this
 * process. Live subscriptions deliver to it and end with it. A delivery that
 * throws or rejects is retried.
 */
export interface Session {
  /** receives the events of this session's subscriptions */
  onEvent?(subscriptionId: string, event: EventRecord): void | Promise<void>;
  /** receives a batch of a `delivery: batch` subscription in one call; without it the batch comes event by event */
  onBatch?(subscriptionId: string, events: EventRecord[]): void | Promise<void>;
  /** nobody receives yet: events wait in the bounded queue (no delivery is attempted) until a receiver takes the subscription over */
  holding?: boolean;
}

/** A target's deliverer (exec, webhook): a session that never ends with a connection; `close` aborts what is in flight. */
export interface TargetSession extends Required<Pick<Session, 'onEvent' | 'onBatch'>> {
  close(): void;
}

/** How a subscription copes with a failing or slow subscriber. */
export interface DeliveryPolicy {
  /** retries of a failed delivery before the event is dead-lettered */
  maxRetries: number;
  /** first retry delay, ms; later ones follow `backoffStrategy` */
  backoffBaseMs: number;
  /** exponential: the delay doubles per retry; linear: base × retry number; fixed: base every time */
  backoffStrategy: BackoffStrategy;
  /** events waiting for this subscriber at most */
  maxQueue: number;
  /** when the queue is full: drop the oldest waiting event, or dead-letter the new one */
  overflow: 'drop_oldest' | 'dead_letter';
  /** `batch`: the events the batching configuration covers come in batches */
  delivery: 'realtime' | 'batch';
}

export type BackoffStrategy = 'exponential' | 'linear' | 'fixed';

export const DEFAULT_DELIVERY: DeliveryPolicy = { maxRetries: 3, backoffBaseMs: 1_000, backoffStrategy: 'exponential', maxQueue: 1_000, overflow: 'dead_letter', delivery: 'realtime' };

/** The wait before retry number `retry` (1-based). */
export function backoffDelay(policy: Pick<DeliveryPolicy, 'backoffBaseMs' | 'backoffStrategy'>, retry: number): number {
  if (policy.backoffStrategy === 'fixed') return policy.backoffBaseMs;
  if (policy.backoffStrategy === 'linear') return policy.backoffBaseMs * retry;
  return policy.backoffBaseMs * 2 ** (retry - 1);
}

/** What a queue needs from its owner. */
export interface QueueContext {
  clock: Clock;
  /** the batching configuration in effect now */
  batching(): BatchingRules;
  /** priority order and delivery slots (enable-async-processing) */
  processing: AsyncProcessing;
  /** takes an event the subscriber could not take */
  deadLetter(event: EventRecord, reason: string, attempts: number): void;
  /** the events of a unit are done with (delivered or dead-lettered), in queue order */
  settled?(events: readonly EventRecord[]): void;
  /** a delivery threw or rejected (it is retried, or dead-lettered): counted by the hub's health */
  deliveryFailed?(): void;
}

/** One delivery: a single event, or a batch of covered events. */
interface Unit {
  events: EventRecord[];
  batched: boolean;
}

/**
 * One subscriber's bounded queue. Delivery is in order, one unit at a time;
 * a unit that throws or rejects is retried with exponential backoff on the
 * injected clock, then dead-lettered event by event.
 *
 * With `delivery: batch` the queue is also where a batch collects: a run of
 * covered events at its head goes out as one delivery once it holds the
 * batch size, once the batching timeout has passed since it started
 * collecting, or at once when an event that is not batched waits behind it
 * (so order is kept).
 */
export class SubscriberQueue {
  readonly id: string;
  readonly session: Session;
  readonly policy: DeliveryPolicy;
  readonly #ctx: QueueContext;
  /** events waiting, oldest first; the first `unit.events.length` are being delivered */
  #queue = new Fifo<EventRecord>();
  /** the delivery under way (or waiting for its retry) */
  #unit: Unit | null = null;
  /** failed attempts of the unit */
  #failures = 0;
  #retry: TimerHandle | null = null;
  #delivering = false;
  #closed = false;
  /** the size of the next batch (moves when adaptive) */
  #batchSize: number;
  /** covered events counted from the head, so a growing batch is not scanned again */
  #scanned = 0;
  #flushTimer: TimerHandle | null = null;
  #flushDue = false;
  readonly #seen = new SeenIds();
  readonly #picker: PriorityPicker;
  /** kicks the queue once a delivery slot frees (one function, so the queue waits for a slot once) */
  readonly #wake = () => this.#kick();
  dropped = 0;
  deduplicated = 0;
  /** deliveries that succeeded, and attempts that failed (a retried one counts each time) */
  delivered = 0;
  failed = 0;
  /** real time the successful deliveries took, ms (a subscriber's own pace, not the hub's clock) */
  deliveryMs = 0;

  constructor(id: string, session: Session, policy: DeliveryPolicy, ctx: QueueContext) {
    this.id = id;
    this.session = session;
    this.policy = policy;
    this.#ctx = ctx;
    this.#batchSize = ctx.batching().initialSize();
    this.#picker = ctx.processing.picker();
  }

  get waiting(): number {
    return this.#queue.length;
  }

  get batchSize(): number {
    return this.#batchSize;
  }

  /** True while a batch collects at the head, waiting for its size or its timeout. */
  get collecting(): boolean {
    return this.#flushTimer !== null;
  }

  /** Queues an event; `fresh` is false for a redriven one, which the dedup window must not swallow. */
  push(event: EventRecord, fresh = true): void {
    const rules = this.#ctx.batching();
    const window = rules.config.dedupWindowMs;
    if (fresh && window > 0 && this.policy.delivery === 'batch' && rules.covers(event) && this.#seen.repeated(event.event_id, this.#ctx.clock.now(), window)) {
      this.deduplicated++;
      return;
    }
    if (this.#queue.length >= this.policy.maxQueue) {
      if (this.policy.overflow === 'dead_letter') {
        this.#ctx.deadLetter(event, `the subscriber's queue is full (${this.policy.maxQueue})`, 0);
        return;
      }
      // drop_oldest: what is mid-delivery stays; drop the oldest of those waiting behind it
      const busy = this.#unit?.events.length ?? 0;
      const at = this.#queue.length > busy ? busy : 0;
      this.#queue.removeAt(at);
      if (at < busy) this.#unit!.events.splice(at, 1);
      this.#scanned = 0;
      this.dropped++;
    }
    this.#queue.push(event);
    this.#kick();
  }

  /** The batching configuration changed: a batch collecting now is looked at again under it. */
  rebatch(): void {
    if (this.policy.delivery !== 'batch') return;
    this.#batchSize = this.#ctx.batching().initialSize();
    this.#scanned = 0;
    this.#flushTimer?.cancel();
    this.#flushTimer = null;
    this.#kick();
  }

  /** The events waiting (the one being delivered first), for a subscription that replaces this one. */
  pending(): EventRecord[] {
    return this.#queue.slice(0, this.#queue.length);
  }

  /** Drops what waits and cancels its timers (unsubscribed, or shutdown). */
  close(): void {
    this.#closed = true;
    this.#retry?.cancel();
    this.#flushTimer?.cancel();
    this.#queue = new Fifo<EventRecord>();
  }

  #kick(): void {
    if (!this.#delivering && !this.#retry && !this.#closed && !this.session.holding && this.#queue.length > 0) this.#drain();
  }

  /**
   * The next delivery: the one under way (a retry), a single event, or the
   * run of covered events at the head when it is ready to go; null while a
   * batch is still collecting (its timeout armed).
   */
  #nextUnit(): Unit | null {
    if (this.#unit) return this.#unit;
    const rules = this.#ctx.batching();
    // a backed-up queue delivers its most urgent waiting event first (enable-async-processing); a collecting batch is not broken up
    if (this.#ctx.processing.config.enabled && this.#scanned === 0 && !this.#flushTimer && this.#queue.length > 1) {
      const urgent = this.#picker.pick(this.#queue.length, (i) => this.#queue.at(i));
      if (urgent > 0) this.#queue.moveToFront(urgent);
    }
    const head = this.#queue.at(0)!;
    if (this.policy.delivery === 'realtime' || !rules.covers(head)) return (this.#unit = { events: [head], batched: false });
    let n = this.#scanned;
    while (n < this.#queue.length && n < this.#batchSize && rules.covers(this.#queue.at(n)!)) n++;
    this.#scanned = n;
    // full, timed out, or an event that is not batched waits behind the run: go now, in order
    if (n === this.#batchSize || n < this.#queue.length || this.#flushDue) {
      this.#flushDue = false;
      this.#flushTimer?.cancel();
      this.#flushTimer = null;
      return (this.#unit = { events: this.#queue.slice(0, n), batched: true });
    }
    this.#flushTimer ??= this.#ctx.clock.setTimer(rules.config.timeoutMs, () => {
      this.#flushTimer = null;
      this.#flushDue = true;
      this.#kick();
    });
    return null;
  }

  /** Delivers the queue in order; a failure stops it until its retry time. */
  #drain(): void {
    this.#delivering = true;
    while (this.#queue.length > 0 && !this.#closed) {
      const unit = this.#nextUnit();
      if (!unit) break;
      // at most processing_pool_size deliveries under way over all queues (unbounded unless enabled)
      if (!this.#ctx.processing.acquire(this.#wake)) break;
      // only a batch's delivery time is used (adaptive size): a realtime event skips the clock read
      const started = unit.batched ? this.#ctx.clock.now() : 0;
      const real = performance.now();
      let result: void | Promise<void>;
      try {
        result = this.#deliver(unit);
      } catch (error) {
        this.#ctx.processing.release();
        if (!this.#failed(unit, error)) break;
        continue;
      }
      if (result instanceof Promise) {
        result.then(
          () => {
            this.#ctx.processing.release();
            this.#succeeded(unit, started, real, true);
          },
          (error: unknown) => {
            this.#ctx.processing.release();
            this.#delivering = false;
            if (this.#failed(unit, error)) this.#kick();
          },
        );
        return;
      }
      this.#ctx.processing.release();
      this.#succeeded(unit, started, real, false);
    }
    this.#delivering = false;
  }

  /** A batch in one call when the session takes batches, else event by event in order. */
  #deliver(unit: Unit): void | Promise<void> {
    const { session, id } = this;
    if (session.onBatch && (unit.batched || !session.onEvent)) return session.onBatch(id, unit.events);
    if (unit.events.length === 1) return session.onEvent?.(id, unit.events[0]!);
    const from = (i: number): void | Promise<void> => {
      for (; i < unit.events.length; i++) {
        const result = session.onEvent?.(id, unit.events[i]!);
        // an async subscriber: the next event waits for this one
        if (result instanceof Promise) return result.then(() => from(i + 1));
      }
    };
    return from(0);
  }

  /** Takes a finished unit off the head of the queue. */
  #settle(unit: Unit): void {
    for (const event of unit.events) if (this.#queue.at(0) === event) this.#queue.shift();
    if (this.#unit === unit) this.#unit = null;
    this.#failures = 0;
    this.#scanned = 0;
    this.#ctx.settled?.(unit.events);
  }

  #succeeded(unit: Unit, started: number, real: number, resume: boolean): void {
    this.delivered++;
    this.deliveryMs += performance.now() - real;
    this.#settle(unit);
    const { batchSize, timeoutMs } = this.#ctx.batching().config;
    if (unit.batched && batchSize === 'adaptive') {
      this.#batchSize = adaptBatchSize(this.#batchSize, { deliveryMs: this.#ctx.clock.now() - started, waiting: this.#queue.length, timeoutMs });
    }
    if (resume) {
      this.#delivering = false;
      this.#kick();
    }
  }

  /** Counts a failure of the unit; true when the queue may go on at once (the unit was dead-lettered). */
  #failed(unit: Unit, error: unknown): boolean {
    // a delivery aborted by close (shutdown): it stays undelivered, and no retry is armed
    if (this.#closed) return false;
    this.#failures++;
    this.failed++;
    this.#ctx.deliveryFailed?.();
    const reason = error instanceof Error ? error.message : String(error);
    if (this.#failures > this.policy.maxRetries) {
      const attempts = this.#failures;
      this.#settle(unit);
      for (const event of unit.events) this.#ctx.deadLetter(event, reason, attempts);
      return true;
    }
    const delay = backoffDelay(this.policy, this.#failures);
    this.#retry = this.#ctx.clock.setTimer(delay, () => {
      this.#retry = null;
      this.#kick();
    });
    return false;
  }
}
