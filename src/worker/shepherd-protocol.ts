/** What the worker passes the shepherd (`shepherd.ts`) as its one argument, as JSON. */
export interface ShepherdArgs {
  spool: string;
  log: string;
  logMaxBytes: number;
  command: string;
  cwd?: string;
  maxOutput: number;
  /** a line for the log when it already holds an earlier run of the same attempt */
  rerunNote: string;
}

/** What the shepherd says on its stdout, one JSON object a line. */
export type ShepherdMessage = { claimed: true; pid: number } | { log_error: string };

/** The shepherd's exit code when another shepherd had claimed the spool: it started nothing. */
export const CLAIM_LOST_EXIT = 3;
