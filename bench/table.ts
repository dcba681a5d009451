import type { BenchRow } from './measure.js';

const figure = (n: number) => (Number.isInteger(n) ? n.toLocaleString('en-US') : String(n));

/** The rows as a readable table: each figure beside its baseline, the ratio, and its target with a verdict. */
export function table(rows: readonly BenchRow[]): string {
  const head = ['suite', 'scenario', 'size', 'metric', 'troupe', '± spread', 'baseline', 'baseline value', 'ratio', 'target', 'met'];
  const body = rows.map((r) => [
    r.suite,
    r.scenario,
    figure(r.size),
    r.metric,
    `${figure(r.value)} ${r.unit}`,
    `${Math.round(r.spread * 100)} %`,
    r.baseline,
    figure(r.baseline_value),
    String(r.ratio),
    r.target ?? '',
    r.target_met === null ? '' : r.target_met ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  // numbers right-aligned, words left-aligned
  const right = new Set([2, 4, 5, 7, 8]);
  const line = (cells: string[]) => cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
