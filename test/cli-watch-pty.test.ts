/**
 * `watch` in a real pseudo-terminal (util-linux `script`) of 12 rows × 80
 * columns, on a workflow of 30 tasks: far taller than the screen. The raw
 * output is played through a tiny terminal emulator: a frame taller than the
 * screen would scroll its top into the scrollback on every redraw, where no
 * redraw reaches it, and leave a copy of the tree there each time. Fitted to
 * the screen, the live frames leave nothing behind but the whole tree printed
 * once at the end.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, ROOT, scratchDir } from './helpers/cli.js';

const ROWS = 12;
const COLUMNS = 80;

/**
 * Just enough of a terminal for what readline and log-update write: printable
 * characters (one cell each, wrapping at the last column), CR, LF (scrolling
 * the top line into the scrollback), and the CSI cursor moves and erases;
 * colours and modes are ignored.
 */
class Terminal {
  readonly scrollback: string[] = [];
  screen: string[][];
  row = 0;
  col = 0;
  wrapNext = false;

  constructor(readonly rows: number, readonly cols: number) {
    this.screen = Array.from({ length: rows }, () => this.blank());
  }

  blank(): string[] {
    return Array.from({ length: this.cols }, () => ' ');
  }

  lineFeed(): void {
    if (this.row < this.rows - 1) this.row++;
    else {
      this.scrollback.push(this.screen.shift()!.join('').trimEnd());
      this.screen.push(this.blank());
    }
  }

  feed(data: string): void {
    const chars = [...data];
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i]!;
      if (ch === '\u001b') {
        if (chars[i + 1] === '[') {
          let j = i + 2;
          while (j < chars.length && !/[@-~]/.test(chars[j]!)) j++;
          this.csi(chars.slice(i + 2, j).join(''), chars[j] ?? '');
          i = j;
        } else if (chars[i + 1] === ']') {
          let j = i + 2;
          while (j < chars.length && chars[j] !== '\u0007' && !(chars[j] === '\u001b' && chars[j + 1] === '\\')) j++;
          i = chars[j] === '\u001b' ? j + 1 : j;
        } else i++;
        continue;
      }
      if (ch === '\r') {
        this.col = 0;
        this.wrapNext = false;
      } else if (ch === '\n') {
        this.wrapNext = false;
        this.lineFeed();
      } else if (ch === '\b') this.col = Math.max(0, this.col - 1);
      else if (ch >= ' ') {
        if (this.wrapNext) {
          this.col = 0;
          this.wrapNext = false;
          this.lineFeed();
        }
        this.screen[this.row]![this.col] = ch;
        if (this.col === this.cols - 1) this.wrapNext = true;
        else this.col++;
      }
    }
  }

  csi(params: string, final: string): void {
    if (params.startsWith('?')) return;
    const [a, b] = params.split(';').map((n) => (n === '' ? undefined : Number(n)));
    const n = a ?? 1;
    this.wrapNext = false;
    const line = this.screen[this.row]!;
    switch (final) {
      case 'A': this.row = Math.max(0, this.row - n); break;
      case 'B': this.row = Math.min(this.rows - 1, this.row + n); break;
      case 'C': this.col = Math.min(this.cols - 1, this.col + n); break;
      case 'D': this.col = Math.max(0, this.col - n); break;
      case 'E': this.row = Math.min(this.rows - 1, this.row + n); this.col = 0; break;
      case 'F': this.row = Math.max(0, this.row - n); this.col = 0; break;
      case 'G': this.col = Math.min(this.cols - 1, n - 1); break;
      case 'H': this.row = Math.min(this.rows - 1, n - 1); this.col = Math.min(this.cols - 1, (b ?? 1) - 1); break;
      case 'K':
        if ((a ?? 0) === 0) line.fill(' ', this.col);
        else if (a === 1) line.fill(' ', 0, this.col + 1);
        else line.fill(' ');
        break;
      case 'J':
        if ((a ?? 0) === 0) {
          line.fill(' ', this.col);
          for (let r = this.row + 1; r < this.rows; r++) this.screen[r] = this.blank();
        } else if (a === 2) this.screen = Array.from({ length: this.rows }, () => this.blank());
        break;
      default:
    }
  }

  /** The scrollback and the screen, line by line. */
  all(): string[] {
    return [...this.scrollback, ...this.screen.map((l) => l.join('').trimEnd())];
  }
}

