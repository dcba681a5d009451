import { z } from 'zod';
import { durationSchema } from '../definition.js';
import { formatDuration } from '../durations.js';
import type { HubState } from '../hub-state.js';
import type { Handler, OperationResult } from '../operation-kit.js';
import { PRIORITY_WINDOW, SEVERITY_WEIGHTS } from './async-processing.js';
import { applySettings, saveSettings } from './event-hub-settings.js';
import { ALWAYS_LOGGED } from './persistence-policy.js';

export const hubSettingsParams = {
  'configure-persistence': z.strictObject({
    persistence_policy: z.enum(['all', 'selective_critical']).optional().describe('all: the log keeps every event; selective_critical: warnings and worse, plus every lifecycle event history, KPIs and recovery read'),
    retention_period: durationSchema.refine((ms) => ms >= 60_000, 'retention_period is at least 1m').optional().describe('events older than this go with their log segments (the event_retention option, until configured again)'),
    replay_capabilities: z.enum(['full', 'time_range', 'sequence', 'none']).optional().describe('get-events always replays by seq, time, type, workflow, severity, pattern and correlation id'),
    compression_enabled: z.boolean().optional().describe('log segments are not compressed (said in warnings)'),
    durability: z.enum(['sync', 'batch', 'none']).optional().describe('when an event append is fsynced: at once, within 50ms (default), or at close'),
  }),
  'enable-async-processing': z.strictObject({
    processing_pool_size: z.number().int().min(1).max(1_024).default(8).describe('deliveries under way at once over all subscriber queues'),
    priority_scheme: z.enum(['weighted', 'strict']).default('weighted').describe('which waiting event a backed-up queue delivers next: weighted round robin over severities (8:4:2:1), or strictly the most severe'),
    optimization_mode: z.enum(['balanced', 'throughput', 'latency']).default('balanced'),
    auto_scaling: z.boolean().default(false).describe('the bound grows while queues wait for a slot (up to 4 × processing_pool_size), and returns once nothing is under way'),
    enabled: z.boolean().default(true).describe('false: queues deliver in arrival order again, unbounded'),
  }),
} as const;

type PersistenceParams = z.output<(typeof hubSettingsParams)['configure-persistence']>;
type AsyncParams = z.output<(typeof hubSettingsParams)['enable-async-processing']>;

const COMPRESSION_NOT_DONE =
  'compression_enabled: log segments are not compressed: each event is a framed msgpack record (already compact), checked by its own crc32 and appended in place, and compressing a segment would cost that per-record check and the append; save-state bundles are gzip-compressed (compress: true)';

function persistenceView(state: HubState) {
  const p = state.eventSettings.persistence;
  return {
    persistence_policy: p.policy,
    retention_period: formatDuration(p.retentionMs),
    replay_capabilities: 'full',
    compression_enabled: false,
    durability: p.durability,
    always_logged: p.policy === 'all' ? 'every event' : [...ALWAYS_LOGGED],
    stored: state.journal ? (state.eventSettings.persistenceConfigured ? 'settings/event-hub.ckpt' : 'defaults (never configured)') : 'in memory: this hub has no data directory',
  };
}

function asyncView(state: HubState) {
  const processing = state.subscriptions.processing;
  const c = processing.config;
  return {
    enabled: c.enabled,
    processing_pool_size: c.poolSize,
    priority_scheme: c.priorityScheme,
    optimization_mode: c.optimizationMode,
    auto_scaling: c.autoScaling,
    severity_weights: SEVERITY_WEIGHTS,
    priority_window: PRIORITY_WINDOW,
    now: { in_flight: processing.inFlight, limit: processing.limit, ...processing.stats },
  };
}

export const hubSettingsHandlers: Record<string, Handler> = {
  async 'configure-persistence'(hub, _id, params: PersistenceParams, raw): Promise<OperationResult> {
    const asked = Object.keys((raw ?? {}) as object).length > 0;
    const warnings: string[] = [];
    if (asked) {
      const p = hub.eventSettings.persistence;
      hub.eventSettings = {
        ...hub.eventSettings,
        persistenceConfigured: true,
        persistence: {
          policy: params.persistence_policy ?? p.policy,
          retentionMs: params.retention_period ?? p.retentionMs,
          durability: params.durability ?? p.durability,
          compressionRequested: params.compression_enabled ?? p.compressionRequested,
        },
      };
      applySettings(hub);
      if (params.compression_enabled) warnings.push(COMPRESSION_NOT_DONE);
      if (params.replay_capabilities !== undefined && params.replay_capabilities !== 'full') {
        warnings.push(`replay_capabilities "${params.replay_capabilities}": replay is not narrowed: get-events always replays by seq, time, type, workflow, severity, pattern and correlation id, from what the log keeps`);
      }
      if (!(await saveSettings(hub))) warnings.push('this hub has no data directory: nothing is logged, and these settings last until it closes');
    }
    const view = persistenceView(hub);
    return {
      result: { persistence: view },
      next_steps: view.persistence_policy === 'selective_critical' ? ["Events left out of the log still reach subscribers live, and 'get-events' shows them until the hub stops"] : [],
      warnings,
      metrics: { resources_used: asked && hub.journal ? '1 state file write' : 'none' },
    };
  },

  async 'enable-async-processing'(hub, _id, params: AsyncParams, raw): Promise<OperationResult> {
    const asked = Object.keys((raw ?? {}) as object).length > 0;
    const warnings: string[] = [];
    if (asked) {
      hub.subscriptions.processing.configure({
        enabled: params.enabled,
        poolSize: params.processing_pool_size,
        priorityScheme: params.priority_scheme,
        optimizationMode: params.optimization_mode,
        autoScaling: params.auto_scaling,
      });
      hub.eventSettings.asyncConfigured = true;
      warnings.push(
        `processing_pool_size ${params.processing_pool_size}: deliveries run in the hub's one thread, so it bounds the deliveries under way at once (an async subscriber's promise holds its slot until it settles), not threads`,
      );
      if (params.optimization_mode !== 'balanced') {
        warnings.push(`optimization_mode "${params.optimization_mode}": troupe has one delivery path, tuned by configure-batching (batch_size, batch_timeout) and processing_pool_size; the mode is recorded, nothing else changes`);
      }
      if (!(await saveSettings(hub))) warnings.push('this hub has no data directory: these settings last until it closes');
    }
    return {
      result: { async_processing: asyncView(hub), subscriptions: hub.subscriptions.list().length },
      next_steps: [],
      warnings,
      metrics: { resources_used: asked && hub.journal ? '1 state file write' : 'none' },
    };
  },
};
