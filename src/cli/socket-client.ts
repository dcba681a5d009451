import { connect, type Socket } from 'node:net';
import { HUB_VERSION, LEGACY_PROTOCOL_VERSION, PROTOCOL_VERSION, systemClock, type Clock, type EventRecord, type Hub, type HubResponse, type Session, type TimerHandle } from '../index.js';

/**
 * A connection sends a blank line this often: the supervisor skips it, and
 * counts it as activity, so a quiet `troupe attach` is not closed by the
 * control socket's idle timeout (10 minutes by default).
 */
export const KEEPALIVE_MS = 60_000;

/** What the REPL and the script loop send commands to: a hub in this process, or one behind the socket. */
export interface CommandTarget {
  execute(command: unknown): Promise<HubResponse>;
  /** workflow ids for tab completion */
  workflowIds(): string[];
  /** where this session's subscriptions deliver (set by the REPL or the script loop) */
  onEvent: ((subscriptionId: string, event: EventRecord) => void) | undefined;
}

/** The hub in this process as a session of its own: `subscribe-event` delivers to `onEvent`. */
export class LocalTarget implements CommandTarget {
  readonly #hub: Hub;
  readonly #session: Session;
  onEvent: ((subscriptionId: string, event: EventRecord) => void) | undefined;

  constructor(hub: Hub) {
    this.#hub = hub;
    this.#session = { onEvent: (id, event) => this.onEvent?.(id, event) };
  }

  execute(command: unknown): Promise<HubResponse> {
    return this.#hub.execute(command, this.#session);
  }

  workflowIds(): string[] {
    return this.#hub.workflowIds();
  }
}

/** No supervisor answers on the socket. */
export class NotListeningError extends Error {
  constructor(readonly path: string, cause: unknown) {
    super(`No troupe supervisor is listening on ${path}`, { cause });
    this.name = 'NotListeningError';
  }
}

/** The supervisor refused this client's hello (another MAJOR protocol version: it closed the connection). */
export class HelloRefusedError extends Error {
  constructor(readonly response: HubResponse & { status: 'error' }) {
    super(`${response.error.code}: ${response.error.message}. ${response.recovery_suggestions[0] ?? ''}`.trim());
    this.name = 'HelloRefusedError';
  }
}

/** Makes each client's component id unique, in one process too. */
let clients = 0;

/**
 * A client of `troupe serve`'s control socket: sends command objects as
 * newline-delimited JSON and resolves each with its response (matched by
 * `request_id`).
 */
export class SocketClient implements CommandTarget {
  readonly #socket: Socket;
  readonly #pending = new Map<string, (response: HubResponse) => void>();
  #ids: string[] = [];
  /** events of this connection's subscriptions, pushed by the supervisor */
  onEvent: ((subscriptionId: string, event: EventRecord) => void) | undefined;
  #next = 0;
  #closed: Promise<void>;
  #keepalive: TimerHandle | null = null;
  /** why the supervisor closed the connection, when it said so (idle, limit, backlog, shutdown) */
  closeReason: string | null = null;
  /** the code of that reason: HUB_CLOSED when it shut down; null when the connection ended without a word (a supervisor killed or crashed) */
  closeCode: string | null = null;
  /** the protocol version its hello negotiated; 1.0.0 with a supervisor from before the hello */
  protocolVersion: string = LEGACY_PROTOCOL_VERSION;

  private constructor(socket: Socket, clock: Clock, keepaliveMs: number) {
    this.#socket = socket;
    const beat = () => {
      this.#keepalive = clock.setTimer(keepaliveMs, () => {
        if (!socket.writable) return;
        socket.write('\n');
        beat();
      });
    };
    beat();
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const response = JSON.parse(line) as HubResponse & { request_id?: string; subscription_id?: string; event?: EventRecord };
        if (response.subscription_id !== undefined && response.event !== undefined) {
          this.onEvent?.(response.subscription_id, response.event);
          continue;
        }
        // a line that answers no request is the supervisor's reason for closing this connection
        if (response.request_id === undefined && response.status === 'error') {
          this.closeReason = `${response.error.code}: ${response.error.message}`;
          this.closeCode = response.error.code;
        }
        const resolve = response.request_id === undefined ? undefined : this.#pending.get(response.request_id);
        if (!resolve) continue;
        this.#pending.delete(response.request_id!);
        const { request_id: _id, ...plain } = response;
        resolve(plain as HubResponse);
      }
    });
    this.#closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.#keepalive?.cancel();
        resolve();
      }),
    );
  }

  /**
   * Connects and says hello: negotiates the protocol version and registers
   * as the component `troupe-<name>-<pid>-<n>` (`name`: attach, exec, logs),
   * listed in `health` while connected. A supervisor from before the hello
   * (UNKNOWN_OPERATION) is spoken to in 1.0.0; one of another MAJOR version
   * rejects with {@link HelloRefusedError}. `keepaliveMs` and `clock` are for tests.
   */
  static async connect(path: string, options: { keepaliveMs?: number; clock?: Clock; name?: string } = {}): Promise<SocketClient> {
    const client = await new Promise<SocketClient>((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => resolve(new SocketClient(socket, options.clock ?? systemClock, options.keepaliveMs ?? KEEPALIVE_MS)));
      socket.once('error', (error) => reject(new NotListeningError(path, error)));
    });
    // a connection the supervisor refuses (at its limit) closes before it answers: the next request says why, as without a hello
    const hello = await client.execute({
      operation: 'hello',
      parameters: {
        protocol_version: PROTOCOL_VERSION,
        capabilities: ['commands', 'request_id', 'event_push'],
        component_registration: {
          component_id: `troupe-${options.name ?? 'client'}-${process.pid}-${++clients}`,
          component_type: 'client',
          version: HUB_VERSION,
          capabilities: ['commands'],
          dependencies: ['coordination-hub'],
        },
      },
    }).catch(() => null);
    if (hello === null) return client;
    if (hello.status === 'success') client.protocolVersion = (hello.result as { negotiated_version: string }).negotiated_version;
    else if (hello.error.code !== 'UNKNOWN_OPERATION') {
      client.close();
      throw new HelloRefusedError(hello);
    }
    return client;
  }

  async execute(command: unknown): Promise<HubResponse> {
    const requestId = `r${++this.#next}`;
    const response = await new Promise<HubResponse>((resolve, reject) => {
      this.#pending.set(requestId, resolve);
      this.#socket.write(`${JSON.stringify({ ...(command as object), request_id: requestId })}\n`, (error) => error && reject(error));
      void this.#closed.then(() => reject(new Error(`the supervisor closed the connection${this.closeReason ? `: ${this.closeReason}` : ''}`)));
    });
    if (response.status === 'success' && response.operation === 'list-workflows') {
      this.#ids = (response.result as { workflows: { workflow_id: string }[] }).workflows.map((w) => w.workflow_id);
    }
    return response;
  }

  workflowIds(): string[] {
    return this.#ids;
  }

  /** Resolves when the connection ends: the supervisor shut down (`closeCode` HUB_CLOSED), closed it for a reason, or went away. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  close(): void {
    this.#keepalive?.cancel();
    this.#socket.end();
  }
}
