import { BroadcastChannel } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { TaskError } from '../machines/types.js';
import type { HandlerProbe, HandlerRef } from './handler-registry.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import {
  CONTROL_CHANNEL,
  isWorkerMessage,
  type ControlMessage,
  type WorkerResult,
  type ProcessMode,
  type WorkerMessage,
  type WorkerTask,
} from './worker-protocol.js';
import { signalGroup, type ProcessIdentity } from './process-identity.js';
import { markAborted } from './task-process.js';

/** How one attempt ended. `durationMs` counts from the worker's "started", not from submit. */
export type TaskOutcome =
  | { ok: true; output: unknown; durationMs: number }
  | { ok: false; error: TaskError; durationMs: number };

/** Callbacks for what happens while a task runs. */
export interface RunHooks {
  /** the worker picked the task up: the run-time clock starts now */
  onStarted?(at: number): void;
  onHeartbeat?(progress: unknown, at: number): void;
  /** an `exec` attempt has its process: started, adopted from an earlier supervisor, recorded, or restarted */
  onProcess?(process: { pid: number; mode: ProcessMode }): void;
  /** the attempt's log could not be written (the task goes on) */
  onLogError?(message: string): void;
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
  /** loads every configured user handler in a worker: which can run, and why not */
  probeHandlers(): Promise<Record<string, HandlerProbe>>;
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
  /** user handlers the workers may run, besides the built-ins */
  handlers?: HandlerRef[];
  /** called with a pool-level error (piscina can emit one after an abort; unhandled it would kill the process) */
  onPoolError?(error: unknown): void;
}

/** A submitted attempt, as the runner tracks it until its result resolves. */
interface LiveRun {
  /** process groups the handler started, by group id: ended with the thread */
  processGroups: Map<number, TrackedGroup>;
  started(at: number): void;
  /** a message about the run's process or its log */
  report(message: Extract<WorkerMessage, { troupe: 'process' | 'log-error' }>): void;
  heartbeat(progress: unknown, at: number): void;
  abort(reason: TaskError): void;
  done?: Promise<unknown>;
}

// vitest and tsx run this file as .ts: the worker then needs the tsx loader; the built .js needs nothing
const sourceMode = import.meta.url.endsWith('.ts');
const workerFile = new URL(`../worker/task-worker.${sourceMode ? 'ts' : 'js'}`, import.meta.url);

/** A process group a handler told the runner of; `exec` adds who it is and where its spool is. */
interface TrackedGroup {
  pid: number;
  identity?: ProcessIdentity;
  spool?: string;
}

