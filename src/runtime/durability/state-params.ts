import { z } from 'zod';

/** Events `get-status` may show from the log at most. */
export const RECENT_EVENTS_MAX = 1_000;

// only compared with the stored checkpoints' ids, seqs and names, never made into a path
const checkpointId = z.string().min(1).max(200).describe("an id from 'list-checkpoints', its seq, or a name given to 'checkpoint'");

/**
 * The parameters of the state and recovery operations, with the spec's
 * names (coordination-hub "State Management Operations" and "Recovery and
 * Maintenance") beside troupe's own.
 */
export const stateParams = {
  'get-status': z.strictObject({
    include_output: z.boolean().default(true).describe("include each completed task's output"),
    include_metrics: z.boolean().default(true).describe('the metrics block (total_execution_time, tasks completed and failed, agent_efficiency, resource_utilization) and the KPIs'),
    agent_details: z.boolean().default(true).describe('agent_assignments: per agent that worked for it, its role, current task, performance score and tasks completed'),
    recent_events: z.number().int().min(0).max(RECENT_EVENTS_MAX).optional().describe("the workflow's last N events from the log, newest last"),
    format: z.enum(['standard', 'state_sync']).default('standard').describe("state_sync: the protocol's workflow_state message instead"),
  }),
  'save-state': z.strictObject({
    path: z.string().min(1).optional().describe('the exact file to write; default <data-dir>/exports/<id>-<time>.troupe'),
    backup_location: z.string().min(1).optional().describe('a directory (created if missing) to write the bundle into under its default file name'),
    compress: z.boolean().optional().describe("gzip the bundle; default: the config's state_compression (true)"),
    include_checkpoints: z.boolean().default(true).describe('every stored checkpoint, or only the state now'),
  }),
  'load-state': z.strictObject({
    path: z.string().min(1).optional().describe('a save-state bundle to import (without a workflow id)'),
    overwrite: z.boolean().default(false).describe("the bundle form: replace a workflow with the same id that is not running"),
    checkpoint_id: checkpointId.optional().describe("with a workflow id: load its state from this stored checkpoint (an id, seq or name; default its newest valid one)"),
    verify_integrity: z.boolean().default(true).describe('the sha256 check always happens; true also restores the checkpoint into a scratch actor before anything changes'),
    restore_agents: z.boolean().default(false).describe('re-create the agents (roles and count) the workflow used, so it can run at once'),
  }),
  restore: z.strictObject({
    checkpoint_id: checkpointId,
    strategy: z
      .enum(['full_restore', 'partial_restore', 'rollback'])
      .default('full_restore')
      .describe('partial_restore keeps the successful task outcomes logged after the checkpoint; rollback is what the rollback operation does (recorded as one)'),
    verify_dependencies: z
      .boolean()
      .default(true)
      .describe('first check that every task that will run again has its handler and resolvable dependencies, and that files the checkpoint recorded are unchanged; refuse if not'),
  }),
};
