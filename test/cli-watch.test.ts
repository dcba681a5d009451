/**
 * `watch`'s pieces without a terminal: the elapsed clock of the status
 * header, fitting a frame to the screen, and the plain log it writes where
 * the output is not a terminal (a pipe: no escape sequence, one line per
 * status change, the whole tree at the end). The terminal itself is
 * test/cli-watch-pty.test.ts.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createPalette, elapsedClock, formatResponse, formatStatus, type StatusLine } from '../src/cli/format.js';
import { clipLine, fitFrame, visibleWidth } from '../src/cli/frame.js';
import { LocalTarget } from '../src/cli/socket-client.js';
import { watchWorkflow } from '../src/cli/watch.js';
import { closeHub, makeHub, ok } from './hub-fixtures.js';

const plain = createPalette(false);
const colour = createPalette(true);

/** A get-status workflow_state as formatStatus reads it. */
const view = (over: Record<string, unknown> = {}) => ({
  id: 'wf_1',
  name: 'build',
  status: 'running',
  progress_percentage: 50,
  current_phase: 1,
  total_phases: 1,
  started_at: '2025-01-15T12:00:00.000Z',
  finished_at: null,
  phases: [{ name: 'p', status: 'running', tasks: [{ task_id: 'a', status: 'completed', assigned_agent: 'agent_001', attempts: 1, execution_time: '1s' }, { task_id: 'b', status: 'running', assigned_agent: 'agent_002', attempts: 1, execution_time: null }] }],
  // the sum the hub measured: not what the clock shows
  metrics: { tasks_completed: 1, tasks_total: 2, total_execution_time: '3s' },
  ...over,
});
const at = (iso: string) => Date.parse(iso);

describe('the elapsed clock', () => {
  it('is the wall time since the start, ticking with now, as m:ss or h:mm:ss', () => {
    expect(elapsedClock(view(), at('2025-01-15T12:00:07.900Z'))).toBe('0:07');
    expect(elapsedClock(view(), at('2025-01-15T12:12:34Z'))).toBe('12:34');
    expect(elapsedClock(view(), at('2025-01-15T13:02:03Z'))).toBe('1:02:03');
    expect(formatStatus(plain, view(), at('2025-01-15T12:01:05Z')).split('\n')[0]).toBe(
      'wf_1  build  ▶ running  ██████████░░░░░░░░░░ 50%  elapsed 1:05, phase 1/1, 1/2 tasks',
    );
    expect(formatStatus(plain, view(), at('2025-01-15T12:01:06Z')).split('\n')[0]).toContain('elapsed 1:06');
  });

  it('stops at the end of an ended workflow, and is absent before the start', () => {
    const ended = view({ status: 'failed', finished_at: '2025-01-15T12:00:42Z' });
    expect(elapsedClock(ended, at('2025-01-15T15:00:00Z'))).toBe('0:42');
    expect(formatStatus(plain, ended, at('2025-01-15T15:00:00Z')).split('\n')[0]).toContain('elapsed 0:42,');
    const created = view({ status: 'created', started_at: null });
    expect(elapsedClock(created, at('2025-01-15T15:00:00Z'))).toBeNull();
    expect(formatStatus(plain, created, at('2025-01-15T15:00:00Z')).split('\n')[0]).toMatch(/50% {2}phase 1\/1, 1\/2 tasks$/);
  });

  it("get-status's human form counts to the response's timestamp (the hub's clock)", () => {
    const response = { status: 'success' as const, operation: 'get-status', workflow_id: 'wf_1', timestamp: '2025-01-15T12:03:00.000Z', result: { workflow_state: view() }, metrics: { execution_time: '1ms' }, next_steps: [] };
    expect(formatResponse(plain, response).split('\n')[0]).toContain('elapsed 3:00,');
  });
});

