import type { EventRecord } from '../events/event-record.js';
import type { WorkflowEntry } from '../scheduling/workflow-entry.js';

/**
 * Each workflow's state version: the log sequence number of its newest
 * change (events and task outcomes share the log's numbering, so it only
 * grows, across restarts too). Fed every event; a workflow not heard of
 * since the start begins at what its checkpoint and applied outcomes cover.
 */
export class StateVersions {
  readonly #newest = new Map<string, number>();

  apply(event: EventRecord): void {
    if (event.workflow_id === 'global') return;
    if (event.seq > (this.#newest.get(event.workflow_id) ?? 0)) this.#newest.set(event.workflow_id, event.seq);
  }

  of(entry: WorkflowEntry, recent: EventRecord[]): number {
    const version = Math.max(this.#newest.get(entry.id) ?? 0, recent.at(-1)?.seq ?? 0, entry.appliedSeq, entry.checkpointedAppliedSeq);
    // kept: an answer given once is never undercut by a later one
    this.#newest.set(entry.id, version);
    return version;
  }
}
