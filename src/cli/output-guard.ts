/**
 * The standard streams of a command line whose other ends may go away: a
 * reader that stops early (`troupe exec … | head -1`) makes the next write
 * fail with EPIPE, a closed terminal makes reads and writes fail with EIO.
 * Node reports those as 'error' events, and an unhandled one ends the
 * process with a stack trace (leaving the data-directory lock, the socket
 * and running `exec` children behind). With the guard every such error is
 * handled: output that cannot be written ends quietly, and the command
 * shuts down as it would on a signal.
 */
export interface StreamGuard {
  /** aborted once standard output cannot be written any more (the reason is the error) */
  readonly outputClosed: AbortSignal;
  /** aborted once standard input cannot be read any more (not at its plain end) */
  readonly inputFailed: AbortSignal;
}

/** Exit code of a command whose output was closed under it: 128 + SIGPIPE, as if the signal had ended it. */
export const OUTPUT_CLOSED_EXIT = 141;

/**
 * Handles errors on standard output, error and input from now on.
 *
 * @example
 * const streams = guardStreams();
 * streams.outputClosed.addEventListener('abort', () => shutDown());
 */
export function guardStreams(
  streams: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; stdin: NodeJS.ReadableStream } = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
): StreamGuard {
  const output = new AbortController();
  const input = new AbortController();
  streams.stdout.on('error', (error: unknown) => output.abort(error));
  // diagnostics are best effort: a closed stderr must not end anything
  streams.stderr.on('error', () => {});
  streams.stdin.on('error', (error: unknown) => input.abort(error));
  return { outputClosed: output.signal, inputFailed: input.signal };
}
