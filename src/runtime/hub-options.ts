import type { Clock } from '../actors/clock.js';
import { resolveHandlerRefs, type HandlerRef } from '../actors/handler-registry.js';
import { OUTPUT_BYTES_CEILING } from '../actors/output-limits.js';
import type { TaskRunner } from '../actors/task-runner.js';
import type { Durability } from '../persistence/append-log.js';
import { DEFAULTS } from './defaults.js';
import { parseDuration } from './durations.js';
import { TroupeError } from './errors.js';
import { resolveHealthThresholds, type HealthThresholdOptions } from './health/health-thresholds.js';
import type { ResourceCapacity } from './resources/resource-manager.js';
import { taskFilesConfig } from './scheduling/task-files.js';
import { parseSize } from './sizes.js';

/** Options of {@link createHub}; every one has a default. */
export interface HubOptions {
  /** the source of time for every delay, retry and deadline; @default the wall clock */
  clock?: Clock;
  /** where tasks run; @default a Piscina pool with `maxThreads` threads */
  runner?: TaskRunner;
  /** worker threads of the default runner; @default the machine's parallelism */
  maxThreads?: number;
  /** agents at most in the pool; @default 20 */
  maxAgentPoolSize?: number;
  /** how often a running task's worker says it is alive; @default "30s" */
  heartbeatInterval?: string | number;
  /** heartbeats a run may miss before its agent is unresponsive and the task moves to another; @default 3 */
  missedHeartbeats?: number;
  /** tasks one agent runs at once (`max_concurrent_tasks`), 1 to 1000; @default 1 */
  maxConcurrentTasks?: number;
  /** the same for the agents of some roles, e.g. `{ test: 4 }`; a role not named takes `maxConcurrentTasks` */
  maxConcurrentTasksByRole?: Record<string, number>;
  /** the limits `health` judges by and SYSTEM_THRESHOLD watches (health/health-thresholds.ts); @default HEALTH_DEFAULTS */
  healthThresholds?: HealthThresholdOptions;
  /** consecutive failures that open an agent's circuit breaker; @default 5 */
  breakerThreshold?: number;
  /** how long an open breaker waits before one trial task; @default "30s" */
  breakerCooldown?: string | number;
  /** an idle agent beyond the first of its role leaves after this long; @default "5m" */
  agentIdleTimeout?: string | number;
  /** 0..1 random source for retry jitter; @default Math.random */
  random?: () => number;
  /** first retry delay; doubles per attempt; @default "1s" */
  retryBackoffBase?: string | number;
  /** longest retry delay; @default "5m" */
  retryBackoffMax?: string | number;
  /** how long `close()` lets running tasks finish before aborting them; @default "10s" */
  shutdownGrace?: string | number;
  /** how long an `exec` task's process group gets between SIGTERM and SIGKILL; @default "5s" */
  killGrace?: string | number;
  /** bytes of the end of each attempt's output its task log keeps; @default 10 MiB */
  taskLogMax?: number;
  /**
   * The data directory: with one, workflows are durable (checkpoints, log,
   * lock) and recovered at start; without one, the hub lives in memory.
   */
  dataDir?: string;
  /** how durable a task outcome is before the workflow acts on it; @default "sync" */
  durability?: Durability;
  /** checkpoints kept per workflow; @default 10 */
  keepCheckpoints?: number;
  /** recover the active workflows of the data directory at start; @default true */
  autoRecovery?: boolean;
  /**
   * The spec's `state_compression`: checkpoint bodies of 4 KiB and more are
   * stored deflated (smaller ones read back faster as they are), and
   * `save-state` gzips its bundle unless told otherwise. Files written either
   * way are read either way. @default true
   */
  stateCompression?: boolean;
  /** events older than this are removed, at start and every `compactionInterval` (whole log segments no recovery needs); @default "7d" */
  eventRetention?: string | number;
  /**
   * User handlers: name -> "path/to/module.js#export" (relative paths from
   * `handlersBaseDir`). Each module is loaded in a worker at start; a task
   * naming one that cannot load is refused at create with HANDLER_NOT_FOUND.
   */
  handlers?: Record<string, string>;
  /** where relative handler paths start; @default the current directory */
  handlersBaseDir?: string;
  /**
   * A folder of workflow templates (NAME.yaml, .yml or .json), read at each
   * `create {"template"}` and `list-templates`; its templates replace shipped
   * ones of the same name. Relative to the current directory. @default none: the shipped templates only
   */
  templatesDir?: string;
  /** how often retention runs while the hub runs; @default "1h" */
  compactionInterval?: string | number;
  /**
   * Record what the actors do: XState's inspection events (`@xstate.event`,
   * `@xstate.snapshot`) of workflows, phases, the pool and agents become
   * ACTOR_TRACE events of severity `debug`, named by troupe's ids. Costs nothing when off; @default false
   */
  trace?: boolean;
  /**
   * The largest output a task may return (and data its error may carry), as
   * msgpack-encoded bytes or a size such as "4MiB", 1 KiB to 16 MiB. A larger
   * one fails its task with OUTPUT_TOO_LARGE (not retried); one the codec
   * cannot encode (nested over 100 levels, cyclic, a BigInt) fails with
   * OUTPUT_NOT_SERIALIZABLE. Bounds every log frame well below what the
   * log's reader accepts. An `exec` task's output counts stdout and stderr
   * (each bounded by its `max_output`) together. @default "4MiB"
   */
  maxOutputBytes?: number | string;
  /** a log segment is sealed past this size, bytes; @default 64 MiB (tests use small ones) */
  logSegmentBytes?: number;
  /** what `request-resources` can hand out; @default agents: maxAgentPoolSize, cores and memory of the machine, tools {bash 8, file_ops 16, search 8, web 4} */
  resources?: ResourceCapacity;
}

