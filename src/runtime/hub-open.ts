import type { LogRecord } from '../persistence/append-log.js';
import { compact, scheduleCompaction } from './durability/retention.js';
import type { EventRecord } from './events/event-record.js';
import type { HubState } from './hub-state.js';
import { Journal } from './durability/journal.js';
import { logDamageNotices } from './durability/log-damage-notices.js';
import { recoverWorkflow, type RecoveryReport } from './durability/recovery.js';
import type { RecoveredTask } from './durability/process-recovery.js';
import { repairIndex } from './durability/index-repair.js';
import { isTroupeError } from './errors.js';
import { HUB_VERSION } from './version.js';
import { StateFiles } from './durability/state-files.js';
import { restoreSubscriptions } from './durability/subscription-file.js';
import { loadSettings } from './events/event-hub-settings.js';
import { checkpointCreatedData, workflowAllocations } from './durability/checkpoint-sync.js';

/**
 * Opens the hub's data directory: takes the lock, reads the log back
 * (cutting out damaged frames, truncating a torn tail), restores the event
 * history, and, with `autoRecovery`, rebuilds every active workflow from its
 * newest valid checkpoint plus the outcomes logged after it, then resumes
 * dispatching.
 */
export async function openDataDir(
  state: HubState,
  dataDir: string,
  options: { keepCheckpoints?: number; autoRecovery?: boolean; stateCompression?: boolean; compactionIntervalMs: number; segmentBytes?: number },
): Promise<void> {
  const started = performance.now();
  const opened = await Journal.open(dataDir, {
    clock: state.clock,
    autoRecovery: options.autoRecovery,
    ...(options.keepCheckpoints === undefined ? {} : { keepCheckpoints: options.keepCheckpoints }),
    ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }),
    ...(options.stateCompression === undefined ? {} : { stateCompression: options.stateCompression }),
  });
  const { journal, records, damage } = opened;
  state.journal = journal;
  state.scheduler.useJournal(journal);
  const history = records.filter((r) => r.kind === 'event').map((r) => ({ ...(r.event as Omit<EventRecord, 'seq'>), seq: r.seq }));
  state.bus.restore(history);
  // before anything new is published: the agents' records come back, and the KPIs catch up with the log
  const stateFiles = new StateFiles(state, journal);
  state.stateFiles = stateFiles;
  const stateReport = await stateFiles.load(history);
  journal.onCheckpointWritten = () => stateFiles.poolChanged();
  // configure-persistence's settings of an earlier run: what the log keeps applies from this run's first event
  await loadSettings(state, dataDir);
  // every checkpoint, whatever its trigger, is announced with the protocol's checkpoint_sync
  journal.onCheckpointCreated = (entry, created) =>
    state.bus.publish({
      type: 'CHECKPOINT_CREATED',
      workflowId: entry.id,
      severity: created.integrity === 'failed' || created.stateValidation === 'failed' ? 'error' : 'info',
      data: checkpointCreatedData(created, workflowAllocations(state.resources, entry.id)),
    });
  // events from now on go to the log too; they are history, not the durable truth, so batched unless configured otherwise
  state.bus.persistWith((event) => journal.log.append({ kind: 'event', event }, state.eventSettings.persistence.durability).seq);
  state.subscriptions.deadLetterStore.restore(records);
  state.subscriptions.deadLetterStore.persistWith((body, durability) => journal.log.append(body, durability), () => state.clock.now());
  // durable subscriptions come back before anything new is published, and catch up from the log first
  stateReport.subscriptions = await restoreSubscriptions(state, journal, history);

  // replay looks only at a workflow's own task records: index them once instead of scanning the log per workflow
  const outcomesByWorkflow = new Map<string, LogRecord[]>();
  for (const r of records) {
    if (r.kind !== 'outcome' && r.kind !== 'dispatch') continue;
    const list = outcomesByWorkflow.get(String(r.workflow_id)) ?? [];
    list.push(r);
    outcomesByWorkflow.set(String(r.workflow_id), list);
  }
  const report: RecoveryReport = { data_dir: dataDir, lock_taken_over_from: opened.tookOverLockFrom, log_damage: damage, log_missing: opened.missing, recovered: [], failed: [], state_files: stateReport, duration_ms: 0 };
  // before the index is listed: a workflow whose record was lost is loaded like the others
  const index = await repairIndex(journal, (draft) => state.bus.publish(draft));
  report.index_repaired = index.repaired;
  report.failed.push(...index.unrepaired);
  for (const { severity, data } of logDamageNotices(damage, opened.missing)) state.bus.publish({ type: 'ERROR_ENCOUNTERED', severity, data });
  // ended workflows are loaded too (nothing to replay or run), so get-status, list-workflows and
  // `troupe run` on a finished id answer from the data directory after a restart
  const ended = [...(await journal.index.list('completed')), ...(await journal.index.list('failed'))].sort();
  // their checkpoint reads overlap like the active ones'; results are taken in id order
  const endedLoads = inBatches(ended, RECOVERY_CONCURRENCY, (id) =>
    recoverWorkflow(journal.checkpoints, [], id, state.clock.now(), state.taskFiles.root, state.trace?.forWorkflow(id)).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
  );
  for (const [i, id] of ended.entries()) {
    const loaded = await endedLoads[i]!;
    if (loaded.ok) state.workflows.set(id, loaded.value.entry);
    else {
      const error = loaded.error;
      report.failed.push({ workflow_id: id, code: isTroupeError(error) ? error.code : 'INTERNAL_ERROR', message: error instanceof Error ? error.message : String(error) });
    }
  }
  if (options.autoRecovery !== false) {
    const active = await journal.index.list('active');
    // file reads overlap (bounded), the rest runs in order: events and reports stay in id order
    const loads = inBatches(active, RECOVERY_CONCURRENCY, (id) =>
      recoverWorkflow(journal.checkpoints, outcomesByWorkflow.get(id) ?? [], id, state.clock.now(), state.taskFiles.root, state.trace?.forWorkflow(id)).then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
    );
    for (const [i, id] of active.entries()) {
      try {
        const loaded = await loads[i]!;
        if (!loaded.ok) throw loaded.error;
        const { entry, report: done } = loaded.value;
        state.workflows.set(id, entry);
        report.recovered.push(done);
        state.bus.publish({
          type: 'CHECKPOINT_RESTORED',
          workflowId: id,
          severity: done.skipped_checkpoints.length > 0 ? 'warning' : 'info',
          data: {
            // a restart's recovery, not a restore or rollback: the recovery-success KPI follows these
            trigger: 'recovery',
            checkpoint: done.checkpoint,
            skipped_checkpoints: done.skipped_checkpoints,
            replayed_outcomes: done.replayed_outcomes,
            rerun_tasks: done.rerun_tasks,
            tasks: done.tasks,
          },
        });
        for (const task of done.tasks) {
          const reason = STRANDED_REASON[task.recovery];
          if (reason) state.bus.publish({ type: 'TASK_REASSIGNED', workflowId: id, severity: 'warning', data: { task_id: task.task_id, old_agent: null, new_agent: null, reason } });
        }
      } catch (error) {
        const code = isTroupeError(error) ? error.code : 'INTERNAL_ERROR';
        const message = error instanceof Error ? error.message : String(error);
        report.failed.push({ workflow_id: id, code, message });
        state.bus.publish({ type: 'ERROR_ENCOUNTERED', workflowId: id, severity: 'error', data: { component: 'recovery', code, message } });
      }
    }
  }
  report.compacted = await compact(state, state.eventSettings.persistence.retentionMs);
  report.duration_ms = Math.round(performance.now() - started);
  state.recovery = report;
  state.bus.publish({
    type: 'SYSTEM_STARTUP',
    data: {
      component_name: 'hub',
      version: HUB_VERSION,
      capabilities: ['workflows', 'checkpoints', 'recovery', 'events'],
      recovered: report.recovered.length,
      failed: report.failed.length,
      duration_ms: report.duration_ms,
      // the last event of the history before this start: the hub was down since (the KPIs leave that time out)
      down_since: history.at(-1)?.timestamp ?? null,
      // the agents brought back from agent_pools/pool.ckpt, the pool this process starts with
      restored_agents: state.pool.views().map((a) => a.agent_id),
    },
  });
  for (const entry of state.workflows.values()) state.scheduler.pump(entry);
  if (!state.maintenance.closed) scheduleCompaction(state, options.compactionIntervalMs);
}

/** Why a task in flight at the crash goes to an agent again (one that resolved from the log does not). */
const STRANDED_REASON: Partial<Record<RecoveredTask['recovery'], string>> = {
  rerun: 'in flight at the crash with no outcome logged: runs again with the same idempotency key',
  restarted: 'its process from before the crash is ended (on_recovery: restart), then the task runs again with the same idempotency key',
  adopted: 'its process from before the crash still runs: the new agent adopts it (not started again)',
  recorded: 'its process ended while no supervisor ran: the new agent records its exit status as the outcome',
};

/** Workflows whose checkpoint files are read at the same time during recovery. */
const RECOVERY_CONCURRENCY = 32;

/** Starts `fn` for every item with at most `limit` running at once; returns the promises in item order. */
function inBatches<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R>[] {
  const results: Promise<R>[] = [];
  const slots: Promise<unknown>[] = [];
  for (const [i, item] of items.entries()) {
    const previous = slots[i % limit] ?? Promise.resolve();
    const next = previous.then(() => fn(item));
    results.push(next);
    slots[i % limit] = next.catch(() => {});
  }
  return results;
}
