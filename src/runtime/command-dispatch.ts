import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { commandSchema, isOperation, OPERATIONS, type HubResponse } from './commands.js';
import { formatDuration } from './durations.js';
import { TroupeError } from './errors.js';
import type { Session } from './events/subscriptions.js';
import { suggestOperation } from './help.js';
import { unknownKeyHints } from './suggest.js';
import type { HubState } from './hub-state.js';
import { checkNesting } from './nesting.js';
import { operationHandler } from './operations.js';
import { errorResponse } from './responses.js';

/** Operations that change a workflow: the events they cause carry their correlation id. */
const MUTATING: ReadonlySet<string> = new Set(['start', 'pause', 'resume', 'cancel', 'complete', 'cleanup', 'restore', 'rollback', 'checkpoint', 'set-priority', 'retry-task', 'skip-task', 'approve', 'reject']);

/**
 * The hub's one entry for commands (the REPL, the socket and the API all come
 * through it): checks the command at the boundary (nesting, envelope, the
 * operation's zod schema, the workflow id it needs), runs its handler once
 * the hub is ready, and answers the response envelope, success or coded
 * error, counting it for `health` and `metrics`.
 */
export function commandResponder(state: HubState, ready: Promise<void>, isClosed: () => boolean): (command: unknown, session?: Session) => Promise<HubResponse> {
  const record = (started: number, failed: boolean, session?: Session) => {
    const ms = performance.now() - started;
    // a registered component's activity is its requests
    if (session) state.components.activity(session, state.clock.now(), ms, failed);
    state.stats.commands++;
    if (failed) state.stats.errors++;
    state.stats.totalMs += ms;
    state.stats.lastCommandAt = state.clock.now();
    state.health.commands.record(state.clock.now(), ms, !failed);
  };

  const respond = async (command: unknown, session?: Session): Promise<HubResponse> => {
    const started = performance.now();
    const raw = (typeof command === 'object' && command !== null ? command : {}) as Record<string, unknown>;
    const operation = typeof raw.operation === 'string' ? raw.operation : '';
    const workflowId = typeof raw.workflow_id === 'string' ? raw.workflow_id : undefined;
    const envelope = { operation, ...(workflowId === undefined ? {} : { workflow_id: workflowId }) };
    try {
      if (isClosed()) throw new TroupeError('HUB_CLOSED', 'The hub is shutting down and takes no more commands');
      await ready;
      // before zod, the handlers, the codec or JSON walk it: each of them recurses per level
      checkNesting(raw.parameters, 'parameters');
      const parsed = commandSchema.safeParse(command);
      if (!parsed.success) {
        throw new TroupeError('VALIDATION_FAILED', 'The command is malformed', { details: z.prettifyError(parsed.error) });
      }
      const { operation: name, parameters } = parsed.data;
      if (!isOperation(name)) {
        const guess = suggestOperation(name);
        throw new TroupeError('UNKNOWN_OPERATION', `Unknown operation ${name}`, {
          details: guess ? `Did you mean ${guess}?` : "No operation has that name; 'help' lists them",
        });
      }
      const spec = OPERATIONS[name];
      const handler = operationHandler(name);
      if (!spec.available || !handler) {
        throw new TroupeError('NOT_IMPLEMENTED', `Operation ${name} is part of the contract but not available in this version`, {
          details: `${spec.summary}: planned; 'help' marks what works now`,
        });
      }
      if (spec.workflow === 'required' && workflowId === undefined) {
        throw new TroupeError('WORKFLOW_ID_REQUIRED', `Operation ${name} needs a workflow id`, { details: `Usage: <workflow-id> ${name} [params]` });
      }
      const params = spec.params.safeParse(parameters ?? {});
      if (!params.success) {
        const hints = unknownKeyHints(spec.help ?? spec.params, params.error);
        throw new TroupeError('VALIDATION_FAILED', `Invalid parameters for ${name}`, {
          details: [z.prettifyError(params.error), ...hints].join('\n'),
          suggestions: [`'help ${name}' lists its parameters`],
        });
      }
      // the events a command causes carry its id; commands that change nothing leave it alone
      state.correlationId = parsed.data.correlation_id ?? null;
      const entry = workflowId === undefined ? undefined : state.workflows.get(workflowId);
      if (entry && MUTATING.has(name)) entry.correlationId = state.correlationId;
      const { result, next_steps, warnings, metrics } = await handler(state, workflowId, params.data, parameters ?? {}, session);
      record(started, false, session);
      return {
        status: 'success',
        ...envelope,
        timestamp: new Date(state.clock.now()).toISOString(),
        result,
        metrics: { execution_time: formatDuration(performance.now() - started), ...metrics },
        next_steps,
        ...(warnings && warnings.length > 0 ? { warnings } : {}),
      };
    } catch (error) {
      record(started, true, session);
      return errorResponse(error, envelope, state.clock.now());
    }
  };

  return respond;
}
