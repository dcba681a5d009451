import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { attemptsWithLogs, readTaskLog, taskLogDir, taskLogPath } from '../../actors/task-log.js';
import { inspectSpool } from '../../actors/task-process.js';
import { TroupeError } from '../errors.js';

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

/** True while a process of this attempt runs (in any epoch), as its spool and /proc say. */
function processRuns(dataDir: string, workflowId: string, taskId: string, attempt: number): boolean {
  const root = join(dataDir, 'processes', workflowId);
  return list(root).some((epoch) => {
    const state = inspectSpool(join(root, epoch, `${taskId}.${attempt}`));
    return state.kind === 'running' || state.kind === 'orphaned';
  });
}

/**
 * The `logs` operation's answer read straight from a data directory, for
 * `troupe logs` when no supervisor runs: the same shape, with the task status
 * unknown (`live` says whether its process still runs, adopted by nobody yet).
 */
export function readLogsOffline(dataDir: string, workflowId: string, params: { task_id?: string; attempt?: number; tail?: number; since?: number }) {
  const names = list(taskLogDir(dataDir, workflowId));
  const tasks = [...new Set(names.filter((n) => n.endsWith('.log')).map((n) => n.replace(/\.\d+\.log$/, '')))].sort();
  const one = (taskId: string, wanted?: number) => {
    const attempts = attemptsWithLogs(names, taskId);
    const attempt = wanted ?? attempts.at(-1)!;
    if (!attempts.includes(attempt)) {
      throw new TroupeError('LOG_NOT_FOUND', `Task ${taskId} of ${workflowId} has no log for attempt ${attempt}`, { details: `Attempts with a log: ${attempts.join(', ')}` });
    }
    const live = processRuns(dataDir, workflowId, taskId, attempt);
    const read = readTaskLog(taskLogPath(dataDir, workflowId, taskId, attempt), {
      tail: params.tail ?? 100,
      ...(params.since === undefined ? {} : { since: params.since, final: !live }),
    }) ?? { lines: [], next_offset: 0, dropped_bytes: 0, size: 0 };
    return { task_id: taskId, status: 'unknown', attempts, attempt, ...read, live };
  };
  if (params.task_id === undefined) return { workflow_id: workflowId, tasks: tasks.map((t) => one(t)) };
  if (!tasks.includes(params.task_id)) {
    throw new TroupeError(names.length === 0 ? 'WORKFLOW_NOT_FOUND' : 'TASK_NOT_FOUND', `No log of task ${params.task_id} of ${workflowId} in ${dataDir}`, {
      details: names.length === 0 ? `No task of ${workflowId} has written a log there (is it the right --data-dir?)` : `Tasks with a log: ${tasks.join(', ')}`,
    });
  }
  return one(params.task_id, params.attempt);
}
