import { setTimeout as sleep } from 'node:timers/promises';
import { dataDirLayout, readLogsOffline, TroupeError } from '../index.js';
import type { Palette } from './format.js';
import { NotListeningError, SocketClient } from './socket-client.js';

/** One task's log as the `logs` operation answers it. */
interface TaskLog {
  task_id: string;
  status: string;
  attempts: number[];
  attempt: number | null;
  lines: string[];
  next_offset: number;
  live: boolean;
}

type LogsParams = { task_id?: string; attempt?: number; tail?: number; since?: number };
/** Answers `logs` (through the supervisor, or from the data directory); throws the error response. */
type Source = (params: LogsParams) => Promise<TaskLog | { workflow_status?: string; tasks: TaskLog[] }>;

const FOLLOW_EVERY_MS = 500;
const ENDED_TASK = new Set(['completed', 'failed', 'skipped', 'cancelled']);
const ENDED_WORKFLOW = new Set(['completed', 'partial', 'failed', 'cancelled', 'archived', 'compensated', 'compensation_failed']);

export interface LogsOptions {
  workflowId: string;
  taskId?: string;
  attempt?: number;
  tail: number;
  follow: boolean;
  palette: Palette;
  out: NodeJS.WritableStream;
  signal: AbortSignal;
}

/** The running supervisor's `logs`, or null when none listens. */
async function supervisorSource(dataDir: string, workflowId: string): Promise<{ source: Source; close(): void } | null> {
  let client: SocketClient;
  try {
    client = await SocketClient.connect(dataDirLayout(dataDir).socket, { name: 'logs' });
  } catch (error) {
    if (error instanceof NotListeningError) return null;
    throw error;
  }
  const source: Source = async (parameters) => {
    const response = await client.execute({ operation: 'logs', workflow_id: workflowId, parameters });
    if (response.status === 'error') throw response.error;
    return response.result as TaskLog;
  };
  return { source, close: () => client.close() };
}

/**
 * `troupe logs ID [TASK] [--attempt N] [--tail N] [-f]`: what a workflow's
 * tasks printed, through the running supervisor or, when none runs, straight
 * from the data directory. `-f` follows until the task (or, without TASK, the
 * workflow) has ended; a task that is retried is followed into its next attempt.
 */
export async function runLogs(dataDir: string, options: LogsOptions): Promise<number> {
  const { out, palette: p } = options;
  const online = await supervisorSource(dataDir, options.workflowId);
  const source: Source = online?.source ?? (async (params) => readLogsOffline(dataDir, options.workflowId, params) as never);
  const print = (lines: string[], prefix = '') => {
    for (const line of lines) out.write(`${prefix}${line}\n`);
  };
  const pause = () => sleep(FOLLOW_EVERY_MS, undefined, { signal: options.signal }).then(() => true, () => false);
  try {
    if (options.taskId !== undefined) {
      const first = (await source({ task_id: options.taskId, tail: options.tail, ...(options.attempt === undefined ? {} : { attempt: options.attempt }) })) as TaskLog;
      print(first.lines);
      if (options.follow) await followTask(source, first, options.taskId, print, pause, options.attempt !== undefined);
      return 0;
    }
    const all = (await source({ tail: options.tail })) as { workflow_status?: string; tasks: TaskLog[] };
    for (const task of all.tasks) {
      out.write(`${p.bold(`── ${task.task_id}`)} ${p.dim(`attempt ${task.attempt}, ${task.status}`)}\n`);
      print(task.lines);
    }
    if (options.follow) await followAll(source, all, print, pause, p);
    return 0;
  } catch (error) {
    const e = error instanceof TroupeError ? error : (error as { code?: string; message?: string; details?: string });
    process.stderr.write(`troupe: ${e.code ?? 'ERROR'}: ${e.message ?? String(error)}${e.details ? `\n  ${e.details}` : ''}\n`);
    return 1;
  } finally {
    online?.close();
  }
}

async function followTask(source: Source, first: TaskLog, taskId: string, print: (lines: string[]) => void, pause: () => Promise<boolean>, pinned: boolean): Promise<void> {
  let current = first;
  let attempt = first.attempt;
  let offset = first.next_offset;
  while (current.live || !ENDED_TASK.has(current.status)) {
    // offline the status is unknown: the log ends when its process does
    if (!current.live && current.status === 'unknown') return;
    if (!(await pause())) return;
    current = (await source(attempt === null ? { task_id: taskId, tail: 100_000 } : { task_id: taskId, attempt, since: offset })) as TaskLog;
    if (attempt === null && current.attempt !== null) {
      attempt = current.attempt;
    }
    print(current.lines);
    offset = current.next_offset;
    // a retry writes a new attempt's log: follow it from its start
    const newest = current.attempts.at(-1);
    if (!pinned && !current.live && newest !== undefined && attempt !== null && newest > attempt) {
      attempt = newest;
      offset = 0;
    }
  }
}

async function followAll(source: Source, first: { workflow_status?: string; tasks: TaskLog[] }, print: (lines: string[], prefix?: string) => void, pause: () => Promise<boolean>, p: Palette): Promise<void> {
  const offsets = new Map(first.tasks.map((t) => [`${t.task_id}.${t.attempt}`, t.next_offset]));
  let state = first;
  const over = () => !state.tasks.some((t) => t.live) && (state.workflow_status === undefined || ENDED_WORKFLOW.has(state.workflow_status));
  while (!over()) {
    if (!(await pause())) return;
    state = (await source({ tail: 1 })) as typeof state;
    for (const task of state.tasks) {
      const key = `${task.task_id}.${task.attempt}`;
      const read = (await source({ task_id: task.task_id, attempt: task.attempt!, since: offsets.get(key) ?? 0 })) as TaskLog;
      print(read.lines, p.dim(`[${task.task_id}] `));
      offsets.set(key, read.next_offset);
    }
  }
}
