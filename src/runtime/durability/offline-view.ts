import { stat } from 'node:fs/promises';
import { dataDirLayout, WorkflowIndex, type WorkflowShelf } from '../../persistence/data-dir.js';
import { FileCheckpointStore } from '../../persistence/checkpoint-store.js';
import { scanLog } from '../../persistence/log-scan.js';
import type { LogRecord } from '../../persistence/append-log.js';
import { TroupeError } from '../errors.js';
import { describeWorkflow, summarizeWorkflow } from '../scheduling/status.js';
import type { WorkflowActor } from '../scheduling/workflow-entry.js';
import { restoreNewest } from './recovery.js';

/**
 * What a data directory says about its workflows while no supervisor runs,
 * for `troupe ls` and `troupe status`: each workflow's newest valid
 * checkpoint, with the task outcomes logged after it applied (what a start
 * would recover). Nothing is written and no lock is taken, so it may run
 * beside a supervisor starting up; nothing runs either: a task that was in
 * flight at the crash shows as it was then.
 */
export class OfflineView {
  readonly #dataDir: string;
  readonly #store: FileCheckpointStore;
  readonly #index: WorkflowIndex;
  #records: readonly LogRecord[] | null = null;

  private constructor(dataDir: string) {
    const layout = dataDirLayout(dataDir);
    this.#dataDir = dataDir;
    this.#store = new FileCheckpointStore(layout.checkpoints);
    this.#index = new WorkflowIndex(layout.workflows);
  }

  /** Throws DATA_DIR_NOT_FOUND when `dataDir` is not a directory (nothing is created). */
  static async open(dataDir: string): Promise<OfflineView> {
    const found = await stat(dataDir).catch(() => null);
    if (!found?.isDirectory()) {
      throw new TroupeError('DATA_DIR_NOT_FOUND', `${found ? 'Not a directory' : 'No data directory'}: ${dataDir}`, {
        details: 'troupe keeps its workflows there; it is made by the first supervisor started with it',
        suggestions: ['Start a supervisor with `troupe serve --data-dir DIR` to make it'],
      });
    }
    return new OfflineView(dataDir);
  }

  /** Every workflow the index lists, by id, with the shelf it is on. */
  async ids(): Promise<Map<string, WorkflowShelf>> {
    const shelves = new Map<string, WorkflowShelf>();
    for (const shelf of ['active', 'completed', 'failed'] as const) for (const id of await this.#index.ids(shelf)) shelves.set(id, shelf);
    return new Map([...shelves].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /** `list-workflows`' lines, and the workflows that no checkpoint restores. */
  async list(): Promise<{ workflows: ReturnType<typeof summarizeWorkflow>[]; unreadable: { workflow_id: string; message: string }[] }> {
    const workflows: ReturnType<typeof summarizeWorkflow>[] = [];
    const unreadable: { workflow_id: string; message: string }[] = [];
    for (const [id, shelf] of await this.ids()) {
      try {
        const actor = await this.#load(id, shelf);
        workflows.push(summarizeWorkflow(actor.getSnapshot()));
        actor.stop();
      } catch (error) {
        unreadable.push({ workflow_id: id, message: error instanceof Error ? error.message : String(error) });
      }
    }
    return { workflows, unreadable };
  }

  /** `get-status`' answer for one workflow (without agent assignments: no pool runs). */
  async status(workflowId: string): Promise<ReturnType<typeof describeWorkflow>> {
    const shelf = (await this.ids()).get(workflowId);
    if (shelf === undefined) {
      throw new TroupeError('WORKFLOW_NOT_FOUND', `No workflow ${workflowId} in ${this.#dataDir}`, {
        suggestions: ["`troupe ls` lists the workflows there", 'Pass the --data-dir the workflow was run with'],
      });
    }
    const actor = await this.#load(workflowId, shelf);
    try {
      return describeWorkflow(actor.getSnapshot(), null, { includeOutput: false, agentDetails: false });
    } finally {
      actor.stop();
    }
  }

  async #load(workflowId: string, shelf: WorkflowShelf): Promise<WorkflowActor> {
    // an ended workflow's checkpoint is its last word; an active one's may be behind the log
    if (shelf === 'active') this.#records ??= (await scanLog(dataDirLayout(this.#dataDir).events)).records;
    return (await restoreNewest(this.#store, shelf === 'active' ? this.#records! : [], workflowId)).actor;
  }
}
