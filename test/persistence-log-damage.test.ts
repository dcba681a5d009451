/**
 * Hardening item 5, "One bad byte in the log throws away the rest of it":
 * a damaged frame with good frames after it costs that frame only. Reading
 * picks up at the next whole frame; opening cuts the damaged stretch out of
 * its segment (atomically, its bytes kept in `damaged/`) so later opens and
 * appends see a whole log; only a torn tail is truncated. And seqs never go
 * back: `minNextSeq` (what the checkpoints claim) holds even for a log that
 * was deleted or cut short.
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppendLog, frame, readFrames, type LogRecord } from '../src/persistence/append-log.js';
import { scanLog } from '../src/persistence/log-scan.js';
import { useTempDirs } from './helpers/persistence.js';

const tempDir = useTempDirs('troupe-log-damage-');
const SEGMENT = '000000000001.log';
const records = (n: number, first = 1): LogRecord[] => Array.from({ length: n }, (_, i) => ({ kind: 'outcome', task_id: `t${first + i}`, text: 'x'.repeat(20 + i), seq: first + i }));

/** A log directory holding `recs` framed into one segment (as the log writes them); returns the frames too. */
async function logOf(recs: LogRecord[], name = SEGMENT): Promise<{ dir: string; frames: Buffer[]; path: string }> {
  const dir = await tempDir();
  const frames = recs.map(frame);
  await writeFile(join(dir, name), Buffer.concat(frames));
  return { dir, frames, path: join(dir, name) };
}

const flip = (offset: number) => (f: Buffer) => {
  const copy = Buffer.from(f);
  copy[offset]! ^= 0x40;
  return copy;
};

/** Ways to damage the third frame of five (seq 3); each leaves the frames around it whole. */
const middle: { name: string; damage: (f: Buffer) => Buffer; reason: string | RegExp }[] = [
  { name: 'a flipped byte in its body', damage: flip(12 + 5), reason: 'crc32 mismatch' },
  { name: 'a flipped byte in its crc', damage: flip(9), reason: 'crc32 mismatch' },
  { name: 'a flipped byte in its magic', damage: flip(1), reason: 'bad frame magic (zeroed or overwritten)' },
  { name: 'zeroed in place', damage: (f) => Buffer.alloc(f.length), reason: 'bad frame magic (zeroed or overwritten)' },
  { name: 'a length shorter than its body', damage: (f) => Buffer.concat([f.subarray(0, 4), Buffer.from([0, 0, 0, 3]), f.subarray(8)]), reason: 'crc32 mismatch' },
  { name: 'a length past the end of the segment', damage: (f) => Buffer.concat([f.subarray(0, 4), Buffer.from([0, 0, 0x40, 0]), f.subarray(8)]), reason: 'torn frame body' },
  { name: 'an implausible length', damage: flip(4), reason: /^implausible frame length \d+$/ },
  // the next frame's bytes are read as the rest of its body
  { name: 'torn: its second half is missing', damage: (f) => f.subarray(0, Math.floor(f.length / 2)), reason: 'crc32 mismatch' },
];

