import { createActor } from 'xstate';
import { workflowMachine } from '../machines/workflow-machine.js';
import { criticalPath } from '../machines/task-graph.js';
import { resolveCreate } from './templates/create-request.js';
import { definitionDigest } from './definition-digest.js';
import { templateHandlers } from './templates/template-operations.js';
import { externalDependencyWarning, lifecycleHandlers } from './lifecycle-operations.js';
import type { Priority } from '../machines/types.js';
import { formatDuration } from './durations.js';
import { TroupeError } from './errors.js';
import { helpFor } from './help.js';
import { entryOf, type Handler } from './operation-kit.js';
import { allowedOperations, transition } from './workflow-transitions.js';
import { peopleHandlers } from './people-operations.js';
import { recoveryHandlers } from './durability/recovery-operations.js';
import { bundleHandlers } from './durability/state-bundle.js';
import { systemHandlers } from './system-operations.js';
import { helloHandlers } from './protocol/hello-operation.js';
import { stateSyncMessage } from './protocol/state-sync.js';
import { agentHandlers } from './agents/agent-operations.js';
import { eventHandlers } from './events/event-operations.js';
import { subscriptionHandlers } from './events/subscription-operations.js';
import { hubSettingsHandlers } from './events/hub-settings-operations.js';
import { optimizeSubscriptionsHandlers } from './events/subscription-optimizer.js';
import { resourceHandlers } from './resources/resource-operations.js';
import { addLogTails, taskLogHandlers } from './scheduling/task-log-operations.js';
import { describeWorkflow, summarizeWorkflow } from './scheduling/status.js';
import { recentEvents } from './scheduling/status-extras.js';
import { workflowKpis } from './metrics/kpi-report.js';
import { ENDED_STATUSES, newEntry, statusOf, type WorkflowStatus } from './scheduling/workflow-entry.js';

/** Statuses `wait` answers in. */
const SETTLED: ReadonlySet<WorkflowStatus> = new Set(['completed', 'partial', 'failed', 'cancelled', 'paused', 'archived', 'compensated', 'compensation_failed', 'needs_intervention']);

