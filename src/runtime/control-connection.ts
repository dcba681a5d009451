import type { Socket } from 'node:net';
import type { TimerHandle } from '../actors/clock.js';
import type { ResolvedControlSocketOptions } from './control-socket-options.js';
import { errorResponse } from './responses.js';
import { TroupeError, type ErrorCode } from './errors.js';
import type { Hub } from './hub.js';
import type { Session } from './events/subscriptions.js';
import type { HubResponse } from './commands.js';
import { MAX_REQUEST_BYTES, RequestLines, type RequestItem } from './request-lines.js';
import { checkJsonTextNesting, MAX_PARAMS_DEPTH } from './nesting.js';
import { ConnectionProtocol } from './protocol/connection-protocol.js';

/** Why the supervisor closed a connection. */
export type CloseReason =
  /** nothing moved either way for the idle timeout, and the client held no subscription and awaited no answer */
  | 'idle'
  /** output waited unread, without moving, for the idle timeout */
  | 'stalled'
  /** a response was due while more than `maxUnreadBytes` of earlier ones waited unread */
  | 'backlog';

/** How long a connection closed at shutdown has to take its last line before it is cut off. */
const SHUTDOWN_LINE_GRACE_MS = 1_000;

const CODES: Record<CloseReason, ErrorCode> = { idle: 'CONNECTION_IDLE', stalled: 'CONNECTION_STALLED', backlog: 'CONNECTION_BACKLOG' };

/** What a connection needs from the control socket that accepted it. */
export interface ConnectionContext {
  hub: Hub;
  options: ResolvedControlSocketOptions;
  /** the supervisor closed this connection: tell the user (event, log) */
  closedBySupervisor(connection: ControlConnection, reason: CloseReason, message: string): void;
}

/** A connection as `ControlSocket.stats()` shows it. */
export interface ConnectionView {
  connection_id: string;
  /** bytes written but not yet taken by the client's socket */
  unread_bytes: number;
  /** requests read, not yet answered (the one running included) */
  pending_requests: number;
  /** live subscriptions this connection opened */
  subscriptions: number;
  /** ms since a byte last moved either way */
  quiet_ms: number;
  /** what its hello negotiated; 1.0.0 without a hello */
  protocol_version: string;
}

/**
 * One control-socket connection: a session of its own (its subscriptions
 * push `{"subscription_id","event"}` lines and end with it), its requests
 * answered one at a time in order, and the bounds that keep one client from
 * costing the supervisor without limit:
 *
 * - events respect the socket's backpressure: once `write()` says the buffer
 *   is full, a delivery waits for `drain`, so what the client does not read
 *   waits in the subscription's own bounded queue, where its `overflow`
 *   (`drop_oldest` or `dead_letter`) applies;
 * - responses are never dropped; a response due while more than
 *   `maxUnreadBytes` of earlier output waits unread closes the connection
 *   (`backlog`), and past `maxPendingRequests` unanswered requests the
 *   connection is not read until its queue halves;
 * - once the connection is gone, requests still queued never run (the one
 *   running finishes);
 * - the idle timeout closes a connection where nothing moved (`idle`), or
 *   whose unread output did not move (`stalled`).
 *
 * The client may half-close (end its writing side): every request it sent is
 * still answered, a last line without a newline included, and then the
 * supervisor ends its side too; the connection's subscriptions end with it.
 *
 * @example
 * server.on('connection', (socket) => new ControlConnection('conn_1', socket, { hub, options, closedBySupervisor: report }));
 */
export class ControlConnection {
  readonly id: string;
  readonly session: Session;
  readonly #socket: Socket;
  readonly #ctx: ConnectionContext;
  readonly #lines = new RequestLines();
  readonly #protocol = new ConnectionProtocol();
  #pending: RequestItem[] = [];
  #pendingBytes = 0;
  #running = false;
  #paused = false;
  /** the client ended its writing side */
  #inputEnded = false;
  #closed = false;
  /** event deliveries waiting for the socket to drain */
  #drainWaiters: (() => void)[] = [];
  /** subscription ids this connection opened and has not closed */
  readonly #subscriptions = new Set<string>();
  #lastActivity: number;
  #timer: TimerHandle | null = null;

