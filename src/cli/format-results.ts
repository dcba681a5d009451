import type { SuccessResponse } from '../index.js';
import type { Palette } from './format-style.js';
import { ago, done, fields, listed, on, type ResultFormatter, type View } from './format-kit.js';
import { agentFormatters } from './format-agents.js';
import { eventFormatters } from './format-events.js';
import { eventSettingsFormatters } from './format-event-settings.js';
import { helpFormatters } from './format-help.js';
import { peopleFormatters } from './format-people.js';
import { recoveryFormatters } from './format-recovery.js';
import { resourceFormatters } from './format-resources.js';
import { systemFormatters } from './format-system.js';
import { workflowFormatters } from './format-workflows.js';

interface StateSync {
  message_type: 'state_sync';
  workflow_id: string;
  state_version: number;
  checkpoint_id: string | null;
  current_phase: { phase_id: number; name: string; progress: number; started_at: string | null; estimated_completion: string | null } | null;
  agent_states: Record<string, { status: string; current_task: string | null; performance_score: number }>;
  resource_usage: { memory_current: number; cpu_utilization: number; storage_used: number };
  validation_required: string[];
  metadata: { last_update_source: string; conflict_detected: boolean };
}

/** The protocol's state_sync message (`get-status {"format":"state_sync"}`), in a few lines. */
function stateSync(v: View, s: StateSync): string {
  const { p, response } = v;
  const phase = s.current_phase;
  const agents = Object.entries(s.agent_states).map(([id, a]) => `${id} ${a.status}${a.current_task ? ` on ${a.current_task}` : ''} (score ${a.performance_score})`);
  return [
    `${p.bold(s.workflow_id)}  ${p.dim(`state_sync, version ${s.state_version}, newest checkpoint ${s.checkpoint_id ?? 'none'}`)}`,
    fields(p, [
      ['phase', phase ? `${phase.phase_id} ${phase.name}, ${phase.progress}% done, started ${ago(phase.started_at, response.timestamp)}${phase.estimated_completion ? `, done ${ago(phase.estimated_completion, response.timestamp)}` : ''}` : 'none'],
      ['agents', listed(agents, 4)],
      ['resources', `memory ${s.resource_usage.memory_current} GB, CPU ${s.resource_usage.cpu_utilization}%, checkpoints ${s.resource_usage.storage_used} GB`],
      ['validation', s.validation_required.length > 0 ? p.yellow(s.validation_required.join(', ')) : 'none required'],
      ['last update', `from ${s.metadata.last_update_source}${s.metadata.conflict_detected ? p.red(', conflict detected') : ''}`],
    ]),
  ].join('\n');
}

const FORMATTERS: Record<string, ResultFormatter> = {
  ...workflowFormatters,
  ...peopleFormatters,
  ...agentFormatters,
  ...resourceFormatters,
  ...eventFormatters,
  ...eventSettingsFormatters,
  ...recoveryFormatters,
  ...systemFormatters,
  ...helpFormatters,
  // the session's own line (correlate.ts)
  correlate: on((v, r: { correlation_id: string | null }) => done(v, r.correlation_id === null ? 'the commands carry no correlation id' : `the commands after this carry correlation_id ${r.correlation_id}`)),
};

/** The operations with a human form of their own (get-status's tree is format.ts's). */
export const FORMATTED_OPERATIONS: readonly string[] = Object.keys(FORMATTERS);

/**
 * A success as people read it, by its operation (format.ts draws get-status's
 * tree itself); null for an operation with nothing of its own to show.
 */
export function formatResult(p: Palette, response: SuccessResponse, tree: (workflowState: unknown) => string): string | null {
  const view = { p, response, tree };
  if (response.operation === 'get-status') {
    const state = (response.result as { workflow_state?: { message_type?: string } }).workflow_state;
    return state?.message_type === 'state_sync' ? stateSync(view, state as StateSync) : null;
  }
  return FORMATTERS[response.operation]?.(view) ?? null;
}
