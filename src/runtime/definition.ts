import { z } from 'zod';
import { builtinInputs, BUILTIN_HANDLERS, isBuiltinHandler } from '../actors/handler-inputs.js';
import type { HandlerProbe } from '../actors/handler-registry.js';
import { compensationId } from '../machines/compensation-plan.js';
import { findCycle } from '../machines/task-graph.js';
import { checkReferences } from './flow/definition-references.js';
import { inputHasTemplates } from './flow/task-templates.js';
import { approvalInputSchema } from './scheduling/approval-gates.js';
import type { PhaseSpec, TaskSpec, WorkflowSpec } from '../machines/types.js';
import { unsafeIdReason, UnsafeIdError, type IdKind } from '../persistence/safe-id.js';
import { DefinitionProblems, lenientTasks, type DefinitionInvalid, type LocatedTask } from './definition-problems.js';
import { DEFAULTS } from './defaults.js';
import { parseDuration } from './durations.js';
import { TroupeError } from './errors.js';
import { TYPE_META_KEY } from './help-types.js';
import { closestName } from './suggest.js';
import { instantiate } from './templates/instantiate.js';
import { paramsDeclarationSchema } from './templates/param-declarations.js';
import { prioritySchema } from './scheduling/priority.js';

/** A duration: `"250ms"`, `"30s"`, `"15m"`, `"2h"`, `"7d"`, or a number of milliseconds (`help` says "duration such as 30s"). */
export const durationSchema = z.union([z.string(), z.number()]).meta({ [TYPE_META_KEY]: 'duration' }).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `Expected a duration such as "30s", "15m" or "2h" (units ms, s, m, h, d), got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return ms;
});

/** A duration that must be longer than zero (a zero timeout would fire at once). */
const positiveDuration = durationSchema.refine((ms) => ms > 0, { message: 'must be longer than 0' });

/**
 * An id that becomes a file name (workflow, task and checkpoint ids): the
 * one rule of `unsafeIdReason`, its message naming the id and the rule.
 *
 * @example
 * z.strictObject({ workflow_id: safeIdSchema('workflow id') })
 */
export const safeIdSchema = (kind: IdKind) =>
  z.string().superRefine((id, ctx) => {
    const reason = unsafeIdReason(id);
    if (reason !== null) ctx.addIssue({ code: 'custom', message: new UnsafeIdError(kind, id, reason).message });
  });

const name = z.string().trim().min(1, 'must not be empty');

const taskSchema = z.strictObject({
  id: safeIdSchema('task id'),
  description: z.string().optional(),
  handler: name,
  role: name.default('general'),
  input: z.unknown().optional(),
  depends_on: z.array(z.string()).default([]),
  timeout: positiveDuration.prefault(DEFAULTS.task_timeout),
  retries: z.number().int().min(0).max(100).default(DEFAULTS.task_retries),
  exclusive_files: z.array(z.string().min(1)).default([]),
  estimated_duration: durationSchema.default(0),
  risky: z.boolean().default(false),
  /** `exec` only: after a crash, adopt the process that still runs (default) or end it and run again */
  on_recovery: z.enum(['adopt', 'restart']).optional(),
  /** a condition (bare, or as one `${{ }}`): run once the dependencies ended in any state, if it holds */
  when: z.string().trim().min(1, 'must not be empty').optional(),
  /** its failure counts against nothing: the phase goes on, a `when` downstream can react */
  allow_failure: z.boolean().default(false),
  /** `intervene`: a final failure waits for a person (retry-task, skip-task) instead of failing; `fail`: the failure tolerance decides */
  on_failure: z.enum(['fail', 'intervene']).optional(),
  /** what undoes the task once it completed, when the workflow fails or is cancelled with compensation */
  compensate: z
    .strictObject({
      handler: name,
      input: z.unknown().optional(),
      timeout: positiveDuration.prefault(DEFAULTS.task_timeout),
      retries: z.number().int().min(0).max(100).default(DEFAULTS.task_retries),
    })
    .optional(),
});

// a bare string is a phase without tasks; turned into the object form first, so an error
// inside a task is reported at its own path (a union would collapse it to the phase)
const phaseSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { name: value } : value),
  z.strictObject({ name, description: z.string().optional(), tasks: z.array(taskSchema).default([]) }),
);

/** The spec's spellings of `agent_requirements` (`{"min": 3, "max": 8}`), by troupe's own names. */
const AGENT_REQUIREMENT_ALIASES = { min: 'min_agents', max: 'max_agents' } as const;

/**
 * `value` with each alias key renamed to its own name; an alias given beside
 * its own name with another value is an issue (which one was meant?).
 */
function withAliases(value: unknown, aliases: Readonly<Record<string, string>>, ctx: z.RefinementCtx): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const renamed: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [alias, own] of Object.entries(aliases)) {
    if (!Object.hasOwn(renamed, alias)) continue;
    if (Object.hasOwn(renamed, own) && renamed[own] !== renamed[alias]) {
      ctx.addIssue({ code: 'custom', message: `${alias} is another name for ${own}, and the two are given different values (${JSON.stringify(renamed[alias])} and ${JSON.stringify(renamed[own])}): give one`, path: [alias] });
      continue;
    }
    renamed[own] = renamed[alias];
    delete renamed[alias];
  }
  return renamed;
}

/** The workflow definition: the `create` parameters, and the contents of a workflow file. */
export const workflowDefinitionSchema = z.strictObject({
  name,
  description: z.string().optional(),
  /** how its ready tasks rank against other workflows' for agents */
  priority: prioritySchema.default(DEFAULTS.priority),
  timeout: positiveDuration.prefault(DEFAULTS.workflow_timeout),
  checkpoint_interval: positiveDuration.prefault(DEFAULTS.checkpoint_interval),
  failure_tolerance: z.enum(['low', 'medium', 'high', 'intervene']).default(DEFAULTS.failure_tolerance),
  /** every checkpoint (automatic ones too) records the files its tasks name in exclusive_files, with their sha256 */
  checkpoint_files: z.boolean().default(false),
  /** how durable a task outcome is before the workflow acts on it; the hub's mode when absent */
  durability: z.enum(['sync', 'batch', 'none']).optional(),
  /** the `on_recovery` of its `exec` tasks that set none: `adopt` (default) or `restart` */
  on_recovery: z.enum(['adopt', 'restart']).optional(),
  /** the params it takes (a template): used as `${{ params.NAME }}` in its strings, applied at create */
  params: paramsDeclarationSchema.optional(),
  /** external services the workflow needs, by name: kept in the spec and shown by get-status (troupe cannot probe a name) */
  dependencies: z.array(z.string().trim().min(1, 'must not be empty')).optional(),
  agent_requirements: z.preprocess(
    (value, ctx) => withAliases(value, AGENT_REQUIREMENT_ALIASES, ctx),
    z
      .strictObject({
        min_agents: z.number().int().min(1).max(DEFAULTS.max_agent_pool_size).default(DEFAULTS.min_agents).describe('also written min'),
        max_agents: z.number().int().min(1).max(DEFAULTS.max_agent_pool_size).default(DEFAULTS.max_agents).describe('also written max'),
        specialized_roles: z.array(name).default([]),
        // the spec's spellings: renamed before this object is checked, listed so help and key hints name them
        min: z.number().optional().describe("the spec's name for min_agents"),
        max: z.number().optional().describe("the spec's name for max_agents"),
      })
      .refine((r) => r.min_agents <= r.max_agents, { message: 'min_agents must not exceed max_agents', path: ['min_agents'] })
      .default({ min_agents: DEFAULTS.min_agents, max_agents: DEFAULTS.max_agents, specialized_roles: [] }),
  ),
  phases: z
    .array(phaseSchema)
    .min(1, 'a workflow needs at least one phase')
    .superRefine((phases, ctx) => {
      const seen = new Set<string>();
      phases.forEach((phase, i) => {
        if (seen.has(phase.name)) ctx.addIssue({ code: 'custom', message: `phase name ${phase.name} is used twice; event routing keys name phases`, path: [i, 'name'] });
        seen.add(phase.name);
      });
    }),
});

/** The definition as written by a user. */
export type WorkflowDefinition = z.input<typeof workflowDefinitionSchema>;

const at = (phase: number, task: number) => `phases[${phase}].tasks[${task}]`;

/** The user handlers a hub has, by name, with whether each can run (see `runner.probeHandlers`). */
export type UserHandlers = ReadonlyMap<string, HandlerProbe>;

/**
 * A task's handler (and its compensation's) exists and can run; a built-in's
 * input fits its schema; on_recovery is set on an exec task only. Each of
 * the three is a problem of its own. A handler the schema refused is not looked up.
 */
function checkHandler({ task, phase, index, handlerGiven }: LocatedTask, userHandlers: UserHandlers, problems: DefinitionProblems): void {
  const where = at(phase, index);
  problems.collect(`${where}.on_recovery`, () => {
    if (task.handler !== 'exec' && task.onRecovery !== undefined && task.compensate?.handler !== 'exec') {
      throw new TroupeError('VALIDATION_FAILED', `Task ${task.id} (${where}) sets on_recovery, but its handler ${task.handler} runs no process of its own`, {
        details: 'on_recovery is for exec tasks: a worker-thread handler dies with the supervisor and runs again with the same idempotency key. Remove on_recovery from this task',
      });
    }
  });
  // a missing handler is at `handler`; a built-in's input that does not fit, at `input`
  const field = (prefix: string) => (error: TroupeError) => `${where}.${prefix}${error.code === 'HANDLER_NOT_FOUND' ? 'handler' : 'input'}`;
  if (handlerGiven) problems.collect(field(''), () => checkHandlerUse(`Task ${task.id} (${where})`, task.handler, task.input, userHandlers));
  if (task.compensate) problems.collect(field('compensate.'), () => checkHandlerUse(`The compensate of task ${task.id} (${where})`, task.compensate!.handler, task.compensate!.input, userHandlers));
}

/**
 * `handler` exists and can run, and a built-in's input fits its schema. An
 * input with `${{ }}` is checked once it is rendered, when the task runs
 * (the worker parses it again): its values are not known yet.
 */
function checkHandlerUse(who: string, handler: string, input: unknown, userHandlers: UserHandlers): void {
  if (handler === 'approval') {
    // a person answers it, in the hub: no worker ever runs it
    if (inputHasTemplates(input)) return;
    const parsed = approvalInputSchema.safeParse(input ?? {});
    if (!parsed.success) throw new TroupeError('VALIDATION_FAILED', `${who} has an invalid input for handler approval`, { details: z.prettifyError(parsed.error) });
    return;
  }
  if (isBuiltinHandler(handler)) {
    if (inputHasTemplates(input)) return;
    const parsed = builtinInputs[handler].safeParse(input ?? {});
    if (!parsed.success) {
      throw new TroupeError('VALIDATION_FAILED', `${who} has an invalid input for handler ${handler}`, {
        details: z.prettifyError(parsed.error),
      });
    }
    return;
  }
  const probe = userHandlers.get(handler);
  if (probe?.ok) return;
  if (probe) {
    throw new TroupeError('HANDLER_NOT_FOUND', `${who} uses handler ${handler}, which is configured but cannot run`, {
      details: `${probe.reason}. Fix the module or the 'handlers' entry of the config, then restart the supervisor`,
    });
  }
  const available = [...BUILTIN_HANDLERS, 'approval', ...userHandlers.keys()];
  const guess = closestName(handler, available);
  throw new TroupeError('HANDLER_NOT_FOUND', `${who} uses handler ${handler}, which does not exist${guess ? `: did you mean ${guess}?` : ''}`, {
    details: `Available handlers: ${available.join(', ')}. User handlers are named in the config's 'handlers'`,
    ...(guess ? { suggestions: [`Use handler ${JSON.stringify(guess)}`] } : {}),
  });
}

