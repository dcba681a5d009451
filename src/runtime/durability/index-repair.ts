import type { WorkflowShelf } from '../../persistence/data-dir.js';
import { TroupeError } from '../errors.js';
import type { EventDraft } from '../events/event-record.js';
import { statusOf } from '../scheduling/workflow-entry.js';
import { shelfOf, type Journal } from './journal.js';
import { rehydrate } from './recovery.js';

/** An index record rebuilt at start. */
export interface IndexRepaired {
  workflow_id: string;
  shelf: WorkflowShelf;
  status: string;
  /** the checkpoint the record was rebuilt from */
  checkpoint: string;
}

/** A workflow with checkpoints and no index record whose checkpoints could not say where it stands. */
export interface IndexUnrepaired {
  workflow_id: string;
  code: string;
  message: string;
}

/**
 * Finds workflows that have checkpoints (`checkpoints/<id>/`) but no index
 * record (`workflows/{active,completed,failed}/<id>.wf`), e.g. after the
 * record was deleted by hand, and rebuilds each record from the newest valid
 * checkpoint, so the start that follows loads the workflow like any other.
 * Without it such a workflow was invisible, while `create` refused its id.
 * One whose checkpoints are all unreadable is left as it is and returned in
 * `unrepaired` (the caller reports it). Each repair is published as an
 * ERROR_ENCOUNTERED warning.
 *
 * @example
 * const { repaired, unrepaired } = await repairIndex(journal, (draft) => bus.publish(draft));
 */
export async function repairIndex(journal: Journal, publish: (draft: EventDraft) => void): Promise<{ repaired: IndexRepaired[]; unrepaired: IndexUnrepaired[] }> {
  const indexed = new Set((await Promise.all((['active', 'completed', 'failed'] as const).map((shelf) => journal.index.list(shelf)))).flat());
  const repaired: IndexRepaired[] = [];
  const unrepaired: IndexUnrepaired[] = [];
  for (const id of await journal.checkpoints.workflows()) {
    if (indexed.has(id) || (await journal.checkpoints.list(id)).length === 0) continue;
    try {
      const { checkpoint, skipped } = await journal.checkpoints.loadNewestValid(id);
      if (!checkpoint) {
        throw new TroupeError('CHECKPOINT_CORRUPT', `Workflow ${id} has no index record and none of its checkpoints passes its check (${skipped[0]?.reason ?? 'none found'})`);
      }
      const { actor } = rehydrate(checkpoint);
      const snapshot = actor.getSnapshot();
      actor.stop();
      const status = statusOf(snapshot);
      const shelf = shelfOf(status);
      await journal.index.put(shelf, { id, name: snapshot.context.spec.name, status, updated_at: snapshot.context.updatedAt });
      repaired.push({ workflow_id: id, shelf, status, checkpoint: checkpoint.info.id });
      publish({
        type: 'ERROR_ENCOUNTERED',
        workflowId: id,
        severity: 'warning',
        data: { component: 'index', reason: 'index record missing', action: `rebuilt workflows/${shelf}/${id}.wf from checkpoint ${checkpoint.info.id}`, status },
      });
    } catch (error) {
      const code = error instanceof TroupeError ? error.code : 'INTERNAL_ERROR';
      const message = error instanceof Error ? error.message : String(error);
      unrepaired.push({ workflow_id: id, code, message });
      publish({ type: 'ERROR_ENCOUNTERED', workflowId: id, severity: 'error', data: { component: 'index', reason: 'index record missing', code, message } });
    }
  }
  return { repaired, unrepaired };
}
