import type { CheckpointInfo, LoadedCheckpoint } from '../../persistence/checkpoint-store.js';
import { TroupeError } from '../errors.js';
import type { HubState } from '../hub-state.js';
import type { OutcomeRecord } from './journal.js';
import { entryOf, journalOf, type Handler } from '../operation-kit.js';
import { applyOutcome } from '../scheduling/outcomes.js';
import { outcomesAfter, rehydrate, releaseInFlight } from './recovery.js';
import { newEntry, statusOf, type PhaseRef, type WorkflowEntry } from '../scheduling/workflow-entry.js';

const STOPPED = { name: 'RestoreError', code: 'WORKFLOW_RESTORED', message: 'The workflow was restored to a checkpoint', retryable: false };

async function load(hub: HubState, info: CheckpointInfo): Promise<LoadedCheckpoint> {
  try {
    return await journalOf(hub, 'restore').checkpoints.read(info);
  } catch (error) {
    throw new TroupeError('CHECKPOINT_CORRUPT', `Checkpoint ${info.id} of ${info.workflowId} failed its integrity check`, {
      details: error instanceof Error ? error.message : String(error),
    });
  }
}

/** The workflow's checkpoints with their headers, oldest first; corrupt ones are listed with their error. */
async function describeCheckpoints(hub: HubState, entry: WorkflowEntry, operation: string) {
  const journal = journalOf(hub, operation);
  // checkpoints already taken but still being written belong in the list
  await entry.checkpointChain;
  const infos = await journal.checkpoints.list(entry.id);
  return Promise.all(
    infos.map(async (info) => {
      try {
        const { header } = await journal.checkpoints.read(info);
        return { info, header, error: null };
      } catch (error) {
        return { info, header: null, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}

/**
 * Replaces a workflow's actor with the state of a checkpoint and bumps its
 * epoch, so outcomes of the abandoned timeline are never applied and the work
 * after that point runs again (with new idempotency keys). `partial_restore`
 * keeps the successful outcomes logged after the checkpoint.
 */
async function restoreTo(hub: HubState, entry: WorkflowEntry, info: CheckpointInfo, trigger: 'restore' | 'rollback', keepSuccesses: boolean) {
  const journal = journalOf(hub, trigger);
  const loaded = await load(hub, info);
  const { actor, body } = rehydrate(loaded, hub.trace?.forWorkflow(entry.id));
  for (const flight of entry.inFlight.values()) flight.run.abort(STOPPED);
  hub.scheduler.detach(entry);
  entry.actor.stop();
  let replayed = 0;
  if (keepSuccesses) {
    const records = await journal.log.readAll();
    for (const record of outcomesAfter(records, entry.id, body.epoch, body.applied_seq).filter((r: OutcomeRecord) => r.ok)) {
      const phase = actor.getSnapshot().children.phase as PhaseRef | undefined;
      if (phase && applyOutcome(phase, record)) replayed++;
    }
  }
  const fresh = newEntry(entry.id, actor, { epoch: entry.epoch + 1, appliedSeq: journal.log.nextSeq - 1, checkpointSeq: entry.checkpointSeq });
  Object.assign(entry, { ...fresh, checkpointChain: entry.checkpointChain, watchers: entry.watchers });
  const rerun = releaseInFlight(entry, hub.clock.now());
  const written = await journal.checkpoint(entry, trigger);
  hub.bus.publish({
    type: 'CHECKPOINT_RESTORED',
    workflowId: entry.id,
    data: { checkpoint: info.id, epoch: entry.epoch, strategy: keepSuccesses ? 'partial_restore' : 'full_restore', replayed_outcomes: replayed, rerun_tasks: rerun },
  });
  hub.scheduler.pump(entry);
  return {
    workflow_id: entry.id,
    restored_from: info.id,
    epoch: entry.epoch,
    status: statusOf(entry.actor.getSnapshot()),
    replayed_outcomes: replayed,
    new_checkpoint: written.id,
  };
}

export const recoveryHandlers: Record<string, Handler> = {
  async checkpoint(hub, id, params: { name?: string; validate_state: boolean }) {
    const entry = entryOf(hub, id);
    const journal = journalOf(hub, 'checkpoint');
    const info = await journal.checkpoint(entry, 'manual', params.name ?? null);
    const loaded = await journal.checkpoints.read(info);
    if (params.validate_state) rehydrate(loaded).actor.stop();
    hub.bus.publish({ type: 'CHECKPOINT_CREATED', workflowId: entry.id, data: { checkpoint: info.id, name: params.name ?? null, size: info.size } });
    return {
      result: {
        workflow_id: entry.id,
        checkpoint_id: info.id,
        name: params.name ?? null,
        size_bytes: info.size,
        workflow_state_hash: loaded.header.body_sha256,
        validated: params.validate_state,
      },
      next_steps: [`Roll back to it later with '${entry.id} rollback {"checkpoint_id":"${info.id}"}'`],
    };
  },

  async 'list-checkpoints'(hub, id) {
    const entry = entryOf(hub, id);
    const list = await describeCheckpoints(hub, entry, 'list-checkpoints');
    return {
      result: {
        workflow_id: entry.id,
        checkpoints: list.map(({ info, header, error }) => ({
          checkpoint_id: info.id,
          seq: info.seq,
          trigger: info.trigger,
          name: header?.name ?? null,
          created_at: header ? new Date(header.created_at).toISOString() : null,
          epoch: header?.epoch ?? null,
          size_bytes: info.size,
          workflow_state_hash: header?.body_sha256 ?? null,
          valid: error === null,
          ...(error ? { error } : {}),
        })),
      },
      next_steps: [`Restore one with '${entry.id} restore {"checkpoint_id":"…"}'`],
    };
  },

  async restore(hub, id, params: { checkpoint_id: string; strategy: 'full_restore' | 'partial_restore' }) {
    const entry = entryOf(hub, id);
    await entry.checkpointChain;
    const infos = await journalOf(hub, 'restore').checkpoints.list(entry.id);
    const info = infos.find((i) => i.id === params.checkpoint_id || String(i.seq) === params.checkpoint_id);
    if (!info) {
      throw new TroupeError('CHECKPOINT_NOT_FOUND', `Workflow ${entry.id} has no checkpoint ${params.checkpoint_id}`, {
        details: `Its checkpoints: ${infos.map((i) => i.id).join(', ') || 'none'}`,
        suggestions: [`List them with '${entry.id} list-checkpoints'`],
      });
    }
    return { result: await restoreTo(hub, entry, info, 'restore', params.strategy === 'partial_restore'), next_steps: [`Follow it with '${entry.id} get-status'`] };
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
    return { result: await restoreTo(hub, entry, target.info, 'rollback', false), next_steps: [`Follow it with '${entry.id} get-status'`] };
  },
};
