import { z } from 'zod';
import { systemClock, type Clock } from '../actors/clock.js';
import { parseDuration } from './durations.js';
import { TroupeError } from './errors.js';

/**
 * The control socket's limits (options of `ControlSocket.listen`). They keep
 * one client from costing the supervisor unbounded memory, CPU or file
 * descriptors. Per-subscription event queues are bounded by the
 * subscription's own `max_queue` and `overflow` (see `subscribe-event`).
 */
export interface ControlSocketOptions {
  /**
   * Connections served at once; one more is refused with a `CONNECTION_LIMIT`
   * error line and closed. Keeps file descriptors for the supervisor's own
   * work (checkpoints, logs, `exec` pipes). Range 1..10 000.
   * @default 64
   */
  maxConnections?: number;
  /**
   * A connection with no byte read or written for this long is closed
   * (`CONNECTION_IDLE`), unless it holds a live subscription or waits for
   * an answer; one whose unread output has not moved for this long is closed
   * whatever it holds (`CONNECTION_STALLED`). Duration ("10m") or ms; > 0.
   * `troupe attach` sends a keepalive, so a quiet REPL stays connected.
   * @default "10m"
   */
  idleTimeout?: string | number;
  /**
   * Response bytes a client may leave unread: a response due while more than
   * this waits unread closes the connection (`CONNECTION_BACKLOG`). Responses
   * are never dropped while the connection lives; one response larger than
   * this still goes out whole. Bytes, >= 64 KiB.
   * @default 16 MiB
   */
  maxUnreadBytes?: number;
  /**
   * Requests read but not yet answered, per connection: past this many, or
   * past 1 MiB of them, the connection is not read until its queue halves
   * (the client's writes wait in its own buffers). Range 1..100 000.
   * @default 256
   */
  maxPendingRequests?: number;
  /** the source of time for the idle timeout; @default the wall clock */
  clock?: Clock;
  /** where a closed or refused connection is told (e.g. the supervisor's stderr), besides the event published */
  log?: (line: string) => void;
}

/** {@link ControlSocketOptions} with every field set, durations in ms. */
export interface ResolvedControlSocketOptions {
  maxConnections: number;
  idleTimeoutMs: number;
  maxUnreadBytes: number;
  maxPendingRequests: number;
  clock: Clock;
  log: (line: string) => void;
}

/** The defaults of {@link ControlSocketOptions}, merged once by {@link resolveControlSocketOptions}. */
export const CONTROL_SOCKET_DEFAULTS = {
  max_connections: 64,
  idle_timeout: '10m',
  max_unread_bytes: 16 * 1024 * 1024,
  max_pending_requests: 256,
} as const;

const schema = z.strictObject({
  maxConnections: z.number().int().min(1).max(10_000).default(CONTROL_SOCKET_DEFAULTS.max_connections),
  idleTimeout: z
    .union([z.string(), z.number()])
    .default(CONTROL_SOCKET_DEFAULTS.idle_timeout)
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: `Expected a duration > 0 such as "10m", got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return ms;
    }),
  maxUnreadBytes: z.number().int().min(64 * 1024).default(CONTROL_SOCKET_DEFAULTS.max_unread_bytes),
  maxPendingRequests: z.number().int().min(1).max(100_000).default(CONTROL_SOCKET_DEFAULTS.max_pending_requests),
  clock: z.custom<Clock>((v) => typeof v === 'object' && v !== null && 'now' in v && 'setTimer' in v).default(systemClock),
  log: z.custom<(line: string) => void>((v) => typeof v === 'function').default(() => () => {}),
});

/**
 * Checks the options and fills in the defaults; a bad value is VALIDATION_FAILED naming it.
 *
 * @example
 * resolveControlSocketOptions({ idleTimeout: '30s' }).idleTimeoutMs // 30000
 */
export function resolveControlSocketOptions(options: ControlSocketOptions = {}): ResolvedControlSocketOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    throw new TroupeError('VALIDATION_FAILED', 'Invalid control socket options', { details: z.prettifyError(parsed.error) });
  }
  const { idleTimeout, ...rest } = parsed.data;
  return { ...rest, idleTimeoutMs: idleTimeout };
}
