import { resolve } from 'node:path';
import type { HubOptions } from '../index.js';
import { findConfig, loadConfig } from './config-file.js';
import { createPalette, type Palette } from './format.js';
import { guardStreams, type StreamGuard } from './output-guard.js';

/** The options every command takes (commander's names for them). */
export interface GlobalOptions {
  dataDir?: string;
  config?: string;
  json?: boolean;
  color?: boolean;
}

/** What a command needs from the command line around it. */
export interface CliContext {
  dataDir: string;
  /** true when the user named the data directory (--data-dir or TROUPE_DATA_DIR): hints then repeat it */
  dataDirNamed: boolean;
  hubOptions: HubOptions;
  /** the configuration file read, if any: errors about its settings name it */
  configPath: string | null;
  json: boolean;
  palette: Palette;
  streams: StreamGuard;
}

/** A usage or configuration problem: the command line prints it and exits 2. */
export class UsageError extends Error {}

/**
 * Reads the configuration file and settles the data directory: --data-dir,
 * else TROUPE_DATA_DIR, else the config's data_dir, else ./.troupe. Throws
 * {@link UsageError} for a bad configuration file.
 */
export async function cliContext(options: GlobalOptions, streams: StreamGuard = guardStreams()): Promise<CliContext> {
  const configPath = await findConfig(options.config);
  let loaded;
  try {
    loaded = await loadConfig(configPath);
  } catch (error) {
    // a ConfigError lists every problem, one a line, with the keys as the file writes them
    throw new UsageError(`invalid configuration ${configPath}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const named = options.dataDir ?? process.env.TROUPE_DATA_DIR;
  const color = options.color !== false && !process.env.NO_COLOR && process.stdout.isTTY === true;
  return {
    dataDir: resolve(named ?? loaded.config.data_dir ?? '.troupe'),
    dataDirNamed: named !== undefined,
    hubOptions: loaded.hub,
    configPath,
    json: options.json === true,
    palette: createPalette(color),
    streams,
  };
}

/** `text` as one shell word: bare when that is safe, else single-quoted. */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** `troupe CMD` as the user would type it again, with --data-dir when they named one. */
export function again(ctx: CliContext, command: string): string {
  return ctx.dataDirNamed ? `troupe ${command} --data-dir ${shellWord(ctx.dataDir)}` : `troupe ${command}`;
}

/** How `run` shows a workflow to this user, wherever it runs: their output form, colours, stdout, and next steps as they would type them. */
export function runOutput(ctx: CliContext) {
  return { json: ctx.json, palette: ctx.palette, out: process.stdout, again: (command: string) => again(ctx, command) };
}
