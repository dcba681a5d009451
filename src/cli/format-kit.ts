import type { SuccessResponse } from '../index.js';
import { pad, plain, visibleLength, type Palette } from './format-style.js';

/** The width human output is fitted to: long cells are cut with …, long text wrapped. */
export const WIDTH = 100;

/** What a formatter of a success gets. */
export interface View {
  p: Palette;
  response: SuccessResponse;
  /** the phase/task tree of a `workflow_state` (get-status's, or a report's) */
  tree(workflowState: unknown): string;
}

/** A formatter of one operation's result, typed by what it reads of the result. */
export type ResultFormatter = (v: View) => string;
export const on = <T>(format: (v: View, result: T) => string): ResultFormatter => (v) => format(v, v.response.result as T);

/** `text` cut to `width` columns with … (a cut cell loses its colour). */
export function clipText(text: string, width: number): string {
  if (visibleLength(text) <= width) return text;
  return width <= 1 ? '…'.slice(0, Math.max(0, width)) : `${plain(text).slice(0, width - 1)}…`;
}

export interface Column {
  header: string;
  /** numbers line up on the right */
  right?: boolean;
  /** never cut (ids a person copies, short figures) */
  keep?: boolean;
  /** the last column only: wrapped onto more lines under itself instead of cut (descriptions) */
  wrap?: boolean;
}

/**
 * Rows under an upper-case header, columns aligned two spaces apart. When
 * the table is wider than `width`, the widest column that may be cut loses a
 * column at a time (down to its header, and never under 6) until it fits;
 * cut cells end with ….
 */
export function table(p: Palette, columns: readonly (Column | string)[], rows: readonly string[][], width = WIDTH): string {
  const cols = columns.map((c) => (typeof c === 'string' ? { header: c } : c));
  const widths = cols.map((c, i) => Math.max(c.header.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const floor = cols.map((c) => Math.max(c.header.length, 6));
  let over = widths.reduce((n, w) => n + w, 0) + 2 * (cols.length - 1) - width;
  while (over > 0) {
    let widest = -1;
    cols.forEach((c, i) => {
      if (!c.keep && widths[i]! > floor[i]! && (widest === -1 || widths[i]! > widths[widest]!)) widest = i;
    });
    if (widest === -1) break;
    widths[widest]!--;
    over--;
  }
  const last = cols.length - 1;
  const line = (cells: readonly string[], style = (s: string) => s) =>
    cols
      .map((c, i) => {
        const cell = i === last && c.wrap ? (cells[i] ?? '') : clipText(cells[i] ?? '', widths[i]!);
        const room = ' '.repeat(Math.max(0, widths[i]! - visibleLength(cell)));
        return c.right ? room + cell : i === last ? cell : pad(cell, widths[i]!);
      })
      .map(style)
      .join('  ')
      .trimEnd();
  // a wrapped last column goes on under itself
  const under = ' '.repeat(widths.slice(0, last).reduce((n, w) => n + w + 2, 0));
  const row = (cells: readonly string[]) => {
    if (!cols[last]?.wrap) return line(cells);
    const [first = '', ...more] = wrap(cells[last] ?? '', widths[last]!);
    return [line([...cells.slice(0, last), first]), ...more.map((l) => under + l)].join('\n');
  };
  return [line(cols.map((c) => c.header.toUpperCase()), p.dim), ...rows.map(row)].join('\n');
}

/**
 * Words of `text` on lines of at most `width` columns (a word longer than a
 * line stands alone); a line's leading spaces indent each line it becomes.
 */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    const indent = /^ */.exec(paragraph)![0];
    let line = '';
    for (const word of paragraph.slice(indent.length).split(/ +/)) {
      if (line !== '' && indent.length + visibleLength(line) + 1 + visibleLength(word) > width) {
        lines.push(indent + line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    lines.push(indent + line);
  }
  return lines;
}

/**
 * `label  value` lines, the values lined up after the longest label and
 * wrapped under themselves; pairs whose value is null are left out.
 */
export function fields(p: Palette, pairs: readonly (readonly [string, string | null])[], indent = '  '): string {
  const shown = pairs.filter((pair): pair is readonly [string, string] => pair[1] !== null);
  const at = Math.max(0, ...shown.map(([label]) => label.length)) + 2;
  return shown
    .flatMap(([label, value]) =>
      wrap(value, Math.max(20, WIDTH - indent.length - at)).map((line, i) => `${indent}${i === 0 ? p.dim(pad(label, at)) : ' '.repeat(at)}${line}`),
    )
    .join('\n');
}

/** `✓ operation workflow  text`: the first line of an answer that did something. */
export function done(v: View, text = ''): string {
  const { p, response } = v;
  return `${p.green(`✓ ${response.operation}`)}${response.workflow_id ? ` ${response.workflow_id}` : ''}${text ? `  ${text}` : ''}`;
}

/** How long before (or after) the answer a time is: `12s ago`, `in 5m`; `-` for none. */
export function ago(iso: string | null | undefined, now: string): string {
  if (!iso) return '-';
  const ms = Date.parse(now) - Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const s = Math.abs(ms) / 1000;
  if (s < 1) return 'just now';
  const text = s < 60 ? `${Math.floor(s)}s` : s < 3600 ? `${Math.floor(s / 60)}m` : s < 48 * 3600 ? `${Math.floor(s / 3600)}h` : `${Math.floor(s / 86_400)}d`;
  return ms > 0 ? `${text} ago` : `in ${text}`;
}

/** A byte count as people read it: `812 B`, `2.1 KB`, `5.5 MB`. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A percentage, `-` when not measured. */
export const percent = (n: number | null | undefined) => (n === null || n === undefined ? '-' : `${n}%`);

/** A count and its noun: `1 task`, `3 tasks`. */
export const plural = (n: number, noun: string, many = `${noun}s`) => `${n} ${n === 1 ? noun : many}`;

/** Up to `max` items joined, and how many more: `a, b, c, … 4 more`. */
export function listed(items: readonly string[], max = 6, none = 'none'): string {
  if (items.length === 0) return none;
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')}, … ${items.length - max} more`;
}

/** Any value as a short cell: text as is, numbers and the rest as JSON, `-` for none. */
export const cell = (value: unknown): string => (value === null || value === undefined || value === '' ? '-' : typeof value === 'string' ? value : JSON.stringify(value));

/** An object's own scalar fields as `key=value` words, nested ones as `key={…}` (for a line of event data). */
export function keyValues(data: Record<string, unknown>): string {
  return Object.entries(data)
    .map(([key, value]) => `${key}=${value !== null && typeof value === 'object' ? (Array.isArray(value) ? `[${value.length}]` : '{…}') : typeof value === 'string' ? (/\s/.test(value) || value === '' ? JSON.stringify(value) : value) : String(value)}`)
    .join(' ');
}
