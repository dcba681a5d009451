import { z } from 'zod';
import { TroupeError } from '../errors.js';
import { setOwn } from '../flow/cel-values.js';

/** The types a param may have: what a command line can say and JSON keeps apart. */
export const PARAM_TYPES = ['string', 'number', 'boolean'] as const;
export type ParamType = (typeof PARAM_TYPES)[number];
export type ParamValue = string | number | boolean;

/** One declared param: `{type, default, description}`; without a default it is required. */
export interface ParamDeclaration {
  type: ParamType;
  default?: ParamValue;
  description?: string;
}

/** A workflow's `params`: name -> declaration, in the order written. */
export type ParamsDeclaration = Record<string, ParamDeclaration>;

/** Params one workflow may declare: enough for any template, small enough to list. */
export const MAX_PARAMS = 100;

/**
 * A param is read as `params.NAME` inside `${{ }}`, so its name is a CEL
 * identifier that is not a reserved word (`params.in` would not parse).
 */
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const RESERVED = new Set(
  'true false null in as break const continue else for function if import let loop package namespace return var void while'.split(' '),
);

/** Why `name` cannot name a param, or null. */
export function badParamName(name: string): string | null {
  if (!NAME.test(name)) return 'is not a name: letters, digits and "_", starting with a letter or "_", at most 64 characters';
  if (RESERVED.has(name)) return 'is a reserved word of the expression language';
  return null;
}

/** The JSON type of a value as a param sees it. */
export function typeOfValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number' && !Number.isFinite(value)) return 'a non-finite number';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** Whether `value` has the declared type (a number must be finite: JSON has no other). */
export const hasType = (value: unknown, type: ParamType): value is ParamValue =>
  typeof value === type && (type !== 'number' || Number.isFinite(value));

const declarationSchema = z
  .strictObject({
    type: z.enum(PARAM_TYPES, { message: `type must be one of ${PARAM_TYPES.join(', ')}` }),
    default: z.unknown().optional(),
    description: z.string().max(2000).optional(),
  })
  .superRefine((d, ctx) => {
    if (d.default !== undefined && !hasType(d.default, d.type)) {
      ctx.addIssue({ code: 'custom', path: ['default'], message: `the default must be a ${d.type}, got ${typeOfValue(d.default)} ${JSON.stringify(d.default)}` });
    }
  });

/** The schema of a definition's `params` (for `help` and the definition's type); {@link parseDeclaration} checks it with coded errors. */
export const paramsDeclarationSchema = z
  .record(z.string(), declarationSchema)
  .describe('the params this workflow takes: {NAME: {type: string | number | boolean, default, description}}; used as ${{ params.NAME }} in its strings');

/**
 * A definition's `params`, checked: names usable in expressions, a type
 * each, defaults of that type. Throws INVALID_PARAMS naming the param.
 *
 * @example parseDeclaration({ retries: { type: 'number', default: 2 } }, 'template bug-fix') // { retries: { type: 'number', default: 2 } }
 */
export function parseDeclaration(raw: unknown, who: string): ParamsDeclaration {
  const refuse = (message: string, details: string): never => {
    throw new TroupeError('INVALID_PARAMS', `The params of ${who} ${message}`, { details });
  };
  const shape = 'params: {NAME: {type: string | number | boolean, default: VALUE, description: TEXT}}; without a default the param is required';
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) refuse(`are ${typeOfValue(raw)}, not an object of declarations`, shape);
  const names = Object.keys(raw as object);
  if (names.length > MAX_PARAMS) refuse(`declare ${names.length} params; at most ${MAX_PARAMS}`, 'Group related values into fewer params');
  const declared: ParamsDeclaration = {};
  for (const name of names) {
    const why = badParamName(name);
    if (why !== null) refuse(`declare ${JSON.stringify(name)}, which ${why}`, 'A param is read as params.NAME inside ${{ }}');
    const parsed = declarationSchema.safeParse((raw as Record<string, unknown>)[name]);
    if (!parsed.success) refuse(`declare ${name} wrongly`, `${z.prettifyError(parsed.error)}\n${shape}`);
    const { type, default: fallback, description } = parsed.data!;
    setOwn(declared, name, { type, ...(fallback === undefined ? {} : { default: fallback as ParamValue }), ...(description === undefined ? {} : { description }) });
  }
  return declared;
}

/** A declaration as `list-templates` shows it: one entry per param, in order. */
export function describeDeclaration(declared: ParamsDeclaration) {
  return Object.entries(declared).map(([name, d]) => ({
    name,
    type: d.type,
    required: d.default === undefined,
    ...(d.default === undefined ? {} : { default: d.default }),
    ...(d.description === undefined ? {} : { description: d.description }),
  }));
}
