import { dataDirLayout } from '../../persistence/data-dir.js';
import { FileCheckpointStore } from '../../persistence/checkpoint-store.js';
import { isTroupeError } from '../errors.js';
import { rehydrate } from './recovery.js';
import { statusOf } from '../scheduling/workflow-entry.js';

/** The verdict on one stored checkpoint. */
export interface CheckpointVerdict {
  workflow_id: string;
  checkpoint_id: string;
  verdict: 'ok' | 'corrupt' | 'incompatible';
  /** the workflow's status in it, when it restores */
  status: string | null;
  message: string | null;
}

/**
 * `troupe check`: restores every stored checkpoint against the current code
 * without running anything (no lock taken, nothing written) and gives each a
 * verdict. Run it before upgrading: a workflow whose newest checkpoint is not
 * `ok` would not recover.
 */
export async function checkDataDir(dataDir: string): Promise<{ verdicts: CheckpointVerdict[]; workflowsAtRisk: string[] }> {
  const store = new FileCheckpointStore(dataDirLayout(dataDir).checkpoints);
  const verdicts: CheckpointVerdict[] = [];
  const atRisk: string[] = [];
  for (const workflowId of await store.workflows()) {
    const infos = await store.list(workflowId);
    for (const info of infos) {
      const base = { workflow_id: workflowId, checkpoint_id: info.id };
      let verdict: CheckpointVerdict;
      try {
        const loaded = await store.read(info);
        try {
          const { actor } = rehydrate(loaded);
          verdict = { ...base, verdict: 'ok', status: statusOf(actor.getSnapshot()), message: null };
          actor.stop();
        } catch (error) {
          verdict = { ...base, verdict: isTroupeError(error, 'CHECKPOINT_INCOMPATIBLE') ? 'incompatible' : 'corrupt', status: null, message: error instanceof Error ? error.message : String(error) };
        }
      } catch (error) {
        verdict = { ...base, verdict: 'corrupt', status: null, message: error instanceof Error ? error.message : String(error) };
      }
      verdicts.push(verdict);
    }
    // recovery falls back to older checkpoints, so a workflow is at risk only when none restores
    if (!verdicts.some((v) => v.workflow_id === workflowId && v.verdict === 'ok')) atRisk.push(workflowId);
  }
  return { verdicts, workflowsAtRisk: atRisk };
}
