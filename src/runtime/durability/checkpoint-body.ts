import type { Snapshot } from 'xstate';
import type { CheckpointHeader } from '../../persistence/checkpoint-codec.js';
import type { CheckpointInfo } from '../../persistence/checkpoint-store.js';
import { TroupeError } from '../errors.js';
import type { RecordedFiles } from './recorded-files.js';

/** The id and version of the machine whose snapshots the checkpoints hold. Bump the version when the statecharts change shape. */
export const WORKFLOW_MACHINE = { id: 'workflow', version: 2 } as const;

/** What a checkpoint holds beside XState's persisted snapshot: what XState does not keep. */
export interface CheckpointBody {
  workflow_id: string;
  epoch: number;
  /** seq of the last log record applied to the snapshot: replay starts after it */
  applied_seq: number;
  /** `actor.getPersistedSnapshot()`, deep: the invoked phase child is inside */
  snapshot: Snapshot<unknown>;
  /** tasks running when the checkpoint was taken; with no outcome in the log they run again */
  in_flight: { task_id: string; attempt: number; agent_id: string; idempotency_key: string }[];
  /** the files the workflow names, with their checksums (`include_files`, `checkpoint_files`); absent when not recorded */
  files?: RecordedFiles;
}

/** A verdict of the protocol's `validation_results`: `passed` only for what was actually checked. */
export type Verdict = 'passed' | 'failed' | 'unknown';

/** A checkpoint just written, with what the writer knows of it: announced without reading the file back. */
export interface CreatedCheckpoint extends CheckpointInfo {
  header: CheckpointHeader;
  /** the packed body's length, and its length as stored */
  bodyBytes: number;
  storedBodyBytes: number;
  /** relative to the data directory */
  location: string;
  files: RecordedFiles | null;
  inFlight: CheckpointBody['in_flight'];
  /** read back and verified (sha256s, decode) after the write */
  integrity: Verdict;
  /** restored into a scratch actor after the write */
  stateValidation: Verdict;
  /** what the failed check said */
  verifyError?: string;
}

/** A migration lifts a body written by machine version `from` to `from + 1`. */
export type Migration = (body: CheckpointBody) => CheckpointBody;

/**
 * Registered migrations, by the version they start from. A checkpoint from a
 * version with no path to the current one is refused with
 * CHECKPOINT_INCOMPATIBLE, never loaded into a silently broken actor.
 */
export const MIGRATIONS: ReadonlyMap<number, Migration> = new Map([
  // 2 leaves the live phase's task specs out of the snapshot (the workflow's spec holds them); a version 1
  // snapshot, which still has them, restores as it is. The bump makes a version 1 troupe refuse version 2 files.
  [1, (body) => body],
]);

/** Brings a body written by `version` up to the current machine version, or throws CHECKPOINT_INCOMPATIBLE. */
export function migrate(body: CheckpointBody, machineId: string, version: number, migrations = MIGRATIONS): CheckpointBody {
  if (machineId !== WORKFLOW_MACHINE.id) {
    throw new TroupeError('CHECKPOINT_INCOMPATIBLE', `The checkpoint holds a ${machineId} machine, not a ${WORKFLOW_MACHINE.id}`);
  }
  let current = body;
  for (let v = version; v < WORKFLOW_MACHINE.version; v++) {
    const step = migrations.get(v);
    if (!step) {
      throw new TroupeError('CHECKPOINT_INCOMPATIBLE', `Checkpoint of ${body.workflow_id} was written by workflow machine version ${version}; this troupe runs version ${WORKFLOW_MACHINE.version} and has no migration from ${v}`, {
        details: 'Run the troupe version that wrote it to finish the workflow, or add a migration',
      });
    }
    current = step(current);
  }
  if (version > WORKFLOW_MACHINE.version) {
    throw new TroupeError('CHECKPOINT_INCOMPATIBLE', `Checkpoint of ${body.workflow_id} was written by workflow machine version ${version}, newer than this troupe's ${WORKFLOW_MACHINE.version}`, {
      details: 'Upgrade troupe before starting it on this data directory',
    });
  }
  return current;
}
