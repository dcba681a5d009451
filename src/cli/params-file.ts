import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { checkJsonTextNesting, checkNesting, checkYamlTextNesting, MAX_PARAMS_DEPTH, TroupeError } from '../index.js';

const MIB = 1024 * 1024;

/**
 * The largest parameters file `@path` (and `troupe run FILE`) reads: 8 MiB.
 * A 16 000-task workflow written as JSON takes about 1 MiB; a file many
 * times that is a mistake (or `/dev/zero`), and was read whole into the
 * supervisor before anything looked at it (620 MB before it failed).
 */
export const MAX_PARAMS_FILE_BYTES = 8 * MIB;

const CHUNK_BYTES = 256 * 1024;

const kindOf = (stat: Stats) =>
  stat.isDirectory() ? 'a directory' : stat.isCharacterDevice() ? 'a character device' : stat.isBlockDevice() ? 'a block device' : stat.isFIFO() ? 'a pipe (FIFO)' : stat.isSocket() ? 'a socket' : 'not a regular file';

const tooLarge = (path: string, limit: number, got: string) =>
  new TroupeError('FILE_TOO_LARGE', `Parameters file ${path} holds ${got}; a parameters file holds at most ${limit} bytes${limit % MIB === 0 ? ` (${limit / MIB} MiB)` : ''}`, {
    details: 'It was not read further. Split the workflow, or keep big data out of the parameters',
  });

/**
 * Reads the regular file at `path` as UTF-8, refusing anything else
 * (FILE_NOT_REGULAR: a device, pipe, socket or directory) and anything
 * longer than `limit` bytes (FILE_TOO_LARGE). The size a file reports is not
 * always what it holds (`/proc` files say 0, a file may grow while it is
 * read), so it is read in chunks and the read stops as soon as it passes
 * the limit: memory stays within `limit` plus one chunk whatever the path
 * names. Opened non-blocking, so a FIFO swapped in for the file cannot hang
 * the open waiting for a writer.
 *
 * @example
 * await readParamsFile('/work/flows/release.yaml') // the file's text
 */
export async function readParamsFile(path: string, limit = MAX_PARAMS_FILE_BYTES): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw new TroupeError('FILE_NOT_FOUND', `Cannot read parameters file ${path}`, { details: error instanceof Error ? error.message : String(error) });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new TroupeError('FILE_NOT_REGULAR', `Parameters file ${path} is ${kindOf(stat)}; @path reads regular files only`, {
        details: 'A device, pipe or socket may never end, and a directory holds no parameters: save the parameters to a regular file and name that',
      });
    }
    if (stat.size > limit) throw tooLarge(path, limit, `${stat.size} bytes`);
    const chunks: Buffer[] = [];
    const buffer = Buffer.alloc(CHUNK_BYTES);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > limit) throw tooLarge(path, limit, `more than ${limit} bytes (its size said ${stat.size})`);
      // a copy of what was read: a device or /proc file hands out a page at a time, and a view would keep the whole buffer
      chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * The parameters in a file's `text`: JSON when it is JSON (fast, and the
 * same as inline parameters), else YAML. Either way nested at most
 * {@link MAX_PARAMS_DEPTH} levels (NESTING_TOO_DEEP), checked before a
 * parser that recurses sees it.
 *
 * @example
 * parseParamsText('name: hi\nphases: [p]', 'hi.yaml') // { name: 'hi', phases: ['p'] }
 */
export function parseParamsText(text: string, path: string): unknown {
  const what = `parameters file ${path}`;
  if (/^\s*[[{]/.test(text)) {
    checkJsonTextNesting(text, what);
    try {
      return JSON.parse(text);
    } catch {
      // YAML's flow style starts the same way: the YAML parser decides, and reports
    }
  }
  checkYamlTextNesting(text, what);
  let value: unknown;
  try {
    value = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    throw new TroupeError('PARSE_ERROR', `Parameters file ${path} is neither valid JSON nor valid YAML`, {
      details: error instanceof Error ? error.message : String(error),
    });
  }
  // aliases can nest a document deeper than its text does
  checkNesting(value, 'parameters', { what });
  return value;
}
