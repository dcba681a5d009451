import { dirname } from 'node:path';
import type { z } from 'zod';
import { closestName, createHub, HEALTH_DEFAULTS, resolveHealthThresholds, resolveHubOptions, TroupeError, type Hub, type HubOptions } from '../index.js';
import { configSchema, HUB_OPTION_OF, hubOptionsOf, nestedHelp, SETTING_HELP, type ConfigFile, type SettingHelp } from './config-schema.js';

/** One thing wrong in a configuration file, under the key as the file writes it. */
export interface ConfigProblem {
  /** the key path: `heartbeat_interval`, `health_thresholds.window_ms`; empty for the file as a whole */
  path: string;
  /** what is wrong, starting with the key when it can */
  message: string;
  /** a good value, as a line of the file */
  example: string | null;
  /** what else helps: a duration's units */
  note?: string;
}

/** A configuration file with problems: the message lists every one, a line each. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(`${problems.length === 1 ? '1 problem' : `${problems.length} problems`}\n${problems.map((p) => `  ${problemLine(p)}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** A problem as one line: `heartbeat_interval is not a duration: "5 seconds" (e.g. heartbeat_interval: 30s; units …)`. */
export function problemLine(p: ConfigProblem): string {
  const what = p.path === '' || p.message.startsWith(p.path) ? p.message : `${p.path}: ${p.message}`;
  const hint = [p.example === null ? null : `e.g. ${p.example}`, p.note ?? null].filter((h) => h !== null);
  return hint.length === 0 ? what : `${what} (${hint.join('; ')})`;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** A value as the file gave it, short. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The help of the setting at `path` (a top-level key, or a key inside one that is a mapping). */
function helpAt(path: readonly string[]): SettingHelp | null {
  const [top, nested] = path;
  if (top === undefined || !Object.hasOwn(SETTING_HELP, top)) return null;
  if (nested !== undefined) return nestedHelp(top, nested);
  return SETTING_HELP[top as keyof ConfigFile];
}

const problemAt = (path: readonly string[], message: string): ConfigProblem => {
  const help = helpAt(path);
  return { path: path.join('.'), message, example: help?.example ?? null, ...(help?.note === undefined ? {} : { note: help.note }) };
};

/** The keys accepted inside `path`: the settings at the top, the thresholds in health_thresholds. */
function keysAt(path: readonly string[]): string[] {
  if (path.length === 0) return Object.keys(configSchema.shape);
  if (path.length === 1 && path[0] === 'health_thresholds') return Object.keys(HEALTH_DEFAULTS);
  return [];
}

/**
 * The keys that share the most words with `key` (two at least), when none is
 * spelt close to it: `error_rate_max` -> command_error_rate_degraded, command_error_rate_unhealthy.
 */
function sharingWords(key: string, known: readonly string[]): string[] {
  const words = new Set(key.toLowerCase().split(/[_\-.]+/).filter(Boolean));
  const shared = known.map((k) => ({ k, n: k.split('_').filter((w) => words.has(w)).length }));
  const most = Math.max(2, ...shared.map((s) => s.n));
  return shared.filter((s) => s.n === most).map((s) => s.k).slice(0, 3);
}

/** A schema issue as problems (an unknown-keys issue is one per key, with "did you mean"). */
function fromIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>): ConfigProblem[] {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const known = keysAt(path);
    const kind = path.length === 0 ? 'a setting' : path[0] === 'health_thresholds' ? 'a health threshold' : `a key of ${path.join('.')}`;
    return issue.keys.map((key) => {
      const guess = closestName(key, known);
      const where = [...path, key].join('.');
      if (guess) return { ...problemAt([...path, guess], `${where} is not ${kind}: did you mean ${[...path, guess].join('.')}?`), path: where };
      const alike = sharingWords(key, known);
      if (alike.length > 0) return { ...problemAt([...path, alike[0]!], `${where} is not ${kind}: did you mean ${alike.map((k) => [...path, k].join('.')).join(' or ')}?`), path: where };
      const list = known.length > 0 ? `; the ${path.length === 0 ? 'settings' : 'keys here'} are ${known.join(', ')}` : '';
      return { path: where, message: `${where} is not ${kind}${list}`, example: null };
    });
  }
  let value: unknown = raw;
  for (const key of path) value = isObject(value) ? value[key] : undefined;
  const help = helpAt(path);
  return [problemAt(path, `${path.join('.')} must be ${help?.expects ?? issue.message}, got ${show(value)}`)];
}

/** hub option -> the setting that sets it */
const SETTING_OF: Record<string, string> = Object.fromEntries(Object.entries(HUB_OPTION_OF).map(([setting, option]) => [option, setting]));

/**
 * A message of the hub's about its options, in the words of the
 * configuration file: `Option heartbeatInterval` is `heartbeat_interval`,
 * `Health threshold window_ms` is `health_thresholds.window_ms`.
 */
