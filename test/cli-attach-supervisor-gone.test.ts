/**
 * `troupe attach` ends with its supervisor: exit 0 when the supervisor said
 * it shuts down (its last line, HUB_CLOSED), 1 when the connection just ended
 * (the supervisor was killed or crashed), with a word on standard error.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, ROOT, scratchDir, serve } from './helpers/cli.js';

/** `troupe attach` in script mode, its standard input kept open; resolves once its first line is answered. */
async function attach(dataDir: string) {
  const child = spawn(process.execPath, [BIN, 'attach', '--data-dir', dataDir], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.stdin.write('list-workflows\n');
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (stdout.includes('"operation":"list-workflows"')) resolve();
      else return;
      clearInterval(poll);
    }, 20);
    void exited.then(() => {
      clearInterval(poll);
      reject(new Error(`attach exited: ${stderr}`));
    });
  });
  return { child, exited, out: () => ({ stdout, stderr }) };
}

describe('troupe attach when its supervisor goes', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(() => cleanup());

  it('killed (SIGKILL): attach says the supervisor went away unexpectedly and exits 1', async () => {
    const dataDir = join(dir, 'data');
    const server = await serve(dataDir);
    const client = await attach(dataDir);
    server.child.kill('SIGKILL');
    await server.exited;
    expect(await client.exited).toBe(1);
    expect(client.out().stderr).toContain('troupe: the supervisor went away unexpectedly');
    client.child.stdin.destroy();
  });

  it('shut down (SIGTERM): attach says so and exits 0', async () => {
    const dataDir = join(dir, 'data');
    const server = await serve(dataDir);
    const client = await attach(dataDir);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(await client.exited).toBe(0);
    expect(client.out().stdout).toContain('(the supervisor shut down)');
    expect(client.out().stderr).toBe('');
    client.child.stdin.destroy();
  });
});
