import type { WorkflowEvent } from '../machines/workflow-machine.js';
import { formatDuration } from './durations.js';
import type { HubState } from './hub-state.js';
import type { CleanupParams, CompleteParams, StartParams } from './lifecycle-params.js';
import { workflowKpis } from './metrics/kpi-report.js';
import { entryOf, type Handler, type ResponseMetrics } from './operation-kit.js';
import { rolesOfWorkflow, shareOf } from './agents/agent-operations.js';
import { describeWorkflow } from './scheduling/status.js';
import { ENDED_STATUSES, statusOf, type WorkflowEntry } from './scheduling/workflow-entry.js';
import { invalidTransition, transition } from './workflow-transitions.js';
import { holdingsOf, released, releaseHoldings, removeTempFiles, type Holdings } from './workflow-cleanup.js';
import { phaseIndexOf, resumeWarnings } from './lifecycle-resume.js';

const STAKEHOLDERS_WARNING = (names: string[], where: string) =>
  `notify_stakeholders (${names.join(', ')}): troupe has no address book to reach people by name; ${where}. ` +
  'To reach them, add a durable subscription to WORKFLOW_COMPLETED with an exec or webhook target (subscribe-event)';

/** What `create {dependencies}` does with external services named: records them, since it cannot probe a name. */
export const externalDependencyWarning = (names: string[]) =>
  `dependencies (${names.join(', ')}): troupe cannot probe a service by its name, so it records them (get-status: dependencies.external) and checks nothing. ` +
  `To make one real, give the first phase a task that checks it, e.g. {"id":"check_${names[0]!.replace(/[^A-Za-z0-9_]/g, '_')}","handler":"exec","input":{"command":"pg_isready -h localhost"}}, and let the work depend on it`;

/** The final report: the status report with the workflow's KPIs. */
const reportOf = (hub: HubState, entry: WorkflowEntry) =>
  describeWorkflow(entry.actor.getSnapshot(), hub.pool, { includeOutput: false, kpis: workflowKpis(hub.kpis, entry.id, hub.clock.now()) });

/** What was released between two readings, as the result shows it (only when something was) and as the spec's metrics. */
function releaseOutcome(before: Holdings, after: Holdings): { result: Record<string, unknown>; metrics: ResponseMetrics } {
  const gone = released(before, after);
  const shown = gone.allocations.length > 0 || gone.exclusive_files.length > 0 || gone.exclusive_files_releasing.length > 0;
  const parts = [plural(gone.agents, 'agent'), plural(gone.allocations.length, 'resource allocation'), plural(gone.exclusive_files.length, 'exclusive file')];
  return {
    result: shown ? { released: { allocations: gone.allocations, exclusive_files: gone.exclusive_files, exclusive_files_releasing: gone.exclusive_files_releasing } } : {},
    metrics: { agents_affected: gone.agents, resources_used: `released ${parts.join(', ')}` },
  };
}

