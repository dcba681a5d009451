import { dirname } from 'node:path';
import { z } from 'zod';
import { DEFAULTS, formatDuration, HEALTH_DEFAULTS, parseDuration, type HubOptions } from '../index.js';

/** A duration, as text or milliseconds; whether it parses is the hub's to say (see `configProblems`). */
const duration = z.union([z.string(), z.number()]);
const concurrency = z.number().int().min(1).max(1000);

/** `health_thresholds`: any of HEALTH_DEFAULTS' keys (the `_ms` ones also as durations); the hub checks the values. */
const healthThresholds = z.strictObject(
  Object.fromEntries(Object.keys(HEALTH_DEFAULTS).map((key) => [key, (key === 'memory_limit_mb' ? z.number().nullable() : key.endsWith('_ms') ? duration : z.number()).optional()])),
);

/**
 * The configuration file: `troupe.config.json`, `.yaml` or `.yml` in the
 * current directory, or `--config FILE`. The schema checks the types and
 * the ranges the hub leaves to it; durations, sizes and what else the hub
 * refuses are checked by the hub's own rules (`configProblems`).
 */
export const configSchema = z.strictObject({
  /** the data directory, when --data-dir and TROUPE_DATA_DIR are not given */
  data_dir: z.string().min(1).optional(),
  max_threads: z.number().int().min(1).max(256).optional(),
  max_agent_pool_size: z.number().int().min(1).max(1000).optional(),
  heartbeat_interval: duration.optional(),
  missed_heartbeats: z.number().int().min(1).max(100).optional(),
  breaker_threshold: z.number().int().min(1).max(1000).optional(),
  /** tasks one agent runs at once, and the same for the agents of some roles */
  max_concurrent_tasks: concurrency.optional(),
  max_concurrent_tasks_by_role: z.record(z.string(), concurrency).optional(),
  /** the limits `health` judges by and SYSTEM_THRESHOLD watches */
  health_thresholds: healthThresholds.optional(),
  breaker_cooldown: duration.optional(),
  agent_idle_timeout: duration.optional(),
  retry_backoff_base: duration.optional(),
  retry_backoff_max: duration.optional(),
  shutdown_grace: duration.optional(),
  /** how long an exec task's process group gets between SIGTERM and SIGKILL */
  kill_grace: duration.optional(),
  /** bytes of the end of each attempt's output a task log keeps */
  task_log_max: z.number().int().min(4096).max(1024 * 1024 * 1024).optional(),
  durability: z.enum(['sync', 'batch', 'none']).optional(),
  keep_checkpoints: z.number().int().min(1).max(1000).optional(),
  auto_recovery: z.boolean().optional(),
  /** the spec's state_compression: checkpoint bodies stored deflated, save-state bundles gzipped by default (default true) */
  state_compression: z.boolean().optional(),
  event_retention: duration.optional(),
  /** a folder of workflow templates (NAME.yaml): relative to this file; default templates/ beside it, when that exists */
  templates_dir: z.string().min(1).optional(),
  /** user handlers: name -> "path/to/module.js#export", paths relative to this file */
  handlers: z.record(z.string(), z.string().min(1)).optional(),
  compaction_interval: duration.optional(),
  /** record what the actors do as ACTOR_TRACE debug events */
  trace: z.boolean().optional(),
  /** the largest task output stored: bytes, or a size such as "4MiB" (1KiB to 16MiB, the hub's rule) */
  max_output_bytes: z.union([z.number(), z.string()]).optional(),
});

export type ConfigFile = z.infer<typeof configSchema>;

/** The hub option each setting becomes (data_dir and templates_dir are the CLI's own). */
export const HUB_OPTION_OF = {
  max_threads: 'maxThreads',
  max_agent_pool_size: 'maxAgentPoolSize',
  heartbeat_interval: 'heartbeatInterval',
  missed_heartbeats: 'missedHeartbeats',
  breaker_threshold: 'breakerThreshold',
  max_concurrent_tasks: 'maxConcurrentTasks',
  max_concurrent_tasks_by_role: 'maxConcurrentTasksByRole',
  health_thresholds: 'healthThresholds',
  breaker_cooldown: 'breakerCooldown',
  agent_idle_timeout: 'agentIdleTimeout',
  retry_backoff_base: 'retryBackoffBase',
  retry_backoff_max: 'retryBackoffMax',
  shutdown_grace: 'shutdownGrace',
  kill_grace: 'killGrace',
  task_log_max: 'taskLogMax',
  durability: 'durability',
  keep_checkpoints: 'keepCheckpoints',
  auto_recovery: 'autoRecovery',
  state_compression: 'stateCompression',
  event_retention: 'eventRetention',
  handlers: 'handlers',
  compaction_interval: 'compactionInterval',
  trace: 'trace',
  max_output_bytes: 'maxOutputBytes',
} as const satisfies Partial<Record<keyof ConfigFile, keyof HubOptions>>;

/** The hub options a checked configuration sets (`path`: its file, where relative handler paths start). */
export function hubOptionsOf(config: ConfigFile, path: string): HubOptions {
  const hub: Record<string, unknown> = {};
  for (const [key, option] of Object.entries(HUB_OPTION_OF)) {
    const value = config[key as keyof ConfigFile];
    if (value !== undefined) hub[option] = value;
  }
  if (config.handlers !== undefined) hub.handlersBaseDir = dirname(path);
  return hub as HubOptions;
}

