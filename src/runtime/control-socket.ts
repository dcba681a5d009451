import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { listenPrivately } from './private-socket.js';
import { ControlConnection, type CloseReason, type ConnectionView } from './control-connection.js';
import { resolveControlSocketOptions, type ControlSocketOptions, type ResolvedControlSocketOptions } from './control-socket-options.js';
import { errorResponse } from './responses.js';
import { TroupeError } from './errors.js';
import type { Hub } from './hub.js';

export { MAX_REQUEST_BYTES } from './request-lines.js';

/** A refused connection is published at most this often (the count in between is kept): a client retrying in a loop must not flood the log. */
const REFUSAL_NOTICE_EVERY_MS = 60_000;
/** How long a refused connection may stay open for its client to read why (it is closed as soon as the client closes). */
const REFUSED_GRACE_MS = 1_000;

/** What `ControlSocket.stats()` answers. */
export interface ControlSocketStats {
  connections: number;
  max_connections: number;
  /** connections refused at the limit since the socket opened */
  refused: number;
  /** connections the supervisor closed, by reason */
  closed: Record<CloseReason, number>;
  by_connection: ConnectionView[];
}

/**
 * The control socket of `troupe serve` (DESIGN §5): newline-delimited JSON.
 * Each request line is one command object, as `hub.execute` takes it
 * (`{"operation":"start","workflow_id":"wf_1","parameters":{}}`), optionally
 * with `"request_id"`; each answer is one response line, in request order per
 * connection, echoing `request_id`. A line that is not JSON, not an object,
 * or longer than {@link MAX_REQUEST_BYTES} is answered with an error
 * response; the connection and the supervisor go on. Each connection is a
 * {@link ControlConnection}, within the limits of {@link ControlSocketOptions}.
 */
export class ControlSocket {
  readonly #server: Server;
  readonly #path: string;
  readonly #options: ResolvedControlSocketOptions;
  readonly #connections = new Set<ControlConnection>();
  /** refused connections whose client has not read the reason and closed yet */
  readonly #refusing = new Set<Socket>();
  #accepted = 0;
  #refused = 0;
  #refusedUnreported = 0;
  #lastRefusalNotice = -Infinity;
  readonly #closedBy: Record<CloseReason, number> = { idle: 0, stalled: 0, backlog: 0 };

  private constructor(server: Server, path: string, options: ResolvedControlSocketOptions) {
    this.#server = server;
    this.#path = path;
    this.#options = options;
  }

  /** Listens on `path` (mode 0600 from its first moment, see {@link listenPrivately}), replacing a stale socket: the caller holds the data-dir lock. */
  static async listen(hub: Hub, path: string, options: ControlSocketOptions = {}): Promise<ControlSocket> {
    const resolved = resolveControlSocketOptions(options);
    if (Buffer.byteLength(path) > 100) {
      throw new TroupeError('VALIDATION_FAILED', `The control socket path is too long for a Unix socket (${Buffer.byteLength(path)} bytes, at most 100): ${path}`, {
        details: 'Use a shorter --data-dir',
      });
    }
    // whoever left it is gone: we hold the lock of its data directory
    await rm(path, { force: true });
    const server = createServer();
    const socket = new ControlSocket(server, path, resolved);
    server.on('connection', (connection) => socket.#serve(hub, connection));
    // never reachable by another user, not even between listen() and a chmod
    await listenPrivately(server, path);
    return socket;
  }

  get path(): string {
    return this.#path;
  }

  /**
   * The connections now, the limit, and what was refused or closed by the supervisor.
   *
   * @example
   * socket.stats().by_connection.map((c) => c.unread_bytes) // what each client has not read yet
   */
  stats(): ControlSocketStats {
    return {
      connections: this.#connections.size,
      max_connections: this.#options.maxConnections,
      refused: this.#refused,
      closed: { ...this.#closedBy },
      by_connection: [...this.#connections].map((c) => c.view()),
    };
  }

  #serve(hub: Hub, socket: Socket): void {
    if (this.#connections.size >= this.#options.maxConnections) return this.#refuse(hub, socket);
    const connection = new ControlConnection(`conn_${++this.#accepted}`, socket, {
      hub,
      options: this.#options,
      closedBySupervisor: (c, reason, message) => {
        this.#closedBy[reason]++;
        this.#notice(hub, `closed connection ${c.id} (${reason}): ${message}`, { reason, message, ...c.view() });
      },
    });
    this.#connections.add(connection);
    socket.on('close', () => this.#connections.delete(connection));
  }

  /** One connection too many: a coded error line, then closed (its file descriptor is the supervisor's to keep). */
  #refuse(hub: Hub, socket: Socket): void {
    this.#refused++;
    this.#refusedUnreported++;
    const max = this.#options.maxConnections;
    const message = `The control socket serves at most ${max} connections at once; this one is refused`;
    const line = errorResponse(new TroupeError('CONNECTION_LIMIT', message, { details: `${this.#connections.size} connections are open` }), { operation: '' }, this.#options.clock.now());
    socket.on('error', () => socket.destroy());
    // the reason, then our end; what the client sends meanwhile is read and dropped, so a client that
    // writes its request first still reads why instead of failing its write on a closed socket
    socket.resume();
    socket.end(`${JSON.stringify(line)}\n`);
    // at most as many lingering as served: past that (a client connecting in a loop) one is closed at once
    if (this.#refusing.size >= max) socket.destroy();
    else {
      this.#refusing.add(socket);
      const grace = this.#options.clock.setTimer(REFUSED_GRACE_MS, () => socket.destroy());
      socket.on('close', () => {
        grace.cancel();
        this.#refusing.delete(socket);
      });
    }
    const now = this.#options.clock.now();
    if (now - this.#lastRefusalNotice < REFUSAL_NOTICE_EVERY_MS) return;
    this.#lastRefusalNotice = now;
    const refused = this.#refusedUnreported;
    this.#refusedUnreported = 0;
    this.#notice(hub, `refused ${refused} connection(s) at the limit of ${max}`, { reason: 'connection_limit', max_connections: max, refused, refused_total: this.#refused });
  }

  /** Tells the user: an ERROR_ENCOUNTERED warning in the event log, and a line to the log callback. */
  #notice(hub: Hub, text: string, data: Record<string, unknown>): void {
    this.#options.log(`troupe: control socket: ${text}`);
    void hub.execute({
      operation: 'publish-event',
      parameters: { event_type: 'ERROR_ENCOUNTERED', severity: 'warning', source: 'control-socket', data: { component: 'control-socket', ...data } },
    });
  }

  /** Stops listening, ends the connections (a last line tells each client the supervisor shuts down) and removes the socket file. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    // attached clients would keep the server open: their connections end with it, each told why
    for (const connection of this.#connections) connection.shutdown();
    for (const refused of this.#refusing) refused.destroy();
    await closed;
    await rm(this.#path, { force: true });
  }
}
