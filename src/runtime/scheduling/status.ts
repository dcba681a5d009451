import { computeWaves, criticalPath } from '../../machines/task-graph.js';
import type { TaskRecord, TaskSpec } from '../../machines/types.js';
import { isDone, newTaskRecord } from '../../machines/phase-records.js';
import { RESUME_SKIP_REASON } from '../../machines/resume-from.js';
import type { AgentPool } from '../agents/agent-pool.js';
import { formatDuration } from '../durations.js';
import { statusOf, type PhaseRef, type WorkflowSnapshot } from './workflow-entry.js';
import { remainingPathsOf } from './task-order.js';
import { agentAssignments, efficiencyMetrics, type WorkflowKpis } from './status-extras.js';
import { describeDependencies } from './workflow-dependencies.js';

const UNDOING: ReadonlySet<string> = new Set(['compensating', 'compensated', 'compensation_failed']);

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function describeTask(spec: TaskSpec, record: TaskRecord, wave: number, remainingMs: number, includeOutput: boolean, undo: TaskRecord | undefined) {
  const ms = record.startedAt !== null && record.finishedAt !== null ? record.finishedAt - record.startedAt : null;
  return {
    task_id: spec.id,
    description: spec.description,
    // a completed task whose compensation completed is `compensated` (DESIGN §11)
    status: record.status === 'completed' && undo?.status === 'completed' ? 'compensated' : record.status,
    handler: spec.handler,
    role: spec.role,
    wave: wave + 1,
    depends_on: spec.dependsOn,
    // what orders its workflow's ready tasks: its estimate plus the longest chain of its dependents
    remaining_path: formatDuration(remainingMs),
    assigned_agent: record.agentId,
    attempts: record.attempts,
    started_at: iso(record.startedAt),
    completed_at: iso(record.finishedAt),
    execution_time: ms === null ? null : formatDuration(ms),
    execution_time_ms: ms,
    ...(record.notBefore !== null && record.status === 'ready' ? { retry_at: iso(record.notBefore) } : {}),
    ...(record.error ? { error: record.error } : {}),
    ...(record.reason ? { reason: record.reason } : {}),
    ...(record.status === 'waiting_approval' && record.approval
      ? { approval: { prompt: record.approval.prompt, deadline: iso(record.approval.deadline), on_timeout: record.approval.onTimeout } }
      : {}),
    ...(spec.onFailure ? { on_failure: spec.onFailure } : {}),
    ...(spec.when === undefined ? {} : { when: spec.when }),
    ...(spec.allowFailure ? { allow_failure: true } : {}),
    ...(undo ? { compensation: describeUndo(undo) } : {}),
    ...(includeOutput && record.status === 'completed' ? { output: record.output } : {}),
  };
}

/** A compensation's record, as shown under the task it undoes. */
const describeUndo = (undo: TaskRecord) => ({
  task_id: undo.id,
  status: undo.status,
  attempts: undo.attempts,
  assigned_agent: undo.agentId,
  started_at: iso(undo.startedAt),
  completed_at: iso(undo.finishedAt),
  ...(undo.error ? { error: undo.error } : {}),
});

/** The compensation tasks of a workflow with their records (fresh ones for those not started): empty before a compensation began. */
export function compensationTasks(snapshot: WorkflowSnapshot): { spec: TaskSpec; record: TaskRecord }[] {
  const specs = snapshot.context.compensation?.spec.tasks ?? [];
  const records = compensationRecords(snapshot);
  return specs.map((spec) => ({ spec, record: records.get(spec.compensates!) ?? newTaskRecord(spec.id) }));
}

/** The compensation records of a workflow, by the id of the task each undoes: live while it compensates, else from its outcome. */
function compensationRecords(snapshot: WorkflowSnapshot): Map<string, TaskRecord> {
  const compensation = snapshot.context.compensation;
  const found = new Map<string, TaskRecord>();
  if (!compensation) return found;
  const live = statusOf(snapshot) === 'compensating' ? (snapshot.children.phase as PhaseRef | undefined)?.getSnapshot().context.tasks : undefined;
  const ended = compensation.outcome ? new Map(compensation.outcome.tasks.map((t) => [t.id, t])) : undefined;
  for (const spec of compensation.spec.tasks) {
    const record = live?.[spec.id] ?? ended?.get(spec.id);
    if (record) found.set(spec.compensates!, record);
  }
  return found;
}

