import { createHash } from 'node:crypto';

/** JSON with every object's keys in sorted order: the same value always gives the same text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * A short fingerprint of a `create` request's parameters as given (the
 * definition or template name, and the params). The workflow keeps it, so
 * `troupe run FILE --id ID` can tell a different file under a known id (and
 * find the running workflow of the same file) without comparing definitions
 * field by field. Key order and formatting of the file do not change it.
 *
 * @example definitionDigest({ name: 'a', phases: [] }) === definitionDigest({ phases: [], name: 'a' })
 */
export function definitionDigest(parameters: unknown): string {
  return createHash('sha256').update(canonical(parameters)).digest('hex').slice(0, 16);
}
