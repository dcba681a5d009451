import { z } from 'zod';
import { DEFAULTS } from './defaults.js';
import { durationSchema, safeIdSchema } from './definition.js';
import { createHelpSchema, createParamsSchema } from './templates/create-request.js';
import { eventParams } from './events/event-operations.js';
import { subscriptionParams } from './events/subscription-operations.js';
import { hubSettingsParams } from './events/hub-settings-operations.js';
import { optimizeSubscriptionsParams } from './events/subscription-optimizer.js';
import { resourceParams } from './resources/resource-params.js';
import { agentParams } from './agents/agent-operations.js';
import { prioritySchema } from './scheduling/priority.js';
import { stateParams } from './durability/state-params.js';
import { helloParams } from './protocol/hello-params.js';
import { lifecycleParams } from './lifecycle-params.js';

/** A command as `hub.execute` takes it; the REPL line `wf_1 start {}` becomes `{operation:'start', workflow_id:'wf_1', parameters:{}}`. */
export const commandSchema = z.strictObject({
  operation: z.string().min(1),
  /** what a file name and a REPL word can hold safely (one rule with every id that becomes a path) */
  workflow_id: safeIdSchema('workflow id').optional(),
  parameters: z.unknown().optional(),
  /** an id the caller picks to correlate the events this command causes */
  correlation_id: z.string().optional(),
});

export type Command = z.input<typeof commandSchema>;

/** The operation groups of the coordination-hub spec. */
export type OperationGroup = 'lifecycle' | 'state' | 'tasks' | 'agents' | 'events' | 'recovery' | 'system';

export interface OperationSpec {
  group: OperationGroup;
  summary: string;
  /** whether the REPL line starts with a workflow id */
  workflow: 'required' | 'optional' | 'none';
  params: z.ZodType;
  /** what `help` describes, when `params` picks a schema by the input's shape (create) */
  help?: z.ZodType;
  example: string;
  /** false for operations of the contract that this version does not do yet */
  available: boolean;
}

const none = z.strictObject({});

const op = (spec: Omit<OperationSpec, 'available'> & { available?: boolean }): OperationSpec => ({ available: true, ...spec });

/**
 * Every operation of the contract (DESIGN §3) with its parameter schema. The
 * REPL's `help` and the hub's validation both come from this table.
 */
