import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ControlSocket, dataDirLayout, formatDuration, type HubOptions } from '../index.js';
import { runCheck } from './check-command.js';
import { createConfiguredHub } from './config-errors.js';
import { runAttach, runExec } from './client-modes.js';
import { LocalTarget } from './socket-client.js';
import { findConfig, loadConfig, type ConfigFile } from './config-file.js';
import { createPalette } from './format.js';
import { runRepl, runScript } from './repl.js';
import { runWorkflowFile, RUN_EXIT } from './run-command.js';
import { paramPairs } from './run-source.js';
import { runLogs } from './logs-command.js';
import { guardStreams, OUTPUT_CLOSED_EXIT } from './output-guard.js';

const USAGE = `usage:
  troupe                     supervisor + interactive REPL (reads commands from stdin when it is not a terminal)
  troupe serve               supervisor without a REPL, on the control socket <data-dir>/troupe.sock
  troupe attach              REPL connected to the running supervisor (several at once)
  troupe exec LINE...        send command lines to the running supervisor, one JSON response per line;
                             exit 0 only when every response is a success
  troupe run FILE [--id ID]  create and start the workflow in FILE, show progress;
                             exit 0 completed, 1 failed or cancelled, 2 bad input
  troupe run --template NAME [--param KEY=VALUE]... [--id ID]
                             the same for a template (list them: troupe exec list-templates, or the
                             REPL); --param also sets a FILE's declared params
  troupe logs ID [TASK]      what the workflow's tasks printed (per attempt; --attempt N, --tail N),
                             through the running supervisor or from the data directory; -f follows
options:
  --data-dir DIR   data directory (env TROUPE_DATA_DIR, default ./.troupe)
  --config FILE    configuration, JSON or YAML (default: troupe.config.{json,yaml,yml} here if present)
  --json           print raw JSON responses
  --no-color       no ANSI colours (NO_COLOR is respected too)
  -h, --help       this text
  -v, --version    the version
  troupe check               restore every stored checkpoint against this version and read the log,
                             run nothing, report each verdict; exit 0 when every workflow can recover
                             and the log is whole (a torn tail alone is what a crash leaves)
every supervisor mode (troupe, serve, run) listens on the control socket`;

/** The signals that shut a supervisor down gracefully, and the exit code each leaves (128 + its number). */
const SHUTDOWN_SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type ShutdownSignal = keyof typeof SHUTDOWN_SIGNALS;

/**
 * Shuts the hub down once on SIGINT, SIGTERM or SIGHUP (a closed terminal:
 * without a handler it would end the process at once, leaving the lock, the
 * socket and running `exec` children); returns a function that removes the handlers.
 */
function onSignals(shutdown: (signal: ShutdownSignal) => void): () => void {
  const handler = (signal: NodeJS.Signals) => shutdown(signal as ShutdownSignal);
  for (const signal of Object.keys(SHUTDOWN_SIGNALS)) process.on(signal, handler);
  return () => {
    for (const signal of Object.keys(SHUTDOWN_SIGNALS)) process.off(signal, handler);
  };
}