/** A compensation's task id (`<id>.compensate`) must not be a task of the workflow too: their logs and outcomes would mix. */
function checkCompensationIds(tasks: readonly LocatedTask[], problems: DefinitionProblems): void {
  const ids = new Set(tasks.map((t) => t.task.id));
  for (const { task, phase, index } of tasks) {
    // an id that breaks the rule itself is the schema's to report, once
    if (!task.compensate || unsafeIdReason(task.id) !== null) continue;
    const where = `${at(phase, index)}.compensate`;
    const reason = unsafeIdReason(compensationId(task.id));
    if (reason !== null) {
      problems.add(
        new TroupeError('INVALID_ID', `Task ${task.id} has a compensate, and its compensation's task id ${compensationId(task.id)} ${reason}`, {
          details: `A compensation runs as task <id>.compensate, which must follow the id rule too: shorten the task id`,
        }),
        where,
      );
    } else if (ids.has(compensationId(task.id))) {
      problems.add(
        new TroupeError('DUPLICATE_TASK', `Task id ${compensationId(task.id)} is taken by the compensation of task ${task.id}`, {
          details: `A compensation runs as task ${compensationId(task.id)}: rename the other task`,
        }),
        where,
      );
    }
  }
}

/** Ids an error message lists at most: a graph of thousands of tasks must not make a message of thousands of ids. */
const LISTED_IDS = 20;

