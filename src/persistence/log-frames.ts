import { crc32 } from 'node:zlib';
import { packr } from './checkpoint-codec.js';

/** Every record carries its sequence number; the rest is the writer's. */
export type LogRecord = { seq: number } & Record<string, unknown>;

const MAGIC = 0x54524c47; // "TRLG"
const MAGIC_BYTES = Buffer.from('TRLG', 'latin1');
const FRAME_HEADER = 12;
/** frames larger than this are taken as corrupt lengths */
const MAX_FRAME = 64 * 1024 * 1024;

/** A record the log refuses to frame: it is not written, and its append's `durable` rejects with this. */
export class LogRecordError extends Error {
  override name = 'LogRecordError';
  constructor(readonly code: 'LOG_RECORD_UNENCODABLE' | 'LOG_RECORD_TOO_LARGE', message: string) {
    super(message);
  }
}

/**
 * Frames one record: `[magic u32][length u32][crc32 u32][msgpack body]` (msgpack alone cannot see a torn tail).
 * Throws {@link LogRecordError} for a record msgpack cannot encode or one whose frame the reader would take for damage.
 */
export function frame(record: LogRecord): Buffer {
  const what = `Log record ${record.seq} (${String(record.kind)})`;
  let body: Buffer;
  try {
    body = packr.pack(record);
  } catch (error) {
    throw new LogRecordError('LOG_RECORD_UNENCODABLE', `${what} cannot be encoded: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (body.length > MAX_FRAME) throw new LogRecordError('LOG_RECORD_TOO_LARGE', `${what} is ${body.length} bytes encoded, over the ${MAX_FRAME} a frame may hold`);
  // header and body in one buffer, every byte written: one allocation and one copy per record
  const framed = Buffer.allocUnsafe(FRAME_HEADER + body.length);
  framed.writeUInt32BE(MAGIC, 0);
  framed.writeUInt32BE(body.length, 4);
  framed.writeUInt32BE(crc32(body), 8);
  body.copy(framed, FRAME_HEADER);
  return framed;
}

/** A stretch of a segment that holds no valid frame. */
export interface FrameDamage {
  /** byte offset where it starts */
  offset: number;
  /** its length in bytes */
  length: number;
  /** why the frame that should start at `offset` is not one */
  reason: string;
  /** the seq of the last good record before it (the `afterSeq` passed in when none is) */
  afterSeq: number;
  /** the seq of the first good record after it in these bytes; null when none follows: a tail */
  beforeSeq: number | null;
}

/** The frame at `offset`, or why there is none. */
function frameAt(bytes: Buffer, offset: number): { record: LogRecord; end: number } | { reason: string } {
  if (bytes.length - offset < FRAME_HEADER) return { reason: 'torn frame header' };
  if (bytes.readUInt32BE(offset) !== MAGIC) return { reason: 'bad frame magic (zeroed or overwritten)' };
  const length = bytes.readUInt32BE(offset + 4);
  if (length > MAX_FRAME) return { reason: `implausible frame length ${length}` };
  const end = offset + FRAME_HEADER + length;
  if (end > bytes.length) return { reason: 'torn frame body' };
  const body = bytes.subarray(offset + FRAME_HEADER, end);
  if (crc32(body) !== bytes.readUInt32BE(offset + 8)) return { reason: 'crc32 mismatch' };
  let record: unknown;
  try {
    record = packr.unpack(body);
  } catch {
    return { reason: 'undecodable record' };
  }
  if (typeof record !== 'object' || record === null || !Number.isSafeInteger((record as { seq?: unknown }).seq)) return { reason: 'record without a seq' };
  return { record: record as LogRecord, end };
}

/**
 * Where the log picks up again after a bad frame: the next offset that
 * starts a whole frame (magic, plausible length, matching crc32, a record
 * that decodes) whose seq comes after `afterSeq`. The seq test keeps a frame
 * that happens to sit inside a damaged record's bytes from being taken for
 * the log's own. -1 when there is none.
 */
function resync(bytes: Buffer, from: number, afterSeq: number): number {
  for (let at = bytes.indexOf(MAGIC_BYTES, from); at !== -1; at = bytes.indexOf(MAGIC_BYTES, at + 1)) {
    const found = frameAt(bytes, at);
    if ('record' in found && found.record.seq > afterSeq) return at;
  }
  return -1;
}

/**
 * Reads the frames of one segment. A bad frame costs only itself: reading
 * resynchronises on the next whole frame and goes on, and each stretch
 * skipped is reported. `goodBytes` is where the last whole frame ends (what
 * a torn tail is cut back to); `afterSeq` is the seq the segment's records
 * must come after (the previous segment's last).
 */
export function readFrames(bytes: Buffer, afterSeq = 0): { records: LogRecord[]; goodBytes: number; damage: FrameDamage[] } {
  const records: LogRecord[] = [];
  const damage: FrameDamage[] = [];
  /** for each stretch, how many records were read before it: the next one read is the first after it */
  const readBefore: number[] = [];
  let lastSeq = afterSeq;
  let offset = 0;
  let goodBytes = 0;
  while (offset < bytes.length) {
    const found = frameAt(bytes, offset);
    if ('record' in found) {
      records.push(found.record);
      lastSeq = Math.max(lastSeq, found.record.seq);
      offset = goodBytes = found.end;
      continue;
    }
    const next = resync(bytes, offset + 1, lastSeq);
    const end = next === -1 ? bytes.length : next;
    damage.push({ offset, length: end - offset, reason: found.reason, afterSeq: lastSeq, beforeSeq: null });
    readBefore.push(records.length);
    offset = end;
  }
  for (const [i, d] of damage.entries()) d.beforeSeq = records[readBefore[i]!]?.seq ?? null;
  return { records, goodBytes, damage };
}
