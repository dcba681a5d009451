import type { AttemptFiles, ProcessMode } from '../actors/worker-protocol.js';
import type { ProcessClaim } from '../actors/task-process.js';

/** What a handler gets beside its input. */
export interface HandlerContext {
  /** aborted when the task is cancelled or times out; the thread is terminated soon after */
  signal: AbortSignal;
  /** tells the supervisor the task is alive, with optional progress (e.g. a fraction or a message) */
  heartbeat(progress?: unknown): void;
  taskId: string;
  workflowId: string;
  /** 1 for the first attempt */
  attempt: number;
  /** the same for every attempt of this task, across restarts and rollbacks: use it to make side effects idempotent */
  idempotencyKey: string;
  /**
   * Tells the supervisor about a process group the handler started (a
   * detached child's pid): if the task's thread has to be terminated, the
   * supervisor kills the group, so nothing outlives the task.
   */
  trackProcessGroup(pid: number): void;
  /**
   * Appends text to this attempt's task log (`troupe logs`, the tail in
   * `get-status`); a newline is added when the text has none. Never throws:
   * a log that cannot be written is reported by `health`, the task goes on.
   */
  log(text: string): void;
  /** @internal the attempt's files and process settings, for the built-in `exec` */
  _attempt?: AttemptFiles & { report(event: { mode?: ProcessMode; claim?: ProcessClaim; logError?: string }): void };
}

/** A handler, built in or the user's: its input and context in, its output (or a promise of it) out. */
export type Handler = (input: unknown, ctx: HandlerContext) => unknown;

/**
 * An error a handler throws on purpose, with a code and whether a retry may
 * help. Any other thrown value is reported with code `HANDLER_ERROR`.
 */
export class HandlerError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'HandlerError';
  }
}

/** @internal What `exec` gets of its attempt: where its files are, and how to tell the supervisor about its process. */
export type AttemptContext = NonNullable<HandlerContext['_attempt']>;
