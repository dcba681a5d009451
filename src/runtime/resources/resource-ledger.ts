/**
 * The resource ledger: what the hub can give (capacity), what it has given
 * (allocations) and who waits (the queue). Pure bookkeeping in an
 * @xstate/store store (DESIGN §2: flat state with no finite modes); time,
 * events, timers and file locks are the resource manager's business.
 */
import { createStore } from '@xstate/store';

export type Priority = 'critical' | 'high' | 'medium' | 'low';

/** Countable resources: a capacity, an allocation, a request or what is free. */
export interface Amounts {
  agents: number;
  memory_gb: number;
  cpu_cores: number;
  tool_instances: Record<string, number>;
}

/** A request as the manager keeps it (parameters resolved, ids assigned). */
export interface ResourceRequest {
  request_id: string;
  /** the id the grant carries; known from the start so a queued request can be cancelled by it */
  allocation_id: string;
  workflow_id: string;
  requester: string;
  priority: Priority;
  amounts: Amounts;
  exclusive_files: string[];
  duration_ms: number;
}

export interface Allocation extends ResourceRequest {
  status: 'approved' | 'partial';
  granted_at: number;
  /** when it is released on its own (auto_release_timeout) */
  expires_at: number;
}

export interface QueuedRequest extends ResourceRequest {
  queued_at: number;
  /** when it stops waiting (max_wait_time) */
  deadline: number;
  /** arrival order, for FIFO within a priority */
  seq: number;
}

const RANK: Record<Priority, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** Queue order: priority first (critical > high > medium > low), then arrival. */
export const byPriority = (a: QueuedRequest, b: QueuedRequest) => RANK[a.priority] - RANK[b.priority] || a.seq - b.seq;

const round = (n: number) => Math.round(n * 1000) / 1000;

/** `a + sign * b`, per resource (tools by name). */
export function combine(a: Amounts, b: Amounts, sign: 1 | -1): Amounts {
  const tools = { ...a.tool_instances };
  for (const [tool, n] of Object.entries(b.tool_instances)) tools[tool] = round((tools[tool] ?? 0) + sign * n);
  return {
    agents: a.agents + sign * b.agents,
    memory_gb: round(a.memory_gb + sign * b.memory_gb),
    cpu_cores: a.cpu_cores + sign * b.cpu_cores,
    tool_instances: tools,
  };
}

export const NOTHING: Amounts = { agents: 0, memory_gb: 0, cpu_cores: 0, tool_instances: {} };

/** Each resource as a flat `[name, amount]` list (`tool:bash` for tools), for comparisons and thresholds. */
export function flatten(a: Amounts): [string, number][] {
  return [
    ['agents', a.agents],
    ['memory_gb', a.memory_gb],
    ['cpu_cores', a.cpu_cores],
    ...Object.entries(a.tool_instances).map(([tool, n]): [string, number] => [`tool:${tool}`, n]),
  ];
}

/** The resources of `want` that `have` does not cover, by flat name. */
export function shortfall(want: Amounts, have: Amounts): string[] {
  const available = new Map(flatten(have));
  return flatten(want).flatMap(([name, n]) => (n > (available.get(name) ?? 0) ? [name] : []));
}

export interface LedgerContext {
  capacity: Amounts;
  allocations: Record<string, Allocation>;
  queue: QueuedRequest[];
  seq: number;
}

/** Creates the ledger for a hub with the given capacity. */
export function createLedger(capacity: Amounts) {
  return createStore({
    context: { capacity, allocations: {}, queue: [], seq: 0 } as LedgerContext,
    on: {
      grant: (context, event: { allocation: Allocation }) => ({
        ...context,
        allocations: { ...context.allocations, [event.allocation.allocation_id]: event.allocation },
        queue: context.queue.filter((q) => q.request_id !== event.allocation.request_id),
      }),
      release: (context, event: { allocation_id: string }) => {
        const { [event.allocation_id]: _gone, ...rest } = context.allocations;
        return { ...context, allocations: rest };
      },
      enqueue: (context, event: { request: Omit<QueuedRequest, 'seq'> }) => ({
        ...context,
        queue: [...context.queue, { ...event.request, seq: context.seq }].sort(byPriority),
        seq: context.seq + 1,
      }),
      dequeue: (context, event: { request_id: string }) => ({ ...context, queue: context.queue.filter((q) => q.request_id !== event.request_id) }),
    },
  });
}

export type Ledger = ReturnType<typeof createLedger>;

/** What the allocations hold together. */
export const inUse = (context: LedgerContext): Amounts => Object.values(context.allocations).reduce((sum, a) => combine(sum, a.amounts, 1), NOTHING);

/** What is left to give. Tools missing from the capacity table have none. */
export const freeOf = (context: LedgerContext): Amounts => combine(context.capacity, inUse(context), -1);
