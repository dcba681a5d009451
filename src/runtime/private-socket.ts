import { chmod, rename, rm } from 'node:fs/promises';
import type { Server } from 'node:net';
import { dirname, join } from 'node:path';
import { mkdtempPrivate, PRIVATE_FILE_MODE } from '../persistence/private-files.js';

/**
 * Makes `server` listen on the Unix socket `path` so that no other user can
 * reach it at any moment, whatever the umask: `listen()` creates the socket
 * file with the umask's mode (0777 under umask 000), so it binds it inside
 * a new 0700 directory beside `path` where no one else can get to it, sets
 * it 0600, and only then renames it to `path` (replacing a stale socket
 * atomically). A client connects by path, so it reaches the socket under
 * its new name; the directory is removed. Not `process.umask()` around the
 * bind: the umask is the whole process's, and a task process started in
 * that moment by a worker thread would inherit it.
 *
 * @example
 * await listenPrivately(createServer(), join(dataDir, 'troupe.sock'));
 */
export async function listenPrivately(server: Server, path: string): Promise<void> {
  const dir = await mkdtempPrivate(join(dirname(path), '.sock-'));
  try {
    // short, so that it fits a Unix socket path wherever `path` does
    const hidden = join(dir, 's');
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(hidden, () => {
        server.off('error', reject);
        resolve();
      });
    });
    try {
      await chmod(hidden, PRIVATE_FILE_MODE);
      await rename(hidden, path);
      // a belt: it was 0600 before it had this name
      await chmod(path, PRIVATE_FILE_MODE);
    } catch (error) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw error;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
