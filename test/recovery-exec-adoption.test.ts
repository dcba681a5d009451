/**
 * Issue 11: `exec` processes outlive a `kill -9` of the supervisor. With the
 * default `on_recovery: adopt` the recovered supervisor adopts them (a
 * command never starts twice); with `restart` it ends them before running
 * the task again (two runs never overlap). Real supervisors, real processes.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFrames, type LogRecord } from '../src/persistence/append-log.js';
import { runAndKill, runCli, scratchDir } from './helpers/cli.js';
import { prng } from './helpers/prng.js';

const TASKS = ['t1', 't2', 't3'];
const LINES = 20;

/**
 * A task that notes its start (with its shell's pid) and end in `events`, and
 * prints LINES numbered lines 0.1 s apart. Before it starts it checks that no
 * earlier run of itself still lives: a live one is written down as an overlap.
 */
function command(id: string, events: string, lines = LINES): string {
  const overlap = `for p in $(grep "^start ${id} " ${events} 2>/dev/null | cut -d' ' -f3); do if [ -e /proc/$p ] && ! grep -q ') Z' /proc/$p/stat; then echo "overlap ${id} $p" >> ${events}; fi; done`;
  return `${overlap}; echo "start ${id} $$" >> ${events}; i=1; while [ $i -le ${lines} ]; do echo "${id} line $i"; i=$((i+1)); sleep 0.1; done; echo "end ${id}" >> ${events}`;
}

function workflow(events: string, onRecovery: 'adopt' | 'restart', lines = LINES, ids = TASKS): string {
  const tasks = ids.map((id) => `      - id: ${id}\n        handler: exec\n        input: {command: ${JSON.stringify(command(id, events, lines))}}`);
  return `name: long tasks\non_recovery: ${onRecovery}\nagent_requirements: {min_agents: 1, max_agents: ${TASKS.length}}\nphases:\n  - name: work\n    tasks:\n${tasks.join('\n')}\n`;
}


/** True once the events file shows `n` task runs started. */
const startsReach = (events: string, n: number) => async () => [...(await tally(events))].filter(([k]) => k.startsWith('start ')).reduce((s, [, c]) => s + c, 0) >= n;

/** Lines of the events file, counted by their first two words (`start t1`, `end t2`, `overlap t3`). */
async function tally(events: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const line of (await readFile(events, 'utf8').catch(() => '')).split('\n').filter(Boolean)) {
    const key = line.split(' ').slice(0, 2).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The logged events of one type. */
async function logged(dataDir: string, type: string): Promise<Record<string, unknown>[]> {
  const dir = join(dataDir, 'events');
  const records: LogRecord[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.log')).sort()) records.push(...readFrames(await readFile(join(dir, name))).records);
  return records.filter((r) => r.kind === 'event' && (r.event as { event_type: string }).event_type === type).map((r) => (r.event as { data: Record<string, unknown> }).data);
}

describe('exec tasks across kill -9 of the supervisor', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await scratchDir()));
  afterAll(() => cleanup());

  it.each([[11], [2024], [77]])('adopt (default): no command starts twice, each log holds every line once, across kills at random moments (seed %i)', async (seed) => {
    const random = prng(seed);
    const dataDir = join(dir, `adopt-${seed}`);
    const events = join(dir, `adopt-${seed}.events`);
    const file = join(dir, `adopt-${seed}.yaml`);
    await writeFile(file, workflow(events, 'adopt'));
    const args = ['run', file, '--id', 'wf', '--data-dir', dataDir];
    let kills = 0;
    for (let round = 0; round < 3; round++) {
      // the tasks run about 2 s from their start: kill anywhere from just after the first start to past their end
      if ((await runAndKill(args, Math.floor(random() * 2500), startsReach(events, 1))) === 0) break;
      kills++;
    }
    const final = await runCli(args);
    expect(final.code).toBe(0);
    const counts = await tally(events);
    for (const id of TASKS) {
      expect([id, counts.get(`start ${id}`), counts.get(`end ${id}`)]).toEqual([id, 1, 1]);
      const logs = await runCli(['logs', 'wf', id, '--data-dir', dataDir, '--tail', '1000']);
      expect(logs.stdout.split('\n').filter(Boolean)).toEqual(Array.from({ length: LINES }, (_, i) => `${id} line ${i + 1}`));
    }
    expect(kills).toBeGreaterThan(0);
    // the kills landed while commands ran: at least one was adopted or had its exit status recorded
    const recovered = await logged(dataDir, 'TASK_RECOVERED');
    expect(recovered.length).toBeGreaterThan(0);
    expect(recovered.every((d) => d.process === 'adopted' || d.process === 'recorded')).toBe(true);
  }, 120_000);

  it('a kill in the instant after a shepherd is spawned (nothing about it known yet) still starts the command once', async () => {
    const dataDir = join(dir, 'spawn-window');
    const events = join(dir, 'spawn-window.events');
    const file = join(dir, 'spawn-window.yaml');
    await writeFile(file, workflow(events, 'adopt'));
    const args = ['run', file, '--id', 'wf', '--data-dir', dataDir];
    // the worker kills its own supervisor right after the first spawn (fault injection)
    expect(await runAndKill(args, 60_000, async () => false, { TROUPE_FAULT: 'kill-after-spawn' })).not.toBe(0);
    const final = await runCli(args);
    expect(final.code).toBe(0);
    const counts = await tally(events);
    for (const id of TASKS) expect([id, counts.get(`start ${id}`), counts.get(`end ${id}`)]).toEqual([id, 1, 1]);
    // the recovered supervisor found the orphaned shepherd's claim: its process was adopted or recorded
    expect((await logged(dataDir, 'TASK_RECOVERED')).length).toBeGreaterThan(0);
    expect(final.stdout).toMatch(/⟲ \w+: (adopted its process|took the exit status)/);
  }, 60_000);

  it('restart: the earlier run is ended before the task runs again, so two runs of a task never overlap', async () => {
    const dataDir = join(dir, 'restart');
    const events = join(dir, 'restart.events');
    const file = join(dir, 'restart.yaml');
    // long enough (6 s) that they still run when the recovered supervisor gets to them; two, since
    // each running exec task holds one of the two worker threads of this machine
    const ids = TASKS.slice(0, 2);
    await writeFile(file, workflow(events, 'restart', 60, ids));
    await writeFile(join(dir, 'restart.config.yaml'), 'kill_grace: 1s\n');
    const args = ['run', file, '--id', 'wf', '--data-dir', dataDir, '--config', join(dir, 'restart.config.yaml')];
    // killed once every task runs
    expect(await runAndKill(args, 300, startsReach(events, ids.length))).not.toBe(0);
    const final = await runCli(args);
    expect(final.code).toBe(0);
    const counts = await tally(events);
    expect(ids.filter((id) => counts.has(`overlap ${id}`))).toEqual([]);
    // each task the recovered supervisor restarted ran twice, the first run ended before the second began
    const restarted = (await logged(dataDir, 'TASK_RECOVERED')).filter((d) => d.process === 'restarted').map((d) => d.task_id);
    expect([...restarted].sort()).toEqual(ids);
    for (const id of ids) expect([id, counts.get(`start ${id}`), counts.get(`end ${id}`)]).toEqual([id, 2, 1]);
    expect(final.stdout).toContain('ended its process from before the crash (on_recovery: restart)');
  }, 60_000);
});
