import type { CheckpointInfo, LoadedCheckpoint } from '../../persistence/checkpoint-store.js';
import { TroupeError } from '../errors.js';
import type { HubState } from '../hub-state.js';
import { journalOf } from '../operation-kit.js';
import type { WorkflowEntry } from '../scheduling/workflow-entry.js';

/** Reads a stored checkpoint, its sha256 checked (always): CHECKPOINT_CORRUPT when it fails. */
export async function loadCheckpoint(hub: HubState, info: CheckpointInfo, operation: string): Promise<LoadedCheckpoint> {
  try {
    return await journalOf(hub, operation).checkpoints.read(info);
  } catch (error) {
    throw new TroupeError('CHECKPOINT_CORRUPT', `Checkpoint ${info.id} of ${info.workflowId} failed its integrity check`, {
      details: error instanceof Error ? error.message : String(error),
    });
  }
}

/**
 * The stored checkpoint of `entry` that `wanted` names: its id, its seq, or
 * (failing those) the newest checkpoint given that name by `checkpoint
 * {"name"}`. CHECKPOINT_NOT_FOUND lists the stored ones.
 */
export async function findCheckpoint(hub: HubState, entry: WorkflowEntry, wanted: string, operation: string): Promise<CheckpointInfo> {
  const journal = journalOf(hub, operation);
  // checkpoints already taken but still being written belong in the list
  await entry.checkpointChain;
  const infos = await journal.checkpoints.list(entry.id);
  const byId = infos.find((i) => i.id === wanted || String(i.seq) === wanted);
  if (byId) return byId;
  // names are in the headers: newest first, and a checkpoint that cannot be read has none
  for (const info of [...infos].reverse()) {
    const header = await journal.checkpoints.read(info).then(
      (loaded) => loaded.header,
      () => null,
    );
    if (header?.name === wanted) return info;
  }
  throw new TroupeError('CHECKPOINT_NOT_FOUND', `Workflow ${entry.id} has no checkpoint ${wanted} (by id, seq or name)`, {
    details: `Its checkpoints: ${infos.map((i) => i.id).join(', ') || 'none'}`,
    suggestions: [`List them with their names with '${entry.id} list-checkpoints'`, `Take one with that name with '${entry.id} checkpoint {"name":"${wanted}"}'`],
  });
}

/** The newest checkpoint of `entry` that passes its integrity check; CHECKPOINT_NOT_FOUND when none does. */
export async function newestValidCheckpoint(hub: HubState, entry: WorkflowEntry, operation: string): Promise<LoadedCheckpoint> {
  await entry.checkpointChain;
  const { checkpoint, skipped } = await journalOf(hub, operation).checkpoints.loadNewestValid(entry.id);
  if (!checkpoint) {
    throw new TroupeError(skipped.length > 0 ? 'CHECKPOINT_CORRUPT' : 'CHECKPOINT_NOT_FOUND', `Workflow ${entry.id} has no checkpoint that passes its integrity check`, {
      details: skipped.map((s) => `${s.info.id}: ${s.reason}`).join('; ') || 'It has no checkpoint',
    });
  }
  return checkpoint;
}
