/** ANSI styling that turns itself off for NO_COLOR, --no-color and non-terminals. */
export interface Palette {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

export function createPalette(enabled: boolean): Palette {
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), cyan: wrap(36, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

const STATUS_MARK: Record<string, string> = {
  completed: '✓', partial: '◐', failed: '✗', cancelled: '⊘', skipped: '↷', running: '▶', assigned: '▷',
  ready: '○', pending: '·', paused: '❚❚', created: '·', archived: '▣',
  compensating: '↶', compensated: '↺', compensation_failed: '✗', needs_intervention: '✋', waiting_approval: '⌛',
};

/** A workflow, phase or task status with its mark, coloured by how it went. */
export function colorStatus(p: Palette, status: string): string {
  const text = `${STATUS_MARK[status] ?? '·'} ${status}`;
  if (status === 'completed') return p.green(text);
  if (status === 'failed' || status === 'cancelled' || status === 'compensation_failed') return p.red(text);
  if (['partial', 'paused', 'skipped', 'compensated', 'compensating', 'needs_intervention', 'waiting_approval'].includes(status)) return p.yellow(text);
  if (status === 'running' || status === 'assigned') return p.cyan(text);
  return p.dim(text);
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** The text without its colours. */
export const plain = (s: string) => s.replace(ANSI, '');
/** How many columns the text takes on the screen (colours take none). */
export const visibleLength = (s: string) => plain(s).length;
/** The text, spaces after it to `n` columns. */
export const pad = (s: string, n: number) => (visibleLength(s) >= n ? s : s + ' '.repeat(n - visibleLength(s)));
