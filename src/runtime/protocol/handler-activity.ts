import type { EventRecord } from '../events/event-record.js';
import type { WorkflowSpec } from '../../machines/types.js';

/** What one handler did, measured from the task outcomes. */
export interface HandlerStats {
  last_activity: number;
  runs: number;
  failures: number;
}

const ENDS = new Set(['TASK_COMPLETED', 'TASK_FAILED', 'TASK_TIMEOUT', 'TASK_COMPENSATED', 'TASK_COMPENSATION_FAILED']);

/**
 * Each handler's last finished attempt and counts, for `health`'s handler
 * components: fed every event; a task outcome is charged to the handler its
 * task names (looked up once per workflow definition).
 */
export class HandlerActivity {
  readonly #stats = new Map<string, HandlerStats>();
  readonly #handlerOf = new WeakMap<WorkflowSpec, Map<string, string>>();

  /** `specOf` finds the definition of the event's workflow. */
  apply(event: EventRecord, specOf: (workflowId: string) => WorkflowSpec | undefined): void {
    if (!ENDS.has(event.event_type)) return;
    const spec = specOf(event.workflow_id);
    if (!spec) return;
    const taskId = (event.data as { task_id?: unknown }).task_id;
    if (typeof taskId !== 'string') return;
    // a compensation's events are named by the task it undoes: its handler is that task's compensate
    const compensation = event.event_type.startsWith('TASK_COMPENSAT');
    const handler = this.#handlers(spec).get(compensation ? `${taskId}#compensate` : taskId);
    if (handler === undefined) return;
    const stats = this.#stats.get(handler) ?? { last_activity: 0, runs: 0, failures: 0 };
    stats.runs++;
    if (event.event_type !== 'TASK_COMPLETED' && event.event_type !== 'TASK_COMPENSATED') stats.failures++;
    stats.last_activity = Date.parse(event.timestamp);
    this.#stats.set(handler, stats);
  }

  of(handler: string): HandlerStats | undefined {
    return this.#stats.get(handler);
  }

  #handlers(spec: WorkflowSpec): Map<string, string> {
    let map = this.#handlerOf.get(spec);
    if (!map) {
      map = new Map();
      for (const phase of spec.phases) {
        for (const task of phase.tasks) {
          map.set(task.id, task.handler);
          if (task.compensate) map.set(`${task.id}#compensate`, task.compensate.handler);
        }
      }
      this.#handlerOf.set(spec, map);
    }
    return map;
  }
}
