/**
 * Workflow priority (DESIGN §12): its values and the order workflows get
 * agents in when several wait for them.
 */
import { z } from 'zod';
import type { Priority } from '../../machines/types.js';
import type { WorkflowEntry } from './workflow-entry.js';

/** The priorities, highest first: the order refusals and `help` list them in. */
export const PRIORITIES = ['critical', 'high', 'medium', 'low'] as const satisfies readonly Priority[];

/** A priority parameter; zod's enum message names every allowed value, so a refusal says what would do. */
export const prioritySchema = z.enum(PRIORITIES);

const RANK: Readonly<Record<Priority, number>> = { critical: 0, high: 1, medium: 2, low: 3 };

/**
 * Negative when workflow `a` goes before `b` for an agent: the higher
 * priority, then the earlier start, then the earlier create, then the id
 * (two workflows started in the same millisecond still have one order).
 */
export function servesFirst(a: WorkflowEntry, b: WorkflowEntry): number {
  const x = a.actor.getSnapshot().context;
  const y = b.actor.getSnapshot().context;
  return (
    RANK[x.spec.priority] - RANK[y.spec.priority] ||
    (x.startedAt ?? Infinity) - (y.startedAt ?? Infinity) ||
    x.createdAt - y.createdAt ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}
