import { relative } from 'node:path';
import { AppendLog, type Durability, type LogDamage, type LogRecord, type SegmentInfo } from '../../persistence/append-log.js';
import { FileCheckpointStore, type CheckpointStore, type LoadedCheckpoint } from '../../persistence/checkpoint-store.js';
import { dataDirLayout, WorkflowIndex, type WorkflowShelf } from '../../persistence/data-dir.js';
import { acquireLock, DataDirLockedError, LOCK_LEASE_MS } from '../../persistence/data-dir-lock.js';
import { DataDirUnsafeError, ensurePrivateDataDir } from '../../persistence/data-dir-safety.js';
import type { Clock } from '../../actors/clock.js';
import type { TaskError } from '../../machines/types.js';
import { WORKFLOW_MACHINE, type CheckpointBody, type CreatedCheckpoint, type Verdict } from './checkpoint-body.js';
import { highestClaim, missingFrom, readClaims, type LogMissing } from './log-claims.js';
import { PreloadedCheckpoints } from './preloaded-checkpoints.js';
import { recordFiles, workflowFilePaths } from './recorded-files.js';
import { TroupeError } from '../errors.js';
import { StorageHealth } from './storage-health.js';
import { idempotencyKey, statusOf, type WorkflowEntry, type WorkflowStatus } from '../scheduling/workflow-entry.js';
import { DEFAULTS } from '../defaults.js';

/** A task outcome as logged, before the actor sees it. Keyed by (workflow_id, epoch, task_id, attempt). */
export interface OutcomeRecord {
  kind: 'outcome';
  workflow_id: string;
  epoch: number;
  task_id: string;
  attempt: number;
  agent_id: string;
  ok: boolean;
  output: unknown;
  error: TaskError | null;
  duration_ms: number;
  /** when the outcome arrived */
  at: number;
  /** when a retry may start, decided (with its jitter) before logging so replay repeats it */
  retry_at: number;
}

/** What triggered a checkpoint; part of its file name. */
export type CheckpointTrigger =
  | 'create' | 'start' | 'pause' | 'resume' | 'cancel' | 'complete' | 'cleanup'
  /** `set-priority` */
  | 'priority'
  | 'phase' | 'end' | 'interval' | 'manual' | 'risky' | 'agent_failure' | 'restore' | 'rollback' | 'shutdown' | 'recovery' | 'import' | 'export'
  /** a person answered a task that waits for intervention */
  | 'retry_task' | 'skip_task'
  /** taken again once the data directory takes writes, for a workflow whose last checkpoint failed */
  | 'storage';

/** How one checkpoint is taken beyond its trigger. */
export interface CheckpointOptions {
  /** a name given with the manual `checkpoint` command */
  name?: string | null;
  /** record the workflow's files with their checksums; default: the workflow's `checkpoint_files` */
  includeFiles?: boolean;
  /** read the file back and verify it after the write; `restore` also restores it (into a scratch actor) */
  verify?: { restore?: (loaded: LoadedCheckpoint) => void };
  /** false: the caller announces it (with {@link Journal.announce}) once its own event is out */
  announce?: boolean;
}

/** The coded error for a data directory that cannot be opened: locked by a live supervisor, or writable by others. */
function dataDirError(dataDir: string, error: unknown): unknown {
  if (error instanceof DataDirLockedError) {
    if (error.ageMs !== null) {
      const seconds = Math.round(error.ageMs / 1000);
      return new TroupeError('DATA_DIR_LOCKED', `The data directory ${dataDir} is in use by a troupe supervisor on another host (pid ${error.pid} on ${error.hostname}, lock refreshed ${seconds}s ago)`, {
        details: `Lock file: ${error.path}. A process on another host (or in another container) cannot be probed from here: its lock is taken over once it has not been refreshed for ${LOCK_LEASE_MS / 1000}s`,
        suggestions: [`Stop the supervisor on ${error.hostname}, or use another --data-dir; if it no longer runs, start again ${Math.max(0, LOCK_LEASE_MS / 1000 - seconds)}s from now`],
      });
    }
    return new TroupeError('DATA_DIR_LOCKED', `The data directory ${dataDir} is in use by another troupe supervisor (pid ${error.pid})`, {
      details: `Lock file: ${error.path}`,
      suggestions: [`Stop process ${error.pid}, or attach to it, or use another --data-dir`],
    });
  }
  if (error instanceof DataDirUnsafeError) {
    return new TroupeError('DATA_DIR_UNSAFE', `The data directory ${dataDir} is not private to this user: ${error.message}`, {
      details:
        'troupe runs the commands stored in its data directory (checkpoints, logged outputs): one that another user can write into would let that user run commands as you. ' +
        `Fix: chown -R ${error.euid} ${dataDir} && chmod -R go-w ${dataDir} if you trust its content, or use another --data-dir`,
    });
  }
  return error;
}

/** The index shelf a workflow's record belongs on, by its status. */
export const shelfOf = (status: WorkflowStatus): WorkflowShelf =>
  status === 'failed' || status === 'cancelled' || status === 'compensated' || status === 'compensation_failed'
    ? 'failed'
    : status === 'completed' || status === 'partial' || status === 'archived'
      ? 'completed'
      : 'active';