/** `ids` joined by `separator`, the middle left out (with its count) when there are more than {@link LISTED_IDS}. */
function listIds(ids: readonly string[], separator: string): string {
  if (ids.length <= LISTED_IDS) return ids.join(separator);
  const head = ids.slice(0, LISTED_IDS / 2);
  const tail = ids.slice(ids.length - LISTED_IDS / 2);
  return [...head, `… ${ids.length - LISTED_IDS} more …`, ...tail].join(separator);
}

/** Checks what a schema cannot: ids, dependencies, cycles, handlers and their inputs; every problem found is added to `problems`. */
function checkGraph(tasks: readonly LocatedTask[], userHandlers: UserHandlers, problems: DefinitionProblems): void {
  const seen = new Map<string, LocatedTask>();
  for (const located of tasks) {
    const { task, phase: p, index: t } = located;
    const first = seen.get(task.id);
    if (first) {
      problems.add(
        new TroupeError('DUPLICATE_TASK', `Task id ${task.id} is used twice: at ${at(first.phase, first.index)} and at ${at(p, t)}`, {
          details: 'Task ids must be unique across the whole workflow, because depends_on names them',
        }),
        `${at(p, t)}.id`,
      );
    } else seen.set(task.id, located);
  }
  for (const located of tasks) {
    const { task, phase: p, index: t } = located;
    task.dependsOn.forEach((dep, d) => {
      const where = seen.get(dep);
      const path = `${at(p, t)}.depends_on[${d}]`;
      if (!where) {
        problems.add(
          new TroupeError('UNKNOWN_DEPENDENCY', `Task ${task.id} (${at(p, t)}) depends on ${dep}, which is not a task of this workflow`, {
            details: `Known task ids: ${listIds([...seen.keys()], ', ')}`,
          }),
          path,
        );
      } else if (where.phase > p) {
        problems.add(
          new TroupeError('UNKNOWN_DEPENDENCY', `Task ${task.id} in phase ${located.phaseName} depends on ${dep}, which is in the later phase ${where.phaseName}`, {
            details: 'Phases run in order: a task may depend on tasks of its own or an earlier phase only',
          }),
          path,
        );
      }
    });
    checkHandler(located, userHandlers, problems);
  }
  checkCompensationIds(tasks, problems);
  const cycle = findCycle(tasks.map((t) => t.task));
  if (cycle) {
    // a long cycle is named by its ends in the message, and whole in the details
    const long = cycle.length > LISTED_IDS;
    const start = seen.get(cycle[0]!)!;
    problems.add(
      new TroupeError('DEPENDENCY_CYCLE', `Dependency cycle${long ? ` of ${cycle.length - 1} tasks` : ''}: ${listIds(cycle, ' -> ')}`, {
        details: `Tasks in a cycle would wait for each other forever${long ? `. The whole cycle: ${cycle.join(' -> ')}` : ''}`,
      }),
      `${at(start.phase, start.index)}.depends_on`,
    );
  }
}

