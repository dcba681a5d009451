/**
 * Hardening item 5, "One bad byte in the log throws away the rest of it":
 * a real supervisor (`troupe run`) is killed with SIGKILL before and after a
 * byte of an early log frame is flipped. The damage must cost that frame
 * only: the frames after it survive, completed tasks do not run again, seqs
 * keep increasing across restarts, and the crash after that still replays
 * the outcomes logged since.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFrames, type LogRecord } from '../src/persistence/append-log.js';
import { FileCheckpointStore } from '../src/persistence/checkpoint-store.js';
import { BIN, jsonLines, ROOT, runCli, scratchDir, type CliResult } from './helpers/cli.js';

const TASKS = 12;
const ids = Array.from({ length: TASKS }, (_, i) => `t${i}`);

/**
 * Chains of exec tasks, each appending its id to `out`. Phase `one` is
 * t0..t3: its end is checkpointed, so from then on the checkpoints count
 * every record up to there. Phase `two` is t4..t11 with a gate after t5 and
 * after t9 (a worker-thread task that holds until its file exists, so a kill
 * lands with nothing else in flight).
 */
function workflowYaml(out: string, gates: string): string {
  const exec = (id: string, after: string | null) => `      - {id: ${id}, handler: exec, ${after ? `depends_on: [${after}], ` : ''}input: {command: "echo ${id} >> ${out}"}}`;
  const gate = (id: string, after: string) => `      - {id: ${id}, handler: gate, depends_on: [${after}], input: {file: "${join(gates, id)}"}}`;
  return [
    'name: log damage',
    'checkpoint_interval: 1h',
    'phases:',
    '  - name: one',
    '    tasks:',
    exec('t0', null), exec('t1', 't0'), exec('t2', 't1'), exec('t3', 't2'),
    '  - name: two',
    '    tasks:',
    exec('t4', null), exec('t5', 't4'), gate('g5', 't5'),
    exec('t6', 'g5'), exec('t7', 't6'), exec('t8', 't7'), exec('t9', 't8'), gate('g9', 't9'),
    exec('t10', 'g9'), exec('t11', 't10'),
    '',
  ].join('\n');
}

/** Every segment's bytes, records and frame bounds. */
async function readLog(dataDir: string) {
  const dir = join(dataDir, 'events');
  const names = (await readdir(dir)).filter((n) => /^\d{12}\.log$/.test(n)).sort();
  const segments = [];
  for (const name of names) {
    const bytes = await readFile(join(dir, name));
    const bounds = [0];
    // walks the frames by their length fields: only used on an undamaged segment
    while (bounds.at(-1)! < bytes.length) bounds.push(bounds.at(-1)! + 12 + bytes.readUInt32BE(bounds.at(-1)! + 4));
    segments.push({ name, bytes, bounds, records: readFrames(bytes).records });
  }
  return { segments, records: segments.flatMap((s) => s.records) };
}

const completions = (records: LogRecord[]) => new Set(records.filter((r) => r.kind === 'outcome' && r.ok === true).map((r) => String(r.task_id)));

/** How often each task has run, from the lines the tasks wrote. */
async function runCounts(out: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const line of (await readFile(out, 'utf8').catch(() => '')).split('\n').filter(Boolean)) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

/** Supervisors started by runUntilGate: one that a failed or timed-out test leaves at its gate is killed after the test. */
const started = new Set<ChildProcess>();

/**
 * Starts `troupe run --json` and, once it has printed TASK_STARTED of the
 * gate `task`, runs `before` (while the supervisor still runs), then kills
 * it with SIGKILL. Resolves with what `before` returned once the process is gone.
 */
function runUntilGate<T>(args: string[], task: string, before: () => Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    started.add(child);
    let stdout = '';
    let stderr = '';
    let result: { value: T } | { error: unknown } | null = null;
    let triggered = false;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (triggered || !jsonLines(stdout).some((e) => e.event_type === 'TASK_STARTED' && e.data?.task_id === task)) return;
      triggered = true;
      before().then(
        (value) => (result = { value }),
        (error: unknown) => (result = { error }),
      ).finally(() => child.kill('SIGKILL'));
    });
    child.on('exit', (code, signal) => {
      started.delete(child);
      if (result && 'value' in result) resolve(result.value);
      else if (result) reject(result.error as Error);
      else reject(new Error(`troupe run ended (${String(code)}, ${String(signal)}) before ${task} started; stdout: ${stdout.slice(-2000)}; stderr: ${stderr}`));
    });
  });
}

/** The highest seq any checkpoint of `id` counts as applied. */
async function claimedSeq(dataDir: string, id: string): Promise<number> {
  const store = new FileCheckpointStore(join(dataDir, 'checkpoints'));
  let max = 0;
  for (const info of await store.list(id)) max = Math.max(max, ((await store.read(info)).body as { applied_seq: number }).applied_seq);
  return max;
}

