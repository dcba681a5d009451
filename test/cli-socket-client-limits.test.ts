/**
 * The socket client of `troupe attach` and `troupe exec` under the control
 * socket's limits: a quiet attach session keeps its connection with a
 * keepalive, and a connection the supervisor refuses says why.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SocketClient } from '../src/cli/socket-client.js';
import { ControlSocket, createHub, createManualClock, type Hub } from '../src/index.js';
import { scratchDir } from './helpers/cli.js';
import { RawClient, until } from './helpers/raw-socket.js';

describe('the socket client under the control socket limits', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hub: Hub;
  let socket: ControlSocket;
  const closers: (() => void)[] = [];

  beforeEach(async () => {
    ({ dir, cleanup } = await scratchDir());
    hub = createHub({ maxThreads: 1 });
    await hub.ready;
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) close();
    await socket.close();
    await hub.close({ graceMs: 0 });
    await cleanup();
  });

  it('a quiet client stays connected past the idle timeout by its keepalive, while a silent raw connection is closed', async () => {
    const clock = createManualClock(0);
    socket = await ControlSocket.listen(hub, join(dir, 's.sock'), { clock, idleTimeout: '1m' });
    const client = await SocketClient.connect(join(dir, 's.sock'), { clock, keepaliveMs: 30_000 });
    closers.push(() => client.close());
    const silent = await RawClient.connect(join(dir, 's.sock'));
    closers.push(() => silent.socket.destroy());
    await until(() => socket.stats().connections === 2);
    for (let minute = 0; minute < 3; minute++) {
      for (let half = 0; half < 2; half++) {
        clock.advance(30_000);
        // the blank line reached the supervisor: the client's connection is not quiet any more
        await until(() => socket.stats().by_connection.find((c) => c.connection_id === 'conn_1')?.quiet_ms === 0);
      }
    }
    await silent.closed;
    expect(socket.stats()).toMatchObject({ connections: 1, closed: { idle: 1 } });
    expect((await client.execute({ operation: 'health' })).status).toBe('success');
  });

  it('a refused connection rejects its request with the supervisor\'s reason', async () => {
    socket = await ControlSocket.listen(hub, join(dir, 's.sock'), { maxConnections: 1 });
    const first = await SocketClient.connect(join(dir, 's.sock'));
    closers.push(() => first.close());
    expect((await first.execute({ operation: 'health' })).status).toBe('success');
    const second = await SocketClient.connect(join(dir, 's.sock'));
    closers.push(() => second.close());
    await expect(second.execute({ operation: 'health' })).rejects.toThrow(
      'the supervisor closed the connection: CONNECTION_LIMIT: The control socket serves at most 1 connections at once; this one is refused',
    );
    expect(second.closeReason).toMatch(/^CONNECTION_LIMIT: /);
  });
});
