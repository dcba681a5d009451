import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { listenPrivately } from './private-socket.js';
import { errorResponse } from './responses.js';
import { TroupeError } from './errors.js';
import { checkJsonTextNesting, MAX_PARAMS_DEPTH } from './nesting.js';
import type { Hub } from './hub.js';
import type { Session } from './events/subscriptions.js';

/** Requests longer than this (bytes, without the newline) are refused with an error response. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/**
 * The control socket of `troupe serve` (DESIGN §5): newline-delimited JSON.
 * Each request line is one command object, as `hub.execute` takes it
 * (`{"operation":"start","workflow_id":"wf_1","parameters":{}}`), optionally
 * with `"request_id"`; each answer is one response line, in request order per
 * connection, echoing `request_id`. A line that is not JSON, not an object,
 * or longer than {@link MAX_REQUEST_BYTES} is answered with an error
 * response; the connection and the supervisor go on.
 */
export class ControlSocket {
  readonly #server: Server;
  readonly #path: string;
  readonly #connections = new Set<Socket>();

  private constructor(server: Server, path: string) {
    this.#server = server;
    this.#path = path;
  }

  /** Listens on `path` (mode 0600 from its first moment, see {@link listenPrivately}), replacing a stale socket: the caller holds the data-dir lock. */
  static async listen(hub: Hub, path: string): Promise<ControlSocket> {
    if (Buffer.byteLength(path) > 100) {
      throw new TroupeError('VALIDATION_FAILED', `The control socket path is too long for a Unix socket (${Buffer.byteLength(path)} bytes, at most 100): ${path}`, {
        details: 'Use a shorter --data-dir',
      });
    }
    // whoever left it is gone: we hold the lock of its data directory
    await rm(path, { force: true });
    const server = createServer();
    const socket = new ControlSocket(server, path);
    server.on('connection', (connection) => socket.#serve(hub, connection));
    // never reachable by another user, not even between listen() and a chmod
    await listenPrivately(server, path);
    return socket;
  }

  get path(): string {
    return this.#path;
  }

  #serve(hub: Hub, connection: Socket): void {
    this.#connections.add(connection);
    // a connection is a session: its subscriptions push `{"subscription_id","event"}` lines, and end with it
    const session: Session = {
      onEvent: (subscriptionId, event) => {
        if (!connection.destroyed) connection.write(`${JSON.stringify({ subscription_id: subscriptionId, event })}\n`);
      },
    };
    connection.on('close', () => {
      this.#connections.delete(connection);
      hub.endSession(session);
    });
    connection.on('error', () => connection.destroy());
    let buffer = Buffer.alloc(0);
    let discarding = false;
    // answers go out in request order: each waits for the one before it
    let queue: Promise<void> = Promise.resolve();
    const answer = (produce: () => Promise<unknown>) => {
      queue = queue.then(async () => {
        const response = await produce();
        if (!connection.destroyed) connection.write(`${JSON.stringify(response)}\n`);
      });
    };
    connection.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (let newline = buffer.indexOf(10); newline !== -1; newline = buffer.indexOf(10)) {
        const line = buffer.subarray(0, newline);
        buffer = buffer.subarray(newline + 1);
        if (discarding) {
          discarding = false;
          continue;
        }
        if (line.length === 0 || (line.length === 1 && line[0] === 13)) continue;
        const text = line.toString('utf8');
        answer(() => this.#handle(hub, text, session));
      }
      if (buffer.length > MAX_REQUEST_BYTES && !discarding) {
        discarding = true;
        buffer = Buffer.alloc(0);
        answer(async () =>
          errorResponse(
            new TroupeError('VALIDATION_FAILED', `The request is longer than ${MAX_REQUEST_BYTES} bytes`, { details: 'It was discarded up to its end of line' }),
            { operation: '' },
            Date.now(),
          ),
        );
      } else if (discarding) {
        buffer = Buffer.alloc(0);
      }
    });
  }

  async #handle(hub: Hub, text: string, session: Session): Promise<unknown> {
    let request: unknown;
    try {
      // the request object is one level above its parameters; a deeper one (its request_id too) would
      // overflow the stack when its answer is rendered
      checkJsonTextNesting(text, 'the request', MAX_PARAMS_DEPTH + 1);
    } catch (error) {
      return errorResponse(error, { operation: '' }, Date.now());
    }
    try {
      request = JSON.parse(text);
    } catch (error) {
      return errorResponse(
        new TroupeError('PARSE_ERROR', 'The request is not valid JSON', { details: `${error instanceof Error ? error.message : String(error)}; one JSON object per line` }),
        { operation: '' },
        Date.now(),
      );
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return errorResponse(new TroupeError('VALIDATION_FAILED', 'A request is one JSON object: a command'), { operation: '' }, Date.now());
    }
    const { request_id: requestId, ...command } = request as Record<string, unknown>;
    const response = await hub.execute(command, session);
    return requestId === undefined ? response : { ...response, request_id: requestId };
  }

  /** Stops listening, ends the connections and removes the socket file. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    // attached clients would keep the server open: their connections end with it
    for (const connection of this.#connections) connection.destroy();
    await closed;
    await rm(this.#path, { force: true });
  }
}
