import { randomUUID } from 'node:crypto';
import { TroupeError } from '../errors.js';
import type { DeadLetter, DeadLetterStore } from './dead-letters.js';
import type { EventDraft, EventRecord } from './event-record.js';
import type { SubscriberQueue } from './subscriber-queue.js';

/** What `redrive` answers. */
export interface Redriven {
  redriven: string[];
  skipped: { dead_letter_id: string; reason: string }[];
}

/**
 * Keeps an event a subscriber could not take, and announces it
 * (EVENT_DEAD_LETTERED) unless the event is itself such a notice.
 */
export function deadLetter(
  store: DeadLetterStore,
  now: number,
  publish: (draft: EventDraft) => void,
  { subscriptionId, event, reason, attempts }: { subscriptionId: string; event: EventRecord; reason: string; attempts: number },
): void {
  const letter: DeadLetter = {
    dead_letter_id: `dl_${randomUUID().slice(0, 8)}`,
    subscription_id: subscriptionId,
    event,
    reason,
    attempts,
    dead_lettered_at: new Date(now).toISOString(),
  };
  store.add(letter);
  // a notice of another subscriber's dead letter is kept, not announced: with two full queues
  // each announcement would dead-letter at the other and announce again, without end
  if (event.event_type === 'EVENT_DEAD_LETTERED') return;
  publish({
    type: 'EVENT_DEAD_LETTERED',
    workflowId: event.workflow_id,
    phase: event.phase,
    data: { original_event_id: event.event_id, subscription_id: subscriptionId, reason, attempts, dead_letter_id: letter.dead_letter_id, event_type: event.event_type },
    causationId: event.event_id,
    correlationId: event.correlation_id,
  });
}

/**
 * Delivers dead letters again: to the live subscription `to` (id or name),
 * or to each letter's own subscription while it lives (a session's ends with
 * it; a durable one comes back with the same id after a restart). Resolves,
 * with what was redriven and what was not, once their removal is durable: a
 * crash before that lists them again (delivered at least once, never lost).
 */
export async function redriveLetters(
  store: DeadLetterStore,
  queueOf: (idOrName: string) => SubscriberQueue | undefined,
  liveIds: () => string[],
  ids?: string[],
  to?: string,
): Promise<Redriven> {
  const target = to === undefined ? undefined : queueOf(to);
  if (to !== undefined && !target) {
    throw new TroupeError('SUBSCRIPTION_NOT_FOUND', `No live subscription ${to} to redrive to`, {
      details: `Live subscriptions: ${liveIds().join(', ') || 'none'}; subscribe first with 'subscribe-event'`,
    });
  }
  const chosen = store.find(ids);
  const redriven: { letter: DeadLetter; queue: SubscriberQueue }[] = [];
  const skipped: Redriven['skipped'] = [];
  for (const letter of chosen) {
    const queue = target ?? queueOf(letter.subscription_id);
    if (queue) redriven.push({ letter, queue });
    else skipped.push({ dead_letter_id: letter.dead_letter_id, reason: `subscription ${letter.subscription_id} has ended: redrive to a live one with to_subscription_id` });
  }
  const removed = store.remove(redriven.map((r) => r.letter), 'redriven');
  for (const { letter, queue } of redriven) queue.push(letter.event, false);
  for (const id of ids ?? []) {
    if (!chosen.some((d) => d.dead_letter_id === id)) skipped.push({ dead_letter_id: id, reason: 'no such dead letter' });
  }
  await removed;
  return { redriven: redriven.map((r) => r.letter.dead_letter_id), skipped };
}
