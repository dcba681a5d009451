/** The config file's `max_concurrent_tasks`, `max_concurrent_tasks_by_role` and `health_thresholds` reach the hub options. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/cli/config-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'troupe-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const configOf = async (text: string) => {
  const file = join(dir, 'troupe.config.yaml');
  await writeFile(file, text);
  return loadConfig(file, dir);
};

describe('the config file', () => {
  it('sets agent concurrency, per role too, and the health thresholds', async () => {
    const { hub } = await configOf('max_concurrent_tasks: 3\nmax_concurrent_tasks_by_role:\n  test: 4\nhealth_thresholds:\n  check_interval_ms: 30s\n  event_queue_depth: 200\n  memory_limit_mb: 2048\n');
    expect(hub).toMatchObject({ maxConcurrentTasks: 3, maxConcurrentTasksByRole: { test: 4 }, healthThresholds: { check_interval_ms: '30s', event_queue_depth: 200, memory_limit_mb: 2048 } });
  });

  it('refuses an unknown health threshold and a concurrency of 0, naming the key', async () => {
    await expect(configOf('health_thresholds:\n  error_rate: 5\n')).rejects.toThrow(/error_rate/);
    await expect(configOf('max_concurrent_tasks: 0\n')).rejects.toThrow(/max_concurrent_tasks/);
  });
});
