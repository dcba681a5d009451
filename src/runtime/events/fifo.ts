/**
 * A first-in first-out queue with O(1) `shift` at any length. A plain
 * array's `shift()` moves every element once the array is large (V8 cannot
 * trim arrays in its large-object space), which made a subscriber with a
 * long backlog quadratic: 20 000 waiting events were 20x slower per event
 * than 5 000. Here the head moves instead, and the array is compacted when
 * the taken part is at least half of it (amortized O(1)).
 */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** The `i`th item from the head. */
  at(i: number): T | undefined {
    return this.#items[this.#head + i];
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    // the slot is cleared so a delivered event can be collected
    this.#items[this.#head++] = undefined;
    if (this.#head >= 1_024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Removes the `i`th item from the head (rare: a full queue dropping its oldest waiting event). */
  removeAt(i: number): void {
    this.#items.splice(this.#head + i, 1);
  }

  /** Moves the `i`th item from the head to the head (a more urgent event overtaking: rare, and within a bounded window). */
  moveToFront(i: number): void {
    if (i <= 0) return;
    const [item] = this.#items.splice(this.#head + i, 1);
    this.#items.splice(this.#head, 0, item);
  }

  /** Items `from` to `to` (exclusive) from the head, as an array. */
  slice(from: number, to: number): T[] {
    return this.#items.slice(this.#head + from, this.#head + Math.min(to, this.length)) as T[];
  }
}
