import { basename, extname } from 'node:path';
import { definitionDigest, errorResponse, formatDuration, SAFE_ID_MAX_LENGTH, type EventRecord, type HubResponse } from '../index.js';
import { formatResponse, type Palette } from './format.js';
import { createParameters, type RunSource } from './run-source.js';
import { RunProgress } from './run-progress.js';
import { forTheShell } from './shell-steps.js';
import type { RunTarget } from './run-target.js';
import { chooseWorkflow } from './run-identity.js';

/** Exit codes of `troupe run` (DESIGN §5). */
export const RUN_EXIT = { completed: 0, failed: 1, badInput: 2 } as const;

export interface RunOptions {
  /** a workflow file, or a template by name */
  source: RunSource;
  /** `--param key=value`, as typed */
  params?: Record<string, string>;
  id?: string;
  json: boolean;
  palette: Palette;
  out: NodeJS.WritableStream;
  /** a troupe command as another terminal types it (with the --data-dir the user gave): `troupe approve …` */
  again?: (command: string) => string;
  /** told the workflow's id once it is known (so an interrupted run can say how to resume it) */
  onWorkflow?: (id: string) => void;
  /** aborted (Ctrl-C) to stop following: the workflow goes on in its supervisor */
  signal?: AbortSignal;
}

/** Exit code of a run whose following was stopped by Ctrl-C (128 + SIGINT). */
export const RUN_INTERRUPTED_EXIT = 130;

/**
 * A workflow id from the file (or template) name: `examples/hello.yaml` -> `hello_<time>`,
 * within the id rule (`SAFE_ID_RULE`): no "..", at most 128 characters.
 */
function defaultId(file: string): string {
  const stem = basename(file, extname(file)).replace(/[^A-Za-z0-9_.-]/g, '_').replace(/\.{2,}/g, '.').replace(/^[^A-Za-z0-9]+/, '') || 'wf';
  const time = Date.now().toString(36);
  return `${stem.slice(0, SAFE_ID_MAX_LENGTH - time.length - 1)}_${time}`;
}

/** What became of a task's process after a crash, in words (TASK_RECOVERED and the recovery report). */
const RECOVERED_TEXT: Record<string, string> = {
  adopted: 'adopted its process from before the crash: not started again',
  recorded: 'took the exit status its process recorded while no supervisor ran',
  restarted: 'ended its process from before the crash (on_recovery: restart) and runs again',
  resolved_from_log: 'resolved from the log: its outcome was recorded before the crash',
  rerun: 'runs again (it was in flight at the crash; same idempotency key)',
};

/** The recovery report's lines for one workflow: what became of each task in flight at the crash. */
async function recoveryLines(hub: RunTarget, id: string, p: Palette): Promise<string[]> {
  const health = await hub.execute({ operation: 'health' });
  if (health.status !== 'success') return [];
  const report = (health.result as { recovery: { recovered: { workflow_id: string; tasks?: { task_id: string; attempt: number; recovery: string; pid?: number; exit_code?: number | null }[] }[] } | null }).recovery;
  const mine = report?.recovered.find((r) => r.workflow_id === id);
  return (mine?.tasks ?? []).map((t) => {
    const pid = t.pid === undefined ? '' : ` (pid ${t.pid}${t.exit_code === undefined ? '' : `, exit ${t.exit_code}`})`;
    return p.yellow(`  ⟲ ${t.task_id}: ${RECOVERED_TEXT[t.recovery] ?? t.recovery}${pid}`);
  });
}

