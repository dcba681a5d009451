/**
 * A configuration file with mistakes is refused before anything starts, with
 * every problem at once, each under the key as the file writes it, what was
 * wrong and a good value; exit 2, no stack trace. What the file is checked
 * against is the hub's own rules (resolveHubOptions), so whatever the check
 * lets through, the hub takes.
 */
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkConfig, ConfigError, createConfiguredHub } from '../src/cli/config-errors.js';
import { loadConfig } from '../src/cli/config-file.js';
import { HUB_OPTION_OF, hubOptionsOf, SETTING_HELP } from '../src/cli/config-schema.js';
import { resolveHubOptions } from '../src/index.js';
import { ROOT, runCli, scratchDir } from './helpers/cli.js';

/** A file with one of each kind of mistake. */
const BAD = [
  'heartbeat_intervall: 5s', // unknown key, close to one
  'heartbeat_interval: 5 seconds', // not a duration (the hub's rule)
  'max_threads: many', // wrong type
  'compaction_interval: 0', // a range the hub checks
  'max_output_bytes: 64MiB', // a size out of range
  'health_thresholds:',
  '  error_rate_max: 3', // unknown nested key
  '  window_ms: forever', // a nested duration
  'colour: blue', // unknown, close to nothing
  '',
].join('\n');