  constructor(id: string, socket: Socket, ctx: ConnectionContext) {
    this.id = id;
    this.#socket = socket;
    this.#ctx = ctx;
    this.#lastActivity = ctx.options.clock.now();
    this.session = { onEvent: (subscriptionId, event) => this.#push(`${JSON.stringify({ subscription_id: subscriptionId, event })}\n`) };
    // answers are owed after the client ends its writing side (half-close), so ours stays open until they are out
    socket.allowHalfOpen = true;
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('end', () => this.#endOfInput());
    socket.on('drain', () => this.#drained());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#close());
    this.#arm(ctx.options.idleTimeoutMs);
  }

  view(): ConnectionView {
    return {
      connection_id: this.id,
      unread_bytes: this.#socket.writableLength,
      pending_requests: this.#pending.length + (this.#running ? 1 : 0),
      subscriptions: this.#subscriptions.size,
      quiet_ms: this.#ctx.options.clock.now() - this.#lastActivity,
      protocol_version: this.#protocol.version,
    };
  }

  /** Closes the connection now, without a word. */
  destroy(): void {
    this.#socket.destroy();
  }

  /**
   * Closes the connection because the supervisor shuts down: a last line
   * says so (HUB_CLOSED, no request_id), so a client can tell a shutdown
   * from a supervisor that died (its connection just ends). Requests still
   * queued never run. The connection ends once the line is out; one whose
   * client left output unread could not read it in time, and is cut off at
   * once, as is one that has not taken the line within a second.
   */
  shutdown(): void {
    if (this.#gone()) return;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#socket.writableLength > 0 || this.#drainWaiters.length > 0) return this.destroy();
    const line = errorResponse(new TroupeError('HUB_CLOSED', 'The supervisor is shutting down', { details: `Connection ${this.id} closed by the supervisor` }), { operation: '' }, this.#ctx.options.clock.now());
    const cutOff = this.#ctx.options.clock.setTimer(SHUTDOWN_LINE_GRACE_MS, () => this.#socket.destroy());
    this.#socket.once('close', () => cutOff.cancel());
    // 'finish': the line and our end are with the OS, which hands them to the client even once the socket is closed
    this.#socket.once('finish', () => this.#socket.destroy());
    this.#socket.end(`${JSON.stringify(line)}\n`);
  }

  /** closed, or about to be: a failed write destroys the socket at once, its 'close' comes a loop turn later; or ended by the supervisor */
  #gone(): boolean {
    return this.#closed || this.#socket.destroyed || this.#socket.writableEnded;
  }

  #touch = (error?: Error | null): void => {
    if (!error) this.#lastActivity = this.#ctx.options.clock.now();
  };

  #read(chunk: Buffer): void {
    this.#touch();
    this.#enqueue(this.#lines.push(chunk));
  }

  #endOfInput(): void {
    this.#inputEnded = true;
    this.#enqueue(this.#lines.end());
    this.#finishIfDone();
  }

  #enqueue(items: RequestItem[]): void {
    if (this.#closed || items.length === 0) return;
    for (const item of items) {
      this.#pending.push(item);
      this.#pendingBytes += item.kind === 'line' ? item.text.length : 0;
    }
    // a client that sends faster than it is answered waits in its own buffers, not in ours
    if (!this.#paused && (this.#pending.length >= this.#ctx.options.maxPendingRequests || this.#pendingBytes > MAX_REQUEST_BYTES)) {
      this.#paused = true;
      this.#socket.pause();
    }
    void this.#run();
  }

  /** Answers the queued requests in order, one at a time, while the connection lives. */
  async #run(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (!this.#gone() && this.#pending.length > 0) {
        const item = this.#pending.shift()!;
        this.#pendingBytes -= item.kind === 'line' ? item.text.length : 0;
        if (this.#paused && this.#pending.length <= this.#ctx.options.maxPendingRequests / 2 && this.#pendingBytes <= MAX_REQUEST_BYTES / 2) {
          this.#paused = false;
          this.#socket.resume();
        }
        const response = await this.#answer(item);
        // the client left while it ran: its answer goes nowhere
        if (this.#gone()) break;
        this.#observe(response);
        if (!this.#respond(response)) break;
        // a hello refused for its MAJOR version: nothing more is read or run, the connection ends once the answer is out
        if (this.#protocol.settle(response)) {
          this.#pending = [];
          this.#pendingBytes = 0;
          this.#socket.destroySoon();
          break;
        }
        // a client that has gone is seen when a write fails, a tick later: no request starts before that
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.#running = false;
    }
    this.#finishIfDone();
  }

  async #answer(item: RequestItem): Promise<HubResponse & { request_id?: unknown }> {
    const now = () => this.#ctx.options.clock.now();
    if (item.kind === 'oversized') {
      return errorResponse(
        new TroupeError('VALIDATION_FAILED', `The request is longer than ${MAX_REQUEST_BYTES} bytes`, { details: 'It was discarded up to its end of line' }),
        { operation: '' },
        now(),
      );
    }
    try {
      // the request object is one level above its parameters; a deeper one (its request_id too) would
      // overflow the stack when its answer is rendered
      checkJsonTextNesting(item.text, 'the request', MAX_PARAMS_DEPTH + 1);
    } catch (error) {
      return errorResponse(error, { operation: '' }, now());
    }
    let request: unknown;
    try {
      request = JSON.parse(item.text);
    } catch (error) {
      return errorResponse(
        new TroupeError('PARSE_ERROR', 'The request is not valid JSON', { details: `${error instanceof Error ? error.message : String(error)}; one JSON object per line` }),
        { operation: '' },
        now(),
      );
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return errorResponse(new TroupeError('VALIDATION_FAILED', 'A request is one JSON object: a command'), { operation: '' }, now());
    }
    const { request_id: requestId, ...command } = request as Record<string, unknown>;
    const refused = this.#protocol.check(command);
    const response = refused ? errorResponse(refused, { operation: 'hello' }, now()) : await this.#ctx.hub.execute(command, this.session);
    return requestId === undefined ? response : { ...response, request_id: requestId };
  }

