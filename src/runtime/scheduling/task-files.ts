import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttemptFiles } from '../../actors/worker-protocol.js';
import { taskLogPath } from '../../actors/task-log.js';
import { spoolDir } from '../../actors/task-process.js';
import type { TaskSpec } from '../../machines/types.js';

/** Where a hub keeps task logs and process spools, and their bounds. */
export interface TaskFilesConfig {
  /** the data directory (a temporary folder for a hub without one) */
  root: string;
  /** a task log keeps about this many bytes of its end */
  logMaxBytes: number;
  /** how long a process group gets between SIGTERM and SIGKILL */
  killGraceMs: number;
  /** the root is a temporary folder of this hub's (no data directory): removed when it closes */
  temporary: boolean;
}

/** Task files in the data directory, or, for a hub in memory, in a temporary folder made on first use. */
export function taskFilesConfig(dataDir: string | undefined, logMaxBytes: number, killGraceMs: number): TaskFilesConfig {
  const temporary = dataDir === undefined;
  const root = dataDir ?? join(tmpdir(), `troupe-${process.pid}-${randomBytes(4).toString('hex')}`);
  return { root, logMaxBytes, killGraceMs, temporary };
}

/** A log write that failed, for `health`. */
export interface TaskLogError {
  workflow_id: string;
  task_id: string;
  attempt: number;
  message: string;
  at: string;
}

/** The files of one attempt of one task, as the worker gets them. */
export function attemptFiles(config: TaskFilesConfig, workflowId: string, epoch: number, spec: TaskSpec, attempt: number): AttemptFiles {
  return {
    log: taskLogPath(config.root, workflowId, spec.id, attempt),
    spool: spoolDir(config.root, workflowId, epoch, spec.id, attempt),
    logMaxBytes: config.logMaxBytes,
    onRecovery: spec.onRecovery ?? 'adopt',
    killGraceMs: config.killGraceMs,
  };
}
