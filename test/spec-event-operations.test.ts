/**
 * The spec's event operations as written (coordination-hub.md "Enhanced
 * Event System Operations"): the spec's names are taken, what cannot apply
 * is said in warnings, and what is asked that troupe can do is done.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, createManualClock, type EventRecord, type Hub, type HubResponse, type Session } from '../src/index.js';
import { answerLine } from '../src/cli/repl.js';
import { LocalTarget } from '../src/cli/socket-client.js';
import { newLineContext } from '../src/cli/correlate.js';
import { scratchDir } from './helpers/cli.js';
import { ok } from './helpers/responses.js';

const warningsOf = (r: HubResponse) => (r.status === 'success' ? (r.warnings ?? []) : []);
const maintenance = { operation_type: 'disk swap', estimated_duration: '5m', impact: 'none' };

describe('publish-event and configure-batching take the spec examples as written', () => {
  let hub: Hub;
  beforeEach(() => {
    hub = createHub({ maxThreads: 1, clock: createManualClock(Date.UTC(2026, 0, 1)) });
  });
  afterEach(() => hub.close());

  it("publish-event: phase_completed is PHASE_COMPLETED, phase and duration are phase_id and actual_duration; what the event lacks is said, and enable_batching batches it", async () => {
    const batches: EventRecord[][] = [];
    const session: Session = { onBatch: (_id, events) => void batches.push(events) };
    // batching covers only maintenance notices: the phase event is batched because its publisher asks
    ok(await hub.execute({ operation: 'configure-batching', parameters: { event_types: ['SYSTEM_MAINTENANCE.#'], batch_size: 2, timeout: '1s' } }));
    const sub = ok(await hub.execute({ operation: 'subscribe-event', parameters: { patterns: ['#'], delivery: 'batch' } }, session));
    const example = { event_type: 'phase_completed', data: { phase: 2, duration: '25m' }, severity: 'info', enable_batching: true, batch_optimization: 'adaptive' };
    const first = await hub.execute({ operation: 'publish-event', workflow_id: 'workflow_123', parameters: example });
    const event = ok(first).event as EventRecord;
    expect(event).toMatchObject({ event_type: 'PHASE_COMPLETED', workflow_id: 'workflow_123', severity: 'info', data: { phase: 2, duration: '25m', phase_id: 2, actual_duration: '25m' } });
    expect(event.subscribers).toEqual([sub.subscription_id]);
    expect(warningsOf(first).join('\n')).toMatch(/data\.phase is taken as phase_id/);
    expect(warningsOf(first).join('\n')).toMatch(/lacks.*success_metrics|success_metrics.*lacks/);
    // a batch of 2: it waits for a second event its publisher asks batched
    expect(batches).toEqual([]);
    ok(await hub.execute({ operation: 'publish-event', workflow_id: 'workflow_123', parameters: example }));
    expect(batches.map((b) => b.map((e) => e.event_type))).toEqual([['PHASE_COMPLETED', 'PHASE_COMPLETED']]);
    // without enable_batching the same event is not covered by configure-batching: it goes on its own
    ok(await hub.execute({ operation: 'publish-event', workflow_id: 'workflow_123', parameters: { event_type: 'phase_completed', data: { phase: 2, duration: '25m' }, severity: 'info' } }));
    expect(batches.map((b) => b.length)).toEqual([2, 1]);
  });

  it('publish-event still refuses a value the registry refuses, and says when batch_optimization differs from the hub sizing', async () => {
    const bad = await hub.execute({ operation: 'publish-event', parameters: { event_type: 'PHASE_COMPLETED', data: { phase_id: 'two', actual_duration: '1m', success_metrics: {} } } });
    expect(bad.status === 'error' && bad.error).toMatchObject({ code: 'VALIDATION_FAILED', details: expect.stringContaining('phase_id') });
    const fixed = await hub.execute({ operation: 'publish-event', parameters: { event_type: 'SYSTEM_MAINTENANCE', data: maintenance, batch_optimization: 'fixed' } });
    expect(warningsOf(fixed).join()).toMatch(/batch sizes are set hub-wide by configure-batching \(now "adaptive"\)/);
  });

  it("configure-batching: batch_timeout, deduplication_enabled and compression_enabled are taken; task_progress is PHASE_PROGRESS, agent_heartbeat is said to be no event", async () => {
    const r = await hub.execute({
      operation: 'configure-batching',
      workflow_id: 'workflow_123',
      parameters: { event_types: ['task_progress', 'agent_heartbeat'], batch_size: 'adaptive', batch_timeout: '5s', compression_enabled: true, deduplication_enabled: true },
    });
    expect(ok(r).batching).toEqual({
      enabled: true,
      event_types: ['PHASE_PROGRESS.#'],
      batch_size: 'adaptive',
      timeout: '5s',
      dedup_window: '5m',
      deduplication_enabled: true,
      compression_enabled: true,
    });
    expect(ok(r).entries).toEqual([
      { entry: 'task_progress', pattern: 'PHASE_PROGRESS.#', event_types: ['PHASE_PROGRESS'] },
      { entry: 'agent_heartbeat', pattern: null, event_types: [] },
    ]);
    const said = warningsOf(r).join('\n');
    expect(said).toMatch(/task_progress is no event type.*PHASE_PROGRESS/);
    expect(said).toMatch(/agent_heartbeat .*heartbeats are not events/);
    expect(said).toMatch(/compression_enabled: .*never serialized.*gzip/);
    const off = ok(await hub.execute({ operation: 'configure-batching', parameters: { event_types: ['phase_completed', 'nothing.at.all.here'], deduplication_enabled: false } }));
    expect(off.batching).toMatchObject({ event_types: ['PHASE_COMPLETED.#'], dedup_window: '0ms', deduplication_enabled: false });
    expect(off.entries[1]).toEqual({ entry: 'nothing.at.all.here', pattern: null, event_types: [] });
  });
});

describe('optimize-subscriptions', () => {
  let hub: Hub;
  beforeEach(() => {
    hub = createHub({ maxThreads: 1, clock: createManualClock(Date.UTC(2026, 0, 1)) });
  });
  afterEach(() => hub.close());

  it('takes out duplicates, subsumed patterns and patterns no event type matches, reporting the matches saved on the recent events; deliveries stay the same', async () => {
    const got: EventRecord[] = [];
    const patterns = ['TASK_FAILED.#', 'TASK_FAILED.wf_1.*', 'task_failed.#', 'nothing.here.at.all', 'workflow.*.phase_completed'];
    const sub = ok(await hub.execute({ operation: 'subscribe-event', parameters: { patterns } }, { onEvent: (_id, e) => void got.push(e) }));
    const failed = { event_type: 'TASK_FAILED', data: { task_id: 't', agent_id: 'a', failure_reason: 'x', retry_count: 0 } };
    ok(await hub.execute({ operation: 'publish-event', workflow_id: 'wf_1', parameters: failed }));
    const dry = ok(await hub.execute({ operation: 'optimize-subscriptions', workflow_id: 'workflow_123', parameters: { subscriber_id: sub.subscription_id, optimization_goal: 'efficiency', enable_adaptive_filtering: true, performance_monitoring: true, dry_run: true } }));
    expect(dry.subscriptions[0]).toMatchObject({
      patterns_before: patterns,
      patterns_after: ['TASK_FAILED.#', 'workflow.*.phase_completed'],
      removed: expect.arrayContaining([
        { pattern: 'task_failed.#', reason: 'duplicate', by: 'TASK_FAILED.#' },
        { pattern: 'nothing.here.at.all', reason: 'matches_no_event_type' },
        { pattern: 'TASK_FAILED.wf_1.*', reason: 'subsumed', by: 'TASK_FAILED.#' },
      ]),
      // the TASK_FAILED of wf_1 was matched by the two patterns taken out too
      index_matches_saved: 2,
      idle_patterns: ['workflow.*.phase_completed'],
      performance: { waiting: 0, dropped: 0, deduplicated: 0, dead_letters: 0 },
    });
    expect(dry.patterns).toEqual({ before: 5, after: 2, removed: 3 });
    const applied = ok(await hub.execute({ operation: 'optimize-subscriptions', parameters: {} }));
    expect(applied.subscriptions[0].patterns_after).toEqual(['TASK_FAILED.#', 'workflow.*.phase_completed']);
    got.length = 0;
    ok(await hub.execute({ operation: 'publish-event', workflow_id: 'wf_1', parameters: failed }));
    expect(got.map((e) => e.event_type)).toEqual(['TASK_FAILED']);
    const again = ok(await hub.execute({ operation: 'optimize-subscriptions', parameters: { subscriber_id: sub.subscription_id } }));
    expect(again.patterns).toEqual({ before: 2, after: 2, removed: 0 });
    const unknown = await hub.execute({ operation: 'optimize-subscriptions', parameters: { subscriber_id: 'workflow_monitor' } });
    expect(unknown.status === 'error' && unknown.error).toMatchObject({ code: 'SUBSCRIPTION_NOT_FOUND', message: 'No subscription has the id or name workflow_monitor' });
  });

  it('never leaves a subscription without patterns: one whose every pattern matches no event type stays as it was, and the answer says so', async () => {
    const sub = ok(await hub.execute({ operation: 'subscribe-event', parameters: { patterns: ['nothing.here.at.all'] } }, { onEvent: () => {} }));
    const response = await hub.execute({ operation: 'optimize-subscriptions', parameters: {} });
    expect(response.status).toBe('success');
    const applied = ok(response);
    expect(applied.subscriptions[0]).toMatchObject({ subscription_id: sub.subscription_id, patterns_after: ['nothing.here.at.all'], removed: [] });
    expect(response.status === 'success' && response.warnings?.join(' ')).toContain('none of its patterns can match an event type');
  });
});

describe('correlation and causation', () => {
  let hub: Hub;
  beforeEach(() => {
    hub = createHub({ maxThreads: 1, clock: createManualClock(Date.UTC(2026, 0, 1)) });
  });
  afterEach(() => hub.close());

  it("get-events filters by correlation_id; the REPL's correlate line sets it for the commands that follow", async () => {
    const target = new LocalTarget(hub);
    const context = newLineContext();
    const set = await answerLine(target, 'correlate corr_456', context);
    expect(set && ok(set)).toEqual({ correlation_id: 'corr_456' });
    ok((await answerLine(target, `publish-event {"event_type":"system_maintenance","data":${JSON.stringify(maintenance)}}`, context))!);
    ok((await answerLine(target, 'correlate off', context))!);
    ok((await answerLine(target, `publish-event {"event_type":"system_maintenance","data":${JSON.stringify(maintenance)}}`, context))!);
    const bad = await answerLine(target, 'correlate two words', context);
    expect(bad?.status).toBe('error');
    const found = ok(await hub.execute({ operation: 'get-events', parameters: { correlation_id: 'corr_456' } }));
    expect(found.events.map((e: EventRecord) => [e.event_type, e.correlation_id])).toEqual([['SYSTEM_MAINTENANCE', 'corr_456']]);
  });

  it('an intervention is caused by the TASK_FAILED before it; EVENT_DEAD_LETTERED by the event it dead-letters', async () => {
    const definition = { name: 'c', failure_tolerance: 'intervene', phases: [{ name: 'p', tasks: [{ id: 'x', handler: 'fail', input: { message: 'no', retryable: false } }] }] };
    ok(await hub.execute({ operation: 'create', workflow_id: 'wf_c', parameters: definition }));
    ok(await hub.execute({ operation: 'start', workflow_id: 'wf_c', correlation_id: 'corr_start' }));
    ok(await hub.execute({ operation: 'wait', workflow_id: 'wf_c' }));
    const events = ok(await hub.execute({ operation: 'get-events', workflow_id: 'wf_c', parameters: { correlation_id: 'corr_start' } })).events as EventRecord[];
    const failed = events.find((e) => e.event_type === 'TASK_FAILED')!;
    const intervention = events.find((e) => e.event_type === 'ERROR_ENCOUNTERED')!;
    expect(intervention.causation_id).toBe(failed.event_id);

    ok(await hub.execute({ operation: 'subscribe-event', parameters: { patterns: ['SYSTEM_MAINTENANCE.#'], retry_policy: { max_retries: 0 } } }, { onEvent: () => { throw new Error('down'); } }));
    const published = ok(await hub.execute({ operation: 'publish-event', parameters: { event_type: 'SYSTEM_MAINTENANCE', data: maintenance } })).event as EventRecord;
    const notice = hub.events().find((e) => e.event_type === 'EVENT_DEAD_LETTERED')!;
    expect(notice.causation_id).toBe(published.event_id);
  });
});

describe('configure-persistence', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(() => cleanup());

  it('selective_critical keeps warnings and lifecycle events in the log, not info notices; the settings outlive a restart', async () => {
    const open = async () => {
      const hub = createHub({ maxThreads: 1, dataDir: join(dir, 'data') });
      await hub.ready;
      return hub;
    };
    const a = await open();
    const example = { persistence_policy: 'selective_critical', retention_period: '7d', replay_capabilities: 'full', compression_enabled: true };
    const set = await a.execute({ operation: 'configure-persistence', workflow_id: 'workflow_123', parameters: example });
    expect(ok(set).persistence).toMatchObject({ persistence_policy: 'selective_critical', retention_period: '168h 0m', replay_capabilities: 'full', compression_enabled: false, stored: 'settings/event-hub.ckpt' });
    expect(ok(set).persistence.always_logged).toContain('WORKFLOW_CREATED');
    expect(warningsOf(set).join()).toMatch(/compression_enabled: log segments are not compressed/);
    const info = ok(await a.execute({ operation: 'publish-event', parameters: { event_type: 'SYSTEM_MAINTENANCE', data: maintenance } })).event as EventRecord;
    const warning = ok(await a.execute({ operation: 'publish-event', parameters: { event_type: 'SYSTEM_MAINTENANCE', severity: 'warning', data: maintenance } })).event as EventRecord;
    const lifecycle = ok(await a.execute({ operation: 'publish-event', parameters: { event_type: 'CHECKPOINT_CREATED', data: { checkpoint: 'c1' } } })).event as EventRecord;
    const ids = async (hub: Hub) => (ok(await hub.execute({ operation: 'get-events', parameters: { limit: 10_000 } })).events as EventRecord[]).map((e) => e.event_id);
    // this run still shows it (from memory), in publish order
    expect((await ids(a)).slice(-3)).toEqual([info.event_id, warning.event_id, lifecycle.event_id]);
    await a.close();
    const b = await open();
    const after = await ids(b);
    expect(after).not.toContain(info.event_id);
    expect(after).toEqual(expect.arrayContaining([warning.event_id, lifecycle.event_id]));
    const now = ok(await b.execute({ operation: 'configure-persistence' }));
    expect(now.persistence).toMatchObject({ persistence_policy: 'selective_critical', retention_period: '168h 0m', durability: 'batch' });
    ok(await b.execute({ operation: 'configure-persistence', parameters: { persistence_policy: 'all' } }));
    const kept = ok(await b.execute({ operation: 'publish-event', parameters: { event_type: 'SYSTEM_MAINTENANCE', data: maintenance } })).event as EventRecord;
    await b.close();
    const c = await open();
    expect(await ids(c)).toContain(kept.event_id);
    await c.close();
  });
});