/** What a setting takes, and a good value as a line of the file: what a problem with it says. */
export interface SettingHelp {
  expects: string;
  example: string;
  /** what else helps: a duration's units */
  note?: string;
}

const DURATION_NOTE = 'a duration is a number with ms, s, m, h or d, or a plain number of milliseconds';
const durationHelp = (key: string, example: string): SettingHelp => ({ expects: 'a duration', example: `${key}: ${example}`, note: DURATION_NOTE });
const wholeHelp = (key: string, min: number, max: number, example: number): SettingHelp => ({ expects: `a whole number from ${min} to ${max}`, example: `${key}: ${example}` });

/** Every setting's help; a key added to the schema without one is a type error. */
export const SETTING_HELP: Record<keyof ConfigFile, SettingHelp> = {
  data_dir: { expects: 'a directory path', example: 'data_dir: ./.troupe' },
  max_threads: wholeHelp('max_threads', 1, 256, 4),
  max_agent_pool_size: wholeHelp('max_agent_pool_size', 1, 1000, DEFAULTS.max_agent_pool_size),
  heartbeat_interval: durationHelp('heartbeat_interval', DEFAULTS.heartbeat_interval),
  missed_heartbeats: wholeHelp('missed_heartbeats', 1, 100, DEFAULTS.missed_heartbeats),
  breaker_threshold: wholeHelp('breaker_threshold', 1, 1000, DEFAULTS.breaker_threshold),
  max_concurrent_tasks: wholeHelp('max_concurrent_tasks', 1, 1000, 3),
  max_concurrent_tasks_by_role: { expects: 'a mapping of role to a whole number from 1 to 1000', example: 'max_concurrent_tasks_by_role: { test: 4 }' },
  health_thresholds: { expects: `a mapping of health thresholds (${Object.keys(HEALTH_DEFAULTS).join(', ')})`, example: 'health_thresholds: { check_interval_ms: 30s, memory_limit_mb: 2048 }' },
  breaker_cooldown: durationHelp('breaker_cooldown', DEFAULTS.breaker_cooldown),
  agent_idle_timeout: durationHelp('agent_idle_timeout', DEFAULTS.agent_idle_timeout),
  retry_backoff_base: durationHelp('retry_backoff_base', DEFAULTS.retry_backoff_base),
  retry_backoff_max: durationHelp('retry_backoff_max', DEFAULTS.retry_backoff_max),
  shutdown_grace: durationHelp('shutdown_grace', DEFAULTS.shutdown_grace),
  kill_grace: durationHelp('kill_grace', DEFAULTS.kill_grace),
  task_log_max: { expects: 'a whole number of bytes from 4096 to 1073741824 (1 GiB)', example: `task_log_max: ${DEFAULTS.task_log_max}` },
  durability: { expects: 'one of sync, batch, none', example: 'durability: sync' },
  keep_checkpoints: wholeHelp('keep_checkpoints', 1, 1000, 10),
  auto_recovery: { expects: 'true or false', example: 'auto_recovery: true' },
  state_compression: { expects: 'true or false', example: 'state_compression: true' },
  event_retention: durationHelp('event_retention', DEFAULTS.event_retention),
  templates_dir: { expects: 'a directory path (relative to the config file)', example: 'templates_dir: ./templates' },
  handlers: { expects: 'a mapping of handler name to "path/to/module.js#export"', example: 'handlers: { greet: ./handlers/greet.mjs#hello }' },
  compaction_interval: durationHelp('compaction_interval', DEFAULTS.compaction_interval),
  trace: { expects: 'true or false', example: 'trace: false' },
  max_output_bytes: { expects: 'a size from 1KiB to 16MiB ("4MiB", "512KiB") or a number of bytes', example: `max_output_bytes: ${DEFAULTS.max_output_bytes}` },
};

/**
 * The help of a key inside a setting that is a mapping: a health threshold
 * (its default as the example), a role's concurrency, a handler.
 */
export function nestedHelp(setting: string, key: string): SettingHelp | null {
  if (setting === 'health_thresholds' && Object.hasOwn(HEALTH_DEFAULTS, key)) {
    const fallback = HEALTH_DEFAULTS[key as keyof typeof HEALTH_DEFAULTS];
    if (key === 'memory_limit_mb') return { expects: 'a number of MB, or null for the V8 heap limit', example: `health_thresholds: { ${key}: 2048 }` };
    if (key.endsWith('_ms')) {
      const text = formatDuration(fallback as number);
      return { expects: 'a duration, or a number of milliseconds >= 0', example: `health_thresholds: { ${key}: ${parseDuration(text) === fallback ? text : fallback} }`, note: DURATION_NOTE };
    }
    return { expects: 'a number >= 0', example: `health_thresholds: { ${key}: ${fallback} }` };
  }
  if (setting === 'max_concurrent_tasks_by_role') return { expects: 'a whole number from 1 to 1000', example: `max_concurrent_tasks_by_role: { ${key}: 4 }` };
  if (setting === 'handlers') return { expects: 'a module and its export, "path/to/module.js#export" (relative to the config file)', example: 'handlers: { greet: ./handlers/greet.mjs#hello }' };
  return null;
}
