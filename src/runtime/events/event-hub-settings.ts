import { join } from 'node:path';
import { z } from 'zod';
import { readStateFile, writeStateFile } from '../../persistence/state-file.js';
import type { Durability } from '../../persistence/append-log.js';
import type { HubState } from '../hub-state.js';
import { DEFAULT_ASYNC_PROCESSING, type AsyncProcessingConfig } from './async-processing.js';
import type { EventRecord, EventType } from './event-record.js';

/** What `configure-persistence` sets. */
export interface PersistenceSettings {
  /** all: the log keeps every event; selective_critical: warnings and worse, and every event in {@link ALWAYS_LOGGED} */
  policy: 'all' | 'selective_critical';
  /** events older than this are removed with their log segments (the hub's event_retention) */
  retentionMs: number;
  /** how far an event append goes before it counts as written: fsync at once (sync), within 50ms (batch), at close (none) */
  durability: Durability;
  /** asked for, and said not done: log segments are not compressed (see the operation's warnings) */
  compressionRequested: boolean;
}

/**
 * The events the log keeps under every policy: what a workflow's history,
 * the KPIs after a restart (they fold the log past metrics/kpis.ckpt), the
 * recovery report and dead-letter bookkeeping read. Only info and debug
 * events of other types can be left out: progress reports, the actor trace,
 * thresholds, maintenance notices, and what users publish at info.
 */
export const ALWAYS_LOGGED: ReadonlySet<EventType> = new Set<EventType>([
  'WORKFLOW_CREATED', 'WORKFLOW_STARTED', 'WORKFLOW_PAUSED', 'WORKFLOW_RESUMED', 'WORKFLOW_COMPLETED', 'WORKFLOW_FAILED', 'WORKFLOW_CANCELLED',
  'PHASE_STARTED', 'PHASE_COMPLETED', 'PHASE_FAILED', 'PHASE_SKIPPED',
  'TASK_ASSIGNED', 'TASK_STARTED', 'TASK_COMPLETED', 'TASK_FAILED', 'TASK_TIMEOUT', 'TASK_REASSIGNED', 'TASK_RECOVERED',
  'COMPENSATION_STARTED', 'TASK_COMPENSATED', 'TASK_COMPENSATION_FAILED', 'WORKFLOW_COMPENSATED',
  'APPROVAL_REQUESTED', 'APPROVAL_GRANTED', 'APPROVAL_REJECTED',
  'AGENT_ALLOCATED', 'AGENT_DEALLOCATED', 'AGENT_ERROR', 'AGENT_TIMEOUT',
  'RESOURCE_ALLOCATED', 'RESOURCE_DEALLOCATED', 'RESOURCE_CONFLICT',
  'SYSTEM_STARTUP', 'SYSTEM_SHUTDOWN', 'CHECKPOINT_CREATED', 'CHECKPOINT_RESTORED', 'ERROR_ENCOUNTERED', 'EVENT_DEAD_LETTERED',
]);

const URGENT = new Set(['warning', 'error', 'critical']);

/** Whether the log keeps an event under a policy. */
export function logKeeps(policy: PersistenceSettings['policy'], event: EventRecord): boolean {
  return policy === 'all' || URGENT.has(event.severity) || ALWAYS_LOGGED.has(event.event_type);
}

/** The event hub's settings as the data directory keeps them (settings/event-hub.ckpt). */
export const SETTINGS_FILE = { kind: 'event-hub-settings', version: 1 } as const;
export const settingsPath = (dataDir: string) => join(dataDir, 'settings', 'event-hub.ckpt');

const fileSchema = z.strictObject({
  persistence: z.strictObject({
    policy: z.enum(['all', 'selective_critical']),
    retention_ms: z.number().int().min(0),
    durability: z.enum(['sync', 'batch', 'none']),
    compression_requested: z.boolean(),
  }).nullable(),
  async_processing: z.strictObject({
    enabled: z.boolean(),
    pool_size: z.number().int().min(1),
    priority_scheme: z.enum(['strict', 'weighted']),
    optimization_mode: z.enum(['balanced', 'throughput', 'latency']),
    auto_scaling: z.boolean(),
  }).nullable(),
});

/** What the hub holds of the settings: null parts were never configured (the options and defaults apply). */
export interface EventHubSettings {
  persistence: PersistenceSettings;
  /** true once configure-persistence set it (the file then holds it, and it outlives the event_retention option) */
  persistenceConfigured: boolean;
  asyncConfigured: boolean;
}

export const defaultPersistence = (retentionMs: number): PersistenceSettings => ({ policy: 'all', retentionMs, durability: 'batch', compressionRequested: false });

/** Puts the settings in effect: the log's policy, and the queues' priority order and slots. */
export function applySettings(state: HubState): void {
  const { policy } = state.eventSettings.persistence;
  state.bus.keepOnly(policy === 'all' ? null : (event) => logKeeps(policy, event));
}

/** Writes the configured settings atomically (checksummed); an in-memory hub keeps them in memory only. */
export async function saveSettings(state: HubState): Promise<boolean> {
  if (!state.journal) return false;
  const { persistence: p, persistenceConfigured, asyncConfigured } = state.eventSettings;
  const a: AsyncProcessingConfig = state.subscriptions.processing.config;
  await writeStateFile(settingsPath(state.journal.dataDir), SETTINGS_FILE.kind, SETTINGS_FILE.version, state.clock.now(), {
    persistence: persistenceConfigured ? { policy: p.policy, retention_ms: p.retentionMs, durability: p.durability, compression_requested: p.compressionRequested } : null,
    async_processing: asyncConfigured
      ? { enabled: a.enabled, pool_size: a.poolSize, priority_scheme: a.priorityScheme, optimization_mode: a.optimizationMode, auto_scaling: a.autoScaling }
      : null,
  });
  return true;
}

/**
 * Reads the settings back at start, before this run logs its first event. A
 * torn, corrupt or foreign file is reported (ERROR_ENCOUNTERED) and the
 * defaults apply until the settings are configured again.
 */
export async function loadSettings(state: HubState, dataDir: string): Promise<void> {
  const read = await readStateFile(settingsPath(dataDir), SETTINGS_FILE.kind, SETTINGS_FILE.version);
  let reason = read.status === 'corrupt' ? read.reason : null;
  if (read.status === 'ok') {
    const parsed = fileSchema.safeParse(read.body);
    if (parsed.success) {
      const { persistence: p, async_processing: a } = parsed.data;
      if (p) state.eventSettings = { ...state.eventSettings, persistenceConfigured: true, persistence: { policy: p.policy, retentionMs: p.retention_ms, durability: p.durability, compressionRequested: p.compression_requested } };
      if (a) {
        state.eventSettings.asyncConfigured = true;
        state.subscriptions.processing.configure({ enabled: a.enabled, poolSize: a.pool_size, priorityScheme: a.priority_scheme, optimizationMode: a.optimization_mode, autoScaling: a.auto_scaling });
      }
    } else reason = `not the event hub's settings: ${parsed.error.issues[0]?.message ?? 'unreadable'}`;
  }
  applySettings(state);
  if (reason !== null) {
    state.bus.publish({
      type: 'ERROR_ENCOUNTERED',
      severity: 'warning',
      data: { component: 'event-hub-settings', file: settingsPath(dataDir), reason, action: 'every event is logged and queues deliver in order until configure-persistence and enable-async-processing are given again' },
    });
  }
}

export { DEFAULT_ASYNC_PROCESSING };