describe('fitting a frame to the screen', () => {
  const tree = (n: number, running: number[] = []): StatusLine[] => [
    { text: colour.bold('wf_1  header'), keep: 4 },
    { text: '├─ phase', keep: 4 },
    ...Array.from({ length: n }, (_, i) => ({ text: `│  ├─ t${i} ${running.includes(i) ? '▶ running' : '✓ completed'}`, keep: (running.includes(i) ? 3 : 1) as 1 | 3, task: true })),
  ];

  it('keeps a frame that fits as it is', () => {
    expect(fitFrame(tree(3), 'footer', { rows: 12, columns: 80 })).toEqual([colour.bold('wf_1  header'), '├─ phase', '│  ├─ t0 ✓ completed', '│  ├─ t1 ✓ completed', '│  ├─ t2 ✓ completed', 'footer']);
  });

  it('gives a taller one rows - 1 lines: the running tasks first, and a line for the rest', () => {
    const frame = fitFrame(tree(30, [20, 25]), 'footer', { rows: 8, columns: 80 });
    expect(frame).toEqual([
      colour.bold('wf_1  header'),
      '├─ phase',
      '│  ├─ t0 ✓ completed',
      '│  ├─ t20 ▶ running',
      '│  ├─ t25 ▶ running',
      '… 27 more tasks (enlarge the window)',
      'footer',
    ]);
    expect(fitFrame(tree(30), null, { rows: 4, columns: 80 })).toEqual([colour.bold('wf_1  header'), '├─ phase', '… 30 more tasks (enlarge the window)']);
  });

  it('cuts each line to the columns, counting cells as a terminal does', () => {
    expect(clipLine('abcdefgh', 5)).toBe('abcd…');
    expect(clipLine('abcde', 5)).toBe('abcde');
    // colours take no cell and are closed after a cut
    expect(clipLine(`${colour.red('abcdefgh')}`, 5)).toBe('\u001b[31mabcd…\u001b[0m');
    expect(visibleWidth(colour.green('✓ completed'))).toBe(11);
    // wide characters take two cells, a tab runs to the next stop, cursor moves are dropped
    expect(clipLine('ab漢字cd', 5)).toBe('ab漢…');
    expect(visibleWidth('⌛ waits')).toBe(8);
    expect(clipLine('a\tb', 80)).toBe('a       b');
    expect(clipLine('a\u001b[2Ab\u001b]0;title\u0007c', 80)).toBe('abc');
    for (const line of fitFrame(tree(3).map((l) => ({ ...l, text: l.text.repeat(20) })), 'footer', { rows: 12, columns: 40 })) {
      expect(visibleWidth(line)).toBeLessThanOrEqual(40);
    }
  });
});

describe('watch without a terminal', () => {
  it('writes no escape sequence: the header, a line per status change, then the whole tree; resolves with the status', async () => {
    const { hub, clock } = makeHub();
    try {
      const target = new LocalTarget(hub);
      await ok(hub, {
        operation: 'create',
        workflow_id: 'wf_w',
        parameters: { name: 'w', phases: [{ name: 'p', tasks: [{ id: 'first', handler: 'noop' }, { id: 'second', handler: 'sleep', input: { ms: 300 }, depends_on: ['first'] }] }] },
      });
      const out = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream;
      let text = '';
      out.on('data', (chunk: Buffer) => (text += chunk.toString()));
      const watching = watchWorkflow(target, 'wf_w', colour, { out });
      await ok(hub, { operation: 'start', workflow_id: 'wf_w' });
      expect(await watching).toBe('completed');
      // eslint-disable-next-line no-control-regex
      expect(text).not.toMatch(/\u001b/);
      const lines = text.split('\n');
      expect(lines[0]).toMatch(/^wf_w {2}w {2}(· created|▶ running) /);
      expect(lines).toContainEqual(expect.stringMatching(/^ +0:00 {2}p\/second {2}✓ completed$/));
      expect(lines).toContainEqual(expect.stringMatching(/^ +0:00 {2}wf_w {2}✓ completed {2}100%$/));
      // the whole tree closes it, once
      expect(text.match(/^wf_w {2}w {2}✓ completed/gm)).toHaveLength(1);
      expect(text).toMatch(/└─ second +✓ completed/);
    } finally {
      await closeHub(hub, clock);
    }
  });

  it('stops when its signal is aborted, and says so for a workflow that does not exist', async () => {
    const { hub, clock } = makeHub();
    try {
      const target = new LocalTarget(hub);
      await ok(hub, { operation: 'create', workflow_id: 'wf_l', parameters: { name: 'l', phases: [{ name: 'p', tasks: [{ id: 'long', handler: 'sleep', input: { ms: 60_000 } }] }] } });
      await ok(hub, { operation: 'start', workflow_id: 'wf_l' });
      const out = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream;
      let text = '';
      out.on('data', (chunk: Buffer) => (text += chunk.toString()));
      const stop = new AbortController();
      const watching = watchWorkflow(target, 'wf_l', plain, { out, signal: stop.signal });
      await new Promise((resolve) => setTimeout(resolve, 600));
      stop.abort();
      expect(await watching).toBe('running');
      // the whole tree as it stood
      expect(text).toMatch(/^wf_l {2}l {2}▶ running/m);
      expect(text).toMatch(/└─ long +/);

      let missing = '';
      const none = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream;
      none.on('data', (chunk: Buffer) => (missing += chunk.toString()));
      expect(await watchWorkflow(target, 'wf_none', plain, { out: none })).toBe('error');
      expect(missing).toMatch(/^✗ WORKFLOW_NOT_FOUND/);
    } finally {
      await closeHub(hub, clock);
    }
  });
});
