import type { EventRecord } from './event-record.js';
import type { HubState } from './hub-state.js';
import { Journal } from './journal.js';
import { recoverWorkflow, type RecoveryReport } from './recovery.js';
import { isTroupeError } from './errors.js';

/**
 * Opens the hub's data directory: takes the lock, reads the log back
 * (truncating a torn tail), restores the event history, and, with
 * `autoRecovery`, rebuilds every active workflow from its newest valid
 * checkpoint plus the outcomes logged after it, then resumes dispatching.
 */
export async function openDataDir(state: HubState, dataDir: string, options: { keepCheckpoints?: number; autoRecovery?: boolean }): Promise<void> {
  const started = performance.now();
  const opened = await Journal.open(dataDir, { clock: state.clock, ...(options.keepCheckpoints === undefined ? {} : { keepCheckpoints: options.keepCheckpoints }) });
  const { journal, records, damage } = opened;
  state.journal = journal;
  state.scheduler.useJournal(journal);
  state.bus.restore(records.filter((r) => r.kind === 'event').map((r) => ({ ...(r.event as Omit<EventRecord, 'seq'>), seq: r.seq })));
  // events from now on go to the log too; they are history, not the durable truth, so batched
  state.bus.persistWith((event) => journal.log.append({ kind: 'event', event }, 'batch').seq);

  const report: RecoveryReport = { data_dir: dataDir, lock_taken_over_from: opened.tookOverLockFrom, log_damage: damage, recovered: [], failed: [], duration_ms: 0 };
  for (const d of damage) {
    state.bus.publish({
      type: 'ERROR_ENCOUNTERED',
      severity: 'warning',
      data: { component: 'log', segment: d.segment, offset: d.offset, dropped_bytes: d.droppedBytes, reason: d.reason, action: 'truncated to the last good frame' },
    });
  }
  // ended workflows are loaded too (nothing to replay or run), so get-status, list-workflows and
  // `troupe run` on a finished id answer from the data directory after a restart
  for (const shelf of ['completed', 'failed'] as const) {
    for (const id of await journal.index.list(shelf)) {
      try {
        const { entry } = await recoverWorkflow(journal.checkpoints, [], id, state.clock.now());
        state.workflows.set(id, entry);
      } catch (error) {
        report.failed.push({ workflow_id: id, code: isTroupeError(error) ? error.code : 'INTERNAL_ERROR', message: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  if (options.autoRecovery !== false) {
    for (const id of await journal.index.list('active')) {
      try {
        const { entry, report: done } = await recoverWorkflow(journal.checkpoints, records, id, state.clock.now());
        state.workflows.set(id, entry);
        report.recovered.push(done);
        state.bus.publish({
          type: 'CHECKPOINT_RESTORED',
          workflowId: id,
          severity: done.skipped_checkpoints.length > 0 ? 'warning' : 'info',
          data: {
            checkpoint: done.checkpoint,
            skipped_checkpoints: done.skipped_checkpoints,
            replayed_outcomes: done.replayed_outcomes,
            rerun_tasks: done.rerun_tasks,
          },
        });
        for (const task of done.rerun_tasks) {
          state.bus.publish({
            type: 'TASK_REASSIGNED',
            workflowId: id,
            severity: 'warning',
            data: { task_id: task, reason: 'in flight at the crash with no outcome logged: runs again with the same idempotency key' },
          });
        }
      } catch (error) {
        const code = isTroupeError(error) ? error.code : 'INTERNAL_ERROR';
        const message = error instanceof Error ? error.message : String(error);
        report.failed.push({ workflow_id: id, code, message });
        state.bus.publish({ type: 'ERROR_ENCOUNTERED', workflowId: id, severity: 'error', data: { component: 'recovery', code, message } });
      }
    }
  }
  report.duration_ms = Math.round(performance.now() - started);
  state.recovery = report;
  state.bus.publish({ type: 'SYSTEM_STARTUP', data: { recovered: report.recovered.length, failed: report.failed.length, duration_ms: report.duration_ms } });
  for (const entry of state.workflows.values()) state.scheduler.pump(entry);
}