/** How {@link resolveDefinition} answers schema issues: its own message by default; `create` names itself and suggests keys from its help. */
const DEFINITION_INVALID: DefinitionInvalid = { message: 'The workflow definition is invalid' };

/** The graph, the handlers and the expressions of a definition's tasks; every problem is added to `problems`. */
function checkTasks(tasks: LocatedTask[], userHandlers: UserHandlers, params: Record<string, unknown> | null, problems: DefinitionProblems): void {
  checkGraph(tasks, userHandlers, problems);
  const located = new Map(tasks.map((t) => [t.task, t]));
  // a reference is checked against the dependencies that exist (a missing one or a cycle is reported above)
  checkReferences(
    tasks.map(({ task }) => task),
    params === null ? [] : Object.keys(params),
    (error, task, path) => {
      const where = located.get(task)!;
      problems.add(error, `${at(where.phase, where.index)}.${path}`);
    },
  );
}

/**
 * Validates a workflow definition (already parsed from JSON or YAML) and
 * resolves it into the {@link WorkflowSpec} the machines run: params
 * applied (`given`, else the defaults it declares; DESIGN §12), defaults
 * filled in, durations in ms, phases in object form. Throws a
 * {@link TroupeError} listing every problem found (see
 * {@link DefinitionProblems}: one problem keeps its own code); `who` names
 * the definition in params errors, `invalid` how schema issues are answered.
 *
 * @example
 * resolveDefinition({ name: 'hello', phases: [{ name: 'greet', tasks: [{ id: 'hi', handler: 'echo', input: { value: 'hi' } }] }] })
 */
