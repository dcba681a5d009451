import { inspectSpool, spoolDir } from '../../actors/task-process.js';
import type { PhaseRef, WorkflowEntry } from '../scheduling/workflow-entry.js';

/**
 * What a recovery does with each task that was in flight, as `CHECKPOINT_RESTORED`,
 * `health` and `troupe run` report it.
 */
export type TaskRecovery =
  /** its outcome was logged before the crash: applied from the log, nothing runs */
  | 'resolved_from_log'
  /** an `exec` process of the earlier supervisor still runs: watched to its end, not started again */
  | 'adopted'
  /** an `exec` process ended while no supervisor ran: its recorded exit status is the outcome */
  | 'recorded'
  /** an `exec` process still runs (or what it left does) and `on_recovery: restart`: ended, then run again */
  | 'restarted'
  /** nothing of it runs (a worker-thread handler died with the supervisor, or its process never started): runs again */
  | 'rerun';

/** One task's line of the recovery report. */
export interface RecoveredTask {
  task_id: string;
  attempt: number;
  recovery: TaskRecovery;
  /** the process group found, for adopted, recorded and restarted */
  pid?: number;
  /** for recorded */
  exit_code?: number | null;
}

/**
 * Looks at the process spool of every stranded task (released to `ready`,
 * so its next attempt number is the one that was in flight) to say what will
 * happen to it. Only looks: the `exec` handler makes it so when the task is
 * dispatched, since the process may end in between.
 */
export function classifyStranded(entry: WorkflowEntry, taskIds: readonly string[], root: string): RecoveredTask[] {
  const snapshot = entry.actor.getSnapshot();
  const phase = snapshot.children.phase as PhaseRef | undefined;
  const all = [...snapshot.context.spec.phases.flatMap((p) => p.tasks), ...(snapshot.context.compensation?.spec.tasks ?? [])];
  const specs = new Map(all.map((t) => [t.id, t]));
  return taskIds.map((taskId): RecoveredTask => {
    const attempt = (phase?.getSnapshot().context.tasks[taskId]?.attempts ?? 0) + 1;
    const spec = specs.get(taskId);
    if (spec?.handler !== 'exec') return { task_id: taskId, attempt, recovery: 'rerun' };
    const state = inspectSpool(spoolDir(root, entry.id, entry.epoch, taskId, attempt));
    if (state.aborted !== null || state.kind === 'empty' || state.kind === 'lost') return { task_id: taskId, attempt, recovery: 'rerun' };
    const pid = state.claim.pgid;
    if (state.kind === 'ended') return { task_id: taskId, attempt, recovery: 'recorded', pid, exit_code: state.result.exit_code };
    if (state.kind === 'running' && (spec.onRecovery ?? 'adopt') === 'adopt') return { task_id: taskId, attempt, recovery: 'adopted', pid };
    return { task_id: taskId, attempt, recovery: 'restarted', pid };
  });
}
