/**
 * Exclusive files as locks, shared by everything that may hold one: the
 * scheduler (a running task's `exclusive_files`) and the resource manager
 * (an allocation's `exclusive_files`). One table, so a task never overlaps an
 * allocation and two tasks never overlap each other.
 */
/** What a holder is, for reports of a conflict (a holder is only an opaque key otherwise). */
export type LockOwner = { kind: 'task'; workflow_id: string; task_id: string; attempt: number } | { kind: 'allocation' };

export class FileLocks {
  /** file -> who holds it (a task's run key, or an allocation id) */
  readonly #held = new Map<string, string>();
  /** holder -> what it is, while it holds something */
  readonly #owners = new Map<string, LockOwner>();
  readonly #listeners = new Set<() => void>();

  /** Who holds `file`, if anyone. */
  holder(file: string): string | undefined {
    return this.#held.get(file);
  }

  /** The files of `files` someone else holds, with their holders. */
  conflicts(files: readonly string[], holder?: string): { file: string; holder: string }[] {
    return files.flatMap((file) => {
      const current = this.#held.get(file);
      return current === undefined || current === holder ? [] : [{ file, holder: current }];
    });
  }

  /** Takes all of `files` for `holder`, or none of them when any is held by another. */
  tryAcquire(files: readonly string[], holder: string, owner?: LockOwner): boolean {
    if (this.conflicts(files, holder).length > 0) return false;
    for (const file of files) this.#held.set(file, holder);
    if (owner && files.length > 0) this.#owners.set(holder, owner);
    return true;
  }

  /** What `holder` is, as it said when it took its files. */
  ownerOf(holder: string): LockOwner | undefined {
    return this.#owners.get(holder);
  }

  /** Gives back what `holder` holds of `files`; listeners hear of it when something was freed. */
  release(files: readonly string[], holder: string): void {
    // most tasks hold no file: nothing to look through on their way out
    if (files.length === 0) return;
    let freed = false;
    for (const file of files) {
      if (this.#held.get(file) !== holder) continue;
      this.#held.delete(file);
      freed = true;
    }
    if (![...this.#held.values()].includes(holder)) this.#owners.delete(holder);
    if (freed) for (const listener of [...this.#listeners]) listener();
  }

  /** Called after files were freed (e.g. to grant queued requests or dispatch waiting tasks). Returns the unsubscribe function. */
  onRelease(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every held file with its holder, for status views. */
  entries(): { file: string; holder: string }[] {
    return [...this.#held].map(([file, holder]) => ({ file, holder }));
  }
}
