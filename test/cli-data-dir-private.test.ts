/**
 * The data directory and the control socket against other local users
 * (issue "Hardening", items 2 and 3), with real processes and a real other
 * user (`nobody`): whatever the umask, nothing troupe creates is open to
 * others, the socket is never reachable by them, not even while it is being
 * set up, and a data directory someone else could have written into is
 * refused before anything in it runs.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, jsonLines, ROOT, runCli, scratchDir, serve } from './helpers/cli.js';

const NOBODY = 65534;
/** These start several supervisors each; on a busy two-core machine that can take longer than the default 30 s. */
const SLOW = { timeout: 120_000 };


/** Every path under `dir` (itself included) with its mode bits and type. */
async function modes(dir: string): Promise<{ path: string; mode: string; type: string }[]> {
  const out = [{ path: '.', mode: ((await stat(dir)).mode & 0o7777).toString(8), type: 'dir' }];
  for (const name of await readdir(dir, { recursive: true })) {
    const found = await stat(join(dir, name));
    out.push({ path: name, mode: (found.mode & 0o7777).toString(8), type: found.isDirectory() ? 'dir' : found.isSocket() ? 'socket' : 'file' });
  }
  return out;
}

/**
 * Run as `nobody`: connects to the socket at SOCKET over and over (four
 * loops, plus at once on every change the directory reports) until told
 * `stop`, then prints how the attempts went. A local attacker racing the
 * supervisor's start.
 */
const POLLER = `
  import { connect } from 'node:net';
  import { watch } from 'node:fs';
  const path = process.env.SOCKET;
  const counts = { attempts: 0, connected: 0, errors: {} };
  let stop = false;
  const attempt = () => new Promise((resolve) => {
    counts.attempts++;
    const socket = connect(path);
    socket.on('connect', () => { counts.connected++; socket.destroy(); resolve(); });
    socket.on('error', (error) => { counts.errors[error.code] = (counts.errors[error.code] ?? 0) + 1; resolve(); });
  });
  watch(process.env.DIR, () => void attempt());
  for (let i = 0; i < 4; i++) void (async () => { while (!stop) await attempt(); })();
  process.stdout.write('polling\\n');
  process.stdin.on('data', () => {
    stop = true;
    setImmediate(() => process.stdout.write(JSON.stringify(counts) + '\\n', () => process.exit(0)));
  });
`;

