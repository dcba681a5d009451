/**
 * Task logs: `logs/<workflow-id>/<task-id>.<attempt>.log` in the data
 * directory, written as output arrives and bounded by keeping the end. When a
 * log outgrows its bound it is rewritten (temporary file, rename) with its
 * last half and a first line that counts what was dropped, so a reader can
 * keep a position across the rewrite: a position is logical (bytes since the
 * attempt's first byte), the file holds the logical range [dropped, size).
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The path of one attempt's log under `root` (the data directory). */
export function taskLogPath(root: string, workflowId: string, taskId: string, attempt: number): string {
  return join(root, 'logs', workflowId, `${taskId}.${attempt}.log`);
}

const HEADER = /^\[troupe\] (\d+) earlier bytes dropped\n/;
const header = (dropped: number) => `[troupe] ${dropped} earlier bytes dropped\n`;

/** Reads the whole of a small range of a file. */
function readRange(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const n = readSync(fd, buffer, read, length - read, position + read);
    if (n === 0) break;
    read += n;
  }
  return buffer.subarray(0, read);
}

/** How many bytes a log's first line says were dropped, and how long that line is. */
function droppedOf(fd: number): { dropped: number; headerBytes: number } {
  const first = readRange(fd, 0, 64).toString('latin1');
  const match = HEADER.exec(first);
  return match ? { dropped: Number(match[1]), headerBytes: match[0].length } : { dropped: 0, headerBytes: 0 };
}

/** An open task log that appends and keeps its last `maxBytes` (about). */
export interface TaskLogWriter {
  write(chunk: Buffer | string): void;
  /** bytes in the file now */
  size(): number;
  close(): void;
  /** the first write error, if any: the task goes on, the supervisor reports it */
  readonly error: Error | null;
}

/**
 * Opens (creating its folder) one attempt's log for appending. Never throws:
 * a log that cannot be written records its error and drops what it is given,
 * since losing a log must never fail the task it belongs to.
 *
 * @example
 * const log = openTaskLog(taskLogPath(dataDir, 'wf_1', 'build', 1), 10 * 1024 * 1024);
 * log.write('compiling…\n');
 * log.close();
 */
export function openTaskLog(path: string, maxBytes: number): TaskLogWriter {
  let fd: number | null = null;
  let size = 0;
  let error: Error | null = null;
  const fail = (e: unknown) => {
    error ??= e instanceof Error ? e : new Error(String(e));
    if (fd !== null) closeSync(fd);
    fd = null;
  };
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    fd = openSync(path, 'a+', 0o600);
    size = fstatSync(fd).size;
  } catch (e) {
    fail(e);
  }

  /** Keeps the last half: the cost of a rewrite is paid once per maxBytes/2 written. */
  const shrink = () => {
    const { dropped, headerBytes } = droppedOf(fd!);
    const body = size - headerBytes;
    let keep = Math.min(body, Math.floor(maxBytes / 2));
    let tail = readRange(fd!, size - keep, keep);
    // start at a line when there is one in the first part of what is kept
    const newline = tail.indexOf(10);
    if (newline !== -1 && newline < keep / 4) {
      tail = tail.subarray(newline + 1);
      keep = tail.length;
    }
    const temp = `${path}.${process.pid}.tmp`;
    const out = openSync(temp, 'w', 0o600);
    try {
      const head = Buffer.from(header(dropped + (body - keep)));
      writeSync(out, head);
      writeSync(out, tail);
    } finally {
      closeSync(out);
    }
    renameSync(temp, path);
    closeSync(fd!);
    fd = openSync(path, 'a+', 0o600);
    size = fstatSync(fd).size;
  };

  return {
    write(chunk) {
      if (fd === null) return;
      try {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        let written = 0;
        while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
        size += bytes.length;
        if (size > maxBytes) shrink();
      } catch (e) {
        fail(e);
      }
    },
    size: () => size,
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
    get error() {
      return error;
    },
  };
}

