import { access, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { HEALTH_DEFAULTS, parseSize, type HealthThresholdOptions, type HubOptions } from '../index.js';

const duration = z.union([z.string(), z.number()]);
const concurrency = z.number().int().min(1).max(1000);

/** `health_thresholds`: any of HEALTH_DEFAULTS' keys (the `_ms` ones also as durations); the hub checks the values. */
const healthThresholds = z.strictObject(
  Object.fromEntries(Object.keys(HEALTH_DEFAULTS).map((key) => [key, (key === 'memory_limit_mb' ? z.number().nullable() : key.endsWith('_ms') ? duration : z.number()).optional()])),
);

/** The configuration file: `troupe.config.json`, `.yaml` or `.yml` in the current directory, or `--config FILE`. */
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
  /** the largest task output stored: bytes, or a size such as "4MiB" (1KiB to 16MiB) */
  max_output_bytes: z
    .union([z.number(), z.string()])
    .refine((v) => {
      const bytes = parseSize(v);
      return bytes !== undefined && bytes >= 1024 && bytes <= 16 * 1024 * 1024;
    }, 'max_output_bytes must be a size from 1KiB to 16MiB, e.g. "4MiB", "512KiB" or a number of bytes')
    .optional(),
});

export type ConfigFile = z.infer<typeof configSchema>;

const DISCOVERED = ['troupe.config.json', 'troupe.config.yaml', 'troupe.config.yml'];

/** The config file to read: the one named, else the first one found in `cwd`, else none. */
export async function findConfig(named: string | undefined, cwd = process.cwd()): Promise<string | null> {
  if (named) return resolve(cwd, named);
  for (const name of DISCOVERED) {
    const path = resolve(cwd, name);
    if (await exists(path)) return path;
  }
  return null;
}

const exists = (path: string) => access(path).then(() => true, () => false);

/**
 * The templates folder: `templates_dir` of the config, relative to the
 * config file (named: used even when missing, so `list-templates` says it is
 * missing); else `templates/` beside the config file, or in `cwd` when there
 * is no config file, if that exists (an unasked-for folder that is not
 * there is no news).
 */
async function templatesDirOf(config: ConfigFile, path: string | null, cwd: string): Promise<string | undefined> {
  if (config.templates_dir !== undefined) return resolve(path ? dirname(path) : cwd, config.templates_dir);
  const fallback = resolve(path ? dirname(path) : cwd, 'templates');
  return (await exists(fallback)) ? fallback : undefined;
}

/** Reads and validates a config file (JSON or YAML); throws with zod's text on a bad one. */
export async function loadConfig(path: string | null, cwd = process.cwd()): Promise<{ config: ConfigFile; hub: HubOptions }> {
  const config = path ? configSchema.parse(parseYaml(await readFile(path, 'utf8')) ?? {}) : {};
  const hub: HubOptions = {};
  const templatesDir = await templatesDirOf(config, path, cwd);
  if (templatesDir !== undefined) hub.templatesDir = templatesDir;
  if (!path) return { config, hub };
  if (config.max_threads !== undefined) hub.maxThreads = config.max_threads;
  if (config.max_agent_pool_size !== undefined) hub.maxAgentPoolSize = config.max_agent_pool_size;
  if (config.heartbeat_interval !== undefined) hub.heartbeatInterval = config.heartbeat_interval;
  if (config.missed_heartbeats !== undefined) hub.missedHeartbeats = config.missed_heartbeats;
  if (config.breaker_threshold !== undefined) hub.breakerThreshold = config.breaker_threshold;
  if (config.max_concurrent_tasks !== undefined) hub.maxConcurrentTasks = config.max_concurrent_tasks;
  if (config.max_concurrent_tasks_by_role !== undefined) hub.maxConcurrentTasksByRole = config.max_concurrent_tasks_by_role;
  if (config.health_thresholds !== undefined) hub.healthThresholds = config.health_thresholds as HealthThresholdOptions;
  if (config.breaker_cooldown !== undefined) hub.breakerCooldown = config.breaker_cooldown;
  if (config.agent_idle_timeout !== undefined) hub.agentIdleTimeout = config.agent_idle_timeout;
  if (config.retry_backoff_base !== undefined) hub.retryBackoffBase = config.retry_backoff_base;
  if (config.retry_backoff_max !== undefined) hub.retryBackoffMax = config.retry_backoff_max;
  if (config.shutdown_grace !== undefined) hub.shutdownGrace = config.shutdown_grace;
  if (config.kill_grace !== undefined) hub.killGrace = config.kill_grace;
  if (config.task_log_max !== undefined) hub.taskLogMax = config.task_log_max;
  if (config.durability !== undefined) hub.durability = config.durability;
  if (config.keep_checkpoints !== undefined) hub.keepCheckpoints = config.keep_checkpoints;
  if (config.auto_recovery !== undefined) hub.autoRecovery = config.auto_recovery;
  if (config.state_compression !== undefined) hub.stateCompression = config.state_compression;
  if (config.event_retention !== undefined) hub.eventRetention = config.event_retention;
  if (config.handlers !== undefined) {
    hub.handlers = config.handlers;
    hub.handlersBaseDir = dirname(path);
  }
  if (config.compaction_interval !== undefined) hub.compactionInterval = config.compaction_interval;
  if (config.trace !== undefined) hub.trace = config.trace;
  if (config.max_output_bytes !== undefined) hub.maxOutputBytes = config.max_output_bytes;
  return { config, hub };
}