function progressLine(p: Palette, e: EventRecord, again: (command: string) => string): string | null {
  const d = e.data as { task_id?: string; agent_id?: string; attempt?: number; execution_time_ms?: number; will_retry?: boolean; error?: { message: string }; status?: string };
  const task = `${e.phase}/${d.task_id}`;
  switch (e.event_type) {
    case 'PHASE_STARTED': return p.bold(`▶ phase ${e.phase}`);
    case 'PHASE_COMPLETED': return p.green(`✓ phase ${e.phase}`);
    case 'PHASE_FAILED': return p.red(`✗ phase ${e.phase} ${d.status ?? 'failed'}`);
    case 'PHASE_SKIPPED': return p.yellow(`↷ phase ${e.phase} skipped`);
    case 'TASK_STARTED': return p.dim(`  … ${task} started on ${d.agent_id}${(d.attempt ?? 1) > 1 ? ` (attempt ${d.attempt})` : ''}`);
    case 'TASK_RECOVERED': return p.yellow(`  ⟲ ${task} ${RECOVERED_TEXT[String(e.data.process)] ?? e.data.process} (pid ${e.data.pid})`);
    case 'TASK_COMPLETED': return p.green(`  ✓ ${task}`) + p.dim(` ${d.execution_time_ms} ms`);
    case 'TASK_FAILED':
    case 'TASK_TIMEOUT':
      return (d.will_retry ? p.yellow : p.red)(`  ✗ ${task}: ${d.error?.message ?? 'failed'}${d.will_retry ? ' — will retry' : ''}`);
    case 'APPROVAL_REQUESTED': {
      const deadline = e.data.deadline ? `, until ${String(e.data.deadline)} (then ${String(e.data.on_timeout)})` : '';
      return [
        p.yellow(`⌛ ${task} waits for approval: ${String(e.data.prompt)}${deadline}`),
        p.dim(`  answer from another terminal: ${again(`approve ${e.workflow_id} ${d.task_id}`)}  (or reject, with --reason)`),
      ].join('\n');
    }
    case 'APPROVAL_GRANTED': return p.green(`  ✓ ${task} approved by ${String(e.data.by)}`);
    case 'APPROVAL_REJECTED': return p.red(`  ✗ ${task} rejected by ${String(e.data.by)}${e.data.reason ? `: ${String(e.data.reason)}` : ''}`);
    case 'ERROR_ENCOUNTERED': {
      if (e.data.manual_intervention_required !== true) return null;
      const options = (e.data.options as string[] | undefined) ?? [];
      return [
        p.yellow(`✋ ${task} failed and waits for a person: ${d.error?.message ?? ''}`),
        ...options.slice(0, 2).map((o) => p.dim(`  ${again('exec')} '${o}'`)),
        p.dim(`  (skip-task with "output" completes it instead; cancel ends the workflow)`),
      ].join('\n');
    }
    case 'COMPENSATION_STARTED': {
      const tasks = (e.data.tasks as string[] | undefined) ?? [];
      return p.yellow(`↶ undoing ${tasks.length} completed task(s) (workflow ${String(e.data.reason)}): ${tasks.join(', ')}`);
    }
    case 'TASK_COMPENSATED': return p.green(`  ↺ undid ${d.task_id}`) + p.dim(` ${d.execution_time_ms} ms`);
    case 'TASK_COMPENSATION_FAILED':
      return (d.will_retry ? p.yellow : p.red)(`  ✗ could not undo ${d.task_id}: ${d.error?.message ?? 'failed'}${d.will_retry ? ' — will retry' : ''}`);
    default: return null;
  }
}

/**
 * `troupe run FILE [--id ID]` or `troupe run --template NAME [--param k=v]…`:
 * creates and starts the workflow, shows progress, and resolves to the exit
 * code: 0 completed (also `partial`, with a warning), 1 failed or
 * cancelled, 2 bad input (a refused definition or params).
 */
