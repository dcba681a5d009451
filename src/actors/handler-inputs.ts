import { z } from 'zod';

/** Bytes of stdout and of stderr an `exec` task keeps by default. */
export const EXEC_OUTPUT_LIMIT = 64 * 1024;

/**
 * The input of each built-in handler. The hub checks a task's input against
 * its schema when the workflow is created; the worker parses it again.
 */
export const builtinInputs = {
  noop: z.strictObject({}),
  echo: z.strictObject({ value: z.unknown() }),
  sleep: z.strictObject({ ms: z.number().int().min(0).max(86_400_000) }),
  cpu: z.strictObject({ iterations: z.number().int().min(0).max(1e10) }),
  fail: z.strictObject({
    message: z.string().default('task failed on purpose'),
    retryable: z.boolean().default(true),
    /** fail the first `times` attempts, then succeed; always fail when absent */
    times: z.number().int().min(0).optional(),
  }),
  exec: z.strictObject({
    command: z.string().min(1, 'command must not be empty'),
    cwd: z.string().min(1).optional(),
    env: z.record(z.string(), z.string()).optional(),
    /** bytes kept of stdout and of stderr each; the rest is dropped and reported */
    max_output: z.number().int().min(0).max(16 * 1024 * 1024).default(EXEC_OUTPUT_LIMIT),
  }),
} as const;

/** Names of the built-in handlers. */
export type BuiltinHandler = keyof typeof builtinInputs;

/** True when `name` is a built-in handler. */
export const isBuiltinHandler = (name: string): name is BuiltinHandler => Object.hasOwn(builtinInputs, name);

/** Inputs may be left out for handlers whose fields all have defaults. */
export const BUILTIN_HANDLERS = Object.keys(builtinInputs) as BuiltinHandler[];
