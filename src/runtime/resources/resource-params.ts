/**
 * The parameters of `request-resources` and `release-resources`: the
 * protocol's `allocation_request` body (Resource Allocation Schema), strict.
 */
import { z } from 'zod';
import { DEFAULTS } from '../defaults.js';
import { durationSchema } from '../definition.js';

const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const count = z.number().int().min(0);

const allocationRequest = z.strictObject({
  request_id: z.string().regex(ID, 'ids use letters, digits, "_", ".", ":" and "-" (at most 128)').optional().describe('default: a generated req_… id'),
  workflow_id: z.string().optional().describe("the spec's field; when given it must be the command's workflow id"),
  requester: z.string().min(1).default('other').describe('coordination-hub | subagents | other, or any name'),
  timestamp: z.string().optional().describe("the spec's field; the hub stamps its own time"),
  priority: z.enum(['critical', 'high', 'medium', 'low']).default('medium').describe('queued requests are granted in this order, FIFO within one'),
  resources: z
    .strictObject({
      agents: count.default(0),
      memory_gb: z.number().min(0).default(0),
      cpu_cores: count.default(0),
      duration_hours: z.number().positive().optional().describe(`auto-released after this long; default ${DEFAULTS.resource_duration}`),
      exclusive_files: z.array(z.string().min(1)).default([]).describe('held in the lock table tasks use too'),
      tool_instances: z.record(z.string().min(1), count).default({}),
    })
    .refine((r) => r.agents + r.memory_gb + r.cpu_cores + r.exclusive_files.length + Object.values(r.tool_instances).reduce((a, b) => a + b, 0) > 0, 'ask for at least one resource'),
  constraints: z
    .strictObject({
      max_wait_time: durationSchema.prefault(DEFAULTS.resource_max_wait).describe('how long a queued request waits before it expires'),
      min_performance: z.string().optional().describe('recorded; not enforced'),
      conflict_tolerance: z.enum(['none', 'low', 'medium', 'high']).default('none').describe('other than none: a partial grant may go without files others hold'),
      isolation_level: z.enum(['strict', 'moderate', 'relaxed']).default('moderate').describe('strict: monitoring_required'),
    })
    .prefault({}),
  fallback_options: z
    .strictObject({
      reduce_agents: z.boolean().default(false).describe('partial: fewer agents when not enough are free'),
      extend_duration: z.boolean().default(false).describe('recorded; not used'),
      accept_shared_resources: z.boolean().default(false).describe('partial: less memory, cores or tools when not enough are free'),
      queue_if_unavailable: z.boolean().default(true).describe('queue instead of deny when it does not fit now'),
    })
    .prefault({}),
});

/** Accepts the body flat, or wrapped as the spec writes it: `{"allocation_request": {…}}`. */
const unwrap = (value: unknown) =>
  typeof value === 'object' && value !== null && Object.keys(value).length === 1 && 'allocation_request' in value ? (value as { allocation_request: unknown }).allocation_request : value;

export const resourceParams = {
  'request-resources': z.preprocess(unwrap, allocationRequest),
  'release-resources': z
    .strictObject({
      allocation_id: z.string().min(1).optional().describe('an allocation, or a queued request by the allocation id its answer reserved'),
      request_id: z.string().min(1).optional().describe('the same, by request id'),
      reason: z.string().min(1).default('released by request'),
    })
    .refine((p) => (p.allocation_id === undefined) !== (p.request_id === undefined), 'give exactly one of allocation_id and request_id'),
};

export type AllocationRequestParams = z.output<typeof allocationRequest>;
