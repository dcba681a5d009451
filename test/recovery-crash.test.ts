import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFrames, type LogRecord } from '../src/persistence/append-log.js';
import { runAndKill, runCli, scratchDir } from './helpers/cli.js';
import { prng } from './helpers/prng.js';

const TASKS = 40;
const MAX_AGENTS = 4;

/** A workflow of exec tasks that each append their id to `out`; a second phase depends on the first. */
function workflowYaml(out: string): string {
  // a short checkpoint interval: kills also land after checkpoints taken while tasks run
  const lines = ['name: crash test', 'checkpoint_interval: 150ms', `agent_requirements: {min_agents: 1, max_agents: ${MAX_AGENTS}}`, 'phases:', '  - name: first', '    tasks:'];
  for (let i = 0; i < TASKS / 2; i++) lines.push(`      - {id: a${i}, handler: exec, input: {command: "sleep 0.05; echo a${i} >> ${out}"}}`);
  lines.push('  - name: second', '    tasks:');
  for (let i = 0; i < TASKS / 2; i++) {
    lines.push(`      - {id: b${i}, handler: exec, depends_on: [a${i}], input: {command: "sleep 0.03; echo b${i} >> ${out}"}}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Outcomes the log records as completed, by task id. */
async function recordedCompletions(dataDir: string): Promise<Set<string>> {
  const dir = join(dataDir, 'events');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.log')).sort();
  const records: LogRecord[] = [];
  for (const name of names) records.push(...readFrames(await readFile(join(dir, name))).records);
  return new Set(records.filter((r) => r.kind === 'outcome' && r.ok === true).map((r) => String(r.task_id)));
}


describe('kill -9 at random moments, then start again', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await scratchDir()));
  afterAll(() => cleanup());

  it.each([[7], [1234], [42]])('finishes every task and runs none twice: recorded completions stay, running exec tasks are adopted (seed %i)', async (seed) => {
    const random = prng(seed);
    const dataDir = join(dir, `data-${seed}`);
    const out = join(dir, `out-${seed}.txt`);
    const file = join(dir, `crash-${seed}.yaml`);
    await writeFile(file, workflowYaml(out));
    const args = ['run', file, '--id', 'crash', '--data-dir', dataDir];
    const countLines = async () => {
      const counts = new Map<string, number>();
      const text = await readFile(out, 'utf8').catch(() => '');
      for (const line of text.split('\n').filter(Boolean)) counts.set(line, (counts.get(line) ?? 0) + 1);
      return counts;
    };
    /** after each kill: the completions the log holds, and how often each had run by then */
    const atKills: { recorded: Set<string>; counts: Map<string, number> }[] = [];
    for (let round = 0; round < 5; round++) {
      // startup takes a few hundred ms; kill somewhere between early startup and well into the run
      const code = await runAndKill(args, 300 + Math.floor(random() * 900));
      if (code === 0) break;
      atKills.push({ recorded: await recordedCompletions(dataDir), counts: await countLines() });
    }
    const kills = atKills.length;
    const final = await runCli(args);
    expect(final.code).toBe(0);
    const counts = await countLines();
    const ids = [...Array.from({ length: TASKS / 2 }, (_, i) => `a${i}`), ...Array.from({ length: TASKS / 2 }, (_, i) => `b${i}`)];
    // every task ran
    expect(ids.filter((id) => !counts.has(id))).toEqual([]);
    // a task whose completion was recorded before a kill never ran again after it
    const rerunAfterRecorded = atKills.flatMap(({ recorded, counts: then }) => [...recorded].filter((id) => counts.get(id) !== then.get(id)));
    expect(rerunAfterRecorded).toEqual([]);
    // exec tasks in flight at a kill are adopted (on_recovery: adopt, the default), never started again
    const duplicates = [...counts].filter(([, c]) => c > 1).map(([id]) => id);
    expect(duplicates).toEqual([]);
    expect(kills).toBeGreaterThan(0);
  }, 120_000);
});
