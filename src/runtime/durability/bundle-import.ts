import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { isBuiltinHandler } from '../../actors/handler-inputs.js';
import type { HandlerProbe } from '../../actors/handler-registry.js';
import type { TaskSpec, WorkflowSpec } from '../../machines/types.js';
import type { CheckpointHeader } from '../../persistence/checkpoint-codec.js';
import { SAFE_ID_RULE, unsafeIdReason, type IdKind } from '../../persistence/safe-id.js';
import { resolveDefinition, type UserHandlers } from '../definition.js';
import { isTroupeError, TroupeError } from '../errors.js';
import type { Inspector } from '../events/actor-trace.js';
import { EVENT_TYPES, type EventRecord } from '../events/event-record.js';
import { ENDED_STATUSES, statusOf, type WorkflowActor, type WorkflowStatus } from '../scheduling/workflow-entry.js';
import { WORKFLOW_MACHINE, type CheckpointBody } from './checkpoint-body.js';
import { rehydrate } from './recovery.js';

const int = z.number().int();

// what save-state writes, as far as load-state relies on it; loose, so a newer troupe's extra fields pass
const headerSchema = z.looseObject({
  format_version: int,
  body_sha256: z.string(),
  machine_id: z.string(),
  machine_version: int,
  workflow_id: z.string(),
  seq: int.min(0).max(1e10 - 1),
  trigger: z.string().regex(/^[a-z_]+$/, 'a trigger is lowercase letters and "_" (it is part of a file name)'),
  created_at: z.number(),
  epoch: int.min(0),
  name: z.string().nullable(),
});
const bodySchema = z.looseObject({
  workflow_id: z.string(),
  epoch: int.min(0),
  applied_seq: int,
  snapshot: z.looseObject({ context: z.looseObject({ id: z.string(), spec: z.unknown() }) }),
  in_flight: z.array(z.unknown()),
});
const eventSchema = z.looseObject({
  event_id: z.string(),
  seq: z.number(),
  event_type: z.enum(EVENT_TYPES),
  workflow_id: z.string(),
  phase: z.string(),
  timestamp: z.string(),
  severity: z.enum(['debug', 'info', 'warning', 'error', 'critical']),
  source: z.string(),
  data: z.record(z.string(), z.unknown()),
  correlation_id: z.string().nullable(),
  causation_id: z.string().nullable(),
  tags: z.array(z.string()),
});
const bundleSchema = z.looseObject({
  workflow_id: z.string(),
  checkpoints: z.array(z.strictObject({ header: headerSchema, body: bodySchema })),
  events: z.array(eventSchema),
});

type Parsed = z.infer<typeof bundleSchema>;

/** A checkpoint as load-state stores it. */
export interface ImportedCheckpoint {
  header: Omit<CheckpointHeader, 'format_version' | 'body_sha256'>;
  body: CheckpointBody;
}

/** A bundle checked whole, in memory, before load-state touches the data directory. */
export interface PreparedImport {
  id: string;
  /**
   * The checkpoints to store, oldest first: each state as the bundle has
   * it, except that a running one is paused, in this directory's new epoch,
   * covering this log up to now, and with no task in flight (any process a
   * bundle names ran elsewhere, if anywhere).
   */
  checkpoints: ImportedCheckpoint[];
  /** the newest state, rehydrated (paused if it was running); the caller owns it */
  actor: WorkflowActor;
  /** its status as the bundle has it */
  statusInBundle: WorkflowStatus;
  epoch: number;
  newestSeq: number;
  events: EventRecord[];
}

/** Statuses a bundle's workflow may be stored in as they are: nothing is dispatched in them. */
const IDLE: ReadonlySet<WorkflowStatus> = new Set(['created', 'paused', ...ENDED_STATUSES]);

/**
 * Checks everything a bundle says, in memory, and prepares what load-state
 * stores: the shape save-state writes, ids that can name files, one workflow
 * id throughout (checkpoint headers, bodies, snapshots, events), seqs in
 * order, definitions that `create` would accept (handlers of unfinished
 * states must exist here), and states the current machine restores. A
 * running state is paused: nothing a bundle holds runs before `resume`.
 * Throws a TroupeError (`BUNDLE_INCONSISTENT`, `INVALID_ID`,
 * `CHECKPOINT_INCOMPATIBLE`, or a definition's own code) naming the bundle.
 *
 * @example
 * const prepared = prepareImport(bundle, path, { now, floorEpoch: -1, appliedSeq: log.nextSeq - 1, handlers: hub.handlers });
 */