/** The lifecycle operations (DESIGN §3), with the spec's parameters (lifecycle-params.ts). */
export const lifecycleHandlers: Record<string, Handler> = {
  async start(hub, id, params: StartParams) {
    const entry = entryOf(hub, id);
    const snapshot = entry.actor.getSnapshot();
    if (statusOf(snapshot) === 'paused') {
      throw invalidTransition(entry, 'start', `It is paused, not new: go on with '${entry.id} resume' (start begins a created workflow)`);
    }
    const spec = snapshot.context.spec;
    const from = params.resume_from_phase === undefined ? 0 : phaseIndexOf(entry.id, spec, params.resume_from_phase);
    const roles = rolesOfWorkflow(spec);
    // the pool always has an agent for each role the workflow needs, and min_agents in all
    const wanted = Math.max(params.agent_pool_size ?? spec.agentRequirements.minAgents, roles.length);
    const agentsBefore = hub.pool.heldFor(entry.id);
    if (snapshot.can({ type: 'start', at: 0 })) {
      roles.forEach((role, i) => hub.pool.ensure(role, shareOf(wanted, roles.length, i), entry.id));
    }
    const event: WorkflowEvent = {
      type: 'start',
      at: hub.clock.now(),
      ...(params.failure_tolerance ? { failureTolerance: params.failure_tolerance } : {}),
      ...(params.priority ? { priority: params.priority } : {}),
      ...(params.checkpoint_interval ? { checkpointIntervalMs: params.checkpoint_interval } : {}),
      ...(from > 0 ? { resumeFromPhase: from } : {}),
    };
    const previous = await transition(hub, entry, 'start', event);
    const warnings = [
      ...(from > 0 ? resumeWarnings(spec, from) : []),
      ...(params.checkpoint_interval !== undefined && !hub.journal
        ? [`checkpoint_interval (${formatDuration(params.checkpoint_interval)}): this hub runs in memory, without a data directory, so nothing is checkpointed; the interval is kept in the workflow's configuration`]
        : []),
    ];
    const agents = hub.pool.heldFor(entry.id) - agentsBefore;
    return {
      result: {
        workflow_id: entry.id,
        previous_status: previous,
        status: statusOf(entry.actor.getSnapshot()),
        ...(from > 0 ? { resumed_from_phase: { phase_id: from + 1, name: spec.phases[from]!.name, skipped_phases: spec.phases.slice(0, from).map((p) => p.name) } } : {}),
      },
      next_steps: [`Follow it with '${entry.id} get-status'`, `Block until it ends with '${entry.id} wait'`],
      ...(warnings.length > 0 ? { warnings } : {}),
      metrics: { agents_affected: agents, resources_used: `${plural(hub.pool.heldFor(entry.id), 'agent')} held for it over ${plural(roles.length, 'role')}` },
    };
  },

  async pause(hub, id, params: { reason?: string }) {
    const entry = entryOf(hub, id);
    const previous = await transition(hub, entry, 'pause', { type: 'pause', at: hub.clock.now(), ...(params.reason === undefined ? {} : { reason: params.reason }) });
    return {
      result: { workflow_id: entry.id, previous_status: previous, status: statusOf(entry.actor.getSnapshot()) },
      next_steps: [`Resume with '${entry.id} resume'`],
    };
  },

  async resume(hub, id) {
    const entry = entryOf(hub, id);
    const previous = await transition(hub, entry, 'resume', { type: 'resume', at: hub.clock.now() });
    return { result: { workflow_id: entry.id, previous_status: previous, status: statusOf(entry.actor.getSnapshot()) }, next_steps: [`Follow it with '${entry.id} get-status'`] };
  },

  async cancel(hub, id, params: { compensate: boolean; reason?: string }) {
    const entry = entryOf(hub, id);
    const before = holdingsOf(hub, entry.id);
    const event: WorkflowEvent = { type: 'cancel', at: hub.clock.now(), compensate: params.compensate, ...(params.reason === undefined ? {} : { reason: params.reason }) };
    const previous = await transition(hub, entry, 'cancel', event);
    const status = statusOf(entry.actor.getSnapshot());
    const outcome = releaseOutcome(before, holdingsOf(hub, entry.id));
    return {
      result: { workflow_id: entry.id, previous_status: previous, status, ...outcome.result },
      next_steps:
        status === 'compensating' || (params.compensate && status === 'running')
          ? [`Block until the compensation ends with '${entry.id} wait'`]
          : [`Archive it with '${entry.id} cleanup'`],
      metrics: outcome.metrics,
    };
  },

  async complete(hub, id, params: CompleteParams) {
    const entry = entryOf(hub, id);
    const before = holdingsOf(hub, entry.id);
    const notify = params.notify_stakeholders;
    const previous = await transition(hub, entry, 'complete', { type: 'complete', at: hub.clock.now(), ...(notify ? { notifyStakeholders: notify } : {}) });
    // an ended workflow's are released at its end anyway; this makes it so before the answer, whatever the event order
    if (params.cleanup_resources) releaseHoldings(hub, entry.id, 'workflow completed (cleanup_resources)');
    const report = params.generate_report ? { report: reportOf(hub, entry) } : {};
    const warnings: string[] = [];
    if (params.archive_state) {
      if (entry.actor.getSnapshot().can({ type: 'cleanup', at: 0 })) await transition(hub, entry, 'cleanup', { type: 'cleanup', at: hub.clock.now() });
      else warnings.push(`archive_state: the workflow is ${statusOf(entry.actor.getSnapshot())}, not ended yet, so it was not archived; archive it with '${entry.id} cleanup' once it ends`);
    }
    if (!params.cleanup_resources) warnings.push("cleanup_resources: false: an ended workflow runs nothing more, so troupe released its agents and resource allocations anyway, as at every end");
    if (notify) warnings.push(STAKEHOLDERS_WARNING(notify, 'the names are in the WORKFLOW_COMPLETED event (notify_stakeholders) and in get-status'));
    const outcome = releaseOutcome(before, holdingsOf(hub, entry.id));
    const status = statusOf(entry.actor.getSnapshot());
    return {
      result: { workflow_id: entry.id, previous_status: previous, status, ...outcome.result, ...report },
      next_steps: status === 'archived' ? ["See the remaining workflows with 'list-workflows'"] : [`Archive it with '${entry.id} cleanup'`],
      ...(warnings.length > 0 ? { warnings } : {}),
      metrics: outcome.metrics,
    };
  },

  async cleanup(hub, id, params: CleanupParams) {
    const entry = entryOf(hub, id);
    const previous = statusOf(entry.actor.getSnapshot());
    // not archiving still needs an ended workflow: a running one's files and agents are in use
    if (!params.archive_state && !ENDED_STATUSES.has(previous)) throw invalidTransition(entry, 'cleanup');
    const before = holdingsOf(hub, entry.id);
    if (params.archive_state) await transition(hub, entry, 'cleanup', { type: 'cleanup', at: hub.clock.now() });
    if (params.cleanup_resources) releaseHoldings(hub, entry.id, 'workflow cleaned up');
    const temp = params.remove_temp_files ? { temp_files: await removeTempFiles(hub.taskFiles.root, entry) } : {};
    const report = params.generate_report ? { report: reportOf(hub, entry) } : {};
    const notify = params.notify_stakeholders;
    const warnings = [
      ...(params.archive_state ? [] : [`archive_state: false: ${entry.id} stays ${previous}, not archived; its stored state (checkpoints, events, logs) is kept, since troupe never deletes a workflow on a command (event_retention drops old events)`]),
      ...(notify ? [STAKEHOLDERS_WARNING(notify, 'cleanup publishes no event of its own, so the names are only in this result (complete {notify_stakeholders} puts them in WORKFLOW_COMPLETED)')] : []),
    ];
    const outcome = releaseOutcome(before, holdingsOf(hub, entry.id));
    const removed = temp.temp_files ? `; removed ${temp.temp_files.removed_files} temporary files (${temp.temp_files.removed_bytes} bytes)` : '';
    return {
      result: { workflow_id: entry.id, previous_status: previous, status: statusOf(entry.actor.getSnapshot()), ...outcome.result, ...temp, ...(notify ? { notify_stakeholders: notify } : {}), ...report },
      next_steps: ["See the remaining workflows with 'list-workflows'"],
      ...(warnings.length > 0 ? { warnings } : {}),
      metrics: { ...outcome.metrics, resources_used: `${outcome.metrics.resources_used}${removed}` },
    };
  },
};

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
