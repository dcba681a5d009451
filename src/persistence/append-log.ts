import { mkdir, open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from './atomic-file.js';
import { frame, readFrames, type LogRecord } from './log-frames.js';
import { cutOut, truncateTail } from './log-repair.js';
import { recordTime, scanLog, SEGMENT_FILE, segmentName, type LogDamage, type ScannedSegment, type SegmentInfo } from './log-scan.js';

/**
 * How far an append goes before it is acknowledged: `sync` after fsync,
 * `batch` after the write (fsync follows within `batchSyncMs`), `none` after
 * the write (fsync only on close).
 */
export type Durability = 'sync' | 'batch' | 'none';

export { frame, readFrames, type FrameDamage, type LogRecord } from './log-frames.js';
export type { LogDamage, SegmentInfo } from './log-scan.js';

interface Pending {
  seq: number;
  /** the time the record carries, for its segment's `newestAt` */
  at: number | null;
  bytes: Buffer;
  durability: Durability;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface AppendLogOptions {
  /** start a new segment past this size; @default 64 MiB */
  segmentBytes?: number;
  /** longest delay before a `batch` append is fsynced, ms; @default 50 */
  batchSyncMs?: number;
  /**
   * the lowest seq the next record may get: one past the highest seq anything
   * outside the log counts on (a checkpoint's `applied_seq`), so seqs never go
   * back even when the log was deleted or cut short; @default 1
   */
  minNextSeq?: number;
}

/**
 * The append-only log: framed msgpack records in segments
 * `<dir>/<first-seq>.log`, with group commit (appends that arrive while a
 * write is under way go out together, with one fsync for all that need it).
 * Opening it reads every good record back. A damaged frame costs only
 * itself: reading picks up at the next whole frame, and the damaged stretch
 * is cut out of its segment (kept in `damaged/`, see {@link cutOut}); a torn
 * tail of the last segment (nothing valid after it) is truncated. Seqs never
 * go back: the next is past the last record, past `minNextSeq - 1` and past
 * the first seq the last segment's name promises.
 */
export class AppendLog {
  readonly #dir: string;
  readonly #segmentBytes: number;
  readonly #batchSyncMs: number;
  #handle: FileHandle;
  #segmentSize: number;
  #nextSeq: number;
  #pending: Pending[] = [];
  #flushing: Promise<void> | null = null;
  #unsynced = false;
  #syncTimer: NodeJS.Timeout | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  /** what is known of every segment, kept up to date as records are written (retention runs while the log is open) */
  #sealed: SegmentInfo[];
  #current: SegmentInfo;

  private constructor(dir: string, handle: FileHandle, size: number, nextSeq: number, segments: SegmentInfo[], options: AppendLogOptions) {
    this.#dir = dir;
    this.#handle = handle;
    this.#segmentSize = size;
    this.#nextSeq = nextSeq;
    this.#sealed = segments.slice(0, -1);
    this.#current = segments.at(-1)!;
    this.#segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.#batchSyncMs = options.batchSyncMs ?? 50;
  }

  /**
   * Opens (or creates) the log in `dir`, returning it with every good record,
   * the damage found (and what was done about it), what is known of each
   * segment, and the highest seq read (0 for an empty log).
   */
  static async open(
    dir: string,
    options: AppendLogOptions = {},
  ): Promise<{ log: AppendLog; records: LogRecord[]; damage: LogDamage[]; segments: SegmentInfo[]; lastSeq: number }> {
    await mkdir(dir, { recursive: true });
    const scan = await scanLog(dir);
    for (const segment of scan.segments.filter((s) => s.bytes !== null)) await repair(dir, segment, scan.damage.filter((d) => d.segment === segment.info.name));
    const last = scan.segments.at(-1);
    const nextSeq = Math.max(scan.lastSeq + 1, options.minNextSeq ?? 1, last ? Number(last.info.name.slice(0, 12)) : 1);
    const infos = scan.segments.map((s) => s.info);
    let size = last?.size ?? 0;
    if (!last || (last.info.records === 0 && last.info.name !== segmentName(nextSeq))) {
      // a new log, or a last segment left empty whose name no longer says which seq comes next:
      // start one named after it (created before the empty one goes, so a crash leaves one or both)
      const name = segmentName(nextSeq);
      const created = await open(join(dir, name), 'a', 0o600);
      await created.close();
      await fsyncDir(dir);
      if (last) {
        await rm(join(dir, last.info.name), { force: true });
        await fsyncDir(dir);
        infos.pop();
      }
      infos.push({ name, sealed: false, records: 0, lastSeq: 0, newestAt: null });
      size = 0;
    }
    const handle = await open(join(dir, infos.at(-1)!.name), 'a', 0o600);
    return { log: new AppendLog(dir, handle, size, nextSeq, infos.map((i) => ({ ...i })), options), records: scan.records, damage: scan.damage, segments: infos, lastSeq: scan.lastSeq };
  }

  /** Every segment as it stands now, oldest first; the last is the one being written. */
  segments(): SegmentInfo[] {
    return [...this.#sealed.map((i) => ({ ...i })), { ...this.#current }];
  }

  /** Removes sealed segments (retention and compaction): the segment being written is never among them. */
  async dropSegments(names: readonly string[]): Promise<void> {
    const dropping = new Set(names.filter((name) => name !== this.#current.name));
    this.#sealed = this.#sealed.filter((i) => !dropping.has(i.name));
    for (const name of dropping) await rm(join(this.#dir, name), { force: true });
    if (dropping.size > 0) await fsyncDir(this.#dir);
  }

  /** The seq the next record will get. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /**
   * Appends a record, numbering it. Returns its seq at once, and a promise
   * that resolves when it is as durable as `durability` asks.
   */
  append(body: Record<string, unknown>, durability: Durability): { seq: number; durable: Promise<void> } {
    if (this.#closed) throw new Error('the log is closed');
    const seq = this.#nextSeq++;
    const record = { ...body, seq };
    const bytes = frame(record);
    const at = recordTime(record);
    const durable = new Promise<void>((resolve, reject) => this.#pending.push({ seq, at, bytes, durability, resolve, reject }));
    this.#schedule();
    return { seq, durable };
  }

  #schedule(): void {
    if (this.#flushing) return;
    this.#flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#flush());
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        if (this.#segmentSize >= this.#segmentBytes) await this.#rotate(batch[0]!.seq);
        const bytes = Buffer.concat(batch.map((p) => p.bytes));
        await this.#handle.write(bytes);
        this.#segmentSize += bytes.length;
        for (const p of batch) {
          this.#current.records++;
          this.#current.lastSeq = p.seq;
          if (p.at !== null) this.#current.newestAt = Math.max(this.#current.newestAt ?? p.at, p.at);
        }
        this.#unsynced = true;
        if (batch.some((p) => p.durability === 'sync')) await this.#sync();
        else if (batch.some((p) => p.durability === 'batch')) this.#armSync();
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    this.#flushing = null;
  }

  async #sync(): Promise<void> {
    if (!this.#unsynced) return;
    this.#unsynced = false;
    await this.#handle.sync();
  }

  #armSync(): void {
    if (this.#syncTimer) return;
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = null;
      void this.#sync().catch(() => {});
    }, this.#batchSyncMs);
    this.#syncTimer.unref();
  }

  /** Starts a new segment named after the first seq it will hold. */
  async #rotate(firstSeq: number): Promise<void> {
    await this.#sync();
    await this.#handle.close();
    const name = segmentName(firstSeq);
    this.#handle = await open(join(this.#dir, name), 'a', 0o600);
    this.#segmentSize = 0;
    this.#sealed.push({ ...this.#current, sealed: true });
    this.#current = { name, sealed: false, records: 0, lastSeq: 0, newestAt: null };
    await fsyncDir(this.#dir);
  }

  /** Every good record in the log, oldest first (flushes first). For admin operations: it reads all segments. */
  async readAll(): Promise<LogRecord[]> {
    await this.flush();
    const segments = (await readdir(this.#dir)).filter((n) => SEGMENT_FILE.test(n)).sort();
    const records: LogRecord[] = [];
    for (const name of segments) {
      // retention may drop a sealed segment between the listing and the read: it is simply gone
      const bytes = await readFile(join(this.#dir, name)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return null;
        throw error;
      });
      if (bytes) records.push(...readFrames(bytes, records.at(-1)?.seq ?? 0).records);
    }
    return records;
  }

  /** Writes and fsyncs everything appended so far. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    await this.#sync();
  }

  /** Flushes and closes; appends from the moment it is called are refused (not lost). */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await this.flush();
      if (this.#syncTimer) clearTimeout(this.#syncTimer);
      await this.#handle.close();
    })();
    return this.#closing;
  }
}

/**
 * Acts on the damage found in one segment: a torn tail alone is truncated in
 * place; anything else is cut out by rewriting the segment. If that rewrite
 * fails (a full disk), the stretches stay where they are, `skipped` (read
 * past at every open), and a torn tail is still truncated in place.
 */
async function repair(dir: string, segment: ScannedSegment, stretches: LogDamage[]): Promise<void> {
  const path = join(dir, segment.info.name);
  if (stretches.every((d) => d.action === 'truncated')) {
    await truncateTail(path, segment.goodBytes);
    segment.size = segment.goodBytes;
    return;
  }
  try {
    segment.size = await cutOut(dir, segment.info.name, segment.bytes!, stretches);
  } catch {
    for (const d of stretches) if (d.action === 'removed') d.action = 'skipped';
    if (stretches.some((d) => d.action === 'truncated')) {
      await truncateTail(path, segment.goodBytes);
      segment.size = segment.goodBytes;
    }
  }
}
