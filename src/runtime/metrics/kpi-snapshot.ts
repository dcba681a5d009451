import { DAY_MS, KpiFold, POINT_COUNT, SPAN_COUNT } from './kpi-fold.js';
import { PointWindow, type PointWindowSnapshot } from './point-window.js';
import { SpanWindow, type SpanWindowSnapshot } from './span-window.js';
import { loadTally, saveTally, type SavedTally } from './workflow-tally.js';

/** The kind and format version of `metrics/kpis.ckpt`. */
export const KPI_FILE = { kind: 'kpi-totals', version: 1 } as const;

/**
 * The fold's whole state as plain data, covering the log up to `through_seq`.
 * Why it is saved at all: retention drops old log segments, and the fold
 * could not rebuild all-time sums from a log that lost its beginning. At
 * start the fold is restored from it and then folds the log's events after
 * `through_seq`.
 */
export interface KpiSnapshot {
  through_seq: number;
  first_at: number | null;
  span_from: number | null;
  totals: number[];
  span_totals: number[];
  points: PointWindowSnapshot;
  spans: SpanWindowSnapshot;
  live: string[];
  load: [string, number][];
  tallies: [string, SavedTally][];
}

export function snapshotOf(fold: KpiFold): KpiSnapshot {
  return {
    through_seq: fold.lastSeq,
    first_at: fold.firstAt,
    span_from: fold.spanFrom,
    totals: [...fold.totals],
    span_totals: [...fold.spanTotals],
    points: fold.points.snapshot(),
    spans: fold.spans.snapshot(),
    live: [...fold.live],
    load: [...fold.load],
    tallies: [...fold.tallies].map(([id, t]) => [id, saveTally(t)]),
  };
}

const numbers = (v: unknown, length: number): v is number[] => Array.isArray(v) && v.length === length && v.every((x) => typeof x === 'number');

/** Rebuilds a fold from a snapshot; throws on a body of another shape (the caller then starts from the log alone). */
export function foldFrom(body: unknown): KpiFold {
  const s = body as Partial<KpiSnapshot> | null;
  if (!s || typeof s.through_seq !== 'number' || !numbers(s.totals, POINT_COUNT) || !numbers(s.span_totals, SPAN_COUNT) || !s.points || !s.spans || !Array.isArray(s.tallies)) {
    throw new Error('the KPI totals have an unknown shape');
  }
  const fold = new KpiFold();
  fold.lastSeq = s.through_seq;
  fold.firstAt = s.first_at ?? null;
  fold.spanFrom = s.span_from ?? null;
  s.totals.forEach((x, i) => (fold.totals[i] = x));
  s.span_totals.forEach((x, i) => (fold.spanTotals[i] = x));
  fold.points = PointWindow.restore(POINT_COUNT, DAY_MS, s.points);
  fold.spans = SpanWindow.restore(SPAN_COUNT, DAY_MS, s.spans);
  fold.live = new Set(s.live ?? []);
  for (const [agent, n] of s.load ?? []) fold.load.set(agent, n);
  for (const [id, t] of s.tallies) fold.tallies.set(id, loadTally(t));
  fold.recount();
  return fold;
}