/**
 * The hub's durable side: the data-directory lock, the append-only log
 * (events and task outcomes), the checkpoint store and the workflow index.
 */
export class Journal {
  readonly log: AppendLog;
  readonly checkpoints: CheckpointStore;
  readonly index: WorkflowIndex;
  readonly dataDir: string;
  /** whether the data directory takes writes: the log and the checkpoints report to it */
  readonly storage: StorageHealth;
  readonly #release: () => Promise<void>;
  readonly #clock: Clock;
  /** workflows whose newest checkpoint could not be written: taken again once writes succeed */
  readonly #behind = new Set<WorkflowEntry>();
  /** told after each checkpoint written (the hub writes the pool's records then) */
  onCheckpointWritten: (() => void) | null = null;
  /** told of each checkpoint written, to announce it (the hub publishes CHECKPOINT_CREATED) */
  onCheckpointCreated: ((entry: WorkflowEntry, created: CreatedCheckpoint) => void) | null = null;
  /** where a task's relative files and exec `cwd` start: the supervisor's cwd */
  readonly #cwd = process.cwd();
  /** the checkpoints directory, relative to the data directory, for the locations announced */
  readonly #checkpointsDir: string;
  /** the log position each workflow's newest written checkpoint covers */
  readonly #durable = new WeakMap<WorkflowEntry, number>();

  /** the config's `state_compression`: checkpoint bodies stored deflated, save-state bundles gzipped by default */
  readonly stateCompression: boolean;

  private constructor(dataDir: string, log: AppendLog, checkpoints: CheckpointStore, index: WorkflowIndex, release: () => Promise<void>, clock: Clock, storage: StorageHealth, stateCompression: boolean) {
    this.dataDir = dataDir;
    this.stateCompression = stateCompression;
    this.log = log;
    this.checkpoints = checkpoints;
    this.index = index;
    this.#release = release;
    this.#clock = clock;
    this.storage = storage;
    this.#checkpointsDir = relative(dataDir, dataDirLayout(dataDir).checkpoints);
  }

  /**
   * Takes the lock and opens the log, returning the journal with every good
   * log record, the damage found, and what the checkpoints count on that the
   * log does not hold (`missing`). A live holder of the lock is DATA_DIR_LOCKED.
   *
   * Before the log opens, the newest valid checkpoint of every workflow the
   * index lists is loaded, for the seq it claims: the log's next seq is past
   * every claim, so seqs never go back, even after the log was deleted or cut
   * short. Those loads are handed on to recovery through `checkpoints` (the
   * active workflows' only when `autoRecovery` is not off: nothing else would
   * take them), so no checkpoint is read twice.
   */
  static async open(
    dataDir: string,
    options: { clock: Clock; keepCheckpoints?: number; segmentBytes?: number; autoRecovery?: boolean; stateCompression?: boolean },
  ): Promise<{ journal: Journal; records: LogRecord[]; damage: LogDamage[]; missing: LogMissing | null; segments: SegmentInfo[]; tookOverLockFrom: number | null }> {
    const layout = dataDirLayout(dataDir);
    let lock;
    try {
      await ensurePrivateDataDir(dataDir);
      lock = await acquireLock(dataDir);
    } catch (error) {
      throw dataDirError(dataDir, error);
    }
    try {
      let journal: Journal | null = null;
      const storage = new StorageHealth(options.clock, {
        log: () => journal!.log.retry(),
        checkpoints: () => journal!.#checkpointAgain(),
      });
      const stateCompression = options.stateCompression ?? DEFAULTS.state_compression;
      const store = new FileCheckpointStore(layout.checkpoints, {
        ...(options.keepCheckpoints === undefined ? {} : { keep: options.keepCheckpoints }),
        compress: stateCompression,
      });
      const index = new WorkflowIndex(layout.workflows);
      const active = await index.list('active');
      const { claims, loads } = await readClaims(store, [...active, ...(await index.list('completed')), ...(await index.list('failed'))]);
      if (options.autoRecovery === false) for (const id of active) loads.delete(id);
      const { log, records, damage, segments, lastSeq } = await AppendLog.open(layout.events, {
        minNextSeq: highestClaim(claims) + 1,
        ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }),
        onStall: (stall) => (stall ? storage.failed('log', stall) : storage.succeeded('log')),
        onRejected: (error) => storage.refused(error),
      });
      journal = new Journal(dataDir, log, new PreloadedCheckpoints(store, loads), index, lock.release, options.clock, storage, stateCompression);
      return { journal, records, damage, missing: missingFrom(claims, lastSeq), segments, tookOverLockFrom: lock.tookOverFrom };
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** Logs a task outcome; `durable` resolves when it may be delivered to the actor. */
  appendOutcome(record: OutcomeRecord, durability: Durability): { seq: number; durable: Promise<void> } {
    // the log frames a numbered copy: the caller's record is never changed
    return this.log.append(record as unknown as Record<string, unknown>, durability);
  }

