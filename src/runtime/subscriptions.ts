import { randomUUID } from 'node:crypto';
import { compilePattern } from './event-pattern.js';
import type { EventRecord, Severity } from './event-record.js';

/**
 * Who a command comes from: the REPL, a socket connection. Live
 * subscriptions deliver to it and end with it.
 */
export interface Session {
  /** receives the events of this session's subscriptions */
  onEvent?(subscriptionId: string, event: EventRecord): void;
}

export interface SubscriptionFilters {
  severity?: Severity[];
  workflow_id?: string;
  event_type?: string[];
}

interface Subscription {
  id: string;
  patterns: string[];
  matchers: ((event: EventRecord) => boolean)[];
  filters: SubscriptionFilters;
  session: Session;
}

/**
 * Live subscriptions by pattern and filter. Delivery is in publish order per
 * subscriber; a subscriber that throws is skipped for that event and keeps
 * its subscription (retries and dead letters are the event hub issue's).
 */
export class Subscriptions {
  readonly #all = new Map<string, Subscription>();

  add(session: Session, patterns: string[], filters: SubscriptionFilters): string {
    const id = `sub_${randomUUID().slice(0, 8)}`;
    this.#all.set(id, { id, patterns, matchers: patterns.map(compilePattern), filters, session });
    return id;
  }

  /** Removes a subscription; false when there is none with that id. */
  remove(id: string): boolean {
    return this.#all.delete(id);
  }

  /** Ends every subscription of a session (its connection closed). */
  endSession(session: Session): void {
    for (const [id, s] of this.#all) if (s.session === session) this.#all.delete(id);
  }

  list(session?: Session): { subscription_id: string; patterns: string[]; filters: SubscriptionFilters }[] {
    return [...this.#all.values()].filter((s) => !session || s.session === session).map((s) => ({ subscription_id: s.id, patterns: s.patterns, filters: s.filters }));
  }

  deliver(event: EventRecord): void {
    for (const s of this.#all.values()) {
      const { severity, workflow_id: workflowId, event_type: types } = s.filters;
      if (severity && !severity.includes(event.severity)) continue;
      if (workflowId && event.workflow_id !== workflowId) continue;
      if (types && !types.includes(event.event_type)) continue;
      if (!s.matchers.some((m) => m(event))) continue;
      try {
        s.session.onEvent?.(s.id, event);
      } catch {
        // a broken subscriber must not stop delivery to the others
      }
    }
  }
}
