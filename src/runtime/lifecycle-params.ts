import { z } from 'zod';
import { DEFAULTS } from './defaults.js';
import { durationSchema } from './definition.js';
import { prioritySchema } from './scheduling/priority.js';

/** Who an end is for, by name: carried in WORKFLOW_COMPLETED for a subscription to reach (troupe has no address book). */
const stakeholders = z
  .array(z.string().trim().min(1, 'must not be empty').max(200))
  .max(100)
  .describe('who the end is for, by name: put in WORKFLOW_COMPLETED (notify_stakeholders); a subscription to that event reaches them');

const reason = z.string().max(10_000);

/**
 * The parameters of the lifecycle operations, with the spec's names
 * (coordination-hub.md §3 "Workflow Lifecycle Management", "Recovery and
 * Maintenance"). What each does, and what troupe does instead where one
 * cannot apply on one machine, is in its description.
 */
export const lifecycleParams = {
  start: z.strictObject({
    resume_from_phase: z
      .union([z.number().int().min(1), z.string().trim().min(1)])
      .optional()
      .describe('the phase to begin with, by number (1 is the first) or name: the phases before it do not run, their tasks end skipped (reason resume_from_phase) and block nothing'),
    agent_pool_size: z.number().int().min(1).max(DEFAULTS.max_agent_pool_size).optional().describe('agents to have ready before the first task'),
    checkpoint_interval: durationSchema
      .refine((ms) => ms > 0, { message: 'must be longer than 0' })
      .optional()
      .describe("overrides the definition's: how often the running workflow is checkpointed (kept in its state, so a restart keeps it)"),
    failure_tolerance: z.enum(['low', 'medium', 'high', 'intervene']).optional().describe('overrides the definition'),
    priority: prioritySchema.optional().describe("overrides the definition's: its ready tasks get agents before those of lower ones"),
  }),
  pause: z.strictObject({ reason: reason.optional().describe('kept in its state: WORKFLOW_PAUSED (pause_reason) and get-status (pause_reason)') }),
  cancel: z.strictObject({
    reason: reason.optional().describe('kept in its state: WORKFLOW_CANCELLED (cancellation_reason) and get-status (cancel_reason)'),
    compensate: z.boolean().default(false).describe("run the compensation ('compensate') of every completed task, in reverse dependency order"),
  }),
  complete: z.strictObject({
    cleanup_resources: z
      .boolean()
      .default(true)
      .describe("release its resource allocations, their exclusive files and its agents now, and say what was released (an ended workflow's are released anyway)"),
    archive_state: z.boolean().default(false).describe('archive it once completed, as cleanup does'),
    generate_report: z.boolean().default(true).describe('include the final status report in the result'),
    notify_stakeholders: stakeholders.optional(),
  }),
  cleanup: z.strictObject({
    archive_state: z
      .boolean()
      .default(true)
      .describe('archive it (status archived); false: it stays in its ended state. Either way its stored state is kept: troupe never deletes a workflow on a command'),
    remove_temp_files: z
      .boolean()
      .default(false)
      .describe("remove its temporary files: the process spools of its exec attempts that ended, and unfinished export files; never a running process's"),
    generate_report: z.boolean().default(false).describe('include the final report (status, phases, tasks, durations, KPIs) in the result'),
    cleanup_resources: z.boolean().default(true).describe('release what it still holds: resource allocations, their exclusive files, its agents'),
    notify_stakeholders: stakeholders.optional(),
  }),
} as const;

export type StartParams = z.output<typeof lifecycleParams.start>;
export type CompleteParams = z.output<typeof lifecycleParams.complete>;
export type CleanupParams = z.output<typeof lifecycleParams.cleanup>;
