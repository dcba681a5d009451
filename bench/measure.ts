import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** One row of the bench's output (DESIGN §8); `runs`, `spread` and the target fields are extras. */
export interface BenchRow {
  suite: string;
  scenario: string;
  size: number;
  metric: string;
  value: number;
  unit: string;
  baseline: string;
  baseline_value: number;
  /** value / baseline_value, good in the same direction as `value` (see `better`) */
  ratio: number;
  /**
   * Which way is good for `value` and `ratio` alike: 'higher' for throughput
   * (a unit per second), 'lower' for time and memory. Taken from the unit
   * (see {@link unitKind}) unless the row's definition says it.
   */
  better: Better;
  /** measured runs behind `value` (after a warm-up), whose median it is */
  runs: number;
  /** (max - min) / median of troupe's runs: 0.1 means the runs were within 10 % of each other */
  spread: number;
  /** the target for this figure, as text (e.g. "ratio ≥ 0.8"), or null */
  target: string | null;
  /** whether the figure meets its target, or null when it has none */
  target_met: boolean | null;
}

export interface Suite {
  name: string;
  /** sizes to run; `quick` is the short run the test suite smoke-tests */
  sizes: { full: number[]; quick: number[] };
  run(size: number, options: { quick: boolean }): Promise<BenchRow[]>;
}

/**
 * A target from the issue: on the figure itself or on the ratio to its
 * baseline. Which side of `limit` meets it follows the row's direction: at
 * least `limit` where higher is better (throughput), at most where lower is
 * (time, memory), so a target can never pull against its own row.
 */
export interface Target {
  on: 'value' | 'ratio';
  limit: number;
}

/** Which way is good for a figure (and for its ratio to a baseline in the same unit). */
export type Better = 'higher' | 'lower';

/** What a row's unit measures, for the table's legend. */
export type Kind = 'throughput' | 'time' | 'memory';

const TIME_UNITS = new Set(['ns', 'µs', 'us', 'ms', 's', 'min']);
const MEMORY_UNITS = new Set(['B', 'bytes', 'KB', 'KiB', 'MB', 'MiB', 'GB', 'GiB']);

/**
 * What `unit` measures and which way is good: per second (events/s, tasks/s)
 * is throughput, higher is better; time (ms) and memory (KB) are costs, lower
 * is better. Null for a unit it does not know: such a row must say `better`.
 */
export function unitKind(unit: string): { kind: Kind; better: Better } | null {
  if (unit.endsWith('/s')) return { kind: 'throughput', better: 'higher' };
  if (TIME_UNITS.has(unit)) return { kind: 'time', better: 'lower' };
  if (MEMORY_UNITS.has(unit)) return { kind: 'memory', better: 'lower' };
  return null;
}

/** Median and relative spread of several runs' figures. */
export interface Sample {
  median: number;
  spread: number;
  runs: number;
}

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

export function summarise(values: readonly number[]): Sample {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, spread: median === 0 ? 0 : round((sorted.at(-1)! - sorted[0]!) / median), runs: sorted.length };
}

/** The p-th percentile of ascending `sorted`. */
export const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** Measured runs per figure unless a suite says otherwise: five, three in a quick run. */
let defaultRuns = 5;
export const quickRuns = () => void (defaultRuns = 3);

/** Runs `fn` once to warm up, then `runs` times; returns each run's seconds. */
export async function timeRuns(fn: () => Promise<void> | void, runs = defaultRuns): Promise<number[]> {
  await fn();
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    seconds.push((performance.now() - start) / 1000);
  }
  return seconds;
}

/** Throughput in ops/s of each of `runs` runs after a warm-up, for `ops` operations per run. */
export async function throughput(ops: number, fn: () => Promise<void> | void, runs = defaultRuns): Promise<Sample> {
  return summarise((await timeRuns(fn, runs)).map((s) => ops / s));
}

/** p50 and p99 of each of `runs` runs' latency samples (ms), after a warm-up run, as figures with their spread. */
export async function latencyRuns(run: () => Promise<number[]>, runs = 3): Promise<{ p50: Sample; p99: Sample }> {
  await run();
  const p50: number[] = [];
  const p99: number[] = [];
  for (let i = 0; i < runs; i++) {
    const sorted = (await run()).sort((a, b) => a - b);
    p50.push(percentile(sorted, 50));
    p99.push(percentile(sorted, 99));
  }
  return { p50: summarise(p50), p99: summarise(p99) };
}

/**
 * A figure (throughput, latency, duration, memory) beside its baseline, with
 * the ratio and, if any, the target. Which way is good comes from the unit,
 * or from `head.better` where the unit does not tell (an unknown unit without
 * it is refused here, where the row is defined).
 */
export function row(
  head: { suite: string; scenario: string; size: number; metric?: string; unit: string; baseline: string; better?: Better },
  ours: Sample,
  theirs: Sample | number,
  target?: Target,
): BenchRow {
  const baselineValue = typeof theirs === 'number' ? theirs : theirs.median;
  const ratio = baselineValue === 0 ? 0 : ours.median / baselineValue;
  const digits = ours.median >= 100 ? 0 : 3;
  const better = head.better ?? unitKind(head.unit)?.better;
  if (!better) throw new Error(`bench: ${head.suite} '${head.scenario}': which way is good for '${head.unit}'? Give the row better: 'higher' | 'lower'`);
  const judged = target ? (target.on === 'value' ? ours.median : ratio) : null;
  return {
    suite: head.suite,
    scenario: head.scenario,
    size: head.size,
    metric: head.metric ?? 'throughput',
    value: round(ours.median, digits),
    unit: head.unit,
    baseline: head.baseline,
    baseline_value: round(baselineValue, baselineValue >= 100 ? 0 : 3),
    ratio: round(ratio),
    better,
    runs: ours.runs,
    spread: ours.spread,
    target: target ? `${target.on} ${better === 'higher' ? '≥' : '≤'} ${target.limit}` : null,
    target_met: judged === null || !target ? null : better === 'higher' ? judged >= target.limit : judged <= target.limit,
  };
}

/** Exposes V8's `gc()` without a command-line flag: memory figures are taken after a full collection. */
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** Heap in use after a full collection, in bytes. */
export function settledHeap(): number {
  collect();
  collect();
  return process.memoryUsage().heapUsed;
}
