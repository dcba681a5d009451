import { once } from 'node:events';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHub, createManualClock, type EventRecord, type Hub, type ManualClock, type Session } from '../src/index.js';
import { scratchDir } from './helpers/cli.js';
import { ok } from './helpers/responses.js';
import { webhookTargetSession } from '../src/runtime/events/webhook-target.js';

const maintenance = (n: number, workflowId?: string) => ({
  operation: 'publish-event',
  ...(workflowId === undefined ? {} : { workflow_id: workflowId }),
  parameters: { event_type: 'SYSTEM_MAINTENANCE', data: { operation_type: `op${n}`, estimated_duration: '1m', impact: 'none' } },
});
const lines = async (path: string) => (await readFile(path, 'utf8').catch(() => '')).split('\n').filter((l) => l.length > 0);
/** Waits for real processes and sockets; moves the hub's clock each time so a pending retry comes due. */
const settle = (clock: ManualClock, check: () => Promise<void> | void, stepMs = 0) =>
  vi.waitFor(async () => {
    clock.advance(stepMs);
    await check();
  }, { timeout: 10_000, interval: 20 });

/** The subscribers `health` lists (event-hub component). */
const subscribers = async (hub: Hub) =>
  (ok(await hub.execute({ operation: 'health' })).components as { component_id: string; details: { subscribers: Record<string, unknown>[] } }[]).find((x) => x.component_id === 'event-hub')!.details.subscribers;

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  raw: Buffer;
}

/** A real HTTP server on 127.0.0.1 answering `status()` to every request, keeping what it got. */
async function startServer(status: () => number): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), raw: Buffer.concat(chunks) });
      res.writeHead(status()).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, received };
}

