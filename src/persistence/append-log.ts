import { open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from './atomic-file.js';
import { mkdirPrivate } from './private-files.js';
import { frame, LogRecordError, readFrames, type LogRecord } from './log-frames.js';
import { cutOut, truncateTail } from './log-repair.js';
import { recordTime, scanLog, SEGMENT_FILE, segmentName, type LogDamage, type ScannedSegment, type SegmentInfo } from './log-scan.js';
import { SegmentWriter, type OpenSegment } from './segment-writer.js';

/**
 * How far an append goes before it is acknowledged: `sync` after fsync,
 * `batch` after the write (fsync follows within `batchSyncMs`), `none` after
 * the write (fsync only on close).
 */
export type Durability = 'sync' | 'batch' | 'none';

export { frame, LogRecordError, readFrames, type FrameDamage, type LogRecord } from './log-frames.js';
export type { LogDamage, SegmentInfo } from './log-scan.js';

/** The error an append gets that a stalled log cannot take: it carries the stall's errno code. */
const stalledError = (stall: LogStall, what: string) => Object.assign(new Error(`The log cannot write (${stall.code}: ${stall.message}) and ${what}`), { code: stall.code });

/** Marks a promise handled (a caller may ignore it) and hands it on: awaiting it still sees the rejection. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

interface Pending {
  seq: number;
  /** the time the record carries, for its segment's `newestAt` */
  at: number | null;
  bytes: Buffer;
  durability: Durability;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Why the log cannot write (a full or failing disk): appends wait in memory, in order, until {@link AppendLog.retry} writes them. */
export interface LogStall {
  /** epoch ms of the first failed write; the errno code (ENOSPC, EDQUOT, EIO, …) and message of the last */
  since: number;
  code: string;
  message: string;
  /** records waiting to be written, and their bytes */
  pendingRecords: number;
  pendingBytes: number;
}

export interface AppendLogOptions {
  /** start a new segment past this size; @default 64 MiB */
  segmentBytes?: number;
  /** longest delay before a `batch` append is fsynced, ms; @default 50 */
  batchSyncMs?: number;
  /** Told when a write or fsync fails (the log stalls: appends wait, none lost or torn), and with null when a retry wrote them all. */
  onStall?(stall: LogStall | null): void;
  /** Told of a record that cannot be framed (unencodable, too large): it is not written and its `durable` rejects. */
  onRejected?(error: LogRecordError): void;
  /** @internal opens segment files; @default fs/promises `open` */
  openSegment?: OpenSegment;
  /**
   * the lowest seq the next record may get: one past the highest seq anything
   * outside the log counts on (a checkpoint's `applied_seq`), so seqs never go
   * back even when the log was deleted or cut short; @default 1
   */
  minNextSeq?: number;
}

/** While stalled, appends beyond this many waiting bytes are refused at once (memory is not a log). */
export const MAX_STALLED_BYTES = 64 * 1024 * 1024;

/**
 * The append-only log: framed msgpack records in segments
 * `<dir>/<first-seq>.log`, with group commit (appends that arrive while a
 * write is under way go out together, with one fsync for all that need it).
 * Opening it reads every good record back and truncates a torn tail of the
 * last segment to its last good frame.
 */
export class AppendLog {
  readonly #dir: string;
  readonly #segmentBytes: number;
  readonly #batchSyncMs: number;
  readonly #writer: SegmentWriter;
  #nextSeq: number;
  #pending: Pending[] = [];
  #flushing: Promise<void> | null = null;
  #syncTimer: NodeJS.Timeout | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  #stall: Pick<LogStall, 'since' | 'code' | 'message'> | null = null;
  readonly #options: AppendLogOptions;
  /** what is known of every segment, kept up to date as records are written (retention runs while the log is open) */
  #sealed: SegmentInfo[];
  #current: SegmentInfo;

  private constructor(dir: string, writer: SegmentWriter, nextSeq: number, segments: SegmentInfo[], options: AppendLogOptions) {
    this.#dir = dir;
    this.#writer = writer;
    this.#nextSeq = nextSeq;
    this.#sealed = segments.slice(0, -1);
    this.#current = segments.at(-1) ?? { name: `${String(nextSeq).padStart(12, '0')}.log`, sealed: false, records: 0, lastSeq: 0, newestAt: null };
    this.#segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.#batchSyncMs = options.batchSyncMs ?? 50;
    this.#options = options;
  }

  /** Opens (or creates) the log in `dir`, returning it with every good record and any damage found. */
  static async open(
    dir: string,
    options: AppendLogOptions = {},
  ): Promise<{ log: AppendLog; records: LogRecord[]; damage: LogDamage[]; segments: SegmentInfo[]; lastSeq: number }> {
    await mkdirPrivate(dir);
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
    const writer = await SegmentWriter.open(dir, infos.at(-1)!.name, size, options.openSegment);
    return { log: new AppendLog(dir, writer, nextSeq, infos.map((i) => ({ ...i })), options), records: scan.records, damage: scan.damage, segments: infos, lastSeq: scan.lastSeq };
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
   * that resolves when it is as durable as `durability` asks. Never throws
   * for the record: one that cannot be framed (unencodable, over the frame
   * limit) is not written, its `durable` rejects with {@link LogRecordError}
   * and `onRejected` is told. While the log is stalled the record waits.
   * A caller may ignore `durable`: its rejection is never unhandled.
   */
  append(body: Record<string, unknown>, durability: Durability): { seq: number; durable: Promise<void> } {
    if (this.#closed) throw new Error('the log is closed');
    const seq = this.#nextSeq++;
    const record = { ...body, seq };
    let bytes: Buffer;
    try {
      bytes = frame(record);
    } catch (error) {
      const refused = error instanceof LogRecordError ? error : new LogRecordError('LOG_RECORD_UNENCODABLE', String(error));
      this.#options.onRejected?.(refused);
      return { seq, durable: handled(Promise.reject(refused)) };
    }
    const stall = this.stall;
    if (stall && stall.pendingBytes + bytes.length > MAX_STALLED_BYTES) {
      return { seq, durable: handled(Promise.reject(stalledError(stall, `already holds ${stall.pendingBytes} bytes waiting: record ${seq} is dropped`))) };
    }
    const at = recordTime(record);
    const durable = new Promise<void>((resolve, reject) => this.#pending.push({ seq, at, bytes, durability, resolve, reject }));
    this.#schedule();
    return { seq, durable: handled(durable) };
  }

  /** Why the log cannot write now, or null when it can. */
  get stall(): LogStall | null {
    if (!this.#stall) return null;
    return { ...this.#stall, pendingRecords: this.#pending.length, pendingBytes: this.#pending.reduce((n, p) => n + p.bytes.length, 0) };
  }

  /**
   * Tries the stalled writes again (the caller decides when: the hub probes
   * on its clock). Resolves true once everything waiting is written and as
   * durable as asked, false when the storage still refuses.
   */
  async retry(): Promise<boolean> {
    while (this.#flushing) await this.#flushing;
    if (!this.#stall) return true;
    this.#flushing = this.#flush(true);
    await this.#flushing;
    return this.#stall === null;
  }

  #schedule(): void {
    if (this.#flushing || this.#stall) return;
    this.#flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#flush(false));
  }

  /** Writes the waiting records, batch by batch; on a failure they stay waiting, in order, and the log stalls. */
  async #flush(retrying: boolean): Promise<void> {
    try {
      // a failed batch fsync left acknowledged records unsynced: a retry syncs them first
      if (retrying) await this.#writer.sync();
      while (this.#pending.length > 0 && (retrying || !this.#stall)) {
        const batch = this.#pending;
        this.#pending = [];
        try {
          await this.#write(batch);
        } catch (error) {
          this.#pending = [...batch, ...this.#pending];
          throw error;
        }
        for (const p of batch) p.resolve();
      }
      if (this.#stall) {
        this.#stall = null;
        this.#options.onStall?.(null);
      }
    } catch (error) {
      this.#stallOn(error);
    } finally {
      this.#flushing = null;
    }
  }

  /** One batch, written whole or not at all (see {@link SegmentWriter}). */
  async #write(batch: Pending[]): Promise<void> {
    if (this.#writer.size >= this.#segmentBytes) {
      const name = `${String(batch[0]!.seq).padStart(12, '0')}.log`;
      await this.#writer.rotate(name);
      this.#sealed.push({ ...this.#current, sealed: true });
      this.#current = { name, sealed: false, records: 0, lastSeq: 0, newestAt: null };
    }
    await this.#writer.write(Buffer.concat(batch.map((p) => p.bytes)), batch.some((p) => p.durability === 'sync'));
    for (const p of batch) {
      this.#current.records++;
      this.#current.lastSeq = p.seq;
      if (p.at !== null) this.#current.newestAt = Math.max(this.#current.newestAt ?? p.at, p.at);
    }
    if (batch.some((p) => p.durability === 'batch')) this.#armSync();
  }

  #stallOn(error: unknown): void {
    const first = this.#stall === null;
    const message = error instanceof Error ? error.message : String(error);
    this.#stall = { since: this.#stall?.since ?? Date.now(), code: (error as NodeJS.ErrnoException | null)?.code ?? 'EIO', message };
    if (first) this.#options.onStall?.(this.stall);
  }

  #armSync(): void {
    if (this.#syncTimer) return;
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = null;
      // acknowledged already: a failed fsync stalls the log until a retry syncs them
      void this.#writer.sync().catch((error: unknown) => this.#stallOn(error));
    }, this.#batchSyncMs);
    this.#syncTimer.unref();
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
      if (bytes) records.push(...readFrames(bytes).records);
    }
    return records;
  }

  /**
   * Writes and fsyncs everything appended so far. A stalled log tries once
   * more; what it still cannot write keeps waiting (see {@link stall}): this
   * never rejects for the storage.
   */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#stall) await this.retry();
    else await this.#writer.sync().catch((error: unknown) => this.#stallOn(error));
  }

  /**
   * Flushes and closes; appends from the moment it is called are refused (not lost).
   * Records a stalled log still cannot write are given up: their `durable` rejects.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await this.flush();
      if (this.#syncTimer) clearTimeout(this.#syncTimer);
      const stall = this.stall;
      for (const p of stall ? this.#pending.splice(0) : []) p.reject(stalledError(stall!, `closed: record ${p.seq} is lost`));
      await this.#writer.close();
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
