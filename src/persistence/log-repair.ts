import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { writeFileAtomic } from './atomic-file.js';
import { DAMAGED_DIR, type LogDamage } from './log-scan.js';

/** Cuts a torn tail off the last segment in place: new frames then follow its last good one. */
export async function truncateTail(path: string, goodBytes: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(goodBytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Takes the damaged stretches out of a segment, crash-safe. The bytes of
 * each `removed` stretch are kept first, in
 * `<dir>/damaged/<segment>@<offset>-<crc32>.bin` (written atomically; the
 * name depends only on what was found, so doing it again writes the same
 * files); then the segment is rewritten without any of the stretches
 * (temporary file, fsync, rename, fsync of the directory). A crash before
 * the rename leaves the segment as it was, and the next open does the same
 * again; after it, the segment holds only whole frames, in their order.
 * Sets `savedTo` on the stretches it kept; resolves to the segment's new size.
 *
 * @example
 * const size = await cutOut(dir, '000000000001.log', bytes, damage.filter((d) => d.segment === '000000000001.log'));
 */
export async function cutOut(dir: string, name: string, bytes: Buffer, stretches: readonly LogDamage[]): Promise<number> {
  const ordered = [...stretches].sort((a, b) => a.offset - b.offset);
  const saved = new Map<LogDamage, string>();
  const kept = ordered.filter((d) => d.action === 'removed');
  if (kept.length > 0) await mkdir(join(dir, DAMAGED_DIR), { recursive: true });
  for (const d of kept) {
    const stretch = bytes.subarray(d.offset, d.offset + d.droppedBytes);
    const path = join(dir, DAMAGED_DIR, `${name.replace(/\.log$/, '')}@${d.offset}-${crc32(stretch).toString(16).padStart(8, '0')}.bin`);
    await writeFileAtomic(path, stretch);
    saved.set(d, path);
  }
  const pieces: Buffer[] = [];
  let from = 0;
  for (const d of ordered) {
    pieces.push(bytes.subarray(from, d.offset));
    from = d.offset + d.droppedBytes;
  }
  pieces.push(bytes.subarray(from));
  const whole = Buffer.concat(pieces);
  await writeFileAtomic(join(dir, name), whole);
  for (const [d, path] of saved) d.savedTo = path;
  return whole.length;
}
