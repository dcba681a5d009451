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
  /** the persistence policy: false for an event the log does not keep (configure-persistence); null: every event */
  #keep: ((event: EventRecord) => boolean) | null = null;
  /** events published but not logged (the policy left them out): get-events adds them from memory */
  readonly #unlogged = new WeakSet<EventRecord>();
  /** who an event goes to, decided before it is logged so the record names its subscribers */
  #route: ((event: EventRecord) => string[]) | null = null;
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

  /** Which events the log keeps from now on; null: all of them. */
  keepOnly(keep: ((event: EventRecord) => boolean) | null): void {
    this.#keep = keep;
  }

  /** Names each event's subscribers before it is logged and delivered. */
  routeWith(route: (event: EventRecord) => string[]): void {
    this.#route = route;
  }

  /** True for an event published while a persistence policy left it out of the log. */
  unlogged(event: EventRecord): boolean {
    return this.#unlogged.has(event);
  }

  /** Puts events read back from the log into the history; numbering continues after them. */
  restore(events: EventRecord[]): void {
    this.#recent = events.slice(-this.#capacity);
    this.#seq = Math.max(this.#seq, events.at(-1)?.seq ?? 0);
  }

  publish(draft: EventDraft): EventRecord {
    const record = createEventRecord(draft, 0, this.#clock.now());
    if (this.#route) record.subscribers = this.#route(record);
    if (this.#persist && this.#keep !== null && !this.#keep(record)) {
      // not logged, so it takes no seq of the log's own (a seq the log never holds would read as a lost
      // record at the next start): it shares the seq of the last logged event, and is ordered after it
      record.seq = this.#seq;
      this.#unlogged.add(record);
    } else if (this.#persist) {
      const { seq: _unset, ...rest } = record;
      record.seq = this.#seq = this.#persist(rest);
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
