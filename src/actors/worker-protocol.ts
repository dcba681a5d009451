/**
 * The messages between the main thread and the Piscina workers, in one place
 * (as Piscina's `types.ts` and BullMQ's `ParentCommand`/`ChildMessage`).
 */
import type { TaskError } from '../machines/types.js';

/** One attempt of one task, as the worker receives it. */
export interface WorkerTask {
  /** unique per attempt; correlates the worker's messages with the run */
  key: string;
  workflowId: string;
  taskId: string;
  handler: string;
  input: unknown;
  /** 1 for the first attempt */
  attempt: number;
  /** stable across attempts and restarts of the same task in the same epoch */
  idempotencyKey: string;
  /** the task's run-time limit, so handlers that spawn processes can bound them too */
  timeoutMs: number;
  /** how often the worker thread says it is alive while the task runs; @default 30 s */
  heartbeatIntervalMs?: number;
  /**
   * The hub's `max_output_bytes`: a larger output (or error data) fails the task in the
   * worker, so it never crosses to the main thread; @default OUTPUT_BYTES_CEILING (16 MiB)
   */
  maxOutputBytes?: number;
}

/**
 * What a worker returns: errors travel as data because piscina strips error
 * properties (piscina #1143). `runMs` is the handler's run time measured in
 * the worker: the result and the "started" message travel on different
 * ports, so the result can arrive first.
 */
export type WorkerResult = WorkerOutcome & { runMs: number };

/** How a handler's attempt ended. */
export type WorkerOutcome = { ok: true; output: unknown } | { ok: false; error: TaskError };

/** Worker -> main, over the worker's `parentPort` (surfaced as the pool's `message` event). */
export type WorkerMessage =
  | { troupe: 'started'; key: string }
  | { troupe: 'heartbeat'; key: string; progress: unknown }
  /** the handler started a process group: the runner kills it if it has to terminate the thread */
  | { troupe: 'process'; key: string; pid: number };

/** Main -> every worker, on the {@link CONTROL_CHANNEL} broadcast channel. */
export type ControlMessage = { troupe: 'abort'; key: string; reason: TaskError };

/** Name of the BroadcastChannel that carries {@link ControlMessage}s to the workers. */
export const CONTROL_CHANNEL = 'troupe-task-control';

/** True when `message` is one of ours (the pool's `message` event carries anything a worker posts). */
export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return typeof message === 'object' && message !== null && 'troupe' in message && 'key' in message;
}
