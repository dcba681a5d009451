/**
 * The window's grain: what happens within the same second shares a bucket,
 * so a window holds at most one bucket per second of its width whatever the
 * event rate (86,400 for a day), and its edges are exact to the second.
 */
export const GRAIN_MS = 1_000;

interface Bucket {
  sec: number;
  v: number[];
}

/** What {@link PointWindow.snapshot} saves. */
export interface PointWindowSnapshot {
  cutoff: number | null;
  buckets: [number, ...number[]][];
}

/**
 * Counters over a sliding window (the last `widthMs` before now): each
 * addition lands in the bucket of its second, and running sums are kept, so
 * adding is O(1) and a query only drops the buckets that left the window
 * since the last one (amortized O(1)). Queries must not go back in time (the
 * hub's clock does not): what left the window is gone.
 */
export class PointWindow {
  readonly #width: number;
  readonly #size: number;
  #buckets: Bucket[] = [];
  #head = 0;
  #sums: number[];
  /** the start of the window at the last query: a bucket ending at or before it is out for good */
  #cutoff = -Infinity;

  constructor(size: number, widthMs: number) {
    this.#size = size;
    this.#width = widthMs;
    this.#sums = new Array<number>(size).fill(0);
  }

  /** Adds `delta` to counter `index` at time `at` (epoch ms). */
  add(at: number, index: number, delta: number): void {
    const sec = Math.floor(at / GRAIN_MS);
    if ((sec + 1) * GRAIN_MS <= this.#cutoff) return;
    let tail = this.#buckets.length > this.#head ? this.#buckets[this.#buckets.length - 1] : undefined;
    // an event a little out of order (not expected: the hub publishes in clock order) counts in the newest bucket
    if (!tail || tail.sec < sec) {
      tail = { sec, v: new Array<number>(this.#size).fill(0) };
      this.#buckets.push(tail);
    }
    tail.v[index]! += delta;
    this.#sums[index]! += delta;
  }

  /** The sums of the counters over the `widthMs` before `now`. */
  sums(now: number): number[] {
    this.#cutoff = Math.max(this.#cutoff, now - this.#width);
    while (this.#head < this.#buckets.length && (this.#buckets[this.#head]!.sec + 1) * GRAIN_MS <= this.#cutoff) {
      const gone = this.#buckets[this.#head++]!;
      for (let i = 0; i < this.#size; i++) this.#sums[i]! -= gone.v[i]!;
    }
    // drop the consumed front now and then, not on every query (a shift per bucket would be O(n))
    if (this.#head > 1024 && this.#head * 2 > this.#buckets.length) {
      this.#buckets = this.#buckets.slice(this.#head);
      this.#head = 0;
    }
    return [...this.#sums];
  }

  snapshot(): PointWindowSnapshot {
    return { cutoff: Number.isFinite(this.#cutoff) ? this.#cutoff : null, buckets: this.#buckets.slice(this.#head).map((b) => [b.sec, ...b.v]) };
  }

  static restore(size: number, widthMs: number, saved: PointWindowSnapshot): PointWindow {
    const window = new PointWindow(size, widthMs);
    window.#cutoff = saved.cutoff ?? -Infinity;
    for (const [sec, ...v] of saved.buckets) {
      window.#buckets.push({ sec, v });
      for (let i = 0; i < size; i++) window.#sums[i]! += v[i] ?? 0;
    }
    return window;
  }
}