export const OPERATIONS = {
  create: op({
    group: 'lifecycle',
    summary: 'Define a workflow from its definition (phases, tasks, dependencies) or from a template with params; nothing runs until start',
    workflow: 'required',
    params: createParamsSchema,
    help: createHelpSchema,
    example: 'wf_1 create @examples/hello.yaml   or   wf_1 create {"template":"bug-fix","params":{"issue":"BUG-7"}}',
  }),
  'list-templates': op({
    group: 'tasks',
    summary: "The workflow templates: the config's templates_dir and those shipped with troupe, each with its params (type, default, required) and where it comes from",
    workflow: 'none',
    params: z.strictObject({ name: z.string().min(1).optional().describe('only the templates of this name') }),
    example: 'list-templates',
  }),
  start: op({
    group: 'lifecycle',
    summary: 'Start a created workflow: its phases run in order (or from resume_from_phase on), tasks in dependency waves',
    workflow: 'required',
    params: lifecycleParams.start,
    example: 'wf_1 start {"resume_from_phase":2,"agent_pool_size":5,"checkpoint_interval":"15m","failure_tolerance":"medium"}',
  }),
  'set-priority': op({
    group: 'lifecycle',
    summary: 'Change the priority of a workflow that has not ended: when tasks of several workflows wait for agents, the higher priority goes first, then the earlier start',
    workflow: 'required',
    params: z.strictObject({ priority: prioritySchema.describe('critical, high, medium or low') }),
    example: 'wf_1 set-priority {"priority":"critical"}',
  }),
  pause: op({
    group: 'lifecycle',
    summary: 'Stop dispatching new tasks; running tasks finish and are recorded',
    workflow: 'required',
    params: lifecycleParams.pause,
    example: 'wf_1 pause {"reason":"waiting for review"}',
  }),
  resume: op({ group: 'lifecycle', summary: 'Dispatch again after a pause', workflow: 'required', params: none, example: 'wf_1 resume' }),
  complete: op({
    group: 'lifecycle',
    summary: 'End a running or paused workflow now as completed: tasks not yet run are skipped, running ones aborted; optionally archive it',
    workflow: 'required',
    params: lifecycleParams.complete,
    example: 'wf_1 complete {"cleanup_resources":true,"archive_state":true,"generate_report":true,"notify_stakeholders":["team","pm"]}',
  }),
  cancel: op({
    group: 'lifecycle',
    summary: 'Cancel a workflow: running tasks are aborted, the rest cancelled; with compensate, completed tasks are undone',
    workflow: 'required',
    params: lifecycleParams.cancel,
    example: 'wf_1 cancel {"reason":"superseded","compensate":true}',
  }),
  cleanup: op({
    group: 'lifecycle',
    summary: 'Archive an ended workflow (completed, partial, failed, cancelled, compensated or compensation_failed), release what it holds, optionally remove its temporary files and report',
    workflow: 'required',
    params: lifecycleParams.cleanup,
    example: 'wf_1 cleanup {"archive_state":true,"remove_temp_files":true,"generate_report":true}',
  }),
  'get-status': op({
    group: 'state',
    summary: "The workflow's state: status, current phase, progress, phases with their tasks, agents, metrics",
    workflow: 'required',
    params: stateParams['get-status'],
    example: 'wf_1 get-status {"include_metrics":true,"agent_details":true,"recent_events":10}',
  }),
  logs: op({
    group: 'tasks',
    summary: "A task's output: exec's stdout and stderr and what handlers write with ctx.log, per attempt, kept across restarts",
    workflow: 'required',
    params: z.strictObject({
      task_id: z.string().min(1).optional().describe('the task; without it, the newest lines of every task that has a log'),
      attempt: z.number().int().min(1).optional().describe("which attempt's log; default the newest that has one"),
      tail: z.number().int().min(1).max(100_000).default(100).describe('how many of the last lines'),
      since: z.number().int().min(0).optional().describe('instead of the tail: what came after this position (next_offset of an earlier answer), to follow a log'),
    }),
    example: 'wf_1 logs {"task_id":"build","tail":100}',
  }),
  approve: op({
    group: 'tasks',
    summary: 'Approve a task that waits for an approval (handler: approval): it completes with {approved, by, comment, at}',
    workflow: 'required',
    params: z.strictObject({
      task_id: z.string().min(1).describe('the approval task'),
      by: z.string().trim().min(1).max(200).describe('who approves (recorded in the output and the event)'),
      comment: z.string().max(10_000).optional(),
    }),
    example: 'wf_1 approve {"task_id":"release","by":"alice","comment":"ship it"}',
  }),
  reject: op({
    group: 'tasks',
    summary: 'Reject a task that waits for an approval: it fails with APPROVAL_REJECTED (not retried)',
    workflow: 'required',
    params: z.strictObject({
      task_id: z.string().min(1).describe('the approval task'),
      by: z.string().trim().min(1).max(200).describe('who rejects'),
      reason: z.string().max(10_000).optional(),
    }),
    example: 'wf_1 reject {"task_id":"release","by":"alice","reason":"not before Monday"}',
  }),
  approvals: op({
    group: 'tasks',
    summary: 'Every approval that waits for an answer, across workflows, with its prompt, deadline and the commands that answer it',
    workflow: 'none',
    params: z.strictObject({}),
    example: 'approvals',
  }),
  'retry-task': op({
    group: 'tasks',
    summary: 'A task waiting for intervention gets fresh attempts (its retries again; the attempt number goes on counting)',
    workflow: 'required',
    params: z.strictObject({ task_id: z.string().min(1).describe('the task that needs intervention') }),
    example: 'wf_1 retry-task {"task_id":"deploy"}',
  }),
  'skip-task': op({
    group: 'tasks',
    summary: 'A task waiting for intervention ends skipped, or completed with the output given (its dependents then run)',
    workflow: 'required',
    params: z.strictObject({
      task_id: z.string().min(1).describe('the task that needs intervention'),
      output: z.unknown().optional().describe('complete it with this output instead of skipping it'),
    }),
    example: 'wf_1 skip-task {"task_id":"deploy","output":{"url":"https://example.test"}}',
  }),
  'list-workflows': op({
    group: 'state',
    summary: 'List the workflows with their status and progress',
    workflow: 'none',
    params: z.strictObject({
      status: z
        .enum(['created', 'running', 'paused', 'needs_intervention', 'completed', 'partial', 'failed', 'cancelled', 'archived', 'compensating', 'compensated', 'compensation_failed'])
        .optional(),
    }),
    example: 'list-workflows {"status":"running"}',
  }),
  wait: op({
    group: 'state',
    summary: 'Answer once the workflow is completed, partial, failed, cancelled, compensated, compensation_failed, paused or needs_intervention',
    workflow: 'required',
    params: z.strictObject({ timeout: durationSchema.prefault(DEFAULTS.wait_timeout).describe('give up after this long') }),
    example: 'wf_1 wait {"timeout":"60s"}',
  }),
  help: op({
    group: 'system',
    summary: 'List the operations, or describe one',
    workflow: 'none',
    params: z.strictObject({ operation: z.string().optional() }),
    example: 'help {"operation":"create"}',
  }),
  'save-state': op({
    group: 'state',
    summary: "Write a workflow as one self-contained file, sha256-sealed and signed with this data directory's key: its checkpoints and its events; to a file (path) or into a directory (backup_location)",
    workflow: 'required',
    params: stateParams['save-state'],
    example: 'wf_1 save-state {"include_checkpoints":true,"compress":true,"backup_location":"backups/"}',
  }),
  'load-state': op({
    group: 'state',
    summary:
      "Without a workflow id: import a save-state bundle (path), all of it checked first; a running one loads paused, and it refuses to overwrite unless told to. With one: load that workflow's state from one of its stored checkpoints (checkpoint_id), verified first",
    workflow: 'optional',
    params: stateParams['load-state'],
    example: 'load-state {"path":"wf_1.troupe"}   or   wf_1 load-state {"checkpoint_id":"before-deploy","verify_integrity":true,"restore_agents":true}',
  }),
  'assign-agents': op({
    group: 'agents',
    summary: "Make sure the workflow has agent_count agents over its roles; set the performance threshold for its tasks",
    workflow: 'required',
    params: agentParams['assign-agents'],
    example: 'wf_1 assign-agents {"agent_count":5,"specializations":["code","test","docs"],"performance_threshold":80}',
  }),
  'redistribute-tasks': op({
    group: 'agents',
    summary: "Take an agent out of the pool and move its running tasks to others (TASK_REASSIGNED)",
    workflow: 'required',
    params: agentParams['redistribute-tasks'],
    example: 'wf_1 redistribute-tasks {"failed_agent":"agent_003","strategy":"performance_based","preserve_order":true}',
  }),
  'monitor-pool': op({
    group: 'agents',
    summary: 'Per agent: role, state, load, success rate, average time, breaker; the pool: utilization and queue depth; agents that left',
    workflow: 'none',
    params: none,
    example: 'monitor-pool',
  }),
  'publish-event': op({
    group: 'events',
    summary: 'Publish an event of the registry (optionally about a workflow)',
    workflow: 'optional',
    params: eventParams['publish-event'],
    example: 'publish-event {"event_type":"SYSTEM_MAINTENANCE","data":{"operation_type":"disk swap","estimated_duration":"5m","impact":"none"}}',
  }),
  'subscribe-event': op({
    group: 'events',
    summary: "Matching events (patterns: * one segment, # any; routing key or topic) printed live in this session, or sent to a named subscription's target (exec command or webhook), which survives restarts; with a workflow id, only that workflow's",
    workflow: 'optional',
    params: subscriptionParams['subscribe-event'],
    example: 'subscribe-event {"patterns":["TASK_FAILED.#","workflow.*.phase_completed"]}   or   wf_1 subscribe-event {"callback":"notifier","target":{"type":"webhook","url":"http://127.0.0.1:8080/events"}}',
  }),
  'unsubscribe-event': op({
    group: 'events',
    summary: 'End a subscription, by id or name (callback); a stored one is removed from the data directory',
    workflow: 'none',
    params: subscriptionParams['unsubscribe-event'],
    example: 'unsubscribe-event {"subscription_id":"sub_1a2b3c4d"}',
  }),
  'get-events': op({
    group: 'events',
    summary: "Events from the log (they survive restarts), a workflow's or all, filtered by type, pattern, severity, time or seq",
    workflow: 'optional',
    params: eventParams['get-events'],
    example: 'wf_1 get-events {"severity":["warning","error"],"limit":20}',
  }),
  'configure-batching': op({
    group: 'events',
    summary: 'Deliver events to batch subscriptions in batches: which events, batch size (or adaptive), timeout, dedup by event_id',
    workflow: 'none',
    params: eventParams['configure-batching'],
    example: 'configure-batching {"event_types":["TASK_COMPLETED.#"],"batch_size":"adaptive","timeout":"100ms","dedup_window":"1m"}',
  }),
  'configure-persistence': op({
    group: 'events',
    summary: 'What the event log keeps (all, or selective_critical), how long (retention_period), how durably (sync/batch/none); kept in the data directory; without params: the settings now',
    workflow: 'optional',
    params: hubSettingsParams['configure-persistence'],
    example: 'configure-persistence {"persistence_policy":"selective_critical","retention_period":"7d","replay_capabilities":"full"}',
  }),
  'enable-async-processing': op({
    group: 'events',
    summary: "Backed-up subscriber queues deliver the most severe events first (weighted or strict), with at most processing_pool_size deliveries under way; kept in the data directory; without params: the settings now",
    workflow: 'optional',
    params: hubSettingsParams['enable-async-processing'],
    example: 'enable-async-processing {"processing_pool_size":8,"priority_scheme":"weighted"}',
  }),
  'optimize-subscriptions': op({
    group: 'events',
    summary: "Take redundant patterns out of subscriptions (duplicates, patterns another contains, patterns no event type can match) and report what changed",
    workflow: 'optional',
    params: optimizeSubscriptionsParams,
    example: 'optimize-subscriptions {"subscriber_id":"sub_1a2b3c4d","dry_run":true}',
  }),
  'dead-letters': op({
    group: 'events',
    summary: 'Events a subscriber could not take (after its retries, or with its queue full)',
    workflow: 'none',
    params: eventParams['dead-letters'],
    example: 'dead-letters {"subscription_id":"sub_1a2b3c4d"}',
  }),
  redrive: op({
    group: 'events',
    summary: 'Deliver dead letters again to their subscriptions',
    workflow: 'none',
    params: eventParams.redrive,
    example: 'redrive {"dead_letter_ids":["dl_5e6f7a8b"]}',
  }),
  checkpoint: op({
    group: 'recovery',
    summary: 'Checkpoint a workflow now (atomically written, sha256-checked)',
    workflow: 'required',
    params: z.strictObject({
      name: z.string().min(1).max(100).optional().describe('a name to roll back to later'),
      include_files: z
        .boolean()
        .optional()
        .describe("record the files the workflow's tasks name (exclusive_files) with their sha256, size and mtime; default: the workflow's checkpoint_files"),
      validate_state: z.boolean().default(true).describe('read the checkpoint back and restore it into a scratch actor'),
    }),
    example: 'wf_1 checkpoint {"name":"before-deploy"}',
  }),
  'list-checkpoints': op({
    group: 'recovery',
    summary: "A workflow's stored checkpoints, oldest first, each with its integrity verdict",
    workflow: 'required',
    params: none,
    example: 'wf_1 list-checkpoints',
  }),
  restore: op({
    group: 'recovery',
    summary: 'Restore a workflow to a checkpoint (by id, seq or name), what its tasks depend on verified first; the epoch is bumped so later work runs again',
    workflow: 'required',
    params: stateParams.restore,
    example: 'wf_1 restore {"checkpoint_id":"0000000003-phase","strategy":"full_restore","verify_dependencies":true}',
  }),
  rollback: op({
    group: 'recovery',
    summary: 'Roll a workflow back to a named or earlier checkpoint; the epoch is bumped so later work runs again',
    workflow: 'required',
    params: z.strictObject({
      checkpoint_id: safeIdSchema('checkpoint id').optional(),
      name: z.string().min(1).optional().describe("a name given to 'checkpoint'"),
      steps: z.number().int().min(1).default(1).describe('checkpoints back from the newest'),
    }),
    example: 'wf_1 rollback {"name":"before-deploy"}',
  }),
  health: op({
    group: 'system',
    summary: "Each component's health (hub, task pool, store, log, event hub), what recovery found and survived, workflows by status",
    workflow: 'none',
    params: none,
    example: 'health',
  }),
  hello: op({
    group: 'system',
    summary: "A control connection's first line (protocol 1.1.0): negotiates the protocol version and may register the client as a component (component_registration); answers the supervisor's version, capabilities and components",
    workflow: 'none',
    params: helloParams,
    example: 'hello {"protocol_version":"1.1.0","component_registration":{"component_id":"resource-manager","component_type":"utility","version":"1.0.0"}}',
  }),
  metrics: op({
    group: 'system',
    summary: 'The KPIs beside their targets (all time and last 24 h), workflow efficiency, agent performance, event throughput, memory and CPU',
    workflow: 'none',
    params: none,
    example: 'metrics',
  }),
  'request-resources': op({
    group: 'system',
    summary: 'Ask for agents, memory, cores, exclusive files and tool instances for a workflow: answered approved, partial, queued or denied',
    workflow: 'required',
    params: resourceParams['request-resources'],
    example: 'wf_1 request-resources {"priority":"high","resources":{"agents":2,"memory_gb":4,"exclusive_files":["package.json"]}}',
  }),
  'release-resources': op({
    group: 'system',
    summary: 'Give an allocation back (or cancel a queued request); queued requests are then granted in priority order',
    workflow: 'required',
    params: resourceParams['release-resources'],
    example: 'wf_1 release-resources {"allocation_id":"alloc_1a2b3c4d5e6f"}',
  }),
} satisfies Record<string, OperationSpec>;

export type OperationName = keyof typeof OPERATIONS;

/** True when `name` is an operation of the contract. */
export const isOperation = (name: string): name is OperationName => Object.hasOwn(OPERATIONS, name);

/** Names of the operations in the order of the table. */
export const OPERATION_NAMES = Object.keys(OPERATIONS) as OperationName[];

/** What `hub.execute` answers (DESIGN §5). */
export type HubResponse = SuccessResponse | ErrorResponse;

export interface SuccessResponse {
  status: 'success';
  operation: string;
  workflow_id?: string;
  timestamp: string;
  result: unknown;
  metrics: { execution_time: string; resources_used?: string; agents_affected?: number };
  next_steps: string[];
  /** what the command did instead of something asked that cannot apply here (see OperationResult.warnings) */
  warnings?: string[];
}

export interface ErrorResponse {
  status: 'error';
  operation: string;
  workflow_id?: string;
  timestamp: string;
  error: { code: string; message: string; details: string };
  recovery_suggestions: string[];
}
