import type { Durability, LogRecord } from '../../persistence/append-log.js';
import type { EventRecord } from './event-record.js';

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

/** How the store appends to the hub's log. */
export type LogAppend = (body: Record<string, unknown>, durability: Durability) => { seq: number; durable: Promise<void> };

const DEAD_LETTERS_KEPT = 10_000;

/**
 * The dead-letter list, oldest first, bounded (the oldest go first).
 *
 * With a data directory every change is a record in the hub's append-only
 * log (`dead_letter` when one is added, `dead_letter_removed` when redriven
 * or evicted), and the list is rebuilt from the log at start. The log rather
 * than a file of its own rewritten atomically: a change costs one small
 * group-committed append instead of rewriting up to 10 000 letters, the
 * start already reads the log, and retention already manages it (compaction
 * keeps every segment that holds a letter still listed, see `oldestSeq`).
 */
export class DeadLetterStore {
  #letters: DeadLetter[] = [];
  /** the log seq of each letter's `dead_letter` record */
  readonly #seqs = new Map<DeadLetter, number>();
  #append: LogAppend | null = null;
  #now: () => number = () => 0;

  /** From now on every change is appended to the log; `now` stamps the records (retention reads it). */
  persistWith(append: LogAppend, now: () => number): void {
    this.#append = append;
    this.#now = now;
  }

  /** Rebuilds the list from the log's records, oldest first. */
  restore(records: readonly LogRecord[]): void {
    const byId = new Map<string, { letter: DeadLetter; seq: number }>();
    for (const r of records) {
      if (r.kind === 'dead_letter') {
        const letter = r.letter as DeadLetter;
        byId.set(letter.dead_letter_id, { letter, seq: r.seq });
      } else if (r.kind === 'dead_letter_removed') {
        for (const id of r.ids as string[]) byId.delete(id);
      }
    }
    this.#letters = [...byId.values()].map(({ letter, seq }) => {
      this.#seqs.set(letter, seq);
      return letter;
    });
  }

  add(letter: DeadLetter): void {
    this.#letters.push(letter);
    // as durable as the EVENT_DEAD_LETTERED event that announces it
    const logged = this.#append?.({ kind: 'dead_letter', letter, at: this.#now() }, 'batch');
    if (logged) this.#seqs.set(letter, logged.seq);
    if (this.#letters.length > DEAD_LETTERS_KEPT) this.#evictOldest();
  }

  /**
   * Drops the oldest letter past the bound: O(1) (a full list evicts once per
   * letter added, e.g. for a subscriber that stopped reading), and logged
   * `batch`, not `sync`: nobody waits for it, and an eviction lost to a crash
   * only lists that letter again after the restart.
   */
  #evictOldest(): void {
    const oldest = this.#letters.shift()!;
    this.#seqs.delete(oldest);
    this.#append?.({ kind: 'dead_letter_removed', ids: [oldest.dead_letter_id], reason: 'evicted', at: this.#now() }, 'batch');
  }

  list(subscriptionId?: string): DeadLetter[] {
    return this.#letters.filter((d) => subscriptionId === undefined || d.subscription_id === subscriptionId);
  }

  /** The letters with these ids (all when absent), oldest first. */
  find(ids?: readonly string[]): DeadLetter[] {
    if (ids === undefined) return [...this.#letters];
    const wanted = new Set(ids);
    return this.#letters.filter((d) => wanted.has(d.dead_letter_id));
  }

  /** Removes letters; resolves once the removal is fsynced (at once without a log). */
  remove(letters: readonly DeadLetter[], reason: 'redriven' | 'evicted'): Promise<void> {
    if (letters.length === 0) return Promise.resolve();
    const gone = new Set(letters);
    this.#letters = this.#letters.filter((d) => !gone.has(d));
    for (const letter of letters) this.#seqs.delete(letter);
    const ids = letters.map((d) => d.dead_letter_id);
    return this.#append?.({ kind: 'dead_letter_removed', ids, reason, at: this.#now() }, 'sync').durable ?? Promise.resolve();
  }

  /** The log seq of the oldest letter still listed (Infinity when none): compaction keeps its segment. */
  oldestSeq(): number {
    let oldest = Infinity;
    for (const seq of this.#seqs.values()) oldest = Math.min(oldest, seq);
    return oldest;
  }
}
