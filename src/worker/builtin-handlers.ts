import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { builtinInputs, type BuiltinHandler } from '../actors/handler-inputs.js';
import { HandlerError, type Handler } from './handler-context.js';
import { execHandler } from './exec-handler.js';


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