/**
 * The options of {@link createHub} checked and resolved, all at once, before
 * anything is started: a thrown option must not leave a worker pool behind.
 */
export function resolveHubOptions(options: HubOptions) {
  const ms = (name: keyof HubOptions & string, fallback: string) => duration((options[name] as string | number | undefined) ?? fallback, name);
  const retentionMs = ms('eventRetention', DEFAULTS.event_retention);
  const compactionIntervalMs = ms('compactionInterval', DEFAULTS.compaction_interval);
  if (compactionIntervalMs <= 0) throw new TroupeError('VALIDATION_FAILED', 'Option compactionInterval must be longer than 0', { details: 'e.g. "1h"' });
  const shutdownGraceMs = ms('shutdownGrace', DEFAULTS.shutdown_grace);
  const timings = {
    retryBackoffBaseMs: ms('retryBackoffBase', DEFAULTS.retry_backoff_base),
    retryBackoffMaxMs: ms('retryBackoffMax', DEFAULTS.retry_backoff_max),
    heartbeatIntervalMs: ms('heartbeatInterval', DEFAULTS.heartbeat_interval),
    breakerCooldownMs: ms('breakerCooldown', DEFAULTS.breaker_cooldown),
    idleTimeoutMs: ms('agentIdleTimeout', DEFAULTS.agent_idle_timeout),
  };
  const taskFiles = taskFilesConfig(options.dataDir, options.taskLogMax ?? DEFAULTS.task_log_max, ms('killGrace', DEFAULTS.kill_grace));
  const maxOutputBytes = outputLimit(options.maxOutputBytes ?? DEFAULTS.max_output_bytes);
  const handlerRefs = userHandlerRefs(options);
  const agentConcurrency = concurrency(options);
  const healthThresholds = resolveHealthThresholds(options.healthThresholds);
  return { retentionMs, compactionIntervalMs, shutdownGraceMs, timings, taskFiles, maxOutputBytes, handlerRefs, agentConcurrency, healthThresholds };
}

function userHandlerRefs(options: HubOptions): HandlerRef[] {
  try {
    return resolveHandlerRefs(options.handlers ?? {}, options.handlersBaseDir ?? process.cwd());
  } catch (error) {
    throw new TroupeError('VALIDATION_FAILED', `Option handlers is invalid: ${(error as Error).message}`, {
      details: 'handlers maps a name to "path/to/module.js#export"',
    });
  }
}

const duration = (value: string | number, name: string): number => {
  const ms = parseDuration(value);
  if (ms === undefined) throw new TroupeError('VALIDATION_FAILED', `Option ${name} is not a duration: ${JSON.stringify(value)}`);
  return ms;
};

/** `maxOutputBytes` in bytes, refused when it is no size or outside what the log can hold. */
function outputLimit(value: string | number): number {
  const bytes = parseSize(value);
  if (bytes === undefined || bytes < 1024 || bytes > OUTPUT_BYTES_CEILING) {
    throw new TroupeError('VALIDATION_FAILED', `Option maxOutputBytes (max_output_bytes) must be a size from 1KiB to 16MiB, got ${JSON.stringify(value)}`, {
      details: 'e.g. "4MiB", "512KiB" or a number of bytes; above 16MiB a task outcome could exceed what the log reader accepts as one frame',
    });
  }
  return bytes;
}

/** `maxConcurrentTasks` and its per-role settings, each refused unless a whole number from 1 to 1000. */
function concurrency(options: HubOptions): { maxConcurrentTasks: number; maxConcurrentTasksByRole: Record<string, number> } {
  const check = (value: unknown, name: string): number => {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 1000) return value;
    throw new TroupeError('VALIDATION_FAILED', `Option ${name} must be a whole number from 1 to 1000, got ${JSON.stringify(value)}`, {
      details: 'tasks one agent runs at once; e.g. max_concurrent_tasks: 3, or max_concurrent_tasks_by_role: { test: 4 }',
    });
  };
  const byRole: Record<string, number> = {};
  for (const [role, n] of Object.entries(options.maxConcurrentTasksByRole ?? {})) byRole[role] = check(n, `maxConcurrentTasksByRole.${role}`);
  return { maxConcurrentTasks: check(options.maxConcurrentTasks ?? DEFAULTS.max_concurrent_tasks, 'maxConcurrentTasks'), maxConcurrentTasksByRole: byRole };
}
