import { createActor, type Snapshot } from 'xstate';
import type { LogDamage, LogRecord } from '../../persistence/append-log.js';
import type { CheckpointStore, LoadedCheckpoint } from '../../persistence/checkpoint-store.js';
import { workflowMachine, type WorkflowInput } from '../../machines/workflow-machine.js';
import { migrate, type CheckpointBody } from './checkpoint-body.js';
import { TroupeError } from '../errors.js';
import type { Inspector } from '../events/actor-trace.js';
import type { OutcomeRecord } from './journal.js';
import type { LogMissing } from './log-claims.js';
import { applyOutcome } from '../scheduling/outcomes.js';
import { newEntry, statusOf, type PhaseRef, type WorkflowActor, type WorkflowEntry } from '../scheduling/workflow-entry.js';
import { classifyStranded, type RecoveredTask } from './process-recovery.js';

/**
 * Turns a verified checkpoint into a running actor, or throws
 * CHECKPOINT_INCOMPATIBLE: an old machine version with no migration, or a
 * snapshot the current statechart cannot hold (XState reports that as
 * `status: 'error'`, not as an exception, so it is checked here).
 */
export function rehydrate(loaded: LoadedCheckpoint, inspect?: Inspector): { actor: WorkflowActor; body: CheckpointBody } {
  const body = migrate(loaded.body as CheckpointBody, loaded.header.machine_id, loaded.header.machine_version);
  let actor: WorkflowActor;
  try {
    // input is only read for a fresh actor; a restored one keeps the snapshot's context
    const context = (body.snapshot as { context?: { spec?: unknown } }).context;
    const input = { id: body.workflow_id, spec: context?.spec as WorkflowInput['spec'], at: 0 };
    const snapshot = body.snapshot as Snapshot<unknown> as never;
    actor = createActor(workflowMachine, inspect ? { snapshot, input, inspect } : { snapshot, input });
    // an actor that errors on start with no error listener rethrows from a timer (XState's
    // reportUnhandledError), which would end the process; the error is read from the snapshot below
    const listening = actor.subscribe({ error: () => {} });
    actor.start();
    listening.unsubscribe();
  } catch (error) {
    throw new TroupeError('CHECKPOINT_INCOMPATIBLE', `Checkpoint ${loaded.info.id} of ${body.workflow_id} cannot be restored: ${String(error)}`, { cause: error });
  }
  const snapshot = actor.getSnapshot();
  if (snapshot.status === 'error') {
    actor.stop();
    throw new TroupeError('CHECKPOINT_INCOMPATIBLE', `Checkpoint ${loaded.info.id} of ${body.workflow_id} does not fit the current workflow machine`, {
      details: String(snapshot.error),
    });
  }
  return { actor, body };
}

/** The outcome records of a workflow's epoch logged after `afterSeq`, in order. */
export function outcomesAfter(records: readonly LogRecord[], workflowId: string, epoch: number, afterSeq: number): (OutcomeRecord & { seq: number })[] {
  return records.filter(
    (r): r is LogRecord & OutcomeRecord =>
      r.kind === 'outcome' && r.workflow_id === workflowId && r.epoch === epoch && r.seq > afterSeq,
  );
}

/** What recovering one workflow did. */
export interface RecoveredWorkflow {
  workflow_id: string;
  status: string;
  checkpoint: string;
  /** newer checkpoints that failed their integrity check and were skipped */
  skipped_checkpoints: { id: string; reason: string }[];
  /** outcomes applied from the log after the checkpoint */
  replayed_outcomes: number;
  /** tasks that were in flight with no outcome and run again with the same idempotency key (rerun or restarted) */
  rerun_tasks: string[];
  /** what became of each task that was in flight: resolved from the log, adopted, recorded, restarted or rerun */
  tasks: RecoveredTask[];
}

/**
 * A workflow as its newest valid checkpoint and the outcomes logged after
 * it make it: what a start recovers, and what `troupe ls` and `troupe
 * status` show while no supervisor runs. `replayed` lists each outcome
 * record after the checkpoint, and whether it changed a task. Throws
 * CHECKPOINT_CORRUPT or CHECKPOINT_NOT_FOUND when no checkpoint restores.
 */
export async function restoreNewest(store: CheckpointStore, records: readonly LogRecord[], workflowId: string, inspect?: Inspector) {
  const { checkpoint, skipped } = await store.loadNewestValid(workflowId);
  if (!checkpoint) {
    const why = skipped.length > 0 ? `every checkpoint failed its check (${skipped[0]!.reason})` : 'it has no checkpoint';
    throw new TroupeError(skipped.length > 0 ? 'CHECKPOINT_CORRUPT' : 'CHECKPOINT_NOT_FOUND', `Workflow ${workflowId} cannot be recovered: ${why}`);
  }
  const { actor, body } = rehydrate(checkpoint, inspect);
  const replayed: { record: OutcomeRecord & { seq: number }; applied: boolean }[] = [];
  for (const record of outcomesAfter(records, workflowId, body.epoch, body.applied_seq)) {
    const phase = actor.getSnapshot().children.phase as PhaseRef | undefined;
    replayed.push({ record, applied: phase !== undefined && applyOutcome(phase, record) });
  }
  return { actor, body, checkpoint, skipped, replayed };
}