export async function runWorkflowFile(hub: RunTarget, options: RunOptions): Promise<number> {
  const { palette: p, out, source } = options;
  const shell = options.again ?? ((command: string) => `troupe ${command}`);
  const print = (response: HubResponse) => out.write(`${options.json ? JSON.stringify(response) : formatResponse(p, forTheShell(response, shell))}\n`);
  let parameters: unknown;
  try {
    parameters = await createParameters(hub, source, options.params ?? {});
  } catch (error) {
    print(errorResponse(error, { operation: 'run' }, Date.now()));
    return RUN_EXIT.badInput;
  }
  const digest = definitionDigest(parameters);
  const chosen = await chooseWorkflow(hub, { source, digest, ...(options.id === undefined ? {} : { id: options.id }), defaultId: () => defaultId('file' in source ? source.file : source.template) });
  if ('refused' in chosen) {
    print(errorResponse(chosen.refused, { operation: 'run', workflow_id: options.id! }, Date.now()));
    return RUN_EXIT.badInput;
  }
  const { id, existing: existingStatus } = chosen;
  options.onWorkflow?.(id);
  let name = existingStatus?.name;
  if (!existingStatus) {
    const created = await hub.execute({ operation: 'create', workflow_id: id, parameters });
    if (created.status === 'error') {
      print(created);
      return RUN_EXIT.badInput;
    }
    name = (created.result as { name: string }).name;
  }
  // on a terminal a live status line sits under the event lines; elsewhere output stays plain lines
  const before = await hub.execute({ operation: 'get-status', workflow_id: id, parameters: { include_output: false } });
  const metrics = before.status === 'success' ? (before.result as StatusResult).workflow_state.metrics : { tasks_total: 0, tasks_completed: 0 };
  const newestLines = async () => {
    const logs = await hub.execute({ operation: 'logs', workflow_id: id, parameters: { tail: 1 } });
    const tasks = logs.status === 'success' ? (logs.result as { tasks: { task_id: string; live: boolean; lines: string[] }[] }).tasks : [];
    return new Map(tasks.filter((t) => t.live && t.lines.length > 0).map((t) => [t.task_id, t.lines[0]!]));
  };
  const live = !options.json && (out as { isTTY?: boolean }).isTTY === true ? new RunProgress(p, out, metrics.tasks_completed, metrics.tasks_total, newestLines) : null;
  const unsubscribe = await hub.follow(id, (event) => {
    if (options.json) out.write(`${JSON.stringify(event)}\n`);
    else if (live) live.event(event, progressLine(p, event, shell));
    else {
      const line = progressLine(p, event, shell);
      if (line) out.write(`${line}\n`);
    }
  });
  const stop = () => {
    unsubscribe();
    live?.stop();
  };
  let status = existingStatus?.status ?? 'created';
  if (!options.json) {
    const how = chosen.reason === 'same_file_active' ? ` (already ${status}: started earlier from this definition; following it — pass --id NEW to start another)` : existingStatus ? ` (${hub.where === 'local' ? 'recovered from the data directory' : 'known to the supervisor'}: ${status})` : '';
    out.write(`${p.bold(id)}: ${name}${how}\n`);
    if (hub.where === 'supervisor' && !existingStatus) out.write(p.dim(`submitted to the running supervisor; Ctrl-C stops following, the workflow goes on\n`));
    if (existingStatus && hub.where === 'local') for (const line of await recoveryLines(hub, id, p)) out.write(`${line}\n`);
  }
  const interrupted = new Promise<'interrupted'>((resolve) => {
    if (options.signal?.aborted) resolve('interrupted');
    options.signal?.addEventListener('abort', () => resolve('interrupted'), { once: true });
  });
  const unlessInterrupted = <T,>(work: Promise<T>) => Promise.race([work, interrupted]);
  // a workflow paused when `run` begins (in an earlier session) is resumed: `run` drives it to its end;
  // one paused while `run` follows it was paused by a person (troupe pause): `run` waits for them
  let pausedAtStart = status === 'paused';
  while (status === 'created' || status === 'running' || status === 'paused' || status === 'compensating' || status === 'needs_intervention') {
    if (status === 'needs_intervention' || (status === 'paused' && !pausedAtStart)) {
      if (status === 'paused' && !options.json) out.write(p.yellow(`❚❚ paused from another terminal; waiting for ${shell(`resume ${id}`)}\n`));
      // a person answers from another terminal (the lines above say how); `run` waits for the workflow to move
      const moved = await unlessInterrupted(movedFrom(hub, id, status));
      if (moved === 'interrupted') break;
      status = moved;
      continue;
    }
    // `run` drives the workflow to its end: it starts a created one, and resumes one paused when it began
    if (status === 'created' || status === 'paused') {
      const operation = status === 'created' ? 'start' : 'resume';
      if (status === 'paused' && !options.json) out.write(p.yellow('resuming the paused workflow\n'));
      pausedAtStart = false;
      const moved = await hub.execute({ operation, workflow_id: id });
      if (moved.status === 'error') {
        stop();
        print(moved);
        return RUN_EXIT.failed;
      }
    }
    const waited = await unlessInterrupted(hub.execute({ operation: 'wait', workflow_id: id, parameters: { timeout: '1h' } }));
    if (waited === 'interrupted') break;
    if (waited.status === 'error' && waited.error.code !== 'WAIT_TIMEOUT') {
      stop();
      if (options.signal?.aborted) break;
      print(waited);
      return RUN_EXIT.failed;
    }
    if (waited.status === 'success') status = (waited.result as { status: string }).status;
  }
  stop();
  if (options.signal?.aborted) return RUN_INTERRUPTED_EXIT;
  const final = await hub.execute({ operation: 'get-status', workflow_id: id, parameters: { include_output: options.json } });
  print(final);
  if (!options.json && final.status === 'success') out.write(`${summary(p, (final.result as StatusResult).workflow_state)}\n`);
  if (status === 'partial' && !options.json) out.write(p.yellow('completed with failed or skipped tasks (failure_tolerance: high)\n'));
  if (status === 'compensated' && !options.json) out.write(p.yellow('failed, and every completed task with a compensate was undone\n'));
  if (status === 'compensation_failed' && !options.json) out.write(p.red("failed, and a compensation failed too: some effects may remain (see 'compensation' above and troupe logs)\n"));
  return status === 'completed' || status === 'partial' ? RUN_EXIT.completed : RUN_EXIT.failed;
}

