/** The signals that shut a supervisor down gracefully, and the exit code each leaves (128 + its number). */
export const SHUTDOWN_SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
export type ShutdownSignal = keyof typeof SHUTDOWN_SIGNALS;

/**
 * Calls `shutdown` on SIGINT, SIGTERM or SIGHUP (a closed terminal: without
 * a handler it would end the process at once, leaving the lock, the socket
 * and running `exec` children); returns a function that removes the handlers.
 */
export function onSignals(shutdown: (signal: ShutdownSignal) => void): () => void {
  const handler = (signal: NodeJS.Signals) => shutdown(signal as ShutdownSignal);
  for (const signal of Object.keys(SHUTDOWN_SIGNALS)) process.on(signal, handler);
  return () => {
    for (const signal of Object.keys(SHUTDOWN_SIGNALS)) process.off(signal, handler);
  };
}