/** The `troupe` command line. Resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'data-dir': { type: 'string' },
        config: { type: 'string' },
        id: { type: 'string' },
        template: { type: 'string' },
        param: { type: 'string', multiple: true },
        follow: { type: 'boolean', short: 'f', default: false },
        attempt: { type: 'string' },
        tail: { type: 'string' },
        json: { type: 'boolean', default: false },
        'no-color': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`troupe: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  // a reader that goes away (EPIPE) or a closed terminal (EIO) ends output quietly, never with a crash
  const streams = guardStreams();
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version) {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`troupe ${pkg.version}\n`);
    return 0;
  }
  const [mode, ...rest] = positionals;
  if (mode !== 'run' && (values.template !== undefined || values.param !== undefined)) {
    process.stderr.write(`troupe: --template and --param are options of run\n${USAGE}\n`);
    return 2;
  }
  let params: Record<string, string> = {};
  try {
    params = paramPairs(values.param ?? []);
  } catch (error) {
    process.stderr.write(`troupe: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const color = !values['no-color'] && !process.env.NO_COLOR && process.stdout.isTTY === true;
  const palette = createPalette(color);
  const configPath = await findConfig(values.config);
  let options: HubOptions;
  let config: ConfigFile;
  try {
    ({ config, hub: options } = await loadConfig(configPath));
  } catch (error) {
    const message = error instanceof z.ZodError ? z.prettifyError(error) : error instanceof Error ? error.message : String(error);
    process.stderr.write(`troupe: invalid configuration ${configPath}: ${message}\n`);
    return 2;
  }
  const dataDir = resolve(values['data-dir'] ?? process.env.TROUPE_DATA_DIR ?? config.data_dir ?? '.troupe');

  if (mode === 'check') return runCheck(dataDir, values.json, palette);
  if (mode === 'logs') {
    const [workflowId, taskId, ...extra] = rest;
    const attempt = values.attempt === undefined ? undefined : Number(values.attempt);
    const tail = values.tail === undefined ? 100 : Number(values.tail);
    if (!workflowId || extra.length > 0 || (attempt !== undefined && !(Number.isInteger(attempt) && attempt >= 1)) || !(Number.isInteger(tail) && tail >= 1)) {
      process.stderr.write(`troupe: logs takes a workflow id and optionally a task id; --attempt and --tail are whole numbers from 1\n${USAGE}\n`);
      return 2;
    }
    const stop = new AbortController();
    const offSignals = onSignals(() => stop.abort());
    try {
      return await runLogs(dataDir, { workflowId, ...(taskId === undefined ? {} : { taskId }), ...(attempt === undefined ? {} : { attempt }), tail, follow: values.follow, palette, out: process.stdout, signal: stop.signal });
    } finally {
      offSignals();
    }
  }
  if (mode === 'exec') {
    if (rest.length === 0) {
      process.stderr.write(`troupe: exec takes one or more command lines\n${USAGE}\n`);
      return 2;
    }
    return runExec(dataDir, rest, streams.outputClosed);
  }
  if (mode === 'attach') return runAttach(dataDir, { json: values.json, palette, outputClosed: streams.outputClosed });
  if (mode !== undefined && mode !== 'run' && mode !== 'serve') {
    process.stderr.write(`troupe: unknown command '${mode}'\n${USAGE}\n`);
    return 2;
  }
  if (mode === 'run' && rest.length !== (values.template === undefined ? 1 : 0)) {
    const what = values.template === undefined ? `one workflow file, got ${rest.length}` : 'a template or a workflow file, not both';
    process.stderr.write(`troupe: run takes ${what}\n${USAGE}\n`);
    return 2;
  }

  const hub = createConfiguredHub({ ...options, dataDir }, configPath);
  if (!hub) return 2;
  try {
    await hub.ready;
  } catch (error) {
    await hub.close();
    const known = error as { code?: string; message?: string; details?: string };
    process.stderr.write(`troupe: ${known.code ?? 'ERROR'}: ${known.message ?? String(error)}${known.details ? `\n  ${known.details}` : ''}\n`);
    return 2;
  }
  // a signal, or output that can no longer be written, shuts the hub down while the mode's loop is
  // still running; the exit code is the signal's (141, SIGPIPE's, for closed output)
  let interrupted: { reason: ShutdownSignal | 'EPIPE'; shutdown: Promise<void> } | null = null;
  const stopReading = new AbortController();
  const interrupt = (reason: ShutdownSignal | 'EPIPE') => {
    if (interrupted) return;
    if (reason !== 'EPIPE') process.stderr.write(`\ntroupe: ${reason}, shutting down (running tasks get up to ${formatDuration(hub.shutdownGraceMs)} to finish)\n`);
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
  // every supervisor mode listens on the control socket, so `troupe attach` and `troupe exec` reach it
  let socket: ControlSocket | null = null;
  try {
    // `serve` has no REPL on its terminal: connections the socket refuses or closes are told there too
    socket = await ControlSocket.listen(hub, dataDirLayout(dataDir).socket, mode === 'serve' ? { log: (line) => process.stderr.write(`${line}\n`) } : {});
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (mode === 'serve') {
      process.stderr.write(`troupe: cannot listen on the control socket: ${message}\n`);
      await hub.close();
      offSignals();
      return 2;
    }
    process.stderr.write(`troupe: warning: no control socket (${message}); attach and exec will not reach this supervisor\n`);
  }
  let code: number;
  try {
    if (mode === 'serve') {
      process.stderr.write(`troupe: serving ${dataDir} on ${socket!.path} (pid ${process.pid}); stop with Ctrl-C or SIGTERM\n`);
      await new Promise<void>((resolve) => stopReading.signal.addEventListener('abort', () => resolve(), { once: true }));
      code = 0;
    } else if (mode === 'run') {
      code = await runWorkflowFile(hub, {
        source: values.template === undefined ? { file: rest[0]! } : { template: values.template },
        params,
        ...(values.id === undefined ? {} : { id: values.id }),
        json: values.json,
        palette,
        out: process.stdout,
        execPrefix: values['data-dir'] === undefined && process.env.TROUPE_DATA_DIR === undefined ? 'troupe exec' : `troupe exec --data-dir ${JSON.stringify(dataDir)}`,
      });
    } else if (!process.stdin.isTTY) {
      code = await runScript(new LocalTarget(hub), process.stdin, process.stdout, stopReading.signal);
    } else {
      code = await runRepl(new LocalTarget(hub), { dataDir, json: values.json, palette, signal: stopReading.signal });
    }
  } catch (error) {
    process.stderr.write(`troupe: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    code = mode === 'run' ? RUN_EXIT.badInput : 1;
  }
  await socket?.close();
  const stopped = interrupted as { reason: ShutdownSignal | 'EPIPE'; shutdown: Promise<void> } | null;
  if (stopped) {
    await stopped.shutdown;
    // SIGINT and SIGTERM are how `serve` is meant to stop; for the others, and a hang-up or closed
    // output for every mode, it cut the work short
    if (stopped.reason === 'EPIPE') code = OUTPUT_CLOSED_EXIT;
    else code = mode === 'serve' && stopped.reason !== 'SIGHUP' ? 0 : SHUTDOWN_SIGNALS[stopped.reason];
  } else {
    await hub.close();
  }
  offSignals();
  return code;
}
