import type { HubResponse } from '../index.js';

/** A command the REPL (or a script) answers itself, never sent to the hub: `help` lists them beside the operations. */
export interface SessionCommand {
  name: string;
  usage: string;
  summary: string;
  /** where it can be typed */
  where: string;
  example: string;
}

export const SESSION_COMMANDS: readonly SessionCommand[] = [
  {
    name: 'watch',
    usage: 'watch <workflow-id>',
    summary: "Draw the workflow's phase/task tree and redraw it live until the workflow ends or a key is pressed",
    where: 'the interactive REPL (troupe, troupe attach)',
    example: 'watch wf_1',
  },
  {
    name: 'correlate',
    usage: 'correlate <id>  |  correlate off  |  correlate',
    summary:
      'The commands after it carry correlation_id <id>, so the events they cause can be found with get-events {"correlation_id":"<id>"}; \'correlate off\' stops, \'correlate\' alone says the one in use',
    where: 'the REPL, scripts (commands on standard input) and troupe exec',
    example: 'correlate release-42',
  },
  {
    name: 'quit',
    usage: 'quit  |  exit',
    summary: 'Leave the REPL (so do Ctrl-C twice on an empty line and Ctrl-D): a supervisor started with it shuts down, one attached to goes on',
    where: 'the REPL and scripts',
    example: 'quit',
  },
];

/** The session command of that name (`exit` is `quit`), or undefined. */
export const sessionCommand = (name: string): SessionCommand | undefined => SESSION_COMMANDS.find((c) => c.name === (name === 'exit' || name === '.exit' ? 'quit' : name));

/** `help watch`: a session command described as `help` describes an operation. */
export function sessionHelp(command: SessionCommand, now: number): HubResponse {
  return {
    status: 'success',
    operation: 'help',
    timestamp: new Date(now).toISOString(),
    result: { operation: command.name, group: 'session', summary: command.summary, workflow_id: 'none', available: true, usage: command.usage, parameters: [], example: command.example, where: command.where },
    metrics: { execution_time: '0ms' },
    next_steps: [],
  };
}