export function resolveDefinition(raw: unknown, userHandlers: UserHandlers = new Map(), given?: unknown, who = 'this workflow', invalid: DefinitionInvalid = DEFINITION_INVALID): WorkflowSpec {
  const { definition, params } = instantiate(raw, given, who);
  const parsed = workflowDefinitionSchema.safeParse(definition);
  const problems = new DefinitionProblems();
  if (!parsed.success) {
    // the rest is still checked, as far as the definition can be read, so one answer lists every problem
    problems.schema(parsed.error);
    checkTasks(lenientTasks(definition), userHandlers, params, problems);
    throw problems.error(invalid)!;
  }
  const def = parsed.data;
  const phases: PhaseSpec[] = def.phases.map((phase) => {
    return {
      name: phase.name,
      tasks: phase.tasks.map(
        (task): TaskSpec => ({
          id: task.id,
          description: task.description ?? null,
          handler: task.handler,
          role: task.role,
          input: task.input ?? {},
          dependsOn: task.depends_on,
          timeoutMs: task.timeout,
          retries: task.retries,
          exclusiveFiles: task.exclusive_files,
          estimatedDurationMs: task.estimated_duration,
          risky: task.risky,
          ...(task.handler === 'exec' || task.compensate?.handler === 'exec'
            ? { onRecovery: task.on_recovery ?? def.on_recovery ?? 'adopt' }
            : task.on_recovery === undefined
              ? {}
              : { onRecovery: task.on_recovery }),
          ...(task.when === undefined ? {} : { when: task.when }),
          ...(task.allow_failure ? { allowFailure: true } : {}),
          ...(task.on_failure === 'intervene' ? { onFailure: 'intervene' as const } : {}),
          ...(task.compensate === undefined
            ? {}
            : {
                compensate: {
                  handler: task.compensate.handler,
                  input: task.compensate.input ?? {},
                  timeoutMs: task.compensate.timeout,
                  retries: task.compensate.retries,
                },
              }),
        }),
      ),
    };
  });
  checkTasks(
    phases.flatMap((phase, p) => phase.tasks.map((task, t) => ({ task, phase: p, index: t, phaseName: phase.name, handlerGiven: true }))),
    userHandlers,
    params,
    problems,
  );
  const refused = problems.error(invalid);
  if (refused) throw refused;
  return {
    name: def.name,
    description: def.description ?? null,
    priority: def.priority,
    timeoutMs: def.timeout,
    checkpointIntervalMs: def.checkpoint_interval,
    failureTolerance: def.failure_tolerance,
    durability: def.durability ?? null,
    // only when on: a spec without it (and every checkpoint from before it) means off
    ...(def.checkpoint_files ? { checkpointFiles: true } : {}),
    agentRequirements: {
      minAgents: def.agent_requirements.min_agents,
      maxAgents: def.agent_requirements.max_agents,
      specializedRoles: def.agent_requirements.specialized_roles,
    },
    ...(def.dependencies === undefined || def.dependencies.length === 0 ? {} : { dependencies: def.dependencies }),
    phases,
    ...(params === null ? {} : { params }),
  };
}