describe('the data directory and the socket under umask 000', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: { child: ChildProcess; exited: Promise<number | null> } | null = null;
  let poller: ChildProcess | null = null;
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(async () => {
    poller?.kill('SIGKILL');
    poller = null;
    server?.child.kill('SIGTERM');
    await server?.exited;
    server = null;
    await cleanup();
  });

  it('a new data directory: every directory is 0700 and every file 0600, the socket included, from the start', SLOW, async () => {
    const dataDir = join(dir, 'data');
    server = await serve(dataDir, { umask: '000' });
    expect((await modes(dataDir)).filter((m) => m.type === 'socket')).toEqual([{ path: 'troupe.sock', mode: '600', type: 'socket' }]);
    const ran = await runCli(['exec', '--data-dir', dataDir, 'wf_1 create @examples/hello.yaml', 'wf_1 start', 'wf_1 wait {"timeout":"60s"}', 'wf_1 save-state']);
    expect(jsonLines(ran.stdout).map((r) => [r.operation, r.status])).toEqual([
      ['create', 'success'],
      ['start', 'success'],
      ['wait', 'success'],
      ['save-state', 'success'],
    ]);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    server = null;
    const found = await modes(dataDir);
    // it did write: directories of every kind, checkpoints, log segments, the index, an export
    expect(found.map((m) => m.path)).toEqual(expect.arrayContaining(['checkpoints/wf_1', 'events', 'workflows/completed/wf_1.wf', 'exports']));
    expect(found.filter((m) => m.path.endsWith('.ckpt')).length).toBeGreaterThan(0);
    expect(found.filter((m) => (m.type === 'dir' ? m.mode !== '700' : m.mode !== '600'))).toEqual([]);
  });

  it('another user polling connect() while the supervisor starts never reaches the socket', SLOW, async () => {
    // a data directory others may read (0755, this user's): only the socket's own mode keeps them out
    await chmod(dir, 0o755);
    const dataDir = join(dir, 'shared');
    await mkdir(dataDir, { mode: 0o755 });
    await chmod(dataDir, 0o755);
    const child = spawn(process.execPath, ['--input-type=module', '-e', POLLER], {
      uid: NOBODY,
      gid: NOBODY,
      cwd: '/',
      env: { SOCKET: join(dataDir, 'troupe.sock'), DIR: dataDir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    poller = child;
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const pollerExited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    await new Promise<void>((resolve) => child.stdout.on('data', () => out.includes('polling') && resolve()));
    // listen() -> chmod was won by a poller like this one in about half of the starts
    for (let trial = 0; trial < 8; trial++) {
      server = await serve(dataDir, { umask: '000' });
      expect((await stat(join(dataDir, 'troupe.sock'))).mode & 0o777).toBe(0o600);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      server = null;
    }
    child.stdin!.write('stop\n');
    await pollerExited;
    const counts = JSON.parse(out.split('\n')[1]!) as { attempts: number; connected: number; errors: Record<string, number> };
    // it was refused by the socket itself (EACCES), so it did poll while the socket was there
    expect(counts.errors.EACCES).toBeGreaterThan(0);
    expect(counts.connected).toBe(0);
  });
});

describe('a data directory another user could write into', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let planter: ChildProcess | null = null;
  beforeEach(async () => {
    ({ dir, cleanup } = await scratchDir());
    await chmod(dir, 0o755);
  });
  afterEach(async () => {
    planter?.kill('SIGKILL');
    planter = null;
    await cleanup();
  });

  it('owned by nobody, holding a workflow nobody planted: refused with DATA_DIR_UNSAFE, and the planted command never runs as root', SLOW, async () => {
    const dataDir = join(dir, 'planted');
    await mkdir(dataDir, { mode: 0o755 });
    await chown(dataDir, NOBODY, NOBODY);
    const out = join(dir, 'ran-as');
    await writeFile(out, '');
    await chown(out, NOBODY, NOBODY);
    const started = join(dir, 'started');
    execFileSync('mkfifo', [started]);
    await chown(started, NOBODY, NOBODY);
    const plan = join(dir, 'plant.yaml');
    // as nobody it says it started and then stays in flight; as root it would just record that it ran
    const command = `id -u >> ${out}; [ "$(id -u)" = 0 ] && exit 0; echo $$ > ${started}; exec sleep 600`;
    await writeFile(plan, `name: planted\nphases:\n  - name: p\n    tasks:\n      - {id: x, handler: exec, input: {command: ${JSON.stringify(command)}}}\n`);
    // nobody runs the workflow in its own directory, and its supervisor dies with the task in flight
    const child = spawn(process.execPath, [BIN, 'run', plan, '--id', 'wf_plant', '--data-dir', dataDir], { uid: NOBODY, gid: NOBODY, cwd: dir, stdio: 'ignore' });
    planter = child;
    const planterExited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const sleeper = Number((await readFifo(started)).trim());
    child.kill('SIGKILL');
    await planterExited;
    // its task, in its own process group, outlives it: end it too (its pid is the shell's, which exec'd sleep)
    process.kill(sleeper, 'SIGKILL');
    expect(await readFile(out, 'utf8')).toBe(`${NOBODY}\n`);
    expect((await readdir(join(dataDir, 'checkpoints', 'wf_plant'))).length).toBeGreaterThan(0);

    const root = await runCli(['run', plan, '--id', 'wf_plant', '--data-dir', dataDir]);
    expect(root.stderr).toContain(`DATA_DIR_UNSAFE: The data directory ${dataDir} is not private to this user: ${dataDir} belongs to uid ${NOBODY}, not to this process's user (uid 0)`);
    expect(root.stderr).toContain(`Fix: chown -R 0 ${dataDir} && chmod -R go-w ${dataDir} if you trust its content, or use another --data-dir`);
    expect(root.code).toBe(2);
    expect(await readFile(out, 'utf8')).toBe(`${NOBODY}\n`);
  });

  it('mode 0777: refused with DATA_DIR_UNSAFE naming the mode', async () => {
    const dataDir = join(dir, 'open');
    await mkdir(dataDir);
    await chmod(dataDir, 0o777);
    const result = await runCli(['run', 'examples/hello.yaml', '--data-dir', dataDir]);
    expect(result.stderr).toContain(`DATA_DIR_UNSAFE: The data directory ${dataDir} is not private to this user: ${dataDir} has mode 0777: group or others may write into it`);
    expect(result.code).toBe(2);
    expect(await readdir(dataDir)).toEqual([]);
  });
});

/** Everything written into the named pipe by its first writer. */
function readFifo(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    createReadStream(path, 'utf8')
      .on('data', (chunk) => (text += String(chunk)))
      .on('end', () => resolve(text))
      .on('error', reject);
  });
}
