import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { isBuiltinHandler } from '../../actors/handler-inputs.js';
import type { HandlerProbe } from '../../actors/handler-registry.js';
import { isTerminal } from '../../machines/phase-records.js';
import type { LoadedCheckpoint } from '../../persistence/checkpoint-store.js';
import { phaseRecords } from '../scheduling/status.js';
import { ENDED_STATUSES, statusOf, type WorkflowSnapshot } from '../scheduling/workflow-entry.js';

/** A file a checkpoint recorded (`checkpoint {"include_files":true}`), as it was then. */
const recordedFiles = z.array(z.looseObject({ path: z.string().min(1), sha256: z.string(), size: z.number() }));

export interface ChangedFile {
  path: string;
  was: { sha256: string; size: number };
  /** null when the file is gone or cannot be read */
  now: { sha256: string; size: number } | null;
}

/** What `restore {"verify_dependencies":true}` found; the restore goes ahead only when it `passed`. */
export interface DependencyReport {
  dependency_validation: 'passed' | 'failed';
  /** tasks that run again from the checkpoint's state: their handlers and dependencies were checked */
  tasks_checked: number;
  /** why it failed, one sentence each; empty when it passed */
  reasons: string[];
  /** the files the checkpoint recorded, compared with the disk now; null when it recorded none */
  files: { checked: number; changed: ChangedFile[] } | null;
}

/**
 * Checks, before a restore changes anything, what the checkpoint's work
 * depends on: every task that would run again from its state has a handler
 * that can run here, and dependencies that exist and did not end in a way
 * that keeps it from running (a task without `when` needs each dependency
 * completed); and every file the checkpoint recorded still has its size and
 * sha256 (restoring state does not restore files, so a changed file means
 * the restored work would see another world).
 */
export async function verifyDependencies(snapshot: WorkflowSnapshot, loaded: LoadedCheckpoint, handlers: ReadonlyMap<string, HandlerProbe>): Promise<DependencyReport> {
  const reasons: string[] = [];
  const phases = phaseRecords(snapshot);
  const records = new Map(phases.flatMap((p) => p.tasks.map((t) => [t.id, t] as const)));
  const ended = ENDED_STATUSES.has(statusOf(snapshot));
  const toRun = ended ? [] : phases.flatMap((p) => p.spec.tasks.filter((spec) => !isTerminal(records.get(spec.id)!)));
  for (const task of toRun) {
    const handler = handlerProblem(task.handler, handlers);
    if (handler) reasons.push(`task ${task.id}: ${handler}`);
    for (const dep of task.dependsOn) {
      const record = records.get(dep);
      if (!record) reasons.push(`task ${task.id} depends on ${dep}, which the workflow does not have`);
      else if (task.when === undefined && isTerminal(record) && record.status !== 'completed') {
        reasons.push(`task ${task.id} depends on ${dep}, which ended ${record.status} in the checkpoint: it would never run`);
      }
    }
  }
  const files = await compareFiles(loaded, reasons);
  return { dependency_validation: reasons.length === 0 ? 'passed' : 'failed', tasks_checked: toRun.length, reasons, files };
}

function handlerProblem(handler: string, handlers: ReadonlyMap<string, HandlerProbe>): string | null {
  if (handler === 'approval' || isBuiltinHandler(handler)) return null;
  const probe = handlers.get(handler);
  if (!probe) return `its handler ${handler} is not configured here (the config's 'handlers' names user handlers)`;
  return probe.ok ? null : `its handler ${handler} is configured but cannot run: ${probe.reason}`;
}

/** Compares the files the checkpoint recorded (body or header `files`) with the disk; each change adds a reason. */
async function compareFiles(loaded: LoadedCheckpoint, reasons: string[]): Promise<DependencyReport['files']> {
  const raw = (loaded.body as { files?: unknown }).files ?? (loaded.header as { files?: unknown }).files;
  if (raw === undefined || raw === null) return null;
  const parsed = recordedFiles.safeParse(raw);
  if (!parsed.success) {
    reasons.push(`the checkpoint's file list is not [{path, sha256, size}], so its files cannot be compared: ${z.prettifyError(parsed.error)}`);
    return { checked: 0, changed: [] };
  }
  const changed: ChangedFile[] = [];
  for (const file of parsed.data) {
    const now = await fingerprint(resolve(file.path));
    if (now !== null && now.sha256 === file.sha256 && now.size === file.size) continue;
    changed.push({ path: file.path, was: { sha256: file.sha256, size: file.size }, now });
    reasons.push(now === null ? `file ${file.path} is gone (or unreadable) since the checkpoint` : `file ${file.path} changed since the checkpoint (${file.size} → ${now.size} bytes)`);
  }
  return { checked: parsed.data.length, changed };
}

/** A regular file's size and sha256, streamed; null when it is missing, unreadable or not a regular file. */
async function fingerprint(path: string): Promise<{ sha256: string; size: number } | null> {
  try {
    if (!(await stat(path)).isFile()) return null;
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    return { sha256: hash.digest('hex'), size };
  } catch {
    return null;
  }
}
