import { z } from 'zod';
import { isBuiltinHandler } from '../../actors/handler-inputs.js';
import type { HandlerProbe } from '../../actors/handler-registry.js';
import { isTerminal } from '../../machines/phase-records.js';
import type { LoadedCheckpoint } from '../../persistence/checkpoint-store.js';
import { phaseRecords } from '../scheduling/status.js';
import { compareRecordedFiles, type RecordedFile } from './recorded-files.js';
import { ENDED_STATUSES, statusOf, type WorkflowSnapshot } from '../scheduling/workflow-entry.js';

/** The files a checkpoint recorded (`include_files`, `checkpoint_files`), as the journal writes them: {@link RecordedFiles}. */
const recordedFiles = z.looseObject({
  files: z.array(z.looseObject({ path: z.string().min(1), sha256: z.string().nullable(), size: z.number().nullable(), mtime_ms: z.number().nullable() })),
});

export interface ChangedFile {
  path: string;
  /** as recorded; null fields: it was missing then */
  was: { sha256: string | null; size: number | null };
  /** null when the file is gone */
  now: { sha256: string | null; size: number | null } | null;
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

/** Compares the files the checkpoint recorded with the disk ({@link compareRecordedFiles}); each change adds a reason. */
async function compareFiles(loaded: LoadedCheckpoint, reasons: string[]): Promise<DependencyReport['files']> {
  const raw = (loaded.body as { files?: unknown }).files;
  if (raw === undefined || raw === null) return null;
  const parsed = recordedFiles.safeParse(raw);
  if (!parsed.success) {
    reasons.push(`the checkpoint's file list is not {files: [{path, sha256, size, mtime_ms}]}, so its files cannot be compared: ${z.prettifyError(parsed.error)}`);
    return { checked: 0, changed: [] };
  }
  const files = parsed.data.files as RecordedFile[];
  // the comparison reads each file once; what it read is what `now` reports
  const current = new Map<string, Promise<RecordedFile>>();
  const { changed, missing } = await compareRecordedFiles(files, current);
  const recorded = new Map(files.map((f) => [f.path, f]));
  const report: ChangedFile[] = [];
  for (const path of [...changed, ...missing]) {
    const was = recorded.get(path)!;
    const now = await current.get(path)!;
    report.push({ path, was: { sha256: was.sha256, size: was.size }, now: now.missing ? null : { sha256: now.sha256, size: now.size } });
    reasons.push(
      now.missing
        ? `file ${path} is gone since the checkpoint`
        : was.missing
          ? `file ${path} exists now but was missing at the checkpoint`
          : `file ${path} changed since the checkpoint (${was.size === now.size ? `same size, ${now.size} bytes, other content` : `${was.size} → ${now.size} bytes`})`,
    );
  }
  return { checked: files.length, changed: report };
}
