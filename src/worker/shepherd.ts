/**
 * The shepherd of one `exec` attempt: a process of its own (it runs on
 * import; nothing re-exports it) that leads the task's process group, so the
 * command outlives a supervisor killed with `kill -9`. It claims the
 * attempt's spool, runs `sh -c command` in its group, writes the output to
 * the task log as it arrives, keeps the bounded stdout and stderr of the
 * result, and records the exit status in the spool when the command ends —
 * whether or not a supervisor is still there to hear it. The command's
 * `$TROUPE_OUTPUT` names a file in the same spool, for its values (the
 * worker reads them, see `exec-values.ts`).
 *
 * Its own stdout is a pipe to the worker that started it, for one line:
 * `{"claimed":true}`. Exit code 3: another shepherd had claimed the spool, so
 * this one started nothing.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { identityOf } from '../actors/process-identity.js';
import { claimSpool, recordResult, valuesFile } from '../actors/task-process.js';
import { openTaskLog } from '../actors/task-log.js';
import { boundedCollector } from './bounded-collector.js';
import { CLAIM_LOST_EXIT, type ShepherdArgs, type ShepherdMessage } from './shepherd-protocol.js';

const args = JSON.parse(process.argv[2]!) as ShepherdArgs;
const say = (message: ShepherdMessage) => {
  try {
    process.stdout.write(`${JSON.stringify(message)}\n`);
  } catch {
    // the supervisor is gone: the command goes on without it
  }
};
// a supervisor that died closes this pipe: writing to it must not end the shepherd
process.stdout.on('error', () => {});
// a group SIGTERM (cancel, timeout, shutdown) is for the command: the shepherd stays to record how it ended
process.on('SIGTERM', () => {});
process.on('SIGHUP', () => {});

const me = identityOf()!;
if (!claimSpool(args.spool, { ...me, started_at: Date.now(), command: args.command })) process.exit(CLAIM_LOST_EXIT);

const log = openTaskLog(args.log, args.logMaxBytes);
const logError = () => (log.error ? `${args.log}: ${log.error.message}` : undefined);
say({ claimed: true, pid: me.pid });

const stdout = boundedCollector(args.maxOutput);
const stderr = boundedCollector(args.maxOutput);
let reportedLogError = false;
const output = (collector: ReturnType<typeof boundedCollector>) => (chunk: Buffer) => {
  collector.push(chunk);
  log.write(chunk);
  if (log.error && !reportedLogError) {
    reportedLogError = true;
    say({ log_error: logError()! });
  }
};

let finished = false;
const finish = (exit: { exit_code: number | null; signal: string | null; spawn_error?: string }) => {
  if (finished) return;
  finished = true;
  log.close();
  const error = logError();
  recordResult(args.spool, {
    ...exit,
    stdout: stdout.text(),
    stderr: stderr.text(),
    stdout_truncated_bytes: stdout.dropped(),
    stderr_truncated_bytes: stderr.dropped(),
    ended_at: Date.now(),
    ...(error ? { log_error: error } : {}),
  });
  process.exit(0);
};

// an earlier run of this attempt (moved, or restarted after a crash) is kept above this one
if (log.size() > 0) log.write(`${args.rerunNote}\n`);
// this claim's run starts with no values: whatever lies there (a stray write of an earlier run) is not its own
const values = valuesFile(args.spool);
rmSync(values, { recursive: true, force: true });
const child = spawn('sh', ['-c', args.command], {
  ...(args.cwd === undefined ? {} : { cwd: args.cwd }),
  // troupe's TROUPE_OUTPUT wins over one in the task's `env`: values are read from the spool only
  env: { ...process.env, TROUPE_OUTPUT: values },
  stdio: ['ignore', 'pipe', 'pipe'],
});
child.stdout.on('data', output(stdout));
child.stderr.on('data', output(stderr));
child.on('error', (error) => finish({ exit_code: null, signal: null, spawn_error: error.message }));
child.on('close', (code, signal) => finish({ exit_code: code, signal }));
