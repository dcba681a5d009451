import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, scratchDir } from './helpers/cli.js';

const run = promisify(execFile);
const SUITES = ['events', 'actors', 'tasks', 'durability', 'recovery', 'scale', 'graphs'];

/** Runs `npm run bench` the way a user does (node --import tsx bench/run.ts). */
const bench = (args: string[]) => run(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });

// The bench's figures are never checked here (speed lives in the bench only): that it runs, and what it writes.
describe('npm run bench -- --quick', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await scratchDir()));
  afterAll(() => cleanup());

  it('runs every suite and writes well-formed rows with --json, and prints them as a table', async () => {
    const file = join(dir, 'bench.json');
    const { stdout } = await bench(['--quick', '--json', file]);
    const rows = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>[];
    expect(new Set(rows.map((r) => r.suite))).toEqual(new Set(SUITES));
    for (const r of rows) {
      expect(r).toMatchObject({
        suite: expect.any(String),
        scenario: expect.any(String),
        size: expect.any(Number),
        metric: expect.any(String),
        value: expect.any(Number),
        unit: expect.any(String),
        baseline: expect.any(String),
        baseline_value: expect.any(Number),
        ratio: expect.any(Number),
        runs: expect.any(Number),
        spread: expect.any(Number),
        better: expect.stringMatching(/^(higher|lower)$/),
      });
      for (const key of ['value', 'baseline_value', 'ratio', 'spread'] as const) expect(Number.isFinite(r[key]), `${r.scenario} ${key}`).toBe(true);
      expect(r.runs as number).toBeGreaterThanOrEqual(3);
      const ratio = (r.value as number) / (r.baseline_value as number);
      expect(Math.abs((r.ratio as number) - ratio), `${r.scenario} ratio`).toBeLessThanOrEqual(0.02 * Math.abs(ratio) + 0.002);
      expect(r.target === null || typeof r.target === 'string').toBe(true);
      expect(r.target === null ? r.target_met === null : typeof r.target_met === 'boolean').toBe(true);
      // a target is checked in its row's direction: at least where higher is better, at most where lower is
      if (r.target !== null) expect(r.target as string).toContain(r.better === 'higher' ? '≥' : '≤');
    }
    // the targets are each printed beside their figure (recovery's is for 10 000 workflows, a size --quick skips)
    // (graphs' target is for 10 000 and 16 000 tasks, sizes --quick skips too)
    expect(rows.filter((r) => r.target !== null).map((r) => r.suite)).toEqual(expect.arrayContaining(['events', 'actors', 'tasks', 'durability']));
    // the table fits 100 columns (spreads and runs are in the JSON only) and says which way is good
    // what it was measured with, then the table
    expect(stdout.split('\n')[1]).toMatch(/^Node v\d+\.\d+\.\d+, \d+ cores; msgpackr native acceleration (on|off)/);
    for (const head of ['suite', 'scenario', 'size', 'troupe', 'baseline', 'ratio', 'target']) expect(stdout.split('\n')[2]).toContain(head);
    for (const line of stdout.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(100);
    expect(stdout).toContain('ratio = troupe ÷ baseline: higher is better for throughput');
    expect(stdout).toMatch(/lower is better for time and memory \(ms, KB\)/);
    expect(stdout.split('\n').filter((line) => SUITES.some((s) => line.startsWith(`${s} `))).length).toBe(rows.length);
  }, 180_000);

  it('runs only the suites named, and refuses an unknown one', async () => {
    const file = join(dir, 'some.json');
    await bench(['durability', '--quick', '--json', file]);
    const rows = JSON.parse(await readFile(file, 'utf8')) as { suite: string }[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.suite === 'durability')).toBe(true);
    await expect(bench(['nonsense', '--quick'])).rejects.toMatchObject({ code: 2 });
  }, 60_000);
});
