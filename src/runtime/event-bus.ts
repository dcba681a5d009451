import type { Clock } from '../actors/clock.js';
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

  constructor(clock: Clock, capacity = 10_000) {
    this.#clock = clock;
    this.#capacity = capacity;
  }

  publish(draft: EventDraft): EventRecord {
    const record = createEventRecord(draft, ++this.#seq, this.#clock.now());
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
