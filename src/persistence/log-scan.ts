import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFrames, type LogRecord } from './log-frames.js';

/** A segment's file name: the first seq it holds, 12 digits, `.log`. */
export const SEGMENT_FILE = /^\d{12}\.log$/;

/** The file name of a segment whose first record is `firstSeq`. */
export const segmentName = (firstSeq: number): string => `${String(firstSeq).padStart(12, '0')}.log`;

/** Where stretches cut out of the log are kept, inside the log's directory. */
export const DAMAGED_DIR = 'damaged';

/** What is known of one segment. */
export interface SegmentInfo {
  name: string;
  /** false for the last segment, the one appended to */
  sealed: boolean;
  records: number;
  lastSeq: number;
  /** the newest time a record of it carries (epoch ms), null when none carries one */
  newestAt: number | null;
}

/**
 * A stretch of the log that holds no valid frame, as found when the log is
 * read, and what opening the log does about it.
 */
export interface LogDamage {
  segment: string;
  /** byte offset in the segment where it starts */
  offset: number;
  /** its length: the bytes the log no longer reads */
  droppedBytes: number;
  reason: string;
  /** seq of the last good record before it; 0 when none */
  afterSeq: number;
  /** seq of the first good record after it; null when nothing valid follows (a torn tail) */
  beforeSeq: number | null;
  /**
   * `truncated`: a torn tail of the last segment, cut off (what a crash in
   * the middle of a write leaves). `removed`: a damaged stretch with good
   * frames after it (or in a sealed segment), taken out of its segment, which
   * is rewritten atomically without it; its bytes are kept in `savedTo`.
   * `skipped`: left in place because the rewrite failed; read past at every open.
   */
  action: 'truncated' | 'removed' | 'skipped';
  /** where the stretch's bytes were kept, for `removed` */
  savedTo: string | null;
}

/** One segment as read. */
export interface ScannedSegment {
  info: SegmentInfo;
  /** its bytes when it is damaged (the repair needs them), else null */
  bytes: Buffer | null;
  /** where its last whole frame ends */
  goodBytes: number;
  /** its size on disk */
  size: number;
}

/** Everything the log holds, read without writing anything. */
export interface LogScan {
  records: LogRecord[];
  segments: ScannedSegment[];
  damage: LogDamage[];
  /** the highest seq the log holds; 0 when it holds none */
  lastSeq: number;
  /** stretches an earlier open cut out of the log, kept in `damaged/` */
  saved: string[];
}

/** The time a record carries: an outcome's `at`, an event's `timestamp`. */
export function recordTime(record: LogRecord): number | null {
  if (typeof record.at === 'number') return record.at;
  const event = record.event as { timestamp?: unknown } | undefined;
  return typeof event?.timestamp === 'string' ? Date.parse(event.timestamp) : null;
}

/** The names in `dir`; none when there is no such directory. */
const listOrNone = (dir: string) =>
  readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return [] as string[];
    throw error;
  });

/**
 * Reads every segment of the log in `dir` (a missing directory is an empty
 * log) and finds every damaged stretch, changing nothing: `AppendLog.open`
 * acts on what it finds, `troupe check` reports it.
 */
export async function scanLog(dir: string): Promise<LogScan> {
  const names = (await listOrNone(dir)).filter((n) => SEGMENT_FILE.test(n)).sort();
  const records: LogRecord[] = [];
  const segments: ScannedSegment[] = [];
  const damage: LogDamage[] = [];
  let lastSeq = 0;
  for (const [i, name] of names.entries()) {
    const bytes = await readFile(join(dir, name));
    const read = readFrames(bytes, lastSeq);
    records.push(...read.records);
    lastSeq = read.records.at(-1)?.seq ?? lastSeq;
    segments.push({
      info: {
        name,
        sealed: i < names.length - 1,
        records: read.records.length,
        lastSeq: read.records.at(-1)?.seq ?? 0,
        newestAt: read.records.reduce<number | null>((newest, r) => {
          const at = recordTime(r);
          return at === null ? newest : Math.max(newest ?? at, at);
        }, null),
      },
      bytes: read.damage.length > 0 ? bytes : null,
      goodBytes: read.goodBytes,
      size: bytes.length,
    });
    for (const d of read.damage) {
      damage.push({ segment: name, offset: d.offset, droppedBytes: d.length, reason: d.reason, afterSeq: d.afterSeq, beforeSeq: d.beforeSeq, action: 'removed', savedTo: null });
    }
  }
  for (const d of damage) {
    // the first good record after a stretch at the end of a segment is in a later segment, if any
    d.beforeSeq ??= records.find((r) => r.seq > d.afterSeq)?.seq ?? null;
    if (d.segment === names.at(-1) && d.beforeSeq === null) d.action = 'truncated';
  }
  const saved = (await listOrNone(join(dir, DAMAGED_DIR))).filter((n) => n.endsWith('.bin')).sort().map((n) => join(dir, DAMAGED_DIR, n));
  return { records, segments, damage, lastSeq, saved };
}
