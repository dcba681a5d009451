import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { packr } from './checkpoint-codec.js';
import { idPath, isSafeId } from './safe-id.js';
import { mkdirPrivate } from './private-files.js';

/** The paths of a data directory (DESIGN §7). */
export function dataDirLayout(root: string) {
  return {
    root,
    lock: join(root, 'troupe.lock'),
    socket: join(root, 'troupe.sock'),
    workflows: join(root, 'workflows'),
    checkpoints: join(root, 'checkpoints'),
    events: join(root, 'events'),
    agentPools: join(root, 'agent_pools'),
    /** the agents' performance records, written at checkpoints and shutdown */
    poolRecords: join(root, 'agent_pools', 'pool.ckpt'),
    /** the KPIs' running totals, so retention dropping old log segments does not drop them from all-time figures */
    kpiTotals: join(root, 'metrics', 'kpis.ckpt'),
    /** the durable subscriptions (those with a target) and the event seq each delivered up to */
    subscriptions: join(root, 'subscriptions.ckpt'),
    /** the HMAC key that signs this directory's save-state bundles (mode 0600) */
    bundleKey: join(root, 'bundle.key'),
  };
}

/** Where a workflow's index record lives: by how it ended. */
export type WorkflowShelf = 'active' | 'completed' | 'failed';

/** The small record that says a workflow exists and where it stands; its state is in the checkpoints. */
export interface WorkflowIndexRecord {
  id: string;
  name: string;
  status: string;
  updated_at: number;
}

/** `workflows/{active,completed,failed}/<id>.wf`: one index record per workflow, moved as it ends. */
export class WorkflowIndex {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async put(shelf: WorkflowShelf, record: WorkflowIndexRecord): Promise<void> {
    const dir = join(this.#dir, shelf);
    const path = idPath(dir, 'workflow id', record.id, '.wf');
    await mkdirPrivate(dir);
    await writeFileAtomic(path, packr.pack(record));
    // the new place is durable before the old one goes: a crash between leaves two, and `list` prefers the ended shelf
    for (const other of ['active', 'completed', 'failed'] as const) {
      if (other !== shelf) await rm(idPath(join(this.#dir, other), 'workflow id', record.id, '.wf'), { force: true });
    }
  }

  /**
   * Ids on a shelf. An id on an ended shelf and on `active` too (a crash
   * between the two steps of `put`) counts as ended, and the stale active
   * record is removed. A file whose name is no workflow id (troupe never
   * writes one) is not listed.
   */
  async list(shelf: WorkflowShelf): Promise<string[]> {
    const read = async (s: WorkflowShelf) =>
      (await readdir(join(this.#dir, s)).catch(() => [] as string[])).filter((n) => n.endsWith('.wf')).map((n) => n.slice(0, -3)).filter(isSafeId);
    const ids = await read(shelf);
    if (shelf !== 'active') return ids.sort();
    const ended = new Set([...(await read('completed')), ...(await read('failed'))]);
    for (const id of ids.filter((i) => ended.has(i))) await rm(idPath(join(this.#dir, 'active'), 'workflow id', id, '.wf'), { force: true });
    return ids.filter((i) => !ended.has(i)).sort();
  }

  /** The ids on a shelf as they are on disk, sorted; changes nothing (`troupe check` reads with it). */
  async ids(shelf: WorkflowShelf): Promise<string[]> {
    return (await readdir(join(this.#dir, shelf)).catch(() => [] as string[])).filter((n) => n.endsWith('.wf')).map((n) => n.slice(0, -3)).sort();
  }

  async remove(id: string): Promise<void> {
    for (const shelf of ['active', 'completed', 'failed'] as const) await rm(idPath(join(this.#dir, shelf), 'workflow id', id, '.wf'), { force: true });
  }
}
