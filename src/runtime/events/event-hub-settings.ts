import { join } from 'node:path';
import { z } from 'zod';
import { readStateFile, writeStateFile } from '../../persistence/state-file.js';
import type { HubState } from '../hub-state.js';
import type { AsyncProcessingConfig } from './async-processing.js';
import { logKeeps } from './persistence-policy.js';

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

