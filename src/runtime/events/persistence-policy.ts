import type { Durability } from '../../persistence/append-log.js';
import type { EventRecord, EventType } from './event-record.js';

/**
 * configure-persistence's policy: which events the log keeps, how long, and
 * how durably. Plain data and rules, so the hub's state can hold it.
 */

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

/** What the hub holds of the settings: null parts were never configured (the options and defaults apply). */
export interface EventHubSettings {
  persistence: PersistenceSettings;
  /** true once configure-persistence set it (the file then holds it, and it outlives the event_retention option) */
  persistenceConfigured: boolean;
  asyncConfigured: boolean;
}

export const defaultPersistence = (retentionMs: number): PersistenceSettings => ({ policy: 'all', retentionMs, durability: 'batch', compressionRequested: false });
