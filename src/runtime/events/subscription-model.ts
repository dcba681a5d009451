import type { EventRecord } from './event-record.js';
import type { Fifo } from './fifo.js';
import type { SubscriberQueue } from './subscriber-queue.js';
import type { SubscriptionSpec } from './subscription-spec.js';
import type { TargetSession } from './subscription-targets.js';

/** The live subscription model of {@link Subscriptions} (subscriptions.ts) and what it stores. */

export interface Subscription {
  id: string;
  /** the name a subscriber goes by (the spec's `callback`), when it has one: `spec.name` */
  readonly name: string | undefined;
  /** `spec.patterns` */
  readonly patterns: string[];
  /** creation order: delivery follows it */
  order: number;
  spec: SubscriptionSpec;
  queue: SubscriberQueue;
  /** the deliverer of a target (exec, webhook): it outlives the session that subscribed */
  target: TargetSession | null;
  /** stored in the data directory and made again at the next start */
  durable: boolean;
  /** the seq of the last event done with (delivered or dead-lettered), in order: a durable one replays after it */
  cursor: number;
  /** events to hand the queue before live ones (a replay after a restart), oldest first; null once empty */
  backlog: Fifo<EventRecord> | null;
  /** the subscribers list of a record that only this one takes, made on first need and shared (frozen) */
  alone?: string[];
}

/** A durable subscription as the data directory keeps it. */
export interface StoredSubscription {
  id: string;
  spec: SubscriptionSpec;
  cursor: number;
}

/** Where durable subscriptions are kept (`subscriptions.ckpt`): told of every change, writes the newest state. */
export interface SubscriptionStore {
  changed(): void;
  /** resolves once the state of now is on disk; rejects when it could not be written */
  flush(): Promise<void>;
}

/** What `add` did. */
export interface Added {
  id: string;
  durable: boolean;
  /** the subscription of the same name it took the place of */
  replaced: { durable: boolean; carried_over: number } | null;
}
