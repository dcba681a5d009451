import { z } from 'zod';
import type { Clock } from '../../actors/clock.js';
import type { TaskError, TaskRecord, TaskSpec } from '../../machines/types.js';
import type { OutcomeRecord } from '../durability/journal.js';
import { parseDuration } from '../durations.js';
import { TroupeError } from '../errors.js';
import type { EventType } from '../events/event-record.js';
import { requireTask, statusOf, type PhaseRef, type WorkflowEntry, type WorkflowSnapshot } from './workflow-entry.js';

/** The input of `handler: approval` (DESIGN §12). */
export const approvalInputSchema = z.strictObject({
  prompt: z.string().trim().min(1, 'must say what is to be approved'),
  /** how long the approval may wait; absent: until someone answers */
  timeout: z
    .union([z.string(), z.number()])
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: `Expected a duration such as "30m" or "2h", got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return ms;
    })
    .optional(),
  /** what its deadline does: reject (default) or approve */
  on_timeout: z.enum(['reject', 'approve']).default('reject'),
});

/** The agent an answered approval is recorded under: a person, not an agent of the pool. */
export const PERSON = 'person';

/** A person's answer to an approval. */
export type ApprovalAnswer = { approved: true; by: string; comment: string | null } | { approved: false; by: string; reason: string | null };

export interface ApprovalGatesDeps {
  clock: Clock;
  /** logs an outcome, then applies it (the scheduler's path for every outcome) */
  record(entry: WorkflowEntry, phase: PhaseRef, record: OutcomeRecord): void;
  publish(entry: WorkflowEntry, type: EventType, phase: string | undefined, data: Record<string, unknown>): void;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Approval gates: a ready `approval` task waits in `waiting_approval` for a
 * person, holding no agent and no thread. Its deadline is a timer on the
 * injected clock, re-armed from the task record after a restart; an answer
 * (or the deadline's `on_timeout`) becomes the task's outcome through the
 * same log as every outcome, so it survives a crash once acknowledged.
 */
export class ApprovalGates {
  readonly #deps: ApprovalGatesDeps;
  /** deadline timers by workflow entry, then task id */
  readonly #timers = new WeakMap<WorkflowEntry, Map<string, { attempt: number; cancel(): void }>>();
  /**
   * The tasks each live phase waits on a person for: found by one scan when a
   * phase is first seen (a restored one may hold waiting approvals), then kept
   * as requests come, so arming after every pump does not walk every task.
   */
  readonly #waiting = new WeakMap<PhaseRef, Set<string>>();
  /** answers being logged, by workflow entry: a second answer meanwhile is refused, not logged twice */
  readonly #answering = new WeakMap<WorkflowEntry, Set<string>>();

  constructor(deps: ApprovalGatesDeps) {
    this.#deps = deps;
  }

  /** A ready approval task starts waiting: its request is announced; a bad input fails it instead. */
  request(entry: WorkflowEntry, phase: PhaseRef, spec: TaskSpec, attempt: number, input: unknown): void {
    const now = this.#deps.clock.now();
    const parsed = approvalInputSchema.safeParse(input ?? {});
    if (!parsed.success) {
      phase.send({ type: 'task.assigned', taskId: spec.id, agentId: PERSON, at: now });
      const error: TaskError = { name: 'ApprovalError', code: 'APPROVAL_INPUT_INVALID', message: `Task ${spec.id}: ${z.prettifyError(parsed.error)}`, retryable: false };
      this.#deps.record(entry, phase, outcome(entry, { id: spec.id, startedAt: now }, attempt, now, { ok: false, error }));
      return;
    }
    const { prompt, timeout, on_timeout } = parsed.data;
    const deadline = timeout === undefined ? null : now + timeout;
    phase.send({ type: 'task.awaiting', taskId: spec.id, prompt, deadline, onTimeout: on_timeout, at: now });
    this.#waitingIn(phase).add(spec.id);
    this.#deps.publish(entry, 'APPROVAL_REQUESTED', phase.getSnapshot().context.name, {
      task_id: spec.id,
      prompt,
      attempt,
      deadline: deadline === null ? null : iso(deadline),
      on_timeout,
      approve: `${entry.id} approve {"task_id":"${spec.id}","by":"<you>"}`,
      reject: `${entry.id} reject {"task_id":"${spec.id}","by":"<you>","reason":"…"}`,
    });
  }

  /** Arms the deadline of every approval the live phase waits on (after every change, and after a restart). */
  arm(entry: WorkflowEntry, snapshot: WorkflowSnapshot): void {
    const phase = snapshot.children.phase as PhaseRef | undefined;
    if (!phase) return;
    let timers = this.#timers.get(entry);
    const waiting = this.#waitingIn(phase);
    for (const id of waiting) {
      const task = phase.getSnapshot().context.tasks[id];
      if (task?.status !== 'waiting_approval') {
        waiting.delete(id);
        continue;
      }
      if (!task.approval || task.approval.deadline === null) continue;
      if (timers?.get(task.id)?.attempt === task.attempts) continue;
      if (!timers) this.#timers.set(entry, (timers = new Map()));
      const { deadline } = task.approval;
      const handle = this.#deps.clock.setTimer(Math.max(0, deadline - this.#deps.clock.now()), () => {
        timers!.delete(task.id);
        this.#expire(entry, phase, task.id, task.attempts);
      });
      timers.set(task.id, { attempt: task.attempts, cancel: () => handle.cancel() });
    }
  }

  #waitingIn(phase: PhaseRef): Set<string> {
    let ids = this.#waiting.get(phase);
    if (!ids) {
      ids = new Set(Object.values(phase.getSnapshot().context.tasks).filter((t) => t.status === 'waiting_approval').map((t) => t.id));
      this.#waiting.set(phase, ids);
    }
    return ids;
  }

  /** Cancels every deadline of the workflow (it ended, or its actor is replaced). */
  disarm(entry: WorkflowEntry): void {
    for (const timer of this.#timers.get(entry)?.values() ?? []) timer.cancel();
    this.#timers.delete(entry);
  }

  /** The approvals a workflow waits on now. */
  pending(entry: WorkflowEntry): (TaskRecord & { approval: NonNullable<TaskRecord['approval']> })[] {
    const phase = entry.actor.getSnapshot().children.phase as PhaseRef | undefined;
    const tasks = phase ? Object.values(phase.getSnapshot().context.tasks) : [];
    return tasks.filter((t): t is TaskRecord & { approval: NonNullable<TaskRecord['approval']> } => t.status === 'waiting_approval' && t.approval !== undefined);
  }

  /** A person's answer: checked (the task waits, in time, not answered already), then logged and applied. */
  answer(entry: WorkflowEntry, taskId: string, answer: ApprovalAnswer): { task_id: string; attempt: number } {
    const snapshot = entry.actor.getSnapshot();
    const phase = snapshot.children.phase as PhaseRef | undefined;
    const live = phase?.getSnapshot().context.tasks[taskId];
    const operation = answer.approved ? 'approve' : 'reject';
    requireTask(entry, taskId);
    // a task of an ended phase is told by its record there; one of a phase not begun yet is pending
    const task = live ?? snapshot.context.phases.flatMap((p) => p.tasks).find((t) => t.id === taskId);
    const answering = this.#answering.get(entry) ?? new Set<string>();
    if (!phase || !task || task.status !== 'waiting_approval' || answering.has(taskId)) {
      const state = answering.has(taskId) ? 'already answered (the answer is being recorded)' : task ? describeState(task) : `pending (the workflow is ${statusOf(snapshot)})`;
      throw new TroupeError('APPROVAL_NOT_PENDING', `Task ${taskId} of ${entry.id} does not wait for an approval: it is ${state}`, {
        details: `${operation} answers a task in waiting_approval; see them all with 'approvals'`,
      });
    }
    const now = this.#deps.clock.now();
    const deadline = task.approval?.deadline ?? null;
    if (deadline !== null && now >= deadline) {
      throw new TroupeError('APPROVAL_EXPIRED', `The approval of task ${taskId} of ${entry.id} expired at ${iso(deadline)}`, {
        details: `Its on_timeout (${task.approval!.onTimeout}) decides it`,
      });
    }
    answering.add(taskId);
    this.#answering.set(entry, answering);
    this.#timers.get(entry)?.get(taskId)?.cancel();
    this.#timers.get(entry)?.delete(taskId);
    const result = answer.approved
      ? { ok: true as const, output: { approved: true, by: answer.by, comment: answer.comment, at: iso(now) } }
      : { ok: false as const, error: rejection(taskId, answer.by, answer.reason, now) };
    this.#deps.record(entry, phase, outcome(entry, task, task.attempts, now, result));
    return { task_id: taskId, attempt: task.attempts };
  }

  /** An outcome of an approval was applied (or dropped): the task may be answered again if it waits again. */
  settled(entry: WorkflowEntry, taskId: string): void {
    this.#answering.get(entry)?.delete(taskId);
  }

  /** The deadline passed: `on_timeout` answers, as "timeout". */
  #expire(entry: WorkflowEntry, phase: PhaseRef, taskId: string, attempt: number): void {
    const task = phase.getSnapshot().context.tasks[taskId];
    if (task?.status !== 'waiting_approval' || task.attempts !== attempt || this.#answering.get(entry)?.has(taskId)) return;
    const now = this.#deps.clock.now();
    const approve = task.approval?.onTimeout === 'approve';
    const result = approve
      ? { ok: true as const, output: { approved: true, by: 'timeout', comment: 'approved by on_timeout: approve', at: iso(now), timed_out: true } }
      : { ok: false as const, error: rejection(taskId, 'timeout', 'no answer before the deadline (on_timeout: reject)', now) };
    this.#answering.set(entry, (this.#answering.get(entry) ?? new Set()).add(taskId));
    this.#deps.record(entry, phase, outcome(entry, task, attempt, now, result));
  }
}

function rejection(taskId: string, by: string, reason: string | null, at: number): TaskError {
  return {
    name: 'ApprovalRejected',
    code: 'APPROVAL_REJECTED',
    message: `The approval of ${taskId} was rejected by ${by}${reason ? `: ${reason}` : ''}`,
    retryable: false,
    data: { approved: false, by, reason, at: iso(at) },
  };
}

/** An approval's outcome; its duration is how long it waited. */
function outcome(entry: WorkflowEntry, task: Pick<TaskRecord, 'id' | 'startedAt'>, attempt: number, at: number, result: { ok: true; output: unknown } | { ok: false; error: TaskError }): OutcomeRecord {
  return {
    kind: 'outcome',
    workflow_id: entry.id,
    epoch: entry.epoch,
    task_id: task.id,
    attempt,
    agent_id: PERSON,
    ok: result.ok,
    output: result.ok ? result.output : null,
    error: result.ok ? null : result.error,
    duration_ms: Math.max(0, at - (task.startedAt ?? at)),
    at,
    retry_at: at,
  };
}

/** A task's state in words, for a refused answer. */
function describeState(task: TaskRecord): string {
  if (task.status === 'completed' && (task.output as { approved?: boolean } | null)?.approved) {
    const out = task.output as { by?: string; at?: string };
    return `completed: approved by ${out.by ?? 'someone'} at ${out.at ?? '?'}`;
  }
  if (task.status === 'failed' && task.error?.code === 'APPROVAL_REJECTED') return `failed: ${task.error.message}`;
  return task.status;
}