describe('subscriptions with a target: exec and webhook, durable across restarts', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let clock: ManualClock;
  let hubs: Hub[] = [];
  let servers: Server[] = [];
  const open = async (options: { dataDir?: string | null } = {}) => {
    const hub = createHub({ maxThreads: 1, clock, ...(options.dataDir === null ? {} : { dataDir: options.dataDir ?? join(dir, 'data') }) });
    hubs.push(hub);
    await hub.ready;
    return hub;
  };
  const server = async (status: () => number) => {
    const started = await startServer(status);
    servers.push(started.server);
    return started;
  };
  beforeEach(async () => {
    ({ dir, cleanup } = await scratchDir());
    clock = createManualClock(Date.UTC(2026, 0, 1));
  });
  afterEach(async () => {
    for (const hub of hubs) await hub.close({ graceMs: 0 });
    for (const s of servers) s.close();
    hubs = [];
    servers = [];
    await cleanup();
  });

  it('exec: the command gets each event as JSON on stdin and its ids in the environment, in order; a failing one is dead-lettered with its stderr', async () => {
    const hub = await open();
    const out = join(dir, 'out.jsonl');
    const env = join(dir, 'env.txt');
    const command = `printf '%s %s %s\\n' "$TROUPE_EVENT_TYPE" "$TROUPE_EVENT_ID" "$TROUPE_WORKFLOW_ID" >> ${env}; cat >> ${out}; echo >> ${out}`;
    const sub = ok(await hub.execute({ operation: 'subscribe-event', parameters: { callback: 'recorder', patterns: ['SYSTEM_MAINTENANCE.#'], target: { type: 'exec', command } } }));
    expect(sub).toMatchObject({ name: 'recorder', durable: true, scope: 'all workflows', target: { type: 'exec', command, timeout: '30s' } });
    const published = [ok(await hub.execute(maintenance(1, 'wf_x'))).event as EventRecord, ok(await hub.execute(maintenance(2))).event as EventRecord];
    await settle(clock, async () => expect(await lines(out)).toHaveLength(2));
    const got = (await lines(out)).map((l) => JSON.parse(l) as EventRecord);
    expect(got.map((e) => [e.event_id, e.data.operation_type])).toEqual(published.map((e) => [e.event_id, e.data.operation_type]));
    expect(await lines(env)).toEqual([`SYSTEM_MAINTENANCE ${published[0]!.event_id} wf_x`, `SYSTEM_MAINTENANCE ${published[1]!.event_id} global`]);

    ok(await hub.execute({ operation: 'subscribe-event', parameters: { callback: 'broken', patterns: ['SYSTEM_MAINTENANCE.#'], retry_policy: { max_retries: 0 }, target: { type: 'exec', command: 'cat >/dev/null; echo boom >&2; exit 3' } } }));
    const third = ok(await hub.execute(maintenance(3))).event as EventRecord;
    await settle(clock, async () => expect(ok(await hub.execute({ operation: 'dead-letters' })).total).toBe(1));
    const [letter] = ok(await hub.execute({ operation: 'dead-letters' })).dead_letters;
    expect(letter).toMatchObject({ reason: 'exec target exited with 3: boom', attempts: 1, event: { event_id: third.event_id } });
  });

  it('exec: a command past its timeout is killed (on the hub clock) and counts as a failed delivery', async () => {
    const hub = await open({ dataDir: null });
    const sub = ok(await hub.execute({ operation: 'subscribe-event', parameters: { callback: 'slow', retry_policy: { max_retries: 0 }, target: { type: 'exec', command: 'sleep 30', timeout: '5s' } } }));
    expect(sub.durable).toBe(false);
    ok(await hub.execute(maintenance(1)));
    await settle(clock, async () => expect(ok(await hub.execute({ operation: 'dead-letters' })).dead_letters.map((d: { reason: string }) => d.reason)).toContain('exec target timed out after 5s'), 5_000);
  });

  it('webhook: POSTs the event JSON with its id and type headers; a failing one retries, dead-letters with the status, and redrive delivers once it answers 200', async () => {
    let status = 200;
    const { url, received } = await server(() => status);
    const hub = await open();
    const sub = ok(await hub.execute({
      operation: 'subscribe-event',
      parameters: { callback: 'notifier', delivery: 'webhook', patterns: ['SYSTEM_MAINTENANCE.#'], retry_policy: { max_retries: 2, backoff_strategy: 'fixed', backoff_base: '1s' }, target: { type: 'webhook', url, headers: { authorization: 'Bearer secret' } } },
    }));
    expect(sub.target).toEqual({ type: 'webhook', url, headers: ['authorization'], timeout: '10s' });
    const first = ok(await hub.execute(maintenance(1))).event as EventRecord;
    await settle(clock, () => expect(received).toHaveLength(1));
    expect(received[0]!.headers).toMatchObject({ 'content-type': 'application/json', 'x-troupe-event-id': first.event_id, 'x-troupe-event-type': 'SYSTEM_MAINTENANCE', authorization: 'Bearer secret' });
    expect(JSON.parse(received[0]!.body)).toEqual(first);

    status = 500;
    const second = ok(await hub.execute(maintenance(2))).event as EventRecord;
    // the first try and two retries, 1 s apart on the hub's clock
    await settle(clock, async () => expect(ok(await hub.execute({ operation: 'dead-letters' })).total).toBe(1), 1_000);
    expect(received).toHaveLength(4);
    const [letter] = ok(await hub.execute({ operation: 'dead-letters' })).dead_letters;
    expect(letter).toMatchObject({ subscription_id: sub.subscription_id, reason: 'webhook answered 500 Internal Server Error', attempts: 3, event: { event_id: second.event_id } });

    status = 200;
    expect(ok(await hub.execute({ operation: 'redrive' })).redriven).toEqual([letter.dead_letter_id]);
    await settle(clock, () => expect(received).toHaveLength(5));
    expect(received[4]!.headers['x-troupe-event-id']).toBe(second.event_id);
    expect(ok(await hub.execute({ operation: 'dead-letters' })).total).toBe(0);
  });

  it('webhook, batch delivery: one POST holds the batch as a JSON array; gzip-encoded when the batching configuration asks for compression', async () => {
    const { url, received } = await server(() => 204);
    const hub = await open({ dataDir: null });
    ok(await hub.execute({ operation: 'configure-batching', parameters: { event_types: ['SYSTEM_MAINTENANCE.#'], batch_size: 2 } }));
    ok(await hub.execute({ operation: 'subscribe-event', parameters: { callback: 'batched', delivery: 'batch', patterns: ['SYSTEM_MAINTENANCE.#'], target: { type: 'webhook', url } } }));
    const events = [ok(await hub.execute(maintenance(1))).event as EventRecord, ok(await hub.execute(maintenance(2))).event as EventRecord];
    await settle(clock, () => expect(received).toHaveLength(1));
    expect(received[0]!.headers).toMatchObject({ 'x-troupe-event-count': '2', 'x-troupe-event-id': events.map((e) => e.event_id).join(',') });
    expect(received[0]!.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(received[0]!.body)).toEqual(events);

    const compressed = webhookTargetSession({ type: 'webhook', url, timeoutMs: 5_000 }, clock, () => true);
    await compressed.onBatch('sub_x', events);
    expect(received[1]!.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(received[1]!.raw).toString('utf8'))).toEqual(events);
  });

  it('a named subscription sent without a connection holds its events until a session subscribes under that name', async () => {
    const hub = await open({ dataDir: null });
    const parked = await hub.execute({ operation: 'subscribe-event', parameters: { callback: 'workflow_monitor', patterns: ['SYSTEM_MAINTENANCE.#'] } });
    expect(parked.status === 'success' && parked.warnings).toEqual([expect.stringContaining('callback workflow_monitor: nothing receives it yet')]);
    ok(await hub.execute(maintenance(1)));
    ok(await hub.execute(maintenance(2)));
    const got: EventRecord[] = [];
    const claimed = await hub.execute({ operation: 'subscribe-event', parameters: { callback: 'workflow_monitor', patterns: ['SYSTEM_MAINTENANCE.#'] } }, { onEvent: (_id, e) => void got.push(e) });
    expect(claimed.status === 'success' && claimed.warnings).toEqual([expect.stringContaining('2 waiting event(s) carried over')]);
    await settle(clock, () => expect(got.map((e) => e.data.operation_type)).toEqual(['op1', 'op2']));
  });

  it('refuses a webhook URL that is not http(s), a target without a name, and delivery webhook without a webhook target', async () => {
    const hub = await open({ dataDir: null });
    const refusal = async (parameters: Record<string, unknown>) => {
      const response = await hub.execute({ operation: 'subscribe-event', parameters });
      return response.status === 'error' ? [response.error.code, `${response.error.message} ${response.error.details ?? ''}`] : ['accepted'];
    };
    expect(await refusal({ callback: 'x', target: { type: 'webhook', url: 'file:///etc/passwd' } })).toEqual(['VALIDATION_FAILED', expect.stringContaining('url is an http:// or https:// URL')]);
    expect(await refusal({ target: { type: 'exec', command: 'true' } })).toEqual(['VALIDATION_FAILED', expect.stringContaining('A subscription with a target needs a name')]);
    expect(await refusal({ callback: 'x', delivery: 'webhook' })).toEqual(['VALIDATION_FAILED', expect.stringContaining('delivery "webhook" needs a webhook target')]);
  });

  it('a durable subscription survives restarts at its position: what it had not delivered comes after the restart, once; unsubscribe by name removes the stored one', async () => {
    const out = join(dir, 'out.jsonl');
    const gate = join(dir, 'gate');
    await writeFile(gate, '');
    // delivers only while the gate file exists
    const target = { type: 'exec', command: `test -f gate || exit 9; cat >> ${out}; echo >> ${out}`, cwd: dir };
    const subscribe = { operation: 'subscribe-event', parameters: { callback: 'recorder', patterns: ['SYSTEM_MAINTENANCE.#'], retry_policy: { max_retries: 5, backoff_base: '1h' }, target } };
    const delivered = async () => (await lines(out)).map((l) => (JSON.parse(l) as EventRecord).data.operation_type);

    const a = await open();
    const sub = ok(await a.execute(subscribe));
    ok(await a.execute(maintenance(1)));
    // op1 is in the file and its process has exited (done with: nothing waits), so A's close cannot cut it short
    await settle(clock, async () => {
      expect(await delivered()).toEqual(['op1']);
      expect((await subscribers(a))[0]).toMatchObject({ queued: 0 });
    });
    await rm(gate);
    ok(await a.execute(maintenance(2)));
    ok(await a.execute(maintenance(3)));
    await a.close({ graceMs: 0 });

    await writeFile(gate, '');
    const b = await open();
    await settle(clock, async () => {
      expect(await delivered()).toEqual(['op1', 'op2', 'op3']);
      // op3's process has exited too: done with
      expect((await subscribers(b))[0]).toMatchObject({ queued: 0 });
    });
    const lastSeq = (ok(await b.execute({ operation: 'get-events', parameters: { event_type: 'SYSTEM_MAINTENANCE', order: 'desc', limit: 1 } })).events as EventRecord[])[0]!.seq;
    const listed = { details: { subscribers: await subscribers(b) } };
    expect(listed.details.subscribers).toEqual([expect.objectContaining({ subscription_id: sub.subscription_id, name: 'recorder', durable: true, target: 'exec', queued: 0 })]);
    // done with op3 at least (an idle subscription's position moves on to the log's end)
    const position = (listed.details.subscribers[0] as { delivered_seq: number }).delivered_seq;
    expect(position).toBeGreaterThanOrEqual(lastSeq);
    await b.close({ graceMs: 0 });

    const c = await open();
    // made again at its stored position (op3): nothing to replay; subscribing again with its name updates it in place
    const resubscribed = await c.execute(subscribe);
    expect(ok(resubscribed)).toMatchObject({ subscription_id: sub.subscription_id, durable: true, queued: 0 });
    expect(ok(resubscribed).delivered_seq).toBeGreaterThanOrEqual(position);
    expect(resubscribed.status === 'success' && resubscribed.warnings).toEqual([
      `callback recorder: replaced the subscription of that name (same id ${sub.subscription_id}, same position in the event log; 0 waiting event(s) carried over)`,
    ]);
    const again = ok(await c.execute({ operation: 'unsubscribe-event', parameters: { callback: 'recorder' } }));
    expect(again).toEqual({ subscription_id: sub.subscription_id, name: 'recorder', unsubscribed: true, durable: true });
    await c.close({ graceMs: 0 });

    const d = await open();
    ok(await d.execute(maintenance(4)));
    const unknown = await d.execute({ operation: 'unsubscribe-event', parameters: { callback: 'recorder' } });
    expect(unknown.status === 'error' && unknown.error.code).toBe('SUBSCRIPTION_NOT_FOUND');
    expect(await delivered()).toEqual(['op1', 'op2', 'op3']);
  });

  it("<id> subscribe-event (the spec's example as written) hears only that workflow; the spec's tuning parameters are accepted and answered", async () => {
    const hub = await open({ dataDir: null });
    const got: EventRecord[] = [];
    const session: Session = { onEvent: (_id, e) => void got.push(e) };
    const example = { patterns: ['*.task_completed', '*.failed'], delivery: 'realtime', callback: 'workflow_monitor', enable_smart_filtering: true, optimization_goal: 'efficiency' };
    const response = await hub.execute({ operation: 'subscribe-event', workflow_id: 'wf_a', parameters: example }, session);
    expect(response.status).toBe('success');
    const sub = ok(response);
    expect(sub).toMatchObject({ name: 'workflow_monitor', scope: 'wf_a', filters: { workflow_id: ['wf_a'] }, patterns: ['*.*.task_completed', '*.*.failed'], durable: false });
    const warnings = response.status === 'success' ? response.warnings ?? [] : [];
    expect(warnings.join('\n')).toMatch(/enable_smart_filtering: true: .*indexed/);
    expect(warnings.join('\n')).toContain('optimization_goal "efficiency"');
    const failed = (workflowId: string) => ({ operation: 'publish-event', workflow_id: workflowId, parameters: { event_type: 'WORKFLOW_FAILED', data: { failure_reason: 'x', recovery_options: [] } } });
    ok(await hub.execute(failed('wf_b')));
    ok(await hub.execute(failed('wf_a')));
    expect(got.map((e) => [e.workflow_id, e.event_type])).toEqual([['wf_a', 'WORKFLOW_FAILED']]);

    // the same name again replaces it (one subscription, same id), and without a workflow id hears all
    const replaced = await hub.execute({ operation: 'subscribe-event', parameters: { callback: 'workflow_monitor', patterns: ['WORKFLOW_FAILED.#'] } }, session);
    expect(ok(replaced).subscription_id).toBe(sub.subscription_id);
    expect(replaced.status === 'success' && replaced.warnings).toEqual([expect.stringContaining('replaced the subscription of that name')]);
    ok(await hub.execute(failed('wf_b')));
    expect(got.map((e) => e.workflow_id)).toEqual(['wf_a', 'wf_b']);
    expect((await subscribers(hub)).map((s) => [s.subscription_id, s.name])).toEqual([[sub.subscription_id, 'workflow_monitor']]);
  });
});
