/**
 * The `values` of an `exec` task: what its command wrote to the file named by
 * `$TROUPE_OUTPUT` (in the attempt's spool, so a run adopted or recorded
 * after a crash still has them). The file holds a JSON object, or
 * `key=value` lines as GitHub Actions' `$GITHUB_OUTPUT` does: blank lines and
 * `#` comments are skipped, the value is the rest of the line verbatim, and a
 * repeated key keeps its last value. No file, or an empty one: `{}`.
 *
 * Read in the worker thread once the command has ended, never by the
 * supervisor: the size is checked before a byte is read, so a huge file costs
 * nothing but its error.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** How reading the values went; the caller turns a problem into the task's error. */
export type ValuesResult = { ok: true; values: Record<string, unknown> } | { ok: false; code: 'EXEC_VALUES_TOO_LARGE' | 'EXEC_VALUES_INVALID'; message: string };

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** Keys through which copying or merging the values (`Object.assign`, a deep merge) can reach an object's prototype. */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);
const FORMAT = 'The file must hold a JSON object or key=value lines.';

/** A problem with what the command wrote, told with where it is and what the file must hold. */
class Invalid extends Error {}

/** Reads and parses the values file at `path`, which may hold at most `maxBytes` bytes. */
export function readValues(path: string, maxBytes: number): ValuesResult {
  const where = `$TROUPE_OUTPUT (${path})`;
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO the command left there must not hang the worker (a regular file ignores it)
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, values: {} };
    return { ok: false, code: 'EXEC_VALUES_INVALID', message: `${where} cannot be read: ${(error as Error).message}` };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { ok: false, code: 'EXEC_VALUES_INVALID', message: `${where} is not a regular file. ${FORMAT}` };
    if (stat.size > maxBytes) {
      return {
        ok: false,
        code: 'EXEC_VALUES_TOO_LARGE',
        message: `${where} holds ${stat.size} bytes, over the task's max_output (${maxBytes} bytes). Write less to it (a path to a file of your own, for large data), or raise max_output.`,
      };
    }
    return { ok: true, values: parseValues(readAll(fd, stat.size)) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, code: 'EXEC_VALUES_INVALID', message: `${where}: ${error.message} ${FORMAT}` };
    throw error;
  } finally {
    closeSync(fd);
  }
}

/** Up to `size` bytes from the start of the file (the command has ended: it does not grow). */
function readAll(fd: number, size: number): Buffer {
  const buffer = Buffer.alloc(size);
  let filled = 0;
  while (filled < size) {
    const n = readSync(fd, buffer, filled, size - filled, filled);
    if (n === 0) break;
    filled += n;
  }
  return buffer.subarray(0, filled);
}

/** The values in `bytes`; throws Invalid saying what is wrong and where. */
function parseValues(bytes: Buffer): Record<string, unknown> {
  const text = utf8(bytes);
  const start = text.trimStart()[0];
  if (start === undefined) return {};
  if (start === '{' || start === '[') return parseJson(text);
  try {
    return parseLines(text);
  } catch (error) {
    // `42`, `"text"` or `true` is not a bad line but JSON of the wrong kind: say so
    notJsonObject(text);
    throw error;
  }
}

/** Strict UTF-8: a value silently mangled into U+FFFD would be worse than an error. */
function utf8(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // no UTF-8 sequence holds a 0x0a byte: the first line that does not survive decoding holds the fault
    let line = 1;
    for (let at = 0; ; line++) {
      const end = bytes.indexOf(0x0a, at);
      const part = bytes.subarray(at, end === -1 ? bytes.length : end);
      if (end === -1 || !Buffer.from(part.toString('utf8'), 'utf8').equals(part)) break;
      at = end + 1;
    }
    throw new Invalid(`line ${line} is not UTF-8 text.`);
  }
}

function parseJson(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Invalid(`line ${jsonErrorLine(text)} is not valid JSON: ${syntaxProblem((error as Error).message)}.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Invalid(`it holds ${kindOf(value)}, not an object.`);
  // JSON.parse makes `__proto__` an own key: harmless here, but not once the values are merged into another object
  const stack: [unknown, string][] = [[value, 'values']];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    for (const [key, child] of Object.entries(node)) {
      const at = Array.isArray(node) ? `${path}[${key}]` : `${path}.${key}`;
      if (!Array.isArray(node) && RESERVED.has(key)) throw new Invalid(`the key \`${key}\` (at ${at}) is reserved: rename it.`);
      stack.push([child, at]);
    }
  }
  return value as Record<string, unknown>;
}

/**
 * The line of a JSON syntax error (V8 names a position only for some): the
 * first line whose prefix of the text fails with more than a missing end.
 * A line break is never inside a valid JSON string, so a prefix cut at one
 * fails either where the whole text does, or only for ending early.
 */
function jsonErrorLine(text: string): number {
  const lines = text.split('\n');
  let low = 1;
  let high = lines.length;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (failsWithin(lines.slice(0, mid).join('\n'))) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** True when `prefix` has a JSON syntax error before its end (V8 says "end of JSON input", or a position at the end, for one that only stops early). */
function failsWithin(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return false;
  } catch (error) {
    const { message } = error as Error;
    const position = /at position (\d+)/.exec(message);
    if (position) return Number(position[1]) < prefix.length;
    return !message.startsWith('Unexpected end of JSON input');
  }
}

/** V8's words without the position (the line says it better) or its quote of the text (which may span lines). */
function syntaxProblem(message: string): string {
  return message.replace(/, (\.\.\.)?".*" is not valid JSON$/s, '').replace(/ (in JSON )?at position \d+.*$/s, '');
}

const kindOf = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'a JSON array' : `a JSON ${typeof value}`);

function parseLines(text: string): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    // a CRLF file reads the same as an LF one
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const number = index + 1;
    const equals = line.indexOf('=');
    if (equals === -1) throw new Invalid(`line ${number} (${shown(line)}) is not key=value: it has no \`=\`.`);
    const key = line.slice(0, equals);
    if (!KEY.test(key)) throw new Invalid(`line ${number} (${shown(line)}): ${shown(key)} is not a key (a letter or _, then letters, digits, _, . or -).`);
    if (RESERVED.has(key)) throw new Invalid(`line ${number}: the key \`${key}\` is reserved: rename it.`);
    values[key] = line.slice(equals + 1);
  }
  return values;
}

/** Throws when the whole text is JSON (of a kind other than an object, or parseValues would have taken it as one). */
function notJsonObject(text: string): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return;
  }
  throw new Invalid(`it holds ${kindOf(value)}, not an object.`);
}

/** A line or key as an error shows it: quoted, control characters escaped, cut to a readable length. */
function shown(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}
