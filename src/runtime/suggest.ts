import { z } from 'zod';

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

/** The candidate closest to a misspelt name, or null when none is close (at most a third of its letters off, and never more than 2 for short words). */
export function closestName<T extends string>(name: string, candidates: Iterable<T>): T | null {
  let best: T | null = null;
  let bestDistance = Infinity;
  const wanted = name.toLowerCase();
  for (const candidate of candidates) {
    const d = editDistance(wanted, candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

type JsonSchemaNode = { properties?: Record<string, JsonSchemaNode>; items?: JsonSchemaNode; anyOf?: JsonSchemaNode[]; oneOf?: JsonSchemaNode[] };

/** The keys a schema accepts at a path of the input (objects, arrays and unions walked), from its JSON Schema. */
function keysAt(node: JsonSchemaNode | undefined, path: readonly PropertyKey[]): string[] {
  if (!node) return [];
  const alternatives = [...(node.anyOf ?? []), ...(node.oneOf ?? [])];
  if (alternatives.length > 0) return [...new Set(alternatives.flatMap((a) => keysAt(a, path)))];
  if (path.length === 0) return Object.keys(node.properties ?? {});
  const [head, ...rest] = path;
  if (typeof head === 'number') return keysAt(node.items, rest);
  return keysAt(node.properties?.[String(head)], rest);
}

/**
 * One line per unknown key in a zod error, naming the key, where it was, and
 * the accepted key it is closest to ("did you mean"), or the keys that are
 * accepted there when none is close.
 */
export function unknownKeyHints(schema: z.ZodType, error: z.ZodError): string[] {
  let json: JsonSchemaNode | undefined;
  const hints: string[] = [];
  for (const issue of error.issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    try {
      json ??= z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
    } catch {
      json = {};
    }
    const known = keysAt(json, issue.path);
    const where = issue.path.length === 0 ? 'the parameters' : issue.path.join('.');
    for (const key of issue.keys) {
      const guess = closestName(key, known);
      if (guess) hints.push(`Unknown key "${key}" in ${where}: did you mean "${guess}"?`);
      else if (known.length > 0) hints.push(`Unknown key "${key}" in ${where}; accepted there: ${known.join(', ')}`);
      else hints.push(`Unknown key "${key}": ${issue.path.length === 0 ? 'this operation takes no parameters' : `${where} takes no keys`}`);
    }
  }
  return hints;
}
