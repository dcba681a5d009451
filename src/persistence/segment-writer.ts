import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from './atomic-file.js';

/** Opens a segment file for appending (`fs/promises.open`); tests inject one that fails on demand. */
export type OpenSegment = (path: string, flags: 'a', mode: number) => Promise<FileHandle>;

/**
 * The log's segment being written: appends whole batches of frames to it,
 * fsyncs, and moves on to a new segment. A write either lands whole or
 * leaves nothing: a full disk (ENOSPC, EDQUOT) or a failing one (EIO) can
 * write part of a batch before it refuses, and a frame torn in the middle of
 * a segment would be taken for damage at the next start and cut off with
 * every record after it, so the file is cut back to its last whole batch.
 */
export class SegmentWriter {
  readonly #dir: string;
  readonly #open: OpenSegment;
  #handle: FileHandle;
  #size: number;
  #unsynced = false;
  /** a failed write could not be cut off: the next write truncates to #size first */
  #dirtyTail = false;

  private constructor(dir: string, handle: FileHandle, size: number, openSegment: OpenSegment) {
    this.#dir = dir;
    this.#handle = handle;
    this.#size = size;
    this.#open = openSegment;
  }

  /** Opens segment `name` in `dir` for appending after its first `size` bytes (the good ones). */
  static async open(dir: string, name: string, size: number, openSegment: OpenSegment = open): Promise<SegmentWriter> {
    return new SegmentWriter(dir, await openSegment(join(dir, name), 'a', 0o600), size, openSegment);
  }

  /** Bytes written to the current segment. */
  get size(): number {
    return this.#size;
  }

  /** Appends `bytes` whole, fsyncing them when `sync`; on any failure the segment is cut back and the error thrown. */
  async write(bytes: Buffer, sync: boolean): Promise<void> {
    if (this.#dirtyTail) {
      await this.#handle.truncate(this.#size);
      this.#dirtyTail = false;
    }
    try {
      for (let written = 0; written < bytes.length; ) {
        // a short write (the last free blocks) is continued: the next part reports the error
        const { bytesWritten } = await this.#handle.write(bytes, written, bytes.length - written);
        if (bytesWritten <= 0) throw Object.assign(new Error('a write made no progress'), { code: 'EIO' });
        written += bytesWritten;
      }
      this.#unsynced = true;
      if (sync) await this.sync();
    } catch (error) {
      await this.#handle.truncate(this.#size).catch(() => (this.#dirtyTail = true));
      throw error;
    }
    this.#size += bytes.length;
  }

  /** fsyncs what was written; after a failure the next call tries again. */
  async sync(): Promise<void> {
    if (!this.#unsynced) return;
    this.#unsynced = false;
    try {
      await this.#handle.sync();
    } catch (error) {
      this.#unsynced = true;
      throw error;
    }
  }

  /** True when something written has not been fsynced yet. */
  get unsynced(): boolean {
    return this.#unsynced;
  }

  /** Continues in a new segment `name`; on a failure the current one stays in use. */
  async rotate(name: string): Promise<void> {
    await this.sync();
    const next = await this.#open(join(this.#dir, name), 'a', 0o600);
    try {
      await fsyncDir(this.#dir);
    } catch (error) {
      await next.close().catch(() => {});
      throw error;
    }
    const previous = this.#handle;
    this.#handle = next;
    this.#size = 0;
    this.#unsynced = false;
    await previous.close().catch(() => {});
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}
