/**
 * Fitting a frame that is redrawn in place (`watch`) to the screen: a frame
 * taller than the terminal scrolls its top off, where no redraw can reach it
 * again, and a line wider than the terminal wraps into two. So a frame gets
 * at most `rows - 1` lines (the last row holds the cursor), each cut to
 * `columns` cells, counting cells as a terminal does (escape sequences take
 * none, CJK and emoji two).
 */
import type { StatusLine } from './format.js';

/** A line of a frame, with its weight when not all fit (higher is kept first) and whether it is a task's. */
export type FrameLine = Pick<StatusLine, 'text' | 'keep' | 'task'>;

/** An escape sequence: CSI (colours, cursor moves), OSC (titles, links) or a two-character one. */
// eslint-disable-next-line no-control-regex
const ESCAPE = /^\u001b(?:\[[0-9;?<=>]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|.)?/s;
// eslint-disable-next-line no-control-regex
const SGR = /^\u001b\[[0-9;]*m$/;

/** Cells a character takes on a terminal: 0 for control, combining and zero-width ones, 2 for wide (East Asian) and emoji-presentation ones, else 1. */
function cells(ch: string): number {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (/\p{Mn}|\p{Me}|[\u200b-\u200f\u2060\ufe00-\ufe0f]/u.test(ch)) return 0;
  if (/\p{Emoji_Presentation}/u.test(ch)) return 2;
  const wide =
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd);
  return wide ? 2 : 1;
}

/** The cells `text` takes on one terminal line (escape sequences take none; a tab runs to the next multiple of 8). */
export function visibleWidth(text: string): number {
  return cutLine(text, Infinity).width;
}

/**
 * `text` cut to at most `columns` cells, ending with `…` where it was cut.
 * Colours (SGR sequences) are kept and reset after a cut; other escape
 * sequences (cursor moves, titles) are dropped, as are control characters:
 * they would move the cursor where a redraw does not expect it. Tabs become
 * spaces.
 */
export function clipLine(text: string, columns: number): string {
  return cutLine(text, Math.max(1, columns)).text;
}

function cutLine(text: string, columns: number): { text: string; width: number } {
  let out = '';
  let width = 0;
  let styled = false;
  // the longest start of the line that still leaves a cell for `…`
  let room = { length: 0, width: 0 };
  let i = 0;
  while (i < text.length) {
    if (text[i] === '\u001b') {
      const sequence = ESCAPE.exec(text.slice(i))![0] || '\u001b';
      if (SGR.test(sequence)) {
        out += sequence;
        styled = true;
      }
      i += sequence.length;
      continue;
    }
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    i += ch.length;
    const cp = ch.codePointAt(0)!;
    // a control character would move the cursor: dropped (a tab becomes spaces)
    if (ch !== '\t' && (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))) continue;
    const piece = ch === '\t' ? ' '.repeat(8 - (width % 8)) : ch;
    const w = ch === '\t' ? piece.length : cells(ch);
    if (width + w > columns) {
      const cut = width + 1 <= columns ? { length: out.length, width } : room;
      return { text: `${out.slice(0, cut.length)}…${styled ? '\u001b[0m' : ''}`, width: cut.width + 1 };
    }
    out += piece;
    width += w;
    if (width + 1 <= columns) room = { length: out.length, width };
  }
  return { text: out, width };
}

const plural = (n: number, one: string) => `${n} more ${one}${n === 1 ? '' : 's'}`;

/**
 * The lines of a frame that fit a `rows` × `columns` screen: all of them when
 * they fit in `rows - 1` lines; otherwise the heaviest (`keep`, then the
 * first) in their order, then a line saying how many were left out (`… 12
 * more tasks (enlarge the window)`), then `footer`. Every line is cut to
 * `columns` (see clipLine).
 */
export function fitFrame(lines: FrameLine[], footer: string | null, size: { rows: number; columns: number }): string[] {
  const height = Math.max(1, size.rows - 1);
  const tail = footer === null ? [] : [footer];
  let shown = lines.map((l) => l.text);
  if (lines.length + tail.length > height) {
    const room = Math.max(0, height - tail.length - 1);
    const picked = new Set(
      lines
        .map((line, index) => ({ keep: line.keep, index }))
        .sort((a, b) => b.keep - a.keep || a.index - b.index)
        .slice(0, room)
        .map((l) => l.index),
    );
    const hidden = lines.filter((_, index) => !picked.has(index));
    const tasks = hidden.filter((l) => l.task).length;
    const other = hidden.length - tasks;
    const what = [tasks > 0 ? plural(tasks, 'task') : '', other > 0 ? plural(other, 'line') : ''].filter(Boolean).join(', ');
    shown = [...lines.filter((_, index) => picked.has(index)).map((l) => l.text), `… ${what} (enlarge the window)`];
  }
  return [...shown, ...tail].slice(0, height).map((line) => clipLine(line, size.columns));
}
