/**
 * The built-in `exec`: runs `sh -c command` under a shepherd process (see
 * `shepherd.ts`) so that the command survives a crash of the supervisor, and
 * makes sure each attempt's command runs once at a time, across crashes:
 *
 * - nothing claimed the attempt's spool yet: a shepherd is started;
 * - a shepherd of an earlier supervisor still runs it: `on_recovery: adopt`
 *   watches it to its end (its log keeps growing), `restart` ends its group
 *   (SIGTERM, SIGKILL after `kill_grace`) and starts the command again;
 * - it ended while no supervisor ran: its recorded exit status is the outcome;
 * - a run stopped on purpose (cancel, timeout, move, shutdown) or killed
 *   without a result: what is left of its group is ended, and it starts again.
 *
 * Its output is `{exit_code, stdout, stderr, values}` (and the signal and the
 * truncated byte counts), `values` being what the command wrote to
 * `$TROUPE_OUTPUT` (see `exec-values.ts`).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { builtinInputs } from '../actors/handler-inputs.js';
import { endGroup } from '../actors/process-identity.js';
import { clearSpool, inspectSpool, markAborted, valuesFile, type ProcessClaim, type ProcessResult, type SpoolState } from '../actors/task-process.js';
import type { ProcessMode } from '../actors/worker-protocol.js';
import { HandlerError, type AttemptContext as AttemptFiles, type HandlerContext } from './handler-context.js';
import { readValues } from './exec-values.js';
import { CLAIM_LOST_EXIT, type ShepherdArgs, type ShepherdMessage } from './shepherd-protocol.js';

// vitest and tsx run this file as .ts: the shepherd then needs the tsx loader too
const sourceMode = import.meta.url.endsWith('.ts');
const shepherdFile = fileURLToPath(new URL(`./shepherd.${sourceMode ? 'ts' : 'js'}`, import.meta.url));
const loader = sourceMode ? ['--import', 'tsx'] : [];
// the loader is found from the shepherd's own cwd (the project, in source mode); the command gets its own cwd
const shepherdCwd = sourceMode ? fileURLToPath(new URL('../..', import.meta.url)) : undefined;

/** How often an adopted process, which is not our child, is looked at. */
const ADOPTED_POLL_MS = 100;

type ExecInput = ReturnType<(typeof builtinInputs.exec)['parse']>;

/**
 * The task's outcome from the recorded end of its command and the values it
 * wrote (read now, whichever way the run came to an end: spawned, adopted or
 * recorded). A non-zero exit fails the task as before, its values in the
 * error's data; values that cannot be read then go beside them as
 * `values_error`, since the command's failure is what a retry is for.
 */
function outcomeOf(input: ExecInput, files: AttemptFiles, result: ProcessResult): unknown {
  if (result.spawn_error !== undefined) {
    throw new HandlerError('EXEC_SPAWN_FAILED', `Could not run \`${input.command}\`: ${result.spawn_error}`, false);
  }
  const read = readValues(valuesFile(files.spool), input.max_output);
  // the contract's four fields first, then what tells how much of the output was kept
  const output = (values: Record<string, unknown>) => ({
    exit_code: result.exit_code,
    stdout: result.stdout,
    stderr: result.stderr,
    values,
    signal: result.signal,
    stdout_truncated_bytes: result.stdout_truncated_bytes,
    stderr_truncated_bytes: result.stderr_truncated_bytes,
  });
  if (result.exit_code === 0) {
    if (read.ok) return output(read.values);
    // the same command writes the same values: not retryable
    throw new HandlerError(read.code, read.message, false, output({}));
  }
  const data = read.ok ? output(read.values) : { ...output({}), values_error: { code: read.code, message: read.message } };
  const tail = result.stderr.trim().split('\n').slice(-5).join('\n');
  const how = result.exit_code === null ? `was killed by ${result.signal}` : `exited with code ${result.exit_code}`;
  throw new HandlerError('EXEC_FAILED', `\`${input.command}\` ${how}${tail ? `: ${tail}` : ''}`, true, data);
}

const lostError = (input: ExecInput) =>
  new HandlerError('EXEC_LOST', `\`${input.command}\` ended without recording its exit status (its shepherd was killed)`, true);

