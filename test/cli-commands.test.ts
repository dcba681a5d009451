import { spawnSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonLines, ROOT, runCli, scratchDir, serve } from './helpers/cli.js';

const COMMANDS = ['repl', 'serve', 'run', 'attach', 'exec', 'ls', 'status', 'watch', 'logs', 'pause', 'resume', 'cancel', 'approve', 'reject', 'check', 'completion', 'version'];

/** A workflow whose one task sleeps `ms`: slow enough to interrupt by hand. */
const slow = (ms: number) => `name: Slow\nphases:\n  - name: one\n    tasks:\n      - {id: nap, handler: sleep, input: {ms: ${ms}}}\n`;

describe('the command line: help, version, usage errors', { timeout: 120_000 }, () => {
  it('gives every command its own --help, and `help COMMAND` the same text', async () => {
    for (const command of COMMANDS) {
      const own = await runCli([command, '--help']);
      expect(own.code, command).toBe(0);
      expect(own.stdout).toContain(`Usage: troupe ${command}`);
      expect(own.stdout).toContain('--data-dir <dir>');
    }
    for (const command of ['run', 'logs', 'approve']) expect((await runCli(['help', command])).stdout).toBe((await runCli([command, '--help'])).stdout);
  }, 180_000);

  it('lists every command once in `troupe --help`, and prints the version two ways', async () => {
    const help = await runCli(['--help']);
    for (const command of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(help.stdout).not.toMatch(/^  check .*\n[\s\S]*^Options:/m);
    const { version } = JSON.parse(spawnSync('node', ['-p', 'JSON.stringify(require("./package.json"))'], { cwd: ROOT, encoding: 'utf8' }).stdout) as { version: string };
    expect((await runCli(['version'])).stdout).toBe(`troupe ${version}\n`);
    expect((await runCli(['--version'])).stdout).toBe(`troupe ${version}\n`);
  });

  it('answers a usage error in two lines with exit 2: no usage block, no stack trace, a did-you-mean', async () => {
    const typo = await runCli(['staus', 'wf_1']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("troupe: unknown command 'staus' (did you mean status?)");
    const option = await runCli(['run', 'examples/hello.yaml', '--bogus']);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("troupe: unknown option '--bogus'");
    const missing = await runCli(['logs']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'workflow'");
    const value = await runCli(['logs', 'wf_1', '--tail', '0']);
    expect(value.code).toBe(2);
    expect(value.stderr).toContain('--tail takes a whole number from 1');
    for (const r of [typo, option, missing, value]) {
      expect(r.stderr.trim().split('\n')).toHaveLength(2);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('shell completion', { timeout: 120_000 }, () => {
  it('completes commands, a command\'s options and workflow ids in bash', async () => {
    const { stdout: script, code } = await runCli(['completion', 'bash']);
    expect(code).toBe(0);
    const complete = (words: string[]) =>
      spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _troupe; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    expect(complete(['troupe', 'st'])).toEqual(['status']);
    expect(complete(['troupe', 'logs', '--f'])).toContain('--follow');
    expect(complete(['troupe', 'completion', ''])).toEqual(['bash', 'zsh']);
    // workflow ids come from `troupe ls --json`: a `troupe` on PATH, the data directory from the environment
    const { dir, cleanup } = await scratchDir();
    try {
      const data = join(dir, 'data');
      expect((await runCli(['run', 'examples/hello.yaml', '--id', 'hello_1', '--data-dir', data])).code).toBe(0);
      await writeFile(join(dir, 'troupe'), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin', 'troupe.js')}" "$@"\n`, { mode: 0o755 });
      const ids = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(troupe status hel); COMP_CWORD=2; _troupe; printf '%s\\n' "\${COMPREPLY[@]}"`], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, TROUPE_DATA_DIR: data },
      });
      expect(ids.stdout.split('\n').filter(Boolean)).toEqual(['hello_1']);
    } finally {
      await cleanup();
    }
  });

  it('prints a zsh script that defines the completion function for every command', async () => {
    const { stdout, code } = await runCli(['completion', 'zsh']);
    expect(code).toBe(0);
    expect(stdout.startsWith('#compdef troupe\n')).toBe(true);
    for (const command of COMMANDS) expect(stdout).toContain(`'${command}:`);
    expect((await runCli(['completion', 'fish'])).code).toBe(2);
  });
});

describe('the shell-side commands', { timeout: 120_000 }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(() => cleanup());

  it('ls and status read the data directory when no supervisor runs, and say so', async () => {
    const data = join(dir, 'data');
    expect((await runCli(['run', 'examples/hello.yaml', '--id', 'h1', '--data-dir', data])).code).toBe(0);
    const ls = await runCli(['ls', '--data-dir', data]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/h1\s+Hello troupe\s+✓ completed/);
    expect(ls.stdout).toContain('no supervisor runs');
    const status = await runCli(['status', 'h1', '--data-dir', data, '--json']);
    const [answer] = jsonLines(status.stdout);
    expect(answer!.result.workflow_state).toMatchObject({ id: 'h1', status: 'completed', progress_percentage: 100 });
    const unknown = await runCli(['status', 'nope', '--data-dir', data]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain('WORKFLOW_NOT_FOUND');
    // read only: nothing was created where there was no data directory
    const none = await runCli(['ls', '--data-dir', join(dir, 'none')]);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('DATA_DIR_NOT_FOUND');
    expect(await readdir(dir)).toEqual(['data']);
  }, 120_000);

  it('run submits to the running supervisor; ls, status, approve and watch go through it', async () => {
    const data = join(dir, 'data');
    const supervisor = await serve(data);
    try {
      // the walkthrough waits at an approval gate: answer it from the shell while run follows
      const running = runCli(['run', 'examples/spec-walkthrough.yaml', '--id', 'walk', '--data-dir', data], {
        onStdout: (text) => {
          if (text.includes('waits for approval') && !approving) approving = runCli(['approve', 'walk', 'release', '--by', 'tester', '--data-dir', data]);
        },
      });
      let approving: ReturnType<typeof runCli> | null = null;
      const run = await running;
      expect(run.stdout).toContain('submitted to the running supervisor');
      expect(run.code).toBe(0);
      const approved = await approving!;
      expect(approved.code).toBe(0);
      expect(approved.stdout).toContain('approve');
      const ls = await runCli(['ls', '--data-dir', data, '--json']);
      expect(jsonLines(ls.stdout)[0]!.result.workflows).toEqual([expect.objectContaining({ workflow_id: 'walk', status: 'completed' })]);
      expect(ls.stdout).not.toContain('no supervisor runs');
    const status = await runCli(['status', 'walk', '--data-dir', data]);
    expect(status.stdout).toMatch(/release\s+✓ completed/);
      const watch = await runCli(['watch', 'walk', '--data-dir', data]);
      expect(watch.code).toBe(0);
      expect(watch.stdout).toContain('walk');
      // the supervisor still runs: the run did not take the data directory from it
      expect(supervisor.child.exitCode).toBeNull();
    } finally {
      supervisor.child.kill('SIGTERM');
      await supervisor.exited;
    }
  }, 120_000);

  it('pause and resume from the shell steer a running `run`: it waits while paused, then finishes (exit 0)', async () => {
    const data = join(dir, 'data');
    const file = join(dir, 'two.yaml');
    const flag = join(dir, 'go');
    // a waits for the flag, so it is still running when the pause lands, however slow the machine
    await writeFile(file, `name: Two\nphases:\n  - name: p\n    tasks:\n      - {id: a, handler: exec, input: {command: "while [ ! -e ${flag} ]; do sleep 0.05; done"}}\n      - {id: b, handler: echo, depends_on: [a], input: {value: 1}}\n`);
    let paused: ReturnType<typeof runCli> | null = null;
    let resumed: ReturnType<typeof runCli> | null = null;
    const run = await runCli(['run', file, '--id', 'two', '--data-dir', data], {
      onStdout: (text) => {
        if (!paused && text.includes('p/a started')) paused = runCli(['pause', 'two', '--reason', 'coffee', '--data-dir', data]);
        if (!resumed && text.includes('paused from another terminal')) {
          resumed = writeFile(flag, '').then(() => runCli(['resume', 'two', '--data-dir', data]));
        }
      },
    });
    const pause = await paused!;
    expect(pause.code, pause.stderr).toBe(0);
    const resume = await resumed!;
    expect(resume.code, resume.stderr).toBe(0);
    expect(run.stdout).toContain(`waiting for troupe resume two --data-dir ${data}`);
    expect(run.stdout).toMatch(/b\s+✓ completed/);
    expect(run.code).toBe(0);
    // without a supervisor a change is refused with the way to start one
    const alone = await runCli(['cancel', 'two', '--data-dir', data]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('no supervisor runs');
  });

  it('approve without a supervisor says how to go on, exit 2', async () => {
    const r = await runCli(['approve', 'walk', 'release', '--data-dir', join(dir, 'data')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no supervisor runs');
    expect(r.stderr).toContain('troupe serve');
  });
});

describe('troupe run: which workflow it drives', { timeout: 120_000 }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(() => cleanup());

  it('refuses a known id whose definition differs (exit 2) and leaves that workflow alone', async () => {
    const data = join(dir, 'data');
    expect((await runCli(['run', 'examples/hello.yaml', '--id', 'w1', '--data-dir', data])).code).toBe(0);
    const other = await runCli(['run', 'examples/build-pipeline.yaml', '--id', 'w1', '--data-dir', data]);
    expect(other.code).toBe(2);
    expect(other.stdout).toContain('WORKFLOW_EXISTS');
    expect(other.stdout).toContain('created from another definition');
    expect(other.stdout).toContain('leave out --id');
    // the same file under its id is followed (it is complete), not refused
    const same = await runCli(['run', 'examples/hello.yaml', '--id', 'w1', '--data-dir', data, '--json']);
    expect(same.code).toBe(0);
    const ls = await runCli(['ls', '--data-dir', data, '--json']);
    expect(jsonLines(ls.stdout)[0]!.result.workflows.map((w: { name: string }) => w.name)).toEqual(['Hello troupe']);
  });

  it('ends quietly when its reader goes away (run | head -1): exit 141, no stack trace, lock and socket gone', async () => {
    const data = join(dir, 'data');
    const piped = spawnSync('bash', ['-c', `"${process.execPath}" bin/troupe.js run examples/hello.yaml --id t --data-dir "${data}" | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(piped.stdout).toBe("t: Hello troupe\n");
    expect(piped.stderr).toContain('exit=141');
    expect(piped.stderr).not.toMatch(/EPIPE|\n\s+at /);
    const left = await readdir(data);
    expect(left).not.toContain('troupe.lock');
    expect(left).not.toContain('troupe.sock');
  });

  it('on Ctrl-C prints the command that goes on; run again without --id goes on with the same workflow', async () => {
    const data = join(dir, 'data');
    const file = join(dir, 'slow.yaml');
    await writeFile(file, slow(60_000));
    // the sleeping task is not waited for at shutdown
    const config = join(dir, 'quick.yaml');
    await writeFile(config, 'shutdown_grace: 200ms\n');
    const first = await runCli(['run', file, '--data-dir', data, '--config', config], { onStdout: (text, child) => text.includes('started on') && child.kill('SIGINT') });
    expect(first.code).toBe(130);
    const hint = /go on with it later: (troupe run .+)$/m.exec(first.stderr);
    expect(hint, first.stderr).not.toBeNull();
    const id = /^(slow_\w+): Slow/m.exec(first.stdout)![1]!;
    expect(hint![1]).toBe(`troupe run ${file} --id ${id} --data-dir ${data}`);
    // no --id: the active workflow of this file is picked up, not a second one started
    const second = await runCli(['run', file, '--data-dir', data, '--config', config], { onStdout: (text, child) => text.includes('following it') && child.kill('SIGINT') });
    expect(second.stdout).toContain(`${id}: Slow (already`);
    const ls = await runCli(['ls', '--data-dir', data, '--json']);
    expect(jsonLines(ls.stdout)[0]!.result.workflows).toHaveLength(1);
  });

  it('Ctrl-C on a run submitted to a supervisor only stops following: the workflow goes on there', async () => {
    const data = join(dir, 'data');
    const file = join(dir, 'slow.yaml');
    await writeFile(file, slow(2_000));
    const supervisor = await serve(data);
    try {
      const run = await runCli(['run', file, '--id', 's1', '--data-dir', data], { onStdout: (text, child) => text.includes('started on') && child.kill('SIGINT') });
      expect(run.code).toBe(130);
      expect(run.stderr).toContain('stopped following s1; it goes on in the supervisor');
      const waited = await runCli(['exec', '--data-dir', data, 's1 wait {"timeout":"30s"}']);
      expect(jsonLines(waited.stdout)[0]!.result.status).toBe('completed');
    } finally {
      supervisor.child.kill('SIGTERM');
      await supervisor.exited;
    }
  });
});