/**
 * Rebuilds one workflow from its durable truth: the newest valid checkpoint
 * (falling back past corrupt ones), then the outcomes logged after it, then
 * the tasks that were in flight with no outcome go back to `ready` (same
 * attempt, same idempotency key: at-least-once, never silent).
 */
export async function recoverWorkflow(
  store: CheckpointStore,
  records: readonly LogRecord[],
  workflowId: string,
  now: number,
  /** where task process spools are (the data directory) */
  taskFilesRoot: string,
  inspect?: Inspector,
): Promise<{ entry: WorkflowEntry; report: RecoveredWorkflow }> {
  const { actor, body, checkpoint, skipped, replayed } = await restoreNewest(store, records, workflowId, inspect);
  const newest = Math.max(checkpoint.info.seq, ...skipped.map((s) => s.info.seq));
  const appliedSeq = replayed.at(-1)?.record.seq ?? body.applied_seq;
  const entry = newEntry(workflowId, actor, { epoch: body.epoch, appliedSeq, checkpointSeq: newest });
  const resolved: RecoveredTask[] = replayed.filter((r) => r.applied).map(({ record }) => ({ task_id: record.task_id, attempt: record.attempt, recovery: 'resolved_from_log' }));
  // tasks dispatched after the checkpoint with no outcome logged ran (or began to) before the crash:
  // they run again, and are reported, whether the snapshot shows them in flight or ready
  const dispatched = records
    .filter((r) => r.kind === 'dispatch' && r.workflow_id === workflowId && r.epoch === body.epoch && r.seq > body.applied_seq)
    .filter((d) => !records.some((o) => o.kind === 'outcome' && o.workflow_id === workflowId && o.epoch === body.epoch && o.task_id === d.task_id && o.attempt === d.attempt))
    .map((d) => String(d.task_id));
  const stranded = [...new Set([...releaseInFlight(entry, now), ...dispatched])];
  const classified = classifyStranded(entry, stranded, taskFilesRoot);
  // what replay changed has not been announced yet
  entry.announced.status = statusOf(actor.getSnapshot());
  return {
    entry,
    report: {
      workflow_id: workflowId,
      status: statusOf(actor.getSnapshot()),
      checkpoint: checkpoint.info.id,
      skipped_checkpoints: skipped.map((s) => ({ id: s.info.id, reason: s.reason })),
      replayed_outcomes: resolved.length,
      rerun_tasks: classified.filter((t) => t.recovery === 'rerun' || t.recovery === 'restarted').map((t) => t.task_id),
      tasks: [...resolved, ...classified],
    },
  };
}

/** Sends every task the live phase shows as assigned or running, with nothing running it, back to `ready`. */
export function releaseInFlight(entry: WorkflowEntry, now: number): string[] {
  const phase = entry.actor.getSnapshot().children.phase as PhaseRef | undefined;
  if (!phase) return [];
  const stranded = Object.values(phase.getSnapshot().context.tasks).filter((t) => t.status === 'assigned' || t.status === 'running');
  for (const task of stranded) phase.send({ type: 'task.released', taskId: task.id, at: now });
  return stranded.map((t) => t.id);
}

/** What a start found in its data directory; `health` shows it. */
export interface RecoveryReport {
  data_dir: string;
  /** pid of a dead supervisor whose lock was taken over */
  lock_taken_over_from: number | null;
  log_damage: LogDamage[];
  /** checkpoints count on records the log does not hold (deleted or cut short); null when it holds them all */
  log_missing: LogMissing | null;
  recovered: RecoveredWorkflow[];
  /** sealed log segments removed by retention (older than event_retention, needed by no recovery) */
  compacted?: { segments: string[]; records: number };
  /** active workflows that could not be recovered; their files are left as they are */
  failed: { workflow_id: string; code: string; message: string }[];
  /** workflows found with checkpoints but no index record, whose record was rebuilt (see index-repair.ts) */
  index_repaired?: { workflow_id: string; shelf: string; status: string; checkpoint: string }[];
  /** what start made of agent_pools/pool.ckpt and metrics/kpis.ckpt (see state-files.ts) */
  state_files?: StateFilesReport;
  duration_ms: number;
}

/** What start found of a state file: `corrupt` ones are survived (fresh state) and make `health` degraded. */
export interface StateFileStatus {
  file: string;
  status: 'restored' | 'missing' | 'corrupt';
  reason?: string;
}

/** What start made of the pool's and the KPIs' state files. */
export interface StateFilesReport {
  pool: StateFileStatus & { agents: number };
  kpis: StateFileStatus & { replayed_events: number };
  /** subscriptions.ckpt: the durable subscriptions made again, and the logged events handed to them after their position */
  subscriptions?: StateFileStatus & { subscriptions: number; replayed_events: number; /** stored entries that could not be made again, and why */ skipped?: string[] };
}

