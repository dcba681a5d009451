import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { TroupeError } from './errors.js';

/** The refusals of one kind of file (parameters, template), each naming it its own way. */
export interface BoundedFileErrors {
  notFound(error: unknown): TroupeError;
  notRegular(stat: Stats): TroupeError;
  /** `got`: what the file was found to hold, e.g. "9000000 bytes" */
  tooLarge(got: string): TroupeError;
}

/** What a path names that is not a regular file, in words. */
export const kindOf = (stat: Stats): string =>
  stat.isDirectory() ? 'a directory' : stat.isCharacterDevice() ? 'a character device' : stat.isBlockDevice() ? 'a block device' : stat.isFIFO() ? 'a pipe (FIFO)' : stat.isSocket() ? 'a socket' : 'not a regular file';

/**
 * Reads the regular file at `path` as UTF-8, refusing anything else (a
 * device, pipe, socket or directory) and anything longer than `limit` bytes.
 * The size a file reports is not always what it holds (`/proc` files say 0,
 * a file may grow while it is read), so it is read in chunks and the read
 * stops as soon as it passes the limit: memory stays within `limit` plus one
 * chunk whatever the path names. Opened non-blocking, so a FIFO swapped in
 * for the file cannot hang the open waiting for a writer.
 *
 * @example
 * await readBoundedFile('/srv/templates/bug-fix.yaml', 1 << 20, templateFileErrors(path))
 */
export async function readBoundedFile(path: string, limit: number, errors: BoundedFileErrors, chunkBytes = 64 * 1024): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw errors.notFound(error);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw errors.notRegular(stat);
    if (stat.size > limit) throw errors.tooLarge(`${stat.size} bytes`);
    const chunks: Buffer[] = [];
    const buffer = Buffer.alloc(chunkBytes);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > limit) throw errors.tooLarge(`more than ${limit} bytes (its size said ${stat.size})`);
      // a copy of what was read: a device or /proc file hands out a page at a time, and a view would keep the whole buffer
      chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    await handle.close();
  }
}
