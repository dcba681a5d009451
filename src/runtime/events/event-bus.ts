import type { Clock } from '../../actors/clock.js';
import { createEventRecord, type EventDraft, type EventRecord } from './event-record.js';

/** Receives every event the hub publishes, in order. */
export type EventListener = (event: EventRecord) => void;

/**
 * The hub's in-process event stream: numbers events with a monotonic `seq`,
 * keeps the most recent `capacity` for `get-events`, and hands each to the
 * listeners in publish order. A listener that throws is isolated from the
 * others and from the publisher.
 */
export class EventBus {
  readonly #clock: Clock;
  readonly #capacity: number;
  readonly #listeners = new Set<EventListener>();
  #recent: EventRecord[] = [];
  #seq = 0;
  #persist: ((event: Omit<EventRecord, 'seq'>) => number) | null = null;
  /** events published by this process, and when the last one was */
  published = 0;
  lastPublishedAt: number | null = null;

  constructor(clock: Clock, capacity = 10_000) {
    this.#clock = clock;
    this.#capacity = capacity;
  }

  /** From now on every event is also written by `persist`, which numbers it (the log's seq). */
  persistWith(persist: (event: Omit<EventRecord, 'seq'>) => number): void {
    this.#persist = persist;
  }

  /** Puts events read back from the log into the history; numbering continues after them. */
  restore(events: EventRecord[]): void {
    this.#recent = events.slice(-this.#capacity);
    this.#seq = Math.max(this.#seq, events.at(-1)?.seq ?? 0);
  }

  publish(draft: EventDraft): EventRecord {
    const record = createEventRecord(draft, 0, this.#clock.now());
    if (this.#persist) {
      const { seq: _unset, ...rest } = record;
      record.seq = this.#persist(rest);
    } else {
      record.seq = ++this.#seq;
    }
    this.published++;
    this.lastPublishedAt = this.#clock.now();
    this.#recent.push(record);
    // trim in batches: slicing on every publish past capacity would copy the whole window each time
    if (this.#recent.length >= this.#capacity * 2) this.#recent = this.#recent.slice(-this.#capacity);
    for (const listener of this.#listeners) {
      try {
        listener(record);
      } catch {
        // a broken listener must not break the publisher or the others
      }
    }
    return record;
  }

  /** how many of the newest events `recent` keeps */
  get capacity(): number {
    return this.#capacity;
  }

  /** subscribers now */
  get listeners(): number {
    return this.#listeners.size;
  }

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The retained events, oldest first, optionally only one workflow's. */
  recent(workflowId?: string): EventRecord[] {
    const window = this.#recent.slice(-this.#capacity);
    return workflowId === undefined ? window : window.filter((e) => e.workflow_id === workflowId);
  }
}
