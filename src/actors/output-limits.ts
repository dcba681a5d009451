import type { TaskError } from '../machines/types.js';
import { decoded, formatBytes, measure, MAX_DEPTH, type Unencodable } from './encodable.js';

/**
 * The largest `max_output_bytes` troupe accepts, and what a worker applies
 * when its task names no limit. An outcome is one log frame; the reader
 * takes a frame over 64 MiB for a corrupt length, and a failure's event
 * carries its error about three times (the error, its message, the JSON
 * text of the event), so a quarter of that keeps every frame plausible.
 */
export const OUTPUT_BYTES_CEILING = 16 * 1024 * 1024;

/** A task error's message is for people: longer ones are cut to this many characters. */
export const MAX_ERROR_MESSAGE = 16 * 1024;
const MAX_ERROR_NAME = 200;
const MAX_ERROR_CODE = 100;
/** A handler's progress becomes an event's data at most once a second: a few KiB say enough. */
export const MAX_PROGRESS_BYTES = 64 * 1024;

/** The codes a task fails with when its output cannot be stored. */
export const OUTPUT_ERROR_CODES = { tooLarge: 'OUTPUT_TOO_LARGE', notSerializable: 'OUTPUT_NOT_SERIALIZABLE' } as const;

/** Where a check runs, for the messages it writes. */
export interface OutputLimits {
  /** the task, as the message names it: `task build` */
  taskId: string;
  maxBytes: number;
}

const FIXES: Record<Unencodable['kind'], string> = {
  depth: `Return plain data nested at most ${MAX_DEPTH} levels deep`,
  cycle: 'Return a tree: drop the back reference, or refer to the object by an id',
  bigint: 'Return it as a string (or as a number, when it fits)',
  symbol: 'Return a string instead',
  codec: 'Return plain data: objects, arrays, strings, numbers, booleans and null',
  size: 'Write large results to a file and return its path, or raise max_output_bytes',
};

/** The problem in words: what was found, against which rule. */
function describe(found: Unencodable, root: string, maxBytes: number, limit = 'max_output_bytes'): string {
  if (found.kind !== 'size') return found.problem;
  return `${root} is ${found.exact ? `${formatBytes(found.bytes)} (${found.bytes} bytes) encoded` : `at least ${formatBytes(found.bytes)}`}, over ${limit} (${formatBytes(maxBytes)})`;
}

function outputError(found: Unencodable, limits: OutputLimits): TaskError {
  const code = found.kind === 'size' ? OUTPUT_ERROR_CODES.tooLarge : OUTPUT_ERROR_CODES.notSerializable;
  const ceiling = found.kind === 'size' ? ` (at most ${formatBytes(OUTPUT_BYTES_CEILING)})` : '';
  return {
    name: 'OutputError',
    code,
    message: `The output of task ${limits.taskId} cannot be stored: ${describe(found, 'output', limits.maxBytes)}. ${FIXES[found.kind]}${ceiling}.`,
    // the same output fails the same way every time
    retryable: false,
  };
}

/**
 * Checks a handler's output before it leaves the worker (and again on the
 * main thread, before the log): one the log cannot hold fails the task with
 * OUTPUT_TOO_LARGE or OUTPUT_NOT_SERIALIZABLE (not retryable), saying what
 * was wrong and where. With `normalize`, a good output comes back as the
 * codec gives it back (a Map as an object, a function as undefined), so
 * what the workflow sees now is what it sees after a restart.
 *
 * @example
 * checkOutput(10n, { taskId: 'sum', maxBytes: 4 << 20 }).error.code // 'OUTPUT_NOT_SERIALIZABLE'
 */
export function checkOutput(output: unknown, limits: OutputLimits & { normalize?: boolean }): { ok: true; output: unknown } | { ok: false; error: TaskError } {
  const found = measure(output, { maxBytes: limits.maxBytes, root: 'output', ...(limits.normalize ? { encode: true } : {}) });
  if (!found.ok) return { ok: false, error: outputError(found, limits) };
  return { ok: true, output: limits.normalize && found.encoded ? decoded(found.encoded) : output };
}

/** `text` in at most `max` characters, the note included (so a second cut changes nothing). */
function cut(text: string, max: number, what: string): string {
  if (text.length <= max) return text;
  const note = `… (${what} cut: ${text.length} characters, at most ${max} are kept)`;
  return text.slice(0, Math.max(0, max - note.length)) + note;
}

/**
 * Bounds a task error the way outputs are bounded: `name` and `code` short
 * strings, `message` at most {@link MAX_ERROR_MESSAGE} characters, and
 * `data` (what a handler attached) held to the output rules, or replaced by
 * `{omitted: why}`. The code and `retryable` are kept: they decide what
 * happens next.
 *
 * @example
 * boundTaskError({ name: 'E', code: 'X', message: 'm'.repeat(1e6), retryable: true }, { taskId: 't', maxBytes: 4 << 20 }).message.length // 16 KiB and a note
 */
export function boundTaskError(error: TaskError, limits: OutputLimits & { normalize?: boolean }): TaskError {
  const text = (value: unknown, fallback: string) => (typeof value === 'string' && value.length > 0 ? value : fallback);
  const bounded: TaskError = {
    name: cut(text(error.name, 'Error'), MAX_ERROR_NAME, 'name'),
    code: text(error.code, 'HANDLER_ERROR').slice(0, MAX_ERROR_CODE),
    message: cut(text(error.message, ''), MAX_ERROR_MESSAGE, 'message'),
    retryable: typeof error.retryable === 'boolean' ? error.retryable : true,
  };
  if (error.data === undefined) return bounded;
  const found = measure(error.data, { maxBytes: limits.maxBytes, root: 'data', ...(limits.normalize ? { encode: true } : {}) });
  if (!found.ok) return { ...bounded, data: { omitted: `the error's ${describe(found, 'data', limits.maxBytes)}` } };
  return { ...bounded, data: limits.normalize && found.encoded ? decoded(found.encoded) : error.data };
}

/**
 * A handler's progress as it may travel and be logged: as it is when the
 * codec can hold it within {@link MAX_PROGRESS_BYTES}, else `{omitted: why}`.
 *
 * @example boundProgress({ step: 1n }) // { omitted: 'progress.step is a BigInt (1n)' }
 */
export function boundProgress(progress: unknown): unknown {
  if (progress === null || progress === undefined) return null;
  const found = measure(progress, { maxBytes: MAX_PROGRESS_BYTES, root: 'progress', encode: true });
  if (!found.ok) return { omitted: describe(found, 'progress', MAX_PROGRESS_BYTES, 'the progress limit') };
  return found.encoded ? decoded(found.encoded) : progress;
}

/**
 * The main thread's check of an attempt's outcome before it is logged (the
 * worker checked it already; another runner may not have): an output or an
 * error the log cannot hold becomes a failure, as in the worker.
 *
 * @example
 * outcome = boundOutcome(outcome, { taskId: spec.id, maxBytes: 4 << 20 });
 */
export function boundOutcome<T extends { ok: true; output: unknown } | { ok: false; error: TaskError }>(outcome: T, limits: OutputLimits): T {
  if (!outcome.ok) return { ...outcome, error: boundTaskError(outcome.error, limits) };
  const checked = checkOutput(outcome.output, limits);
  if (checked.ok) return outcome;
  const { output: _dropped, ...rest } = outcome;
  return { ...rest, ok: false, error: checked.error } as unknown as T;
}