/** What {@link readTaskLog} answers. */
export interface TaskLogRead {
  lines: string[];
  /** the logical position after what was read: pass it as `since` to read on */
  next_offset: number;
  /** bytes of this attempt's output dropped from the start of the log to keep it bounded */
  dropped_bytes: number;
  /** the log's logical size */
  size: number;
}

/**
 * Turns raw output into display lines: bytes that are not UTF-8 become U+FFFD,
 * control characters other than tab and escape (colours) are shown as U+FFFD
 * too, and a line redrawn with carriage returns keeps its last drawing, so
 * binary output cannot garble a terminal or a JSON reader.
 */
function toLines(bytes: Buffer): string[] {
  if (bytes.length === 0) return [];
  // eslint-disable-next-line no-control-regex
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001a\u001c-\u001f\u007f]/g, '\uFFFD');
  // a carriage return redraws its line (progress bars): what a terminal would end up showing is what follows the last one
  const lines = text.split('\n').map((l) => {
    const line = l.endsWith('\r') ? l.slice(0, -1) : l;
    const cr = line.lastIndexOf('\r');
    return cr === -1 ? line : line.slice(cr + 1);
  });
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * Reads one attempt's log: the last `tail` lines, or, with `since` (a
 * logical position from an earlier read), what came after it (at most
 * `maxBytes`; a last line without its newline only when `final`). Returns
 * null when the log does not exist.
 */
export function readTaskLog(path: string, options: { tail?: number; since?: number; maxBytes?: number; final?: boolean } = {}): TaskLogRead | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const physical = fstatSync(fd).size;
    const { dropped, headerBytes } = droppedOf(fd);
    const size = dropped + physical - headerBytes;
    const maxBytes = options.maxBytes ?? 1024 * 1024;
    if (options.since !== undefined) {
      // a position that fell into the dropped part reads on from the oldest byte kept
      const from = Math.max(options.since, dropped);
      const length = Math.min(size - from, maxBytes);
      if (length <= 0) return { lines: [], next_offset: Math.max(options.since, size), dropped_bytes: dropped, size };
      let bytes = readRange(fd, headerBytes + (from - dropped), length);
      // a partial last line waits for its newline while the output may go on (`final`: it will not)
      const lastNewline = bytes.lastIndexOf(10);
      if (!options.final && lastNewline !== -1 && lastNewline < bytes.length - 1) bytes = bytes.subarray(0, lastNewline + 1);
      return { lines: toLines(bytes), next_offset: from + bytes.length, dropped_bytes: dropped, size };
    }
    const tail = options.tail ?? 100;
    // read back from the end until enough lines are in (or the whole file, or maxBytes)
    // a few lines fit in 4 KiB: get-status reads a handful from each running task's log
    let chunk = Math.min(physical - headerBytes, 4 * 1024);
    for (;;) {
      const bytes = readRange(fd, physical - chunk, chunk);
      let lines = toLines(bytes);
      const whole = chunk >= physical - headerBytes || chunk >= maxBytes;
      if (lines.length > tail || whole) {
        // the first line of a partial read may be cut: drop it unless the read reached the start
        if (!whole || chunk < physical - headerBytes) lines = lines.slice(1);
        return { lines: lines.slice(-tail), next_offset: size, dropped_bytes: dropped, size };
      }
      chunk = Math.min(physical - headerBytes, chunk * 4, maxBytes);
    }
  } finally {
    closeSync(fd);
  }
}

/** The attempts of a task that have a log, lowest first, from the names in its workflow's log folder. */
export function attemptsWithLogs(names: readonly string[], taskId: string): number[] {
  const prefix = `${taskId}.`;
  return names
    .filter((n) => n.startsWith(prefix) && n.endsWith('.log'))
    .map((n) => Number(n.slice(prefix.length, -4)))
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => a - b);
}

/** The folder of a workflow's task logs. */
export const taskLogDir = (root: string, workflowId: string): string => join(root, 'logs', workflowId);