/** Resolves with the workflow's status once it is no longer `from` (an event of the workflow says when to look). */
async function movedFrom(hub: RunTarget, id: string, from: string): Promise<string> {
  let settle: (status: string) => void = () => {};
  const moved = new Promise<string>((resolve) => (settle = resolve));
  const look = async () => {
    const now = await hub.execute({ operation: 'get-status', workflow_id: id, parameters: { include_output: false } });
    const status = now.status === 'success' ? (now.result as StatusResult).workflow_state.status : 'unknown';
    if (status !== from) settle(status);
  };
  const unsubscribe = await hub.follow(id, (event) => {
    if (event.event_type.startsWith('WORKFLOW_')) void look();
  });
  void look();
  try {
    return await moved;
  } finally {
    unsubscribe();
  }
}

/** The parts of `get-status` the summary reads. */
interface StatusResult {
  workflow_state: {
    status: string;
    metrics: { tasks_total: number; tasks_completed: number; total_execution_time: string | null };
    phases: { name: string; started_at: string | null; completed_at: string | null; tasks: { task_id: string; execution_time_ms: number | null }[] }[];
    critical_path: { tasks: string[]; estimated_duration: string };
  };
}

/** The closing summary of `troupe run`: phase timings and the critical path, estimated and actual. */
function summary(p: Palette, state: StatusResult['workflow_state']): string {
  const lines = [p.bold('summary')];
  for (const phase of state.phases) {
    const ms = phase.started_at && phase.completed_at ? Date.parse(phase.completed_at) - Date.parse(phase.started_at) : null;
    lines.push(`  ${phase.name.padEnd(24)} ${ms === null ? p.dim('did not run') : formatDuration(ms)}`);
  }
  const byId = new Map(state.phases.flatMap((ph) => ph.tasks).map((t) => [t.task_id, t.execution_time_ms]));
  const path = state.critical_path.tasks;
  if (path.length > 0) {
    const actual = path.reduce((n, t) => n + (byId.get(t) ?? 0), 0);
    lines.push(`  critical path  ${path.join(' -> ')}  ${p.dim(`estimated ${state.critical_path.estimated_duration}, ran ${formatDuration(actual)}`)}`);
  }
  lines.push(`  total          ${state.metrics.total_execution_time ?? '-'}`);
  return lines.join('\n');
}
