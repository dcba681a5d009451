import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, type EventRecord, type Hub, type Session } from '../src/index.js';
import { scratchDir } from './helpers/cli.js';
import { ok } from './helpers/responses.js';

const hello = { name: 'ev', phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'echo', input: { value: 1 } }, { id: 'b', handler: 'fail', input: { message: 'nope', retryable: false } }] }], failure_tolerance: 'high' };

describe('events: subscribe, publish, query', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hubs: Hub[] = [];
  const open = async () => {
    const hub = createHub({ maxThreads: 1, dataDir: join(dir, 'data') });
    hubs.push(hub);
    await hub.ready;
    return hub;
  };
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(async () => {
    for (const hub of hubs) await hub.close();
    hubs = [];
    await cleanup();
  });

  it('a session sees only what its patterns and filters match, in order, until it unsubscribes', async () => {
    const hub = await open();
    const seen: [string, EventRecord][] = [];
    const session: Session = {
      onEvent: (id, e) => {
        seen.push([id, e]);
      },
    };
    const sub = ok(await hub.execute({ operation: 'subscribe-event', parameters: { patterns: ['TASK_FAILED.#', 'workflow.*.phase_completed', 'workflow.*.task_completed'] } }, session));
    ok(await hub.execute({ operation: 'create', workflow_id: 'wf', parameters: hello }));
    ok(await hub.execute({ operation: 'start', workflow_id: 'wf' }));
    ok(await hub.execute({ operation: 'wait', workflow_id: 'wf' }));
    expect(seen.every(([id]) => id === sub.subscription_id)).toBe(true);
    expect(seen.map(([, e]) => e.event_type).sort()).toEqual(['TASK_COMPLETED', 'TASK_FAILED']);
    const seqs = seen.map(([, e]) => e.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    const errorsOnly = ok(await hub.execute({ operation: 'subscribe-event', parameters: { patterns: ['#'], filters: { severity: 'error', workflow_id: 'wf' } } }, session));
    ok(await hub.execute({ operation: 'unsubscribe-event', parameters: { subscription_id: sub.subscription_id } }));
    seen.length = 0;
    ok(await hub.execute({ operation: 'publish-event', workflow_id: 'wf', parameters: { event_type: 'ERROR_ENCOUNTERED', data: { component: 'test', note: 'x' } } }));
    const maintenance = { operation_type: 'disk swap', estimated_duration: '5m', impact: 'none' };
    ok(await hub.execute({ operation: 'publish-event', workflow_id: 'wf', parameters: { event_type: 'SYSTEM_MAINTENANCE', data: maintenance } }));
    expect(seen.map(([id, e]) => [id, e.event_type])).toEqual([[errorsOnly.subscription_id, 'ERROR_ENCOUNTERED']]);
    const again = await hub.execute({ operation: 'unsubscribe-event', parameters: { subscription_id: sub.subscription_id } });
    expect(again.status === 'error' && again.error.code).toBe('SUBSCRIPTION_NOT_FOUND');
  });

  it('subscribe-event without a live session, and unknown event types, are refused with clear errors', async () => {
    const hub = await open();
    const noSession = await hub.execute({ operation: 'subscribe-event', parameters: { patterns: ['#'] } });
    expect(noSession.status === 'error' && noSession.error.message).toBe('subscribe-event needs a live session to deliver to');
    const badType = await hub.execute({ operation: 'publish-event', parameters: { event_type: 'TASK_EXPLODED' } });
    expect(badType.status === 'error' && badType.error.code).toBe('VALIDATION_FAILED');
  });

  it('get-events answers from the log, also after a restart: filters by type, pattern, severity and seq, in either order', async () => {
    const a = await open();
    ok(await a.execute({ operation: 'create', workflow_id: 'wf', parameters: hello }));
    ok(await a.execute({ operation: 'start', workflow_id: 'wf' }));
    ok(await a.execute({ operation: 'wait', workflow_id: 'wf' }));
    const before = ok(await a.execute({ operation: 'get-events', workflow_id: 'wf', parameters: { limit: 10_000 } })).events as EventRecord[];
    await a.close();
    const b = await open();
    const after = ok(await b.execute({ operation: 'get-events', workflow_id: 'wf', parameters: { limit: 10_000 } })).events as EventRecord[];
    // history never changes: a restart adds events, it drops or reorders none
    expect(after.slice(0, before.length)).toEqual(before);
    const failures = ok(await b.execute({ operation: 'get-events', workflow_id: 'wf', parameters: { event_type: 'TASK_FAILED' } }));
    expect(failures.events.map((e: EventRecord) => e.data.task_id)).toEqual(['b']);
    const byPattern = ok(await b.execute({ operation: 'get-events', parameters: { pattern: 'workflow.wf.completed' } }));
    expect(byPattern.events.map((e: EventRecord) => e.event_type)).toEqual(['WORKFLOW_COMPLETED']);
    const warnings = ok(await b.execute({ operation: 'get-events', workflow_id: 'wf', parameters: { severity: ['warning', 'error'] } }));
    expect(warnings.events.every((e: EventRecord) => e.severity === 'warning' || e.severity === 'error')).toBe(true);
    const last = ok(await b.execute({ operation: 'get-events', workflow_id: 'wf', parameters: { order: 'desc', limit: 2 } }));
    expect(last.returned).toBe(2);
    expect(last.events[0].seq).toBeGreaterThan(last.events[1].seq);
    const window = ok(await b.execute({ operation: 'get-events', workflow_id: 'wf', parameters: { from_seq: before[2]!.seq, to_seq: before[4]!.seq } }));
    expect(window.events.map((e: EventRecord) => e.seq)).toEqual(before.slice(2, 5).map((e) => e.seq));
  });
});
