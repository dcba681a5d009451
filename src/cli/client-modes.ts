import { dataDirLayout } from '../index.js';
import type { Palette } from './format.js';
import { answerLine, runRepl, runScript } from './repl.js';
import { newLineContext } from './correlate.js';
import { HelloRefusedError, NotListeningError, SocketClient } from './socket-client.js';
import { OUTPUT_CLOSED_EXIT } from './output-guard.js';

async function connectOrExplain(dataDir: string, name: 'exec' | 'attach'): Promise<SocketClient | null> {
  const path = dataDirLayout(dataDir).socket;
  try {
    return await SocketClient.connect(path, { name });
  } catch (error) {
    if (error instanceof HelloRefusedError) {
      process.stderr.write(`troupe: the supervisor on ${path} refused this client: ${error.message}\n`);
      return null;
    }
    if (!(error instanceof NotListeningError)) throw error;
    process.stderr.write(`troupe: ${error.message}\n  Start one with \`troupe serve --data-dir ${dataDir}\` (or \`troupe\`), or pass the --data-dir it uses.\n`);
    return null;
  }
}

/**
 * `troupe exec LINE...`: sends each line to the running supervisor and prints
 * one JSON response per line; exit 0 only when every response is a success,
 * 2 when no supervisor listens. When standard output closes (`outputClosed`:
 * its reader went away) no further line is sent, and the exit code is 141.
 */
export async function runExec(dataDir: string, lines: string[], outputClosed?: AbortSignal): Promise<number> {
  const client = await connectOrExplain(dataDir, 'exec');
  if (!client) return 2;
  let failed = false;
  // `troupe exec 'correlate corr_1' 'wf_1 start'`: the lines share one session context
  const context = newLineContext();
  try {
    for (const line of lines) {
      if (outputClosed?.aborted) return OUTPUT_CLOSED_EXIT;
      const response = await answerLine(client, line, context);
      if (!response) continue;
      failed ||= response.status === 'error';
      process.stdout.write(`${JSON.stringify(response)}\n`);
    }
  } finally {
    client.close();
  }
  // the last write's EPIPE arrives a turn after the write
  await new Promise((resolve) => setImmediate(resolve));
  return outputClosed?.aborted ? OUTPUT_CLOSED_EXIT : failed ? 1 : 0;
}

/** How an attached session's connection ended, when the supervisor ended it. */
type Ending = 'shutdown' | 'closed' | 'vanished';

/** What the user is told about the end; whether it is an error (exit 1). */
function endingNotice(client: SocketClient): { ending: Ending; text: string } {
  if (client.closeCode === 'HUB_CLOSED') return { ending: 'shutdown', text: 'the supervisor shut down' };
  if (client.closeReason) return { ending: 'closed', text: `the supervisor closed this connection: ${client.closeReason}` };
  return { ending: 'vanished', text: 'the supervisor went away unexpectedly: the connection ended without its shutdown notice (was it killed, or did it crash?)' };
}

/**
 * `troupe attach`: the REPL (or script mode), over the running supervisor's socket. It ends when
 * the supervisor does: exit as the session would (0, or 1 after a failed line in script mode) when
 * the supervisor said it shuts down; 1 when the connection ended otherwise (closed for a reason,
 * or without a word: the supervisor was killed or crashed); 141 when standard output closes.
 */
export async function runAttach(dataDir: string, options: { json: boolean; palette: Palette; outputClosed?: AbortSignal }): Promise<number> {
  const client = await connectOrExplain(dataDir, 'attach');
  if (!client) return 2;
  const gone = new AbortController();
  let ending: Ending | null = null;
  options.outputClosed?.addEventListener('abort', () => gone.abort(), { once: true });
  void client.closed.then(() => {
    if (gone.signal.aborted) return;
    const notice = endingNotice(client);
    ending = notice.ending;
    if (ending === 'shutdown') process.stdout.write(options.palette.dim(`\n(${notice.text})\n`));
    else process.stderr.write(`\ntroupe: ${notice.text}\n`);
    gone.abort();
  });
  try {
    // like `troupe`: with standard input not a terminal, one JSON response per line
    const code = !process.stdin.isTTY
      ? await runScript(client, process.stdin, process.stdout, gone.signal)
      : // seed completion with the workflows the supervisor holds
        await client.execute({ operation: 'list-workflows' }).then(() =>
          runRepl(client, { dataDir, json: options.json, palette: options.palette, signal: gone.signal, banner: `attached to ${dataDirLayout(dataDir).socket}` }),
        );
    if (options.outputClosed?.aborted) return OUTPUT_CLOSED_EXIT;
    return ending !== null && ending !== 'shutdown' ? 1 : code;
  } finally {
    gone.abort();
    client.close();
  }
}
