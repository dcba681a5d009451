import { setOwn } from '../flow/cel-values.js';
import { parseDeclaration, type ParamValue } from './param-declarations.js';
import { resolveParamValues } from './param-values.js';
import { renderParams } from './render-params.js';

/** A definition with its params applied. */
export interface Instantiated {
  /** the definition to validate, without `params`, its params-only `${{ }}` rendered */
  definition: unknown;
  /** the values it runs with (given, else defaults); null when it declares no params */
  params: Record<string, ParamValue> | null;
}

/**
 * Applies params to a definition (a template's or a plain one's): reads its
 * `params` declaration, checks `given` against it and fills in defaults,
 * then renders every `${{ }}` that reads params only. What is not an object
 * is handed on unchanged for the schema to refuse. `who` names the
 * definition in errors ("template bug-fix", "this workflow").
 *
 * @example instantiate({ name: '${{ params.n }}', params: { n: { type: 'string', default: 'x' } }, phases: ['p'] }, {}, 'this workflow')
 * // { definition: { name: 'x', phases: ['p'] }, params: { n: 'x' } }
 */
export function instantiate(raw: unknown, given: unknown, who: string): Instantiated {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { definition: raw, params: null };
  const declares = Object.hasOwn(raw, 'params');
  const declared = declares ? parseDeclaration((raw as Record<string, unknown>).params, who) : {};
  const values = resolveParamValues(declared, given ?? {}, who);
  const rest: Record<string, unknown> = {};
  for (const key of Object.keys(raw)) if (key !== 'params') setOwn(rest, key, (raw as Record<string, unknown>)[key]);
  return { definition: renderParams(rest, values), params: declares ? values : null };
}
