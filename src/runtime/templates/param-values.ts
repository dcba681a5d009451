import { TroupeError } from '../errors.js';
import { setOwn } from '../flow/cel-values.js';
import { hasType, typeOfValue, type ParamsDeclaration, type ParamValue } from './param-declarations.js';

const OPEN = '${{';

/**
 * The values a workflow runs with: those given, checked against what it
 * declares, and the defaults of the rest. JSON values must have the declared
 * type exactly (`"2"` is not a number: {@link paramsFromText} is where text
 * becomes a number). Every problem is listed in one INVALID_PARAMS error,
 * the message naming each param: an unknown one, one of the wrong type, a
 * required one missing, a string holding `${{` (a value is data: it must
 * never turn into an expression once placed in a template).
 *
 * @example resolveParamValues({ n: { type: 'number', default: 1 } }, {}, 'template t') // { n: 1 }
 */
export function resolveParamValues(declared: ParamsDeclaration, given: unknown, who: string): Record<string, ParamValue> {
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new TroupeError('INVALID_PARAMS', `The params given to ${who} are ${typeOfValue(given)}, not an object`, { details: 'Give params as {"NAME": value, …}' });
  }
  const names = Object.keys(declared);
  const problems: string[] = [];
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(declared, name)) {
      problems.push(`unknown param ${name} (${names.length === 0 ? `${who} declares no params` : `it declares ${names.join(', ')}`})`);
      continue;
    }
    const value = (given as Record<string, unknown>)[name];
    const { type } = declared[name]!;
    if (!hasType(value, type)) problems.push(`param ${name} must be a ${type}, got ${typeOfValue(value)} ${short(value)}`);
    else if (typeof value === 'string' && value.includes(OPEN)) problems.push(`param ${name} holds "${OPEN}": a value is data, and in a template it would be read as an expression`);
  }
  const values: Record<string, ParamValue> = {};
  for (const name of names) {
    const value = Object.hasOwn(given, name) ? (given as Record<string, unknown>)[name] : declared[name]!.default;
    if (value === undefined) problems.push(`param ${name} is required (a ${declared[name]!.type}, no default)${describe(declared, name)}`);
    else setOwn(values, name, value);
  }
  if (problems.length > 0) {
    const message = problems.length === 1 ? `${who}: ${problems[0]}` : `${who}: ${problems.length} problems with the params: ${problems.join('; ')}`;
    throw new TroupeError('INVALID_PARAMS', message[0]!.toUpperCase() + message.slice(1), { details: `Declared: ${signature(declared)}` });
  }
  return values;
}

/** `name: type = default, …`, for error details. */
function signature(declared: ParamsDeclaration): string {
  const parts = Object.entries(declared).map(([name, d]) => `${name}: ${d.type}${d.default === undefined ? ' (required)' : ` = ${JSON.stringify(d.default)}`}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

const describe = (declared: ParamsDeclaration, name: string) => (declared[name]!.description ? ` — ${declared[name]!.description}` : '');

/** A value as a message shows it: JSON, cut short. */
function short(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

const NUMBER_TEXT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/**
 * Values typed on a command line (`--param retries=3`), made JSON by what
 * each param declares: a number param takes a decimal number's text, a
 * boolean one `true` or `false`. Anything else stays text, so the check
 * after it names the param and what was typed. This is the only place text
 * becomes a number: JSON params must already have their type.
 *
 * @example paramsFromText({ retries: { type: 'number' } }, { retries: '3', name: 'x' }) // { retries: 3, name: 'x' }
 */
export function paramsFromText(declared: unknown, texts: Record<string, string>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(texts)) {
    // read leniently: a declaration that is wrong is refused by create, naming what is wrong
    const entry = declared !== null && typeof declared === 'object' && Object.hasOwn(declared, name) ? (declared as Record<string, unknown>)[name] : undefined;
    const type = entry !== null && typeof entry === 'object' ? (entry as { type?: unknown }).type : undefined;
    let value: unknown = text;
    if (type === 'number' && NUMBER_TEXT.test(text.trim()) && Number.isFinite(Number(text))) value = Number(text);
    if (type === 'boolean' && (text === 'true' || text === 'false')) value = text === 'true';
    setOwn(values, name, value);
  }
  return values;
}
