import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { appendFilePrivate, errorResponse, helpFor, isOperation, mkdirPrivate, OPERATION_NAMES, type EventRecord, type HubResponse } from '../index.js';
import { formatEvent, formatResponse, type Palette } from './format.js';
import { LineAssembler, lineToCommand, splitLine } from './parse-line.js';
import { watchWorkflow } from './watch.js';
import { correlateLine, newLineContext, type LineContext } from './correlate.js';
import { sessionCommand, sessionHelp, SESSION_COMMANDS } from './session-commands.js';
import type { CommandTarget } from './socket-client.js';

/**
 * Runs one REPL line: parse, execute, answer. Parse errors come back as error
 * responses too. `context` is the session's: `correlate ID` sets the
 * correlation id the commands after it carry.
 */
export async function answerLine(hub: CommandTarget, line: string, context: LineContext = newLineContext()): Promise<HubResponse | null> {
  try {
    const own = correlateLine(line, context, Date.now());
    if (own) return own;
    const command = await lineToCommand(line);
    // `help watch`: the session's own commands are described here, the hub knows only its operations
    const asked = command?.operation === 'help' ? (command.parameters as { operation?: unknown } | undefined)?.operation : undefined;
    const session = typeof asked === 'string' && !isOperation(asked) ? sessionCommand(asked) : undefined;
    if (session) return sessionHelp(session, Date.now());
    if (command && context.correlationId !== null) command.correlation_id ??= context.correlationId;
    return command ? await hub.execute(command) : null;
  } catch (error) {
    const parts = splitLine(line);
    const envelope = { operation: parts?.operation ?? '', ...(parts?.workflowId ? { workflow_id: parts.workflowId } : {}) };
    return errorResponse(error, envelope, Date.now());
  }
}

const QUIT = new Set(['quit', 'exit', '.exit']);

/**
 * Script mode: standard input is not a terminal. Reads one line at a time
 * (a line is answered before the next is handled) and prints one JSON
 * response per line. Returns 0 when every response was a success.
 */
export async function runScript(hub: CommandTarget, input: NodeJS.ReadableStream, output: NodeJS.WritableStream, signal?: AbortSignal): Promise<number> {
  const lines = createInterface({ input, crlfDelay: Infinity, ...(signal ? { signal } : {}) });
  // events of this session's subscriptions come between the responses, as their own JSON lines
  hub.onEvent = (subscriptionId, event) => output.write(`${JSON.stringify({ subscription_id: subscriptionId, event })}\n`);
  let failed = false;
  const context = newLineContext();
  // one line, one command: a script's bad line must not swallow the lines after it (the REPL,
  // where a person sees the `...>` prompt, is where JSON may span lines)
  for await (const line of lines) {
    if (QUIT.has(line.trim())) break;
    const response = await answerLine(hub, line, context);
    if (!response) continue;
    failed ||= response.status === 'error';
    output.write(`${JSON.stringify(response)}\n`);
  }
  return failed ? 1 : 0;
}

