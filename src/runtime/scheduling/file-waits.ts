import { randomUUID } from 'node:crypto';
import type { EventBus } from '../events/event-bus.js';
import type { FileLocks } from './file-locks.js';
import type { WorkflowEntry } from './workflow-entry.js';

/**
 * Makes a task's wait on a held exclusive file an event: the first time a
 * ready task is kept back because another task (or a resource allocation)
 * holds one of its `exclusive_files`, RESOURCE_CONFLICT is published with
 * the task and the holders (DESIGN §3: conflicts on exclusive files are
 * reported). Once per task per epoch: the scheduler asks at every pump the
 * task waits, and the conflict-rate KPI counts tasks, not pumps. Being in
 * the log, the wait survives restarts.
 */
export class FileWaits {
  readonly #bus: EventBus;
  readonly #locks: FileLocks;
  /** `<epoch>/<task id>` already reported, per workflow (gone with its entry) */
  readonly #reported = new WeakMap<WorkflowEntry, Set<string>>();

  constructor(bus: EventBus, locks: FileLocks) {
    this.#bus = bus;
    this.#locks = locks;
  }

  report(entry: WorkflowEntry, taskId: string, phase: string, held: readonly { file: string; holder: string }[]): void {
    let seen = this.#reported.get(entry);
    if (!seen) this.#reported.set(entry, (seen = new Set()));
    const key = `${entry.epoch}/${taskId}`;
    if (seen.has(key)) return;
    seen.add(key);
    const holders = [...new Set(held.map((h) => h.holder))].map((holder) => {
      const files = held.filter((h) => h.holder === holder).map((h) => h.file);
      const owner = this.#locks.ownerOf(holder);
      return owner?.kind === 'task'
        ? { kind: 'task', workflow_id: owner.workflow_id, task_id: owner.task_id, attempt: owner.attempt, files }
        : { kind: 'allocation', allocation_id: holder, files };
    });
    this.#bus.publish({
      type: 'RESOURCE_CONFLICT',
      workflowId: entry.id,
      phase,
      source: 'scheduler',
      severity: 'warning',
      correlationId: entry.correlationId,
      data: {
        conflict_id: `conflict_${randomUUID().slice(0, 8)}`,
        severity: 'low',
        // the task waits for the files, then runs: nothing is refused
        resolution: 'queued',
        task_id: taskId,
        files: held.map((h) => h.file),
        conflicting_requests: [{ kind: 'task', workflow_id: entry.id, task_id: taskId, files: held.map((h) => h.file) }, ...holders],
      },
    });
  }
}
