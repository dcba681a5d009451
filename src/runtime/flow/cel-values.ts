/**
 * JSON <-> CEL values.
 *
 * Into CEL, objects become `Map`s: the library reads a Map with `get`, so no
 * key (`constructor`, `__proto__`, `toString`) can reach a prototype, and such
 * keys in the data stay readable as data. Integers become `bigint` (CEL `int`)
 * so `output.n + 1` type-checks; other numbers stay `double`. The copy is also
 * what keeps the caller's objects out of the evaluator's reach.
 *
 * Out of CEL, only what JSON can hold comes back, as fresh plain objects.
 */

/** Deeper than any context the caller builds (its values are depth-limited); only guards cycles. */
const MAX_DEPTH = 512;

/**
 * How many values, and string characters, a result may hold. `[l, l, l]` or
 * `l.map(x, l)` repeat a value by reference inside CEL, but the JSON copy (and
 * its text, in an embedded template) is real: this bounds what one short
 * expression can make the hub allocate. A task output is at most 16 MiB, so
 * passing one through whole stays well inside.
 */
export const MAX_RESULT_VALUES = 1_000_000;
export const MAX_RESULT_CHARS = 64 * 1024 * 1024;

/** A conversion failure; the caller adds the expression and position. */
export class ValueError extends Error {}

/**
 * The CEL form of a JSON value. `undefined`, functions and symbols are absent,
 * as `JSON.stringify` treats them (null inside a list).
 *
 * @example toCel({ n: 3, f: 1.5 }) // Map { 'n' => 3n, 'f' => 1.5 }
 */
export function toCel(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new ValueError(`the context is nested more than ${MAX_DEPTH} levels deep (a cycle?)`);
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'bigint':
      return value;
    case 'number':
      return Number.isSafeInteger(value) ? BigInt(value) : value;
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) {
        const list = new Array<unknown>(value.length);
        for (let i = 0; i < value.length; i++) list[i] = toCel(value[i], depth + 1) ?? null;
        return list;
      }
      const map = new Map<string, unknown>();
      for (const key of Object.keys(value)) {
        const entry = toCel((value as Record<string, unknown>)[key], depth + 1);
        if (entry !== undefined) map.set(key, entry);
      }
      return map;
    }
    default:
      return undefined;
  }
}

/**
 * The JSON form of a CEL result: a fresh value of strings, finite numbers,
 * booleans, null, arrays and plain objects. Throws ValueError for what JSON
 * cannot hold (an integer beyond ±2^53−1, NaN, bytes, timestamps, types…).
 *
 * @example fromCel(new Map([['n', 3n]])) // { n: 3 }
 */
export function fromCel(value: unknown): unknown {
  return convert(value, 0, { values: MAX_RESULT_VALUES, chars: MAX_RESULT_CHARS });
}

interface Budget {
  values: number;
  chars: number;
}

function convert(value: unknown, depth: number, budget: Budget): unknown {
  if (--budget.values < 0) throw new ValueError(`the result holds more than ${MAX_RESULT_VALUES} values`);
  if (depth > MAX_DEPTH) throw new ValueError(`the result is nested more than ${MAX_DEPTH} levels deep`);
  switch (typeof value) {
    case 'string':
      // A string's length is known without flattening it: concatenations stay cheap ropes until used.
      if ((budget.chars -= value.length) < 0) throw new ValueError(`the result holds more than ${MAX_RESULT_CHARS} characters of text`);
      return value;
    case 'boolean':
      return value;
    case 'bigint':
      if (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
      throw new ValueError(`the integer ${value} is beyond what a JSON number holds exactly (±2^53−1); use string() to keep it whole`);
    case 'number':
      if (Number.isFinite(value)) return value;
      throw new ValueError(`the result ${value} is not a JSON number`);
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) return value.map((item) => convert(item, depth + 1, budget));
      const out: Record<string, unknown> = {};
      if (value instanceof Map) {
        for (const [key, item] of value) {
          if (typeof key !== 'string') throw new ValueError(`a map key (${String(key)}) is not a string, and JSON object keys are`);
          setOwn(out, key, convert(item, depth + 1, budget));
        }
        return out;
      }
      // Map literals (`{"a": 1}`) come back from the library as plain objects.
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) {
        for (const key of Object.keys(value)) setOwn(out, key, convert((value as Record<string, unknown>)[key], depth + 1, budget));
        return out;
      }
      throw new ValueError(`the result is ${celKind(value)}, which JSON cannot hold${fixFor(value)}`);
    }
    default:
      throw new ValueError(`the result is a ${typeof value}, which JSON cannot hold`);
  }
}

/**
 * Sets an own data property. A plain assignment of the key `__proto__`
 * would set the object's prototype instead (JSON.parse makes it an own key
 * too, so data round-trips as JSON would).
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** The CEL name of a value JSON has no place for, for the error message. */
function celKind(value: object): string {
  if (value instanceof Uint8Array) return 'a bytes value';
  if (value instanceof Date) return 'a timestamp';
  const name = (value.constructor as { name?: unknown } | undefined)?.name;
  if (name === 'UnsignedInt') return 'a uint';
  return typeof name === 'string' && name !== '' ? `a ${name} value` : 'a value of no JSON type';
}

/** The conversion that makes a value JSON, where the library has one. */
function fixFor(value: object): string {
  if (value instanceof Uint8Array) return '; convert it with .string() or .base64()';
  if ((value.constructor as { name?: unknown } | undefined)?.name === 'UnsignedInt') return '; convert it with int()';
  return '';
}
