/**
 * `health` and `metrics` say what the hub observes, not constants: a
 * backed-up subscriber, failing commands, an open breaker and a clock whose
 * timers stall each change a status, with the reasons and the limits used;
 * SYSTEM_THRESHOLD comes once per crossing, on the injected clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHub, type Clock, type EventRecord, type Hub, type ManualClock, type Session } from '../src/index.js';
import { EVENT_DATA } from '../src/runtime/events/event-registry.js';
import { makeHub, ok, run, settleLoop, until, waitFor } from './hub-fixtures.js';

/** `ok` for a command sent by a session (its subscriptions deliver to it). */
async function okAs(session: Session, command: Record<string, unknown>) {
  const response = await hub.execute(command, session);
  if (response.status !== 'success') throw new Error(`expected success, got ${JSON.stringify(response.error)}`);
  return response;
}

interface Component {
  component_id: string;
  status: string;
  reasons: string[];
  queue_size: number;
  observed: Record<string, unknown>;
  thresholds: Record<string, number>;
  dependencies: Record<string, string>;
  performance_metrics: { error_rate: number; success_rate: number };
}

let hub: Hub;
let clock: ManualClock;

afterEach(async () => {
  await hub?.close();
});

async function health(): Promise<{ status: string; components: Component[]; next_steps: string[] }> {
  const response = await ok(hub, { operation: 'health' });
  return { ...(response.result as { status: string; components: Component[] }), next_steps: response.next_steps };
}

const componentOf = async (id: string) => (await health()).components.find((c) => c.component_id === id)!;

