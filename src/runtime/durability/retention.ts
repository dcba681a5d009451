import { formatDuration } from '../durations.js';
import type { HubState } from '../hub-state.js';
import { ENDED_STATUSES, statusOf } from '../scheduling/workflow-entry.js';

/** What one compaction dropped. */
export interface Compaction {
  segments: string[];
  records: number;
}

/**
 * Retention and compaction of the log: a sealed segment goes when all it
 * holds is older than `event_retention`, no workflow still needs it to
 * recover (every record in it is at or before the checkpoint each
 * unfinished workflow would recover from), it holds no dead letter still
 * listed, and no event a durable subscription has yet to deliver. Runs at start and then every `compaction_interval`.
 */
export async function compact(state: HubState, retentionMs: number): Promise<Compaction> {
  const journal = state.journal!;
  // checkpoint writes under way first: a checkpoint counts once it is on disk
  await Promise.allSettled([...state.workflows.values()].map((e) => e.checkpointChain));
  // a listed dead letter lives in the log: its segment stays (and every later one, which holds its removal)
  let needed = state.subscriptions.deadLetterStore.oldestSeq() - 1;
  // a durable subscription replays the log after its position: that stays (it moves on while the hub runs)
  for (const s of state.subscriptions.stored()) needed = Math.min(needed, s.cursor);
  for (const entry of state.workflows.values()) {
    if (!ENDED_STATUSES.has(statusOf(entry.actor.getSnapshot()))) needed = Math.min(needed, entry.checkpointedAppliedSeq);
  }
  const cutoff = state.clock.now() - retentionMs;
  const old = journal.log.segments().filter((s) => s.sealed && s.lastSeq <= needed && s.newestAt !== null && s.newestAt < cutoff);
  // the KPIs' all-time totals are saved first: once these events are gone, only that file holds what they counted
  if (old.length > 0) await state.stateFiles?.saveAll();
  await journal.log.dropSegments(old.map((s) => s.name));
  return { segments: old.map((s) => s.name), records: old.reduce((n, s) => n + s.records, 0) };
}

/**
 * Compacts every `intervalMs` on the hub's clock (keeping `event_retention`, or configure-persistence's retention_period) while the hub runs (the
 * log would otherwise only shrink at a restart); what a run drops is
 * published as SYSTEM_MAINTENANCE. One run at a time; `close` cancels the
 * timer and waits for a run under way.
 */
export function scheduleCompaction(state: HubState, intervalMs: number): void {
  const arm = () => {
    state.maintenance.timer = state.clock.setTimer(intervalMs, () => {
      state.maintenance.timer = null;
      // read at each run: configure-persistence may change it while the hub runs
      const retentionMs = state.eventSettings.persistence.retentionMs;
      if (state.maintenance.running) return arm();
      const started = state.clock.now();
      state.maintenance.running = compact(state, retentionMs)
        .then((done) => {
          state.maintenance.last = { at: new Date(state.clock.now()).toISOString(), ...done };
          if (done.segments.length === 0) return;
          state.bus.publish({
            type: 'SYSTEM_MAINTENANCE',
            data: {
              operation_type: 'log compaction',
              estimated_duration: formatDuration(state.clock.now() - started),
              impact: { segments_dropped: done.segments, records_dropped: done.records, retention: formatDuration(retentionMs) },
            },
          });
        })
        .catch((error: unknown) => {
          state.bus.publish({ type: 'ERROR_ENCOUNTERED', severity: 'warning', data: { component: 'log compaction', message: error instanceof Error ? error.message : String(error) } });
        })
        .finally(() => {
          state.maintenance.running = null;
          if (!state.maintenance.closed) arm();
        });
    });
  };
  arm();
}