/** The compensation section of `get-status`: why it ran, how it stands, and each compensation in order. */
function describeCompensation(snapshot: WorkflowSnapshot, undos: ReadonlyMap<string, TaskRecord>) {
  const compensation = snapshot.context.compensation;
  if (!compensation) return {};
  const status = statusOf(snapshot);
  return {
    compensation: {
      reason: compensation.reason,
      status: status === 'compensating' ? 'running' : status === 'compensated' ? 'compensated' : 'compensation_failed',
      tasks: compensation.spec.tasks.map((spec) => ({
        ...describeUndo(undos.get(spec.compensates!) ?? newTaskRecord(spec.id)),
        task_id: spec.compensates!,
        compensation_task_id: spec.id,
        handler: spec.handler,
        // the compensations that run before this one
        after: spec.dependsOn,
      })),
    },
  };
}

/** Task records of every phase: ended ones from their outcome, the live one from its actor, later ones fresh. */
export function phaseRecords(snapshot: WorkflowSnapshot) {
  const ctx = snapshot.context;
  const live = snapshot.children.phase as PhaseRef | undefined;
  const ended = !['running', 'paused', 'needs_intervention', 'created'].includes(statusOf(snapshot));
  return ctx.spec.phases.map((spec, index) => {
    const outcome = ctx.phases[index];
    if (outcome) {
      const resumed = outcome.skipReason === RESUME_SKIP_REASON;
      return { spec, status: outcome.status as string, startedAt: outcome.startedAt, finishedAt: outcome.finishedAt, tasks: outcome.tasks, resumed };
    }
    const liveCtx = live?.getSnapshot().context;
    if (liveCtx && liveCtx.index === index) {
      return { spec, status: 'running', startedAt: liveCtx.startedAt, finishedAt: null, tasks: spec.tasks.map((t) => liveCtx.tasks[t.id]!), resumed: false };
    }
    // phases that never ran: cancelled with their workflow, or skipped when it ended otherwise
    const never = statusOf(snapshot) === 'cancelled' ? ('cancelled' as const) : ('skipped' as const);
    const fresh = spec.tasks.map((t) => (ended ? { ...newTaskRecord(t.id), status: never } : newTaskRecord(t.id)));
    return { spec, status: ended ? never : 'pending', startedAt: null, finishedAt: null, tasks: fresh, resumed: false };
  });
}

/**
 * Share of the work done, 0..100 with one decimal: the tasks whose work is
 * done (`isDone`: completed, or ended benignly, e.g. skipped by
 * `resume_from_phase` as done before) over all tasks, or, for a workflow
 * without tasks, the phases that completed (or that `resume_from_phase` left
 * out). A failed, cancelled or skipped-by-a-failure task is no progress, so a
 * failed, cancelled or partial workflow stays below 100; a completed one is
 * 100 (also when `complete` ended it early and skipped the rest).
 */
function progressOf(snapshot: WorkflowSnapshot, phases: ReturnType<typeof phaseRecords>): number {
  // completed, or archived after `complete` ended it early
  if (statusOf(snapshot) === 'completed' || snapshot.context.phases.some((o) => o.stoppedBy === 'complete')) return 100;
  const tasks = phases.flatMap((p) => p.tasks);
  const share =
    tasks.length > 0
      ? tasks.filter(isDone).length / tasks.length
      : phases.filter((p) => p.status === 'completed' || p.resumed).length / Math.max(1, phases.length);
  return Math.round(share * 1000) / 10;
}

/** The name of the phase running now, or of the last one once all ran. */
const currentPhaseName = (snapshot: WorkflowSnapshot) => {
  const { spec, phaseIndex } = snapshot.context;
  return spec.phases[Math.min(phaseIndex, spec.phases.length - 1)]!.name;
};

/**
 * The spec's workflow state schema for `get-status`: status, current phase,
 * progress, phases with their tasks, agent assignments, critical path,
 * configuration and metrics.
 */
