/**
 * A Map that forgets its oldest entry past `limit`. Compiled expressions and
 * templates are cached by their text so that each dispatch of a task does not
 * parse again; the bound keeps a hub that sees many distinct texts from
 * holding them all.
 *
 * @example
 * const cache = new BoundedCache<string, number>(2);
 * cache.set('a', 1); cache.set('b', 2); cache.set('c', 3); cache.get('a'); // undefined
 */
export class BoundedCache<K, V> {
  readonly #entries = new Map<K, V>();

  constructor(readonly limit: number) {}

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  set(key: K, value: V): void {
    if (!this.#entries.has(key) && this.#entries.size >= this.limit) {
      // Insertion order: the first key is the oldest.
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, value);
  }

  get size(): number {
    return this.#entries.size;
  }
}