export function prepareImport(
  raw: unknown,
  path: string,
  options: { now: number; floorEpoch: number; appliedSeq: number; handlers: UserHandlers; inspect?: Inspector },
): PreparedImport {
  const parsed = bundleSchema.safeParse(raw);
  if (!parsed.success) {
    throw new TroupeError('BUNDLE_INCONSISTENT', `The bundle ${path} is not what save-state writes`, { details: z.prettifyError(parsed.error) });
  }
  const bundle = parsed.data;
  const id = bundle.workflow_id;
  checkId(path, 'workflow id', id, '');
  if (bundle.checkpoints.length === 0) throw new TroupeError('CHECKPOINT_NOT_FOUND', `The bundle ${path} holds no checkpoint of ${id}`);
  checkOneWorkflow(bundle, path);
  const epoch = Math.max(options.floorEpoch, ...bundle.checkpoints.map((c) => c.header.epoch)) + 1;
  const checkpoints: ImportedCheckpoint[] = [];
  const actors: WorkflowActor[] = [];
  let statusInBundle: WorkflowStatus = 'created';
  try {
    bundle.checkpoints.forEach(({ header, body }, i) => {
      const where = `checkpoint ${i + 1}`;
      const previous = bundle.checkpoints[i - 1]?.header.seq;
      if (previous !== undefined && header.seq <= previous) {
        throw new TroupeError('BUNDLE_INCONSISTENT', `The bundle ${path} is not what save-state writes: ${where} has seq ${header.seq}, not after the seq ${previous} of checkpoint ${i}`);
      }
      const spec = body.snapshot.context.spec as WorkflowSpec;
      for (const task of tasksOf(spec)) checkId(path, 'task id', task.id, ` (${where})`);
      const loaded = { info: { workflowId: id, seq: header.seq, trigger: header.trigger, size: 0, id: `${String(header.seq).padStart(10, '0')}-${header.trigger}` }, header: header satisfies CheckpointHeader, body };
      const last = i === bundle.checkpoints.length - 1;
      const { actor } = rehydrate(loaded, last ? options.inspect : undefined);
      actors.push(actor);
      const status = statusOf(actor.getSnapshot());
      if (!IDLE.has(status) && status !== 'running') {
        throw new TroupeError('BUNDLE_INCONSISTENT', `The bundle ${path} holds ${where} in state ${status}, which load-state cannot hold without running something`, {
          details: 'A bundle loads in state created, running (stored paused), paused, or ended',
        });
      }
      checkDefinition(spec, path, where, ENDED_STATUSES.has(status) ? everyHandler(spec) : options.handlers);
      if (last) statusInBundle = status;
      if (status === 'running') actor.send({ type: 'pause', at: options.now });
      checkpoints.push({
        header: { machine_id: WORKFLOW_MACHINE.id, machine_version: WORKFLOW_MACHINE.version, workflow_id: id, seq: header.seq, trigger: header.trigger, created_at: header.created_at, epoch, name: header.name },
        body: { workflow_id: id, epoch, applied_seq: options.appliedSeq, snapshot: actor.getPersistedSnapshot(), in_flight: [] },
      });
    });
  } catch (error) {
    for (const actor of actors) actor.stop();
    throw error;
  }
  for (const actor of actors.slice(0, -1)) actor.stop();
  return {
    id,
    checkpoints,
    actor: actors.at(-1)!,
    statusInBundle,
    epoch,
    newestSeq: bundle.checkpoints.at(-1)!.header.seq,
    events: bundle.events as unknown as EventRecord[],
  };
}

function checkId(path: string, kind: IdKind, id: unknown, where: string): void {
  const reason = unsafeIdReason(id);
  if (reason !== null) {
    throw new TroupeError('INVALID_ID', `The bundle ${path} names ${kind} ${JSON.stringify(id)}${where}, which cannot name a file: it ${reason}. ${SAFE_ID_RULE}`);
  }
}

/** Every checkpoint (header, body, snapshot) and every event names the bundle's workflow. */
function checkOneWorkflow(bundle: Parsed, path: string): void {
  const claims: [string, string][] = [];
  bundle.checkpoints.forEach(({ header, body }, i) =>
    claims.push([`checkpoint ${i + 1} header`, header.workflow_id], [`checkpoint ${i + 1} body`, body.workflow_id], [`checkpoint ${i + 1} snapshot`, body.snapshot.context.id]),
  );
  bundle.events.forEach((event, i) => claims.push([`event ${i + 1}`, event.workflow_id]));
  const odd = claims.find(([, claimed]) => claimed !== bundle.workflow_id);
  if (odd) {
    throw new TroupeError('BUNDLE_INCONSISTENT', `The bundle ${path} is not one workflow: its workflow_id is ${JSON.stringify(bundle.workflow_id)}, but ${odd[0]} says ${JSON.stringify(odd[1])}`, {
      details: 'save-state writes one workflow per bundle: every checkpoint header, body and snapshot, and every event, names it',
    });
  }
}

