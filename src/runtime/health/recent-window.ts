import { Fifo } from '../events/fifo.js';

/** Entries a window keeps at most, whatever its length in time: memory stays bounded under any load. */
const MAX_ENTRIES = 10_000;

/** Times of something that happened (a dead letter, a worker error), counted over a recent window of the hub's clock. */
export class RecentTimes {
  readonly #times = new Fifo<number>();

  add(at: number): void {
    this.#times.push(at);
    if (this.#times.length > MAX_ENTRIES) this.#times.shift();
  }

  /** How many happened in the `windowMs` before `now`. */
  count(now: number, windowMs: number): number {
    while (this.#times.length > 0 && this.#times.at(0)! < now - windowMs) this.#times.shift();
    return this.#times.length;
  }
}

/** What the recent commands were like. */
export interface CommandSummary {
  commands: number;
  errors: number;
  /** percent, one decimal; 0 without commands */
  error_rate: number;
  success_rate: number;
  average_ms: number;
  p95_ms: number;
}

/** Each command's time, latency and result, over a recent window: the error rate and p95 that `health` judges by. */
export class CommandWindow {
  readonly #entries = new Fifo<{ at: number; ms: number; ok: boolean }>();

  record(at: number, ms: number, ok: boolean): void {
    this.#entries.push({ at, ms, ok });
    if (this.#entries.length > MAX_ENTRIES) this.#entries.shift();
  }

  summary(now: number, windowMs: number): CommandSummary {
    while (this.#entries.length > 0 && this.#entries.at(0)!.at < now - windowMs) this.#entries.shift();
    const entries = this.#entries.slice(0, this.#entries.length);
    const errors = entries.filter((e) => !e.ok).length;
    const latencies = entries.map((e) => e.ms).sort((a, b) => a - b);
    const percent = (n: number) => (entries.length === 0 ? 0 : Math.round((n / entries.length) * 1000) / 10);
    return {
      commands: entries.length,
      errors,
      error_rate: percent(errors),
      success_rate: entries.length === 0 ? 100 : percent(entries.length - errors),
      average_ms: latencies.length === 0 ? 0 : Math.round((latencies.reduce((a, b) => a + b, 0) / latencies.length) * 10) / 10,
      // nearest rank: the smallest latency at or above 95% of them
      p95_ms: latencies.length === 0 ? 0 : Math.round(latencies[Math.ceil(latencies.length * 0.95) - 1]! * 10) / 10,
    };
  }
}
