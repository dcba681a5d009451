import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isBuiltinHandler } from './handler-inputs.js';

/**
 * A user handler named in the config: `name: "./path/to/module.js#export"`
 * (`#default` when the fragment is left out). Workers import the module
 * lazily and call the export as `(input, ctx) => output`.
 */
export interface HandlerRef {
  name: string;
  /** what the config said, for messages */
  spec: string;
  /** the module's file URL */
  url: string;
  exportName: string;
}

/** Whether a configured handler can run: its module loads and its export is a function. */
export type HandlerProbe =
  | { ok: true; /** the module's name and version (worker/handler-meta.ts) */ name?: string; version?: string; version_source?: 'module' | 'package.json' | 'none' }
  | { ok: false; reason: string };

const NAME = /^[A-Za-z][\w.-]{0,63}$/;

/**
 * Resolves the config's `handlers` map against `baseDir` (the config
 * file's directory). Throws on what no later step could repair: a name
 * that is not an identifier, a name taken by a built-in, an empty path.
 */
export function resolveHandlerRefs(handlers: Readonly<Record<string, string>>, baseDir: string): HandlerRef[] {
  return Object.entries(handlers).map(([name, spec]) => {
    if (!NAME.test(name)) throw new Error(`Handler name ${JSON.stringify(name)} must start with a letter and use letters, digits, '_', '-' or '.'`);
    if (isBuiltinHandler(name)) throw new Error(`Handler name ${name} is a built-in handler's; choose another name`);
    const hash = spec.lastIndexOf('#');
    const path = hash === -1 ? spec : spec.slice(0, hash);
    const exportName = hash === -1 ? 'default' : spec.slice(hash + 1);
    if (path.trim() === '' || exportName === '') throw new Error(`Handler ${name}: ${JSON.stringify(spec)} is not "path/to/module.js#export"`);
    const url = path.startsWith('file:') ? path : pathToFileURL(isAbsolute(path) ? path : resolve(baseDir, path)).href;
    return { name, spec, url, exportName };
  });
}
