/**
 * Issue "Hardening", item 9 (unbounded clients): the control socket's
 * connection limit, its idle timeout, the requests of a client that has gone,
 * and a last request line without a newline.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlSocket, createHub, createManualClock, type Hub } from '../src/index.js';
import { scratchDir } from './helpers/cli.js';
import { RawClient, until } from './helpers/raw-socket.js';

/** A workflow whose one task sleeps an hour: its `wait` answers once the test pauses it. */
const GATED = { name: 'gated', phases: [{ name: 'p', tasks: [{ id: 'gate', handler: 'sleep', input: { ms: 3_600_000 } }] }] };

describe('control-socket connections', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hub: Hub;
  let socket: ControlSocket | null;
  const clients: RawClient[] = [];
  const connect = async () => {
    const client = await RawClient.connect(join(dir, 's.sock'));
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    ({ dir, cleanup } = await scratchDir());
    hub = createHub({ maxThreads: 1 });
    await hub.ready;
    socket = null;
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await socket?.close();
    await hub.close({ graceMs: 0 });
    await cleanup();
  });

  it('requests a client queued before it went away never run; the one running finishes', async () => {
    socket = await ControlSocket.listen(hub, join(dir, 's.sock'));
    expect((await hub.execute({ operation: 'create', workflow_id: 'wf_gate', parameters: GATED })).status).toBe('success');
    expect((await hub.execute({ operation: 'start', workflow_id: 'wf_gate' })).status).toBe('success');
    const client = await connect();
    // a long request first, then 100 that would each create a workflow; then the client is gone
    const creates = Array.from({ length: 100 }, (_, i) => `{"operation":"create","workflow_id":"wf_${i}","parameters":{"name":"w","phases":["p"]}}\n`);
    client.send(`{"operation":"wait","workflow_id":"wf_gate","parameters":{"timeout":"1h"}}\n${creates.join('')}`);
    await until(() => socket!.stats().by_connection[0]?.pending_requests === 101);
    client.socket.destroy();
    expect((await hub.execute({ operation: 'pause', workflow_id: 'wf_gate' })).status).toBe('success');
    // the wait answers, its write finds the client gone, and the connection closes with its queue
    await until(() => socket!.stats().connections === 0);
    expect(hub.workflowIds()).toEqual(['wf_gate']);
  });

  it('answers a last request line that has no newline, then ends its side when the client has ended its own', async () => {
    socket = await ControlSocket.listen(hub, join(dir, 's.sock'));
    const client = await connect();
    client.send('{"operation":"health","request_id":"a"}\n{"operation":"list-workflows","request_id":"b"}');
    client.socket.end();
    await client.ended;
    expect(client.lines.map((l) => [l.request_id, l.status])).toEqual([
      ['a', 'success'],
      ['b', 'success'],
    ]);
  });

  it('refuses a connection past maxConnections with a CONNECTION_LIMIT line and closes it; a freed slot serves again', async () => {
    const logged: string[] = [];
    socket = await ControlSocket.listen(hub, join(dir, 's.sock'), { maxConnections: 2, log: (line) => logged.push(line) });
    const a = await connect();
    const b = await connect();
    await a.request({ operation: 'health' }, 'a');
    await b.request({ operation: 'health' }, 'b');
    const refused = await connect();
    // a client that writes before it reads still gets to read why
    refused.send({ operation: 'health', request_id: 'r' });
    await refused.closed;
    expect(refused.lines).toHaveLength(1);
    expect(refused.lines[0]).toMatchObject({
      status: 'error',
      error: { code: 'CONNECTION_LIMIT', message: 'The control socket serves at most 2 connections at once; this one is refused' },
    });
    expect(socket.stats()).toMatchObject({ connections: 2, max_connections: 2, refused: 1 });
    await until(() => hub.events().some((e) => e.event_type === 'ERROR_ENCOUNTERED' && e.data.reason === 'connection_limit'));
    expect(logged).toEqual(['troupe: control socket: refused 1 connection(s) at the limit of 2']);
    // the two served connections go on, and once one leaves a new one is served
    expect((await a.request({ operation: 'list-workflows' }, 'again')).status).toBe('success');
    b.socket.end();
    await until(() => socket!.stats().connections === 1);
    const c = await connect();
    expect((await c.request({ operation: 'health' }, 'c')).status).toBe('success');
  });

  it('closes a connection idle for idleTimeout with a CONNECTION_IDLE line; subscribers, waiters and clients that send keepalives stay; a stalled reader goes', async () => {
    const clock = createManualClock(0);
    socket = await ControlSocket.listen(hub, join(dir, 's.sock'), { clock, idleTimeout: '1m' });
    expect((await hub.execute({ operation: 'create', workflow_id: 'wf_gate', parameters: GATED })).status).toBe('success');
    expect((await hub.execute({ operation: 'start', workflow_id: 'wf_gate' })).status).toBe('success');
    const idle = await connect();
    await idle.request({ operation: 'health' }, 'h');
    const subscriber = await connect();
    await subscriber.request({ operation: 'subscribe-event', parameters: { patterns: ['WORKFLOW_FAILED.#'] } }, 's');
    const waiter = await connect();
    waiter.send({ operation: 'wait', workflow_id: 'wf_gate', parameters: { timeout: '1h' }, request_id: 'w' });
    const stalled = await connect();
    await stalled.request({ operation: 'subscribe-event', parameters: { patterns: ['SYSTEM_MAINTENANCE.#'], max_queue: 10 } }, 's');
    stalled.socket.pause();
    const pad = 'x'.repeat(8 * 1024);
    for (let n = 0; n < 100; n++) {
      await hub.execute({ operation: 'publish-event', parameters: { event_type: 'SYSTEM_MAINTENANCE', data: { operation_type: 't', estimated_duration: '1s', impact: 'none', pad } } });
    }
    const keeper = await connect();
    await until(() => socket!.stats().connections === 5 && socket!.stats().by_connection.every((c) => c.pending_requests === (c.connection_id === 'conn_3' ? 1 : 0)));

    clock.advance(40_000);
    // a blank line is a keepalive: it is read (and skipped) like any byte
    keeper.send('\n');
    await until(() => socket!.stats().by_connection.find((c) => c.connection_id === 'conn_5')!.quiet_ms === 0);
    clock.advance(21_000);
    await until(() => socket!.stats().connections === 3);
    expect(await idle.line((l) => l.error?.code === 'CONNECTION_IDLE')).toMatchObject({ error: { message: 'Nothing was sent or received for 60 s' } });
    await idle.closed;
    // what the stalled one had not read is still there for it, then the end
    stalled.socket.resume();
    await stalled.closed;
    expect(socket.stats().closed).toEqual({ idle: 1, stalled: 1, backlog: 0 });
    expect(socket.stats().by_connection.map((c) => c.connection_id)).toEqual(['conn_2', 'conn_3', 'conn_5']);

    // the keeper's minute runs from its keepalive; the subscriber and the waiter are quiet, not idle
    clock.advance(40_000);
    await until(() => socket!.stats().connections === 2);
    expect(socket.stats().by_connection.map((c) => c.connection_id)).toEqual(['conn_2', 'conn_3']);
    const reasons = hub.events().filter((e) => e.event_type === 'ERROR_ENCOUNTERED' && e.data.component === 'control-socket').map((e) => e.data.reason);
    expect(reasons.sort()).toEqual(['idle', 'idle', 'stalled']);
    // once its answer is out, the waiter counts as idle like any other
    expect((await hub.execute({ operation: 'pause', workflow_id: 'wf_gate' })).status).toBe('success');
    expect((await waiter.line((l) => l.request_id === 'w')).result.status).toBe('paused');
    await until(() => {
      const view = socket!.stats().by_connection.find((c) => c.connection_id === 'conn_3')!;
      return view.quiet_ms === 0 && view.pending_requests === 0;
    });
    clock.advance(60_000);
    await waiter.closed;
    expect(subscriber.socket.destroyed).toBe(false);
  });
});