describe('a configuration file with several mistakes', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(() => cleanup());

  const expectAllListed = (stderr: string, file: string) => {
    expect(stderr).toContain(`troupe: invalid configuration ${file}: 8 problems`);
    const lines = [
      'heartbeat_intervall is not a setting: did you mean heartbeat_interval? (e.g. heartbeat_interval: 30s',
      'heartbeat_interval is not a duration: "5 seconds" (e.g. heartbeat_interval: 30s',
      'max_threads must be a whole number from 1 to 256, got "many" (e.g. max_threads: 4)',
      'compaction_interval must be longer than 0 (e.g. compaction_interval: 1h',
      'max_output_bytes must be a size from 1KiB to 16MiB, got "64MiB" (e.g. max_output_bytes: 4MiB)',
      'health_thresholds.error_rate_max is not a health threshold: did you mean health_thresholds.command_error_rate_degraded or health_thresholds.command_error_rate_unhealthy?',
      'health_thresholds.window_ms must be a number >= 0 or a duration such as "5m", got "forever" (e.g. health_thresholds: { window_ms: 5m }',
      'colour is not a setting; the settings are data_dir, max_threads',
    ];
    // in the order the file writes them
    const at = lines.map((line) => stderr.indexOf(line));
    expect(at.every((i) => i > 0), stderr).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    // the user's words, not the hub's, and no stack trace
    expect(stderr).not.toMatch(/heartbeatInterval|compactionInterval|maxOutputBytes|TroupeError|\n\s+at /);
  };

  it('`troupe run FILE` lists them all, exit 2, and starts nothing', async () => {
    await writeFile(join(dir, 'troupe.config.yaml'), BAD);
    const result = await runCli(['run', join(ROOT, 'examples/hello.yaml')], { cwd: dir });
    expect(result.code).toBe(2);
    expectAllListed(result.stderr, join(dir, 'troupe.config.yaml'));
    await expect(access(join(dir, '.troupe'))).rejects.toThrow();
  });

  it('`troupe` and `troupe serve` with --config the same', async () => {
    const file = join(dir, 'mine.yml');
    await writeFile(file, BAD);
    for (const args of [['--config', file], ['serve', '--config', file]]) {
      const result = await runCli([...args, '--data-dir', join(dir, 'data')], { stdin: 'list-workflows\n' });
      expect(result.code).toBe(2);
      expectAllListed(result.stderr, file);
    }
    await expect(access(join(dir, 'data'))).rejects.toThrow();
  });

  it('`heartbeat_interval: 5 seconds` alone: exit 2, one line naming the key, a good value, no stack trace', async () => {
    await writeFile(join(dir, 'troupe.config.yaml'), 'heartbeat_interval: 5 seconds\n');
    const result = await runCli([], { cwd: dir, stdin: 'list-workflows\n' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `troupe: invalid configuration ${join(dir, 'troupe.config.yaml')}: 1 problem\n` +
        '  heartbeat_interval is not a duration: "5 seconds" (e.g. heartbeat_interval: 30s; a duration is a number with ms, s, m, h or d, or a plain number of milliseconds)\n',
    );
  });

  it('a file that holds no settings (a list) is one problem', async () => {
    await writeFile(join(dir, 'troupe.config.yaml'), '- a\n- b\n');
    const result = await runCli(['serve'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the file must hold settings, one "key: value" each, not ["a","b"]');
  });
});

describe('checkConfig', () => {
  it('names nested keys as the file writes them: thresholds, roles and handlers', () => {
    const { problems } = checkConfig(
      {
        health_thresholds: { memory_percent: -5, check_interval_ms: 0, memory_limit_mb: 'lots', comand_p95_degraded_ms: 1 },
        max_concurrent_tasks_by_role: { test: 0, build: 2 },
        handlers: { '1bad': './x.mjs', fine: './x.mjs#run' },
      },
      '/somewhere/troupe.config.yaml',
    );
    expect(problems.map((p) => p.path)).toEqual([
      'health_thresholds.memory_percent',
      'health_thresholds.check_interval_ms',
      'health_thresholds.memory_limit_mb',
      'health_thresholds.comand_p95_degraded_ms',
      'max_concurrent_tasks_by_role.test',
      'handlers.1bad',
    ]);
    expect(problems[0]!.message).toBe('health_thresholds.memory_percent must be a number >= 0, got -5');
    expect(problems[3]!.message).toBe('health_thresholds.comand_p95_degraded_ms is not a health threshold: did you mean health_thresholds.command_p95_degraded_ms?');
    expect(problems[5]!.message).toMatch(/^Handler name "1bad" must start with a letter/);
    expect(problems.every((p) => p.example !== null)).toBe(true);
  });

  it('loadConfig throws a ConfigError carrying the problems', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const file = join(dir, 'troupe.config.yaml');
      await writeFile(file, 'kill_grace: soon\nkeep_checkpoints: 0\n');
      const error = await loadConfig(file).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => p.path)).toEqual(['kill_grace', 'keep_checkpoints']);
    } finally {
      await cleanup();
    }
  });

  it('every setting has its help, and every hub option the config sets is a setting', () => {
    for (const key of Object.keys(HUB_OPTION_OF)) expect(SETTING_HELP).toHaveProperty(key);
  });

  // the check asks the hub's rules, so the two cannot drift: what it lets through, the hub takes
  it('whatever it accepts, resolveHubOptions accepts too', () => {
    const values = fc.oneof(
      fc.integer({ min: -10, max: 100_000_000 }),
      fc.double({ noNaN: false }),
      fc.constantFrom('30s', '0ms', '5 seconds', '1h', '4MiB', '64MiB', '1KiB', '512', 'lots', '', '-1s', '1.5m', 'sync', 'fast'),
      fc.boolean(),
      fc.constant(null),
    );
    const settings = fc.dictionary(fc.constantFrom(...Object.keys(HUB_OPTION_OF).filter((k) => k !== 'handlers')), values, { maxKeys: 4 });
    fc.assert(
      fc.property(settings, (raw) => {
        const { config, problems } = checkConfig(raw, '/x/troupe.config.yaml');
        if (problems.length > 0) return;
        expect(() => resolveHubOptions(hubOptionsOf(config!, '/x/troupe.config.yaml'))).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });
});

describe('createConfiguredHub (the safety net)', () => {
  it('an option the hub refuses is told with the config key, no stack, and no hub', () => {
    const err = new PassThrough();
    let text = '';
    err.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const hub = createConfiguredHub({ heartbeatInterval: '5 seconds', maxConcurrentTasksByRole: { test: 0 } }, '/x/troupe.config.yaml', err);
    expect(hub).toBeNull();
    expect(text).toBe('troupe: invalid configuration /x/troupe.config.yaml: VALIDATION_FAILED: heartbeat_interval is not a duration: "5 seconds"\n');
  });
});
