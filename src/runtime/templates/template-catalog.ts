import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unsafeIdReason } from '../../persistence/safe-id.js';
import { asTroupeError, TroupeError } from '../errors.js';
import { describeDeclaration, parseDeclaration } from './param-declarations.js';
import { readTemplateFile } from './template-file.js';

/**
 * The templates that ship with troupe: the package's `templates/` folder.
 * Found from this module, never from the current directory: it is
 * `src/runtime/templates/` when run from source (tsx) and
 * `dist/runtime/templates/` when built, three levels below the package root
 * either way.
 */
export const BUILTIN_TEMPLATES_DIR = fileURLToPath(new URL('../../../templates', import.meta.url));

/** Where templates come from: the config's `templates_dir`, and the shipped ones. */
export interface TemplateSource {
  kind: 'templates_dir' | 'builtin';
  dir: string;
}

/** A template's file extensions, in the order one name is looked up in a folder. */
const EXTENSIONS = ['.yaml', '.yml', '.json'];
/** Template files listed per folder at most: a listing stays an answer, not a dump of a huge folder. */
const MAX_LISTED = 1000;

/**
 * The folders to look in, the `templates_dir` first: a template there
 * replaces a shipped one of the same name. A `templates_dir` that is the
 * shipped folder itself (troupe run from its own checkout, where
 * `./templates` is that folder) counts once, as the shipped one.
 */
export async function templateSources(templatesDir: string | null): Promise<TemplateSource[]> {
  const builtin: TemplateSource = { kind: 'builtin', dir: BUILTIN_TEMPLATES_DIR };
  if (templatesDir === null) return [builtin];
  const real = (dir: string) => realpath(dir).catch(() => resolve(dir));
  const same = (await real(templatesDir)) === (await real(BUILTIN_TEMPLATES_DIR));
  return same ? [builtin] : [{ kind: 'templates_dir', dir: resolve(templatesDir) }, builtin];
}

/** One template file of a folder: its name is the file name without the extension. */
interface TemplateFile {
  name: string;
  path: string;
  source: TemplateSource;
}

/** The template files of a folder, by name then extension order; or why it cannot be read. */
async function filesIn(source: TemplateSource): Promise<{ files: TemplateFile[]; truncated: boolean; error?: string }> {
  let names: string[];
  try {
    names = (await readdir(source.dir, { withFileTypes: true })).filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name);
  } catch (error) {
    return { files: [], truncated: false, error: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the folder does not exist' : String((error as Error).message ?? error) };
  }
  const rank = (file: string) => EXTENSIONS.indexOf(extname(file));
  const files = names
    .filter((file) => rank(file) >= 0)
    .map((file) => ({ name: file.slice(0, -extname(file).length), path: join(source.dir, file), source, rank: rank(file) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.rank - b.rank));
  return { files: files.slice(0, MAX_LISTED).map(({ rank: _, ...file }) => file), truncated: files.length > MAX_LISTED };
}

/** A template as `list-templates` shows it. */
export interface TemplateEntry {
  name: string;
  source: TemplateSource['kind'];
  path: string;
  workflow_name?: unknown;
  description?: unknown;
  params: ReturnType<typeof describeDeclaration>;
  /** the file `create {"template"}` uses instead (an earlier extension, or the templates_dir over a shipped one) */
  shadowed_by?: string;
  /** why it cannot be used: the file does not parse, its params are declared wrongly, its name is no template name */
  error?: { code: string; message: string; details?: string };
}

async function entryOf(file: TemplateFile): Promise<TemplateEntry> {
  const entry: TemplateEntry = { name: file.name, source: file.source.kind, path: file.path, params: [] };
  try {
    const why = unsafeIdReason(file.name);
    if (why !== null) throw new TroupeError('INVALID_ID', `The file name ${file.name} cannot name a template: it ${why}`, { details: NAME_RULE });
    const definition = await readTemplateFile(file.path);
    if (definition.name !== undefined) entry.workflow_name = definition.name;
    if (definition.description !== undefined) entry.description = definition.description;
    entry.params = describeDeclaration(parseDeclaration(definition.params ?? {}, `template ${file.name}`));
  } catch (error) {
    const known = asTroupeError(error);
    if (!known) throw error;
    entry.error = { code: known.code, message: known.message, ...(known.details === undefined ? {} : { details: known.details }) };
  }
  return entry;
}

/**
 * Every template of every source, a file that cannot be used listed with its
 * error (never a failure of the listing), and each source with what was
 * found there. `only` keeps the templates of that name.
 */
export async function listTemplates(sources: TemplateSource[], only?: string) {
  const templates: TemplateEntry[] = [];
  const used = new Map<string, string>();
  const folders = [];
  for (const source of sources) {
    const { files, truncated, error } = await filesIn(source);
    folders.push({ source: source.kind, path: source.dir, templates: files.length, ...(truncated ? { truncated: true } : {}), ...(error === undefined ? {} : { error }) });
    for (const file of files) {
      if (only !== undefined && file.name !== only) continue;
      const entry = await entryOf(file);
      const winner = used.get(file.name);
      if (winner !== undefined) entry.shadowed_by = winner;
      else used.set(file.name, file.path);
      templates.push(entry);
    }
  }
  return { templates, sources: folders };
}

const NAME_RULE = 'A template is named by its file name without .yaml, .yml or .json: letters, digits, "_", "." and "-", starting with a letter or digit, no "..", at most 128 characters';

/**
 * The template `name`: the first file of that name in the sources, read and
 * parsed. Throws INVALID_ID for a name that is not a file name of its own
 * (`../x`, `a/b`: no path ever leaves a templates folder), TEMPLATE_NOT_FOUND
 * listing the available ones, or the file's own error.
 */
export async function findTemplate(sources: TemplateSource[], name: string): Promise<{ name: string; source: TemplateSource['kind']; path: string; definition: Record<string, unknown> }> {
  const why = unsafeIdReason(name);
  if (why !== null) throw new TroupeError('INVALID_ID', `Template name ${JSON.stringify(name)} cannot name a template: it ${why}`, { details: NAME_RULE });
  for (const source of sources) {
    for (const extension of EXTENSIONS) {
      const path = join(source.dir, `${name}${extension}`);
      const found = await stat(path).then(() => true, () => false);
      if (found) return { name, source: source.kind, path, definition: await readTemplateFile(path) };
    }
  }
  const { templates } = await listTemplates(sources);
  const available = [...new Set(templates.filter((t) => !t.shadowed_by && !t.error).map((t) => t.name))];
  throw new TroupeError('TEMPLATE_NOT_FOUND', `Template ${name} does not exist`, {
    details: `Available templates: ${available.length === 0 ? 'none' : available.join(', ')}. Looked in ${sources.map((s) => `${s.dir} (${s.kind})`).join(', ')}`,
  });
}
