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

const DEAD_LETTERS_KEPT = 10_000;

/** The dead-letter list, oldest first, bounded (the oldest go first). */
export class DeadLetterStore {
  #letters: DeadLetter[] = [];

  add(letter: DeadLetter): void {
    this.#letters.push(letter);
    if (this.#letters.length > DEAD_LETTERS_KEPT) this.remove([this.#letters[0]!]);
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

  remove(letters: readonly DeadLetter[]): void {
    const gone = new Set(letters);
    this.#letters = this.#letters.filter((d) => !gone.has(d));
  }
}
