/**
 * A parameter's type in words, from its JSON Schema (what `help` shows
 * beside each parameter): "text or number", "duration such as 30s",
 * "yes/no", "list of text", "one of: a, b, c".
 */

/** The key a schema's JSON Schema carries to say what its text means (durationSchema sets `duration`). */
export const TYPE_META_KEY = 'x-troupe-type';

export interface SchemaNode {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  items?: SchemaNode;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: SchemaNode | boolean;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  [TYPE_META_KEY]?: string;
}

const MEANINGS: Record<string, string> = { duration: 'duration such as 30s, 15m or 2h (a number: milliseconds)' };

const value = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** ` (1 to 20)`, ` (0 or more)`, ` (more than 0)`; nothing without bounds (JavaScript's safe-integer bound is none). */
function range(node: SchemaNode): string {
  const max = node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER ? node.maximum : undefined;
  if (node.minimum !== undefined && max !== undefined) return ` (${node.minimum} to ${max})`;
  if (node.minimum !== undefined) return ` (${node.minimum} or more)`;
  if (node.exclusiveMinimum !== undefined) return ` (more than ${node.exclusiveMinimum})`;
  if (max !== undefined) return ` (up to ${max})`;
  return '';
}

/** `list of …`: a word for each kind of item. */
function listOf(items: SchemaNode | undefined): string {
  if (!items || Object.keys(items).length === 0) return 'list';
  const words = typeInWords(items);
  if (words.startsWith('one of: ')) return `list of values, each ${words}`;
  if (words.startsWith('object')) return `list of objects${words.slice('object'.length)}`;
  return `list of ${words.replace(/^(whole number|number|duration|ISO time)/, '$1s')}`;
}

/** `object {type: "exec", command, cwd?}`: its keys, `?` after those it may leave out. */
function objectInWords(node: SchemaNode): string {
  const keys = Object.entries(node.properties ?? {});
  if (keys.length > 0) {
    const required = new Set(node.required ?? []);
    const shown = keys.map(([key, sub]) => (sub.const !== undefined ? `${key}: ${JSON.stringify(sub.const)}` : `${key}${required.has(key) ? '' : '?'}`));
    return `object {${shown.join(', ')}}`;
  }
  const values = node.additionalProperties;
  if (values && typeof values === 'object' && Object.keys(values).length > 0) return `object of name → ${typeInWords(values)}`;
  return 'object';
}

/** `X`, `X or Y`; `X, or a list of them` for a value that may be one or many. */
function alternativesInWords(options: SchemaNode[]): string {
  const [one, many] = options;
  if (options.length === 2 && one && many?.type === 'array' && many.items && JSON.stringify(many.items) === JSON.stringify(one)) {
    return `${typeInWords(one)}, or a list of them`;
  }
  return [...new Set(options.map(typeInWords))].join(' or ');
}

/** The type of a JSON Schema node in words, for people. */
export function typeInWords(node: SchemaNode): string {
  const meaning = node[TYPE_META_KEY];
  if (meaning !== undefined && MEANINGS[meaning]) return MEANINGS[meaning];
  if (node.const !== undefined) return value(node.const);
  if (node.enum) return `one of: ${node.enum.map(value).join(', ')}`;
  const options = node.anyOf ?? node.oneOf;
  if (options) return alternativesInWords(options);
  if (Array.isArray(node.type)) return [...new Set(node.type.map((type) => typeInWords({ ...node, type })))].join(' or ');
  switch (node.type) {
    case 'string':
      return node.format === 'date-time' ? 'ISO time such as 2025-06-01T12:00:00Z' : 'text';
    case 'integer':
      return `whole number${range(node)}`;
    case 'number':
      return `number${range(node)}`;
    case 'boolean':
      return 'yes/no (true or false)';
    case 'array':
      return listOf(node.items);
    case 'object':
      return objectInWords(node);
    case 'null':
      return 'null';
    default:
      return 'any JSON value';
  }
}
