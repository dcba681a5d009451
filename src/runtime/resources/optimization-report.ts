import { formatDuration } from '../durations.js';
import { flatten, type Amounts, type ResourceRequest } from './resource-ledger.js';

/** A queued request the manager granted, and how long it had waited. */
export interface QueuedGrant {
  request: Pick<ResourceRequest, 'allocation_id' | 'request_id' | 'workflow_id'>;
  waitedMs: number;
}

const percent = (used: number, capacity: number) => (capacity <= 0 ? 0 : Math.round((used / capacity) * 1000) / 10);

/**
 * RESOURCE_OPTIMIZED's data for a rebalancing: resources came free (a
 * release, an auto-release, files a task gave back) and queued requests were
 * granted from them at once. Measured: how many, how long they had waited,
 * the queue before and after, and each resource's use before the grants
 * (what the release left idle) and after.
 */
export function rebalancingReport(grants: readonly QueuedGrant[], queue: { before: number; after: number }, capacity: Amounts, use: { before: Amounts; after: Amounts }) {
  const caps = new Map(flatten(capacity));
  const before = new Map(flatten(use.before));
  const utilization: Record<string, { before: number; after: number }> = {};
  for (const [name, after] of flatten(use.after)) {
    const was = before.get(name) ?? 0;
    if (was !== after) utilization[name] = { before: percent(was, caps.get(name) ?? 0), after: percent(after, caps.get(name) ?? 0) };
  }
  const waits = grants.map((g) => g.waitedMs);
  return {
    optimization_type: 'queue_rebalancing',
    improvement_metrics: {
      requests_granted: grants.length,
      granted: grants.map((g) => ({ allocation_id: g.request.allocation_id, request_id: g.request.request_id, workflow_id: g.request.workflow_id, waited: formatDuration(g.waitedMs) })),
      queue_length: queue,
      longest_wait: formatDuration(Math.max(...waits)),
      average_wait: formatDuration(waits.reduce((a, b) => a + b, 0) / waits.length),
      utilization_percent: utilization,
    },
  };
}
