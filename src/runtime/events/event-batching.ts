import { compilePattern } from './event-pattern.js';
import type { EventRecord } from './event-record.js';

/** What `configure-batching` sets: which events batch subscriptions get in batches, and how. */
export interface BatchingConfig {
  /** false: every event is delivered on its own, also to batch subscriptions */
  enabled: boolean;
  /** subscription patterns (routing key or topic): the events that are batched */
  eventTypes: string[];
  /** events per batch, or `adaptive` (see {@link adaptBatchSize}) */
  batchSize: number | 'adaptive';
  /** a batch that has not filled up is delivered this long after it started collecting, ms */
  timeoutMs: number;
  /** an event whose event_id a subscription already took within this window is skipped, ms; 0: off */
  dedupWindowMs: number;
  /**
   * gzip a batch wherever it is serialized (a webhook body); batches delivered
   * in process are handed over as objects, never serialized, so nothing to compress there
   */
  compression?: boolean;
}

export const DEFAULT_BATCHING: BatchingConfig = { enabled: true, eventTypes: ['#'], batchSize: 'adaptive', timeoutMs: 100, dedupWindowMs: 0, compression: false };

/** Bounds of an adaptive batch size: it starts at `start` and moves between `min` and `max`. */
export const ADAPTIVE_BATCH = { start: 16, min: 1, max: 1_024 } as const;

/**
 * A batching configuration with its patterns compiled. Which events it covers
 * is remembered per event record (one record goes to many subscriptions, and
 * a waiting batch is looked at again as it grows).
 */
export class BatchingRules {
  readonly config: BatchingConfig;
  readonly #matchers: ((event: EventRecord) => boolean)[];
  readonly #covered = new WeakMap<EventRecord, boolean>();

  constructor(config: BatchingConfig) {
    this.config = config;
    this.#matchers = config.eventTypes.map(compilePattern);
  }

  /** True when `event` is delivered in batches to batch subscriptions. */
  covers(event: EventRecord): boolean {
    let covered = this.#covered.get(event);
    if (covered === undefined) {
      if (!this.config.enabled) return false;
      covered = this.#matchers.some((matches) => matches(event));
      this.#covered.set(event, covered);
    }
    return covered;
  }

  /** Decides for one event whether it is batched, whatever the patterns say (its publisher asked: `enable_batching`). */
  decide(event: EventRecord, batched: boolean): void {
    this.#covered.set(event, batched);
  }

  /** The size a subscription's batches start with. */
  initialSize(): number {
    return this.config.batchSize === 'adaptive' ? ADAPTIVE_BATCH.start : this.config.batchSize;
  }
}

/**
 * The adaptive rule, applied after each batch is delivered:
 * - the delivery took longer than the batching timeout (the subscriber is
 *   slow: smaller batches keep each event's wait under the timeout): halve;
 * - otherwise, when at least a full batch is already waiting behind it (the
 *   subscriber falls behind the publishers: fewer, larger deliveries catch
 *   up): double;
 * - otherwise keep the size. Always within {@link ADAPTIVE_BATCH}.
 * Delivery time is measured on the hub's clock, so tests drive it.
 */
export function adaptBatchSize(current: number, observed: { deliveryMs: number; waiting: number; timeoutMs: number }): number {
  if (observed.deliveryMs > observed.timeoutMs) return Math.max(ADAPTIVE_BATCH.min, Math.floor(current / 2));
  if (observed.waiting >= current) return Math.min(ADAPTIVE_BATCH.max, current * 2);
  return current;
}

/** The event ids a subscription took, each remembered for the dedup window. */
export class SeenIds {
  /** id -> when it was taken; insertion order is time order, so expiry looks only at the front */
  readonly #seen = new Map<string, number>();

  /** True when `id` was taken within `windowMs` before `now`; otherwise records it and answers false. */
  repeated(id: string, now: number, windowMs: number): boolean {
    for (const [old, at] of this.#seen) {
      if (now - at < windowMs) break;
      this.#seen.delete(old);
    }
    if (this.#seen.has(id)) return true;
    this.#seen.set(id, now);
    return false;
  }
}
