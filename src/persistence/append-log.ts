import { open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { fsyncDir } from './atomic-file.js';
import { mkdirPrivate, openPrivate } from './private-files.js';
import { packr } from './checkpoint-codec.js';

/**
 * How far an append goes before it is acknowledged: `sync` after fsync,
 * `batch` after the write (fsync follows within `batchSyncMs`), `none` after
 * the write (fsync only on close).
 */
export type Durability = 'sync' | 'batch' | 'none';

/** Every record carries its sequence number; the rest is the writer's. */
export type LogRecord = { seq: number } & Record<string, unknown>;

/** A torn or corrupt stretch found when the log was opened. */
export interface LogDamage {
  segment: string;
  /** byte offset of the first bad frame */
  offset: number;
  /** bytes dropped from there on */
  droppedBytes: number;
  reason: string;
}

const MAGIC = 0x54524c47; // "TRLG"
const FRAME_HEADER = 12;
/** frames larger than this are taken as corrupt lengths */
const MAX_FRAME = 64 * 1024 * 1024;

/** Frames one record: `[magic u32][length u32][crc32 u32][msgpack body]` (msgpack alone cannot see a torn tail). */
export function frame(record: LogRecord): Buffer {
  const body = packr.pack(record);
  const head = Buffer.alloc(FRAME_HEADER);
  head.writeUInt32BE(MAGIC, 0);
  head.writeUInt32BE(body.length, 4);
  head.writeUInt32BE(crc32(body), 8);
  return Buffer.concat([head, body]);
}

/** Reads the good frames of one segment; stops at the first bad one and says why. */
export function readFrames(bytes: Buffer): { records: LogRecord[]; goodBytes: number; reason: string | null } {
  const records: LogRecord[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < FRAME_HEADER) return { records, goodBytes: offset, reason: 'torn frame header' };
    if (bytes.readUInt32BE(offset) !== MAGIC) return { records, goodBytes: offset, reason: 'bad frame magic (zeroed or overwritten)' };
    const length = bytes.readUInt32BE(offset + 4);
    if (length > MAX_FRAME) return { records, goodBytes: offset, reason: `implausible frame length ${length}` };
    const end = offset + FRAME_HEADER + length;
    if (end > bytes.length) return { records, goodBytes: offset, reason: 'torn frame body' };
    const body = bytes.subarray(offset + FRAME_HEADER, end);
    if (crc32(body) !== bytes.readUInt32BE(offset + 8)) return { records, goodBytes: offset, reason: 'crc32 mismatch' };
    records.push(packr.unpack(body) as LogRecord);
    offset = end;
  }
  return { records, goodBytes: offset, reason: null };
}

/** What opening the log learnt about one segment. */
export interface SegmentInfo {
  name: string;
  /** false for the last segment, the one appended to */
  sealed: boolean;
  records: number;
  lastSeq: number;
  /** the newest time a record of it carries (epoch ms), null when none carries one */
  newestAt: number | null;
}

/** The time a record carries: an outcome's `at`, an event's `timestamp`. */
function recordTime(record: LogRecord): number | null {
  if (typeof record.at === 'number') return record.at;
  const event = record.event as { timestamp?: unknown } | undefined;
  return typeof event?.timestamp === 'string' ? Date.parse(event.timestamp) : null;
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

export interface AppendLogOptions {
  /** start a new segment past this size; @default 64 MiB */
  segmentBytes?: number;
  /** longest delay before a `batch` append is fsynced, ms; @default 50 */
  batchSyncMs?: number;
}

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
    this.#current = segments.at(-1) ?? { name: `${String(nextSeq).padStart(12, '0')}.log`, sealed: false, records: 0, lastSeq: 0, newestAt: null };
    this.#segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.#batchSyncMs = options.batchSyncMs ?? 50;
  }

  /** Opens (or creates) the log in `dir`, returning it with every good record and any damage found. */
  static async open(
    dir: string,
    options: AppendLogOptions = {},
  ): Promise<{ log: AppendLog; records: LogRecord[]; damage: LogDamage[]; segments: SegmentInfo[] }> {
    await mkdirPrivate(dir);
    const segments = (await readdir(dir)).filter((n) => /^\d{12}\.log$/.test(n)).sort();
    const records: LogRecord[] = [];
    const damage: LogDamage[] = [];
    const infos: SegmentInfo[] = [];
    let lastSize = 0;
    for (const [i, name] of segments.entries()) {
      const bytes = await readFile(join(dir, name));
      const read = readFrames(bytes);
      records.push(...read.records);
      lastSize = read.goodBytes;
      infos.push({
        name,
        sealed: i < segments.length - 1,
        records: read.records.length,
        lastSeq: read.records.at(-1)?.seq ?? 0,
        newestAt: read.records.reduce<number | null>((newest, r) => {
          const at = recordTime(r);
          return at === null ? newest : Math.max(newest ?? at, at);
        }, null),
      });
      if (read.reason) {
        damage.push({ segment: name, offset: read.goodBytes, droppedBytes: bytes.length - read.goodBytes, reason: read.reason });
        if (i === segments.length - 1) {
          // a torn tail: cut it off so new frames follow the last good one
          const handle = await open(join(dir, name), 'r+');
          await handle.truncate(read.goodBytes);
          await handle.sync();
          await handle.close();
        }
      }
    }
    const nextSeq = (records.at(-1)?.seq ?? 0) + 1;
    const name = segments.at(-1) ?? `${String(nextSeq).padStart(12, '0')}.log`;
    const handle = await openPrivate(join(dir, name), 'a');
    if (segments.length === 0) await fsyncDir(dir);
    return { log: new AppendLog(dir, handle, segments.length === 0 ? 0 : lastSize, nextSeq, infos.map((i) => ({ ...i })), options), records, damage, segments: infos };
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
    const name = `${String(firstSeq).padStart(12, '0')}.log`;
    this.#handle = await openPrivate(join(this.#dir, name), 'a');
    this.#segmentSize = 0;
    this.#sealed.push({ ...this.#current, sealed: true });
    this.#current = { name, sealed: false, records: 0, lastSeq: 0, newestAt: null };
    await fsyncDir(this.#dir);
  }

  /** Every good record in the log, oldest first (flushes first). For admin operations: it reads all segments. */
  async readAll(): Promise<LogRecord[]> {
    await this.flush();
    const segments = (await readdir(this.#dir)).filter((n) => /^\d{12}\.log$/.test(n)).sort();
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