describe('a damaged frame in the middle of the log costs that frame only', () => {
  it.each(middle)('$name: the frames after it are read, it is cut out of the segment and kept, and appends go on', async ({ damage, reason }) => {
    const recs = records(5);
    const { dir, frames, path } = await logOf(recs);
    const bad = damage(frames[2]!);
    await writeFile(path, Buffer.concat([frames[0]!, frames[1]!, bad, frames[3]!, frames[4]!]));
    const offset = frames[0]!.length + frames[1]!.length;

    const opened = await AppendLog.open(dir);
    expect(opened.records).toEqual(recs.filter((r) => r.seq !== 3));
    expect(opened.damage).toEqual([
      { segment: SEGMENT, offset, droppedBytes: bad.length, reason: typeof reason === 'string' ? reason : (expect.stringMatching(reason) as string), afterSeq: 2, beforeSeq: 4, action: 'removed', savedTo: expect.any(String) as string },
    ]);
    expect(opened.damage[0]!.savedTo).toMatch(new RegExp(`^${join(dir, 'damaged')}/000000000001@${offset}-[0-9a-f]{8}\\.bin$`));
    // the bytes that were cut out are kept; the segment holds the good frames, in order
    expect((await readFile(opened.damage[0]!.savedTo!)).equals(bad)).toBe(true);
    expect((await readFile(path)).equals(Buffer.concat([frames[0]!, frames[1]!, frames[3]!, frames[4]!]))).toBe(true);
    expect(opened.lastSeq).toBe(5);
    expect(opened.log.nextSeq).toBe(6);
    await opened.log.append({ after: true }, 'sync').durable;
    await opened.log.close();

    // a later open finds a whole log: nothing reported again, nothing lost since
    const again = await AppendLog.open(dir);
    expect(again.damage).toEqual([]);
    expect(again.records).toEqual([...recs.filter((r) => r.seq !== 3), { after: true, seq: 6 }]);
    await again.log.close();
  });

  it('garbage written between two frames is cut out; no record is lost', async () => {
    const recs = records(3);
    const { dir, frames, path } = await logOf(recs);
    const garbage = Buffer.alloc(37, 0xab);
    await writeFile(path, Buffer.concat([frames[0]!, garbage, frames[1]!, frames[2]!]));
    const opened = await AppendLog.open(dir);
    expect(opened.records).toEqual(recs);
    expect(opened.damage).toMatchObject([{ offset: frames[0]!.length, droppedBytes: 37, afterSeq: 1, beforeSeq: 2, action: 'removed' }]);
    await opened.log.close();
  });

  it('several damaged stretches, then a torn tail: each stretch reported and cut out, the tail truncated', async () => {
    const recs = records(8);
    const { dir, frames, path } = await logOf(recs);
    const parts = [frames[0]!, flip(20)(frames[1]!), frames[2]!, Buffer.alloc(frames[3]!.length), Buffer.alloc(frames[4]!.length), frames[5]!, frames[6]!, frames[7]!.subarray(0, 9)];
    await writeFile(path, Buffer.concat(parts));
    const at = (i: number) => parts.slice(0, i).reduce((n, p) => n + p.length, 0);
    const opened = await AppendLog.open(dir);
    expect(opened.records.map((r) => r.seq)).toEqual([1, 3, 6, 7]);
    expect(opened.damage.map(({ offset, droppedBytes, afterSeq, beforeSeq, action }) => ({ offset, droppedBytes, afterSeq, beforeSeq, action }))).toEqual([
      { offset: at(1), droppedBytes: parts[1]!.length, afterSeq: 1, beforeSeq: 3, action: 'removed' },
      { offset: at(3), droppedBytes: parts[3]!.length + parts[4]!.length, afterSeq: 3, beforeSeq: 6, action: 'removed' },
      { offset: at(7), droppedBytes: 9, afterSeq: 7, beforeSeq: null, action: 'truncated' },
    ]);
    expect((await readFile(path)).equals(Buffer.concat([frames[0]!, frames[2]!, frames[5]!, frames[6]!]))).toBe(true);
    // the torn tail is what a crash mid-write leaves: cut, not kept
    expect(await readdir(join(dir, 'damaged'))).toHaveLength(2);
    expect(opened.log.append({ x: 1 }, 'sync').seq).toBe(8);
    await opened.log.close();
  });

  it('a whole frame inside a damaged record is not taken for the log: a resync point must come after the last good seq', async () => {
    // record 2 carries a frame of record 1 as data (a task that printed a log segment, say)
    const recs: LogRecord[] = [{ n: 1, seq: 1 }, { copy: frame({ n: 1, seq: 1 }), pad: 'p'.repeat(40), seq: 2 }, { n: 3, seq: 3 }];
    const frames = recs.map(frame);
    const bytes = Buffer.concat([frames[0]!, flip(frames[1]!.length - 3)(frames[1]!), frames[2]!]);
    expect(bytes.indexOf('TRLG', frames[0]!.length + 1, 'latin1')).toBeLessThan(frames[0]!.length + frames[1]!.length);
    const read = readFrames(bytes);
    expect(read.records).toEqual([recs[0], recs[2]]);
    expect(read.damage).toEqual([{ offset: frames[0]!.length, length: frames[1]!.length, reason: 'crc32 mismatch', afterSeq: 1, beforeSeq: 3 }]);
  });

  it('a crash in the middle of the repair leaves the segment as it was; the next open does the same again', async () => {
    const recs = records(4);
    const { dir, frames, path } = await logOf(recs);
    const damaged = Buffer.concat([frames[0]!, flip(14)(frames[1]!), frames[2]!, frames[3]!]);
    await writeFile(path, damaged);
    // what a crash after the bytes were kept and while the new segment was half written leaves behind
    const first = await AppendLog.open(dir);
    const saved = first.damage[0]!.savedTo!;
    await first.log.close();
    await writeFile(path, damaged);
    await writeFile(join(dir, `.${SEGMENT}.99999.0a0b0c0d.tmp`), damaged.subarray(0, 10));

    const again = await AppendLog.open(dir);
    expect(again.records).toEqual(recs.filter((r) => r.seq !== 2));
    expect(again.damage).toMatchObject([{ action: 'removed', savedTo: saved }]);
    expect(await readdir(join(dir, 'damaged'))).toEqual([saved.split('/').at(-1)]);
    expect((await readFile(path)).equals(Buffer.concat([frames[0]!, frames[2]!, frames[3]!]))).toBe(true);
    await again.log.close();
  });

  it('when the segment cannot be rewritten, the stretch is left in place, skipped, and read past at every open', async () => {
    const recs = records(4);
    const { dir, frames, path } = await logOf(recs);
    const damaged = Buffer.concat([frames[0]!, flip(14)(frames[1]!), frames[2]!, frames[3]!]);
    await writeFile(path, damaged);
    // `damaged` taken by a file: keeping the bytes fails, so the rewrite does not happen
    await writeFile(join(dir, 'damaged'), 'in the way');
    const opened = await AppendLog.open(dir);
    expect(opened.damage).toMatchObject([{ offset: frames[0]!.length, action: 'skipped', savedTo: null }]);
    expect(opened.records).toEqual(recs.filter((r) => r.seq !== 2));
    await opened.log.append({ after: true }, 'sync').durable;
    await opened.log.close();
    expect((await readFile(path)).subarray(0, damaged.length).equals(damaged)).toBe(true);

    const again = await AppendLog.open(dir);
    expect(again.damage).toMatchObject([{ offset: frames[0]!.length, afterSeq: 1, beforeSeq: 3, action: 'skipped' }]);
    expect(again.records).toEqual([...recs.filter((r) => r.seq !== 2), { after: true, seq: 5 }]);
    await again.log.close();
    await rm(join(dir, 'damaged'));
    const repaired = await AppendLog.open(dir);
    expect(repaired.damage).toMatchObject([{ action: 'removed' }]);
    await repaired.log.close();
  });

  it('scanLog reads and reports without writing anything, saying what an open would do', async () => {
    const recs = records(4);
    const { dir, frames, path } = await logOf(recs);
    const bytes = Buffer.concat([frames[0]!, flip(14)(frames[1]!), frames[2]!, frames[3]!.subarray(0, 5)]);
    await writeFile(path, bytes);
    const scan = await scanLog(dir);
    expect(scan.records.map((r) => r.seq)).toEqual([1, 3]);
    expect(scan.lastSeq).toBe(3);
    expect(scan.damage.map((d) => [d.afterSeq, d.beforeSeq, d.action, d.savedTo])).toEqual([
      [1, 3, 'removed', null],
      [3, null, 'truncated', null],
    ]);
    expect((await readFile(path)).equals(bytes)).toBe(true);
    expect(await readdir(dir)).toEqual([SEGMENT]);
    expect(await scanLog(join(dir, 'none'))).toEqual({ records: [], segments: [], damage: [], lastSeq: 0, saved: [] });
  });
});

