import { dataDirLayout } from '../../persistence/data-dir.js';
import { packr } from '../../persistence/checkpoint-codec.js';
import { readStateFile, writeStateFile } from '../../persistence/state-file.js';
import { parsePoolRecords, POOL_FILE } from '../agents/pool-records.js';
import type { EventRecord } from '../events/event-record.js';
import type { HubState } from '../hub-state.js';
import { KpiFold } from '../metrics/kpi-fold.js';
import { foldFrom, KPI_FILE, snapshotOf } from '../metrics/kpi-snapshot.js';
import type { Journal } from './journal.js';
import type { StateFilesReport } from './recovery.js';

const why = (error: unknown) => (error instanceof Error ? error.message.split('\n')[0]! : String(error));

/**
 * The data directory's state files beside the checkpoints:
 * `agent_pools/pool.ckpt` (each agent's performance record), written after
 * checkpoints when the records changed and at shutdown; and
 * `metrics/kpis.ckpt` (the KPI fold), written at shutdown and before
 * retention drops log segments (the log holds everything after it, so it
 * need not be fresher). Writes are atomic and checksummed, one at a time,
 * the newest state last; a failed write is reported once as
 * ERROR_ENCOUNTERED and tried again at the next occasion.
 */
export class StateFiles {
  readonly #state: HubState;
  readonly #journal: Journal;
  readonly #paths;
  #chain: Promise<void> = Promise.resolve();
  #poolQueued = false;
  /** the pool body last written: an unchanged pool is not written again */
  #lastPool: Buffer | null = null;
  #lastError: string | null = null;

  constructor(state: HubState, journal: Journal) {
    this.#state = state;
    this.#journal = journal;
    this.#paths = dataDirLayout(journal.dataDir);
  }

  /**
   * At start, before anything new is published: the pool gets its agents
   * back, and the KPI fold its saved state plus the log's events after it
   * (all of `events` when there is no saved state). A file that is torn,
   * corrupt or of another format is reported and left for the next write
   * to replace; the part it held starts fresh.
   */
  async load(events: readonly EventRecord[]): Promise<StateFilesReport> {
    const pool = await readStateFile(this.#paths.poolRecords, POOL_FILE.kind, POOL_FILE.version);
    let poolStatus: StateFilesReport['pool'] = { file: this.#paths.poolRecords, status: pool.status === 'ok' ? 'restored' : pool.status, agents: 0, ...(pool.status === 'corrupt' ? { reason: pool.reason } : {}) };
    if (pool.status === 'ok') {
      try {
        poolStatus.agents = this.#state.pool.restore(parsePoolRecords(pool.body)).length;
      } catch (error) {
        poolStatus = { ...poolStatus, status: 'corrupt', reason: `not an agent pool's records: ${why(error)}` };
      }
    }
    // what the file holds now (or a fresh pool's records): written again only once they change
    this.#lastPool = packr.pack(this.#state.pool.records());
    const saved = await readStateFile(this.#paths.kpiTotals, KPI_FILE.kind, KPI_FILE.version);
    let kpiStatus: StateFilesReport['kpis'] = { file: this.#paths.kpiTotals, status: saved.status === 'ok' ? 'restored' : saved.status, replayed_events: 0, ...(saved.status === 'corrupt' ? { reason: saved.reason } : {}) };
    let fold = new KpiFold();
    if (saved.status === 'ok') {
      try {
        fold = foldFrom(saved.body);
      } catch (error) {
        kpiStatus = { ...kpiStatus, status: 'corrupt', reason: why(error) };
      }
    }
    const after = fold.lastSeq;
    for (const event of events) {
      if (event.seq <= after) continue;
      fold.apply(event);
      kpiStatus.replayed_events++;
    }
    this.#state.kpis = fold;
    for (const found of [poolStatus, kpiStatus]) {
      if (found.status !== 'corrupt') continue;
      this.#state.bus.publish({
        type: 'ERROR_ENCOUNTERED',
        severity: 'warning',
        data: { component: found === poolStatus ? 'agent-pool' : 'metrics', file: found.file, reason: found.reason, action: found === poolStatus ? 'the pool starts with fresh performance records' : 'the KPIs start from the events the log still holds' },
      });
    }
    return { pool: poolStatus, kpis: kpiStatus };
  }

  /** After a checkpoint: pool.ckpt is written again if the records changed (at most one write waits behind the one under way). */
  poolChanged(): void {
    if (this.#poolQueued) return;
    this.#poolQueued = true;
    this.#chain = this.#chain.then(() => {
      this.#poolQueued = false;
      return this.#guard(this.#writePool());
    });
  }

  /** Both files, now (shutdown; before retention drops log segments). Never rejects: a failure is reported. */
  saveAll(): Promise<void> {
    this.#chain = this.#chain.then(() => this.#guard(Promise.all([this.#writePool(), this.#writeKpis()]).then(() => {})));
    return this.#chain;
  }

  async #writePool(): Promise<void> {
    const body = this.#state.pool.records();
    const bytes = packr.pack(body);
    if (this.#lastPool?.equals(bytes)) return;
    await writeStateFile(this.#paths.poolRecords, POOL_FILE.kind, POOL_FILE.version, this.#state.clock.now(), body);
    this.#lastPool = bytes;
  }

  async #writeKpis(): Promise<void> {
    // taken now; the log is flushed before the file claims to cover it, so no event it counts can be lost
    // from the log by a crash and its seq given out again
    const snapshot = snapshotOf(this.#state.kpis);
    await this.#journal.log.flush();
    await writeStateFile(this.#paths.kpiTotals, KPI_FILE.kind, KPI_FILE.version, this.#state.clock.now(), snapshot);
  }

  async #guard(write: Promise<void>): Promise<void> {
    try {
      await write;
      this.#lastError = null;
    } catch (error) {
      const message = why(error);
      if (message === this.#lastError) return;
      this.#lastError = message;
      this.#state.bus.publish({ type: 'ERROR_ENCOUNTERED', severity: 'warning', data: { component: 'state-files', message: `Could not write the pool's or the KPIs' state file: ${message}` } });
    }
  }
}