export function describeWorkflow(
  snapshot: WorkflowSnapshot,
  /** null when no pool runs (read from the data directory): no agent assignments then */
  pool: AgentPool | null,
  options: { includeOutput: boolean; kpis?: WorkflowKpis; includeMetrics?: boolean; agentDetails?: boolean },
) {
  const ctx = snapshot.context;
  const status = statusOf(snapshot);
  const phases = phaseRecords(snapshot);
  const allTasks = phases.flatMap((p) => p.tasks);
  const count = (s: TaskRecord['status']) => allTasks.filter((t) => t.status === s).length;
  const idsWith = (s: TaskRecord['status']) => allTasks.filter((t) => t.status === s).map((t) => t.id);
  const specs = ctx.spec.phases.flatMap((p) => p.tasks);
  const waves = computeWaves(specs);
  const remaining = remainingPathsOf(ctx.spec.phases);
  // the critical path of the work that runs: a task its condition skipped adds nothing
  const skippedByCondition = new Set(allTasks.filter((t) => t.status === 'skipped' && t.reason === 'condition').map((t) => t.id));
  const critical = criticalPath(skippedByCondition.size === 0 ? specs : specs.filter((s) => !skippedByCondition.has(s.id)));
  const undos = compensationRecords(snapshot);
  const end = ctx.finishedAt ?? (status === 'created' ? null : ctx.updatedAt);
  return {
    workflow_state: {
      id: ctx.id,
      name: ctx.spec.name,
      description: ctx.spec.description,
      status,
      created_at: iso(ctx.createdAt),
      updated_at: iso(ctx.updatedAt),
      started_at: iso(ctx.startedAt),
      finished_at: iso(ctx.finishedAt),
      current_phase: Math.min(ctx.phaseIndex + 1, phases.length),
      current_phase_name: currentPhaseName(snapshot),
      total_phases: phases.length,
      progress_percentage: progressOf(snapshot, phases),
      definition_digest: ctx.spec.sourceDigest ?? null,
      ...(ctx.failure ? { failure: ctx.failure } : {}),
      ...(status === 'paused' && ctx.pauseReason ? { pause_reason: ctx.pauseReason } : {}),
      ...(ctx.cancelReason ? { cancel_reason: ctx.cancelReason } : {}),
      ...(ctx.resumedFromPhase === undefined ? {} : { resumed_from_phase: ctx.resumedFromPhase + 1 }),
      ...(ctx.notifyStakeholders ? { notify_stakeholders: ctx.notifyStakeholders } : {}),
      // what a partial (or failed) end left undone, by id
      ...(status === 'partial' || status === 'failed' || UNDOING.has(status) ? { failed_tasks: idsWith('failed'), skipped_tasks: idsWith('skipped') } : {}),
      phases: phases.map((p, index) => ({
        phase_id: index + 1,
        name: p.spec.name,
        status: p.status,
        started_at: iso(p.startedAt),
        completed_at: iso(p.finishedAt),
        tasks: p.spec.tasks.map((spec, i) => describeTask(spec, p.tasks[i]!, waves.get(spec.id) ?? 0, remaining.get(spec.id) ?? 1, options.includeOutput, undos.get(spec.id))),
      })),
      ...describeCompensation(snapshot, undos),
      ...(options.agentDetails === false || pool === null ? {} : { agent_assignments: agentAssignments(specs, allTasks, pool) }),
      dependencies: describeDependencies(ctx.spec),
      critical_path: { tasks: critical.path, estimated_duration: formatDuration(critical.durationMs) },
      configuration: {
        priority: ctx.spec.priority,
        timeout: formatDuration(ctx.spec.timeoutMs),
        checkpoint_interval: formatDuration(ctx.spec.checkpointIntervalMs),
        failure_tolerance: ctx.spec.failureTolerance,
        min_agents: ctx.spec.agentRequirements.minAgents,
        max_agents: ctx.spec.agentRequirements.maxAgents,
        specialized_roles: ctx.spec.agentRequirements.specializedRoles,
        ...(ctx.spec.params === undefined ? {} : { params: ctx.spec.params }),
      },
      ...(options.includeMetrics === false
        ? {}
        : {
            metrics: {
              total_execution_time: end === null || ctx.startedAt === null ? null : formatDuration(end - ctx.startedAt),
              tasks_total: allTasks.length,
              tasks_completed: count('completed'),
              tasks_failed: count('failed'),
              tasks_skipped: count('skipped'),
              tasks_cancelled: count('cancelled'),
              tasks_compensated: [...undos.values()].filter((u) => u.status === 'completed').length,
              tasks_running: count('running') + count('assigned'),
              retries: allTasks.reduce((n, t) => n + Math.max(0, t.attempts - 1), 0),
              ...efficiencyMetrics(allTasks, options.kpis),
            },
            // its own KPIs, from the event history (metrics/kpi-report.ts workflowKpis)
            ...(options.kpis === undefined ? {} : { kpis: options.kpis }),
          }),
    },
  };
}

/** One line of `list-workflows`. */
export function summarizeWorkflow(snapshot: WorkflowSnapshot) {
  const ctx = snapshot.context;
  const phases = phaseRecords(snapshot);
  return {
    workflow_id: ctx.id,
    name: ctx.spec.name,
    status: statusOf(snapshot),
    priority: ctx.spec.priority,
    current_phase: currentPhaseName(snapshot),
    progress_percentage: progressOf(snapshot, phases),
    definition_digest: ctx.spec.sourceDigest ?? null,
    created_at: iso(ctx.createdAt),
    updated_at: iso(ctx.updatedAt),
  };
}
