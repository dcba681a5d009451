import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { inspectSpool } from '../actors/task-process.js';
import type { HubState } from './hub-state.js';
import type { WorkflowEntry } from './scheduling/workflow-entry.js';

/** What a workflow holds at one moment: resource allocations, exclusive files (its tasks' and its allocations'), agents kept for it. */
export interface Holdings {
  allocations: string[];
  files: string[];
  agents: number;
}

/** What `workflowId` holds now, read from the resource manager, the file locks and the pool. */
export function holdingsOf(hub: HubState, workflowId: string): Holdings {
  const allocations = hub.resources.view().allocations.filter((a) => a.workflow_id === workflowId).map((a) => a.allocation_id);
  const mine = new Set(allocations);
  const files = hub.locks
    .entries()
    .filter(({ holder }) => {
      const owner = hub.locks.ownerOf(holder);
      return mine.has(holder) || (owner?.kind === 'task' && owner.workflow_id === workflowId);
    })
    .map(({ file }) => file);
  return { allocations, files, agents: hub.pool.heldFor(workflowId) };
}

/**
 * What was released between two readings: `releasing` are exclusive files
 * still held by runs that were aborted and have not stopped yet (each
 * gives its files back when it does).
 */
export function released(before: Holdings, after: Holdings) {
  const gone = <T>(a: T[], b: T[]) => a.filter((x) => !b.includes(x));
  return {
    allocations: gone(before.allocations, after.allocations),
    exclusive_files: gone(before.files, after.files),
    exclusive_files_releasing: after.files,
    agents: Math.max(0, before.agents - after.agents),
  };
}

/** Releases what an ended workflow still holds: its allocations (and their files, and queued requests) and its agents' floor. */
export function releaseHoldings(hub: HubState, workflowId: string, reason: string): void {
  hub.resources.releaseWorkflow(workflowId, reason);
  hub.pool.releaseFloor(workflowId);
}

/** Bytes and files under `path` (a file or a folder), without following links. */
async function sizeOf(path: string): Promise<{ files: number; bytes: number }> {
  const info = await lstat(path);
  if (!info.isDirectory()) return { files: 1, bytes: info.size };
  let total = { files: 0, bytes: 0 };
  for (const name of await readdir(path)) {
    const inner = await sizeOf(join(path, name));
    total = { files: total.files + inner.files, bytes: total.bytes + inner.bytes };
  }
  return total;
}

const list = async (dir: string): Promise<string[]> => readdir(dir).catch(() => []);

/** The `<task>.<attempt>` names of the workflow's runs that are still in flight (an aborted one may still be stopping). */
function inFlightAttempts(entry: WorkflowEntry): Set<string> {
  return new Set([...entry.inFlight.values()].map((flight) => {
    const taskId = flight.key.slice(entry.id.length + 1, flight.key.lastIndexOf('#'));
    return `${taskId}.${flight.attempt}`;
  }));
}

/**
 * Removes a workflow's temporary files: the process spools of its `exec`
 * attempts (`<root>/processes/<wf>/<epoch>/<task>.<attempt>/`) whose run is
 * over, and export files a save-state of an earlier process left unfinished
 * (`exports/.<wf>-….<pid>.<hex>.tmp`).
 * A spool whose process still runs (or whose run is still in flight) is kept
 * and counted. Task logs are not temporary (`logs` reads them) and stay.
 */
export async function removeTempFiles(root: string, entry: WorkflowEntry): Promise<{ removed_files: number; removed_bytes: number; paths: string[]; kept_running: string[] }> {
  const busy = inFlightAttempts(entry);
  const report = { removed_files: 0, removed_bytes: 0, paths: [] as string[], kept_running: [] as string[] };
  const remove = async (path: string) => {
    const size = await sizeOf(path);
    await rm(path, { recursive: true, force: true });
    report.removed_files += size.files;
    report.removed_bytes += size.bytes;
    report.paths.push(path);
  };
  const processes = join(root, 'processes', entry.id);
  for (const epoch of await list(processes)) {
    for (const attempt of await list(join(processes, epoch))) {
      const spool = join(processes, epoch, attempt);
      const state = inspectSpool(spool);
      if (busy.has(attempt) || state.kind === 'running' || state.kind === 'orphaned') report.kept_running.push(spool);
      else await remove(spool);
    }
    if ((await list(join(processes, epoch))).length === 0) await rm(join(processes, epoch), { recursive: true, force: true });
  }
  if ((await list(processes)).length === 0) await rm(processes, { recursive: true, force: true });
  const exports = join(root, 'exports');
  for (const name of await list(exports)) {
    // one named with this process's pid may be a save-state writing now: only a dead writer's leftovers go
    if (name.startsWith(`.${entry.id}-`) && name.endsWith('.tmp') && !name.includes(`.${process.pid}.`)) await remove(join(exports, name));
  }
  return report;
}
