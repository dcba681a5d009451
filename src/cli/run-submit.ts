import { again, runOutput, type CliContext } from './cli-context.js';
import { runWorkflowFile, RUN_EXIT } from './run-command.js';
import type { RunSource } from './run-source.js';
import { supervisorTarget } from './run-target.js';
import type { SocketClient } from './socket-client.js';
import { onSignals } from './signals.js';

/**
 * `troupe run` while a supervisor holds the data directory: the workflow is
 * submitted to it and followed over the control socket. It runs in the
 * supervisor, so Ctrl-C (or closed output) stops only the following, and
 * says how to pick it up again; the exit code is then 130 (141 for output).
 */
export async function submitRun(ctx: CliContext, client: SocketClient, run: { source: RunSource; params: Record<string, string>; id?: string }): Promise<number> {
  const stop = new AbortController();
  const offSignals = onSignals(() => stop.abort());
  const onOutputClosed = () => stop.abort('output');
  ctx.streams.outputClosed.addEventListener('abort', onOutputClosed, { once: true });
  let workflowId: string | null = null;
  let supervisorGone = false;
  // it went away while followed (kill -9, a crash): the workflow is in its data directory, to go on at its next start
  const supervisorWentAway = () => {
    process.stderr.write(`troupe: the supervisor went away${workflowId ? `; ${workflowId} goes on when one starts again (\`${again(ctx, 'serve')}\`)` : ''}\n`);
    return RUN_EXIT.failed;
  };
  void client.closed.then(() => {
    supervisorGone = !stop.signal.aborted;
    stop.abort('gone');
  });
  try {
    const code = await runWorkflowFile(supervisorTarget(client), {
      ...run,
      ...runOutput(ctx),
      onWorkflow: (id) => (workflowId = id),
      signal: stop.signal,
    });
    if (supervisorGone) return supervisorWentAway();
    if (stop.signal.aborted && workflowId !== null) {
      process.stderr.write(
        `\ntroupe: stopped following ${workflowId}; it goes on in the supervisor.\n` +
          `  follow it: ${again(ctx, `watch ${workflowId}`)}   its output: ${again(ctx, `logs ${workflowId} -f`)}\n` +
          `  stop it:   ${again(ctx, 'exec')} '${workflowId} cancel'\n`,
      );
    }
    return stop.signal.reason === 'output' ? 141 : code;
  } catch (error) {
    if (!supervisorGone) throw error;
    return supervisorWentAway();
  } finally {
    offSignals();
    ctx.streams.outputClosed.removeEventListener('abort', onOutputClosed);
    client.close();
  }
}
