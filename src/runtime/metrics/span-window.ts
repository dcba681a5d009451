import { GRAIN_MS } from './point-window.js';

/** Amounts integrated over `[from, to)`, spread evenly over it. */
export interface Span {
  from: number;
  to: number;
  v: number[];
}

/** What {@link SpanWindow.snapshot} saves. */
export interface SpanWindowSnapshot {
  cutoff: number | null;
  spans: Span[];
}

/** Same rate per ms in every amount (within rounding): two such spans side by side are one. */
function sameRate(a: Span, from: number, to: number, v: readonly number[]): boolean {
  return a.v.every((x, i) => Math.abs(x / (a.to - a.from) - v[i]! / (to - from)) <= 1e-9 * Math.max(1, Math.abs(x / (a.to - a.from))));
}

/**
 * Amounts that accrue over time (agent-ms busy, agent-ms available) over a
 * sliding window. Each span is what accrued between two changes of rate;
 * the span the window's start falls in counts pro rata, so the window is
 * exact for spans of constant rate. Adjacent spans of the same rate, or that
 * fit in one second together, merge: at most about one span per second of
 * the window is kept. Queries must not go back in time.
 */
export class SpanWindow {
  readonly #width: number;
  readonly #size: number;
  #spans: Span[] = [];
  #head = 0;
  /** sums of the spans still held, in full (the head's part before the window is taken off at query time) */
  #sums: number[];
  #cutoff = -Infinity;

  constructor(size: number, widthMs: number) {
    this.#size = size;
    this.#width = widthMs;
    this.#sums = new Array<number>(size).fill(0);
  }

  add(from: number, to: number, v: readonly number[]): void {
    if (to <= from || to <= this.#cutoff) return;
    const tail = this.#spans.length > this.#head ? this.#spans[this.#spans.length - 1] : undefined;
    if (tail && tail.to === from && (to - tail.from <= GRAIN_MS || sameRate(tail, from, to, v))) {
      tail.to = to;
      for (let i = 0; i < this.#size; i++) tail.v[i]! += v[i]!;
    } else {
      this.#spans.push({ from, to, v: [...v] });
    }
    for (let i = 0; i < this.#size; i++) this.#sums[i]! += v[i]!;
  }

  /** The amounts accrued over the `widthMs` before `now`; `open` is the span accruing now (not added yet). */
  sums(now: number, open?: Span): number[] {
    this.#cutoff = Math.max(this.#cutoff, now - this.#width);
    const cutoff = this.#cutoff;
    while (this.#head < this.#spans.length && this.#spans[this.#head]!.to <= cutoff) {
      const gone = this.#spans[this.#head++]!;
      for (let i = 0; i < this.#size; i++) this.#sums[i]! -= gone.v[i]!;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#spans.length) {
      this.#spans = this.#spans.slice(this.#head);
      this.#head = 0;
    }
    const result = [...this.#sums];
    const head = this.#spans[this.#head];
    if (head && head.from < cutoff) {
      const outside = (cutoff - head.from) / (head.to - head.from);
      for (let i = 0; i < this.#size; i++) result[i]! -= head.v[i]! * outside;
    }
    if (open && open.to > open.from) {
      const inside = (open.to - Math.max(open.from, cutoff)) / (open.to - open.from);
      if (inside > 0) for (let i = 0; i < this.#size; i++) result[i]! += open.v[i]! * inside;
    }
    return result;
  }

  snapshot(): SpanWindowSnapshot {
    return { cutoff: Number.isFinite(this.#cutoff) ? this.#cutoff : null, spans: this.#spans.slice(this.#head).map((s) => ({ from: s.from, to: s.to, v: [...s.v] })) };
  }

  static restore(size: number, widthMs: number, saved: SpanWindowSnapshot): SpanWindow {
    const window = new SpanWindow(size, widthMs);
    window.#cutoff = saved.cutoff ?? -Infinity;
    for (const span of saved.spans) {
      window.#spans.push({ from: span.from, to: span.to, v: [...span.v] });
      for (let i = 0; i < size; i++) window.#sums[i]! += span.v[i] ?? 0;
    }
    return window;
  }
}
