import type { LogDamage } from '../../persistence/append-log.js';
import { dataDirLayout, WorkflowIndex, type WorkflowShelf } from '../../persistence/data-dir.js';
import { FileCheckpointStore } from '../../persistence/checkpoint-store.js';
import { scanLog } from '../../persistence/log-scan.js';
import { isTroupeError } from '../errors.js';
import { claimOf, missingFrom, type LogClaim, type LogMissing } from './log-claims.js';
import { rehydrate } from './recovery.js';
import { statusOf } from '../scheduling/workflow-entry.js';

/** The verdict on one stored checkpoint, or on a workflow the index lists that has none (`missing`). */
export interface CheckpointVerdict {
  workflow_id: string;
  /** null for `missing` */
  checkpoint_id: string | null;
  verdict: 'ok' | 'corrupt' | 'incompatible' | 'missing';
  /** the workflow's status in it, when it restores */
  status: string | null;
  message: string | null;
}

/** What `troupe check` found in the log. */
export interface LogVerdict {
  segments: number;
  records: number;
  /** the highest seq the log holds; 0 when it holds none */
  last_seq: number;
  /** damaged stretches, each with what the next start does about it (`truncated` or `removed`) */
  damage: LogDamage[];
  /** what checkpoints count on that the log does not hold */
  missing: LogMissing | null;
  /** stretches earlier starts cut out of the log, kept in events/damaged/ */
  saved: string[];
}

/** Everything `troupe check` found. `ok` is false when a start would lose something or could not recover a workflow. */
export interface CheckReport {
  verdicts: CheckpointVerdict[];
  /** workflows that would not recover: no checkpoint restores */
  workflowsAtRisk: string[];
  /** active workflows whose task outcomes logged after their checkpoint may be lost: those tasks would run again */
  outcomesAtRisk: string[];
  log: LogVerdict;
  ok: boolean;
}

/** True when some record lost in `d` comes after `appliedSeq`, so replay would miss it. A torn tail loses only writes never acknowledged. */
function costs(d: LogDamage, appliedSeq: number): boolean {
  if (d.action === 'truncated') return false;
  return d.beforeSeq === null || d.beforeSeq - 1 > Math.max(appliedSeq, d.afterSeq);
}

/**
 * `troupe check`: restores every stored checkpoint against the current code
 * without running anything (no lock taken, nothing written) and gives each a
 * verdict; names every workflow the index lists that has no checkpoint; and
 * reads the whole log, reporting damaged frames and records the checkpoints
 * count on that it does not hold. Run it before upgrading, or after a crash
 * that worries you: `ok` is false when a workflow would not recover, when
 * the log is damaged or short (a torn tail alone is what a crash leaves, and
 * costs nothing acknowledged), or when recovery would lose task outcomes.
 *
 * @example
 * const { ok, verdicts, log } = await checkDataDir('.troupe');
 */
export async function checkDataDir(dataDir: string): Promise<CheckReport> {
  const layout = dataDirLayout(dataDir);
  const store = new FileCheckpointStore(layout.checkpoints);
  const index = new WorkflowIndex(layout.workflows);
  // `ids`, not `list`: check writes nothing, and `list` tidies a record left on two shelves (the ended one counts, as there)
  const shelves = new Map<string, WorkflowShelf>();
  for (const shelf of ['active', 'completed', 'failed'] as const) for (const id of await index.ids(shelf)) shelves.set(id, shelf);
  const verdicts: CheckpointVerdict[] = [];
  const atRisk: string[] = [];
  const claims = new Map<string, LogClaim>();
  for (const workflowId of [...new Set([...(await store.workflows()), ...shelves.keys()])].sort()) {
    const infos = await store.list(workflowId);
    if (infos.length === 0) {
      if (!shelves.has(workflowId)) continue;
      const message = `the index lists it (${shelves.get(workflowId)}) but it has no checkpoint: it cannot be recovered`;
      verdicts.push({ workflow_id: workflowId, checkpoint_id: null, verdict: 'missing', status: null, message });
      atRisk.push(workflowId);
      continue;
    }
    for (const info of infos) {
      const base = { workflow_id: workflowId, checkpoint_id: info.id };
      let verdict: CheckpointVerdict;
      try {
        const loaded = await store.read(info);
        // a checkpoint that passes its integrity check claims its seq whether or not this version can restore it
        const claim = claimOf(workflowId, loaded);
        if (claim && shelves.has(workflowId)) claims.set(workflowId, claim);
        try {
          const { actor } = rehydrate(loaded);
          verdict = { ...base, verdict: 'ok', status: statusOf(actor.getSnapshot()), message: null };
          actor.stop();
        } catch (error) {
          verdict = { ...base, verdict: isTroupeError(error, 'CHECKPOINT_INCOMPATIBLE') ? 'incompatible' : 'corrupt', status: null, message: error instanceof Error ? error.message : String(error) };
        }
      } catch (error) {
        verdict = { ...base, verdict: 'corrupt', status: null, message: error instanceof Error ? error.message : String(error) };
      }
      verdicts.push(verdict);
    }
    // recovery falls back to older checkpoints, so a workflow is at risk only when none restores
    if (!verdicts.some((v) => v.workflow_id === workflowId && v.verdict === 'ok')) atRisk.push(workflowId);
  }

  const scan = await scanLog(layout.events);
  const missing = missingFrom([...claims.values()], scan.lastSeq);
  // one that would not recover at all is named as such, not here
  const active = [...shelves].filter(([id, shelf]) => shelf === 'active' && !atRisk.includes(id)).map(([id]) => id);
  // a short log may have lost anything logged after a checkpoint; a damaged stretch only what it held
  const outcomesAtRisk = active.filter((id) => missing !== null || scan.damage.some((d) => costs(d, claims.get(id)?.applied_seq ?? 0)));
  const log: LogVerdict = { segments: scan.segments.length, records: scan.records.length, last_seq: scan.lastSeq, damage: scan.damage, missing, saved: scan.saved };
  const ok = atRisk.length === 0 && outcomesAtRisk.length === 0 && missing === null && scan.damage.every((d) => d.action === 'truncated');
  return { verdicts, workflowsAtRisk: atRisk, outcomesAtRisk, log, ok };
}
