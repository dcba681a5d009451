import { BUILTIN_HANDLERS } from '../../actors/handler-inputs.js';
import { formatDuration } from '../durations.js';
import type { HubState } from '../hub-state.js';
import { HUB_VERSION } from '../version.js';

type Status = 'healthy' | 'degraded' | 'unhealthy' | 'unknown';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** What each of the hub's own components does, as a registration would say it. */
const CORE_CAPABILITIES: Readonly<Record<string, readonly string[]>> = {
  hub: ['workflow_lifecycle', 'state_sync', 'component_registration', 'error_reporting'],
  'task-pool': ['task_execution'],
  store: ['checkpoints', 'state_persistence'],
  log: ['event_log', 'outcome_log', 'replay'],
  'task-logs': ['task_output_capture'],
  'event-hub': ['publish_subscribe', 'batching', 'dead_letters'],
};

/** The registration fields of one of the hub's own components (they are part of troupe: troupe's version). */
export function coreIdentity(id: string) {
  return { component_type: 'core', version: HUB_VERSION, capabilities: [...(CORE_CAPABILITIES[id] ?? [])] };
}

/** A registration's dependency names the hub by the spec's name too. */
const ALIASES: Readonly<Record<string, string>> = { 'coordination-hub': 'hub' };

/**
 * The components that registered with a hello, in the protocol's
 * health_status shape: healthy while their connection is open (they leave
 * with it), last_activity their last request, performance measured from
 * their requests; `statusOf` answers a dependency's status by component id.
 */
export function registeredViews(hub: HubState, statusOf: (id: string) => Status | undefined) {
  const now = hub.clock.now();
  return hub.components.list().map((c) => {
    const r = c.registration;
    return {
      component_id: r.component_id,
      component_type: r.component_type,
      version: r.version,
      capabilities: r.capabilities,
      timestamp: iso(now),
      status: 'healthy' as Status,
      uptime: formatDuration(now - c.registered_at),
      last_activity: iso(c.last_activity),
      protocol_version: c.protocol_version,
      performance_metrics: {
        requests: c.requests,
        response_time_avg: formatDuration(c.requests === 0 ? 0 : c.total_ms / c.requests),
        success_rate: c.requests === 0 ? 100 : Math.round(((c.requests - c.errors) / c.requests) * 1000) / 10,
        error_rate: c.requests === 0 ? 0 : Math.round((c.errors / c.requests) * 1000) / 10,
        // the names the registration declared: troupe measures only what it sees (above), it does not collect these
        declared: r.performance_metrics,
      },
      dependencies: Object.fromEntries(r.dependencies.map((d) => [d, statusOf(ALIASES[d] ?? d) ?? 'unknown'])),
      event_subscriptions: r.event_subscriptions,
      subscription_ids: c.subscription_ids,
      event_publications: r.event_publications,
      ...(c.client_capabilities.length > 0 ? { client_capabilities: c.client_capabilities } : {}),
    };
  });
}

/**
 * The task handlers as components: the built-ins (troupe's version) and the
 * configured modules (their own name and version, see worker/handler-meta.ts;
 * unhealthy when the module did not load), last_activity the last attempt
 * one of their tasks finished.
 */
export function handlerViews(hub: HubState) {
  const view = (handler: string, extra: { version: string; status: Status; name: string; details?: unknown }) => {
    const stats = hub.handlerActivity.of(handler);
    return {
      component_id: `handler:${handler}`,
      component_type: 'handler',
      version: extra.version,
      capabilities: ['task_execution'],
      name: extra.name,
      status: extra.status,
      last_activity: iso(stats?.last_activity ?? null),
      performance_metrics: { runs: stats?.runs ?? 0, failures: stats?.failures ?? 0 },
      ...(extra.details === undefined ? {} : { details: extra.details }),
    };
  };
  const builtins = BUILTIN_HANDLERS.map((name) => view(name, { name, version: HUB_VERSION, status: 'healthy' }));
  const users = [...hub.handlers].map(([name, probe]) =>
    probe.ok
      ? view(name, { name: probe.name ?? name, version: probe.version ?? 'unversioned', status: 'healthy', details: { version_source: probe.version_source ?? 'none' } })
      : view(name, { name, version: 'unversioned', status: 'unhealthy', details: { reason: probe.reason } }),
  );
  return [...builtins, ...users];
}
