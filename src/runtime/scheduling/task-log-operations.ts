import { readdir } from 'node:fs/promises';
import { attemptsWithLogs, readTaskLog, taskLogDir, taskLogPath } from '../../actors/task-log.js';
import type { TaskRecord, TaskSpec } from '../../machines/types.js';
import { TroupeError } from '../errors.js';
import type { HubState } from '../hub-state.js';
import { entryOf, type Handler } from '../operation-kit.js';
import { compensationTasks, phaseRecords } from './status.js';
import type { TaskLogError } from './task-files.js';
import { withSystemReport } from '../protocol/error-report.js';
import { statusOf, type WorkflowEntry, type WorkflowSnapshot } from './workflow-entry.js';

/** Task log write failures `health` keeps (the newest). */
const KEPT_LOG_ERRORS = 20;

/** A task log could not be written: kept for `health` (degraded) and published; the task goes on. */
export function recordLogError(hub: HubState, error: Omit<TaskLogError, 'at'>): void {
  hub.taskLogErrors.push({ ...error, at: new Date(hub.clock.now()).toISOString() });
  if (hub.taskLogErrors.length > KEPT_LOG_ERRORS) hub.taskLogErrors.shift();
  hub.bus.publish({
    type: 'SYSTEM_ERROR',
    workflowId: error.workflow_id,
    severity: 'error',
    data: withSystemReport(
      {
        error_type: 'task_log_write_failed',
        affected_components: ['task-logs'],
        severity: 'error',
        task_id: error.task_id,
        attempt: error.attempt,
        message: `The log of ${error.task_id} (attempt ${error.attempt}) cannot be written: ${error.message}. The task goes on; its output is kept in its result only`,
      },
      error.workflow_id,
      hub.clock.now(),
      'task_log_write',
      [{ strategy: 'free_storage', description: "Free disk space or fix the permissions of the task log's folder (see 'health', task-logs)", command: 'health' }],
    ),
  });
}

/** Each task's spec and live record, in definition order. */
function tasksOf(snapshot: WorkflowSnapshot): { spec: TaskSpec; record: TaskRecord }[] {
  const tasks = phaseRecords(snapshot).flatMap((phase) => phase.spec.tasks.map((spec, i) => ({ spec, record: phase.tasks[i]! })));
  // a compensation is a task with a log of its own (`<id>.compensate`)
  return [...tasks, ...compensationTasks(snapshot)];
}

/** True while this attempt of the task may still write: it is the task's current attempt and runs. */
const isLive = (record: TaskRecord, attempt: number) => (record.status === 'assigned' || record.status === 'running') && record.attempts === attempt;

/** The log file names of a workflow's tasks. */
async function logNames(hub: HubState, workflowId: string): Promise<string[]> {
  return readdir(taskLogDir(hub.taskFiles.root, workflowId)).catch(() => []);
}

interface LogsParams {
  task_id?: string;
  attempt?: number;
  tail: number;
  since?: number;
}

/** One task's log: the attempt asked for (default: its newest with a log), or an error naming what exists. */
function oneTask(hub: HubState, entry: WorkflowEntry, task: { spec: TaskSpec; record: TaskRecord }, names: string[], params: LogsParams) {
  const attempts = attemptsWithLogs(names, task.spec.id);
  const attempt = params.attempt ?? attempts.at(-1) ?? null;
  if (params.attempt !== undefined && !attempts.includes(params.attempt)) {
    throw new TroupeError('LOG_NOT_FOUND', `Task ${task.spec.id} of ${entry.id} has no log for attempt ${params.attempt}`, {
      details:
        attempts.length > 0
          ? `Attempts with a log: ${attempts.join(', ')}`
          : `It has none yet: it is ${task.record.status} after ${task.record.attempts} attempt(s), and a log starts with its first output`,
    });
  }
  const base = { task_id: task.spec.id, status: task.record.status, attempts };
  if (attempt === null) return { ...base, attempt: null, lines: [], next_offset: 0, dropped_bytes: 0, size: 0, live: isLive(task.record, task.record.attempts) };
  const live = isLive(task.record, attempt);
  const read = readTaskLog(taskLogPath(hub.taskFiles.root, entry.id, task.spec.id, attempt), {
    tail: params.tail,
    ...(params.since === undefined ? {} : { since: params.since, final: !live }),
  }) ?? { lines: [], next_offset: 0, dropped_bytes: 0, size: 0 };
  return { ...base, attempt, ...read, live };
}

export const taskLogHandlers: Record<string, Handler> = {
  async logs(hub, id, params: LogsParams) {
    const entry = entryOf(hub, id);
    const tasks = tasksOf(entry.actor.getSnapshot());
    const names = await logNames(hub, entry.id);
    if (params.task_id !== undefined) {
      const task = tasks.find((t) => t.spec.id === params.task_id);
      if (!task) {
        throw new TroupeError('TASK_NOT_FOUND', `Workflow ${entry.id} has no task ${params.task_id}`, {
          details: `Its tasks: ${tasks.map((t) => t.spec.id).join(', ') || 'none'}`,
        });
      }
      const result = oneTask(hub, entry, task, names, params);
      return {
        result,
        next_steps: result.live ? [`Follow it with 'troupe logs ${entry.id} ${task.spec.id} -f'`] : [],
      };
    }
    // every task that has a log, its newest attempt, in definition order
    const withLogs = tasks.filter((t) => attemptsWithLogs(names, t.spec.id).length > 0);
    const logs = withLogs.map((t) => oneTask(hub, entry, t, names, { tail: params.tail }));
    return { result: { workflow_id: entry.id, workflow_status: statusOf(entry.actor.getSnapshot()), tasks: logs }, next_steps: logs.length === 0 ? ['No task has written output yet'] : [] };
  },
};

/** Tasks whose log tails one `get-status` reads at most. */
const MAX_TAILS = 50;

/** Lines of a task's log shown under it in `get-status`: the last few, for a task that runs or failed. */
const TAIL_LINES = { running: 2, failed: 5 } as const;

/**
 * Adds `log_tail` (the newest lines of its current attempt's log) to each
 * running or failed task of a `get-status` result. Reads only the end of
 * those tasks' logs.
 */
export async function addLogTails(hub: HubState, entry: WorkflowEntry, state: { phases: { tasks: { task_id: string; status: string; attempts: number }[] }[] }): Promise<void> {
  // running tasks first; a bounded number, so a status of thousands of failed tasks stays a small read
  const tasks = state.phases.flatMap((p) => p.tasks).filter((t) => t.attempts > 0);
  const wanted = [...tasks.filter((t) => t.status === 'running'), ...tasks.filter((t) => t.status === 'failed')].slice(0, MAX_TAILS);
  if (wanted.length === 0) return;
  const names = new Set(await logNames(hub, entry.id));
  for (const task of wanted) {
    const name = `${task.task_id}.${task.attempts}.log`;
    if (!names.has(name)) continue;
    const read = readTaskLog(taskLogPath(hub.taskFiles.root, entry.id, task.task_id, task.attempts), { tail: TAIL_LINES[task.status as 'running' | 'failed'] });
    if (read && read.lines.length > 0) (task as { log_tail?: string[] }).log_tail = read.lines;
  }
}
