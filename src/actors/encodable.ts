import { Packr } from 'msgpackr';

/**
 * The codec options of the log and the checkpoints (`src/persistence/checkpoint-codec.ts`;
 * the worker may not import persistence, so they are repeated here, and a test
 * checks both encode alike).
 */
const packr = new Packr({ useRecords: false, moreTypes: true, useToJSON: false, structuredClone: false });

/**
 * How deep a value may nest. msgpackr encodes (and xstate persists, and
 * JSON renders) recursively: a few thousand levels overflow the stack. A
 * task's output sits about ten levels down in a checkpoint, so this leaves
 * a wide margin on every thread.
 */
export const MAX_DEPTH = 100;

/** Why a value cannot be stored, in words that name where in it the problem is. */
export type Unencodable =
  | { ok: false; kind: 'depth' | 'cycle' | 'bigint' | 'symbol' | 'codec'; problem: string }
  /** `exact`: the encoded size; otherwise a lower bound that already exceeds the limit */
  | { ok: false; kind: 'size'; bytes: number; exact: boolean };

/** What {@link measure} found. `encoded` is set when the value was encoded to size it. */
export type Measured = { ok: true; encoded: Uint8Array | null } | Unencodable;

/** Where a child sits, built into a path (`output.a[3]`) only when it is reported. */
interface Place {
  parent: Place | null;
  key: string | number;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function pathOf(place: Place, root: string): string {
  const keys: (string | number)[] = [];
  for (let p: Place | null = place; p; p = p.parent) keys.push(p.key);
  keys.reverse();
  const parts = keys.slice(1).map((k) => (typeof k === 'number' ? `[${k}]` : IDENTIFIER.test(k) ? `.${k}` : `[${JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k)}]`));
  // a path through 100 levels says little more than its ends
  const shown = parts.length > 8 ? [...parts.slice(0, 4), '…', ...parts.slice(-3)] : parts;
  return root + shown.join('');
}

/** One container on the path being walked, with its children still to visit. */
interface Level {
  node: object;
  place: Place;
  /** array items, object values, Map keys and values, Set members */
  children: readonly unknown[];
  /** object keys (parallel to `children`), or null for index keys */
  keys: readonly string[] | null;
  next: number;
}

/**
 * Walks `value` the way the codec would encode it, without recursion (so a
 * 3 000-deep value cannot overflow the stack here) and with memory in
 * proportion to its depth, and says whether the log can hold it: nested at
 * most {@link MAX_DEPTH} levels, no cycle, no BigInt (JSON, which answers and
 * events are rendered in, has none) and no symbol, and at most `maxBytes`
 * encoded. The walk counts a lower and an upper bound of the encoded size on
 * the way, and stops as soon as the lower one passes the limit (a value that
 * shares one object many times is counted as often as it would be encoded);
 * only a value whose bounds straddle the limit, or one with exotic parts, is
 * encoded to know its size exactly. `encode: true` always encodes (and
 * returns the bytes).
 *
 * @example
 * measure({ a: [1, 2] }, { maxBytes: 1024, root: 'output' }) // { ok: true, encoded: null }
 * measure(10n, { maxBytes: 1024, root: 'output' }).problem // 'output is a BigInt (10n)'
 */
export function measure(value: unknown, options: { maxBytes: number; root: string; encode?: boolean }): Measured {
  const { maxBytes, root } = options;
  const levels: Level[] = [];
  const onPath = new Map<object, Place>();
  let low = 0;
  let high = 0;
  let exotic = false;

  const leaf = (child: unknown, place: () => Place): Unencodable | null => {
    switch (typeof child) {
      case 'string':
        low += child.length + 1;
        high += child.length * 3 + 5;
        return null;
      case 'bigint': {
        const digits = child.toString();
        return { ok: false, kind: 'bigint', problem: `${pathOf(place(), root)} is a BigInt (${digits.length > 30 ? `${digits.slice(0, 30)}…` : digits}n)` };
      }
      case 'symbol':
        return { ok: false, kind: 'symbol', problem: `${pathOf(place(), root)} is a symbol (${child.toString().slice(0, 60)})` };
      case 'object':
        if (child === null) break;
        if ((ArrayBuffer.isView(child) && !(child instanceof DataView)) || child instanceof ArrayBuffer) {
          low += child.byteLength;
          high += child.byteLength + 16;
          return null;
        }
        if (child instanceof Date) {
          high += 14;
          break;
        }
        if (child instanceof RegExp || child instanceof Error || child instanceof DataView) {
          // encoded as extensions: sized by encoding
          exotic = true;
          break;
        }
        return open(child, place());
      default:
        // numbers, booleans, undefined; a function is encoded as undefined
        high += 8;
    }
    low += 1;
    high += 1;
    return null;
  };

  const open = (node: object, place: Place): Unencodable | null => {
    const seen = onPath.get(node);
    if (seen) return { ok: false, kind: 'cycle', problem: `${pathOf(place, root)} refers back to ${pathOf(seen, root)} (a cycle)` };
    if (levels.length >= MAX_DEPTH) return { ok: false, kind: 'depth', problem: `${root} nests deeper than ${MAX_DEPTH} levels (at ${pathOf(place, root)})` };
    let children: readonly unknown[];
    let keys: readonly string[] | null = null;
    if (Array.isArray(node)) children = node;
    else if (node instanceof Map) children = [...node].flat();
    else if (node instanceof Set) children = [...node];
    else {
      keys = Object.keys(node);
      children = keys.map((k) => (node as Record<string, unknown>)[k]);
      for (const k of keys) {
        low += k.length + 1;
        high += k.length * 3 + 5;
      }
    }
    low += 1;
    high += 5;
    onPath.set(node, place);
    levels.push({ node, place, children, keys, next: 0 });
    return null;
  };

  const rootPlace: Place = { parent: null, key: root };
  try {
    let problem = leaf(value, () => rootPlace);
    while (!problem && levels.length > 0) {
      if (low > maxBytes) return { ok: false, kind: 'size', bytes: low, exact: false };
      const level = levels.at(-1)!;
      if (level.next >= level.children.length) {
        levels.pop();
        onPath.delete(level.node);
        continue;
      }
      const i = level.next++;
      problem = leaf(level.children[i], () => ({ parent: level.place, key: level.keys ? level.keys[i]! : i }));
    }
    if (problem) return problem;
  } catch (error) {
    // a getter that throws, a revoked proxy: whatever the codec would also trip on
    return { ok: false, kind: 'codec', problem: `reading ${root} threw: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (low > maxBytes) return { ok: false, kind: 'size', bytes: low, exact: false };
  if (!options.encode && !exotic && high <= maxBytes) return { ok: true, encoded: null };
  let encoded: Uint8Array;
  try {
    encoded = packr.pack(value);
  } catch (error) {
    return { ok: false, kind: 'codec', problem: `msgpack cannot encode ${root}: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (encoded.length > maxBytes) return { ok: false, kind: 'size', bytes: encoded.length, exact: true };
  return { ok: true, encoded };
}

/** Decodes what {@link measure} encoded: the value as the log will give it back after a restart. */
export function decoded(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/**
 * Bytes in words: `512 bytes`, `3.5 KiB`, `70 MiB`.
 *
 * @example formatBytes(4 * 1024 * 1024) // '4 MiB'
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const [unit, size] = bytes < 1024 * 1024 ? ['KiB', bytes / 1024] : bytes < 1024 ** 3 ? ['MiB', bytes / 1024 ** 2] : ['GiB', bytes / 1024 ** 3];
  return `${Number(size.toFixed(1))} ${unit}`;
}
