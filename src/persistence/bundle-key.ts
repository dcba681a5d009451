import { randomBytes } from 'node:crypto';
import { link, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir } from './atomic-file.js';

const KEY_BYTES = 32;

/** The data directory's bundle key exists but cannot serve: wrong size, or readable by others. */
export class BundleKeyError extends Error {
  readonly code = 'BUNDLE_KEY_INVALID';

  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`The bundle key ${path} ${reason}; it must be ${KEY_BYTES} bytes, readable by its owner only (mode 0600)`);
    this.name = 'BundleKeyError';
  }
}

/**
 * The HMAC key at `path` that signs a data directory's save-state bundles,
 * or null when the directory has none yet (it never saved a bundle).
 *
 * @example
 * const key = await readBundleKey(dataDirLayout(root).bundleKey);
 */
export async function readBundleKey(path: string): Promise<Buffer | null> {
  let bytes: Buffer;
  try {
    const mode = (await stat(path)).mode & 0o777;
    // a key others can read signs for them too: it would prove nothing
    if ((mode & 0o077) !== 0) throw new BundleKeyError(path, `has mode 0${mode.toString(8)}`);
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  if (bytes.length !== KEY_BYTES) throw new BundleKeyError(path, `holds ${bytes.length} bytes`);
  return bytes;
}

/**
 * The bundle key at `path`, made when missing: 32 random bytes, mode 0600,
 * written whole to a temporary file and linked into place, so a key file
 * that exists always has its content and two makers end with one key.
 *
 * @example
 * const key = await bundleKey(dataDirLayout(root).bundleKey);
 */
export async function bundleKey(path: string): Promise<Buffer> {
  const existing = await readBundleKey(path);
  if (existing) return existing;
  const key = randomBytes(KEY_BYTES);
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(key);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, path);
    await fsyncDir(dirname(path));
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // another maker linked first: its key is the directory's
    return (await readBundleKey(path))!;
  } finally {
    await rm(temp, { force: true });
  }
}
