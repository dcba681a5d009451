import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, createManualClock, type Hub, type HubOptions } from '../src/index.js';
import { scratchDir } from './helpers/cli.js';
import { ok } from './helpers/responses.js';

const H = 3_600_000;
const locked = (id: string) => ({ id, handler: 'echo', input: { value: id }, exclusive_files: ['package.json'] });

describe('KPIs and agent records across restarts', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hubs: Hub[] = [];
  const clock = createManualClock(Date.UTC(2026, 0, 1));
  const open = async (options: HubOptions = {}) => {
    const hub = createHub({ maxThreads: 2, dataDir: dir, clock, random: () => 0.5, ...options });
    hubs.push(hub);
    await hub.ready;
    return hub;
  };
  const poolFile = () => join(dir, 'agent_pools', 'pool.ckpt');
  const kpiFile = () => join(dir, 'metrics', 'kpis.ckpt');
  const allTime = async (hub: Hub) => ok(await hub.execute({ operation: 'metrics' })).kpis.all_time;
  const agents = async (hub: Hub) => ok(await hub.execute({ operation: 'monitor-pool' })).agents;
  const health = async (hub: Hub) => ok(await hub.execute({ operation: 'health' }));
  const runTo = async (hub: Hub, id: string, definition: unknown) => {
    ok(await hub.execute({ operation: 'create', workflow_id: id, parameters: definition }));
    ok(await hub.execute({ operation: 'start', workflow_id: id }));
    return ok(await hub.execute({ operation: 'wait', workflow_id: id })).status as string;
  };
  /** a completed workflow with a file conflict, and a failed one */
  const work = async (hub: Hub, suffix = '') => {
    expect(await runTo(hub, `good${suffix}`, { name: 'good', phases: [{ name: 'p', tasks: [locked('a'), locked('b'), { id: 'c', handler: 'noop' }] }] })).toBe('completed');
    expect(await runTo(hub, `bad${suffix}`, { name: 'bad', phases: [{ name: 'p', tasks: [{ id: 'f', handler: 'fail', input: { retryable: false } }] }] })).toBe('failed');
  };
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(async () => {
    for (const hub of hubs) await hub.close({ graceMs: 0 });
    hubs = [];
    await cleanup();
  });

  it('a new hub on the same data directory answers the same all-time KPIs and the same agent scores', async () => {
    const a = await open();
    await work(a);
    const kpis = await allTime(a);
    expect(kpis).toMatchObject({ workflow_completion_rate: { numerator: 1, denominator: 2 }, conflict_rate: { numerator: 1, denominator: 4 } });
    const pool = await agents(a);
    expect(pool.some((agent: { tasks_failed: number }) => agent.tasks_failed === 1)).toBe(true);
    const own = ok(await a.execute({ operation: 'get-status', workflow_id: 'good' })).workflow_state.kpis;
    await a.close();

    const b = await open();
    expect(await allTime(b)).toEqual(kpis);
    // the same agents, with their scores, recent scores, success rates, average times and counts
    expect(await agents(b)).toEqual(pool);
    expect(ok(await b.execute({ operation: 'get-status', workflow_id: 'good' })).workflow_state.kpis).toEqual(own);
    const found = await health(b);
    expect(found.status).toBe('healthy');
    expect(found.recovery.state_files).toMatchObject({ pool: { status: 'restored', agents: pool.length }, kpis: { status: 'restored' } });
    // the restored agents go on counting, and a new agent does not take one of their ids
    await work(b, '_2');
    const after = await agents(b);
    expect(new Set(after.map((x: { agent_id: string }) => x.agent_id)).size).toBe(after.length);
    expect(after.reduce((n: number, x: { tasks_completed: number }) => n + x.tasks_completed, 0)).toBe(pool.reduce((n: number, x: { tasks_completed: number }) => n + x.tasks_completed, 0) * 2);
    const twice = await allTime(b);
    await b.close();

    // without the KPI file the log alone gives the same figures
    await rm(kpiFile());
    const c = await open();
    expect(await allTime(c)).toEqual(twice);
    expect((await health(c)).recovery.state_files.kpis).toMatchObject({ status: 'missing', replayed_events: expect.any(Number) });
  });

  it.each([
    ['garbage bytes', () => writeFile(poolFile(), randomBytes(300))],
    ['a torn write', async () => truncate(poolFile(), Math.floor((await readFile(poolFile())).length / 2))],
  ])('survives a pool.ckpt of %s: starts with fresh records, health says so, and writes a good one again', async (_what, spoil) => {
    const a = await open();
    await work(a);
    await a.close();
    await spoil();

    const b = await open();
    const found = await health(b);
    expect(found.status).toBe('degraded');
    expect(found.components.find((c: { component_id: string }) => c.component_id === 'store').status).toBe('degraded');
    expect(found.recovery.state_files.pool).toMatchObject({ status: 'corrupt', agents: 0, reason: expect.any(String) });
    const answer = await b.execute({ operation: 'health' });
    expect(answer.status === 'success' && answer.next_steps.join(' ')).toContain('pool.ckpt could not be read');
    expect(b.events().some((e) => e.event_type === 'ERROR_ENCOUNTERED' && e.data.component === 'agent-pool')).toBe(true);
    expect(await agents(b)).toEqual([]);
    // the KPIs did not depend on it
    expect((await allTime(b)).workflow_completion_rate).toMatchObject({ numerator: 1, denominator: 2 });
    await work(b, '_2');
    const fresh = await agents(b);
    await b.close();

    const c = await open();
    expect((await health(c)).recovery.state_files.pool.status).toBe('restored');
    expect(await agents(c)).toEqual(fresh);
  });

  it('keeps all-time KPIs once retention has dropped the log segments that held their events', async () => {
    const small = { logSegmentBytes: 4_000, eventRetention: '1h' };
    const a = await open(small);
    await work(a);
    const kpis = await allTime(a);
    await a.close();

    clock.advance(2 * H);
    const b = await open(small);
    expect((await health(b)).recovery.compacted.segments.length).toBeGreaterThan(0);
    expect(await allTime(b)).toEqual(kpis);
    await b.close();
    const c = await open(small);
    expect(await allTime(c)).toEqual(kpis);
    await c.close();

    // what the file is for: without it, the log that is left no longer holds the first runs
    await rm(kpiFile());
    const d = await open(small);
    expect((await allTime(d)).workflow_completion_rate.denominator).toBeLessThan(kpis.workflow_completion_rate.denominator);
  });
});
