import { parse as parseYaml } from 'yaml';
import { readBoundedFile, type BoundedFileErrors } from '../bounded-file.js';
import { TroupeError } from '../errors.js';
import { checkJsonTextNesting, checkNesting, checkYamlTextNesting } from '../nesting.js';

/**
 * The largest template file read: 1 MiB. A template is written by hand (the
 * shipped ones are a few KiB); `list-templates` reads every file of the
 * folder, so one huge or endless file must cost no more than this.
 */
export const MAX_TEMPLATE_FILE_BYTES = 1024 * 1024;

/** A template file's refusals, naming it. */
const templateFileErrors = (path: string, limit: number): BoundedFileErrors => ({
  notFound: (error) => new TroupeError('FILE_NOT_FOUND', `Cannot read template file ${path}`, { details: error instanceof Error ? error.message : String(error) }),
  notRegular: () => new TroupeError('FILE_NOT_REGULAR', `Template file ${path} is not a regular file`, { details: 'A template is a YAML or JSON file' }),
  tooLarge: () => new TroupeError('FILE_TOO_LARGE', `Template file ${path} is larger than ${limit} bytes`, { details: 'A template file holds at most 1 MiB: keep data out of it' }),
});

/**
 * A template file's definition: JSON for `.json`, else YAML, an object,
 * nested no deeper than a command's parameters may be (checked before a
 * parser that recurses sees it). Throws FILE_* errors, PARSE_ERROR or
 * NESTING_TOO_DEEP naming the file.
 *
 * @example await readTemplateFile('/srv/templates/bug-fix.yaml') // { name: 'Fix ${{ params.issue }}', params: {…}, phases: […] }
 */
export async function readTemplateFile(path: string, limit = MAX_TEMPLATE_FILE_BYTES): Promise<Record<string, unknown>> {
  const text = await readBoundedFile(path, limit, templateFileErrors(path, limit));
  const what = `template file ${path}`;
  let value: unknown;
  try {
    if (path.endsWith('.json')) {
      checkJsonTextNesting(text, what);
      value = JSON.parse(text);
    } else {
      checkYamlTextNesting(text, what);
      value = parseYaml(text, { prettyErrors: true });
    }
  } catch (error) {
    if (error instanceof TroupeError) throw error;
    throw new TroupeError('PARSE_ERROR', `Template file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}`, {
      details: error instanceof Error ? error.message : String(error),
    });
  }
  checkNesting(value, 'template', { what });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TroupeError('PARSE_ERROR', `Template file ${path} holds ${value === null ? 'nothing' : Array.isArray(value) ? 'a list' : typeof value}, not a workflow definition`, {
      details: 'A template is a workflow definition (name, params, phases) as a YAML or JSON object',
    });
  }
  return value as Record<string, unknown>;
}