/** Starts a shepherd; resolves once it has claimed the spool (or lost it to another), with a promise of its exit. */
function startShepherd(input: ExecInput, files: AttemptFiles, ctx: HandlerContext): Promise<{ claimed: boolean; pid: number; exited: Promise<void> }> {
  mkdirSync(files.spool, { recursive: true, mode: 0o700 });
  const args: ShepherdArgs = {
    spool: files.spool,
    log: files.log,
    logMaxBytes: files.logMaxBytes,
    command: input.command,
    // the supervisor's directory by default, as before shepherds
    cwd: input.cwd ?? process.cwd(),
    maxOutput: input.max_output,
    rerunNote: `[troupe] attempt ${ctx.attempt} runs again`,
  };
  // the shepherd's own faults (not the command's output) go to a file beside its claim
  const errFd = openSync(join(files.spool, 'shepherd.err'), 'a', 0o600);
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(process.execPath, [...loader, shepherdFile, JSON.stringify(args)], {
        // who the command runs for, so it can make its effects idempotent (the key is stable across attempts, restarts and rollbacks)
        env: {
          ...process.env,
          ...input.env,
          TROUPE_WORKFLOW_ID: ctx.workflowId,
          TROUPE_TASK_ID: ctx.taskId,
          TROUPE_ATTEMPT: String(ctx.attempt),
          TROUPE_IDEMPOTENCY_KEY: ctx.idempotencyKey,
        },
        ...(shepherdCwd === undefined ? {} : { cwd: shepherdCwd }),
        stdio: ['ignore', 'pipe', errFd],
        // its own session and process group: a signal to the supervisor's group (Ctrl-C) does not reach it
        detached: true,
      });
    } catch (error) {
      closeSync(errFd);
      // e.g. EMFILE or EAGAIN: out of descriptors or processes; another attempt may find some
      return reject(new HandlerError('EXEC_SPAWN_FAILED', `Could not start \`${input.command}\`: ${(error as Error).message}`, true));
    }
    closeSync(errFd);
    // fault injection for the crash tests: the supervisor dies the instant its shepherd exists,
    // before anything about the spawn is known to it (the window a crash can hit in real life)
    if (process.env.TROUPE_FAULT === 'kill-after-spawn') process.kill(process.pid, 'SIGKILL');
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    let settled = false;
    child.once('error', (error) => {
      if (settled) return;
      settled = true;
      reject(new HandlerError('EXEC_SPAWN_FAILED', `Could not start \`${input.command}\`: ${error.message}`, true));
    });
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = JSON.parse(buffered.slice(0, newline)) as Partial<{ claimed: true; log_error: string }> & ShepherdMessage;
        buffered = buffered.slice(newline + 1);
        if ('log_error' in line) files.report({ logError: line.log_error });
        if ('claimed' in line && !settled) {
          settled = true;
          resolve({ claimed: true, pid: child.pid!, exited });
        }
      }
    });
    child.once('exit', (code) => {
      if (settled) return;
      settled = true;
      if (code === CLAIM_LOST_EXIT) resolve({ claimed: false, pid: child.pid!, exited });
      else reject(new HandlerError('EXEC_SPAWN_FAILED', `The shepherd of \`${input.command}\` exited with ${code} before starting it (see ${files.spool}/shepherd.err)`, true));
    });
  });
}

/**
 * Stops a run on purpose: marked first, so its exit status is never taken for
 * the task's; then its group is ended (and, for our own shepherd, reaped).
 */
async function stop(files: AttemptFiles, claim: ProcessClaim, reason: unknown, exited?: Promise<void>): Promise<never> {
  markAborted(files.spool, (reason as { code?: string } | undefined)?.code ?? 'aborted');
  await endGroup(claim, files.killGraceMs);
  await exited;
  throw reason;
}

/** Waits for the end of a command whose shepherd is not our child: by its spool and /proc. */
async function watchAdopted(input: ExecInput, files: AttemptFiles, claim: ProcessClaim, signal: AbortSignal): Promise<unknown> {
  for (;;) {
    if (signal.aborted) return stop(files, claim, signal.reason);
    const state = inspectSpool(files.spool);
    if (state.kind === 'ended') return finishFrom(input, files, state.result);
    if (state.kind !== 'running') throw lostError(input);
    await sleep(ADOPTED_POLL_MS, undefined, { signal }).catch(() => {});
  }
}

function finishFrom(input: ExecInput, files: AttemptFiles, result: ProcessResult): unknown {
  if (result.log_error) files.report({ logError: result.log_error });
  return outcomeOf(input, files, result);
}

/** Makes the spool ready for a new run: what is left of a stopped or orphaned run is ended first. */
async function clearStale(files: AttemptFiles, state: SpoolState): Promise<void> {
  if (state.kind === 'running' || state.kind === 'orphaned') await endGroup(state.claim, files.killGraceMs);
  clearSpool(files.spool);
}

/** Runs (or adopts) one attempt's command; see the file's comment. */
export async function execHandler(raw: unknown, ctx: HandlerContext): Promise<unknown> {
  const input = builtinInputs.exec.parse(raw);
  const files = ctx._attempt;
  if (!files) throw new HandlerError('EXEC_NO_SPOOL', 'exec needs the task files the runner gives it', false);
  let state = inspectSpool(files.spool);
  let mode: ProcessMode = 'spawned';
  if (state.kind === 'running' && state.aborted === null && files.onRecovery === 'restart') {
    mode = 'restarted';
    await clearStale(files, state);
    state = { kind: 'empty', aborted: null };
  }
  for (let tries = 0; ; tries++) {
    if (state.kind === 'ended' && state.aborted === null) {
      files.report({ mode: 'recorded', claim: state.claim });
      return finishFrom(input, files, state.result);
    }
    if (state.kind === 'running' && state.aborted === null) {
      files.report({ mode: 'adopted', claim: state.claim });
      return watchAdopted(input, files, state.claim, ctx.signal);
    }
    if (state.kind !== 'empty' || state.aborted !== null) await clearStale(files, state);
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const shepherd = await startShepherd(input, files, ctx);
    state = inspectSpool(files.spool);
    // lost the claim to a shepherd of an earlier supervisor started just before its crash: adopt that one
    if (!shepherd.claimed) {
      if (tries >= 3) throw lostError(input);
      continue;
    }
    if (state.kind === 'empty') throw lostError(input);
    const claim = state.claim;
    files.report({ mode, claim });
    // an abort that came while the shepherd started has fired already: its event will not come again
    const aborted = new Promise<'aborted'>((resolve) => (ctx.signal.aborted ? resolve('aborted') : ctx.signal.addEventListener('abort', () => resolve('aborted'), { once: true })));
    if ((await Promise.race([shepherd.exited, aborted])) === 'aborted') return stop(files, claim, ctx.signal.reason, shepherd.exited);
    const ended = inspectSpool(files.spool);
    if (ended.kind !== 'ended') {
      // the shepherd was killed (by someone else than us): end what it left running
      if (ended.kind === 'orphaned') await endGroup(ended.claim, files.killGraceMs);
      throw lostError(input);
    }
    return finishFrom(input, files, ended.result);
  }
}
