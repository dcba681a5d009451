/**
 * The messages between the main thread and the Piscina workers, in one place
 * (as Piscina's `types.ts` and BullMQ's `ParentCommand`/`ChildMessage`).
 */
import type { TaskError } from '../machines/types.js';
import type { ProcessIdentity } from './process-identity.js';

/** What a recovered supervisor does with an `exec` process that an earlier one started and that still runs. */
export type OnRecovery = 'adopt' | 'restart';

/** How an `exec` attempt came by its process. */
export type ProcessMode =
  /** started by this run */
  | 'spawned'
  /** an earlier supervisor's, still running: watched to its end */
  | 'adopted'
  /** an earlier supervisor's, ended while none ran: its recorded exit status is the outcome */
  | 'recorded'
  /** an earlier supervisor's, still running: ended (SIGTERM, then SIGKILL), then started again */
  | 'restarted';

/** Where one attempt keeps its output and, for `exec`, its process spool; plain data (it crosses to the worker). */
export interface AttemptFiles {
  /** `logs/<workflow-id>/<task-id>.<attempt>.log` */
  log: string;
  /** the attempt's spool (see task-process.ts) */
  spool: string;
  /** the log keeps about this many bytes of the end */
  logMaxBytes: number;
  onRecovery: OnRecovery;
  /** how long a process group gets between SIGTERM and SIGKILL */
  killGraceMs: number;
}

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
  /** the attempt's log and process spool; without them `ctx.log` writes nowhere and `exec` cannot run */
  files?: AttemptFiles;
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
export type WorkerResult = WorkerOutcome & {
  runMs: number;
  /** the run's last `process` message again: the result can overtake it */
  process?: Extract<WorkerMessage, { troupe: 'process' }>;
};

/** How a handler's attempt ended. */
export type WorkerOutcome = { ok: true; output: unknown } | { ok: false; error: TaskError };

/** Worker -> main, over the worker's `parentPort` (surfaced as the pool's `message` event). */
export type WorkerMessage =
  | { troupe: 'started'; key: string }
  | { troupe: 'heartbeat'; key: string; progress: unknown }
  /**
   * The handler started (or adopted) a process group: the runner ends it if it has to terminate the
   * thread. `exec` sends the group's identity (so a reused pid is never signalled), its spool (marked
   * aborted first), how it came by it, and how long it has run already (an adopted one's timeout goes on).
   */
  | { troupe: 'process'; key: string; pid: number; identity?: ProcessIdentity; spool?: string; mode?: ProcessMode; elapsedMs?: number }
  /** the attempt's log could not be written; the task goes on */
  | { troupe: 'log-error'; key: string; message: string };

/** Main -> every worker, on the {@link CONTROL_CHANNEL} broadcast channel. */
export type ControlMessage = { troupe: 'abort'; key: string; reason: TaskError };

/** Name of the BroadcastChannel that carries {@link ControlMessage}s to the workers. */
export const CONTROL_CHANNEL = 'troupe-task-control';

/** True when `message` is one of ours (the pool's `message` event carries anything a worker posts). */
export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return typeof message === 'object' && message !== null && 'troupe' in message && 'key' in message;
}
