import { paramsFromText, TroupeError, type HubResponse } from '../index.js';
import { parseParams } from './parse-line.js';

/** What `troupe run` runs: a workflow file, or a template by name. */
export type RunSource = { file: string } | { template: string };

/**
 * `--param key=value` options as text by key. Throws VALIDATION_FAILED for
 * one without `=` or a key given twice (which one was meant?).
 *
 * @example paramPairs(['issue=BUG-7', 'note=a=b']) // { issue: 'BUG-7', note: 'a=b' }
 */
export function paramPairs(options: readonly string[]): Record<string, string> {
  const texts: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const option of options) {
    const at = option.indexOf('=');
    if (at <= 0) throw new TroupeError('VALIDATION_FAILED', `--param ${option} is not key=value`, { details: 'e.g. --param issue=BUG-7 --param retries=3' });
    const key = option.slice(0, at);
    if (Object.hasOwn(texts, key)) throw new TroupeError('VALIDATION_FAILED', `--param ${key} is given twice`, { details: 'Give each param once' });
    texts[key] = option.slice(at + 1);
  }
  return { ...texts };
}

/**
 * The `create` parameters for a run: the file's definition (with
 * `{definition, params}` when params are given), or `{template, params}`.
 * Text from the command line becomes numbers and booleans where the
 * definition declares them (the only place text is read as a number; JSON
 * params must have their type), so the hub's check names what was typed.
 * Throws a file's read or parse error.
 */
export async function createParameters(hub: { execute(command: unknown): Promise<HubResponse> }, source: RunSource, texts: Record<string, string>): Promise<unknown> {
  const given = Object.keys(texts).length > 0;
  if ('file' in source) {
    const definition = await parseParams(`@${source.file}`);
    if (!given) return definition;
    const declared = definition !== null && typeof definition === 'object' ? (definition as { params?: unknown }).params : undefined;
    return { definition, params: paramsFromText(declared, texts) };
  }
  return { template: source.template, params: given ? paramsFromText(await declarationOf(hub, source.template), texts) : {} };
}

/** The params a template declares, as `list-templates` lists them (nothing when it cannot: create says why). */
async function declarationOf(hub: { execute(command: unknown): Promise<HubResponse> }, name: string): Promise<Record<string, { type: string }>> {
  const listed = await hub.execute({ operation: 'list-templates', parameters: { name } });
  if (listed.status !== 'success') return {};
  const { templates } = listed.result as { templates: { shadowed_by?: string; params: { name: string; type: string }[] }[] };
  const used = templates.find((t) => t.shadowed_by === undefined);
  return Object.fromEntries((used?.params ?? []).map((p) => [p.name, { type: p.type }]));
}
