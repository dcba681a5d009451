/**
 * Hardening item 5: a log that was deleted or cut short (checkpoints count
 * on seqs it does not hold) is damage, reported by `health` (degraded, with
 * what is missing) and by `troupe check` (exit 1), and seqs go on past every
 * claim; `troupe check` also reads the log and names a workflow the index
 * lists whose checkpoints are gone.
 */
import { readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkDataDir, createHub, type Hub } from '../src/index.js';
import { readFrames } from '../src/persistence/append-log.js';
import { FileCheckpointStore } from '../src/persistence/checkpoint-store.js';
import { eachTestDataDir, jsonLines, runCli } from './helpers/cli.js';
import { ok } from './helpers/responses.js';

const task = (id: string, extra: Record<string, unknown> = {}) => ({ id, handler: 'echo', input: { value: id }, ...extra });

describe('a lost or shortened log, and lost checkpoints', () => {
  const data = eachTestDataDir();
  const open = () => data.open();

  /** `done` (completed) and `held` (paused, active); returns the highest seq any checkpoint claims. */
  async function twoWorkflows(): Promise<number> {
    const a = await open();
    ok(await a.execute({ operation: 'create', workflow_id: 'done', parameters: { name: 'done', phases: [{ name: 'p', tasks: [task('x'), task('y', { depends_on: ['x'] })] }] } }));
    ok(await a.execute({ operation: 'start', workflow_id: 'done' }));
    expect(ok(await a.execute({ operation: 'wait', workflow_id: 'done' })).status).toBe('completed');
    ok(await a.execute({ operation: 'create', workflow_id: 'held', parameters: { name: 'held', phases: [{ name: 'p', tasks: [task('x'), task('y', { depends_on: ['x'] })] }] } }));
    ok(await a.execute({ operation: 'start', workflow_id: 'held' }));
    ok(await a.execute({ operation: 'pause', workflow_id: 'held' }));
    await a.close();
    const store = new FileCheckpointStore(join(data.dir(), 'checkpoints'));
    let claimed = 0;
    for (const id of ['done', 'held']) for (const info of await store.list(id)) claimed = Math.max(claimed, ((await store.read(info)).body as { applied_seq: number }).applied_seq);
    expect(claimed).toBeGreaterThan(3);
    return claimed;
  }
  const health = async (hub: Hub) => ok(await hub.execute({ operation: 'health' }));
  const logComponent = (report: { components: { component_id: string; status: string }[] }) => report.components.find((c) => c.component_id === 'log')!.status;

  it('a whole data directory: check exits 0 and says the log reads whole', async () => {
    await twoWorkflows();
    const report = await checkDataDir(data.dir());
    expect(report).toMatchObject({ ok: true, workflowsAtRisk: [], outcomesAtRisk: [], log: { segments: 1, damage: [], missing: null, saved: [] } });
    expect(report.log.records).toBeGreaterThan(0);
    const cli = await runCli(['check', '--data-dir', data.dir()]);
    expect(cli.stdout).toContain('every workflow can recover; the log reads whole');
    expect(cli.code).toBe(0);
    expect((await health(await open())).status).toBe('healthy');
  });

  it('a torn tail alone (what a crash mid-write leaves): check reports it and exits 0', async () => {
    await twoWorkflows();
    const segment = join(data.dir(), 'events', (await readdir(join(data.dir(), 'events')))[0]!);
    const size = (await readFile(segment)).length;
    await writeFile(segment, Buffer.alloc(64), { flag: 'a' });
    const report = await checkDataDir(data.dir());
    expect(report).toMatchObject({ ok: true, log: { missing: null, damage: [{ offset: size, droppedBytes: 64, beforeSeq: null, action: 'truncated' }] } });
    const cli = await runCli(['check', '--data-dir', data.dir()]);
    expect(cli.stdout).toContain(`! torn tail    ${segment.split('/').at(-1)} at byte ${size}: 64 byte(s), bad frame magic (zeroed or overwritten)`);
    expect(cli.stdout).toContain('the log reads whole up to a torn tail the next start cuts off');
    expect(cli.code).toBe(0);
  });

  it('a deleted log: check exits 1; health is degraded, saying what is missing; seqs go on past every claim; the next start is healthy', async () => {
    const claimed = await twoWorkflows();
    await rm(join(data.dir(), 'events'), { recursive: true });

    const check = await runCli(['check', '--data-dir', data.dir()]);
    expect(check.stdout).toContain(`✗ log short    the log ends at seq 0, but checkpoints count records up to seq ${claimed}`);
    expect(check.stdout).toContain('workflows that may run again tasks that completed after their checkpoint: held');
    expect(check.code).toBe(1);

    const b = await open();
    const report = await health(b);
    expect(report.status).toBe('degraded');
    expect(logComponent(report)).toBe('degraded');
    expect(report.recovery.log_damage).toEqual([]);
    expect(report.recovery.log_missing).toEqual({
      log_last_seq: 0,
      claimed_seq: claimed,
      claimed_by: expect.arrayContaining([expect.objectContaining({ workflow_id: 'done' }), expect.objectContaining({ workflow_id: 'held' })]) as unknown[],
    });
    expect(report.recovery.log_missing.claimed_by[0].applied_seq).toBe(claimed);
    const notice = b.events().find((e) => e.event_type === 'ERROR_ENCOUNTERED' && e.data.component === 'log')!;
    expect(notice.data).toMatchObject({ log_last_seq: 0, claimed_seq: claimed });
    // every record of this start comes after what the checkpoints claim
    expect(Math.min(...b.events().map((e) => e.seq))).toBeGreaterThan(claimed);
    expect(await readdir(join(data.dir(), 'events'))).toEqual([`${String(claimed + 1).padStart(12, '0')}.log`]);
    // both workflows recovered from their checkpoints
    expect(ok(await b.execute({ operation: 'get-status', workflow_id: 'done' })).workflow_state.status).toBe('completed');
    ok(await b.execute({ operation: 'resume', workflow_id: 'held' }));
    expect(ok(await b.execute({ operation: 'wait', workflow_id: 'held' })).status).toBe('completed');
    await b.close();

    const c = await open();
    const after = await health(c);
    expect(after.status).toBe('healthy');
    expect(after.recovery.log_missing).toBeNull();
  });

  it('a log cut short at a frame boundary (nothing for the frames to show): reported by check and by health', async () => {
    const claimed = await twoWorkflows();
    const segment = join(data.dir(), 'events', (await readdir(join(data.dir(), 'events')))[0]!);
    const bytes = await readFile(segment);
    let end = 0;
    for (let i = 0; i < 3; i++) end += 12 + bytes.readUInt32BE(end + 4);
    await truncate(segment, end);

    const report = await checkDataDir(data.dir());
    expect(report).toMatchObject({ ok: false, workflowsAtRisk: [], outcomesAtRisk: ['held'], log: { last_seq: 3, damage: [], missing: { log_last_seq: 3, claimed_seq: claimed } } });
    const cli = await runCli(['check', '--data-dir', data.dir(), '--json']);
    expect(jsonLines(cli.stdout).at(-1)).toEqual({ ok: false, workflows_at_risk: [], outcomes_at_risk: ['held'] });
    expect(jsonLines(cli.stdout).find((l) => 'log' in l)!.log.missing).toMatchObject({ log_last_seq: 3, claimed_seq: claimed });
    expect(cli.code).toBe(1);

    const b = await open();
    const h = await health(b);
    expect(h.status).toBe('degraded');
    expect(h.recovery.log_missing).toMatchObject({ log_last_seq: 3, claimed_seq: claimed });
    expect(h.persistence.log_next_seq).toBeGreaterThan(claimed);
  });

  it('deleted checkpoints: check names each workflow the index lists that has none, and exits 1', async () => {
    await twoWorkflows();
    await rm(join(data.dir(), 'checkpoints', 'held'), { recursive: true });
    await rm(join(data.dir(), 'checkpoints', 'done'), { recursive: true });

    const report = await checkDataDir(data.dir());
    expect(report.verdicts).toEqual([
      { workflow_id: 'done', checkpoint_id: null, verdict: 'missing', status: null, message: 'the index lists it (completed) but it has no checkpoint: it cannot be recovered' },
      { workflow_id: 'held', checkpoint_id: null, verdict: 'missing', status: null, message: 'the index lists it (active) but it has no checkpoint: it cannot be recovered' },
    ]);
    expect(report.workflowsAtRisk).toEqual(['done', 'held']);
    expect(report.ok).toBe(false);
    const cli = await runCli(['check', '--data-dir', data.dir()]);
    expect(cli.stdout).toContain('✗ missing      held  the index lists it (active) but it has no checkpoint');
    expect(cli.stdout).toContain('workflows that would not recover: done, held');
    expect(cli.code).toBe(1);
    // and check wrote nothing: the index still lists both
    expect((await readdir(join(data.dir(), 'workflows', 'active'))).sort()).toEqual(['held.wf']);
  });

  it('a damaged frame holding a task outcome logged after the checkpoint: check names the workflow that would run the task again', async () => {
    const a = await open();
    ok(await a.execute({ operation: 'create', workflow_id: 'held', parameters: { name: 'held', phases: [{ name: 'p', tasks: [task('x'), task('y', { depends_on: ['x'] })] }] } }));
    ok(await a.execute({ operation: 'start', workflow_id: 'held' }));
    ok(await a.execute({ operation: 'pause', workflow_id: 'held' }));
    await a.close();
    // as a crash leaves it: no checkpoint after `start`, so the outcomes after it are the only record of x (and y)
    const store = new FileCheckpointStore(join(data.dir(), 'checkpoints'));
    const infos = await store.list('held');
    const start = infos.find((i) => i.trigger === 'start')!;
    for (const info of infos.filter((i) => i.seq > start.seq)) await rm(join(data.dir(), 'checkpoints', 'held', `${info.id}.ckpt`));
    const applied = ((await store.read(start)).body as { applied_seq: number }).applied_seq;
    const segment = join(data.dir(), 'events', (await readdir(join(data.dir(), 'events')))[0]!);
    const bytes = await readFile(segment);
    // the frame of x's outcome, logged after that checkpoint: flip a byte of its body
    const { records } = readFrames(bytes);
    const lost = records.find((r) => r.kind === 'outcome' && r.task_id === 'x')!;
    expect(lost.seq).toBeGreaterThan(applied);
    let offset = 0;
    for (let i = 0; i < records.indexOf(lost); i++) offset += 12 + bytes.readUInt32BE(offset + 4);
    expect(bytes.readUInt32BE(offset)).toBe(0x54524c47);
    bytes[offset + 14]! ^= 0x40;
    await writeFile(segment, bytes);

    const report = await checkDataDir(data.dir());
    expect(report.log.damage).toEqual([expect.objectContaining({ offset, afterSeq: lost.seq - 1, beforeSeq: lost.seq + 1, action: 'removed' })]);
    expect(report.outcomesAtRisk).toEqual(['held']);
    expect(report.ok).toBe(false);
    const cli = await runCli(['check', '--data-dir', data.dir()]);
    expect(cli.stdout).toContain(`between seq ${lost.seq - 1} and seq ${lost.seq + 1}; a start cuts it out`);
    expect(cli.code).toBe(1);
  });
});
