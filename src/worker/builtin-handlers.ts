import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { builtinInputs, type BuiltinHandler } from '../actors/handler-inputs.js';
import { HandlerError, type Handler, type HandlerContext } from './handler-context.js';


/** Keeps the first `limit` bytes of a stream and counts the rest. */
function boundedCollector(limit: number) {
  const chunks: Buffer[] = [];
  let kept = 0;
  let dropped = 0;
  return {
    push(chunk: Buffer) {
      const room = limit - kept;
      if (room > 0) {
        const part = chunk.subarray(0, room);
        chunks.push(part);
        kept += part.length;
      }
      dropped += Math.max(0, chunk.length - Math.max(room, 0));
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
    dropped: () => dropped,
  };
}

/** Runs `sh -c command`; resolves with exit code and bounded output, kills the process group on abort. */
function execHandler(raw: unknown, ctx: HandlerContext) {
  const input = builtinInputs.exec.parse(raw);
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', input.command], {
      cwd: input.cwd,
      env: { ...process.env, ...input.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // its own process group, so an abort kills what the shell started too
      detached: true,
    });
    if (child.pid !== undefined) ctx.trackProcessGroup(child.pid);
    const stdout = boundedCollector(input.max_output);
    const stderr = boundedCollector(input.max_output);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    ctx.signal.addEventListener('abort', kill, { once: true });
    child.on('error', (error) => {
      ctx.signal.removeEventListener('abort', kill);
      reject(new HandlerError('EXEC_SPAWN_FAILED', `Could not run \`${input.command}\`: ${error.message}`, false));
    });
    child.on('close', (code, signal) => {
      ctx.signal.removeEventListener('abort', kill);
      const result = {
        exit_code: code,
        signal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        stdout_truncated_bytes: stdout.dropped(),
        stderr_truncated_bytes: stderr.dropped(),
      };
      if (code === 0) return resolve(result);
      const tail = result.stderr.trim().split('\n').slice(-5).join('\n');
      const how = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new HandlerError('EXEC_FAILED', `\`${input.command}\` ${how}${tail ? `: ${tail}` : ''}`, true, result));
    });
  });
}

/** The handlers every troupe worker has; their inputs are in `builtinInputs`. */
export const builtinHandlers: Record<BuiltinHandler, Handler> = {
  noop: (raw) => {
    builtinInputs.noop.parse(raw);
    return null;
  },
  echo: (raw) => builtinInputs.echo.parse(raw).value,
  sleep: async (raw, ctx) => {
    const { ms } = builtinInputs.sleep.parse(raw);
    await sleep(ms, undefined, { signal: ctx.signal });
    return { slept_ms: ms };
  },
  cpu: (raw, ctx) => {
    const { iterations } = builtinInputs.cpu.parse(raw);
    // an xorshift walk: real work the optimiser cannot drop, with a checkable result
    let x = 2463534242;
    let beat = performance.now();
    for (let i = 0; i < iterations; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      // the thread's own heartbeat cannot run while this loop holds it; a message can still leave
      if ((i & 0xffffff) === 0 && performance.now() - beat >= 1_000) {
        beat = performance.now();
        ctx.heartbeat({ done: i / iterations });
      }
    }
    return { iterations, result: x };
  },
  fail: (raw, ctx) => {
    const input = builtinInputs.fail.parse(raw);
    if (input.times !== undefined && ctx.attempt > input.times) return { succeeded_on_attempt: ctx.attempt };
    throw new HandlerError('TASK_FAILED_ON_PURPOSE', input.message, input.retryable);
  },
  exec: execHandler,
};