const handlers: Record<string, Handler> = {
  ...recoveryHandlers,
  ...bundleHandlers,
  ...systemHandlers,
  ...helloHandlers,
  ...agentHandlers,
  ...eventHandlers,
  ...subscriptionHandlers,
  ...hubSettingsHandlers,
  ...optimizeSubscriptionsHandlers,
  ...resourceHandlers,
  ...taskLogHandlers,
  ...peopleHandlers,
  ...templateHandlers,
  ...lifecycleHandlers,
  async create(hub, id, _params, raw) {
    const workflowId = id!;
    if (hub.workflows.has(workflowId)) {
      throw new TroupeError('WORKFLOW_EXISTS', `Workflow ${workflowId} already exists`, {
        details: `It is ${statusOf(hub.workflows.get(workflowId)!.actor.getSnapshot())}`,
      });
    }
    const { spec, template } = await resolveCreate(raw, hub.handlers, hub.templatesDir);
    spec.sourceDigest = definitionDigest(raw);
    if (hub.journal && (await hub.journal.checkpoints.list(workflowId)).length > 0) {
      const failure = hub.recovery?.failed.find((f) => f.workflow_id === workflowId);
      throw new TroupeError('WORKFLOW_EXISTS', `Workflow ${workflowId} already exists in the data directory ${hub.journal.dataDir}, but it was not loaded`, {
        details: failure
          ? `At start it could not be recovered: ${failure.code}: ${failure.message}`
          : 'Its checkpoints are there; active workflows are not loaded while auto_recovery is off',
        suggestions: [
          "See 'health' (recovery.failed) for what the start found, and run 'troupe check' for each checkpoint's verdict",
          `To reuse the id, stop the supervisor and move checkpoints/${workflowId}/ out of the data directory`,
        ],
      });
    }
    const tasks = spec.phases.flatMap((p) => p.tasks);
    // before the workflow is registered: nothing after that may fail and leave it behind an error answer
    const critical = criticalPath(tasks);
    const input = { id: workflowId, spec, at: hub.clock.now() };
    const actor = createActor(workflowMachine, hub.trace ? { input, inspect: hub.trace.forWorkflow(workflowId) } : { input });
    actor.start();
    const entry = newEntry(workflowId, actor);
    entry.correlationId = hub.correlationId;
    hub.workflows.set(workflowId, entry);
    let created;
    try {
      // announced after WORKFLOW_CREATED: a workflow's history starts with its creation
      created = await hub.journal?.checkpoint(entry, 'create', { announce: false });
    } catch (error) {
      hub.workflows.delete(workflowId);
      actor.stop();
      throw error;
    }
    hub.bus.publish({
      type: 'WORKFLOW_CREATED',
      workflowId,
      data: {
        name: spec.name,
        workflow_definition: { name: spec.name, phases: spec.phases.map((p) => ({ name: p.name, tasks: p.tasks.map((t) => t.id) })) },
        estimated_duration: formatDuration(critical.durationMs),
        phases: spec.phases.length,
        tasks: tasks.length,
      },
      source: 'hub',
      correlationId: hub.correlationId,
    });
    if (created) hub.journal!.announce(entry, created);
    return {
      result: {
        workflow_id: workflowId,
        status: 'created',
        name: spec.name,
        phases: spec.phases.map((p) => ({ name: p.name, tasks: p.tasks.length })),
        tasks: tasks.length,
        roles: [...new Set(tasks.map((t) => t.role))],
        critical_path: { tasks: critical.path, estimated_duration: formatDuration(critical.durationMs) },
        ...(template === null ? {} : { template }),
        ...(spec.params === undefined ? {} : { params: spec.params }),
      },
      next_steps: [`Start it with '${workflowId} start'`],
      ...(spec.dependencies ? { warnings: [externalDependencyWarning(spec.dependencies)] } : {}),
    };
  },

  /** Kept in the workflow's context (checkpointed); what waits for agents is served in the new order from now on. */
  async 'set-priority'(hub, id, params: { priority: Priority }) {
    const entry = entryOf(hub, id);
    const previous = entry.actor.getSnapshot().context.spec.priority;
    await transition(hub, entry, 'set-priority', { type: 'prioritize', priority: params.priority, at: hub.clock.now() });
    return {
      result: { workflow_id: entry.id, previous_priority: previous, priority: entry.actor.getSnapshot().context.spec.priority },
      next_steps: [`Follow it with '${entry.id} get-status'`],
    };
  },

  async 'get-status'(hub, id, params: { include_output: boolean; include_metrics: boolean; agent_details: boolean; recent_events?: number; format: 'standard' | 'state_sync' }) {
    const entry = entryOf(hub, id);
    if (params.format === 'state_sync') return { result: await stateSyncMessage(hub, entry), next_steps: [] };
    const status = statusOf(entry.actor.getSnapshot());
    const next = allowedOperations(entry)
      .filter((op) => op !== 'get-status' && (op !== 'wait' || !ENDED_STATUSES.has(status)))
      .map((op) => `${entry.id} ${op}`);
    const described = describeWorkflow(entry.actor.getSnapshot(), hub.pool, {
      includeOutput: params.include_output,
      // folded only when shown: include_metrics false leaves the KPIs out
      ...(params.include_metrics ? { kpis: workflowKpis(hub.kpis, entry.id, hub.clock.now()) } : {}),
      includeMetrics: params.include_metrics,
      agentDetails: params.agent_details,
    });
    await addLogTails(hub, entry, described.workflow_state);
    const events = params.recent_events === undefined ? null : await recentEvents(hub, entry.id, params.recent_events);
    return {
      result: events === null ? described : { workflow_state: { ...described.workflow_state, recent_events: events } },
      next_steps: status === 'running' ? [`Block until it ends with '${entry.id} wait'`, ...next] : next,
    };
  },

  'list-workflows'(hub, _id, params: { status?: WorkflowStatus }) {
    const all = [...hub.workflows.values()].map((e) => summarizeWorkflow(e.actor.getSnapshot()));
    const workflows = params.status ? all.filter((w) => w.status === params.status) : all;
    return { result: { workflows, total: workflows.length }, next_steps: workflows.length === 0 ? ["Create one with '<id> create @file'"] : [] };
  },

  async wait(hub, id, params: { timeout: number }) {
    const entry = entryOf(hub, id);
    const settled = () => SETTLED.has(statusOf(entry.actor.getSnapshot()));
    if (!settled()) {
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          entry.watchers.delete(watch);
          timer.cancel();
          hub.waits.delete(abort);
        };
        const watch = () => {
          if (!settled()) return;
          done();
          resolve();
        };
        const abort = (error: TroupeError) => {
          done();
          reject(error);
        };
        const timer = hub.clock.setTimer(params.timeout, () =>
          abort(
            new TroupeError('WAIT_TIMEOUT', `Workflow ${entry.id} did not settle within ${formatDuration(params.timeout)}`, {
              details: `It is ${statusOf(entry.actor.getSnapshot())}`,
            }),
          ),
        );
        entry.watchers.add(watch);
        hub.waits.add(abort);
      });
    }
    const snapshot = entry.actor.getSnapshot();
    const status = statusOf(snapshot);
    return {
      result: { workflow_id: entry.id, status, ...(snapshot.context.failure ? { failure: snapshot.context.failure } : {}) },
      next_steps: status === 'paused' ? [`Resume with '${entry.id} resume'`] : [`See the details with '${entry.id} get-status'`],
    };
  },

  help(_hub, _id, params: { operation?: string }) {
    return { result: helpFor(params.operation), next_steps: [] };
  },
};

/** The handler of an available operation. */
export const operationHandler = (name: string): Handler | undefined => handlers[name];
