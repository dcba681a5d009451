/** Task log files: bounded by keeping the end, with logical positions that survive a rewrite. */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTaskLog, readTaskLog } from '../src/actors/task-log.js';
import { scratchDir } from './helpers/cli.js';

describe('task log files', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await scratchDir()));
  afterAll(() => cleanup());

  const line = (i: number) => `line ${String(i).padStart(4, '0')}\n`;

  it('a follower reading from its position sees every kept line once, in order, across rewrites', async () => {
    const path = join(dir, 'follow', 'job.1.log');
    const log = openTaskLog(path, 1_000);
    const seen: string[] = [];
    let offset = 0;
    for (let i = 0; i < 400; i++) {
      log.write(line(i));
      if (i % 7 === 0) {
        const read = readTaskLog(path, { since: offset })!;
        seen.push(...read.lines);
        offset = read.next_offset;
      }
    }
    log.close();
    seen.push(...readTaskLog(path, { since: offset, final: true })!.lines);
    // nothing twice, in order, and the end is all there
    const numbers = seen.map((l) => Number(l.slice(5)));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(numbers.at(-1)).toBe(399);
    // the follower lost nothing: it read more often than the log dropped
    expect(numbers).toEqual(Array.from({ length: 400 }, (_, i) => i));
    expect((await stat(path)).size).toBeLessThanOrEqual(1_000 + 64);
    const read = readTaskLog(path, { tail: 2 })!;
    expect(read.lines).toEqual(['line 0398', 'line 0399']);
    expect(read.size).toBe(400 * 10);
    expect((await readFile(path, 'utf8')).split('\n')[0]).toMatch(/^\[troupe\] \d+ earlier bytes dropped$/);
  });

  it('a position that fell into the dropped part reads on from the oldest byte kept', () => {
    const path = join(dir, 'late', 'job.1.log');
    const log = openTaskLog(path, 500);
    for (let i = 0; i < 200; i++) log.write(line(i));
    log.close();
    const read = readTaskLog(path, { since: 0, final: true })!;
    expect(read.dropped_bytes).toBeGreaterThan(0);
    expect(read.lines.at(-1)).toBe('line 0199');
    expect(read.next_offset).toBe(2_000);
  });

  it('a partial last line waits for its newline unless the output is final', () => {
    const path = join(dir, 'partial', 'job.1.log');
    const log = openTaskLog(path, 10_000);
    log.write('whole\nhal');
    expect(readTaskLog(path, { since: 0 })!.lines).toEqual(['whole']);
    expect(readTaskLog(path, { since: 0, final: true })!.lines).toEqual(['whole', 'hal']);
    log.close();
  });

  it('a log that cannot be opened records the error and drops writes without throwing', async () => {
    // its folder's place is taken by a file
    await writeFile(join(dir, 'taken'), 'a file');
    const log = openTaskLog(join(dir, 'taken', 'job.1.log'), 1_000);
    expect(() => log.write('x\n')).not.toThrow();
    expect(log.error).not.toBeNull();
  });
});
