import { userInfo } from 'node:os';
import { dataDirLayout, errorResponse, OfflineView, type HubResponse } from '../index.js';
import { again, UsageError, type CliContext } from './cli-context.js';
import { formatResponse } from './format.js';
import { forTheShell } from './shell-steps.js';
import { HelloRefusedError, NotListeningError, SocketClient } from './socket-client.js';
import { onSignals } from './signals.js';
import { watchWorkflow } from './watch.js';

/**
 * The running supervisor of the data directory, or null when none listens.
 * One that refuses this client (another protocol MAJOR version) is a
 * UsageError: the command line says so in a line, exit 2.
 */
export async function connectSupervisor(ctx: CliContext, name: string): Promise<SocketClient | null> {
  try {
    return await SocketClient.connect(dataDirLayout(ctx.dataDir).socket, { name });
  } catch (error) {
    if (error instanceof NotListeningError) return null;
    if (error instanceof HelloRefusedError) throw new UsageError(`the supervisor refused this client: ${error.message}`);
    throw error;
  }
}

/** Prints a response as `--json` or in human form; 0 for a success, 1 for an error. */
function show(ctx: CliContext, response: HubResponse): number {
  process.stdout.write(`${ctx.json ? JSON.stringify(response) : formatResponse(ctx.palette, forTheShell(response, (command) => again(ctx, command)))}\n`);
  return response.status === 'success' ? 0 : 1;
}

/** An answer read from the data directory, in the shape the supervisor gives, so it prints the same. */
function offlineAnswer(operation: string, result: unknown, workflowId?: string): HubResponse {
  return {
    status: 'success',
    operation,
    ...(workflowId === undefined ? {} : { workflow_id: workflowId }),
    timestamp: new Date().toISOString(),
    result,
    metrics: { execution_time: '0ms' },
    next_steps: [],
    warnings: ['no supervisor runs on this data directory: read from its checkpoints and log (start one with `troupe serve`)'],
  };
}

/**
 * Asks the running supervisor, or, when none runs, answers from the data
 * directory with `offline` (read only: no lock taken, nothing written).
 */
async function askOrRead(ctx: CliContext, name: string, command: { operation: string; workflow_id?: string; parameters?: unknown }, offline: (view: OfflineView) => Promise<unknown>): Promise<number> {
  const client = await connectSupervisor(ctx, name);
  if (client) {
    try {
      return show(ctx, await client.execute(command));
    } finally {
      client.close();
    }
  }
  try {
    const view = await OfflineView.open(ctx.dataDir);
    return show(ctx, offlineAnswer(command.operation, await offline(view), command.workflow_id));
  } catch (error) {
    return show(ctx, errorResponse(error, { operation: command.operation, ...(command.workflow_id === undefined ? {} : { workflow_id: command.workflow_id }) }, Date.now()));
  }
}

/** `troupe ls [--status S]`: the workflows of the data directory, one line each. */
export function listWorkflows(ctx: CliContext, status?: string): Promise<number> {
  return askOrRead(ctx, 'ls', { operation: 'list-workflows', ...(status === undefined ? {} : { parameters: { status } }) }, async (view) => {
    const { workflows, unreadable } = await view.list();
    const shown = status === undefined ? workflows : workflows.filter((w) => w.status === status);
    return { workflows: shown, total: shown.length, ...(unreadable.length > 0 ? { unreadable } : {}) };
  });
}

/** `troupe status ID`: the workflow's phase and task tree. */
export function showStatus(ctx: CliContext, workflowId: string): Promise<number> {
  return askOrRead(ctx, 'status', { operation: 'get-status', workflow_id: workflowId, parameters: { include_output: false } }, (view) => view.status(workflowId));
}

/**
 * `troupe watch ID`: the status tree redrawn live until the workflow ends
 * (exit 0 completed, 1 otherwise) or Ctrl-C (130). Live needs a supervisor:
 * without one nothing changes, so the tree is shown once, and the way to go on.
 */
export async function watchFromShell(ctx: CliContext, workflowId: string): Promise<number> {
  const client = await connectSupervisor(ctx, 'watch');
  if (!client) {
    const code = await showStatus(ctx, workflowId);
    if (code === 0) process.stderr.write(`troupe: nothing changes while no supervisor runs; start one (\`${again(ctx, 'serve')}\`) and watch again\n`);
    return code;
  }
  // the first reason to stop wins: Ctrl-C, or the supervisor going away
  const stop = new AbortController();
  const offSignals = onSignals(() => stop.abort('interrupted'));
  void client.closed.then(() => stop.abort('gone'));
  try {
    const status = await watchWorkflow(client, workflowId, ctx.palette, { signal: stop.signal });
    if (stop.signal.reason === 'gone') {
      process.stderr.write('troupe: the supervisor went away\n');
      return 1;
    }
    if (stop.signal.aborted) return 130;
    return status === 'completed' ? 0 : 1;
  } finally {
    offSignals();
    client.close();
  }
}

/** A command that changes a workflow goes to the supervisor that runs it; without one, says how to start it (exit 2). */
async function toSupervisor(ctx: CliContext, name: string, command: { operation: string; workflow_id: string; parameters?: unknown }): Promise<number> {
  const client = await connectSupervisor(ctx, name);
  if (!client) {
    process.stderr.write(
      `troupe: no supervisor runs on ${ctx.dataDir}: ${name} goes to the supervisor that runs the workflow.\n` +
        `  Start it (\`${again(ctx, 'serve')}\`; ${command.workflow_id} comes back as it was), then ${name} again.\n`,
    );
    return 2;
  }
  try {
    return show(ctx, await client.execute(command));
  } finally {
    client.close();
  }
}

/** `troupe pause|resume|cancel ID [--reason TEXT]`, through the running supervisor. */
export function changeWorkflow(ctx: CliContext, operation: 'pause' | 'resume' | 'cancel', workflowId: string, reason?: string): Promise<number> {
  return toSupervisor(ctx, operation, { operation, workflow_id: workflowId, ...(reason === undefined ? {} : { parameters: { reason } }) });
}

/**
 * `troupe approve ID TASK` and `troupe reject ID TASK`: answers an approval
 * gate through the running supervisor (an answer changes the workflow, so
 * it needs the supervisor that runs it). `by` defaults to the login name.
 */
export function answerApproval(ctx: CliContext, approved: boolean, workflowId: string, taskId: string, options: { by?: string; comment?: string; reason?: string }): Promise<number> {
  const by = options.by ?? userInfo().username;
  const parameters = approved
    ? { task_id: taskId, by, ...(options.comment === undefined ? {} : { comment: options.comment }) }
    : { task_id: taskId, by, ...(options.reason === undefined ? {} : { reason: options.reason }) };
  const operation = approved ? 'approve' : 'reject';
  return toSupervisor(ctx, operation, { operation, workflow_id: workflowId, parameters });
}
