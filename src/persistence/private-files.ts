import { chmod, mkdir, mkdtemp, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The mode of every directory troupe creates: its owner only, whatever the umask. */
export const PRIVATE_DIR_MODE = 0o700;

/** The mode of every file troupe creates: read and write for its owner only, whatever the umask. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates `dir` and its missing parents with mode 0700, and says whether it
 * created `dir` itself. Each new directory is created 0700 (the umask can
 * only take bits away, so it is never open to others, not even for a moment)
 * and then set to 0700 exactly, in case the umask took the owner's bits too.
 * A directory that already exists is left as it is.
 *
 * @example
 * if (await mkdirPrivate(join(root, 'checkpoints', id))) ... // a new, private directory
 */
export async function mkdirPrivate(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { mode: PRIVATE_DIR_MODE });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'ENOENT' || dirname(dir) === dir) throw error;
    await mkdirPrivate(dirname(dir));
    return mkdirPrivate(dir);
  }
  await chmod(dir, PRIVATE_DIR_MODE);
  return true;
}

/**
 * A new directory `<prefix>XXXXXX` with mode 0700 (`mkdtemp` creates it so;
 * set exactly in case the umask took the owner's bits).
 */
export async function mkdtempPrivate(prefix: string): Promise<string> {
  const dir = await mkdtemp(prefix);
  await chmod(dir, PRIVATE_DIR_MODE);
  return dir;
}

/**
 * Opens a file that may be created (`flags` 'w', 'wx', 'a', 'ax') with mode
 * 0600, and sets 0600 on it through the handle (no window, no path race): the
 * umask cannot widen a 0600 file, but it could make it unreadable to its owner.
 *
 * @example
 * const handle = await openPrivate(join(dir, 'segment.log'), 'a');
 */
export async function openPrivate(path: string, flags: 'w' | 'wx' | 'a' | 'ax'): Promise<FileHandle> {
  const handle = await open(path, flags, PRIVATE_FILE_MODE);
  try {
    await handle.chmod(PRIVATE_FILE_MODE);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}

/**
 * Appends `text` to `path`, creating it 0600 (for small line files such as
 * the REPL history).
 */
export async function appendFilePrivate(path: string, text: string): Promise<void> {
  const handle = await openPrivate(path, 'a');
  try {
    await handle.appendFile(text);
  } finally {
    await handle.close();
  }
}