/** Ends a handler's process group with its thread: marked as stopped on purpose first, never a reused pid. */
const killGroup = (group: TrackedGroup, why: string) => {
  if (group.spool) markAborted(group.spool, why);
  if (group.identity) {
    signalGroup(group.identity, 'SIGKILL');
    return;
  }
  try {
    process.kill(-group.pid, 'SIGKILL');
  } catch {
    // already gone
  }
};

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
    workerData: { handlers: options.handlers ?? [] },
  });
  pool.on('error', (error: unknown) => options.onPoolError?.(error));

  const control = new BroadcastChannel(CONTROL_CHANNEL);
  control.unref();

  const live = new Map<string, LiveRun>();
  pool.on('message', (message: unknown) => {
    if (!isWorkerMessage(message)) return;
    const run = live.get(message.key);
    if (!run) return;
    if (message.troupe === 'started') run.started(clock.now());
    else if (message.troupe === 'heartbeat') run.heartbeat(message.progress, clock.now());
    else run.report(message);
  });

  let closed = false;
  // Piscina replaces a dead or terminated thread only up to minThreads (0 here): queued tasks would
  // wait until another thread frees up. A run() while tasks are queued spawns one, so a no-op does.
  const replaceLostThread = () => {
    if (!closed && pool.queueSize > 0) void pool.run(null, { name: 'ping' }).catch(() => {});
  };
  const broadcast = (message: ControlMessage) => {
    try {
      control.postMessage(message);
    } catch {
      // the channel is closed: the runner is shutting down and its threads are being terminated
    }
  };

  return {
    run(task, hooks = {}) {
      const killer = new AbortController();
      const submittedAt = clock.now();
      let startedAt: number | null = null;
      let stopReason: TaskError | null = null;
      const timers: TimerHandle[] = [];
      let deadline: TimerHandle | null = null;
      const armTimeout = (ms: number) => {
        deadline?.cancel();
        deadline = clock.setTimer(ms, () => abort(timeoutError(task.timeoutMs)));
      };
      // an exec handler ends its own process group (SIGTERM, SIGKILL after kill_grace) before it returns
      const stopGraceMs = graceMs + (task.handler === 'exec' ? (task.files?.killGraceMs ?? 0) : 0);

      const started = (at: number) => {
        if (startedAt !== null) return;
        startedAt = at;
        // aborted before this worker could hear it (a thread still starting has no channel yet): say it again
        if (stopReason) broadcast({ troupe: 'abort', key: task.key, reason: stopReason });
        hooks.onStarted?.(at);
        armTimeout(task.timeoutMs);
      };

      // The handler's signal fires first; the thread is terminated only after the grace period,
      // also when "started" has not arrived yet: the task may be running already, and an exec
      // child in its own process group would outlive a thread killed before it saw the abort.
      const abort = (reason: TaskError) => {
        if (stopReason) return;
        stopReason = reason;
        broadcast({ troupe: 'abort', key: task.key, reason });
        timers.push(
          clock.setTimer(stopGraceMs, () => {
            // terminating the thread would leave a detached child running: kill its group first
            for (const group of entry.processGroups.values()) killGroup(group, reason.code);
            killer.abort(reason);
          }),
        );
      };

      if (closed) {
        const error: TaskError = { name: 'ClosedError', code: 'RUNNER_CLOSED', message: 'The task runner is closed', retryable: true };
        return { result: Promise.resolve({ ok: false, error, durationMs: 0 }), abort: () => {} };
      }

      /** how the run came by its process, once each (the message and the result both say it) */
      const reported = new Set<ProcessMode>();
      const entry: LiveRun = {
        processGroups: new Map(),
        started,
        report(message) {
          if (message.troupe === 'log-error') return hooks.onLogError?.(message.message);
          if (message.mode !== undefined && reported.has(message.mode)) return;
          if (message.mode !== undefined) reported.add(message.mode);
          entry.processGroups.set(message.pid, {
            pid: message.pid,
            ...(message.identity ? { identity: message.identity } : {}),
            ...(message.spool ? { spool: message.spool } : {}),
          });
          if (message.mode === undefined) return;
          // an adopted process has run for a while already: its timeout goes on from there
          if (message.mode === 'adopted' && message.elapsedMs !== undefined && startedAt !== null && !stopReason) {
            armTimeout(Math.max(0, task.timeoutMs - message.elapsedMs));
          }
          hooks.onProcess?.({ pid: message.pid, mode: message.mode });
        },
        heartbeat: (progress, at) => hooks.onHeartbeat?.(progress, at),
        abort,
      };
      live.set(task.key, entry);

      const result = (pool.run(task, { signal: killer.signal }) as Promise<WorkerResult>)
        .then(
          (r) => r,
          (error: unknown): WorkerResult => {
            // the thread died or was terminated: what it started dies with it
            for (const group of entry.processGroups.values()) killGroup(group, stopReason?.code ?? 'WORKER_CRASHED');
            replaceLostThread();
            return { ok: false, error: stopReason ?? crashError(error), runMs: 0 };
          },
        )
        .then(({ runMs, process, ...outcome }): TaskOutcome => {
          if (process) entry.report(process);
          // the result can overtake the "started" message: derive the start from the worker's run time
          // (real time, while the clock may be injected: never before the task was submitted)
          if (startedAt === null && runMs > 0) started(Math.max(submittedAt, clock.now() - runMs));
          for (const t of timers) t.cancel();
          deadline?.cancel();
          live.delete(task.key);
          const durationMs = startedAt === null ? 0 : Math.round(Math.max(clock.now() - startedAt, 0) * 10) / 10;
          if (stopReason && outcome.ok) return { ok: false, error: stopReason, durationMs };
          return { ...outcome, durationMs };
        });
      entry.done = result;
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

    async probeHandlers() {
      if (!options.handlers?.length) return {};
      // in a worker, so a module whose top level misbehaves (exits, throws) cannot touch the supervisor;
      // one whose top level never returns would hold the start forever: after 10 s of real time it is reported
      return (pool.run(null, { name: 'probeHandlers', signal: AbortSignal.timeout(10_000) }) as Promise<Record<string, HandlerProbe>>).catch((error: unknown) => {
        const reason = `the worker loading the handler modules stopped: ${error instanceof Error ? error.message : String(error)}`;
        return Object.fromEntries(options.handlers!.map((ref) => [ref.name, { ok: false, reason }]));
      });
    },

    async close() {
      closed = true;
      const reason: TaskError = { name: 'ClosedError', code: 'RUNNER_CLOSED', message: 'The task runner closed while the task ran', retryable: true };
      const running = [...live.values()];
      for (const run of running) run.abort(reason);
      // wait for the aborted tasks first: piscina's close() never resolves when a worker it
      // counted is terminated by an abort while it waits
      await Promise.all(running.map((run) => run.done));
      await pool.close({ force: true });
      control.close();
    },
  };
}
