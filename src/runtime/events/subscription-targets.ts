import { z } from 'zod';
import type { Clock } from '../../actors/clock.js';
import { durationSchema } from '../definition.js';
import { formatDuration } from '../durations.js';
import { execTargetSession, type ExecTarget } from './exec-target.js';
import type { TargetSession } from './subscriber-queue.js';
import { webhookTargetSession, type WebhookTarget } from './webhook-target.js';

export type { ExecTarget } from './exec-target.js';
export type { WebhookTarget } from './webhook-target.js';
export type { TargetSession } from './subscriber-queue.js';

/** Where a subscription with a target delivers: a command, or a URL. It outlives the session that made it. */
export type DeliveryTarget = ExecTarget | WebhookTarget;


const TIMEOUT = 'timeout is longer than 0 and at most 1h';
const timeout = (fallback: string) =>
  durationSchema
    .refine((ms) => ms > 0 && ms <= 3_600_000, TIMEOUT)
    .prefault(fallback)
    .describe(`how long one delivery may take; default ${fallback}`);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const URL_ONLY_HTTP = 'url is an http:// or https:// URL, e.g. "http://127.0.0.1:8080/events"';

const isHttpUrl = (value: string) => {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
};

export const targetSchema = z
  .discriminatedUnion(
    'type',
    [
      z.strictObject({
        type: z.literal('exec'),
        command: z.string().min(1).max(10_000).describe('run with sh -c; the event comes as JSON on stdin'),
        cwd: z.string().min(1).optional().describe('working directory (relative: to the directory troupe runs in)'),
        env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name is letters, digits and _'), z.string()).optional(),
        timeout: timeout('30s'),
      }),
      z.strictObject({
        type: z.literal('webhook'),
        url: z.string().refine(isHttpUrl, URL_ONLY_HTTP),
        headers: z
          .record(z.string().regex(HEADER_NAME, 'a header name is a token (letters, digits, -)'), z.string().refine((v) => !/[\r\n]/.test(v), 'a header value has no line breaks'))
          .optional(),
        timeout: timeout('10s'),
      }),
    ],
    { error: (issue) => (issue.code === 'invalid_union' ? 'target.type is "exec" ({type,command,cwd?,env?,timeout?}) or "webhook" ({type,url,headers?,timeout?})' : undefined) },
  )
  .describe('where events go, beyond this session: exec {command, cwd?, env?, timeout?} or webhook {url, headers?, timeout?}; a named subscription with a target survives restarts');

export type TargetParams = z.output<typeof targetSchema>;

/** The target as it is stored and run. */
export function targetFrom(params: TargetParams, resolvedCwd?: string): DeliveryTarget {
  if (params.type === 'exec') {
    return { type: 'exec', command: params.command, ...(resolvedCwd === undefined ? {} : { cwd: resolvedCwd }), ...(params.env ? { env: params.env } : {}), timeoutMs: params.timeout };
  }
  return { type: 'webhook', url: params.url, ...(params.headers ? { headers: params.headers } : {}), timeoutMs: params.timeout };
}

/** What a response or `health` shows of a target: header and environment values may be secrets, so only their names. */
export function describeTarget(target: DeliveryTarget): Record<string, unknown> {
  if (target.type === 'exec') {
    return { type: 'exec', command: target.command, ...(target.cwd ? { cwd: target.cwd } : {}), ...(target.env ? { env: Object.keys(target.env) } : {}), timeout: formatDuration(target.timeoutMs) };
  }
  return { type: 'webhook', url: target.url, ...(target.headers ? { headers: Object.keys(target.headers) } : {}), timeout: formatDuration(target.timeoutMs) };
}

/** The deliverer of a target. `compress` says whether batch bodies are gzip-encoded now (webhooks). */
export function targetSession(target: DeliveryTarget, clock: Clock, compress: () => boolean): TargetSession {
  return target.type === 'exec' ? execTargetSession(target, clock) : webhookTargetSession(target, clock, compress);
}
