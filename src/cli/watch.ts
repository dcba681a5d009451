import { createLogUpdate } from 'log-update';
import type { HubResponse } from '../index.js';
import { colorStatus, createPalette, elapsedClock, formatResponse, formatStatus, formatStatusLines, type Palette, type StatusLine } from './format.js';
import { fitFrame } from './frame.js';
import type { CommandTarget } from './socket-client.js';

const ENDED = new Set(['completed', 'partial', 'failed', 'cancelled', 'archived', 'compensated', 'compensation_failed']);
const REFRESH_MS = 250;

export interface WatchOptions {
  /** where it draws: process.stdout by default */
  out?: NodeJS.WriteStream;
  /** stop at a key press (the REPL: its readline emits 'keypress' on process.stdin) */
  stopOnKey?: boolean;
  /** stops it when aborted (the shell's Ctrl-C) */
  signal?: AbortSignal;
}

type WorkflowState = Parameters<typeof formatStatus>[1];
const stateOf = (response: HubResponse): WorkflowState | null =>
  response.status === 'success' ? (response.result as { workflow_state: WorkflowState }).workflow_state : null;

/**
 * `watch <workflow-id>` (the REPL) and `troupe watch ID` (the shell): follows
 * a workflow until it ends, `signal` aborts, or (with `stopOnKey`) a key is
 * pressed, and resolves with its last status ('error' when it could not be
 * read). Works over the socket too: it only asks `get-status`, four times a
 * second.
 *
 * On a terminal the phase/task tree is redrawn in place (log-update), cut to
 * the screen, which is measured again for every frame: at most `rows - 1`
 * lines, the running, waiting and failed tasks kept before the others and a
 * line saying how many were left out, each line cut to `columns`. When it
 * stops, the clipped frame gives way to the whole tree, printed once (as
 * `get-status` prints it), where nothing redraws it any more.
 *
 * Elsewhere (a pipe, a file) no escape sequence is written: the workflow's
 * header line first, then one line per change of a task's or the
 * workflow's status (`0:07  build/compile  ✓ completed`), then the whole
 * tree when it stops.
 */
export async function watchWorkflow(target: CommandTarget, workflowId: string, p: Palette, options: WatchOptions = {}): Promise<string> {
  const out = options.out ?? process.stdout;
  const live = out.isTTY === true;
  const palette = live ? p : createPalette(false);
  const screen = live ? liveScreen(out, palette, options.stopOnKey === true) : plainLog(out, palette);
  let stopped = options.signal?.aborted === true;
  let wake = () => {};
  const stop = () => {
    stopped = true;
    wake();
  };
  if (options.stopOnKey) process.stdin.on('keypress', stop);
  options.signal?.addEventListener('abort', stop, { once: true });
  let status = 'error';
  let last: HubResponse | null = null;
  try {
    for (;;) {
      const response = await target.execute({ operation: 'get-status', workflow_id: workflowId, parameters: { include_output: false, agent_details: false } });
      last = response;
      status = stateOf(response)?.status ?? 'error';
      if (stopped || ENDED.has(status) || response.status === 'error') break;
      screen.show(response);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, REFRESH_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (stopped) break;
    }
    screen.end(last);
  } catch (error) {
    screen.end(last);
    out.write(`${palette.red(`✗ ${error instanceof Error ? error.message : String(error)}`)}\n`);
    status = 'error';
  } finally {
    if (options.stopOnKey) process.stdin.off('keypress', stop);
    options.signal?.removeEventListener('abort', stop);
  }
  return status;
}

interface Screen {
  /** a frame of a watch that goes on */
  show(response: HubResponse): void;
  /** the watch stopped: `response` is the last one read (null: none) */
  end(response: HubResponse | null): void;
}

/** The frame's lines: the tree, or an error response's lines, all kept. */
function frameLines(p: Palette, response: HubResponse): StatusLine[] {
  const state = stateOf(response);
  if (state) return formatStatusLines(p, state, Date.parse(response.timestamp));
  return formatResponse(p, response).split('\n').map((text) => ({ text, keep: 4 as const }));
}

/** The whole tree (or error) as `get-status` prints it, without its next steps. */
const wholeTree = (p: Palette, response: HubResponse) => formatResponse(p, response.status === 'success' ? { ...response, next_steps: [] } : response);

/** A terminal: one frame redrawn in place, fitted to the screen as it is now. */
function liveScreen(out: NodeJS.WriteStream, p: Palette, byKey: boolean): Screen {
  const draw = createLogUpdate(out);
  const footer = p.dim(byKey ? 'watching — press any key to stop' : 'watching — Ctrl-C to stop');
  let last: HubResponse | null = null;
  const render = () => {
    if (last) draw(fitFrame(frameLines(p, last), footer, { rows: out.rows || 24, columns: out.columns || 80 }).join('\n'));
  };
  out.on('resize', render);
  return {
    show(response) {
      last = response;
      render();
    },
    end(response) {
      out.off('resize', render);
      // nothing redraws it any more: the whole tree, however tall
      draw.clear();
      draw.done();
      if (response) out.write(`${wholeTree(p, response)}\n`);
    },
  };
}

/** Not a terminal: the header, then a line per status change, then the whole tree. */
function plainLog(out: NodeJS.WriteStream, p: Palette): Screen {
  let seen: Map<string, string> | null = null;
  const show = (response: HubResponse) => {
    const state = stateOf(response);
    if (!state) return;
    // the tasks in tree order, then the workflow
    const now = new Map<string, string>();
    for (const phase of state.phases) for (const task of phase.tasks) now.set(`${phase.name}/${task.task_id}`, task.status);
    now.set(state.id, state.status);
    if (seen === null) out.write(`${formatStatus(p, state, Date.parse(response.timestamp)).split('\n')[0]}\n`);
    else {
      const clock = elapsedClock(state, Date.parse(response.timestamp)) ?? '-';
      for (const [what, status] of now) {
        if (seen.get(what) === status) continue;
        const extra = what === state.id ? `  ${state.progress_percentage}%` : '';
        out.write(`${clock.padStart(7)}  ${what}  ${colorStatus(p, status)}${extra}\n`);
      }
    }
    seen = now;
  };
  return {
    show,
    end(response) {
      if (!response) return;
      // the changes since the last frame, unless the whole tree is all there is to say
      if (seen !== null) show(response);
      out.write(`${seen === null ? '' : '\n'}${wholeTree(p, response)}\n`);
    },
  };
}
