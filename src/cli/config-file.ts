import { access, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { HubOptions } from '../index.js';
import { checkConfig, ConfigError } from './config-errors.js';
import { hubOptionsOf, type ConfigFile } from './config-schema.js';

export { configSchema, type ConfigFile } from './config-schema.js';

const DISCOVERED = ['troupe.config.json', 'troupe.config.yaml', 'troupe.config.yml'];

/** The config file to read: the one named, else the first one found in `cwd`, else none. */
export async function findConfig(named: string | undefined, cwd = process.cwd()): Promise<string | null> {
  if (named) return resolve(cwd, named);
  for (const name of DISCOVERED) {
    const path = resolve(cwd, name);
    if (await exists(path)) return path;
  }
  return null;
}

const exists = (path: string) => access(path).then(() => true, () => false);

/**
 * The templates folder: `templates_dir` of the config, relative to the
 * config file (named: used even when missing, so `list-templates` says it is
 * missing); else `templates/` beside the config file, or in `cwd` when there
 * is no config file, if that exists (an unasked-for folder that is not
 * there is no news).
 */
async function templatesDirOf(config: ConfigFile, path: string | null, cwd: string): Promise<string | undefined> {
  if (config.templates_dir !== undefined) return resolve(path ? dirname(path) : cwd, config.templates_dir);
  const fallback = resolve(path ? dirname(path) : cwd, 'templates');
  return (await exists(fallback)) ? fallback : undefined;
}

/**
 * Reads and checks a config file (JSON or YAML). Throws a {@link ConfigError}
 * listing every problem at once (unknown keys with "did you mean", wrong
 * types, durations, sizes and ranges the hub would refuse), each under the
 * key as the file writes it; a file that cannot be read or parsed throws its
 * own error.
 */
export async function loadConfig(path: string | null, cwd = process.cwd()): Promise<{ config: ConfigFile; hub: HubOptions }> {
  let config: ConfigFile = {};
  let hub: HubOptions = {};
  if (path) {
    const checked = checkConfig(parseYaml(await readFile(path, 'utf8')) ?? {}, path);
    if (!checked.config) throw new ConfigError(path, checked.problems);
    config = checked.config;
    hub = hubOptionsOf(config, path);
  }
  const templatesDir = await templatesDirOf(config, path, cwd);
  if (templatesDir !== undefined) hub.templatesDir = templatesDir;
  return { config, hub };
}