function repl(dataDir: string) {
  const command = `stty rows ${ROWS} cols ${COLUMNS}; exec ${process.execPath} ${BIN} --data-dir ${dataDir}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let raw = '';
  child.stdout.on('data', (chunk: Buffer) => (raw += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  // eslint-disable-next-line no-control-regex
  const plain = () => raw.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
  return {
    exited,
    raw: () => raw,
    type: (keys: string) => child.stdin.write(keys),
    async until(test: (text: string) => boolean, what: string, ms = 30_000) {
      const deadline = Date.now() + ms;
      while (!test(plain())) {
        if (Date.now() > deadline) throw new Error(`never saw ${what} in:\n${plain()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    kill: () => child.kill('SIGKILL'),
  };
}

const count = (text: string, part: string) => text.split(part).length - 1;

describe('watch in a terminal smaller than the workflow', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(() => cleanup());

  it('redraws in place within rows - 1 lines, and leaves the whole tree once when the workflow ends', { timeout: 90_000 }, async () => {
    const tasks = Array.from({ length: 30 }, (_, i) => ({ id: `t${String(i + 1).padStart(2, '0')}`, handler: 'sleep', input: { ms: 1_500 } }));
    const definition = join(dir, 'many.json');
    await writeFile(definition, JSON.stringify({ name: 'many', phases: [{ name: 'build', tasks: tasks.slice(0, 10) }, { name: 'test', tasks: tasks.slice(10) }] }));
    const r = repl(join(dir, 'data'));
    try {
      await r.until((t) => t.includes('troupe> '), 'the prompt');
      r.type(`wf_w create @${definition}\r`);
      await r.until((t) => t.includes('✓ create wf_w'), 'the create');
      r.type('wf_w start\r');
      await r.until((t) => t.includes('created → ▶ running'), 'the start');
      r.type('watch wf_w\r');
      await r.until((t) => t.includes('more tasks (enlarge the window)'), 'a clipped frame');
      // the prompt after the whole tree: readline may draw the prompt again while it takes the typed line,
      // so a count of prompts alone could call the watch over too early (and 'quit' would stop it)
      await r.until((t) => t.includes('wf_w  many  ✓ completed') && t.slice(t.lastIndexOf('wf_w  many  ✓ completed')).includes('troupe> '), 'the prompt after the watch', 60_000);
      r.type('quit\r');
      await r.exited;
    } finally {
      r.kill();
    }

    const raw = r.raw();
    const watched = raw.slice(raw.lastIndexOf('watch wf_w'));
    // log-update's writes (synchronized output on a terminal): each within the screen, erasing what it redraws
    const writes = [...watched.matchAll(/\u001b\[\?2026h([\s\S]*?)\u001b\[\?2026l/g)].map((m) => m[1]!);
    expect(writes.length).toBeGreaterThan(1);
    for (const write of writes) expect(count(write, '\n')).toBeLessThanOrEqual(ROWS - 1);
    expect(writes.some((w) => w.includes('\u001b[2K'))).toBe(true);

    const term = new Terminal(ROWS, COLUMNS);
    term.feed(raw);
    const lines = term.all();
    // no copy of any frame is left: the tree's header is there once, the completed workflow's
    const headers = lines.filter((l) => l.startsWith('wf_w  many  '));
    expect(headers).toEqual([expect.stringMatching(/^wf_w {2}many {2}✓ completed .* 100% {2}elapsed \d+:\d\d/)]);
    expect(lines.filter((l) => l.includes('enlarge the window') || l.includes('watching — press any key'))).toEqual([]);
    // and that tree is whole: every task once
    for (const task of tasks) expect(lines.filter((l) => new RegExp(`[├└]─ ${task.id} +✓ completed`).test(l))).toHaveLength(1);
  });
});
