import { randomUUID } from 'node:crypto';
import { topicOf, type EventRecord, type Severity } from './event-record.js';
import { PatternTrie } from './pattern-trie.js';

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
  /** creation order: delivery follows it */
  order: number;
  patterns: string[];
  filters: SubscriptionFilters;
  session: Session;
}

const segments = (pattern: string) => pattern.toLowerCase().split('.');

/**
 * Live subscriptions by pattern and filter. Delivery is in publish order per
 * subscriber; a subscriber that throws is skipped for that event and keeps
 * its subscription (retries and dead letters are the event hub issue's).
 */
export class Subscriptions {
  readonly #all = new Map<string, Subscription>();
  readonly #index = new PatternTrie<Subscription>();
  #created = 0;

  add(session: Session, patterns: string[], filters: SubscriptionFilters): string {
    const id = `sub_${randomUUID().slice(0, 8)}`;
    const subscription = { id, order: this.#created++, patterns, filters, session };
    this.#all.set(id, subscription);
    for (const pattern of patterns) this.#index.add(segments(pattern), subscription);
    return id;
  }

  /** Removes a subscription; false when there is none with that id. */
  remove(id: string): boolean {
    const subscription = this.#all.get(id);
    if (!subscription) return false;
    for (const pattern of subscription.patterns) this.#index.remove(segments(pattern), subscription);
    return this.#all.delete(id);
  }

  /** Ends every subscription of a session (its connection closed). */
  endSession(session: Session): void {
    for (const [id, s] of this.#all) if (s.session === session) this.remove(id);
  }

  list(session?: Session): { subscription_id: string; patterns: string[]; filters: SubscriptionFilters }[] {
    return [...this.#all.values()].filter((s) => !session || s.session === session).map((s) => ({ subscription_id: s.id, patterns: s.patterns, filters: s.filters }));
  }

  deliver(event: EventRecord): void {
    if (this.#all.size === 0) return;
    // one walk of the index per key form: the routing key and the topic
    const matched = this.#index.match(segments(topicOf(event)), this.#index.match(segments(event.routing_key)));
    const ordered = matched.size > 1 ? [...matched].sort((a, b) => a.order - b.order) : matched;
    for (const s of ordered) {
      const { severity, workflow_id: workflowId, event_type: types } = s.filters;
      if (severity && !severity.includes(event.severity)) continue;
      if (workflowId && event.workflow_id !== workflowId) continue;
      if (types && !types.includes(event.event_type)) continue;
      try {
        s.session.onEvent?.(s.id, event);
      } catch {
        // a broken subscriber must not stop delivery to the others
      }
    }
  }
}
