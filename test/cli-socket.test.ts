import type { ChildProcess } from 'node:child_process';
import { stat, writeFile, access } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonLines, runCli, scratchDir, serve } from './helpers/cli.js';

/** Sends raw bytes on the socket and collects `count` response lines. */
function raw(path: string, bytes: Buffer | string, count: number): Promise<Record<string, any>[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString();
      const lines = text.split('\n').filter(Boolean);
      if (lines.length >= count) {
        socket.end();
        resolve(lines.map((l) => JSON.parse(l) as Record<string, any>));
      }
    });
    socket.on('error', reject);
    socket.write(bytes);
  });
}

describe('troupe serve, exec and attach over the control socket', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: { child: ChildProcess; exited: Promise<number | null> } | null = null;
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    server = null;
    await cleanup();
  });

  it('exec sends lines to the running supervisor; the socket is 0600 and removed on exit', async () => {
    const dataDir = join(dir, 'data');
    server = await serve(dataDir);
    const socketPath = join(dataDir, 'troupe.sock');
    expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
    const ok = await runCli(['exec', '--data-dir', dataDir, 'wf_1 create @examples/hello.yaml', 'wf_1 start', 'wf_1 wait {"timeout":"60s"}']);
    expect(jsonLines(ok.stdout).map((r) => [r.operation, r.status])).toEqual([
      ['create', 'success'],
      ['start', 'success'],
      ['wait', 'success'],
    ]);
    expect(jsonLines(ok.stdout)[2]!.result.status).toBe('completed');
    expect(ok.code).toBe(0);
    const mixed = await runCli(['exec', '--data-dir', dataDir, 'list-workflows', 'wf_1 strat']);
    expect(jsonLines(mixed.stdout).map((r) => r.status)).toEqual(['success', 'error']);
    expect(mixed.code).toBe(1);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    server = null;
    await expect(access(socketPath)).rejects.toThrow();
  });

  it('exec with no supervisor says how to start one and exits 2', async () => {
    const result = await runCli(['exec', '--data-dir', join(dir, 'nobody'), 'list-workflows']);
    expect(result.stderr).toContain('No troupe supervisor is listening on');
    expect(result.stderr).toContain('troupe serve --data-dir');
    expect(result.code).toBe(2);
  });

  it('answers malformed, binary, non-object and oversized requests with errors, and stays healthy', async () => {
    const dataDir = join(dir, 'data');
    server = await serve(dataDir);
    const path = join(dataDir, 'troupe.sock');
    const answers = await raw(path, Buffer.concat([Buffer.from('not json\n'), Buffer.from([0, 1, 2, 0xff, 10]), Buffer.from('[1,2]\n"x"\n{"operation":"health","request_id":7}\n')]), 5);
    expect(answers.map((a) => a.error?.code ?? a.status)).toEqual(['PARSE_ERROR', 'PARSE_ERROR', 'VALIDATION_FAILED', 'VALIDATION_FAILED', 'success']);
    expect(answers[4]!.request_id).toBe(7);
    const huge = await raw(path, `{"operation":"help","parameters":{"operation":"${'x'.repeat(2 * 1024 * 1024)}"}}\n{"operation":"health"}\n`, 2);
    expect(huge[0]!.error.message).toBe('The request is longer than 1048576 bytes');
    expect(huge[1]!.status).toBe('success');
  });

  it('replaces a stale socket file, serves two clients at once, and attach in script mode sees the same workflows', async () => {
    const dataDir = join(dir, 'data');
    // a crashed supervisor leaves its socket behind
    await runCli(['--data-dir', dataDir], { stdin: 'list-workflows\n' });
    await writeFile(join(dataDir, 'troupe.sock'), 'stale');
    server = await serve(dataDir);
    const slow = join(dir, 'slow.yaml');
    await writeFile(slow, 'name: slow\nphases:\n  - name: p\n    tasks:\n      - {id: nap, handler: sleep, input: {ms: 300}}\n');
    await runCli(['exec', '--data-dir', dataDir, `wf_s create @${slow}`, 'wf_s start']);
    // one client waits while another works
    const waiting = runCli(['exec', '--data-dir', dataDir, 'wf_s wait {"timeout":"30s"}']);
    const listed = await runCli(['attach', '--data-dir', dataDir], { stdin: 'list-workflows\nwf_s get-status\n' });
    expect(jsonLines(listed.stdout)[0]!.result.workflows.map((w: { workflow_id: string }) => w.workflow_id)).toEqual(['wf_s']);
    expect(listed.code).toBe(0);
    expect(jsonLines((await waiting).stdout)[0]!.result.status).toBe('completed');
  });

  it('a connection that subscribes gets matching events pushed, and its subscription ends with it', async () => {
    const dataDir = join(dir, 'data');
    server = await serve(dataDir);
    const path = join(dataDir, 'troupe.sock');
    const socket = connect(path);
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.write('{"operation":"subscribe-event","parameters":{"patterns":["workflow.*.task_completed"]},"request_id":"s"}\n');
    const lines = () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
    while (!lines().some((l) => l.request_id === 's')) await new Promise((r) => setTimeout(r, 10));
    const { subscription_id: id } = lines()[0]!.result;
    await runCli(['exec', '--data-dir', dataDir, 'wf_1 create @examples/hello.yaml', 'wf_1 start', 'wf_1 wait']);
    while (lines().filter((l) => l.event).length < 3) await new Promise((r) => setTimeout(r, 10));
    const pushed = lines().filter((l) => l.event);
    expect(pushed.every((l) => l.subscription_id === id && l.event.event_type === 'TASK_COMPLETED')).toBe(true);
    expect(pushed.map((l) => l.event.data.task_id).sort()).toEqual(['hello', 'think', 'where']);
    socket.end();
    await new Promise((r) => socket.on('close', r));
    // the subscription ends with its connection (the server sees the close a moment later)
    const live = async () =>
      jsonLines((await runCli(['exec', '--data-dir', dataDir, 'health'])).stdout)[0]!.result.components.find((c: { component_id: string }) => c.component_id === 'event-hub').details.subscriptions as number;
    let subscriptions = await live();
    for (let i = 0; i < 10 && subscriptions > 0; i++) subscriptions = await live();
    expect(subscriptions).toBe(0);
  });
});