  /** Keeps count of this connection's subscriptions: one that holds any is not idle while quiet. */
  #observe(response: HubResponse): void {
    if (response.status !== 'success') return;
    // a hello's component_registration may subscribe too (its event_subscriptions)
    const registered = response.operation === 'hello' ? (response.result as { registered?: { subscription_ids: string[] } | null }).registered : null;
    for (const id of registered?.subscription_ids ?? []) this.#subscriptions.add(id);
    const result = response.result as { subscription_id?: unknown; target?: unknown } | undefined;
    if (typeof result?.subscription_id !== 'string') return;
    // one with a target delivers elsewhere and outlives the connection: it does not keep it busy
    if (result.target !== undefined) return;
    if (response.operation === 'subscribe-event') this.#subscriptions.add(result.subscription_id);
    if (response.operation === 'unsubscribe-event') this.#subscriptions.delete(result.subscription_id);
  }

  /** Writes a response; false when the client left too much unread and the connection was closed instead. */
  #respond(response: HubResponse): boolean {
    const unread = this.#socket.writableLength;
    if (unread > this.#ctx.options.maxUnreadBytes) {
      this.#closeBySupervisor('backlog', `The client left ${unread} bytes of responses unread (at most ${this.#ctx.options.maxUnreadBytes})`);
      return false;
    }
    this.#socket.write(`${JSON.stringify(response)}\n`, this.#touch);
    return true;
  }

  /** An event line: written at once, but while the socket's buffer is full the subscription's queue waits (and bounds) the next ones. */
  #push(line: string): void | Promise<void> {
    if (this.#gone() || this.#socket.writableEnded) return;
    if (this.#socket.write(line, this.#touch)) return;
    return new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
  }

  #drained(): void {
    this.#touch();
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** After the client's end of input and the last answer: end our side too (its subscriptions end with the connection). */
  #finishIfDone(): void {
    if (this.#gone() || !this.#inputEnded || this.#running || this.#pending.length > 0) return;
    if (!this.#socket.writableEnded) this.#socket.end();
  }

  #arm(ms: number): void {
    this.#timer = this.#ctx.options.clock.setTimer(ms, () => this.#checkIdle());
  }

  #checkIdle(): void {
    this.#timer = null;
    if (this.#closed) return;
    const { idleTimeoutMs } = this.#ctx.options;
    const quiet = this.#ctx.options.clock.now() - this.#lastActivity;
    if (quiet < idleTimeoutMs) return this.#arm(idleTimeoutMs - quiet);
    const unread = this.#socket.writableLength;
    if (unread > 0 || this.#drainWaiters.length > 0) {
      return this.#closeBySupervisor('stalled', `The client read nothing for ${Math.round(quiet / 1000)} s while ${unread} bytes waited for it`);
    }
    // quiet, but not idle: it awaits an answer (a long `wait`), or events that may be rare
    if (this.#running || this.#subscriptions.size > 0) return this.#arm(idleTimeoutMs);
    this.#closeBySupervisor('idle', `Nothing was sent or received for ${Math.round(quiet / 1000)} s`);
  }

  #closeBySupervisor(reason: CloseReason, message: string): void {
    if (this.#closed) return;
    this.#ctx.closedBySupervisor(this, reason, message);
    // the reason as a last line: it reaches a client that still reads (an idle one); one that does not loses nothing more
    const line = errorResponse(new TroupeError(CODES[reason], message, { details: `Connection ${this.id} closed by the supervisor` }), { operation: '' }, this.#ctx.options.clock.now());
    if (!this.#socket.writableEnded) this.#socket.write(`${JSON.stringify(line)}\n`);
    this.#socket.destroy();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // what the client queued and did not see started never runs
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#timer?.cancel();
    this.#timer = null;
    this.#ctx.hub.endSession(this.session);
    this.#drained();
  }
}
