import { readFile } from 'node:fs/promises';
import { CommanderError } from 'commander';
import { TroupeError } from '../index.js';
import { UsageError } from './cli-context.js';
import { guardStreams } from './output-guard.js';
import { buildProgram } from './program.js';

/** The `troupe` command line. Resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  // a reader that goes away (EPIPE) or a closed terminal (EIO) ends output quietly, never with a crash
  const streams = guardStreams();
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const exit = { code: 0 };
  const program = buildProgram(pkg.version, streams, exit);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exit.code;
  } catch (error) {
    // --help and --version end the parse by throwing too, with exit code 0
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof UsageError || error instanceof TroupeError) {
      const details = error instanceof TroupeError && error.details ? `\n  ${error.details}` : '';
      process.stderr.write(`troupe: ${error instanceof TroupeError ? `${error.code}: ` : ''}${error.message}${details}\n`);
      return 2;
    }
    throw error;
  }
}
