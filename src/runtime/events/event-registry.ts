import { z } from 'zod';
import type { EventType } from './event-record.js';

/**
 * The `data` each event type must carry: the "data requirements" of the
 * protocol's event registry, plus troupe's own types. Extra fields are
 * allowed (troupe adds e.g. `attempt`); the required ones are checked for
 * events users publish, and the tests check every event the runtime publishes.
 */
const needs = (shape: z.ZodRawShape) => z.looseObject(shape);
const id = z.string().min(1);
const time = z.string().min(1);
const duration = z.string();
const anyValue = z.unknown().refine((v) => v !== undefined, 'required');

export const EVENT_DATA: Readonly<Record<EventType, z.ZodType>> = {
  WORKFLOW_CREATED: needs({ workflow_definition: anyValue, estimated_duration: duration }),
  WORKFLOW_STARTED: needs({ start_time: time, resource_allocation: anyValue }),
  WORKFLOW_PAUSED: needs({ pause_reason: z.string(), current_state: anyValue }),
  WORKFLOW_RESUMED: needs({ resume_time: time, state_validation: anyValue }),
  WORKFLOW_COMPLETED: needs({ completion_time: time, final_metrics: anyValue }),
  WORKFLOW_FAILED: needs({ failure_reason: z.string(), recovery_options: z.array(z.string()) }),
  WORKFLOW_CANCELLED: needs({ cancellation_reason: z.string(), cleanup_status: z.string() }),
  PHASE_STARTED: needs({ phase_id: z.number().int().min(1), estimated_duration: duration, resource_allocation: anyValue }),
  PHASE_COMPLETED: needs({ phase_id: z.number().int().min(1), actual_duration: duration, success_metrics: anyValue }),
  PHASE_FAILED: needs({ phase_id: z.number().int().min(1), failure_reason: z.string(), partial_results: anyValue }),
  PHASE_SKIPPED: needs({ phase_id: z.number().int().min(1), skip_reason: z.string(), impact_assessment: anyValue }),
  PHASE_PROGRESS: needs({ phase_id: z.number().int().min(1), progress_percentage: z.number().min(0).max(100), eta_update: anyValue }),
  TASK_ASSIGNED: needs({ task_id: id, agent_id: id, estimated_duration: duration }),
  TASK_STARTED: needs({ task_id: id, agent_id: id, start_time: time }),
  TASK_COMPLETED: needs({ task_id: id, agent_id: id, duration, results: anyValue }),
  TASK_FAILED: needs({ task_id: id, agent_id: id, failure_reason: z.string(), retry_count: z.number().int().min(0) }),
  TASK_TIMEOUT: needs({ task_id: id, agent_id: id, timeout_duration: duration }),
  TASK_REASSIGNED: needs({ task_id: id, old_agent: z.string().nullable(), new_agent: z.string().nullable(), reason: z.string() }),
  // troupe's own: an exec attempt found its process from an earlier supervisor (adopted, recorded or restarted)
  TASK_RECOVERED: needs({ task_id: id, agent_id: id, attempt: z.number().int().min(1), process: z.enum(['adopted', 'recorded', 'restarted']), pid: z.number().int() }),
  // troupe's own (DESIGN §11): a failed or cancelled workflow undoes its completed tasks
  COMPENSATION_STARTED: needs({ reason: z.enum(['failed', 'cancelled']), tasks: z.array(id) }),
  TASK_COMPENSATED: needs({ task_id: id, compensation_task_id: id, agent_id: id, duration, results: anyValue }),
  TASK_COMPENSATION_FAILED: needs({ task_id: id, compensation_task_id: id, agent_id: id, failure_reason: z.string(), will_retry: z.boolean() }),
  WORKFLOW_COMPENSATED: needs({
    status: z.enum(['compensated', 'compensation_failed']),
    compensated_tasks: z.array(id),
    failed_compensations: z.array(id),
  }),
  // troupe's own (DESIGN §12): a person's answer to an approval gate
  APPROVAL_REQUESTED: needs({ task_id: id, prompt: z.string(), deadline: z.string().nullable(), on_timeout: z.enum(['approve', 'reject']) }),
  APPROVAL_GRANTED: needs({ task_id: id, by: z.string(), at: time }),
  APPROVAL_REJECTED: needs({ task_id: id, by: z.string(), at: time }),
  AGENT_ALLOCATED: needs({ agent_id: id, workflow_id: z.string(), role: z.string(), capabilities: z.array(z.string()) }),
  AGENT_DEALLOCATED: needs({ agent_id: id, workflow_id: z.string(), reason: z.string() }),
  AGENT_PERFORMANCE_ALERT: needs({ agent_id: id, performance_metric: z.string(), threshold: anyValue }),
  AGENT_ERROR: needs({ agent_id: id, error_type: z.string(), error_details: anyValue }),
  AGENT_TIMEOUT: needs({ agent_id: id, timeout_duration: duration, last_response: anyValue }),
  RESOURCE_ALLOCATED: needs({ allocation_id: id, resource_details: anyValue, requester: z.string() }),
  RESOURCE_DEALLOCATED: needs({ allocation_id: id, release_reason: z.string() }),
  RESOURCE_CONFLICT: needs({ conflict_id: id, conflicting_requests: anyValue, severity: z.string() }),
  RESOURCE_THRESHOLD: needs({ resource_type: z.string(), current_usage: anyValue, threshold: anyValue }),
  RESOURCE_OPTIMIZED: needs({ optimization_type: z.string(), improvement_metrics: anyValue }),
  SYSTEM_STARTUP: needs({ component_name: z.string(), version: z.string(), capabilities: z.array(z.string()) }),
  SYSTEM_SHUTDOWN: needs({ component_name: z.string(), shutdown_reason: z.string() }),
  SYSTEM_THRESHOLD: needs({ metric_name: z.string(), current_value: anyValue, threshold: anyValue }),
  SYSTEM_ERROR: needs({ error_type: z.string(), affected_components: z.array(z.string()), severity: z.string() }),
  SYSTEM_MAINTENANCE: needs({ operation_type: z.string(), estimated_duration: duration, impact: anyValue }),
  CHECKPOINT_CREATED: needs({ checkpoint: id }),
  CHECKPOINT_RESTORED: needs({ checkpoint: id }),
  ERROR_ENCOUNTERED: needs({ component: z.string() }),
  EVENT_DEAD_LETTERED: needs({ original_event_id: id, subscription_id: id, reason: z.string() }),
  ACTOR_TRACE: needs({
    inspection: z.enum(['@xstate.event', '@xstate.snapshot']),
    actor_kind: z.enum(['workflow', 'phase', 'agent', 'pool']),
    actor_id: id,
    event_type: z.string(),
  }),
};
