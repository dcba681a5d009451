import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { row, type BenchRow } from '../bench/measure.js';
import { legend, table, TABLE_WIDTH } from '../bench/table.js';
import { ROOT } from './helpers/cli.js';

const run = promisify(execFile);
const SUITES = ['events', 'actors', 'tasks', 'durability', 'recovery', 'scale', 'graphs'];

/** `node --import tsx bench/run.ts ARGS` as `npm run bench -- ARGS` runs it; never runs a suite here. */
async function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Columns a line takes on a terminal: its characters, less any ANSI escapes. */
// eslint-disable-next-line no-control-regex
const columns = (line: string) => [...line.replace(/\u001b\[[0-9;]*m/g, '')].length;

describe('npm run bench -- --help and mistakes', () => {
  it('--help says what each suite measures, the options and examples, and exits 0 without running anything', async () => {
    for (const flag of ['--help', '-h']) {
      const { code, stdout, stderr } = await bench([flag]);
      expect(code).toBe(0);
      expect(stderr).toBe('');
      for (const suite of SUITES) expect(stdout).toMatch(new RegExp(`^ {2}${suite} +\\S`, 'm'));
      for (const option of ['--quick', '--json FILE', '--help']) expect(stdout).toContain(option);
      expect(stdout).toMatch(/examples:\n {2}npm run bench/);
      for (const line of stdout.split('\n')) expect(columns(line), line).toBeLessThanOrEqual(TABLE_WIDTH);
    }
  });

  it('an unknown option, a --json without its FILE or an unknown suite is a usage error: exit 2, one clear line, no stack trace', async () => {
    const cases = [
      [['--bogus'], "unknown option '--bogus'"],
      [['--quick', '-x'], "unknown option '-x'"],
      [['--json'], '--json needs a FILE'],
      [['--json', '--quick'], '--json needs a FILE'],
      [['--quick=yes'], '--quick takes no value'],
      [['nonsense'], "unknown suite 'nonsense'"],
      // checked before any measuring, not after minutes of it
      [['events', '--json', '/nonexistent/rows.json'], 'cannot write --json /nonexistent/rows.json: ENOENT'],
    ] as const;
    const answers = await Promise.all(cases.map(([args]) => bench([...args])));
    for (const [i, [args, said]] of cases.entries()) {
      const { code, stdout, stderr } = answers[i]!;
      expect(code, args.join(' ')).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.startsWith(`bench: ${said}`), stderr).toBe(true);
      expect(stderr).toContain('usage: npm run bench');
      expect(stderr).not.toMatch(/^\s+at /m);
      expect(stderr).not.toMatch(/Error|ERR_/);
    }
  }, 60_000);
});

const sample = (median: number) => ({ median, spread: 0.12, runs: 5 });

/** Rows like the suites' own: every unit they use, their longest names, and figures bigger than any so far. */
function rows(): BenchRow[] {
  return [
    row({ suite: 'events', scenario: 'adaptive batches, 10000 async subscriber(s)', size: 10_000, unit: 'events/s', baseline: 'per-event delivery, async subscriber' }, sample(987_654_321), sample(25_202_502), { on: 'value', limit: 1_000_000 }),
    row({ suite: 'actors', scenario: 'memory per idle workflow', size: 100_000, metric: 'memory', unit: 'KB', baseline: 'bare XState actor, started' }, sample(8.108), sample(3.477), { on: 'value', limit: 20 }),
    row({ suite: 'tasks', scenario: 'exec `true` tasks (a shepherd each), durability sync', size: 60, unit: 'tasks/s', baseline: 'sh -c true, 2 at a time' }, sample(120), sample(300), { on: 'ratio', limit: 0.6 }),
    row({ suite: 'tasks', scenario: 'ready -> completed, durability batch', size: 200, metric: 'p99_latency', unit: 'ms', baseline: 'one pool.run at a time' }, sample(5.035), sample(0.303)),
    row({ suite: 'durability', scenario: 'sync appends, group commit', size: 200, unit: 'records/s', baseline: 'fsync per write' }, sample(159_404), sample(2_870)),
    row({ suite: 'graphs', scenario: 'create refused, one cycle through every task', size: 16_000, metric: 'duration', unit: 'ms', baseline: 'create, same tasks, no depends_on' }, sample(12_345.6), sample(0.5), { on: 'value', limit: 1_000 }),
  ];
}

describe('the bench table', () => {
  it('fits 100 columns, a row per line, long scenarios clipped with …, and says which way is good under it', () => {
    const all = rows();
    for (const color of [false, true]) {
      const text = table(all, { color });
      const lines = text.split('\n');
      for (const line of lines) expect(columns(line), line).toBeLessThanOrEqual(TABLE_WIDTH);
      expect(lines.filter((l) => SUITES.some((s) => l.startsWith(`${s} `)))).toHaveLength(all.length);
      expect(text).toContain('…');
      expect(text.replace(/\s+/g, ' ')).toContain('ratio = troupe ÷ baseline: higher is better for throughput (events/s, tasks/s, records/s), lower is better for time and memory (ms, KB)');
      // the spread (12 % here) is left to --json
      expect(text).not.toMatch(/±|12 %/);
      if (!color) expect(text).not.toMatch(/\u001b\[/);
    }
    expect(legend(all)).toBe('ratio = troupe ÷ baseline: higher is better for throughput (events/s, tasks/s, records/s), lower is better for time and memory (ms, KB)');
  });

  it('names each kind of row once in the legend, only those present', () => {
    const onlyTime = rows().filter((r) => r.unit === 'ms');
    expect(legend(onlyTime)).toBe('ratio = troupe ÷ baseline: lower is better for time (ms)');
    expect(table(onlyTime)).not.toContain('higher is better');
  });
});

describe('a row’s direction', () => {
  it('comes from its unit, and its target is checked the same way: at least for throughput, at most for time and memory', () => {
    const [events, memory, exec, latency, appends, graphs] = rows();
    expect([events, exec, appends].map((r) => r!.better)).toEqual(['higher', 'higher', 'higher']);
    expect([memory, latency, graphs].map((r) => r!.better)).toEqual(['lower', 'lower', 'lower']);
    expect(events).toMatchObject({ target: 'value ≥ 1000000', target_met: true });
    expect(memory).toMatchObject({ target: 'value ≤ 20', target_met: true });
    expect(exec).toMatchObject({ target: 'ratio ≥ 0.6', target_met: false });
    expect(graphs).toMatchObject({ target: 'value ≤ 1000', target_met: false });
  });

  it('must be said by a row whose unit does not tell it, and then rules the row', () => {
    const head = { suite: 'x', scenario: 'y', size: 1, unit: 'widgets', baseline: 'z' };
    expect(() => row(head, sample(2), sample(1))).toThrow(/which way is good for 'widgets'/);
    const lower = row({ ...head, metric: 'widgets', better: 'lower' }, sample(2), sample(1), { on: 'ratio', limit: 1.5 });
    expect(lower).toMatchObject({ better: 'lower', target: 'ratio ≤ 1.5', target_met: false });
    expect(legend([lower])).toBe('ratio = troupe ÷ baseline: lower is better for widgets (widgets)');
  });
});
