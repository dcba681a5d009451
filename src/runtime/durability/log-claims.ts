import type { CheckpointStore, LoadedCheckpoint, NewestValid } from '../../persistence/checkpoint-store.js';

/** What one workflow's checkpoint counts on the log holding: every record up to `applied_seq`. */
export interface LogClaim {
  workflow_id: string;
  /** the checkpoint that claims it (`<seq>-<trigger>`) */
  checkpoint: string;
  applied_seq: number;
}

/**
 * Checkpoints count on records the log does not hold: the log was deleted
 * or cut short. Records `log_last_seq + 1 .. claimed_seq` are gone, and
 * with them whatever was logged after (task outcomes a workflow logged after
 * its checkpoint: those tasks run again).
 */
export interface LogMissing {
  /** the highest seq the log holds; 0 when it holds none */
  log_last_seq: number;
  /** the highest seq a checkpoint counts as applied */
  claimed_seq: number;
  /** the checkpoints whose claim the log does not reach, highest first */
  claimed_by: LogClaim[];
}

/** The claim a loaded checkpoint makes, or null when its body names no seq. */
export function claimOf(workflowId: string, loaded: LoadedCheckpoint): LogClaim | null {
  const seq = (loaded.body as { applied_seq?: unknown } | null)?.applied_seq;
  return typeof seq === 'number' && Number.isSafeInteger(seq) ? { workflow_id: workflowId, checkpoint: loaded.info.id, applied_seq: seq } : null;
}

/** The highest seq any claim counts on; 0 when there is none. */
export const highestClaim = (claims: readonly LogClaim[]): number => claims.reduce((max, c) => Math.max(max, c.applied_seq), 0);

/** What the log lacks of what the checkpoints claim, or null when it holds all of it. */
export function missingFrom(claims: readonly LogClaim[], logLastSeq: number): LogMissing | null {
  const short = claims.filter((c) => c.applied_seq > logLastSeq).sort((a, b) => b.applied_seq - a.applied_seq || a.workflow_id.localeCompare(b.workflow_id));
  return short.length === 0 ? null : { log_last_seq: logLastSeq, claimed_seq: short[0]!.applied_seq, claimed_by: short };
}

/**
 * Loads the newest valid checkpoint of every workflow in `ids`, in order,
 * and returns each one's claim with the loads themselves (a failed load is
 * kept as it failed, for whoever uses it). The file store reads with
 * blocking calls (faster for thousands of small files), so the event loop
 * gets a turn every {@link YIELD_EVERY} workflows.
 */
export async function readClaims(store: CheckpointStore, ids: readonly string[]): Promise<{ claims: LogClaim[]; loads: Map<string, Promise<NewestValid>> }> {
  const loads = new Map<string, Promise<NewestValid>>();
  const claims: LogClaim[] = [];
  for (const [i, id] of ids.entries()) {
    if (i > 0 && i % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
    const load = store.loadNewestValid(id);
    loads.set(id, load);
    // a store that cannot be read at all claims nothing here; recovery meets the same error and reports it
    const loaded = await load.catch(() => null);
    const claim = loaded?.checkpoint ? claimOf(id, loaded.checkpoint) : null;
    if (claim) claims.push(claim);
  }
  return { claims, loads };
}

/** Workflows loaded between two turns of the event loop at start (~20-50 ms of work). */
const YIELD_EVERY = 100;
