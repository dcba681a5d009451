/**
 * Compensation across `kill -9` (DESIGN §11): a chain of completed tasks is
 * undone in reverse order while the supervisor is killed at seeded random
 * moments. Each compensation's completion is logged like any outcome, so a
 * completed one never runs again; one in flight at a kill is adopted (the
 * default) or run again (`on_recovery: restart`) under the same idempotency
 * key, which the command uses to make its effect happen once.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFrames, type LogRecord } from '../src/persistence/append-log.js';
import { runAndKill, runCli, scratchDir } from './helpers/cli.js';
import { prng } from './helpers/prng.js';

const CHAIN = 3;

/** t0 -> t1 -> t2 -> boom (fails): every t has an idempotent compensation that notes each run. */
function workflowYaml(dir: string, onRecovery: 'adopt' | 'restart'): string {
  const runs = join(dir, 'runs.txt');
  const undone = join(dir, 'undone.txt');
  // a compensation notes its run, waits until the test opens the gate, then makes its effect once (by its key)
  const gate = join(dir, 'gate');
  const undo = `echo "$TROUPE_IDEMPOTENCY_KEY" >> ${runs}; while [ ! -f ${gate} ]; do sleep 0.05; done; sleep 0.3; grep -qxF "$TROUPE_IDEMPOTENCY_KEY" ${undone} 2>/dev/null || echo "$TROUPE_IDEMPOTENCY_KEY" >> ${undone}`;
  const lines = ['name: saga crash', 'checkpoint_interval: 200ms', 'phases:', '  - name: chain', '    tasks:'];
  for (let i = 0; i < CHAIN; i++) {
    lines.push(`      - id: t${i}`);
    lines.push('        handler: exec');
    if (i > 0) lines.push(`        depends_on: [t${i - 1}]`);
    lines.push(`        on_recovery: ${onRecovery}`);
    lines.push(`        input: {command: "echo t${i} >> ${join(dir, 'did.txt')}"}`);
    lines.push(`        compensate: {handler: exec, input: {command: ${JSON.stringify(undo)}}}`);
  }
  lines.push(`      - {id: boom, handler: fail, depends_on: [t${CHAIN - 1}], input: {message: "carrier down", retryable: false}}`);
  return `${lines.join('\n')}\n`;
}

async function logRecords(dataDir: string): Promise<LogRecord[]> {
  const dir = join(dataDir, 'events');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.log')).sort();
  const records: LogRecord[] = [];
  for (const name of names) records.push(...readFrames(await readFile(join(dir, name))).records);
  return records;
}

const lines = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);

describe('kill -9 during compensation, then start again', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await scratchDir()));
  afterAll(() => cleanup());

  it.each([
    [11, 'adopt'],
    [2024, 'restart'],
    [5, 'restart'],
  ] as const)('each completed task is compensated exactly once, in reverse order (seed %i, on_recovery %s)', async (seed, onRecovery) => {
    const random = prng(seed);
    const work = join(dir, `w-${seed}`);
    await mkdir(work, { recursive: true });
    const file = join(work, 'saga.yaml');
    await writeFile(file, workflowYaml(work, onRecovery));
    const dataDir = join(work, 'data');
    const args = ['run', file, '--id', 'saga', '--data-dir', dataDir];
    const runs = join(work, 'runs.txt');
    const undone = join(work, 'undone.txt');
    let kills = 0;
    /** kills the supervisor at a seeded moment after it started (or restarted) a compensation; false when the run ended first */
    const killInFlight = async (maxMs: number) => {
      const before = (await lines(runs)).length;
      const code = await runAndKill(args, Math.floor(random() * maxMs), async () => (await lines(runs)).length > before);
      if (code === null) kills++;
      return code === null;
    };
    // the gate is closed: the first compensation is certainly in flight when the supervisor dies, and
    // the next supervisor finds it still running: it adopts it, or (restart) ends it and runs it again,
    // which the second kill catches in flight too
    await killInFlight(300);
    if (onRecovery === 'restart') await killInFlight(300);
    await writeFile(join(work, 'gate'), 'open');
    // then kills at seeded moments, in flight or in between, until the run ends by itself
    for (let round = 0; round < 4 && (await killInFlight(400)); round++);
    const final = await runCli(args);
    expect(final.code).toBe(1);
    expect(final.stdout).toContain('compensated');
    const keys = Array.from({ length: CHAIN }, (_, i) => `saga/t${CHAIN - 1 - i}.compensate`);
    // every compensation's effect happened once, in reverse dependency order
    expect(await lines(undone)).toEqual(keys);
    // a run again (restart) used the same key: nothing ran under any other
    const ran = await lines(runs);
    expect([...new Set(ran)].sort()).toEqual([...keys].sort());
    // killed in flight: adopted, it ran once; restarted, it ran again (under the same key)
    if (onRecovery === 'adopt') expect(ran).toHaveLength(CHAIN);
    else expect(ran.filter((k) => k === keys[0]).length).toBeGreaterThanOrEqual(2);
    // the log holds exactly one completed outcome per compensation
    const completed = (await logRecords(dataDir)).filter((r) => r.kind === 'outcome' && r.ok === true && String(r.task_id).endsWith('.compensate'));
    expect(completed.map((r) => String(r.task_id)).sort()).toEqual(keys.map((k) => k.slice('saga/'.length)).sort());
    // the tasks themselves ran once each, before any kill
    expect(await lines(join(work, 'did.txt'))).toEqual(Array.from({ length: CHAIN }, (_, i) => `t${i}`));
    expect(kills).toBeGreaterThanOrEqual(onRecovery === 'restart' ? 2 : 1);
  }, 120_000);
});