/** The tasks of a spec as far as its shape goes (a malformed spec is judged by `checkDefinition`). */
function tasksOf(spec: WorkflowSpec): { id: unknown }[] {
  const phases: unknown = spec?.phases;
  if (!Array.isArray(phases)) return [];
  return phases.flatMap((p: { tasks?: unknown }) => (Array.isArray(p?.tasks) ? (p.tasks as { id: unknown }[]) : []));
}

/** For an ended state, whose tasks never run again: any handler name passes. */
function everyHandler(spec: WorkflowSpec): UserHandlers {
  const named = tasksOf(spec).map((t) => (t as { handler?: unknown }).handler);
  return new Map(named.filter((h): h is string => typeof h === 'string' && !isBuiltinHandler(h)).map((h) => [h, { ok: true } as HandlerProbe]));
}

const SPEC_KEYS = ['name', 'description', 'priority', 'timeoutMs', 'checkpointIntervalMs', 'failureTolerance', 'durability', 'agentRequirements', 'checkpointFiles'] as const;
const TASK_KEYS = ['id', 'description', 'handler', 'role', 'input', 'dependsOn', 'timeoutMs', 'retries', 'exclusiveFiles', 'estimatedDurationMs', 'risky'] as const;

/** The fields of a spec that `create` decides, in one comparable form (fields added later are not compared). */
function known(spec: WorkflowSpec) {
  return {
    ...Object.fromEntries(SPEC_KEYS.map((k) => [k, k === 'durability' ? (spec.durability ?? null) : spec[k]])),
    phases: spec.phases.map((p) => ({ name: p.name, tasks: p.tasks.map((t) => Object.fromEntries(TASK_KEYS.map((k) => [k, t[k]]))) })),
  };
}

/**
 * The spec must be one `create` makes: written back as a definition and
 * resolved again, the same fields come out. So every rule of `create`
 * (durations, ranges, ids, dependencies, cycles, handlers and their inputs)
 * holds for a bundle too.
 */
function checkDefinition(spec: WorkflowSpec, path: string, where: string, handlers: UserHandlers): void {
  let resolved: WorkflowSpec;
  let mine: ReturnType<typeof known>;
  try {
    mine = known(spec);
    resolved = resolveDefinition(definitionOf(spec), handlers);
  } catch (error) {
    if (isTroupeError(error)) {
      throw new TroupeError(error.code, `The bundle ${path} holds a workflow definition (${where}) that create refuses: ${error.message}`, { ...(error.details === undefined ? {} : { details: error.details }) });
    }
    throw new TroupeError('BUNDLE_INCONSISTENT', `The bundle ${path} holds a malformed workflow definition (${where})`, { details: error instanceof Error ? error.message : String(error) });
  }
  if (!isDeepStrictEqual(known(resolved), mine)) {
    throw new TroupeError('BUNDLE_INCONSISTENT', `The bundle ${path} holds a workflow definition (${where}) that create would not have made`, {
      details: 'Resolved again from its own fields, it comes out different (a value outside what create stores, e.g. an untrimmed name or a non-number duration)',
    });
  }
}

/** The definition `create` would have been given for a resolved spec. */
function definitionOf(spec: WorkflowSpec) {
  return {
    name: spec.name,
    ...(spec.description === null ? {} : { description: spec.description }),
    priority: spec.priority,
    timeout: spec.timeoutMs,
    checkpoint_interval: spec.checkpointIntervalMs,
    failure_tolerance: spec.failureTolerance,
    ...(spec.durability == null ? {} : { durability: spec.durability }),
    ...(spec.checkpointFiles === true ? { checkpoint_files: true } : {}),
    agent_requirements: {
      min_agents: spec.agentRequirements.minAgents,
      max_agents: spec.agentRequirements.maxAgents,
      specialized_roles: spec.agentRequirements.specializedRoles,
    },
    phases: spec.phases.map((phase) => ({ name: phase.name, tasks: phase.tasks.map(taskDefinitionOf) })),
    // the values it runs with, declared as defaults: what its inputs still read when tasks run
    ...(spec.params === undefined ? {} : { params: Object.fromEntries(Object.entries(spec.params).map(([k, v]) => [k, { type: typeof v, default: v }])) }),
  };
}

function taskDefinitionOf(task: TaskSpec) {
  return {
    id: task.id,
    ...(task.description === null ? {} : { description: task.description }),
    handler: task.handler,
    role: task.role,
    input: task.input,
    depends_on: task.dependsOn,
    timeout: task.timeoutMs,
    retries: task.retries,
    exclusive_files: task.exclusiveFiles,
    estimated_duration: task.estimatedDurationMs,
    risky: task.risky,
  };
}