/** Completes operation names and workflow ids at the start of a line, and parameter keys inside `{…}`. */
function completer(hub: CommandTarget) {
  return (line: string): [string[], string] => {
    const brace = line.indexOf('{');
    if (brace !== -1) {
      const parts = splitLine(line.slice(0, brace));
      const keys = parts && isOperation(parts.operation) ? parameterKeys(parts.operation) : [];
      // the key being typed: after `{`, `,` or a space, with or without its opening quote
      const typed = /[{,\s]"?([A-Za-z_]*)$/.exec(line)?.[0].replace(/^[{,\s]/, '') ?? '';
      const hits = keys.map((k) => `"${k}":`).filter((k) => k.startsWith(typed.startsWith('"') ? typed : `"${typed}`));
      return [hits, typed];
    }
    const words = line.split(/\s+/);
    const last = words.at(-1) ?? '';
    const pool = words.length <= 2 ? [...OPERATION_NAMES, ...hub.workflowIds(), ...SESSION_COMMANDS.map((c) => c.name)] : [];
    const hits = pool.filter((c) => c.startsWith(last));
    return [hits.length > 0 ? hits : pool, last];
  };
}

/** The parameter names of an operation, from its zod schema (as `help` shows them). */
function parameterKeys(operation: string): string[] {
  const help = helpFor(operation) as { parameters?: { name: string }[] };
  return (help.parameters ?? []).map((p) => p.name);
}

/**
 * The interactive REPL: a prompt, human output (or JSON with `--json`),
 * history kept in the data directory, tab completion, `quit` to leave.
 * Ctrl-C clears the line; twice on an empty line leaves.
 */
export async function runRepl(hub: CommandTarget, options: { dataDir: string; json: boolean; palette: Palette; signal?: AbortSignal; banner?: string }): Promise<number> {
  const historyFile = join(options.dataDir, 'repl_history');
  await mkdirPrivate(options.dataDir);
  const history = (await readFile(historyFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).reverse().slice(0, 500);
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    prompt: options.palette.bold('troupe> '),
    completer: completer(hub),
    history,
    historySize: 500,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const p = options.palette;
  process.stdout.write(`${p.bold('troupe')}${options.banner ? ` ${options.banner}` : ''} — type ${p.cyan('help')} for the operations, ${p.cyan('quit')} to leave.\n`);
  process.stdout.write(p.dim(`e.g.  wf_1 create @examples/hello.yaml   then   wf_1 start   and   wf_1 get-status\n`));
  let interrupts = 0;
  // while `watch` draws, a key (Ctrl-C too) stops it and nothing else may write into its frame: events wait in `held`
  let watching = false;
  const held: string[] = [];
  const assembler = new LineAssembler();
  const context = newLineContext();
  // what waits for a person is said above the prompt as it happens, and at start for what already waits
  const people = await watchForPeople(hub, p);
  // a subscribed event is printed above the prompt, and the line being typed is drawn again
  hub.onEvent = (id, event) => {
    const text = id === people ? personLine(p, event) : options.json ? JSON.stringify(event) : formatEvent(p, event);
    if (text === null) return;
    if (watching) {
      held.push(text);
      return;
    }
    process.stdout.write(`\r\u001b[K${text}\n`);
    rl.prompt(true);
  };
  rl.on('SIGINT', () => {
    if (watching) return;
    if (assembler.pending) {
      assembler.reset();
      rl.setPrompt(p.bold('troupe> '));
    }
    if (rl.line.length > 0 || interrupts === 0) {
      interrupts = rl.line.length > 0 ? 0 : 1;
      process.stdout.write(p.dim(rl.line.length > 0 ? '\n(line cleared)\n' : '\n(press Ctrl-C again or type quit to leave)\n'));
      rl.write(null, { ctrl: true, name: 'u' });
      rl.prompt();
      return;
    }
    rl.close();
  });
  rl.prompt();
  for await (const part of rl) {
    interrupts = 0;
    if (!assembler.pending && QUIT.has(part.trim())) break;
    const line = assembler.push(part);
    if (line === null) {
      rl.setPrompt(p.dim('...> '));
      rl.prompt();
      continue;
    }
    rl.setPrompt(p.bold('troupe> '));
    const watched = /^watch\s+(\S+)\s*$/.exec(line.trim());
    if (watched) {
      watching = true;
      await watchWorkflow(hub, watched[1]!, p, { stopOnKey: true }).finally(() => (watching = false));
      for (const text of held.splice(0)) process.stdout.write(`${text}\n`);
      // the key that stopped the watch also reached readline's line: drop it
      rl.write(null, { ctrl: true, name: 'u' });
      rl.prompt();
      continue;
    }
    if (line.trim() !== '') await appendFilePrivate(historyFile, `${line}\n`).catch(() => {});
    const response = await answerLine(hub, line, context);
    if (response) process.stdout.write(`${options.json ? JSON.stringify(response, null, 2) : formatResponse(p, response)}\n`);
    rl.prompt();
  }
  rl.close();
  return 0;
}

/**
 * Subscribes this session to what needs a person (approval requests,
 * interventions) and prints what already waits; returns the subscription id
 * (null when the hub refused it: the REPL works without).
 */
async function watchForPeople(hub: CommandTarget, p: Palette): Promise<string | null> {
  const pending = await hub.execute({ operation: 'approvals' });
  if (pending.status === 'success') {
    for (const a of (pending.result as { approvals: { workflow_id: string; task_id: string; prompt: string; approve: string }[] }).approvals) {
      process.stdout.write(`${p.yellow(`⌛ ${a.workflow_id}/${a.task_id} waits for approval: ${a.prompt}`)}  ${p.dim(a.approve)}\n`);
    }
  }
  const subscribed = await hub.execute({ operation: 'subscribe-event', parameters: { patterns: ['APPROVAL_REQUESTED.#', 'ERROR_ENCOUNTERED.#'] } });
  return subscribed.status === 'success' ? String((subscribed.result as { subscription_id: string }).subscription_id) : null;
}

/** The line above the prompt for an event that needs a person, or null for one that does not. */
function personLine(p: Palette, event: EventRecord): string | null {
  if (event.event_type === 'APPROVAL_REQUESTED') {
    return `${p.yellow(`⌛ ${event.workflow_id}/${String(event.data.task_id)} waits for approval: ${String(event.data.prompt)}`)}  ${p.dim(String(event.data.approve))}`;
  }
  if (event.event_type === 'ERROR_ENCOUNTERED' && event.data.manual_intervention_required === true) {
    const options = (event.data.options as string[] | undefined) ?? [];
    return `${p.yellow(`✋ ${event.workflow_id}/${String(event.data.task_id)} failed and waits for a person`)}  ${p.dim(options.slice(0, 2).join('  |  '))}`;
  }
  return null;
}
