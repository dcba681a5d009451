/** `troupe check` on a data directory that is not there (or is no directory) says so and exits 2, creating nothing. */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, scratchDir } from './helpers/cli.js';

describe('troupe check without a data directory', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(() => cleanup());

  it('a missing one: it does not exist, exit 2, and it is not created', async () => {
    const missing = join(dir, 'nowhere', 'data');
    for (const json of [[], ['--json']]) {
      const result = await runCli(['check', '--data-dir', missing, ...json]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`troupe: the data directory ${missing} does not exist`);
      expect(result.stdout).toBe('');
      expect(result.stdout + result.stderr).not.toContain('every workflow can recover');
    }
    await expect(access(join(dir, 'nowhere'))).rejects.toThrow();
  });

  it('a file, or a path through a file: exit 2', async () => {
    const file = join(dir, 'file');
    await writeFile(file, 'not a directory');
    const plain = await runCli(['check', '--data-dir', file]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain(`the data directory ${file} is not a directory`);
    const through = await runCli(['check', '--data-dir', join(file, 'data')]);
    expect(through.code).toBe(2);
    expect(through.stderr).toContain('does not exist (part of its path is a file)');
  });

  it('an empty directory is checked as before: nothing at risk, exit 0', async () => {
    await mkdir(join(dir, 'empty'));
    const result = await runCli(['check', '--data-dir', join(dir, 'empty')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('0 checkpoint(s) checked; every workflow can recover');
  });
});
