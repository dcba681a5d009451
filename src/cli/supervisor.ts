import { ControlSocket, dataDirLayout, formatDuration } from '../index.js';
import { createConfiguredHub } from './config-errors.js';
import { runOutput, type CliContext } from './cli-context.js';
import { runRepl, runScript } from './repl.js';
import { runWorkflowFile, RUN_EXIT } from './run-command.js';
import { localTarget } from './run-target.js';
import type { RunSource } from './run-source.js';
import { LocalTarget } from './socket-client.js';
import { OUTPUT_CLOSED_EXIT } from './output-guard.js';
import { onSignals, SHUTDOWN_SIGNALS, type ShutdownSignal } from './signals.js';

/** What a supervisor of this process does besides listening on the control socket. */
export type SupervisorMode = { kind: 'repl' } | { kind: 'serve' } | { kind: 'run'; source: RunSource; params: Record<string, string>; id?: string; resumeHint: (id: string) => string };

/**
 * Opens the data directory with a hub of this process, listens on its
 * control socket (so `attach`, `exec` and the shell-side commands reach it)
 * and runs the mode: the REPL (or, with standard input not a terminal, one
 * JSON response per line), `serve` until a signal, or `run` one workflow to
 * its end. A signal or closed output shuts the hub down gracefully; the exit
 * code is then the signal's (141 for closed output).
 */
export async function runSupervisor(ctx: CliContext, mode: SupervisorMode): Promise<number> {
  const { dataDir, streams } = ctx;
  // an option the hub refuses is reported with the configuration's key name, exit 2
  const hub = createConfiguredHub({ ...ctx.hubOptions, dataDir }, ctx.configPath);
  if (!hub) return 2;
  try {
    await hub.ready;
  } catch (error) {
    await hub.close();
    const known = error as { code?: string; message?: string; details?: string };
    process.stderr.write(`troupe: ${known.code ?? 'ERROR'}: ${known.message ?? String(error)}${known.details ? `\n  ${known.details}` : ''}\n`);
    return 2;
  }
  let runningId: string | null = null;
  // a signal, or output that can no longer be written, shuts the hub down while the mode's loop is
  // still running; the exit code is the signal's (141, SIGPIPE's, for closed output)
  let interrupted: { reason: ShutdownSignal | 'EPIPE'; shutdown: Promise<void> } | null = null;
  const stopReading = new AbortController();
  const interrupt = (reason: ShutdownSignal | 'EPIPE') => {
    if (interrupted) return;
    if (reason !== 'EPIPE') {
      process.stderr.write(`\ntroupe: ${reason}, shutting down (running tasks get up to ${formatDuration(hub.shutdownGraceMs)} to finish)\n`);
      if (mode.kind === 'run' && runningId !== null) process.stderr.write(`troupe: ${runningId} stops here; go on with it later: ${mode.resumeHint(runningId)}\n`);
    }
    interrupted = { reason, shutdown: hub.close() };
    // the REPL and script loops read standard input: close them, so they stop once the hub is closed
    stopReading.abort();
  };
  const offSignals = onSignals(interrupt);
  // EIO: the terminal went away (a hang-up, whichever arrives first); EPIPE and the rest: the reader did
  const onOutputClosed = () => interrupt((streams.outputClosed.reason as { code?: unknown } | undefined)?.code === 'EIO' ? 'SIGHUP' : 'EPIPE');
  if (streams.outputClosed.aborted) onOutputClosed();
  else streams.outputClosed.addEventListener('abort', onOutputClosed, { once: true });
  // input that fails (a closed terminal) ends like input that ends
  streams.inputFailed.addEventListener('abort', () => stopReading.abort(), { once: true });
  let socket: ControlSocket | null = null;
  try {
    // `serve` has no REPL on its terminal: connections the socket refuses or closes are told there too
    socket = await ControlSocket.listen(hub, dataDirLayout(dataDir).socket, mode.kind === 'serve' ? { log: (line) => process.stderr.write(`${line}\n`) } : {});
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (mode.kind === 'serve') {
      process.stderr.write(`troupe: cannot listen on the control socket: ${message}\n`);
      await hub.close();
      offSignals();
      return 2;
    }
    process.stderr.write(`troupe: warning: no control socket (${message}); attach and exec will not reach this supervisor\n`);
  }
  let code: number;
  try {
    if (mode.kind === 'serve') {
      process.stderr.write(`troupe: serving ${dataDir} on ${socket!.path} (pid ${process.pid}); stop with Ctrl-C or SIGTERM\n`);
      await new Promise<void>((resolve) => stopReading.signal.addEventListener('abort', () => resolve(), { once: true }));
      code = 0;
    } else if (mode.kind === 'run') {
      code = await runWorkflowFile(localTarget(hub), {
        source: mode.source,
        params: mode.params,
        ...(mode.id === undefined ? {} : { id: mode.id }),
        ...runOutput(ctx),
        onWorkflow: (id) => (runningId = id),
        signal: stopReading.signal,
      });
    } else if (!process.stdin.isTTY) {
      code = await runScript(new LocalTarget(hub), process.stdin, process.stdout, stopReading.signal);
    } else {
      code = await runRepl(new LocalTarget(hub), { dataDir, json: ctx.json, palette: ctx.palette, signal: stopReading.signal });
    }
  } catch (error) {
    process.stderr.write(`troupe: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    code = mode.kind === 'run' ? RUN_EXIT.badInput : 1;
  }
  await socket?.close();
  const stopped = interrupted as { reason: ShutdownSignal | 'EPIPE'; shutdown: Promise<void> } | null;
  if (stopped) {
    await stopped.shutdown;
    // SIGINT and SIGTERM are how `serve` is meant to stop; for the others, and a hang-up or closed
    // output for every mode, it cut the work short
    if (stopped.reason === 'EPIPE') code = OUTPUT_CLOSED_EXIT;
    else code = mode.kind === 'serve' && stopped.reason !== 'SIGHUP' ? 0 : SHUTDOWN_SIGNALS[stopped.reason];
  } else {
    await hub.close();
  }
  offSignals();
  return code;
}
