/** Shared helpers of the resource manager tests (not a test file itself). */
import { expect } from 'vitest';
import { z } from 'zod';
import type { EventRecord, Hub, ManualClock } from '../src/index.js';
import { EVENT_DATA } from '../src/runtime/events/event-registry.js';
import { makeHub, ok } from './hub-fixtures.js';

/** Capacity small enough to run out of in a test. */
export const CAPACITY = { agents: 4, memory_gb: 16, cpu_cores: 4, tool_instances: { bash: 2 } };

/** The result of `request-resources`, as far as the tests read it. */
export interface AllocationAnswer {
  response_id: string;
  request_id: string;
  status: 'approved' | 'partial' | 'queued' | 'denied';
  timestamp: string;
  allocation_id?: string;
  allocated_resources: { allocation_id: string; agents: number; memory_gb: number; cpu_cores: number; duration_hours: number; exclusive_files: string[]; tool_instances: Record<string, number> } | null;
  restrictions: { monitoring_required: boolean; performance_limits: Record<string, string>; auto_release_timeout: string; exclusive_access_windows: string[] } | null;
  alternatives: { option: string; available_at?: string | null; full_resources: boolean; [key: string]: unknown }[];
  queue_position?: number;
  reason?: string;
  reduced?: string[];
  conflicts?: { conflict_id: string; severity: string; resolution: string; conflicting_requests: Record<string, unknown>[] };
}

/** A hub on a manual clock with {@link CAPACITY} and workflows `wf_a`, `wf_b` created. */
export async function resourceHub(): Promise<{ hub: Hub; clock: ManualClock }> {
  const made = makeHub({ resources: CAPACITY });
  for (const id of ['wf_a', 'wf_b']) await ok(made.hub, { operation: 'create', workflow_id: id, parameters: { name: id, phases: ['setup'] } });
  return made;
}

export async function request(hub: Hub, workflowId: string, parameters: unknown): Promise<AllocationAnswer> {
  return (await ok(hub, { operation: 'request-resources', workflow_id: workflowId, parameters })).result as AllocationAnswer;
}

export async function release(hub: Hub, workflowId: string, parameters: unknown) {
  return (await ok(hub, { operation: 'release-resources', workflow_id: workflowId, parameters })).result as {
    allocation_id: string;
    status: string;
    granted_from_queue: { allocation_id: string; request_id: string; workflow_id: string }[];
  };
}

/** `health.resources`. */
export async function resourcesView(hub: Hub) {
  return ((await ok(hub, { operation: 'health' })).result as { resources: { in_use: Record<string, unknown>; free: Record<string, unknown>; allocations: { allocation_id: string; request_id: string }[]; queue: { request_id: string; queue_position: number }[] } }).resources;
}

/** The RESOURCE_* events published so far, each checked against the event registry. */
export function resourceEvents(hub: Hub, type?: string): EventRecord[] {
  const events = hub.events().filter((e) => e.event_type.startsWith('RESOURCE_') && (type === undefined || e.event_type === type));
  for (const e of events) {
    const parsed = EVENT_DATA[e.event_type].safeParse(e.data);
    expect(parsed.success, `${e.event_type}: ${parsed.success ? '' : z.prettifyError(parsed.error)}`).toBe(true);
  }
  return events;
}
