import { describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import type { Hub, ManualClock } from '../src/index.js';
import type { EventRecord } from '../src/runtime/events/event-record.js';
import { EVENT_DATA } from '../src/runtime/events/event-registry.js';
import { KpiFold } from '../src/runtime/metrics/kpi-fold.js';
import { kpiReport, workflowKpis } from '../src/runtime/metrics/kpi-report.js';
import { foldFrom, snapshotOf } from '../src/runtime/metrics/kpi-snapshot.js';
import { eachTestOwnHub, ok, run, statusOf, waitFor } from './hub-fixtures.js';

const T0 = Date.UTC(2026, 0, 1);
const S = 1_000;
const H = 3_600_000;

/** A recorded event as the log holds it; `source` defaults to the scheduler's. */
let seq = 0;
function ev(type: EventRecord['event_type'], workflow: string, at: number, data: Record<string, unknown> = {}, source = 'scheduler'): EventRecord {
  return {
    event_id: `e${++seq}`, seq, event_type: type, workflow_id: workflow, phase: 'global', timestamp: new Date(at).toISOString(),
    severity: 'info', source, data, routing_key: '', message: '', correlation_id: null, causation_id: null, tags: [],
  };
}
const agent = (type: 'AGENT_ALLOCATED' | 'AGENT_DEALLOCATED', id: string, at: number) => ev(type, 'global', at, { agent_id: id, workflow_id: 'global', role: 'general' }, 'troupe');
const started = (wf: string, task: string, agentId: string, at: number) => [ev('TASK_ASSIGNED', wf, at, { task_id: task, agent_id: agentId }), ev('TASK_STARTED', wf, at, { task_id: task, agent_id: agentId })];
const done = (wf: string, task: string, agentId: string, at: number, ms: number, ok = true) =>
  ev(ok ? 'TASK_COMPLETED' : 'TASK_FAILED', wf, at, { task_id: task, agent_id: agentId, execution_time_ms: ms, ...(ok ? {} : { will_retry: false }) });

const folded = (events: EventRecord[]) => {
  const fold = new KpiFold();
  for (const e of events) fold.apply(e);
  return fold;
};
/** value / numerator / denominator of each KPI of one window, as the tests compare them */
const figures = (window: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(window).filter(([k]) => k !== 'since').map(([k, v]) => [k, (({ value, numerator, denominator, met }) => ({ value, numerator, denominator, met }))(v as Record<string, unknown>)]));

/** Two agents; wf1 runs x (a1, 10 s) and z (a2, 5 s) side by side, then y (a2, 10 s) once x frees the file y waits for; wf2 fails; wf3 is cancelled. */
function history(): EventRecord[] {
  return [
    agent('AGENT_ALLOCATED', 'a1', T0),
    agent('AGENT_ALLOCATED', 'a2', T0),
    ev('WORKFLOW_STARTED', 'wf1', T0, { start_time: new Date(T0).toISOString() }),
    ...started('wf1', 'x', 'a1', T0),
    ...started('wf1', 'z', 'a2', T0),
    ev('RESOURCE_CONFLICT', 'wf1', T0, { task_id: 'y', conflict_id: 'c1', conflicting_requests: [], severity: 'low' }),
    // the same wait told again (another pump, or after a restart) counts once
    ev('RESOURCE_CONFLICT', 'wf1', T0 + S, { task_id: 'y', conflict_id: 'c2', conflicting_requests: [], severity: 'low' }),
    done('wf1', 'z', 'a2', T0 + 5 * S, 5 * S),
    done('wf1', 'x', 'a1', T0 + 10 * S, 10 * S),
    ...started('wf1', 'y', 'a2', T0 + 10 * S),
    done('wf1', 'y', 'a2', T0 + 20 * S, 10 * S),
    ev('WORKFLOW_COMPLETED', 'wf1', T0 + 20 * S, { status: 'completed' }),
    ev('WORKFLOW_STARTED', 'wf2', T0 + 20 * S),
    ...started('wf2', 'f', 'a1', T0 + 20 * S),
    done('wf2', 'f', 'a1', T0 + 30 * S, 10 * S, false),
    ev('WORKFLOW_FAILED', 'wf2', T0 + 30 * S, { status: 'failed' }),
    ev('WORKFLOW_STARTED', 'wf3', T0 + 30 * S),
    ev('WORKFLOW_CANCELLED', 'wf3', T0 + 30 * S, { status: 'cancelled' }),
    // what a user publishes is not the runtime's account: ignored
    ev('WORKFLOW_COMPLETED', 'fake', T0 + 30 * S, { status: 'completed' }, 'user'),
  ];
}

describe('KPIs folded from a recorded history', () => {
  it('gives exact figures for each KPI, over all time and the last day alike', () => {
    const report = kpiReport(folded(history()), T0 + 30 * S);
    const expected = {
      // wf1 completed, wf2 failed; the cancellation (the user's decision) and the user's event count in neither
      workflow_completion_rate: { value: 50, numerator: 1, denominator: 2, met: false },
      // wf1: 25 s of tasks over 20 s x 2 agents at most; wf2: 10 s over 10 s x 1
      parallel_efficiency: { value: 70, numerator: 35_000, denominator: 50_000, met: true },
      // y waited on a held file, of the 4 tasks dispatched
      conflict_rate: { value: 25, numerator: 1, denominator: 4, met: false },
      recovery_success_rate: { value: null, numerator: 0, denominator: 0, met: null },
      // two agents for the 30 s runs were open; busy 10 + 5 + 10 + 10 s
      agent_utilization: { value: 58.3, numerator: 35_000, denominator: 60_000, met: false },
    };
    expect(figures(report.all_time)).toEqual(expected);
    expect(figures(report.last_24h)).toEqual(expected);
    expect(report.all_time).toMatchObject({ since: new Date(T0).toISOString(), parallel_efficiency: { target: 70, comparison: '>=', unit: '%' }, conflict_rate: { target: 5, comparison: '<' } });
  });

  it("gives a workflow's own KPIs: efficiency with its wall time and agents, conflicts, retries, completion", () => {
    const fold = folded(history());
    expect(workflowKpis(fold, 'wf1', T0 + 30 * S)).toMatchObject({
      parallel_efficiency: { value: 62.5, numerator: 25_000, denominator: 40_000, wall_ms: 20_000, agents: 2 },
      conflict_rate: { value: 33.3, numerator: 1, denominator: 3 },
      retries: 0,
      completion: 'completed',
      completed: true,
    });
    expect(workflowKpis(fold, 'wf2', T0 + 30 * S)).toMatchObject({ completion: 'failed', completed: false, parallel_efficiency: { value: 100 } });
    expect(workflowKpis(fold, 'never-started', T0)).toBeNull();
  });

  it('answers null, met null, with nothing to divide by', () => {
    const report = kpiReport(new KpiFold(), T0);
    for (const window of [report.all_time, report.last_24h]) {
      for (const name of ['workflow_completion_rate', 'parallel_efficiency', 'conflict_rate', 'recovery_success_rate', 'agent_utilization'] as const) {
        expect(window[name]).toEqual({ value: null, met: null, numerator: 0, denominator: 0, unit: '%', target: expect.any(Number), comparison: expect.any(String) });
      }
    }
    expect(report.all_time.since).toBeNull();
  });

  it('keeps the last day by the clock: what is 25 h old counts in all_time only, time accrued across the edge pro rata', () => {
    const fold = folded([
      agent('AGENT_ALLOCATED', 'a1', T0),
      ev('WORKFLOW_STARTED', 'old', T0),
      ...started('old', 'x', 'a1', T0),
      done('old', 'x', 'a1', T0 + H, H),
      ev('WORKFLOW_COMPLETED', 'old', T0 + H, { status: 'completed' }),
    ]);
    // the window starts half-way through the hour old ran: half of its agent time is in it
    let day = kpiReport(fold, T0 + 24.5 * H).last_24h;
    expect(day.agent_utilization).toMatchObject({ value: 100, numerator: H / 2, denominator: H / 2 });
    expect(day.workflow_completion_rate).toMatchObject({ value: 100, numerator: 1, denominator: 1 });

    for (const e of [ev('WORKFLOW_STARTED', 'new', T0 + 25 * H), ev('WORKFLOW_FAILED', 'new', T0 + 26 * H, { status: 'failed' })]) fold.apply(e);
    const report = kpiReport(fold, T0 + 26 * H);
    day = report.last_24h;
    // `old` ended 25 h ago: all time only
    expect(report.all_time.workflow_completion_rate).toMatchObject({ value: 50, numerator: 1, denominator: 2 });
    expect(day.workflow_completion_rate).toMatchObject({ value: 0, numerator: 0, denominator: 1, met: false });
    expect(day.parallel_efficiency).toMatchObject({ value: null, denominator: 0 });
    // the agent stood by for `new` (1 h, nothing ran): all of it in the day; old's hour only in all time
    expect(day.agent_utilization).toMatchObject({ value: 0, numerator: 0, denominator: H });
    expect(report.all_time.agent_utilization).toMatchObject({ value: 50, numerator: H, denominator: 2 * H });
    expect(report.last_24h.since).toBe(new Date(T0 + 2 * H).toISOString());
  });

  it('counts a recovery that ends completed, leaves the time the hub was down out, and counts one that could not load', () => {
    const down = T0 + 10 * S;
    const back = T0 + H;
    const fold = folded([
      agent('AGENT_ALLOCATED', 'a1', T0),
      ev('WORKFLOW_STARTED', 'r', T0),
      ev('WORKFLOW_STARTED', 's', T0),
      ...started('r', 'x', 'a1', T0),
      done('r', 'x', 'a1', down, 10 * S),
      // the supervisor dies here; an hour later a new one recovers r and s, and fails to load t
      ev('CHECKPOINT_RESTORED', 'r', back, { checkpoint: 'c', trigger: 'recovery' }, 'troupe'),
      ev('CHECKPOINT_RESTORED', 's', back, { checkpoint: 'c', trigger: 'recovery' }, 'troupe'),
      ev('ERROR_ENCOUNTERED', 't', back, { component: 'recovery', code: 'CHECKPOINT_CORRUPT' }, 'troupe'),
      ev('SYSTEM_STARTUP', 'global', back, { down_since: new Date(down).toISOString(), restored_agents: ['a1'] }, 'troupe'),
      ...started('r', 'y', 'a1', back),
      done('r', 'y', 'a1', back + 10 * S, 10 * S),
      ev('WORKFLOW_COMPLETED', 'r', back + 10 * S, { status: 'completed' }),
      ev('WORKFLOW_FAILED', 's', back + 10 * S, { status: 'failed' }),
    ]);
    const all = kpiReport(fold, back + 10 * S).all_time;
    expect(all.recovery_success_rate).toMatchObject({ value: 33.3, numerator: 1, denominator: 3, met: false });
    // r: 20 s of tasks in 20 s of wall time (the hour down is not part of it)
    expect(workflowKpis(fold, 'r', back + 10 * S)!.parallel_efficiency).toMatchObject({ value: 100, wall_ms: 20_000 });
    // the agent was available 10 s before the crash and 10 s after it, and busy all that time
    expect(all.agent_utilization).toMatchObject({ value: 100, numerator: 20_000, denominator: 20_000 });
  });

  it('leaves paused time with nothing running out of the wall time, and counts retries', () => {
    const fold = folded([
      agent('AGENT_ALLOCATED', 'a1', T0),
      ev('WORKFLOW_STARTED', 'p', T0),
      ...started('p', 'x', 'a1', T0),
      ev('WORKFLOW_PAUSED', 'p', T0 + S),
      { ...done('p', 'x', 'a1', T0 + 10 * S, 10 * S, false), data: { task_id: 'x', agent_id: 'a1', execution_time_ms: 10 * S, will_retry: true } },
      ev('WORKFLOW_RESUMED', 'p', T0 + H),
      ...started('p', 'x', 'a1', T0 + H),
      done('p', 'x', 'a1', T0 + H + 10 * S, 10 * S),
      ev('WORKFLOW_COMPLETED', 'p', T0 + H + 10 * S, { status: 'completed' }),
    ]);
    expect(workflowKpis(fold, 'p', T0 + 2 * H)).toMatchObject({ retries: 1, parallel_efficiency: { value: 100, wall_ms: 20_000, agents: 1 }, conflict_rate: { numerator: 0, denominator: 1 } });
  });

  it('saves and restores its whole state: the restored fold answers the same, now and as more events come', () => {
    const events = history();
    const fold = folded(events.slice(0, 12));
    const packr = new Packr({ useRecords: false, moreTypes: true, useToJSON: false, structuredClone: false });
    const copy = foldFrom(packr.unpack(packr.pack(snapshotOf(fold))));
    expect(copy.lastSeq).toBe(fold.lastSeq);
    for (const e of events.slice(12)) {
      fold.apply(e);
      copy.apply(e);
    }
    expect(kpiReport(copy, T0 + 31 * S)).toEqual(kpiReport(fold, T0 + 31 * S));
    expect(workflowKpis(copy, 'wf1', T0 + 31 * S)).toEqual(workflowKpis(fold, 'wf1', T0 + 31 * S));
    expect(() => foldFrom({ through_seq: 'x' })).toThrow(/unknown shape/);
  });
});

describe('KPIs of a running hub', () => {
  let hub: Hub;
  let clock: ManualClock;
  eachTestOwnHub((made) => ({ hub, clock } = made));

  it('counts a task kept back by a held exclusive file once, as RESOURCE_CONFLICT, in metrics and in get-status', async () => {
    const task = (id: string) => ({ id, handler: 'echo', input: { value: id }, exclusive_files: ['package.json'] });
    await run(hub, 'locked', { name: 'locked', phases: [{ name: 'p', tasks: [task('a'), task('b'), { id: 'c', handler: 'noop' }] }] });
    expect((await waitFor(hub, 'locked')).status).toBe('completed');

    const conflicts = hub.events('locked').filter((e) => e.event_type === 'RESOURCE_CONFLICT');
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]!.data).toMatchObject({
      task_id: 'b',
      files: ['package.json'],
      conflicting_requests: [{ kind: 'task', workflow_id: 'locked', task_id: 'b' }, { kind: 'task', workflow_id: 'locked', task_id: 'a', attempt: 1, files: ['package.json'] }],
    });
    expect(EVENT_DATA.RESOURCE_CONFLICT.safeParse(conflicts[0]!.data).success).toBe(true);

    const { kpis } = (await ok(hub, { operation: 'metrics' })).result as { kpis: { all_time: Record<string, unknown>; last_24h: Record<string, unknown> } };
    expect(kpis.all_time).toMatchObject({
      conflict_rate: { value: 33.3, numerator: 1, denominator: 3, met: false },
      workflow_completion_rate: { value: 100, numerator: 1, denominator: 1, met: true },
      recovery_success_rate: { value: null, met: null },
    });
    expect(figures(kpis.last_24h)).toEqual(figures(kpis.all_time));
    const own = ((await statusOf(hub, 'locked')) as unknown as { kpis: Record<string, unknown> }).kpis;
    expect(own).toMatchObject({ conflict_rate: { numerator: 1, denominator: 3 }, retries: 0, completion: 'completed', completed: true });

    // a day later the run is out of the last 24 h, not out of all time
    clock.advance(25 * H);
    const later = ((await ok(hub, { operation: 'metrics' })).result as { kpis: { all_time: Record<string, unknown>; last_24h: Record<string, unknown> } }).kpis;
    expect(later.last_24h).toMatchObject({ conflict_rate: { value: null, denominator: 0 }, workflow_completion_rate: { value: null } });
    expect(later.all_time).toMatchObject({ conflict_rate: { numerator: 1, denominator: 3 } });
  });

  it('refuses publish-event under the runtime\'s own sources, so a user cannot forge a KPI', async () => {
    const refused = await hub.execute({ operation: 'publish-event', workflow_id: 'x', parameters: { event_type: 'WORKFLOW_COMPLETED', source: 'scheduler', data: { completion_time: 'now', final_metrics: {} } } });
    expect(refused).toMatchObject({ status: 'error', error: { code: 'VALIDATION_FAILED', details: expect.stringContaining("runtime's own sources") } });
    await ok(hub, { operation: 'publish-event', workflow_id: 'x', parameters: { event_type: 'WORKFLOW_COMPLETED', data: { completion_time: 'now', final_metrics: {} } } });
    const { kpis } = (await ok(hub, { operation: 'metrics' })).result as { kpis: { all_time: { workflow_completion_rate: unknown } } };
    expect(kpis.all_time.workflow_completion_rate).toMatchObject({ denominator: 0 });
  });
});
