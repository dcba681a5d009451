import { dirname, resolve } from 'node:path';

/** The longest id that may become a file name. */
export const SAFE_ID_MAX_LENGTH = 128;

const ALLOWED = /[A-Za-z0-9_.-]/;
const FIRST = /^[A-Za-z0-9]/;

/** The rule every id that becomes a file name follows, as a sentence for messages. */
export const SAFE_ID_RULE = `Ids become file names in the data directory, so they use letters, digits, "_", "." and "-", start with a letter or digit, hold no "..", and are at most ${SAFE_ID_MAX_LENGTH} characters`;

/** What an id names, for messages: `workflow id "x" cannot name a file`. */
export type IdKind = 'workflow id' | 'task id' | 'checkpoint id';

/**
 * Why `id` cannot be a file name, as the end of "it …", or null when it
 * can. The one rule for every id that becomes a path: workflow ids (index
 * records, checkpoint directories, log directories), checkpoint ids and task
 * ids (log files).
 *
 * @example
 * unsafeIdReason('wf_1')         // null
 * unsafeIdReason('../../victim') // 'holds "/"'
 */
export function unsafeIdReason(id: unknown): string | null {
  if (typeof id !== 'string') return `is not a string (got ${id === null ? 'null' : typeof id})`;
  if (id.length === 0) return 'is empty';
  if (id.length > SAFE_ID_MAX_LENGTH) return `is ${id.length} characters long`;
  for (const char of id) if (!ALLOWED.test(char)) return `holds ${JSON.stringify(char)}`;
  if (!FIRST.test(id)) return `starts with ${JSON.stringify(id[0])}`;
  if (id.includes('..')) return 'holds ".."';
  return null;
}

/** True when `id` may become a file name (see {@link unsafeIdReason}). */
export function isSafeId(id: unknown): id is string {
  return unsafeIdReason(id) === null;
}

/** An id that cannot become a file name. The runtime answers it as `INVALID_ID`. */
export class UnsafeIdError extends Error {
  readonly code = 'INVALID_ID';

  constructor(
    readonly kind: IdKind,
    readonly id: unknown,
    /** what breaks the rule, as the end of "it …" */
    readonly reason: string,
  ) {
    super(`${kind[0]!.toUpperCase()}${kind.slice(1)} ${JSON.stringify(id)} cannot name a file: it ${reason}. ${SAFE_ID_RULE}`);
    this.name = 'UnsafeIdError';
  }
}

/**
 * Throws {@link UnsafeIdError} unless `id` may become a file name.
 *
 * @example
 * assertSafeId('task id', spec.id);
 */
export function assertSafeId(kind: IdKind, id: unknown): asserts id is string {
  const reason = unsafeIdReason(id);
  if (reason !== null) throw new UnsafeIdError(kind, id, reason);
}

/**
 * The path of `<dir>/<id><suffix>`, for an id checked by {@link assertSafeId};
 * last, the resolved path must sit directly inside `dir`, whatever the suffix.
 * Every place that joins an id into a path goes through here.
 *
 * @example
 * idPath(checkpointsDir, 'workflow id', 'wf_1')                          // <dir>/wf_1
 * idPath(idPath(logsDir, 'workflow id', wf), 'task id', task, `.${attempt}.log`)
 */
export function idPath(dir: string, kind: IdKind, id: unknown, suffix = ''): string {
  assertSafeId(kind, id);
  const base = resolve(dir);
  const path = resolve(base, `${id}${suffix}`);
  if (dirname(path) !== base) throw new UnsafeIdError(kind, id, `resolves to ${path}, outside ${base}`);
  return path;
}
