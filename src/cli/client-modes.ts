import { dataDirLayout } from '../index.js';
import type { Palette } from './format.js';
import { answerLine, runRepl, runScript } from './repl.js';
import { NotListeningError, SocketClient } from './socket-client.js';

async function connectOrExplain(dataDir: string): Promise<SocketClient | null> {
  const path = dataDirLayout(dataDir).socket;
  try {
    return await SocketClient.connect(path);
  } catch (error) {
    if (!(error instanceof NotListeningError)) throw error;
    process.stderr.write(`troupe: ${error.message}\n  Start one with \`troupe serve --data-dir ${dataDir}\` (or \`troupe\`), or pass the --data-dir it uses.\n`);
    return null;
  }
}

/**
 * `troupe exec LINE...`: sends each line to the running supervisor and prints
 * one JSON response per line; exit 0 only when every response is a success,
 * 2 when no supervisor listens.
 */
export async function runExec(dataDir: string, lines: string[]): Promise<number> {
  const client = await connectOrExplain(dataDir);
  if (!client) return 2;
  let failed = false;
  try {
    for (const line of lines) {
      const response = await answerLine(client, line);
      if (!response) continue;
      failed ||= response.status === 'error';
      process.stdout.write(`${JSON.stringify(response)}\n`);
    }
  } finally {
    client.close();
  }
  return failed ? 1 : 0;
}

/** `troupe attach`: the REPL (or script mode), over the running supervisor's socket; it ends when the supervisor does. */
export async function runAttach(dataDir: string, options: { json: boolean; palette: Palette }): Promise<number> {
  const client = await connectOrExplain(dataDir);
  if (!client) return 2;
  const gone = new AbortController();
  void client.closed.then(() => {
    if (gone.signal.aborted) return;
    process.stdout.write(options.palette.dim(`\n(${client.closeReason ? `the supervisor closed this connection: ${client.closeReason}` : 'the supervisor shut down'})\n`));
    gone.abort();
  });
  try {
    // like `troupe`: with standard input not a terminal, one JSON response per line
    if (!process.stdin.isTTY) return await runScript(client, process.stdin, process.stdout, gone.signal);
    // seed completion with the workflows the supervisor holds
    await client.execute({ operation: 'list-workflows' });
    return await runRepl(client, { dataDir, json: options.json, palette: options.palette, signal: gone.signal, banner: `attached to ${dataDirLayout(dataDir).socket}` });
  } finally {
    gone.abort();
    client.close();
  }
}
