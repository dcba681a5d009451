import { formatDuration } from '../durations.js';
import { phaseEndData, phaseStartData, rolesOf } from '../events/event-data.js';
import type { EventType } from '../events/event-record.js';
import type { PhaseRef, WorkflowEntry, WorkflowSnapshot, WorkflowStatus } from './workflow-entry.js';

/** Publishes one event about the workflow (its id, correlation and source are the caller's). */
export type Publish = (type: EventType, phase: string | undefined, data: Record<string, unknown>) => void;

const WORKFLOW_EVENT: Partial<Record<WorkflowStatus, EventType>> = {
  paused: 'WORKFLOW_PAUSED',
  completed: 'WORKFLOW_COMPLETED',
  partial: 'WORKFLOW_COMPLETED',
  failed: 'WORKFLOW_FAILED',
  cancelled: 'WORKFLOW_CANCELLED',
};

const PHASE_EVENT = { completed: 'PHASE_COMPLETED', failed: 'PHASE_FAILED', skipped: 'PHASE_SKIPPED', cancelled: 'PHASE_FAILED' } as const;

/**
 * Announces what changed in a workflow since the last call, as events, each
 * change once: start, pause, resume, every phase's start and end, and the
 * workflow's end. `entry.announced` remembers what was said.
 */
export function announce(entry: WorkflowEntry, snapshot: WorkflowSnapshot, status: WorkflowStatus, publish: Publish): void {
  const seen = entry.announced;
  const ctx = snapshot.context;
  const previous = seen.status;
  seen.status = status;
  const iso = (ms: number | null) => new Date(ms ?? ctx.updatedAt).toISOString();
  if (status !== previous && previous === 'created' && ctx.startedAt !== null) {
    // also when the start ran the whole workflow at once (phases without tasks)
    publish('WORKFLOW_STARTED', undefined, {
      name: ctx.spec.name,
      start_time: iso(ctx.startedAt),
      resource_allocation: { max_agents: ctx.spec.agentRequirements.maxAgents, roles: rolesOf(ctx.spec.phases.flatMap((p) => p.tasks)) },
    });
  } else if (status !== previous && status === 'running' && (previous === 'paused' || previous === 'needs_intervention')) {
    const validation = previous === 'paused' ? 'ok' : 'intervention resolved';
    publish('WORKFLOW_RESUMED', undefined, { name: ctx.spec.name, resume_time: iso(ctx.updatedAt), state_validation: validation });
  }
  if (status !== previous && status === 'paused') {
    const phase = ctx.spec.phases[Math.min(ctx.phaseIndex, ctx.spec.phases.length - 1)]!.name;
    publish('WORKFLOW_PAUSED', undefined, { pause_reason: ctx.pauseReason ?? 'pause requested', current_state: { phase, running_tasks: entry.inFlight.size } });
  }
  for (; seen.phasesRecorded < ctx.phases.length; seen.phasesRecorded++) {
    const outcome = ctx.phases[seen.phasesRecorded]!;
    // a phase a resume_from_phase skipped never started
    if (seen.phaseStarted <= outcome.index && outcome.skipReason === undefined) {
      publish('PHASE_STARTED', outcome.name, phaseStartData(ctx.spec.phases[outcome.index]!, outcome.index));
      seen.phaseStarted = outcome.index + 1;
    }
    publish(PHASE_EVENT[outcome.status], outcome.name, phaseEndData(outcome));
  }
  const live = snapshot.children.phase as PhaseRef | undefined;
  // the compensation phase is announced by the compensation events below, not as a phase of the definition
  if (live && seen.phaseStarted <= ctx.phaseIndex && ctx.phaseIndex < ctx.spec.phases.length) {
    publish('PHASE_STARTED', ctx.spec.phases[ctx.phaseIndex]!.name, phaseStartData(ctx.spec.phases[ctx.phaseIndex]!, ctx.phaseIndex));
    seen.phaseStarted = ctx.phaseIndex + 1;
  }
  announceCompensation(entry, snapshot, status, previous, publish);
  const ended = WORKFLOW_EVENT[status];
  if (status !== previous && ended && status !== 'paused') {
    const base = {
      status,
      ...(ctx.failure ? { error: ctx.failure } : {}),
      duration_ms: (ctx.finishedAt ?? ctx.updatedAt) - (ctx.startedAt ?? ctx.createdAt),
    };
    const tasks = ctx.phases.flatMap((p) => p.tasks);
    const count = (s: string) => tasks.filter((t) => t.status === s).length;
    const ids = (s: string) => tasks.filter((t) => t.status === s).map((t) => t.id);
    const byType: Partial<Record<EventType, Record<string, unknown>>> = {
      WORKFLOW_COMPLETED: {
        completion_time: iso(ctx.finishedAt),
        final_metrics: { tasks_completed: count('completed'), tasks_failed: count('failed'), tasks_skipped: count('skipped'), duration: formatDuration(base.duration_ms) },
        // a partial end names what it left undone
        ...(status === 'partial' ? { failed_tasks: ids('failed'), skipped_tasks: ids('skipped') } : {}),
        // complete {notify_stakeholders}: troupe has no address book, a subscription to this event reaches them
        ...(ctx.notifyStakeholders ? { notify_stakeholders: ctx.notifyStakeholders } : {}),
      },
      WORKFLOW_FAILED: {
        failure_reason: ctx.failure?.message ?? 'failed',
        recovery_options: [`${entry.id} list-checkpoints`, `${entry.id} rollback`, `${entry.id} restore {"checkpoint_id":"…"}`],
      },
      WORKFLOW_CANCELLED: { cancellation_reason: ctx.cancelReason ?? 'cancel requested', cleanup_status: 'running tasks aborted' },
    };
    publish(ended, undefined, { ...base, ...byType[ended] });
  }
}

