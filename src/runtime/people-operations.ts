import { TroupeError } from './errors.js';
import type { HubState } from './hub-state.js';
import { entryOf, type Handler } from './operation-kit.js';
import { requireTask, statusOf, type PhaseRef, type WorkflowEntry } from './scheduling/workflow-entry.js';
import { transition } from './workflow-transitions.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A task of the live phase that waits for a person's decision, or a coded refusal naming what it is instead. */
function interventionTask(entry: WorkflowEntry, taskId: string, operation: string) {
  requireTask(entry, taskId);
  const snapshot = entry.actor.getSnapshot();
  const task = (snapshot.children.phase as PhaseRef | undefined)?.getSnapshot().context.tasks[taskId];
  if (statusOf(snapshot) === 'needs_intervention' && task?.status !== 'needs_intervention') {
    const waiting = Object.values((snapshot.children.phase as PhaseRef).getSnapshot().context.tasks).filter((t) => t.status === 'needs_intervention').map((t) => t.id);
    throw new TroupeError('INVALID_TRANSITION', `Cannot ${operation} task ${taskId} of ${entry.id}: it is ${task?.status ?? 'not in the running phase'}, not waiting for intervention`, {
      details: `Tasks waiting for intervention: ${waiting.join(', ')}`,
    });
  }
  return task;
}

/** How a person answers what waits for them: approvals, and tasks that need intervention (DESIGN §12). */
export const peopleHandlers: Record<string, Handler> = {
  async approve(hub, id, params: { task_id: string; by: string; comment?: string }) {
    const entry = entryOf(hub, id);
    const answered = hub.scheduler.answerApproval(entry, params.task_id, { approved: true, by: params.by, comment: params.comment ?? null });
    await settled(hub, entry, params.task_id, answered.attempt);
    return { result: { workflow_id: entry.id, ...answered, approved: true, by: params.by }, next_steps: [`Follow it with '${entry.id} get-status'`] };
  },

  async reject(hub, id, params: { task_id: string; by: string; reason?: string }) {
    const entry = entryOf(hub, id);
    const answered = hub.scheduler.answerApproval(entry, params.task_id, { approved: false, by: params.by, reason: params.reason ?? null });
    await settled(hub, entry, params.task_id, answered.attempt);
    return { result: { workflow_id: entry.id, ...answered, approved: false, by: params.by }, next_steps: [`See what follows with '${entry.id} get-status'`] };
  },

  approvals(hub) {
    const pending = [...hub.workflows.values()].flatMap((entry) =>
      hub.scheduler.pendingApprovals(entry).map((task) => ({
        workflow_id: entry.id,
        task_id: task.id,
        prompt: task.approval.prompt,
        requested_at: iso(task.startedAt),
        deadline: iso(task.approval.deadline),
        on_timeout: task.approval.onTimeout,
        attempt: task.attempts,
        approve: `${entry.id} approve {"task_id":"${task.id}","by":"<you>"}`,
        reject: `${entry.id} reject {"task_id":"${task.id}","by":"<you>","reason":"…"}`,
      })),
    );
    return {
      result: { approvals: pending, count: pending.length },
      next_steps: pending.length === 0 ? [] : [`Answer with '${pending[0]!.approve}' or '${pending[0]!.reject}'`],
    };
  },

  async 'retry-task'(hub, id, params: { task_id: string }) {
    const entry = entryOf(hub, id);
    interventionTask(entry, params.task_id, 'retry-task');
    const previous = await transition(hub, entry, 'retry-task', { type: 'retry-task', taskId: params.task_id, at: hub.clock.now() });
    return {
      result: { workflow_id: entry.id, task_id: params.task_id, previous_status: previous, status: statusOf(entry.actor.getSnapshot()) },
      next_steps: [`Follow it with '${entry.id} logs {"task_id":"${params.task_id}"}'`],
    };
  },

  async 'skip-task'(hub, id, params: { task_id: string; output?: unknown }) {
    const entry = entryOf(hub, id);
    interventionTask(entry, params.task_id, 'skip-task');
    const event = { type: 'skip-task' as const, taskId: params.task_id, at: hub.clock.now(), ...(params.output === undefined ? {} : { output: params.output }) };
    const previous = await transition(hub, entry, 'skip-task', event);
    return {
      result: {
        workflow_id: entry.id,
        task_id: params.task_id,
        task_status: params.output === undefined ? 'skipped' : 'completed',
        previous_status: previous,
        status: statusOf(entry.actor.getSnapshot()),
      },
      next_steps: [`Follow it with '${entry.id} get-status'`],
    };
  },
};

/** Resolves once the answer is applied (logged first, as every outcome), so the response reflects it. */
function settled(hub: HubState, entry: WorkflowEntry, taskId: string, attempt: number): Promise<void> {
  const done = () => {
    const task = (entry.actor.getSnapshot().children.phase as PhaseRef | undefined)?.getSnapshot().context.tasks[taskId];
    return !task || task.status !== 'waiting_approval' || task.attempts !== attempt;
  };
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      entry.watchers.delete(watcher);
      hub.waits.delete(closing);
      resolve();
    };
    const watcher = () => {
      if (done()) finish();
    };
    // a hub that closes meanwhile answers anyway: the answer is in the log, applied at the next start
    const closing = () => finish();
    entry.watchers.add(watcher);
    hub.waits.add(closing);
  });
}
