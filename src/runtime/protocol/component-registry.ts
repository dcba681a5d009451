import type { Session } from '../events/subscriptions.js';

/** The spec's `component_registration`, as a client sends it in its hello. */
export interface ComponentRegistration {
  component_id: string;
  component_type: string;
  version: string;
  capabilities: string[];
  dependencies: string[];
  event_subscriptions: string[];
  event_publications: string[];
  health_check_endpoint?: string;
  performance_metrics: string[];
}

/** A registered component, with what the supervisor measured of it. */
export interface RegisteredComponent {
  registration: ComponentRegistration;
  /** the protocol version its connection negotiated */
  protocol_version: string;
  /** the capabilities its hello offered (beside those of its registration) */
  client_capabilities: string[];
  registered_at: number;
  last_activity: number;
  requests: number;
  errors: number;
  total_ms: number;
  /** the subscriptions its event_subscriptions opened */
  subscription_ids: string[];
}

/**
 * Components that registered through a hello, one per session (a control
 * connection): registered for the life of the connection, gone when it
 * closes. Each request of that session counts as the component's activity.
 *
 * @example
 * registry.register(session, registration, '1.1.0', [], now);
 * registry.activity(session, now, 1.2, false); // after each of its requests
 */
export class ComponentRegistry {
  readonly #bySession = new Map<Session, RegisteredComponent>();

  /** The session already holding `componentId`, if any. */
  holder(componentId: string): Session | undefined {
    for (const [session, c] of this.#bySession) if (c.registration.component_id === componentId) return session;
    return undefined;
  }

  of(session: Session): RegisteredComponent | undefined {
    return this.#bySession.get(session);
  }

  register(session: Session, registration: ComponentRegistration, protocolVersion: string, clientCapabilities: string[], now: number): RegisteredComponent {
    const component: RegisteredComponent = {
      registration,
      protocol_version: protocolVersion,
      client_capabilities: clientCapabilities,
      registered_at: now,
      last_activity: now,
      requests: 0,
      errors: 0,
      total_ms: 0,
      subscription_ids: [],
    };
    this.#bySession.set(session, component);
    return component;
  }

  /** One request of the session answered (`ms` to answer it). */
  activity(session: Session, now: number, ms: number, failed: boolean): void {
    const component = this.#bySession.get(session);
    if (!component) return;
    component.last_activity = now;
    component.requests++;
    component.total_ms += ms;
    if (failed) component.errors++;
  }

  /** Its connection closed: the component leaves. */
  endSession(session: Session): void {
    this.#bySession.delete(session);
  }

  list(): RegisteredComponent[] {
    return [...this.#bySession.values()];
  }
}
