import { z } from 'zod';
import { OPERATIONS, OPERATION_NAMES, isOperation, type OperationName } from './commands.js';
import { TroupeError } from './errors.js';
import { closestName } from './suggest.js';
import { typeInWords, type SchemaNode } from './help-types.js';

/** Closest operation name to a misspelt one, for "did you mean". */
export function suggestOperation(name: string): OperationName | null {
  return closestName(name, OPERATION_NAMES);
}

/** The parameters of an operation, from its zod schema's JSON Schema. */
function describeParams(schema: z.ZodType) {
  // a preprocessed schema (request-resources unwraps `allocation_request`) is described by what it validates
  const described = schema instanceof z.ZodPipe && schema.in instanceof z.ZodTransform ? (schema.out as z.ZodType) : schema;
  const json = z.toJSONSchema(described, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, SchemaNode & { description?: string; default?: unknown }>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([key, p]) => ({
    name: key,
    type: p.enum ? p.enum.map((v) => JSON.stringify(v)).join(' | ') : (p.type ?? 'any'),
    // the type in words, for people: "duration such as 30s", "one of: low, high", "list of text"
    accepts: typeInWords(p),
    required: json.required?.includes(key) ?? false,
    ...(p.default !== undefined ? { default: p.default } : {}),
    ...(p.description ? { description: p.description } : {}),
  }));
}

/** The `help` result: every operation by group, or one operation in detail. */
export function helpFor(operation?: string) {
  if (operation === undefined) {
    return {
      usage: '<workflow-id> <operation> [params]   or   <operation> [params]; params: a JSON object or @file (JSON/YAML)',
      operations: OPERATION_NAMES.map((name) => ({
        operation: name,
        group: OPERATIONS[name].group,
        summary: OPERATIONS[name].summary,
        workflow_id: OPERATIONS[name].workflow,
        available: OPERATIONS[name].available,
      })),
    };
  }
  if (!isOperation(operation)) {
    const guess = suggestOperation(operation);
    throw new TroupeError('UNKNOWN_OPERATION', `Unknown operation ${operation}`, {
      details: guess ? `Did you mean ${guess}?` : 'See the list with help',
    });
  }
  const spec = OPERATIONS[operation];
  return {
    operation,
    group: spec.group,
    summary: spec.summary,
    workflow_id: spec.workflow,
    available: spec.available,
    usage: `${spec.workflow === 'required' ? '<workflow-id> ' : spec.workflow === 'optional' ? '[<workflow-id>] ' : ''}${operation} [params]`,
    parameters: spec.available ? describeParams((spec as { help?: z.ZodType }).help ?? spec.params) : [],
    example: spec.example,
  };
}