  /**
   * Checkpoints a workflow: its persisted snapshot is taken now, written in
   * order after the workflow's earlier checkpoints. Also keeps the workflow's
   * index record on the shelf its status belongs to, and announces the
   * checkpoint (unless `announce: false`). The files, when included, are
   * recorded as they are when the write's turn comes.
   */
  checkpoint(entry: WorkflowEntry, trigger: CheckpointTrigger, options: CheckpointOptions = {}): Promise<CreatedCheckpoint> {
    const snapshot = entry.actor.getSnapshot();
    // the log position this state covers: everything before it is either in the snapshot or not
    // this workflow's, except outcomes logged but not applied yet (replay must still see those)
    const covered = entry.pendingOutcomes.size > 0 ? Math.min(...entry.pendingOutcomes) - 1 : this.log.nextSeq - 1;
    const body: CheckpointBody = {
      workflow_id: entry.id,
      epoch: entry.epoch,
      applied_seq: covered,
      snapshot: entry.actor.getPersistedSnapshot(),
      in_flight: [...entry.inFlight].map(([taskId, f]) => ({
        task_id: taskId,
        attempt: f.attempt,
        agent_id: f.agentId,
        idempotency_key: idempotencyKey(entry, taskId),
      })),
    };
    const seq = ++entry.checkpointSeq;
    if (!this.#durable.has(entry)) this.#durable.set(entry, entry.checkpointedAppliedSeq);
    entry.checkpointedAppliedSeq = covered;
    const status = statusOf(snapshot);
    const name = options.name ?? null;
    const includeFiles = options.includeFiles ?? snapshot.context.spec.checkpointFiles === true;
    const header = {
      machine_id: WORKFLOW_MACHINE.id,
      machine_version: WORKFLOW_MACHINE.version,
      workflow_id: entry.id,
      seq,
      trigger,
      created_at: this.#clock.now(),
      epoch: entry.epoch,
      name,
    };
    const write = entry.checkpointChain.then(async () => {
      let written;
      try {
        if (includeFiles) body.files = await recordFiles(workflowFilePaths(snapshot.context.spec, this.#cwd));
        written = await this.checkpoints.writeDetailed(header, body);
        await this.index.put(shelfOf(status), { id: entry.id, name: snapshot.context.spec.name, status, updated_at: snapshot.context.updatedAt });
        this.#durable.set(entry, covered);
        entry.checkpointedAppliedSeq = Math.max(entry.checkpointedAppliedSeq, covered);
        this.#behind.delete(entry);
        this.storage.succeeded('checkpoints');
        this.onCheckpointWritten?.();
      } catch (error) {
        // what it would have covered is not durable: retention keeps the log it needs, the
        // interval trigger tries again, and it is taken again once writes succeed
        entry.checkpointedAppliedSeq = this.#durable.get(entry)!;
        // a failed `create` takes its workflow back: there is nothing to write again
        if (trigger !== 'create') this.#behind.add(entry);
        this.storage.failed('checkpoints', error as NodeJS.ErrnoException);
        throw error;
      }
      const created: CreatedCheckpoint = {
        ...written.info,
        header: written.header,
        bodyBytes: written.bodyBytes,
        storedBodyBytes: written.storedBodyBytes,
        location: `${this.#checkpointsDir}/${written.location}`,
        files: body.files ?? null,
        inFlight: body.in_flight,
        integrity: 'unknown',
        stateValidation: 'unknown',
      };
      if (options.verify) Object.assign(created, await this.#verify(created, options.verify.restore));
      if (options.announce !== false) this.announce(entry, created);
      return created;
    });
    entry.checkpointChain = write.catch(() => {});
    return write;
  }

  /** Reads a checkpoint just written back (and restores it, with `restore`): the verdicts of what was checked. */
  async #verify(created: CreatedCheckpoint, restore: ((loaded: LoadedCheckpoint) => void) | undefined) {
    let loaded: LoadedCheckpoint;
    try {
      loaded = await this.checkpoints.read(created);
    } catch (error) {
      return { integrity: 'failed' as Verdict, verifyError: error instanceof Error ? error.message : String(error) };
    }
    if (!restore) return { integrity: 'passed' as Verdict };
    try {
      restore(loaded);
      return { integrity: 'passed' as Verdict, stateValidation: 'passed' as Verdict };
    } catch (error) {
      return { integrity: 'passed' as Verdict, stateValidation: 'failed' as Verdict, verifyError: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Announces a checkpoint written with `announce: false`. */
  announce(entry: WorkflowEntry, created: CreatedCheckpoint): void {
    this.onCheckpointCreated?.(entry, created);
  }

  /** The storage probe for checkpoints: every workflow whose last checkpoint failed is checkpointed again. */
  async #checkpointAgain(): Promise<boolean> {
    const results = await Promise.allSettled([...this.#behind].map((entry) => this.checkpoint(entry, 'storage')));
    return results.every((r) => r.status === 'fulfilled');
  }

  /** Flushes the log and releases the lock. */
  async close(): Promise<void> {
    this.storage.close();
    try {
      await this.log.close();
    } finally {
      await this.#release();
    }
  }
}
