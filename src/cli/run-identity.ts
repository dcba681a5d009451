import { TroupeError } from '../index.js';
import type { RunSource } from './run-source.js';
import type { RunTarget } from './run-target.js';

const ENDED = new Set(['completed', 'partial', 'failed', 'cancelled', 'archived', 'compensated', 'compensation_failed']);

/** A workflow `run` follows, as `get-status` and `list-workflows` show it. */
interface Known {
  status: string;
  name: string;
  definition_digest: string | null;
}

export type Chosen =
  | { id: string; existing: Known | null; reason: 'new' | 'given_id' | 'same_file_active' }
  | { refused: TroupeError };

const what = (source: RunSource) => ('file' in source ? source.file : `--template ${source.template}`);

/**
 * Which workflow `troupe run` drives. With `--id` of a known workflow: that
 * one, unless it was created from another definition (refused: running this
 * file under that id would drive the old definition). Without `--id`: a new
 * one, unless a workflow created from this very definition (same digest) is
 * still active in the data directory; then that one, so a run interrupted by
 * Ctrl-C or a crash goes on instead of starting a second copy beside it.
 */
export async function chooseWorkflow(target: RunTarget, wanted: { source: RunSource; digest: string; id?: string; defaultId: () => string }): Promise<Chosen> {
  if (wanted.id !== undefined) {
    const found = await target.execute({ operation: 'get-status', workflow_id: wanted.id, parameters: { include_output: false } });
    if (found.status === 'error') return { id: wanted.id, existing: null, reason: 'new' };
    const known = (found.result as { workflow_state: Known }).workflow_state;
    // a workflow from before digests were kept cannot be compared: it is followed as before
    if (known.definition_digest !== null && known.definition_digest !== wanted.digest) {
      return {
        refused: new TroupeError('WORKFLOW_EXISTS', `Workflow ${wanted.id} exists (${known.status}), created from another definition than ${what(wanted.source)}`, {
          details: `Its definition is "${known.name}" (digest ${known.definition_digest}); ${what(wanted.source)} with these params has digest ${wanted.digest}. Running it under this id would drive the old definition.`,
          suggestions: [
            `To run ${what(wanted.source)} as a new workflow, leave out --id (a new id is made) or pass another one`,
            `To go on with ${wanted.id} as it was defined, run the file it was created from with --id ${wanted.id}, or follow it with \`troupe watch ${wanted.id}\``,
          ],
        }),
      };
    }
    return { id: wanted.id, existing: known, reason: 'given_id' };
  }
  const listed = await target.execute({ operation: 'list-workflows' });
  const workflows = listed.status === 'success' ? (listed.result as { workflows: (Known & { workflow_id: string; created_at: string })[] }).workflows : [];
  const same = workflows.filter((w) => w.definition_digest === wanted.digest && !ENDED.has(w.status)).sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  if (same.length > 0) return { id: same[0]!.workflow_id, existing: same[0]!, reason: 'same_file_active' };
  return { id: wanted.defaultId(), existing: null, reason: 'new' };
}
