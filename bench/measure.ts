import { performance } from 'node:perf_hooks';

/** One row of the bench's output (DESIGN §8). */
export interface BenchRow {
  suite: string;
  scenario: string;
  size: number;
  metric: string;
  value: number;
  unit: string;
  baseline: string;
  baseline_value: number;
  /** value / baseline_value: above 1 means troupe is faster (for throughput) */
  ratio: number;
}

export interface Suite {
  name: string;
  /** sizes to run; the quick run takes the first */
  sizes: { full: number[]; quick: number[] };
  run(size: number): Promise<BenchRow[]>;
}

/** Runs `fn` `rounds` times after one warm-up, returning the best throughput in ops/s for `ops` operations per round. */
export async function throughput(ops: number, fn: () => Promise<void> | void, rounds = 3): Promise<number> {
  await fn();
  let best = 0;
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await fn();
    const seconds = (performance.now() - start) / 1000;
    best = Math.max(best, ops / seconds);
  }
  return best;
}

/** A throughput row: troupe's figure beside its baseline's, with the ratio. */
export function row(suite: string, scenario: string, size: number, baseline: string, value: number, baselineValue: number, unit = 'ops/s'): BenchRow {
  return {
    suite,
    scenario,
    size,
    metric: 'throughput',
    value: Math.round(value),
    unit,
    baseline,
    baseline_value: Math.round(baselineValue),
    ratio: Math.round((value / baselineValue) * 1000) / 1000,
  };
}
