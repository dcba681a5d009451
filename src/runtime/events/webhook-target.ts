import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Clock } from '../../actors/clock.js';
import { formatDuration } from '../durations.js';
import type { EventRecord } from './event-record.js';
import type { TargetSession } from './subscriber-queue.js';

const gzipAsync = promisify(gzip);

/** `target: {type:"webhook", …}` of a subscription. */
export interface WebhookTarget {
  type: 'webhook';
  /** http: or https: */
  url: string;
  headers?: Record<string, string>;
  /** ms; the request is aborted after it */
  timeoutMs: number;
}

/**
 * Delivers by HTTP POST: the event record as JSON (a batch: a JSON array),
 * `content-type: application/json`, `x-troupe-event-id` and
 * `x-troupe-event-type` (a batch: comma-joined, plus `x-troupe-event-count`)
 * so a receiver can deduplicate (delivery is at least once). A 2xx answer is
 * delivered; any other status, a network error or the timeout (on the hub's
 * clock) is a failed delivery, retried by the subscription's policy and then
 * dead-lettered with the status or error as the reason. Redirects are not
 * followed: a 3xx is a failure naming where it points. A batch body is
 * gzip-encoded when the batching configuration asks for compression.
 */
export function webhookTargetSession(target: WebhookTarget, clock: Clock, compress: () => boolean): TargetSession {
  const inFlight = new Set<AbortController>();
  const post = async (subscriptionId: string, events: EventRecord[], payload: unknown): Promise<void> => {
    const headers: Record<string, string> = {
      ...target.headers,
      'content-type': 'application/json',
      'x-troupe-event-id': events.map((e) => e.event_id).join(','),
      'x-troupe-event-type': [...new Set(events.map((e) => e.event_type))].join(','),
      'x-troupe-subscription-id': subscriptionId,
    };
    let body: Uint8Array = Buffer.from(JSON.stringify(payload));
    if (Array.isArray(payload)) {
      headers['x-troupe-event-count'] = String(events.length);
      if (compress()) {
        body = await gzipAsync(body);
        headers['content-encoding'] = 'gzip';
      }
    }
    const controller = new AbortController();
    inFlight.add(controller);
    let timedOut = false;
    const timer = clock.setTimer(target.timeoutMs, () => {
      timedOut = true;
      controller.abort();
    });
    try {
      const response = await fetch(target.url, { method: 'POST', headers, body, signal: controller.signal, redirect: 'manual' });
      // the answer's body is not used: drop it so the connection can be reused
      await response.body?.cancel().catch(() => {});
      if (response.status >= 200 && response.status < 300) return;
      const location = response.headers.get('location');
      throw new Error(`webhook answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${location ? ` (redirect to ${location} not followed)` : ''}`);
    } catch (error) {
      if (timedOut) throw new Error(`webhook timed out after ${formatDuration(target.timeoutMs)}`);
      if (error instanceof Error && error.message.startsWith('webhook answered')) throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`webhook request failed: ${cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))}`);
    } finally {
      timer.cancel();
      inFlight.delete(controller);
    }
  };
  return {
    onEvent: (subscriptionId, event) => post(subscriptionId, [event], event),
    onBatch: (subscriptionId, events) => post(subscriptionId, events, events),
    close() {
      for (const controller of inFlight) controller.abort();
    },
  };
}
