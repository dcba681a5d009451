/**
 * A bare client of the control socket for the socket tests: real Unix
 * socket, raw bytes out, response and event lines in, and the means to stop
 * reading (pause) like a client that hangs.
 */
import { connect, type Socket } from 'node:net';

export type Line = Record<string, any>;

export class RawClient {
  readonly socket: Socket;
  readonly lines: Line[] = [];
  /** resolves when the supervisor's side has ended (EOF) or the connection closed */
  readonly ended: Promise<void>;
  readonly closed: Promise<void>;
  #text = '';
  #waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#text += chunk;
      let newline: number;
      while ((newline = this.#text.indexOf('\n')) !== -1) {
        this.lines.push(JSON.parse(this.#text.slice(0, newline)) as Line);
        this.#text = this.#text.slice(newline + 1);
      }
      this.#wake();
    });
    socket.on('error', () => {});
    this.ended = new Promise((resolve) => {
      socket.on('end', resolve);
      socket.on('close', resolve);
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    void this.closed.then(() => this.#wake());
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Writes one request line (an object is JSON-encoded). */
  send(request: object | string): void {
    this.socket.write(typeof request === 'string' ? request : `${JSON.stringify(request)}\n`);
  }

  /** The first line (from `from` on) that matches; waits for it, failing if the connection closes first. */
  async line(match: (line: Line) => boolean, from = 0): Promise<Line> {
    for (;;) {
      const found = this.lines.slice(from).find(match);
      if (found) return found;
      if (this.socket.destroyed) throw new Error(`connection closed; lines: ${JSON.stringify(this.lines).slice(0, 500)}`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Sends a request and waits for its response (matched by request_id). */
  async request(request: Record<string, unknown>, requestId: string): Promise<Line> {
    this.send({ ...request, request_id: requestId });
    return this.line((l) => l.request_id === requestId);
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

/** Polls `check` between turns of the event loop (I/O gets to run) until it holds; fails after `rounds`. */
export async function until(check: () => boolean | Promise<boolean>, rounds = 5_000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error('condition never held');
}