describe('seqs never go back', () => {
  it('a deleted log starts past minNextSeq, in a segment named after it', async () => {
    const dir = join(await tempDir(), 'events');
    const opened = await AppendLog.open(dir, { minNextSeq: 481 });
    expect(opened.lastSeq).toBe(0);
    expect(opened.log.nextSeq).toBe(481);
    expect(opened.log.append({ x: 1 }, 'sync').seq).toBe(481);
    await opened.log.close();
    expect(await readdir(dir)).toEqual(['000000000481.log']);
    const again = await AppendLog.open(dir);
    expect(again.records).toEqual([{ x: 1, seq: 481 }]);
    expect(again.log.nextSeq).toBe(482);
    await again.log.close();
  });

  it('a log cut short goes on past the claim, not from where it now ends', async () => {
    const recs = records(10);
    const { dir, frames, path } = await logOf(recs);
    await writeFile(path, Buffer.concat(frames.slice(0, 4)));
    const opened = await AppendLog.open(dir, { minNextSeq: 11 });
    expect(opened.damage).toEqual([]);
    expect(opened.lastSeq).toBe(4);
    expect(opened.log.append({ x: 1 }, 'sync').seq).toBe(11);
    await opened.log.close();
    const again = await AppendLog.open(dir);
    expect(again.records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 11]);
    await again.log.close();
  });

  it('a claim below what the log holds changes nothing', async () => {
    const { dir } = await logOf(records(6));
    const opened = await AppendLog.open(dir, { minNextSeq: 3 });
    expect(opened.log.nextSeq).toBe(7);
    await opened.log.close();
  });

  it('an emptied last segment is replaced by one named after the next seq (created first, so a crash leaves one or both)', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, SEGMENT), Buffer.concat(records(3).map(frame)));
    await writeFile(join(dir, '000000000004.log'), Buffer.alloc(0));
    const opened = await AppendLog.open(dir, { minNextSeq: 50 });
    expect(await readdir(dir)).toEqual([SEGMENT, '000000000050.log']);
    expect(opened.segments.map((s) => [s.name, s.sealed])).toEqual([[SEGMENT, true], ['000000000050.log', false]]);
    expect(opened.log.append({ x: 1 }, 'sync').seq).toBe(50);
    await opened.log.close();
    expect((await stat(join(dir, '000000000050.log'))).size).toBeGreaterThan(0);
  });

  it('the name of an empty last segment is a seq the log handed out: the next one is not below it', async () => {
    const dir = await tempDir();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, '000000000040.log'), Buffer.alloc(0));
    const opened = await AppendLog.open(dir);
    expect(opened.log.nextSeq).toBe(40);
    expect(await readdir(dir)).toEqual(['000000000040.log']);
    await opened.log.close();
  });
});
