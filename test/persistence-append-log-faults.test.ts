/**
 * The log under records it cannot frame and storage that refuses writes
 * (issue "Hardening", items 4 and 7): an unencodable or oversized record is
 * refused as data, never thrown; a write that fails (ENOSPC, EIO) leaves no
 * torn frame, the log stalls with its appends waiting in order, and a retry
 * writes them once the storage takes writes again. Real files, with faults
 * injected into the file handle the log writes through.
 */
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppendLog, LogRecordError, type LogStall } from '../src/persistence/append-log.js';
import type { OpenSegment } from '../src/persistence/segment-writer.js';
import { useTempDirs } from './helpers/persistence.js';

const tempDir = useTempDirs('troupe-log-faults-');

const errno = (code: string) => Object.assign(new Error(`${code}: injected`), { code });

/** What the injected handle does: fail writes (after writing `partial` bytes first), fsyncs, or opening a segment. */
interface Faults {
  write: string | null;
  partial: number;
  sync: string | null;
  open: string | null;
}

function faultyOpen(faults: Faults): OpenSegment {
  return async (path, flags, mode) => {
    if (faults.open) throw errno(faults.open);
    const real = await open(path, flags, mode);
    return new Proxy(real, {
      get(target, prop) {
        if (prop === 'write') {
          return async (buffer: Buffer, offset: number, length: number) => {
            if (!faults.write) return target.write(buffer, offset, length);
            if (faults.partial > 0) {
              // the last free blocks take part of it: a short write, then the error on the next
              const part = Math.min(faults.partial, length);
              faults.partial = 0;
              return target.write(buffer, offset, part);
            }
            throw errno(faults.write);
          };
        }
        if (prop === 'sync') return async () => (faults.sync ? Promise.reject(errno(faults.sync)) : target.sync());
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as FileHandle;
  };
}

const settle = (p: Promise<unknown>) => p.then(() => 'durable', (error: { code?: string }) => `rejected ${error.code}`);
const sizeOf = async (dir: string) => (await stat(join(dir, (await readdir(dir)).filter((n) => n.endsWith('.log')).sort().at(-1)!))).size;

describe('a record the log cannot frame', () => {
  const deep = () => {
    let v: unknown = [];
    for (let i = 0; i < 3_000; i++) v = [v];
    return v;
  };
  it.each([
    ['unencodable (nested 3 000 deep)', 'LOG_RECORD_UNENCODABLE', deep],
    ['over the 64 MiB a frame may hold', 'LOG_RECORD_TOO_LARGE', () => 'x'.repeat(65 * 1024 * 1024)],
  ])('%s: append does not throw, its durable rejects with %s, the others are written, and a reopen finds no damage', async (_what, code, value) => {
    const dir = await tempDir();
    const rejected: LogRecordError[] = [];
    const { log } = await AppendLog.open(dir, { onRejected: (error) => rejected.push(error) });
    await log.append({ kind: 'event', n: 1 }, 'sync').durable;
    const bad = log.append({ kind: 'outcome', output: value() }, 'sync');
    await expect(bad.durable).rejects.toMatchObject({ name: 'LogRecordError', code });
    await log.append({ kind: 'event', n: 3 }, 'sync').durable;
    await log.close();
    expect(rejected.map((e) => [e.code, e.message.startsWith(`Log record ${bad.seq} (outcome) `)])).toEqual([[code, true]]);
    const { records, damage, log: again } = await AppendLog.open(dir);
    await again.close();
    expect(damage).toEqual([]);
    expect(records.map((r) => r.n)).toEqual([1, 3]);
  });
});

describe('storage that refuses writes', () => {
  it('a full disk (a short write, then ENOSPC) stalls the log with no torn frame; appends wait in order; a retry writes them all', async () => {
    const dir = await tempDir();
    const faults: Faults = { write: null, partial: 0, sync: null, open: null };
    const stalls: (LogStall | null)[] = [];
    const { log } = await AppendLog.open(dir, { openSegment: faultyOpen(faults), onStall: (s) => stalls.push(s) });
    await log.append({ kind: 'event', n: 1 }, 'sync').durable;
    const before = await sizeOf(dir);
    Object.assign(faults, { write: 'ENOSPC', partial: 7 });
    const waiting = [settle(log.append({ kind: 'outcome', n: 2 }, 'sync').durable)];
    await log.flush();
    expect(stalls).toEqual([expect.objectContaining({ code: 'ENOSPC', pendingRecords: 1 })]);
    // the 7 bytes that got in were cut off again
    expect(await sizeOf(dir)).toBe(before);
    waiting.push(settle(log.append({ kind: 'event', n: 3 }, 'batch').durable), settle(log.append({ kind: 'event', n: 4 }, 'none').durable));
    expect(log.stall).toMatchObject({ code: 'ENOSPC', pendingRecords: 3 });
    expect(await log.retry()).toBe(false);
    expect(stalls).toHaveLength(1);

    faults.write = null;
    expect(await log.retry()).toBe(true);
    expect(await Promise.all(waiting)).toEqual(['durable', 'durable', 'durable']);
    expect(stalls.at(-1)).toBeNull();
    expect(log.stall).toBeNull();
    await log.append({ kind: 'event', n: 5 }, 'sync').durable;
    await log.close();
    const { records, damage, log: again } = await AppendLog.open(dir);
    await again.close();
    expect(damage).toEqual([]);
    expect(records.map((r) => [r.seq, r.n])).toEqual([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]);
  });

  it('a failing fsync (EIO) stalls a sync append until a retry syncs it', async () => {
    const dir = await tempDir();
    const faults: Faults = { write: null, partial: 0, sync: 'EIO', open: null };
    const { log } = await AppendLog.open(dir, { openSegment: faultyOpen(faults) });
    const first = settle(log.append({ kind: 'outcome', n: 1 }, 'sync').durable);
    await log.flush();
    expect(log.stall).toMatchObject({ code: 'EIO', pendingRecords: 1 });
    faults.sync = null;
    expect(await log.retry()).toBe(true);
    expect(await first).toBe('durable');
    await log.close();
    const { records, damage, log: again } = await AppendLog.open(dir);
    await again.close();
    expect({ damage, seqs: records.map((r) => r.seq) }).toEqual({ damage: [], seqs: [1] });
  });

  it('a new segment that cannot be opened keeps the current one in use; the retry rotates', async () => {
    const dir = await tempDir();
    const faults: Faults = { write: null, partial: 0, sync: null, open: null };
    const { log } = await AppendLog.open(dir, { openSegment: faultyOpen(faults), segmentBytes: 64 });
    await log.append({ kind: 'event', pad: 'x'.repeat(80) }, 'sync').durable;
    faults.open = 'ENOSPC';
    const next = settle(log.append({ kind: 'event', n: 2 }, 'sync').durable);
    await log.flush();
    expect(log.stall).toMatchObject({ code: 'ENOSPC' });
    faults.open = null;
    expect(await log.retry()).toBe(true);
    expect(await next).toBe('durable');
    await log.append({ kind: 'event', n: 3 }, 'sync').durable;
    await log.close();
    expect((await readdir(dir)).filter((n) => n.endsWith('.log')).sort()).toEqual(['000000000001.log', '000000000002.log']);
    const { records, damage, log: again } = await AppendLog.open(dir);
    await again.close();
    expect({ damage, seqs: records.map((r) => r.seq) }).toEqual({ damage: [], seqs: [1, 2, 3] });
  });

  it('closing a stalled log gives up what it cannot write (their durable rejects with the code) and leaves the rest intact', async () => {
    const dir = await tempDir();
    const faults: Faults = { write: null, partial: 0, sync: null, open: null };
    const { log } = await AppendLog.open(dir, { openSegment: faultyOpen(faults) });
    await log.append({ kind: 'event', n: 1 }, 'sync').durable;
    faults.write = 'EDQUOT';
    const lost = settle(log.append({ kind: 'event', n: 2 }, 'sync').durable);
    await log.close();
    expect(await lost).toBe('rejected EDQUOT');
    const { records, damage, log: again } = await AppendLog.open(dir);
    await again.close();
    expect({ damage, seqs: records.map((r) => r.seq) }).toEqual({ damage: [], seqs: [1] });
  });
});
