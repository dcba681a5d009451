import { BroadcastChannel } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { TaskError } from '../machines/types.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import {
  CONTROL_CHANNEL,
  isWorkerMessage,
  type ControlMessage,
  type WorkerResult,
  type WorkerTask,
} from './worker-protocol.js';

/** How one attempt ended. `durationMs` counts from the worker's "started", not from submit. */
export type TaskOutcome =
  | { ok: true; output: unknown; durationMs: number }
  | { ok: false; error: TaskError; durationMs: number };

/** Callbacks for what happens while a task runs. */
export interface RunHooks {
  /** the worker picked the task up: the run-time clock starts now */
  onStarted?(at: number): void;
  onHeartbeat?(progress: unknown, at: number): void;
}

/** A task submitted to the runner. */
export interface TaskRun {
  /** the outcome, always resolved (never rejected) */
  result: Promise<TaskOutcome>;
  /** stops the task: the handler's signal aborts, and the thread is terminated after the grace period */
  abort(reason: TaskError): void;
}

/** Runs task attempts somewhere; the hub only knows this interface (a remote runner can come later). */
export interface TaskRunner {
  run(task: WorkerTask, hooks?: RunHooks): TaskRun;
  /** numbers for `monitor-pool` and `health` */
  stats(): RunnerStats;
  close(): Promise<void>;
}

export interface RunnerStats {
  threads: number;
  maxThreads: number;
  queueSize: number;
  /** 0..1 */
  utilization: number;
  completed: number;
  /** run time percentiles from Piscina's histogram, ms */
  runTimeP50Ms: number;
  runTimeP99Ms: number;
}

export interface PiscinaRunnerOptions {
  /** worker threads at most; @default os.availableParallelism() */
  maxThreads?: number;
  /** heap limit of each worker, MB: a handler that exceeds it fails its task, not the process; @default 512 */
  maxOldGenerationSizeMb?: number;
  /** how long an aborted handler gets to clean up before its thread is terminated, ms; @default 1000 */
  abortGraceMs?: number;
  clock?: Clock;
  /** called with a pool-level error (piscina can emit one after an abort; unhandled it would kill the process) */
  onPoolError?(error: unknown): void;
}

// vitest and tsx run this file as .ts: the worker then needs the tsx loader; the built .js needs nothing
const sourceMode = import.meta.url.endsWith('.ts');
const workerFile = new URL(`../worker/task-worker.${sourceMode ? 'ts' : 'js'}`, import.meta.url);

const crashError = (error: unknown): TaskError => ({
  name: error instanceof Error ? error.name : 'Error',
  code: 'WORKER_CRASHED',
  message: `The worker running the task stopped: ${error instanceof Error ? error.message : String(error)}`,
  retryable: true,
});

const timeoutError = (ms: number): TaskError => ({
  name: 'TimeoutError',
  code: 'TASK_TIMEOUT',
  message: `The task ran longer than its timeout of ${ms} ms`,
  retryable: true,
});

/**
 * Creates the task runner on a Piscina pool. The per-task timeout starts when
 * the worker reports "started", not at submit (an AbortSignal alone counts
 * queue time, piscina #869); on a timeout or an abort the handler's signal
 * fires first, and the thread is terminated only if the handler does not
 * return within `abortGraceMs`. A throw, a rejection, `process.exit`, an
 * infinite loop or running out of memory fails only its own task.
 *
 * @example
 * const runner = createPiscinaRunner({ maxThreads: 2 });
 * const { result } = runner.run({ key: 'k1', workflowId: 'wf', taskId: 't', handler: 'echo', input: { value: 1 }, attempt: 1, idempotencyKey: 'wf/0/t', timeoutMs: 1000 });
 * await result; // { ok: true, output: 1, durationMs: … }
 */
export function createPiscinaRunner(options: PiscinaRunnerOptions = {}): TaskRunner {
  const clock = options.clock ?? systemClock;
  const graceMs = options.abortGraceMs ?? 1_000;
  const pool = new Piscina({
    filename: workerFile.href,
    maxThreads: options.maxThreads ?? availableParallelism(),
    minThreads: 0,
    idleTimeout: 30_000,
    execArgv: sourceMode ? ['--import', 'tsx'] : [],
    resourceLimits: { maxOldGenerationSizeMb: options.maxOldGenerationSizeMb ?? 512 },
  });
  pool.on('error', (error: unknown) => options.onPoolError?.(error));

  const control = new BroadcastChannel(CONTROL_CHANNEL);
  control.unref();

  const live = new Map<string, { started(at: number): void; heartbeat(progress: unknown, at: number): void }>();
  pool.on('message', (message: unknown) => {
    if (!isWorkerMessage(message)) return;
    const run = live.get(message.key);
    if (!run) return;
    if (message.troupe === 'started') run.started(clock.now());
    else run.heartbeat(message.progress, clock.now());
  });

  return {
    run(task, hooks = {}) {
      const killer = new AbortController();
      let startedAt: number | null = null;
      let stopReason: TaskError | null = null;
      const timers: TimerHandle[] = [];

      const abort = (reason: TaskError) => {
        if (stopReason) return;
        stopReason = reason;
        control.postMessage({ troupe: 'abort', key: task.key, reason } satisfies ControlMessage);
        if (startedAt === null) killer.abort(reason);
        else timers.push(clock.setTimer(graceMs, () => killer.abort(reason)));
      };

      live.set(task.key, {
        started(at) {
          startedAt = at;
          hooks.onStarted?.(at);
          timers.push(clock.setTimer(task.timeoutMs, () => abort(timeoutError(task.timeoutMs))));
        },
        heartbeat: (progress, at) => hooks.onHeartbeat?.(progress, at),
      });

      const result = (pool.run(task, { signal: killer.signal }) as Promise<WorkerResult>)
        .then((r) => r, (error: unknown): WorkerResult => ({ ok: false, error: stopReason ?? crashError(error) }))
        .then((outcome): TaskOutcome => {
          for (const t of timers) t.cancel();
          live.delete(task.key);
          const durationMs = startedAt === null ? 0 : clock.now() - startedAt;
          if (stopReason && outcome.ok) return { ok: false, error: stopReason, durationMs };
          return { ...outcome, durationMs };
        });
      return { result, abort };
    },

    stats() {
      const runTime = pool.histogram.runTime;
      return {
        threads: pool.threads.length,
        maxThreads: pool.options.maxThreads,
        queueSize: pool.queueSize,
        utilization: pool.utilization,
        completed: pool.completed,
        runTimeP50Ms: runTime.p50,
        runTimeP99Ms: runTime.p99,
      };
    },

    async close() {
      control.close();
      await pool.close({ force: true });
    },
  };
}
