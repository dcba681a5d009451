import type { LoadedCheckpoint } from '../../persistence/checkpoint-store.js';
import { TroupeError } from '../errors.js';
import type { HubState } from '../hub-state.js';
import type { OutcomeRecord } from './journal.js';
import { entryOf, journalOf, type Handler } from '../operation-kit.js';
import { applyOutcome } from '../scheduling/outcomes.js';
import { phaseRecords } from '../scheduling/status.js';
import { findCheckpoint, loadCheckpoint } from './checkpoint-lookup.js';
import { verifyDependencies } from './dependency-check.js';
import { outcomesAfter, rehydrate, releaseInFlight } from './recovery.js';
import type { CheckpointBody } from './checkpoint-body.js';
import { compareRecordedFiles, type RecordedFile, type RecordedFiles } from './recorded-files.js';
import { newEntry, statusOf, type PhaseRef, type WorkflowEntry, type WorkflowSnapshot } from '../scheduling/workflow-entry.js';

const STOPPED = { name: 'RestoreError', code: 'WORKFLOW_RESTORED', message: 'The workflow was restored to a checkpoint', retryable: false };

/** The workflow's checkpoints with their headers, oldest first; corrupt ones are listed with their error. */
async function describeCheckpoints(hub: HubState, entry: WorkflowEntry, operation: string) {
  const journal = journalOf(hub, operation);
  // checkpoints already taken but still being written belong in the list
  await entry.checkpointChain;
  const infos = await journal.checkpoints.list(entry.id);
  return Promise.all(
    infos.map(async (info) => {
      try {
        const { header, body } = await journal.checkpoints.read(info);
        return { info, header, files: (body as CheckpointBody).files ?? null, error: null };
      } catch (error) {
        return { info, header: null, files: null, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}

/** The spec's recovery strategies: `rollback` is what the `rollback` operation does, and is recorded as one. */
export type RestoreStrategy = 'full_restore' | 'partial_restore' | 'rollback';

/** Ids of the tasks a snapshot shows completed. */
const completedIn = (snapshot: WorkflowSnapshot): Set<string> =>
  new Set(phaseRecords(snapshot).flatMap((p) => p.tasks.filter((t) => t.status === 'completed').map((t) => t.id)));

/**
 * Replaces a workflow's actor with the state of a checkpoint (read and
 * sha256-checked by the caller) and bumps its epoch, so outcomes of the
 * abandoned timeline are never applied and the work after that point runs
 * again (with new idempotency keys). `partial_restore` keeps the successful
 * outcomes logged after the checkpoint; `full_restore` and `rollback` keep
 * none. `source` is the operation, named in CHECKPOINT_RESTORED. Also says
 * which agents lost a running task to it and which completed tasks run again.
 */
export async function restoreTo(hub: HubState, entry: WorkflowEntry, loaded: LoadedCheckpoint, strategy: RestoreStrategy, source: string) {
  const trigger = strategy === 'rollback' ? 'rollback' : 'restore';
  const journal = journalOf(hub, source);
  const info = loaded.info;
  const { actor, body } = rehydrate(loaded, hub.trace?.forWorkflow(entry.id));
  const doneBefore = completedIn(entry.actor.getSnapshot());
  const stoppedAgents = new Set([...entry.inFlight.values()].map((flight) => flight.agentId));
  for (const flight of entry.inFlight.values()) flight.run.abort(STOPPED);
  hub.scheduler.detach(entry);
  entry.actor.stop();
  let replayed = 0;
  if (strategy === 'partial_restore') {
    const records = await journal.log.readAll();
    for (const record of outcomesAfter(records, entry.id, body.epoch, body.applied_seq).filter((r: OutcomeRecord) => r.ok)) {
      const phase = actor.getSnapshot().children.phase as PhaseRef | undefined;
      if (phase && applyOutcome(phase, record)) replayed++;
    }
  }
  const files = await filesSince(body.files ?? null);
  const fresh = newEntry(entry.id, actor, { epoch: entry.epoch + 1, appliedSeq: journal.log.nextSeq - 1, checkpointSeq: entry.checkpointSeq });
  Object.assign(entry, { ...fresh, checkpointChain: entry.checkpointChain, watchers: entry.watchers });
  const rerun = releaseInFlight(entry, hub.clock.now());
  const doneAfter = completedIn(entry.actor.getSnapshot());
  const undone = [...doneBefore].filter((id) => !doneAfter.has(id));
  const written = await journal.checkpoint(entry, trigger);
  hub.bus.publish({
    type: 'CHECKPOINT_RESTORED',
    workflowId: entry.id,
    data: { checkpoint: info.id, epoch: entry.epoch, strategy, source, replayed_outcomes: replayed, rerun_tasks: rerun, completed_tasks_to_run_again: undone },
  });
  hub.scheduler.pump(entry);
  return {
    result: {
      workflow_id: entry.id,
      restored_from: info.id,
      strategy,
      epoch: entry.epoch,
      status: statusOf(entry.actor.getSnapshot()),
      replayed_outcomes: replayed,
      // work done after the checkpoint that this timeline does again (its files are not undone)
      completed_tasks_to_run_again: undone,
      new_checkpoint: written.id,
      // the files the checkpoint recorded, compared with the disk now (restoring state does not restore files)
      ...(files ? { files } : {}),
    },
    stoppedAgents: stoppedAgents.size,
    resourcesUsed: `checkpoint ${info.id} read, checkpoint ${written.id} written (${written.size} bytes)`,
  };
}

/**
 * How the files a checkpoint recorded compare with the files now (null when
 * it recorded none): counts, and the paths that changed or went missing.
 * `cache` reads each file once across several checkpoints.
 */
async function filesSince(recorded: RecordedFiles | null, cache?: Map<string, Promise<RecordedFile>>) {
  if (!recorded) return null;
  const { changed, missing, unchanged, unchecked } = await compareRecordedFiles(recorded.files, cache);
  return {
    recorded: recorded.files.length,
    unchanged: unchanged.length,
    changed,
    missing,
    ...(unchecked.length > 0 ? { unchecked } : {}),
    ...(recorded.omitted > 0 ? { omitted: recorded.omitted } : {}),
  };
}

/** `verify_dependencies`' check, on a scratch actor restored from the checkpoint: nothing live changes. */
export async function checkDependencies(hub: HubState, loaded: LoadedCheckpoint) {
  const { actor } = rehydrate(loaded);
  try {
    return await verifyDependencies(actor.getSnapshot(), loaded, hub.handlers);
  } finally {
    actor.stop();
  }
}

export const recoveryHandlers: Record<string, Handler> = {
  async checkpoint(hub, id, params: { name?: string; include_files?: boolean; validate_state: boolean }) {
    const entry = entryOf(hub, id);
    const journal = journalOf(hub, 'checkpoint');
    const created = await journal.checkpoint(entry, 'manual', {
      name: params.name ?? null,
      ...(params.include_files === undefined ? {} : { includeFiles: params.include_files }),
      verify: params.validate_state ? { restore: (loaded) => rehydrate(loaded).actor.stop() } : {},
    });
    if (created.integrity === 'failed' || created.stateValidation === 'failed') {
      throw new TroupeError('CHECKPOINT_CORRUPT', `Checkpoint ${created.id} of ${entry.id} was written but ${created.integrity === 'failed' ? 'does not read back intact' : 'does not restore'}`, {
        details: created.verifyError ?? 'no detail',
        suggestions: [`See '${entry.id} list-checkpoints' and 'health' (storage); the previous checkpoints are kept`],
      });
    }
    const warnings: string[] = [];
    const files = created.files;
    if (files && files.files.length === 0) warnings.push('include_files: the workflow names no files (its tasks have no exclusive_files), so none were recorded');
    if (files && files.omitted > 0) warnings.push(`include_files: ${files.omitted} file(s) beyond the first ${files.limits.count} were not recorded`);
    const unhashed = files?.files.filter((f) => f.unhashed) ?? [];
    if (unhashed.length > 0) warnings.push(`include_files: ${unhashed.length} file(s) recorded by size and mtime only, without a checksum (${unhashed[0]!.unhashed}${unhashed.length > 1 ? ', …' : ''})`);
    const hashed = files?.files.filter((f) => f.sha256 !== null) ?? [];
    return {
      result: {
        workflow_id: entry.id,
        checkpoint_id: created.id,
        name: params.name ?? null,
        size_bytes: created.size,
        compression: created.header.compression ?? 'none',
        workflow_state_hash: created.header.body_sha256,
        integrity_check: created.integrity,
        validated: created.stateValidation === 'passed',
        ...(files ? { files: files.files, ...(files.omitted > 0 ? { files_omitted: files.omitted } : {}) } : {}),
      },
      next_steps: [`Roll back to it later with '${entry.id} rollback {"checkpoint_id":"${created.id}"}'`],
      metrics: {
        resources_used: `1 checkpoint write (${created.size} bytes)${files ? `, ${hashed.length} file(s) hashed (${hashed.reduce((n, f) => n + (f.size ?? 0), 0)} bytes)` : ''}`,
      },
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  },

  async 'list-checkpoints'(hub, id) {
    const entry = entryOf(hub, id);
    const list = await describeCheckpoints(hub, entry, 'list-checkpoints');
    // each file is read once however many checkpoints recorded it
    const cache = new Map<string, Promise<RecordedFile>>();
    const files = await Promise.all(list.map((c) => filesSince(c.files, cache)));
    return {
      result: {
        workflow_id: entry.id,
        checkpoints: list.map(({ info, header, error }, i) => ({
          checkpoint_id: info.id,
          seq: info.seq,
          trigger: info.trigger,
          name: header?.name ?? null,
          created_at: header ? new Date(header.created_at).toISOString() : null,
          epoch: header?.epoch ?? null,
          size_bytes: info.size,
          workflow_state_hash: header?.body_sha256 ?? null,
          compression: header ? (header.compression ?? 'none') : null,
          ...(files[i] ? { files: files[i] } : {}),
          valid: error === null,
          ...(error ? { error } : {}),
        })),
      },
      next_steps: [`Restore one with '${entry.id} restore {"checkpoint_id":"…"}'`],
    };
  },

  async restore(hub, id, params: { checkpoint_id: string; strategy: RestoreStrategy; verify_dependencies: boolean }) {
    const entry = entryOf(hub, id);
    const info = await findCheckpoint(hub, entry, params.checkpoint_id, 'restore');
    const loaded = await loadCheckpoint(hub, info, 'restore');
    // always looked at (it changes nothing); verify_dependencies decides whether a failure refuses the restore
    const report = await checkDependencies(hub, loaded);
    if (report.dependency_validation === 'failed' && params.verify_dependencies) {
      throw new TroupeError('DEPENDENCY_VALIDATION_FAILED', `Restoring ${entry.id} to checkpoint ${info.id} was refused: what its tasks depend on does not hold (nothing was changed)`, {
        details: `dependency_validation: failed. ${report.reasons.join('; ')}`,
      });
    }
    const restored = await restoreTo(hub, entry, loaded, params.strategy, 'restore');
    const warnings =
      report.dependency_validation === 'failed'
        ? [`verify_dependencies: false, so the restore went ahead although the dependency check failed: ${report.reasons.join('; ')}`]
        : [];
    return {
      result: { ...restored.result, dependency_validation: report.dependency_validation, dependencies: { tasks_checked: report.tasks_checked, reasons: report.reasons, files: report.files } },
      next_steps: [`Follow it with '${entry.id} get-status'`],
      warnings,
      metrics: { agents_affected: restored.stoppedAgents, resources_used: restored.resourcesUsed },
    };
  },

  async rollback(hub, id, params: { checkpoint_id?: string; name?: string; steps: number }) {
    const entry = entryOf(hub, id);
    const valid = (await describeCheckpoints(hub, entry, 'rollback')).filter((c) => c.header !== null);
    const target = params.checkpoint_id
      ? valid.find((c) => c.info.id === params.checkpoint_id || String(c.info.seq) === params.checkpoint_id)
      : params.name
        ? valid.findLast((c) => c.header!.name === params.name)
        : valid.at(-1 - params.steps);
    if (!target) {
      const wanted = params.checkpoint_id ?? (params.name ? `named ${params.name}` : `${params.steps} step(s) back`);
      throw new TroupeError('CHECKPOINT_NOT_FOUND', `Workflow ${entry.id} has no valid checkpoint ${wanted}`, {
        details: `Valid checkpoints: ${valid.map((c) => c.info.id).join(', ') || 'none'}`,
        suggestions: [`List them with '${entry.id} list-checkpoints'`],
      });
    }
    const restored = await restoreTo(hub, entry, await loadCheckpoint(hub, target.info, 'rollback'), 'rollback', 'rollback');
    return {
      result: restored.result,
      next_steps: [`Follow it with '${entry.id} get-status'`],
      metrics: { agents_affected: restored.stoppedAgents, resources_used: restored.resourcesUsed },
    };
  },
};
