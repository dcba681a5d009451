import { readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a user handler module says it is (`health` lists it as a component). */
export interface HandlerMeta {
  name: string;
  version: string;
  /** where the version came from: the module's own export, the nearest package.json, or nowhere ("unversioned") */
  version_source: 'module' | 'package.json' | 'none';
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined);

/**
 * A handler module's name and version: its `meta = {name, version}` export,
 * else its `name` and `version` exports; without them the name is the file's
 * (without extension) and the version that of the nearest package.json above
 * the file, else "unversioned".
 *
 * @example
 * moduleMeta({ meta: { name: 'deploy', version: '2.1.0' } }, url) // { name: 'deploy', version: '2.1.0', version_source: 'module' }
 */
export function moduleMeta(module: Record<string, unknown>, url: string): HandlerMeta {
  const meta = typeof module.meta === 'object' && module.meta !== null ? (module.meta as Record<string, unknown>) : {};
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  const name = text(meta.name) ?? text(module.name) ?? basename(path, extname(path));
  const own = text(meta.version) ?? text(module.version);
  if (own !== undefined) return { name, version: own, version_source: 'module' };
  const found = nearestPackageVersion(dirname(path));
  return found === undefined ? { name, version: 'unversioned', version_source: 'none' } : { name, version: found, version_source: 'package.json' };
}

/** The version of the first package.json found from `dir` up to the root; undefined when the first one has none, or there is none. */
function nearestPackageVersion(dir: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    let raw: string | undefined;
    try {
      raw = readFileSync(join(at, 'package.json'), 'utf8');
    } catch {
      raw = undefined;
    }
    if (raw !== undefined) {
      try {
        return text((JSON.parse(raw) as { version?: unknown }).version);
      } catch {
        return undefined;
      }
    }
    if (dirname(at) === at) return undefined;
  }
}
