import { parse as parseYaml } from 'yaml';
import { checkJsonTextNesting, checkNesting, checkYamlTextNesting, kindOf, MAX_PARAMS_DEPTH, readBoundedFile, TroupeError } from '../index.js';

const MIB = 1024 * 1024;

/**
 * The largest parameters file `@path` (and `troupe run FILE`) reads: 8 MiB.
 * A 16 000-task workflow written as JSON takes about 1 MiB; a file many
 * times that is a mistake (or `/dev/zero`), and was read whole into the
 * supervisor before anything looked at it (620 MB before it failed).
 */
export const MAX_PARAMS_FILE_BYTES = 8 * MIB;

const CHUNK_BYTES = 256 * 1024;

const tooLarge = (path: string, limit: number, got: string) =>
  new TroupeError('FILE_TOO_LARGE', `Parameters file ${path} holds ${got}; a parameters file holds at most ${limit} bytes${limit % MIB === 0 ? ` (${limit / MIB} MiB)` : ''}`, {
    details: 'It was not read further. Split the workflow, or keep big data out of the parameters',
  });

/**
 * The text of the parameters file at `path`: a regular file of at most
 * `limit` bytes, read in bounded chunks (see `readBoundedFile`), refused
 * with FILE_NOT_FOUND, FILE_NOT_REGULAR or FILE_TOO_LARGE naming it.
 *
 * @example
 * await readParamsFile('/work/flows/release.yaml') // the file's text
 */
export async function readParamsFile(path: string, limit = MAX_PARAMS_FILE_BYTES): Promise<string> {
  return readBoundedFile(
    path,
    limit,
    {
      notFound: (error) => new TroupeError('FILE_NOT_FOUND', `Cannot read parameters file ${path}`, { details: error instanceof Error ? error.message : String(error) }),
      notRegular: (stat) =>
        new TroupeError('FILE_NOT_REGULAR', `Parameters file ${path} is ${kindOf(stat)}; @path reads regular files only`, {
          details: 'A device, pipe or socket may never end, and a directory holds no parameters: save the parameters to a regular file and name that',
        }),
      tooLarge: (got) => tooLarge(path, limit, got),
    },
    CHUNK_BYTES,
  );
}

/**
 * The parameters in a file's `text`: JSON when it is JSON (fast, and the
 * same as inline parameters), else YAML. Either way nested at most
 * {@link MAX_PARAMS_DEPTH} levels (NESTING_TOO_DEEP), checked before a
 * parser that recurses sees it.
 *
 * @example
 * parseParamsText('name: hi\nphases: [p]', 'hi.yaml') // { name: 'hi', phases: ['p'] }
 */
export function parseParamsText(text: string, path: string): unknown {
  const what = `parameters file ${path}`;
  if (/^\s*[[{]/.test(text)) {
    checkJsonTextNesting(text, what);
    try {
      return JSON.parse(text);
    } catch {
      // YAML's flow style starts the same way: the YAML parser decides, and reports
    }
  }
  checkYamlTextNesting(text, what);
  let value: unknown;
  try {
    value = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    throw new TroupeError('PARSE_ERROR', `Parameters file ${path} is neither valid JSON nor valid YAML`, {
      details: error instanceof Error ? error.message : String(error),
    });
  }
  // aliases can nest a document deeper than its text does
  checkNesting(value, 'parameters', { what });
  return value;
}
