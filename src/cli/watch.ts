import { formatResponse, type Palette } from './format.js';
import type { CommandTarget } from './socket-client.js';

const ENDED = new Set(['completed', 'partial', 'failed', 'cancelled', 'archived']);
const REFRESH_MS = 250;

/**
 * `watch <workflow-id>` in the REPL: the phase/task tree, redrawn in place
 * until the workflow ends or a key is pressed. Works over the socket too: it
 * only asks `get-status`.
 */
export async function watchWorkflow(target: CommandTarget, workflowId: string, p: Palette): Promise<void> {
  // the REPL's readline already reads keys in raw mode and emits 'keypress': listen beside it
  const stdin = process.stdin;
  let stopped = false;
  const onKey = () => {
    stopped = true;
  };
  stdin.on('keypress', onKey);
  let drawn = 0;
  try {
    for (;;) {
      const response = await target.execute({ operation: 'get-status', workflow_id: workflowId, parameters: { include_output: false } });
      const text = formatResponse(p, response.status === 'success' ? { ...response, next_steps: [] } : response);
      // move back over the last frame and redraw
      if (drawn > 0) process.stdout.write(`\u001b[${drawn}F\u001b[J`);
      const footer = p.dim(stopped ? '' : 'watching — press any key to stop');
      process.stdout.write(`${text}\n${footer}\n`);
      drawn = text.split('\n').length + 1;
      const status = response.status === 'success' ? (response.result as { workflow_state: { status: string } }).workflow_state.status : 'error';
      if (stopped || ENDED.has(status) || response.status === 'error') break;
      await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
      if (stopped) break;
    }
  } finally {
    stdin.off('keypress', onKey);
  }
}