const UNDOING: ReadonlySet<WorkflowStatus> = new Set(['compensating', 'compensated', 'compensation_failed']);

/**
 * A workflow that fails (or is cancelled) into compensation is announced as
 * failed (or cancelled) first, then COMPENSATION_STARTED with the tasks to
 * undo; its end as WORKFLOW_COMPENSATED with what was undone and what not.
 */
function announceCompensation(entry: WorkflowEntry, snapshot: WorkflowSnapshot, status: WorkflowStatus, previous: WorkflowStatus, publish: Publish): void {
  const ctx = snapshot.context;
  const compensation = ctx.compensation;
  if (!compensation || !UNDOING.has(status)) return;
  const iso = (ms: number | null) => new Date(ms ?? ctx.updatedAt).toISOString();
  const tasks = compensation.spec.tasks.map((t) => t.compensates!);
  if (!UNDOING.has(previous)) {
    const duration_ms = ctx.updatedAt - (ctx.startedAt ?? ctx.createdAt);
    if (compensation.reason === 'failed') {
      publish('WORKFLOW_FAILED', undefined, {
        status: 'failed',
        ...(ctx.failure ? { error: ctx.failure } : {}),
        duration_ms,
        failure_reason: ctx.failure?.message ?? 'failed',
        recovery_options: [`${entry.id} wait`, `${entry.id} get-status`],
        compensation: 'started',
      });
    } else {
      publish('WORKFLOW_CANCELLED', undefined, { status: 'cancelled', duration_ms, cancellation_reason: ctx.cancelReason ?? 'cancel requested', cleanup_status: 'compensating completed tasks' });
    }
    publish('COMPENSATION_STARTED', undefined, { reason: compensation.reason, tasks, start_time: iso(ctx.updatedAt), ...(ctx.failure ? { failure: ctx.failure } : {}) });
  }
  if ((status === 'compensated' || status === 'compensation_failed') && previous !== status) {
    const records = compensation.outcome?.tasks ?? [];
    const undone = (ok: boolean) => records.filter((r) => (r.status === 'completed') === ok).map((r) => compensation.spec.tasks.find((t) => t.id === r.id)!.compensates!);
    publish('WORKFLOW_COMPENSATED', undefined, {
      status,
      reason: compensation.reason,
      compensated_tasks: undone(true),
      failed_compensations: undone(false),
      completion_time: iso(ctx.finishedAt),
    });
  }
}
