/**
 * User handlers in a worker thread: the modules named in the config, imported
 * on first use and kept for the thread's life. A module that fails to import
 * or lacks the export is reported as data, never thrown past the worker.
 */
import { workerData } from 'piscina';
import type { HandlerProbe, HandlerRef } from '../actors/handler-registry.js';
import type { Handler } from './handler-context.js';
import { moduleMeta, type HandlerMeta } from './handler-meta.js';

const refs = new Map<string, HandlerRef>(((workerData as { handlers?: HandlerRef[] } | undefined)?.handlers ?? []).map((ref) => [ref.name, ref]));
const loaded = new Map<string, Promise<Handler | string>>();
/** each loaded module's name and version, for `health` */
const metas = new Map<string, HandlerMeta>();

/** The handler, or why it cannot run. */
async function load(ref: HandlerRef): Promise<Handler | string> {
  try {
    const module = (await import(ref.url)) as Record<string, unknown>;
    const handler = module[ref.exportName];
    if (typeof handler === 'function') {
      metas.set(ref.name, moduleMeta(module, ref.url));
      return handler as Handler;
    }
    return handler === undefined
      ? `module ${ref.spec} has no export ${ref.exportName}`
      : `export ${ref.exportName} of ${ref.spec} is a ${typeof handler}, not a function`;
  } catch (error) {
    return `module ${ref.spec} could not be loaded: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** The user handler `name`, or why there is none (unknown name, failed import, missing export). */
export function userHandler(name: string): Promise<Handler | string> {
  const ref = refs.get(name);
  if (!ref) return Promise.resolve(`No handler named ${name} in this worker`);
  let handler = loaded.get(name);
  if (!handler) {
    handler = load(ref);
    loaded.set(name, handler);
  }
  return handler;
}

/** Loads every configured handler once, for the hub's check at start. */
export async function probeAll(): Promise<Record<string, HandlerProbe>> {
  const entries = await Promise.all(
    [...refs.keys()].map(async (name): Promise<[string, HandlerProbe]> => {
      const handler = await userHandler(name);
      return [name, typeof handler === 'function' ? { ok: true, ...metas.get(name) } : { ok: false, reason: handler }];
    }),
  );
  return Object.fromEntries(entries);
}