export function inConfigWords(message: string): string {
  return message
    .replace('Health thresholds check_interval_ms and window_ms', 'health_thresholds.check_interval_ms and health_thresholds.window_ms')
    .replace(/\bUnknown health threshold (\w+)/g, 'health_thresholds.$1 is not a health threshold')
    .replace(/\bHealth threshold (\w+)/g, 'health_thresholds.$1')
    .replace(/\bOption (\w+)(?: \((\w+)\))?/g, (all, option: string, alias: string | undefined) => SETTING_OF[option] ?? alias ?? all);
}

/** What the hub's own rules say about one setting (each entry of a mapping on its own), so no rule is written twice. */
function hubProblems(setting: keyof typeof HUB_OPTION_OF, value: unknown, file: string, refused: ReadonlySet<string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const check = (path: string[], run: () => unknown) => {
    if (refused.has(path.join('.'))) return;
    try {
      run();
    } catch (error) {
      if (!(error instanceof TroupeError)) throw error;
      problems.push(problemAt(path, inConfigWords(error.message.replace(/^Option handlers is invalid: /, ''))));
    }
  };
  const entries = isObject(value) ? Object.entries(value) : [];
  if (setting === 'health_thresholds') for (const [key, v] of entries) check([setting, key], () => resolveHealthThresholds({ [key]: v }));
  // the hub says "Option handlers is invalid: Handler name …": the path names the entry already
  else if (setting === 'max_concurrent_tasks_by_role') for (const [role, n] of entries) check([setting, role], () => resolveHubOptions({ maxConcurrentTasksByRole: { [role]: n as number } }));
  else if (setting === 'handlers') for (const [name, spec] of entries) check([setting, name], () => resolveHubOptions({ handlers: { [name]: spec as string }, handlersBaseDir: dirname(file) }));
  else check([setting], () => resolveHubOptions({ [HUB_OPTION_OF[setting]]: value } as HubOptions));
  return problems;
}

/** `problems` in the order the file writes their keys (a key it does not hold, the file as a whole, first). */
function inFileOrder(problems: ConfigProblem[], raw: Record<string, unknown>): ConfigProblem[] {
  const position = ({ path }: ConfigProblem): [number, number] => {
    const dot = path.indexOf('.');
    const top = dot === -1 ? path : path.slice(0, dot);
    const inner = raw[top];
    return [Object.keys(raw).indexOf(top), dot !== -1 && isObject(inner) ? Object.keys(inner).indexOf(path.slice(dot + 1)) : -1];
  };
  return problems
    .map((problem, i) => ({ problem, at: [...position(problem), i] }))
    .sort((a, b) => a.at[0]! - b.at[0]! || a.at[1]! - b.at[1]! || a.at[2]! - b.at[2]!)
    .map(({ problem }) => problem);
}

/**
 * Checks a configuration file's contents (`raw`, parsed from `file`) and
 * finds every problem at once: unknown keys (with "did you mean"), wrong
 * types and ranges (the schema), and whatever the hub would refuse when it
 * starts (durations, sizes, handler names, thresholds: asked of the hub's
 * own `resolveHubOptions`, so the two cannot disagree).
 */
export function checkConfig(raw: unknown, file: string): { config: ConfigFile; problems: [] } | { config: null; problems: ConfigProblem[] } {
  if (!isObject(raw)) {
    return { config: null, problems: [{ path: '', message: `the file must hold settings, one "key: value" each, not ${show(raw)}`, example: 'heartbeat_interval: 30s' }] };
  }
  const problems: ConfigProblem[] = [];
  // what the schema refused (a setting, or one entry of a mapping) is not asked of the hub too
  const refused = new Set<string>();
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const found = fromIssue(issue, raw);
      for (const problem of found) refused.add(problem.path);
      problems.push(...found);
    }
  }
  for (const setting of Object.keys(HUB_OPTION_OF) as (keyof typeof HUB_OPTION_OF)[]) {
    if (refused.has(setting) || raw[setting] === undefined) continue;
    problems.push(...hubProblems(setting, raw[setting], file, refused));
  }
  if (problems.length > 0 || !parsed.success) return { config: null, problems: inFileOrder(problems, raw) };
  // and all of them together, as the hub takes them: a rule across settings is the hub's to say too
  try {
    resolveHubOptions(hubOptionsOf(parsed.data, file));
  } catch (error) {
    if (!(error instanceof TroupeError)) throw error;
    return { config: null, problems: [{ path: '', message: inConfigWords(error.message), example: null, ...(error.details ? { note: inConfigWords(error.details) } : {}) }] };
  }
  return { config: parsed.data, problems: [] };
}

/**
 * `createHub`, with an option it refuses told as the configuration's
 * mistake: the key as the file writes it, on standard error, no stack; null
 * then (exit 2). A safety net: `loadConfig` has asked the hub's rules already.
 */
export function createConfiguredHub(options: HubOptions, configPath: string | null, err: NodeJS.WritableStream = process.stderr): Hub | null {
  try {
    return createHub(options);
  } catch (error) {
    if (!(error instanceof TroupeError)) throw error;
    const where = configPath === null ? 'invalid options' : `invalid configuration ${configPath}`;
    err.write(`troupe: ${where}: ${error.code}: ${inConfigWords(error.message)}${error.details ? `\n  ${inConfigWords(error.details)}` : ''}\n`);
    return null;
  }
}
