import type { Clock, TimerHandle } from '../../actors/clock.js';
import { formatDuration } from '../durations.js';

/** The parts of the data directory that are written while the hub runs. */
export type StoragePart = 'log' | 'checkpoints';

/** What cannot be written now. */
export interface StorageTrouble {
  part: StoragePart;
  /** the errno code: ENOSPC, EDQUOT, EIO, EROFS, … */
  code: string;
  message: string;
  /** when it was first seen, epoch ms on the hub's clock */
  since: number;
}

/** What {@link StorageHealth} tells its listeners. */
export type StorageReport =
  | { type: 'unwritable'; troubles: StorageTrouble[] }
  | { type: 'writable'; unwritableMs: number }
  | { type: 'record_refused'; code: string; message: string };

/** errno codes that mean the storage, not the caller, is at fault. */
const STORAGE_ERRNOS: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EFBIG', 'EMFILE', 'ENFILE']);

/** True for an error that says the data directory cannot be written now (a full disk, a failing one). */
export function isStorageError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && STORAGE_ERRNOS.has(code);
}

/** How often writes are tried again while the storage refuses them, on the hub's clock. */
export const STORAGE_PROBE_MS = 2_000;

/**
 * Whether the data directory takes writes. The log and the checkpoint
 * writer report failures (a full disk: ENOSPC, EDQUOT; a failing one: EIO)
 * and successes; while any part cannot be written the hub is degraded: it
 * dispatches no new task (an outcome it could not log would be lost) and
 * keeps answering commands. Every {@link STORAGE_PROBE_MS} on the clock the
 * probe tries the failed parts again; once all succeed, listeners hear
 * `writable` and the hub resumes.
 *
 * @example
 * const health = new StorageHealth(clock, { log: () => log.retry(), checkpoints: probeDir });
 * health.failed('checkpoints', error); // ENOSPC: listeners hear 'unwritable'
 */
export class StorageHealth {
  readonly #clock: Clock;
  readonly #probes: Record<StoragePart, () => Promise<boolean>>;
  readonly #troubles = new Map<StoragePart, StorageTrouble>();
  readonly #listeners = new Set<(report: StorageReport) => void>();
  #timer: TimerHandle | null = null;
  /** when the storage stopped taking writes (the first trouble of this spell) */
  #since = 0;
  #probing = false;
  #closed = false;

  constructor(clock: Clock, probes: Record<StoragePart, () => Promise<boolean>>) {
    this.#clock = clock;
    this.#probes = probes;
  }

  /** What cannot be written now; empty when everything can. */
  get troubles(): StorageTrouble[] {
    return [...this.#troubles.values()].map((t) => ({ ...t }));
  }

  /** True while some part of the data directory cannot be written. */
  get degraded(): boolean {
    return this.#troubles.size > 0;
  }

  /** Listens to what happens; returns the function that stops listening. */
  onReport(listener: (report: StorageReport) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A write of `part` failed; only storage errors ({@link isStorageError}) count. */
  failed(part: StoragePart, error: { code?: unknown; message?: unknown }): void {
    if (this.#closed || !isStorageError(error)) return;
    const first = !this.degraded;
    const known = this.#troubles.get(part);
    this.#troubles.set(part, { part, code: error.code, message: String(error.message ?? error.code), since: known?.since ?? this.#clock.now() });
    if (known) return;
    if (first) {
      this.#since = this.#clock.now();
      this.#arm();
    }
    this.#tell({ type: 'unwritable', troubles: this.troubles });
  }

  /** A write of `part` succeeded. */
  succeeded(part: StoragePart): void {
    if (!this.#troubles.delete(part) || this.degraded) return;
    this.#timer?.cancel();
    this.#timer = null;
    this.#tell({ type: 'writable', unwritableMs: this.#clock.now() - this.#since });
  }

  /** The log refused a record it cannot frame (nothing to do with the storage, but the same listeners report it). */
  refused(error: { code: string; message: string }): void {
    this.#tell({ type: 'record_refused', code: error.code, message: error.message });
  }

  /** Stops probing. */
  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = null;
  }

  /** A short text for events and `health`: what fails, since when, what happens meanwhile. */
  describe(): string {
    const parts = this.troubles.map((t) => `${t.part === 'log' ? 'the log' : 'checkpoints'}: ${t.code} (${t.message}), for ${formatDuration(this.#clock.now() - t.since)}`);
    return `The data directory cannot be written (${parts.join('; ')}): no new task is dispatched, commands are answered, writes are tried again every ${formatDuration(STORAGE_PROBE_MS)}`;
  }

  #arm(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = this.#clock.setTimer(STORAGE_PROBE_MS, () => {
      this.#timer = null;
      void this.#probe();
    });
  }

  async #probe(): Promise<void> {
    if (this.#probing || this.#closed) return;
    this.#probing = true;
    try {
      for (const part of [...this.#troubles.keys()]) {
        const ok = await this.#probes[part]().catch(() => false);
        if (ok) this.succeeded(part);
      }
    } finally {
      this.#probing = false;
      if (this.degraded) this.#arm();
    }
  }

  #tell(report: StorageReport): void {
    // the journal is closing: its log's last flush must not publish into a closed log
    if (this.#closed) return;
    for (const listener of this.#listeners) {
      try {
        listener(report);
      } catch {
        // a listener's bug must not stop the others or the writer that reported
      }
    }
  }
}
