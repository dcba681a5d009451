import { z } from 'zod';
import type { UserHandlers } from '../definition.js';
import type { DefinitionInvalid } from '../definition-problems.js';
import { resolveDefinition, workflowDefinitionSchema } from '../definition.js';
import { TroupeError } from '../errors.js';
import type { WorkflowSpec } from '../../machines/types.js';
import { findTemplate, templateSources, type TemplateSource } from './template-catalog.js';

/** `params` beside `template` or `definition`: the values, checked against the declaration by the handler. */
const paramValues = z.record(z.string(), z.unknown()).describe('beside template or definition: the values of its params ({"NAME": value}), of the declared types');

const templateRequest = z.strictObject({
  template: z.string().min(1).describe("instead of a definition: the name of a template ('list-templates')"),
  params: paramValues.optional(),
});

const definitionRequest = z.strictObject({
  definition: z.record(z.string(), z.unknown()).describe('a definition that declares params, given with values for them in params'),
  params: paramValues.optional(),
});

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The schema a `create` is checked against at the boundary, picked by its
 * shape: `{template, params}` or `{definition, params}`. A definition
 * itself passes here: `create` checks all of it in one go (`resolveDefinition`),
 * so that the schema's issues and what only the hub can check (its user
 * handlers, the graph) come back in one answer; a definition that declares
 * `params` could not be checked here anyway before its params are placed
 * (`timeout: "${{ params.timeout }}"` is no duration yet). What is no object
 * at all is refused here, as before.
 */
export const createParamsSchema = z.unknown().superRefine((value, ctx) => {
  let schema: z.ZodType | null = workflowDefinitionSchema;
  if (isObject(value)) {
    if (Object.hasOwn(value, 'template')) schema = templateRequest;
    else if (Object.hasOwn(value, 'definition')) schema = definitionRequest;
    else schema = null;
  }
  const parsed = schema?.safeParse(value);
  if (parsed && !parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ ...issue } as Parameters<typeof ctx.addIssue>[0]);
});

/** What `help create` describes: a definition's fields, and the two ways to give params. */
export const createHelpSchema = workflowDefinitionSchema.extend({
  template: templateRequest.shape.template.optional(),
  definition: definitionRequest.shape.definition.optional(),
});

/** How `create` answers a definition's schema issues, as the dispatcher answers any operation's. */
const CREATE_INVALID: DefinitionInvalid = { message: 'Invalid parameters for create', keyHints: createHelpSchema, suggestions: ["'help create' lists its parameters"] };

/** What a `create` makes, and from which template if any. */
export interface CreateOutcome {
  spec: WorkflowSpec;
  template: { name: string; source: TemplateSource['kind']; path: string } | null;
}

/**
 * Resolves a `create`'s parameters (as sent) into the spec to run: a
 * template looked up in `templatesDir` and the shipped templates, or a
 * definition, with its params applied. An error about a template's
 * definition names the template.
 */
export async function resolveCreate(raw: unknown, userHandlers: UserHandlers, templatesDir: string | null): Promise<CreateOutcome> {
  if (isObject(raw) && Object.hasOwn(raw, 'template')) {
    const found = await findTemplate(await templateSources(templatesDir), raw.template as string);
    const who = `template ${found.name}`;
    try {
      return { spec: resolveDefinition(found.definition, userHandlers, raw.params, who), template: { name: found.name, source: found.source, path: found.path } };
    } catch (error) {
      if (!(error instanceof TroupeError) || error.message.startsWith('Template ')) throw error;
      throw new TroupeError(error.code, `Template ${found.name}: ${error.message}`, { ...(error.details === undefined ? {} : { details: error.details }), cause: error });
    }
  }
  if (isObject(raw) && Object.hasOwn(raw, 'definition')) return { spec: resolveDefinition(raw.definition, userHandlers, raw.params), template: null };
  // answered as the boundary answers a bad command: the operation named, "did you mean" for unknown keys
  return { spec: resolveDefinition(raw, userHandlers, undefined, undefined, CREATE_INVALID), template: null };
}