describe('a flipped byte in an early log frame, with a real supervisor killed before and after it', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await scratchDir()));
  afterAll(async () => {
    for (const child of started) child.kill('SIGKILL');
    await cleanup();
  });

  it('costs that frame only: later frames survive, completed tasks do not run again, seqs keep increasing, and the next crash still replays', async () => {
    const dataDir = join(dir, 'data');
    const out = join(dir, 'out.txt');
    const gates = join(dir, 'gates');
    await mkdir(gates);
    const file = join(dir, 'chain.yaml');
    await writeFile(file, workflowYaml(out, gates));
    const config = join(dir, 'troupe.config.json');
    await writeFile(config, JSON.stringify({ handlers: { gate: `${join(ROOT, 'test/fixtures/handlers/gate.mjs')}#waitForFile` } }));
    const args = ['run', file, '--id', 'wf', '--data-dir', dataDir, '--config', config];

    // round 1: killed at the first gate, once t0..t5 are logged and applied
    await runUntilGate(args, 'g5', async () => {});
    const before = await readLog(dataDir);
    expect(before.segments).toHaveLength(1);
    const recorded1 = completions(before.records);
    expect([...recorded1]).toEqual(expect.arrayContaining(['t0', 't1', 't2', 't3', 't4', 't5']));
    const counts1 = await runCounts(out);
    const maxSeqBefore = before.records.at(-1)!.seq;

    // flip one byte in the body of the second frame: a record the checkpoints already count,
    // with every task outcome after it
    const segment = before.segments[0]!;
    const [start, end] = [segment.bounds[1]!, segment.bounds[2]!];
    const lost = segment.records[1]!;
    expect(lost.seq).toBeLessThanOrEqual(await claimedSeq(dataDir, 'wf'));
    expect(before.records.filter((r) => r.kind === 'outcome').every((r) => r.seq > lost.seq)).toBe(true);
    const damaged = Buffer.from(segment.bytes);
    damaged[start + 12 + 3]! ^= 0x20;
    await writeFile(join(dataDir, 'events', segment.name), damaged);

    // before any start, check reads the log and finds it
    const checked = await runCli(['check', '--data-dir', dataDir]);
    expect(checked.stdout).toContain(`✗ damaged      ${segment.name} at byte ${start}: ${end - start} byte(s), crc32 mismatch, between seq ${segment.records[0]!.seq} and seq ${segment.records[2]!.seq}`);
    expect(checked.code).toBe(1);

    // round 2: the first gate opens; the damage is reported while the supervisor runs; killed at the second gate
    await writeFile(join(gates, 'g5'), '');
    const health = await runUntilGate(args, 'g9', async () => jsonLines((await runCli(['exec', 'health', '--data-dir', dataDir])).stdout)[0]!);
    expect(health.result.status).toBe('degraded');
    expect(health.result.components.find((c: { component_id: string }) => c.component_id === 'log').status).toBe('degraded');
    expect(health.result.recovery.log_damage).toEqual([
      {
        segment: segment.name,
        offset: start,
        droppedBytes: end - start,
        reason: 'crc32 mismatch',
        afterSeq: segment.records[0]!.seq,
        beforeSeq: segment.records[2]!.seq,
        action: 'removed',
        savedTo: expect.stringContaining(join('events', 'damaged')) as string,
      },
    ]);
    expect(health.result.recovery.log_missing).toBeNull();
    // the damaged bytes are kept for inspection, the segment no longer holds them
    expect((await readFile(health.result.recovery.log_damage[0].savedTo as string)).equals(damaged.subarray(start, end))).toBe(true);

    const after = await readLog(dataDir);
    // every frame but the damaged one survived, as it was
    expect(after.records.slice(0, before.records.length - 1)).toEqual(before.records.filter((r) => r.seq !== lost.seq));
    // seqs only ever increase, and this run's records come after everything logged or claimed before
    const seqs = after.records.map((r) => r.seq);
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    expect(after.records[before.records.length - 1]!.seq).toBeGreaterThan(maxSeqBefore);
    // the damage was published and is in the history
    const notices = after.records.map((r) => r.event as { event_type: string; severity: string; data: Record<string, unknown> } | undefined).filter((e) => e?.event_type === 'ERROR_ENCOUNTERED' && e.data.component === 'log');
    expect(notices).toEqual([expect.objectContaining({ severity: 'error', data: expect.objectContaining({ offset: start, after_seq: segment.records[0]!.seq, before_seq: segment.records[2]!.seq }) as unknown })]);
    // no task whose completion was logged before the first kill ran again
    const counts2 = await runCounts(out);
    expect([...recorded1].filter((id) => counts2.get(id) !== counts1.get(id))).toEqual([]);
    const recorded2 = completions(after.records);
    expect([...recorded2]).toEqual(expect.arrayContaining(['t6', 't7', 't8', 't9']));

    // round 3: runs to the end; what round 2 logged is replayed, not run again
    await writeFile(join(gates, 'g9'), '');
    const final: CliResult = await runCli(args);
    expect(final.code).toBe(0);
    const counts3 = await runCounts(out);
    expect([...recorded2].filter((id) => counts3.get(id) !== counts2.get(id))).toEqual([]);
    expect(ids.filter((id) => !counts3.has(id))).toEqual([]);
    const last = await readLog(dataDir);
    const allSeqs = last.records.map((r) => r.seq);
    expect(allSeqs).toEqual([...new Set(allSeqs)].sort((a, b) => a - b));

    // the repaired log is whole again: check finds nothing wrong, and says what an earlier start set aside
    const check = await runCli(['check', '--data-dir', dataDir]);
    expect(check.stdout).toContain('damaged region(s) an earlier start cut out of the log');
    expect(check.code).toBe(0);
    // six real processes in a row (three supervisors, exec, two checks): minutes on a loaded two-core machine
  }, 240_000);
});
