/**
 * The Piscina worker entry. Runs on import in each worker thread; nothing
 * re-exports it. Every outcome is returned as data, never thrown, because
 * piscina strips custom error properties (piscina #1143).
 */
import { performance } from 'node:perf_hooks';
import { BroadcastChannel, parentPort } from 'node:worker_threads';
import type { TaskError } from '../machines/types.js';
import { CONTROL_CHANNEL, type ControlMessage, type WorkerMessage, type WorkerOutcome, type WorkerResult, type WorkerTask } from '../actors/worker-protocol.js';
import { isBuiltinHandler } from '../actors/handler-inputs.js';
import { boundProgress, boundTaskError, checkOutput, OUTPUT_BYTES_CEILING } from '../actors/output-limits.js';
import { builtinHandlers } from './builtin-handlers.js';
import { HandlerError, type HandlerContext } from './handler-context.js';
import { probeAll, userHandler } from './user-handlers.js';
import { openTaskLog, type TaskLogWriter } from '../actors/task-log.js';

const running = new Map<string, AbortController>();
/** each run's last `process` message, sent again with its result (which can overtake it) */
const processes = new Map<string, Extract<WorkerMessage, { troupe: 'process' }>>();
/** aborts that arrived before their task started here (it was queued, or in transit) */
const abortedEarly = new Map<string, TaskError>();
const ABORTED_EARLY_LIMIT = 1_000;

const control = new BroadcastChannel(CONTROL_CHANNEL);
// the channel must not keep an idle worker alive
control.unref();
control.onmessage = (event) => {
  const message = (event as { data?: ControlMessage }).data;
  if (message?.troupe !== 'abort') return;
  const controller = running.get(message.key);
  if (controller) return controller.abort(message.reason);
  abortedEarly.set(message.key, message.reason);
  // tasks dropped from the queue never come here to collect their entry
  if (abortedEarly.size > ABORTED_EARLY_LIMIT) abortedEarly.delete(abortedEarly.keys().next().value!);
};

// a handler's stray rejection after it returned must not kill the thread and its other work
process.on('unhandledRejection', () => {});

const post = (message: WorkerMessage) => parentPort?.postMessage(message);

function toTaskError(error: unknown): TaskError {
  if (error instanceof HandlerError) {
    const base = { name: error.name, code: error.code, message: error.message, retryable: error.retryable };
    return error.data === undefined ? base : { ...base, data: error.data };
  }
  if (error instanceof Error && error.name === 'ZodError') {
    return { name: 'ValidationError', code: 'INVALID_INPUT', message: error.message, retryable: false };
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return { name: 'AbortError', code: 'TASK_ABORTED', message: error.message, retryable: true };
  }
  if (error instanceof Error) {
    const { code } = error as { code?: unknown };
    return { name: error.name, code: typeof code === 'string' ? code : 'HANDLER_ERROR', message: error.message, retryable: true };
  }
  return { name: 'Error', code: 'HANDLER_ERROR', message: String(error), retryable: true };
}

/** Runs one attempt of one task. */
export default async function runTask(task: WorkerTask): Promise<WorkerResult> {
  const began = performance.now();
  const early = abortedEarly.get(task.key);
  if (early) {
    abortedEarly.delete(task.key);
    return { ok: false, error: early, runMs: 0 };
  }
  const controller = new AbortController();
  running.set(task.key, controller);
  post({ troupe: 'started', key: task.key });
  const result = await attempt(task, controller);
  const proc = processes.get(task.key);
  processes.delete(task.key);
  return { ...result, runMs: performance.now() - began, ...(proc ? { process: proc } : {}) };
}

/** Piscina's named task (`run(…, {name: 'probeHandlers'})`): loads every configured user handler. */
export const probeHandlers = probeAll;

/** Piscina's named task that does nothing: submitted to make the pool replace a lost thread. */
export const ping = (): null => null;

async function attempt(task: WorkerTask, controller: AbortController): Promise<WorkerOutcome> {
  const limits = { taskId: task.taskId, maxBytes: task.maxOutputBytes ?? OUTPUT_BYTES_CEILING };
  // the thread's own heartbeat: it stops when the handler blocks the event loop, which is what liveness is about
  const beat = setInterval(() => post({ troupe: 'heartbeat', key: task.key, progress: null }), task.heartbeatIntervalMs ?? 30_000);
  // opened on the first ctx.log: most handlers never write one
  let log = null as TaskLogWriter | null;
  let logErrorReported = false;
  const logError = (message: string) => {
    if (logErrorReported) return;
    logErrorReported = true;
    post({ troupe: 'log-error', key: task.key, message });
  };
  const files = task.files;
  try {
    const handler = isBuiltinHandler(task.handler) ? builtinHandlers[task.handler] : await userHandler(task.handler);
    if (typeof handler === 'string') {
      return { ok: false, error: { name: 'HandlerNotFound', code: 'HANDLER_NOT_FOUND', message: handler, retryable: false } };
    }
    const ctx: HandlerContext = {
      signal: controller.signal,
      // progress becomes an event's data: one the log cannot hold must not reach the main thread
      heartbeat: (progress) => post({ troupe: 'heartbeat', key: task.key, progress: boundProgress(progress) }),
      trackProcessGroup: (pid) => post({ troupe: 'process', key: task.key, pid }),
      log(text) {
        if (!files) return;
        log ??= openTaskLog(files.log, files.logMaxBytes);
        log.write(text.endsWith('\n') ? text : `${text}\n`);
        if (log.error) logError(`${files.log}: ${log.error.message}`);
      },
      ...(files
        ? {
            _attempt: {
              ...files,
              report(event) {
                if (event.logError) logError(event.logError);
                if (event.claim) {
                  const { claim } = event;
                  const message = { troupe: 'process', key: task.key, pid: claim.pgid, identity: claim, spool: files.spool, mode: event.mode ?? 'spawned', elapsedMs: Math.max(0, Date.now() - claim.started_at) } as const;
                  processes.set(task.key, message);
                  post(message);
                }
              },
            },
          }
        : {}),
      taskId: task.taskId,
      workflowId: task.workflowId,
      attempt: task.attempt,
      idempotencyKey: task.idempotencyKey,
    };
    const output = await handler(task.input ?? {}, ctx);
    if (controller.signal.aborted) return { ok: false, error: controller.signal.reason as TaskError };
    // checked (and given back as the log's codec will) here, so an output the log cannot hold
    // (too deep, cyclic, a BigInt, too large) fails its task and never crosses to the main thread
    const checked = checkOutput(output ?? null, { ...limits, normalize: true });
    return checked.ok ? { ok: true, output: checked.output } : { ok: false, error: checked.error };
  } catch (error) {
    if (controller.signal.aborted) return { ok: false, error: controller.signal.reason as TaskError };
    return { ok: false, error: boundTaskError(toTaskError(error), { ...limits, normalize: true }) };
  } finally {
    clearInterval(beat);
    log?.close();
    running.delete(task.key);
  }
}
