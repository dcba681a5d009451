import { z } from 'zod';
import { TroupeError } from '../errors.js';
import { subscriptionHandlers, subscriptionParams } from '../events/subscription-operations.js';
import type { Handler } from '../operation-kit.js';
import { systemHandlers } from '../system-operations.js';
import { PROTOCOL_VERSION } from '../version.js';
import type { ComponentRegistration } from './component-registry.js';
import { negotiate } from './negotiation.js';
import type { helloParams } from './hello-params.js';

/** What this supervisor's protocol offers (PROTOCOL_VERSION 1.1.0). */
export const SUPERVISOR_CAPABILITIES = ['commands', 'request_id', 'event_push', 'half_close', 'component_registration', 'state_sync', 'error_report'] as const;

type HelloParams = z.output<typeof helloParams>;

/**
 * `hello`: the first line of a control connection (protocol 1.1.0):
 * negotiates the protocol version (see version.ts for the rule), and
 * registers the client as a component when it sends a registration; its
 * event_subscriptions become this connection's subscriptions. Answers the
 * supervisor's version, capabilities and component list.
 */
const hello: Handler = async (hub, _id, params: HelloParams, _raw, session) => {
  const negotiated = negotiate(params.protocol_version);
  const warnings: string[] = [];
  let registered: { component_id: string; subscription_ids: string[] } | null = null;
  const reg = params.component_registration;
  if (reg) {
    if (!session) {
      warnings.push('component_registration: this hello came without a session (a call in process), so nothing was registered: a component is registered for the life of its control connection');
    } else {
      const holder = hub.components.holder(reg.component_id);
      if (holder !== undefined) {
        throw new TroupeError('VALIDATION_FAILED', `Component ${reg.component_id} is already registered${holder === session ? ' by this connection' : ' by another connection'}`, {
          details: 'A component is registered once, for the life of its connection',
          suggestions: ['Pick a component_id of its own for each connection (e.g. with the process id in it)', "See the registered components with 'health'"],
        });
      }
      // registered before the subscriptions are awaited: a second hello with this id meanwhile finds it taken
      const component = hub.components.register(session, reg as ComponentRegistration, negotiated, params.capabilities, hub.clock.now());
      let subscriptionIds: string[];
      try {
        subscriptionIds = await subscribe(hub, reg.event_subscriptions, session, warnings);
      } catch (error) {
        hub.components.endSession(session);
        throw error;
      }
      component.subscription_ids = subscriptionIds;
      registered = { component_id: reg.component_id, subscription_ids: subscriptionIds };
      if (reg.health_check_endpoint !== undefined) {
        warnings.push(`health_check_endpoint: troupe calls no component, so ${reg.health_check_endpoint} is never called; a registered component is healthy while its connection is open, with last_activity its last request`);
      }
      if (reg.performance_metrics.length > 0) {
        warnings.push(`performance_metrics: troupe does not collect ${reg.performance_metrics.join(', ')}; health lists the names beside what it measures of the component (requests, errors, response time)`);
      }
    }
  }
  const health = await systemHandlers.health!(hub, undefined, {}, {});
  const components = (health.result as { components: { component_id: string; component_type: string; version: string; capabilities: string[]; status: string; last_activity: string | null }[] }).components;
  const major = PROTOCOL_VERSION.split('.')[0];
  return {
    result: {
      message_type: 'hello',
      protocol_version: PROTOCOL_VERSION,
      negotiated_version: negotiated,
      supported_versions: `${major}.0.0 to ${PROTOCOL_VERSION} (same MAJOR: the lower version is spoken)`,
      capabilities: [...SUPERVISOR_CAPABILITIES],
      common_capabilities: SUPERVISOR_CAPABILITIES.filter((c) => params.capabilities.includes(c)),
      registered,
      components: components.map(({ component_id, component_type, version: v, capabilities, status, last_activity }) => ({ component_id, component_type, version: v, capabilities, status, last_activity })),
    },
    next_steps: registered ? ["See this component in 'health' while the connection is open"] : [],
    ...(warnings.length > 0 ? { warnings } : {}),
  };
};

/** The registration's event_subscriptions as one subscription of this session (patterns checked as subscribe-event checks them). */
async function subscribe(hub: Parameters<Handler>[0], patterns: string[], session: NonNullable<Parameters<Handler>[4]>, warnings: string[]): Promise<string[]> {
  if (patterns.length === 0) return [];
  const parsed = subscriptionParams['subscribe-event'].safeParse({ patterns });
  if (!parsed.success) throw new TroupeError('VALIDATION_FAILED', 'component_registration.event_subscriptions holds a pattern subscribe-event refuses', { details: z.prettifyError(parsed.error) });
  const answer = await subscriptionHandlers['subscribe-event']!(hub, undefined, parsed.data, { patterns }, session);
  // what subscribe-event did with a pattern (e.g. took a two-segment one as three) is said here too
  warnings.push(...(answer.warnings ?? []).map((w) => `component_registration.event_subscriptions: ${w}`));
  return [(answer.result as { subscription_id: string }).subscription_id];
}

export const helloHandlers: Record<string, Handler> = { hello };
