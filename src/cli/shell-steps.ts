import { isOperation, OPERATIONS, type HubResponse } from '../index.js';

/** REPL lines that have a shell command of their own: `wf_1 resume` -> `troupe resume wf_1`. */
const OWN_COMMAND: Record<string, string> = { pause: 'pause', resume: 'resume', cancel: 'cancel', 'get-status': 'status', logs: 'logs' };

/**
 * The troupe command that does a REPL line, or null when `line` is no
 * command line: `wf_1 resume` -> `troupe resume wf_1`, `wf_1 cleanup` ->
 * `troupe exec 'wf_1 cleanup'`, `health` -> `troupe exec 'health'`. An
 * operation named alone that needs a workflow (`'create'` in prose) is no line.
 */
function shellCommand(line: string, again: (command: string) => string): string | null {
  const [first = '', second, ...rest] = line.split(' ');
  if (second !== undefined && isOperation(second) && /^[A-Za-z0-9][\w.-]*$/.test(first)) {
    const own = rest.length === 0 ? OWN_COMMAND[second] : undefined;
    return own ? again(`${own} ${first}`) : `${again('exec')} '${line}'`;
  }
  if (line === 'list-workflows') return again('ls');
  if (isOperation(first) && OPERATIONS[first].workflow !== 'required') return `${again('exec')} '${line}'`;
  return null;
}

/**
 * A response's next steps and recovery suggestions as a shell user types
 * them. The hub writes them as REPL lines, quoted in a sentence (`Resume
 * with 'wf_1 resume'`) or alone (`wf_1 cleanup`); from the shell each
 * becomes the troupe command that does it. `again` adds the --data-dir the
 * user gave. Only the human form uses this: `--json` prints the response as
 * the hub gave it.
 */
export function forTheShell(response: HubResponse, again: (command: string) => string): HubResponse {
  const rewrite = (text: string) => {
    const whole = shellCommand(text, again);
    if (whole !== null) return whole;
    return text.replace(/'([^'\n]+)'/g, (quoted, line: string) => {
      const command = shellCommand(line, again);
      return command === null ? quoted : `\`${command}\``;
    });
  };
  return response.status === 'success'
    ? { ...response, next_steps: response.next_steps.map(rewrite) }
    : { ...response, recovery_suggestions: response.recovery_suggestions.map(rewrite) };
}
