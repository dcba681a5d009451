import { link, mkdir, open, readFile, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic } from './atomic-file.js';
import { packr } from './checkpoint-codec.js';

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
  };
}

/** Another live process holds the data directory. */
export class DataDirLockedError extends Error {
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(`The data directory is locked by process ${pid}`);
    this.name = 'DataDirLockedError';
  }
}

/** True when `pid` is a running process: signal 0 reaches it and, on Linux, it is not a zombie waiting to be reaped. */
async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  // the state is the field after the parenthesised command name
  return stat === null || stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/**
 * Takes the single-supervisor lock: creates `troupe.lock` exclusively with
 * this pid. A lock left by a process that no longer exists is taken over.
 * Returns the function that releases it.
 */
export async function acquireLock(root: string): Promise<{ release(): Promise<void>; tookOverFrom: number | null }> {
  const { lock } = dataDirLayout(root);
  await mkdir(root, { recursive: true });
  let tookOverFrom: number | null = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    // written whole to a temporary file, then linked into place: link fails if the lock exists,
    // and a lock file that exists always has its content (no window where it is empty)
    const temp = `${lock}.${process.pid}.${attempt}.tmp`;
    const handle = await open(temp, 'w', 0o600);
    await handle.writeFile(JSON.stringify({ pid: process.pid, hostname: hostname(), started_at: new Date().toISOString() }));
    await handle.sync();
    await handle.close();
    try {
      await link(temp, lock);
      await rm(temp, { force: true });
      await fsyncDir(root);
      return {
        tookOverFrom,
        async release() {
          const holder = await readLockPid(lock);
          if (holder === process.pid) await rm(lock, { force: true });
        },
      };
    } catch (error) {
      await rm(temp, { force: true });
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = await readLockPid(lock);
      if (pid !== null && pid !== process.pid && (await alive(pid))) throw new DataDirLockedError(lock, pid);
      // remove the stale lock only if it is still the one just judged dead
      if ((await readLockPid(lock)) !== pid) continue;
      tookOverFrom = pid;
      await rm(lock, { force: true });
    }
  }
  throw new Error(`could not take the lock ${lock}`);
}

async function readLockPid(lock: string): Promise<number | null> {
  try {
    const { pid } = JSON.parse(await readFile(lock, 'utf8')) as { pid?: unknown };
    return typeof pid === 'number' ? pid : null;
  } catch {
    // unreadable or half-written: whoever wrote it died before finishing
    return null;
  }
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
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, `${record.id}.wf`), packr.pack(record));
    // the new place is durable before the old one goes: a crash between leaves two, and `list` prefers the ended shelf
    for (const other of ['active', 'completed', 'failed'] as const) {
      if (other !== shelf) await rm(join(this.#dir, other, `${record.id}.wf`), { force: true });
    }
  }

  /**
   * Ids on a shelf. An id on an ended shelf and on `active` too (a crash
   * between the two steps of `put`) counts as ended, and the stale active
   * record is removed.
   */
  async list(shelf: WorkflowShelf): Promise<string[]> {
    const read = async (s: WorkflowShelf) =>
      (await readdir(join(this.#dir, s)).catch(() => [] as string[])).filter((n) => n.endsWith('.wf')).map((n) => n.slice(0, -3));
    const ids = await read(shelf);
    if (shelf !== 'active') return ids.sort();
    const ended = new Set([...(await read('completed')), ...(await read('failed'))]);
    for (const id of ids.filter((i) => ended.has(i))) await rm(join(this.#dir, 'active', `${id}.wf`), { force: true });
    return ids.filter((i) => !ended.has(i)).sort();
  }

  /** The ids on a shelf as they are on disk, sorted; changes nothing (`troupe check` reads with it). */
  async ids(shelf: WorkflowShelf): Promise<string[]> {
    return (await readdir(join(this.#dir, shelf)).catch(() => [] as string[])).filter((n) => n.endsWith('.wf')).map((n) => n.slice(0, -3)).sort();
  }

  async remove(id: string): Promise<void> {
    for (const shelf of ['active', 'completed', 'failed'] as const) await rm(join(this.#dir, shelf, `${id}.wf`), { force: true });
  }
}
