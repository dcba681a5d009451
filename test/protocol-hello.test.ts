/**
 * Protocol version negotiation and component registration on the real
 * control socket (protocol-standards.md "Version Management", "Component
 * Registration"): a client without a hello keeps working at 1.0.0; a hello
 * negotiates the lower version of one MAJOR; another MAJOR is refused with
 * PROTOCOL_VERSION_UNSUPPORTED and the connection closed; a registered
 * client is listed in `health` with its measured activity while connected,
 * and so are the task handlers, built-in and configured.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SocketClient } from '../src/cli/socket-client.js';
import { ControlSocket, createHub, createManualClock, HUB_VERSION, PROTOCOL_VERSION, type Hub, type ManualClock } from '../src/index.js';
import { scratchDir } from './helpers/cli.js';
import { RawClient, until, type Line } from './helpers/raw-socket.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageVersion = (JSON.parse(readFileSync(join(here, '..', 'package.json'), 'utf8')) as { version: string }).version;
const registration = { component_id: 'resource-manager', component_type: 'utility', version: '1.0.0', capabilities: ['resource_allocation'], dependencies: ['coordination-hub', 'nowhere'] };

describe('the control socket protocol', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let hub: Hub;
  let clock: ManualClock;
  let socket: ControlSocket;
  const clients: RawClient[] = [];

  beforeEach(async () => {
    ({ dir, cleanup } = await scratchDir());
    clock = createManualClock(Date.parse('2025-01-15T12:00:00Z'));
    hub = createHub({ maxThreads: 1, clock, handlers: { deploy: './fixtures/handlers/versioned.mjs', greet: './fixtures/handlers/faulty.mjs#ok' }, handlersBaseDir: here });
    await hub.ready;
    socket = await ControlSocket.listen(hub, join(dir, 's.sock'), { clock });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await socket.close();
    await hub.close({ graceMs: 0 });
    await cleanup();
  });

  const connect = async () => {
    const client = await RawClient.connect(join(dir, 's.sock'));
    clients.push(client);
    return client;
  };
  const components = async (client: RawClient, id: string): Promise<Line[]> => (await client.request({ operation: 'health' }, id)).result.components;

  it('serves a client that sends no hello as before: protocol 1.0.0', async () => {
    const old = await connect();
    expect((await old.request({ operation: 'list-workflows' }, 'a')).status).toBe('success');
    expect(socket.stats().by_connection[0]!.protocol_version).toBe('1.0.0');
    // a hello is the first line or none
    const late = await old.request({ operation: 'hello', parameters: { protocol_version: PROTOCOL_VERSION } }, 'b');
    expect(late.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('first request') });
    expect((await old.request({ operation: 'health' }, 'c')).status).toBe('success');
  });

  it('answers a hello with its version, capabilities and components, and registers the client until it leaves', async () => {
    const client = await connect();
    const hello = await client.request({ operation: 'hello', parameters: { protocol_version: PROTOCOL_VERSION, capabilities: ['event_push', 'telepathy'], component_registration: registration } }, 'h');
    expect(hello).toMatchObject({ status: 'success', operation: 'hello' });
    expect(hello.result).toMatchObject({ message_type: 'hello', protocol_version: PROTOCOL_VERSION, negotiated_version: PROTOCOL_VERSION, common_capabilities: ['event_push'], registered: { component_id: 'resource-manager' } });
    expect(hello.result.components.map((c: Line) => c.component_id)).toEqual(expect.arrayContaining(['hub', 'event-hub', 'handler:echo', 'resource-manager']));
    expect(socket.stats().by_connection[0]!.protocol_version).toBe(PROTOCOL_VERSION);

    clock.advance(5_000);
    const other = await connect();
    expect((await other.request({ operation: 'list-workflows' }, 'x')).status).toBe('success');
    const listed = (await components(other, 'y')).find((c) => c.component_id === 'resource-manager')!;
    // its last activity is its hello, 5 s ago; the health request was the other connection's
    expect(listed).toMatchObject({
      component_type: 'utility',
      version: '1.0.0',
      status: 'healthy',
      last_activity: '2025-01-15T12:00:00.000Z',
      uptime: '5s',
      protocol_version: PROTOCOL_VERSION,
      dependencies: { 'coordination-hub': 'healthy', nowhere: 'unknown' },
      performance_metrics: { requests: 1, error_rate: 0 },
    });
    await client.request({ operation: 'list-workflows' }, 'again');
    expect((await components(other, 'z')).find((c) => c.component_id === 'resource-manager')).toMatchObject({ last_activity: '2025-01-15T12:00:05.000Z', performance_metrics: { requests: 2 } });

    // one id per live connection
    const twin = await connect();
    const refused = await twin.request({ operation: 'hello', parameters: { protocol_version: PROTOCOL_VERSION, component_registration: registration } }, 't');
    expect(refused.error).toMatchObject({ code: 'VALIDATION_FAILED', message: 'Component resource-manager is already registered by another connection' });

    client.socket.destroy();
    await until(() => socket.stats().connections === 2);
    expect((await components(other, 'gone')).some((c) => c.component_id === 'resource-manager')).toBe(false);
  });

  it('accepts a client of a newer MINOR at the lower version, and says what it did not take', async () => {
    const client = await connect();
    const hello = await client.request(
      { operation: 'hello', parameters: { protocol_version: '1.9.3', component_registration: { ...registration, health_check_endpoint: '/health', performance_metrics: ['allocation_time'], event_subscriptions: ['workflow.*.created'] } } },
      'h',
    );
    expect(hello.result.negotiated_version).toBe(PROTOCOL_VERSION);
    expect(hello.warnings).toEqual([expect.stringMatching(/^health_check_endpoint: /), expect.stringMatching(/^performance_metrics: /)]);
    // its event_subscriptions are this connection's subscription: events are pushed to it
    const subscription = hello.result.registered.subscription_ids[0];
    expect(subscription).toEqual(expect.any(String));
    await client.request({ operation: 'create', workflow_id: 'wf_1', parameters: { name: 'one', phases: ['setup'] } }, 'c');
    const pushed = await client.line((l) => l.subscription_id === subscription);
    expect(pushed.event).toMatchObject({ event_type: 'WORKFLOW_CREATED', workflow_id: 'wf_1' });
  });

  it('refuses a client of another MAJOR with PROTOCOL_VERSION_UNSUPPORTED and closes the connection', async () => {
    const client = await connect();
    client.send({ operation: 'hello', parameters: { protocol_version: '2.0.0' }, request_id: 'h' });
    // a request queued behind the refused hello never runs
    client.send({ operation: 'create', workflow_id: 'wf_never', parameters: { name: 'n', phases: ['p'] }, request_id: 'c' });
    await client.closed;
    expect(client.lines).toHaveLength(1);
    expect(client.lines[0]).toMatchObject({
      status: 'error',
      operation: 'hello',
      request_id: 'h',
      error: { code: 'PROTOCOL_VERSION_UNSUPPORTED', message: expect.stringContaining(`speaks 1.x (up to ${PROTOCOL_VERSION})`), details: expect.stringContaining('Upgrade the supervisor') },
    });
    expect(client.lines[0]!.recovery_suggestions[0]).toContain('Upgrade the supervisor');
    expect(hub.workflowIds()).toEqual([]);
    // an older MAJOR is told to upgrade the client
    const old = await connect();
    const refused = await old.request({ operation: 'hello', parameters: { protocol_version: '0.9.0' } }, 'o');
    expect(refused.error.details).toContain('Upgrade the client');
    await old.closed;
  });

  it('lists the task handlers as components: built-ins at troupe\'s version, modules by their meta or the nearest package.json', async () => {
    const client = await connect();
    const listed = await components(client, 'h');
    expect(listed.find((c) => c.component_id === 'handler:echo')).toMatchObject({ component_type: 'handler', version: HUB_VERSION, status: 'healthy', last_activity: null });
    expect(listed.find((c) => c.component_id === 'handler:deploy')).toMatchObject({ name: 'deployer', version: '2.3.1', details: { version_source: 'module' } });
    expect(listed.find((c) => c.component_id === 'handler:greet')).toMatchObject({ name: 'faulty', version: packageVersion, details: { version_source: 'package.json' } });
    expect(listed.find((c) => c.component_id === 'hub')).toMatchObject({ component_type: 'core', version: HUB_VERSION });

    await client.request({ operation: 'create', workflow_id: 'wf_d', parameters: { name: 'd', phases: [{ name: 'p', tasks: [{ id: 'ship', handler: 'deploy', input: 1 }] }] } }, 'c');
    await client.request({ operation: 'start', workflow_id: 'wf_d' }, 's');
    await client.request({ operation: 'wait', workflow_id: 'wf_d' }, 'w');
    expect((await components(client, 'h2')).find((c) => c.component_id === 'handler:deploy')).toMatchObject({ last_activity: new Date(clock.now()).toISOString(), performance_metrics: { runs: 1, failures: 0 } });
  });

  it('is spoken by troupe\'s own socket client, which registers itself', async () => {
    const client = await SocketClient.connect(join(dir, 's.sock'), { name: 'attach', clock });
    try {
      expect(client.protocolVersion).toBe(PROTOCOL_VERSION);
      const health = await client.execute({ operation: 'health' });
      const mine = (health.status === 'success' ? (health.result as { components: Line[] }).components : []).find((c) => String(c.component_id).startsWith(`troupe-attach-${process.pid}-`));
      expect(mine).toMatchObject({ component_type: 'client', version: HUB_VERSION, status: 'healthy' });
    } finally {
      client.close();
    }
  });
});