/** A subscriber that takes events only while open: while held, its first delivery never returns and the rest queue up. */
function heldSubscriber() {
  const waiting: (() => void)[] = [];
  let held = true;
  const session: Session = {
    onEvent: () => (held ? new Promise<void>((resolve) => waiting.push(resolve)) : undefined),
  };
  return {
    session,
    hold: () => (held = true),
    release: () => {
      held = false;
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

const publish = async (n: number) => {
  for (let i = 0; i < n; i++) await ok(hub, { operation: 'publish-event', parameters: { event_type: 'ERROR_ENCOUNTERED', data: { component: 'test', n: i } } });
};

describe('event-hub', () => {
  it('a backed-up subscriber queue makes it degraded and shows the real event_queue_depth; drained, it is healthy again', async () => {
    ({ hub, clock } = makeHub());
    const subscriber = heldSubscriber();
    await okAs(subscriber.session, { operation: 'subscribe-event', parameters: { patterns: ['ERROR_ENCOUNTERED.#'], max_queue: 10 } });
    expect((await componentOf('event-hub')).status).toBe('healthy');

    await publish(6);
    const hubs = await health();
    const events = hubs.components.find((c) => c.component_id === 'event-hub')!;
    expect(events.status).toBe('degraded');
    expect(events.queue_size).toBe(6);
    expect(events.observed).toMatchObject({ event_queue_depth: 6, max_subscriber_queue: 6, deepest: { queued: 6, max_queue: 10, percent: 60 } });
    expect(events.reasons).toEqual([expect.stringContaining('60% full (6 of 10) (degraded at 50)')]);
    expect(events.thresholds).toMatchObject({ subscriber_queue_degraded_percent: 50, subscriber_queue_unhealthy_percent: 90 });
    expect(hubs.status).toBe('degraded');
    expect(hubs.components[0]!.dependencies['event-hub']).toBe('degraded');
    expect(hubs.next_steps).toContainEqual(expect.stringMatching(/^event-hub is degraded: subscriber sub_\w+'s queue is 60% full/));
    const metrics = (await ok(hub, { operation: 'metrics' })).result as { system_health: { event_queue_depth: number; max_subscriber_queue: number } };
    expect(metrics.system_health).toMatchObject({ event_queue_depth: 6, max_subscriber_queue: 6 });

    await publish(3);
    expect((await componentOf('event-hub')).status).toBe('unhealthy');

    subscriber.release();
    await until(async () => (await componentOf('event-hub')).queue_size === 0, 'the queue to drain');
    expect(await componentOf('event-hub')).toMatchObject({ status: 'healthy', reasons: [], observed: { event_queue_depth: 0, delivered: 9, failed: 0 } });
  });

  it('failed deliveries and dead letters in the window degrade it, until the window has passed', async () => {
    ({ hub, clock } = makeHub());
    const failing: Session = { onEvent: () => Promise.reject(new Error('subscriber down')) };
    await okAs(failing, { operation: 'subscribe-event', parameters: { patterns: ['ERROR_ENCOUNTERED.#'], retry_policy: { max_retries: 0 } } });
    await publish(1);
    await until(async () => ((await componentOf('event-hub')).observed.dead_letters as number) === 1, 'the dead letter');
    const events = await componentOf('event-hub');
    expect(events).toMatchObject({ status: 'degraded', observed: { delivery_failures: 1, dead_letters: 1, failed: 1 } });
    expect(events.reasons).toEqual([expect.stringContaining('1 events dead-lettered'), expect.stringContaining('1 deliveries failed')]);
    expect(events.performance_metrics).toMatchObject({ success_rate: 0, error_rate: 100 });
    clock.advance(events.thresholds.window_ms! + 1);
    expect(await componentOf('event-hub')).toMatchObject({ status: 'healthy', observed: { delivery_failures: 0, dead_letters: 0 } });
  });
});

describe('hub', () => {
  it('failing commands raise the error rate of the recent window; once the window has passed, the hub is healthy again', async () => {
    ({ hub, clock } = makeHub());
    await ok(hub, { operation: 'list-workflows' });
    for (let i = 0; i < 3; i++) expect((await hub.execute({ operation: 'no-such-operation' })).status).toBe('error');
    const core = await componentOf('hub');
    // the health command answering is not counted in its own answer: four commands, three failed
    expect(core.observed).toMatchObject({ commands: { commands: 4, errors: 3, error_rate: 75, success_rate: 25 } });
    expect(core.performance_metrics).toMatchObject({ error_rate: 75, success_rate: 25 });
    expect(core.status).toBe('unhealthy');
    expect(core.reasons).toEqual([expect.stringContaining('75% of the last 4 commands failed (unhealthy at 50)')]);

    // the window moves on: what failed before it no longer counts
    clock.advance(core.thresholds.window_ms! + 1);
    await ok(hub, { operation: 'list-workflows' });
    await ok(hub, { operation: 'list-workflows' });
    expect(await componentOf('hub')).toMatchObject({ status: 'healthy', reasons: [], observed: { commands: { commands: 2, errors: 0 } } });
    const threshold = (await componentOf('hub')).thresholds;
    expect(threshold).toMatchObject({ command_error_rate_degraded: 5, command_error_rate_unhealthy: 50, command_p95_degraded_ms: 2000 });
  });

  it('thresholds come from the hub options; an unknown or negative one is refused before anything starts', async () => {
    ({ hub, clock } = makeHub({ healthThresholds: { command_error_rate_degraded: 20, command_error_rate_unhealthy: 90 } }));
    await ok(hub, { operation: 'list-workflows' });
    await hub.execute({ operation: 'no-such-operation' });
    await ok(hub, { operation: 'list-workflows' });
    // 1 of 3 failed: above 20 %, under 90 %
    expect(await componentOf('hub')).toMatchObject({ status: 'degraded', thresholds: { command_error_rate_degraded: 20, command_error_rate_unhealthy: 90 } });
    expect(() => createHub({ healthThresholds: { error_rate: 5 } as never })).toThrow(/Unknown health threshold error_rate/);
    expect(() => createHub({ healthThresholds: { window_ms: -1 } })).toThrow(/window_ms must be a number >= 0/);
  });

  it('a clock whose timers do not fire: the health check is overdue, and the hub says so', async () => {
    let now = Date.now();
    const stalled: Clock = { now: () => now, setTimer: () => ({ cancel: () => {} }) };
    hub = createHub({ clock: stalled, maxThreads: 1 });
    expect((await componentOf('hub')).status).toBe('healthy');
    now += 60_000 + 5_001;
    const core = await componentOf('hub');
    expect(core.status).toBe('degraded');
    expect(core.reasons).toEqual(['the health check timer is 5001ms overdue']);
    expect(core.observed.stalled_timers).toEqual([{ timer: 'health check', due: expect.any(String), overdue_ms: 5001 }]);
  });
});

describe('task-pool', () => {
  it('an open breaker degrades it; after the cool-down it is healthy again', async () => {
    ({ hub, clock } = makeHub({ breakerThreshold: 1, breakerCooldown: '30s' }));
    await run(hub, 'wf_b', {
      name: 'b',
      failure_tolerance: 'high',
      phases: [{ name: 'p', tasks: [{ id: 'fine', handler: 'noop', role: 'code' }, { id: 'bad', handler: 'fail', role: 'test', input: { retryable: false } }] }],
    });
    await waitFor(hub, 'wf_b');
    const pool = await componentOf('task-pool');
    const opened = (pool.observed.open_breakers as string[])[0]!;
    expect(pool).toMatchObject({ status: 'degraded', reasons: [`circuit breaker open: ${opened}`], observed: { open_breakers: [opened], agents: 2 } });
    expect(pool.performance_metrics).toMatchObject({ success_rate: 50, error_rate: 50 });
    expect((await health()).components[0]!.dependencies['task-pool']).toBe('degraded');
    clock.advance(30_000);
    expect(await componentOf('task-pool')).toMatchObject({ status: 'healthy', reasons: [], observed: { open_breakers: [] } });
  }, 30_000);
});

describe('SYSTEM_THRESHOLD', () => {
  const thresholdEvents = () => hub.events().filter((e: EventRecord) => e.event_type === 'SYSTEM_THRESHOLD' && e.data.metric_name === 'event_queue_depth');

  it('is published once per crossing, checked at the interval on the injected clock, again only after the metric went back below', async () => {
    ({ hub, clock } = makeHub({ healthThresholds: { event_queue_depth: 5, check_interval_ms: '10s' } }));
    const subscriber = heldSubscriber();
    await okAs(subscriber.session, { operation: 'subscribe-event', parameters: { patterns: ['ERROR_ENCOUNTERED.#'] } });
    await publish(6);
    // measured at the check, not at the crossing
    expect(thresholdEvents()).toEqual([]);
    clock.advance(9_999);
    expect(thresholdEvents()).toEqual([]);
    clock.advance(1);
    expect(thresholdEvents().map((e) => e.data)).toEqual([expect.objectContaining({ metric_name: 'event_queue_depth', current_value: 6, threshold: 5 })]);
    expect(thresholdEvents()[0]!.severity).toBe('warning');
    expect(EVENT_DATA.SYSTEM_THRESHOLD.safeParse(thresholdEvents()[0]!.data).success).toBe(true);
    // still above: no second one
    await publish(1);
    clock.advance(30_000);
    expect(thresholdEvents()).toHaveLength(1);

    // back below, then above again: a second crossing
    subscriber.release();
    await until(async () => (await componentOf('event-hub')).queue_size === 0, 'the queue to drain');
    clock.advance(10_000);
    expect(thresholdEvents()).toHaveLength(1);
    subscriber.hold();
    await publish(5);
    await settleLoop();
    clock.advance(10_000);
    expect(thresholdEvents().map((e) => e.data.current_value)).toEqual([6, 5]);
  });

  it('watches agent pool utilization: a pool of one agent running one task is at 100 %', async () => {
    ({ hub, clock } = makeHub({ maxAgentPoolSize: 1, healthThresholds: { check_interval_ms: '10s' } }));
    await run(hub, 'wf_u', { name: 'u', phases: [{ name: 'p', tasks: [{ id: 's', handler: 'sleep', input: { ms: 60_000 } }] }] });
    // a thread boots in real time: on a loaded machine that can take a while
    await until(() => hub.events('wf_u').some((e) => e.event_type === 'TASK_STARTED'), 'the task to start', 20_000);
    clock.advance(10_000);
    const utilization = hub.events().filter((e) => e.event_type === 'SYSTEM_THRESHOLD' && e.data.metric_name === 'agent_pool_utilization');
    expect(utilization.map((e) => e.data)).toEqual([expect.objectContaining({ current_value: 100, threshold: 80, basis: '1 of 1 task slots in use' })]);
    await ok(hub, { operation: 'cancel', workflow_id: 'wf_u' });
  }, 30_000);
});
