/**
 * Issue "Hardening", item 9 (unbounded clients): a socket client that does
 * not read must cost the supervisor a bounded amount. Subscribed events wait
 * in the subscription's own queue (`max_queue`, `overflow`), not in the
 * socket's buffer; responses are never dropped, but a client that leaves too
 * many unread is disconnected, with the reason published.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlSocket, createHub, type Hub } from '../src/index.js';
import { scratchDir } from './helpers/cli.js';
import { RawClient, until } from './helpers/raw-socket.js';

const PAD = 'x'.repeat(8 * 1024);
/** A SYSTEM_MAINTENANCE event of about 8 KiB: what the subscriptions below take. */
const bigEvent = (n: number) => ({
  operation: 'publish-event',
  parameters: { event_type: 'SYSTEM_MAINTENANCE', data: { operation_type: 'test', estimated_duration: '1s', impact: 'none', n, pad: PAD } },
});

describe('a control-socket client that does not read', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hub: Hub;
  let socket: ControlSocket;
  const clients: RawClient[] = [];
  const health = async () => ((await hub.execute({ operation: 'health' })) as any).result;
  const subscribers = async () => (await health()).components.find((c: { component_id: string }) => c.component_id === 'event-hub').details.subscribers as any[];

  beforeEach(async () => {
    ({ dir, cleanup } = await scratchDir());
    hub = createHub({ maxThreads: 1 });
    await hub.ready;
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await socket?.close();
    await hub.close({ graceMs: 0 });
    await cleanup();
  });

  it('20 subscribers that stop reading hold at most max_queue events each; drop_oldest counts the dropped, dead_letter dead-letters them, and a reader gets exactly the rest', async () => {
    socket = await ControlSocket.listen(hub, join(dir, 's.sock'));
    const published = 300;
    const subs: { client: RawClient; id: string; overflow: string }[] = [];
    for (let i = 0; i < 20; i++) {
      const client = await RawClient.connect(join(dir, 's.sock'));
      clients.push(client);
      const overflow = i % 2 === 0 ? 'drop_oldest' : 'dead_letter';
      const answer = await client.request({ operation: 'subscribe-event', parameters: { patterns: ['SYSTEM_MAINTENANCE.#'], max_queue: 50, overflow } }, 's');
      subs.push({ client, id: answer.result.subscription_id, overflow });
      // stops reading: the kernel's buffers fill, then the supervisor's side must hold the rest
      client.socket.pause();
    }
    for (let n = 0; n < published; n++) await hub.execute(bigEvent(n));

    // 300 events of 8 KiB are 2.4 MB per subscriber: what waits in the supervisor is bounded instead
    for (const view of socket.stats().by_connection) expect(view.unread_bytes).toBeLessThan(64 * 1024);
    const before = await subscribers();
    for (const { id, overflow } of subs) {
      const s = before.find((x) => x.subscription_id === id);
      expect(s).toMatchObject({ queued: 50, max_queue: 50, overflow });
      if (overflow === 'drop_oldest') expect(s.dropped).toBeGreaterThan(0);
      else expect(s.dead_lettered).toBeGreaterThan(0);
    }
    const letters = ((await hub.execute({ operation: 'dead-letters', parameters: { subscription_id: subs[1]!.id, limit: 1000 } })) as any).result;
    expect(letters.dead_letters[0].reason).toBe("the subscriber's queue is full (50)");

    // reading again: each gets what its queue kept, in order, and the counts add up to what was published
    for (const { client } of subs) client.socket.resume();
    const received = (client: RawClient) => client.lines.filter((l) => l.event).map((l) => l.event.data.n as number);
    const after = async () => {
      const now = await subscribers();
      return subs.map(({ id, client }) => {
        const s = now.find((x) => x.subscription_id === id);
        return { got: received(client).length, lost: s.dropped + s.dead_lettered, queued: s.queued };
      });
    };
    await until(async () => (await after()).every((s) => s.queued === 0 && s.got + s.lost === published));
    for (const { client } of subs) {
      const ns = received(client);
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
      // drop_oldest keeps the newest; dead_letter keeps the oldest: either way the last ones read are in order
    }
    expect(received(subs[0]!.client).at(-1)).toBe(published - 1);
  });

  it('two full dead_letter subscribers to "#" dead-letter each other\'s notices once, without an endless cascade', async () => {
    socket = await ControlSocket.listen(hub, join(dir, 's.sock'));
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const client = await RawClient.connect(join(dir, 's.sock'));
      clients.push(client);
      ids.push((await client.request({ operation: 'subscribe-event', parameters: { patterns: ['#'], max_queue: 5, overflow: 'dead_letter' } }, 's')).result.subscription_id);
      client.socket.pause();
    }
    for (let n = 0; n < 100; n++) expect((await hub.execute(bigEvent(n))).status).toBe('success');
    const announced = hub.events().filter((e) => e.event_type === 'EVENT_DEAD_LETTERED');
    // every announcement is about a SYSTEM_MAINTENANCE event, never about another announcement
    expect(announced.length).toBeGreaterThan(0);
    expect(announced.every((e) => e.data.event_type === 'SYSTEM_MAINTENANCE')).toBe(true);
    for (const s of (await subscribers()).filter((x) => ids.includes(x.subscription_id))) expect(s.queued).toBe(5);
  });

  it('responses are never dropped: past maxUnreadBytes unread the client is disconnected, with the reason published', async () => {
    const logged: string[] = [];
    socket = await ControlSocket.listen(hub, join(dir, 's.sock'), { maxUnreadBytes: 64 * 1024, log: (line) => logged.push(line) });
    const client = await RawClient.connect(join(dir, 's.sock'));
    clients.push(client);
    client.socket.pause();
    const sent = 3000;
    client.send(Array.from({ length: sent }, (_, i) => `{"operation":"help","request_id":${i}}\n`).join(''));
    await until(() => socket.stats().closed.backlog === 1);
    expect(socket.stats().connections).toBe(0);
    // what the client can still read is every response up to the cut, in order, none missing
    client.socket.resume();
    await client.closed;
    const ids = client.lines.filter((l) => l.operation === 'help').map((l) => l.request_id as number);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.length).toBeLessThan(sent);
    expect(ids).toEqual(ids.map((_, i) => i));
    const notice = hub.events().find((e) => e.event_type === 'ERROR_ENCOUNTERED' && e.data.component === 'control-socket');
    expect(notice).toMatchObject({ severity: 'warning', source: 'control-socket', data: { reason: 'backlog' } });
    expect(logged.join('\n')).toMatch(/closed connection conn_1 \(backlog\): The client left \d+ bytes of responses unread \(at most 65536\)/);
  });
});
