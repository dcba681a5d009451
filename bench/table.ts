import { unitKind, type BenchRow, type Better } from './measure.js';

/** The table's width, legend included: it fits a 100-column terminal. */
export const TABLE_WIDTH = 100;

export interface TableOptions {
  /** ANSI colour (a verdict in green or red, the header in bold); off unless asked for */
  color?: boolean;
  /** columns to fit; {@link TABLE_WIDTH} unless given */
  width?: number;
}

/** ANSI styles, or none: the table's own (nothing outside src/cli imports src/cli). */
function palette(enabled: boolean) {
  const wrap = (open: number, close: number) => (text: string) => (enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return { red: wrap(31, 39), green: wrap(32, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

const figure = (n: number) => (Number.isInteger(n) ? n.toLocaleString('en-US') : String(n));

/** `text` cut to `width` characters, its end replaced by … when cut. */
export const clip = (text: string, width: number) => (text.length <= width ? text : width <= 0 ? '' : `${text.slice(0, width - 1)}…`);

/**
 * `text` cut to `width` characters by replacing its middle with …: a
 * scenario's name is told apart by its start ("deliver", "publish") as often
 * as by its end ("durability sync", "listed in reverse", "20 agent(s)").
 */
export function clipMiddle(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width < 8) return clip(text, width);
  const tail = Math.floor((width - 1) * 0.45);
  return `${text.slice(0, width - 1 - tail).trimEnd()}…${text.slice(text.length - tail).trimStart()}`;
}

/** The metric where the unit does not already say it (p50_latency in ms: "p50"), before the figure. */
function metricLabel(r: BenchRow): string {
  const kind = unitKind(r.unit)?.kind;
  if (r.metric === kind || (kind === 'time' && r.metric === 'duration')) return '';
  return `${r.metric.replace(/_latency$/, '')} `;
}

/** The tag of the `i`-th distinct baseline: a … z, then aa, ab … */
const tag = (i: number): string => (i < 26 ? String.fromCharCode(97 + i) : tag(Math.floor(i / 26) - 1) + tag(i % 26));

/**
 * `chunks` joined by spaces into lines of at most `width`, the ones after the
 * first indented by `indent`; a chunk is kept whole on a line unless it is
 * longer than one, then it breaks at its spaces.
 */
function wrap(chunks: readonly string[], width: number, indent = '  '): string[] {
  const words = chunks.flatMap((c) => (c.length > width - indent.length ? c.split(' ') : [c]));
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    const next = line === '' ? word : `${line} ${word}`;
    if (next.length <= width || line.trim() === '') line = next;
    else {
      lines.push(line);
      line = `${indent}${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.map((l) => clip(l, width));
}

const KINDS = ['throughput', 'time', 'memory'];
/** Kinds in the legend's order: throughput, time, memory, then any other (a metric's name). */
const byKind = (a: string, b: string) => (KINDS.indexOf(a) + 1 || KINDS.length + 1) - (KINDS.indexOf(b) + 1 || KINDS.length + 1);

/**
 * Which way is good, for each kind of row present, in one sentence: e.g.
 * "ratio = troupe ÷ baseline: higher is better for throughput (events/s,
 * tasks/s), lower is better for time and memory (ms, KB)". A row's kind comes
 * from its unit, or is its metric where the unit does not tell.
 */
export function legend(rows: readonly BenchRow[]): string {
  return legendParts(rows).join(' ');
}

/** The legend in the pieces it may break between. */
function legendParts(rows: readonly BenchRow[]): string[] {
  const sides = new Map<Better, Map<string, string>>([
    ['higher', new Map()],
    ['lower', new Map()],
  ]);
  // unit -> kind, per side
  for (const r of rows) sides.get(r.better)!.set(r.unit, unitKind(r.unit)?.kind ?? r.metric);
  const said = [...sides]
    .filter(([, units]) => units.size > 0)
    .map(([better, units]) => {
      const ordered = [...units].sort(([, a], [, b]) => byKind(a, b));
      const kinds = [...new Set(ordered.map(([, kind]) => kind))];
      const named = kinds.length === 1 ? kinds[0]! : `${kinds.slice(0, -1).join(', ')} and ${kinds.at(-1)}`;
      return `${better} is better for ${named} (${ordered.map(([unit]) => unit).join(', ')})`;
    });
  if (said.length === 0) return ['ratio = troupe ÷ baseline'];
  return said.map((s, i) => `${i === 0 ? 'ratio = troupe ÷ baseline: ' : ''}${s}${i < said.length - 1 ? ',' : ''}`);
}

/**
 * The rows as a table of at most `width` columns (100): suite, scenario
 * (clipped with … to fit), size, troupe's figure and unit (and the metric
 * where the unit does not say it, e.g. p99), the baseline's
 * figure with a tag naming it under the table, the ratio, and whether the
 * issue's target is met. Under it, the legend of which way is good, the
 * baselines' names, and where the rest is (spread, runs, metric, target:
 * `--json FILE`).
 */
export function table(rows: readonly BenchRow[], options: TableOptions = {}): string {
  const width = options.width ?? TABLE_WIDTH;
  const p = palette(options.color === true);
  const baselines: string[] = [];
  const baselineTag = (name: string) => {
    let i = baselines.indexOf(name);
    if (i < 0) i = baselines.push(name) - 1;
    return `[${tag(i)}]`;
  };
  const head = ['suite', 'scenario', 'size', 'troupe', 'baseline', 'ratio', 'target'];
  const body = rows.map((r) => [
    r.suite,
    r.scenario,
    figure(r.size),
    `${metricLabel(r)}${figure(r.value)} ${r.unit}`,
    `${figure(r.baseline_value)} ${baselineTag(r.baseline)}`,
    String(r.ratio),
    r.target_met === null ? '' : r.target_met ? 'met' : 'MISSED',
  ]);
  const SCENARIO = 1;
  const GAP = 2;
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  // the scenario takes what the other columns leave (at least 10), clipped with …
  const others = widths.reduce((sum, w, i) => (i === SCENARIO ? sum : sum + w), 0) + GAP * (head.length - 1);
  widths[SCENARIO] = Math.max(10, Math.min(widths[SCENARIO]!, width - others));
  const last = head.length - 1;
  // numbers right-aligned, words left-aligned
  const right = new Set([2, 3, 4, 5]);
  const line = (cells: string[], style: (cell: string, i: number) => string = (c) => c) =>
    cells
      .map((c, i) => {
        const text = i === SCENARIO ? clipMiddle(c, widths[i]!) : clip(c, widths[i]!);
        const padded = right.has(i) ? text.padStart(widths[i]!) : i === last ? text : text.padEnd(widths[i]!);
        // styled after padding: escapes take no columns
        return style(padded, i);
      })
      .join(' '.repeat(GAP))
      .trimEnd();
  const verdict = (cell: string, i: number) => (i !== last ? cell : cell === 'met' ? p.green(cell) : cell === 'MISSED' ? p.red(cell) : cell);
  const notes = [
    ...wrap(['baselines:', ...baselines.map((name, i) => `[${tag(i)}] ${name}${i < baselines.length - 1 ? ';' : ''}`)], width),
    ...wrap(["target: whether the figure meets the issue's target (blank: it has none).", 'The targets themselves, spreads, run counts and metrics: --json FILE'], width),
  ];
  return [
    p.bold(line(head)),
    widths.map((w) => '-'.repeat(w)).join(' '.repeat(GAP)),
    ...body.map((cells) => line(cells, verdict)),
    '',
    ...wrap(legendParts(rows), width),
    ...notes.map(p.dim),
  ].join('\n');
}
