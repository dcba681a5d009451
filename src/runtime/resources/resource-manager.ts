/**
 * The resource manager (DESIGN §3, the protocol's Resource Coordination
 * Protocol: request -> conflict check -> allocation or queue -> response).
 * The ledger keeps the books; this side runs the clock timers (auto-release,
 * max_wait_time), holds an allocation's exclusive files in the hub's shared
 * FileLocks under its allocation id, and publishes the RESOURCE_* events.
 * Allocations live in memory: a restart starts with none.
 */
import { availableParallelism, totalmem } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../../actors/clock.js';
import { formatDuration } from '../durations.js';
import { TroupeError } from '../errors.js';
import type { EventBus } from '../events/event-bus.js';
import type { FileLocks } from '../scheduling/file-locks.js';
import { createLedger, flatten, freeOf, inUse, shortfall, type Allocation, type Amounts, type Ledger, type ResourceRequest } from './resource-ledger.js';
import { rebalancingReport, type QueuedGrant } from './optimization-report.js';
import { alternatives, decide, type Decision, type Fallback, type FileConflict, type Tolerance } from './resource-plan.js';

/** Instances per tool when the hub is not told otherwise. */
export const DEFAULT_TOOL_INSTANCES: Readonly<Record<string, number>> = { bash: 8, file_ops: 16, search: 8, web: 4 };

/** The `resources` hub option: what the hub can hand out; every field has a default. */
export interface ResourceCapacity {
  /** @default the hub's max_agent_pool_size */
  agents?: number;
  /** @default floor(os.totalmem() / GiB) */
  memory_gb?: number;
  /** @default os.availableParallelism() */
  cpu_cores?: number;
  /** merged over {@link DEFAULT_TOOL_INSTANCES}; a tool not listed has none */
  tool_instances?: Record<string, number>;
}

export function resolveCapacity(options: ResourceCapacity, maxAgents: number): Amounts {
  return {
    agents: options.agents ?? maxAgents,
    memory_gb: options.memory_gb ?? Math.floor(totalmem() / 2 ** 30),
    cpu_cores: options.cpu_cores ?? availableParallelism(),
    tool_instances: { ...DEFAULT_TOOL_INSTANCES, ...options.tool_instances },
  };
}

/** A request with its parameters resolved (the operation's zod schema does that). */
export interface RequestInput extends Omit<ResourceRequest, 'request_id' | 'allocation_id'> {
  request_id?: string | undefined;
  fallback: Fallback;
  tolerance: Tolerance;
  isolation: 'strict' | 'moderate' | 'relaxed';
  maxWaitMs: number;
}

const shortId = () => randomUUID().replaceAll('-', '').slice(0, 12);
const iso = (ms: number) => new Date(ms).toISOString();
const hhmm = (ms: number) => iso(ms).slice(11, 16);

export class ResourceManager {
  readonly ledger: Ledger;
  readonly #clock: Clock;
  readonly #bus: EventBus;
  readonly #locks: FileLocks;
  readonly #thresholdPercent: number;
  /** auto-release of an allocation, or the end of a queued request's wait, by allocation id */
  readonly #timers = new Map<string, TimerHandle>();
  readonly #unsubscribe: (() => void)[] = [];
  #pumping = false;
  #closed = false;

  constructor(deps: { clock: Clock; bus: EventBus; locks: FileLocks; capacity: Amounts; thresholdPercent: number }) {
    this.#clock = deps.clock;
    this.#bus = deps.bus;
    this.#locks = deps.locks;
    this.#thresholdPercent = deps.thresholdPercent;
    this.ledger = createLedger(deps.capacity);
    // files a task gave back may be what a queued request waits for
    this.#unsubscribe.push(this.#locks.onRelease(() => this.#pump()));
    // an ended workflow needs nothing more; after the event, so subscribers see the end first
    this.#unsubscribe.push(
      this.#bus.subscribe((event) => {
        const end = { WORKFLOW_COMPLETED: 'completed', WORKFLOW_FAILED: 'failed', WORKFLOW_CANCELLED: 'cancelled' }[event.event_type as string];
        if (end) queueMicrotask(() => this.releaseWorkflow(event.workflow_id, `workflow ${end}`));
      }),
    );
  }

  /** Answers a request `approved | partial | queued | denied` in the protocol's allocation_response shape. */
  request(input: RequestInput) {
    const context = this.ledger.getSnapshot().context;
    const requestId = input.request_id ?? `req_${shortId()}`;
    if (this.#known(requestId)) {
      throw new TroupeError('VALIDATION_FAILED', `Request ${requestId} is already allocated or queued`, { details: 'Give each request its own request_id, or leave it out to have one generated' });
    }
    const request: ResourceRequest = { ...input, request_id: requestId, allocation_id: `alloc_${shortId()}` };
    const now = this.#clock.now();
    const free = freeOf(context);
    const conflicts = this.#locks.conflicts(request.exclusive_files, request.allocation_id);
    const decision = decide(request, free, context.capacity, conflicts, { fallback: input.fallback, tolerance: input.tolerance, maxWaitMs: input.maxWaitMs });
    const conflict = conflicts.length > 0 ? this.#reportConflict(request, conflicts, decision) : null;
    const offered = alternatives(request, decision, context, free, conflicts, now);
    const base = { response_id: `resp_${shortId()}`, request_id: requestId, status: decision.status, timestamp: iso(now) };
    const extra = { alternatives: offered, ...(conflict ? { conflicts: conflict } : {}) };
    if (decision.status === 'approved' || decision.status === 'partial') {
      const allocation = this.#grant(request, decision, input.isolation);
      return { ...base, ...this.#describe(allocation, input.isolation), ...extra, ...(decision.status === 'partial' ? { reduced: decision.reduced } : {}) };
    }
    if (decision.status === 'queued') {
      const deadline = now + input.maxWaitMs;
      this.ledger.trigger.enqueue({ request: { ...request, queued_at: now, deadline } });
      this.#timers.set(request.allocation_id, this.#clock.setTimer(input.maxWaitMs, () => this.#expire(request.allocation_id)));
      const position = this.ledger.getSnapshot().context.queue.findIndex((q) => q.request_id === requestId) + 1;
      // the reserved id: the grant will carry it, and release-resources with it cancels the wait
      return { ...base, allocation_id: request.allocation_id, allocated_resources: null, restrictions: null, queue_position: position, max_wait_until: iso(deadline), reason: decision.reason, ...extra };
    }
    return { ...base, allocated_resources: null, restrictions: null, reason: decision.reason, ...extra };
  }

  /** Releases an allocation, or cancels a queued request, of `workflowId` by allocation or request id; then grants what waits. */
  release(workflowId: string, ids: { allocation_id?: string | undefined; request_id?: string | undefined }, reason: string) {
    const context = this.ledger.getSnapshot().context;
    const matches = (r: ResourceRequest) => r.workflow_id === workflowId && (r.allocation_id === ids.allocation_id || r.request_id === ids.request_id);
    const allocation = Object.values(context.allocations).find(matches);
    const queued = context.queue.find(matches);
    if (!allocation && !queued) {
      const mine = [...Object.values(context.allocations), ...context.queue].filter((r) => r.workflow_id === workflowId).map((r) => r.allocation_id);
      throw new TroupeError('ALLOCATION_NOT_FOUND', `No allocation or queued request ${ids.allocation_id ?? ids.request_id} for workflow ${workflowId}`, {
        details: mine.length === 0 ? `Workflow ${workflowId} holds no resources and waits for none` : `Its allocations and queued requests: ${mine.join(', ')}`,
      });
    }
    const waiting = new Set(context.queue.map((q) => q.allocation_id));
    if (allocation) this.#free(allocation, reason);
    else this.#cancel(queued!, reason);
    this.#pump();
    const after = this.ledger.getSnapshot().context.allocations;
    const granted = [...waiting].filter((id) => after[id] !== undefined).map((id) => ({ allocation_id: id, request_id: after[id]!.request_id, workflow_id: after[id]!.workflow_id }));
    const target = (allocation ?? queued)!;
    return {
      allocation_id: target.allocation_id,
      request_id: target.request_id,
      status: allocation ? 'released' : 'cancelled',
      release_reason: reason,
      released_resources: allocation ? { ...allocation.amounts, exclusive_files: allocation.exclusive_files } : null,
      granted_from_queue: granted,
    };
  }

  /** Releases every allocation of a workflow and cancels its queued requests (the workflow ended). Idempotent. */
  releaseWorkflow(workflowId: string, reason: string): { released: string[]; cancelled: string[] } {
    if (this.#closed) return { released: [], cancelled: [] };
    const context = this.ledger.getSnapshot().context;
    const allocations = Object.values(context.allocations).filter((a) => a.workflow_id === workflowId);
    const queued = context.queue.filter((q) => q.workflow_id === workflowId);
    for (const q of queued) this.#cancel(q, reason);
    for (const a of allocations) this.#free(a, reason);
    if (allocations.length > 0) this.#pump();
    return { released: allocations.map((a) => a.allocation_id), cancelled: queued.map((q) => q.allocation_id) };
  }

  /** Capacity, use and the lists, for `health`. */
  view() {
    const context = this.ledger.getSnapshot().context;
    return {
      capacity: context.capacity,
      in_use: inUse(context),
      free: freeOf(context),
      threshold_percent: this.#thresholdPercent,
      allocations: Object.values(context.allocations).map((a) => ({
        allocation_id: a.allocation_id, request_id: a.request_id, workflow_id: a.workflow_id, requester: a.requester, priority: a.priority,
        status: a.status, resources: a.amounts, exclusive_files: a.exclusive_files, granted_at: iso(a.granted_at), expires_at: iso(a.expires_at),
      })),
      queue: context.queue.map((q, i) => ({
        queue_position: i + 1, allocation_id: q.allocation_id, request_id: q.request_id, workflow_id: q.workflow_id, priority: q.priority,
        resources: q.amounts, exclusive_files: q.exclusive_files, queued_at: iso(q.queued_at), max_wait_until: iso(q.deadline),
      })),
    };
  }

  /** Cancels every timer (the hub closes); allocations die with the process. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers.values()) timer.cancel();
    this.#timers.clear();
    for (const off of this.#unsubscribe) off();
  }

  #known(requestId: string): boolean {
    const context = this.ledger.getSnapshot().context;
    return Object.values(context.allocations).some((a) => a.request_id === requestId) || context.queue.some((q) => q.request_id === requestId);
  }

  #grant(request: ResourceRequest, decision: Extract<Decision, { amounts: Amounts }>, isolation: RequestInput['isolation']): Allocation {
    const now = this.#clock.now();
    const before = inUse(this.ledger.getSnapshot().context);
    const allocation: Allocation = { ...request, amounts: decision.amounts, exclusive_files: decision.files, status: decision.status, granted_at: now, expires_at: now + request.duration_ms };
    this.#locks.tryAcquire(allocation.exclusive_files, allocation.allocation_id, { kind: 'allocation' });
    this.#timers.get(allocation.allocation_id)?.cancel();
    this.ledger.trigger.grant({ allocation });
    this.#timers.set(allocation.allocation_id, this.#clock.setTimer(request.duration_ms, () => this.#autoRelease(allocation.allocation_id)));
    this.#publish('RESOURCE_ALLOCATED', allocation.workflow_id, {
      allocation_id: allocation.allocation_id,
      request_id: allocation.request_id,
      requester: allocation.requester,
      priority: allocation.priority,
      status: allocation.status,
      resource_details: this.#describe(allocation, isolation).allocated_resources,
    });
    this.#checkThresholds(before);
    return allocation;
  }

  #describe(allocation: Allocation, isolation: RequestInput['isolation']) {
    const { amounts } = allocation;
    return {
      allocated_resources: {
        allocation_id: allocation.allocation_id,
        agents: amounts.agents,
        memory_gb: amounts.memory_gb,
        cpu_cores: amounts.cpu_cores,
        duration_hours: Math.round((allocation.duration_ms / 3_600_000) * 1000) / 1000,
        exclusive_files: allocation.exclusive_files,
        tool_instances: amounts.tool_instances,
      },
      restrictions: {
        // a reduced grant or strict isolation is worth watching
        monitoring_required: allocation.status === 'partial' || isolation === 'strict',
        performance_limits: amounts.agents > 0 && amounts.memory_gb > 0 ? { memory_per_agent: `${Math.round((amounts.memory_gb / amounts.agents) * 100) / 100}GB` } : {},
        auto_release_timeout: formatDuration(allocation.duration_ms),
        auto_release_at: iso(allocation.expires_at),
        exclusive_access_windows: allocation.exclusive_files.length > 0 ? [`${hhmm(allocation.granted_at)}-${hhmm(allocation.expires_at)}`] : [],
      },
    };
  }

  /** Gives an allocation back: ledger, files, timer, event. The caller grants what waits. */
  #free(allocation: Allocation, reason: string): void {
    this.#timers.get(allocation.allocation_id)?.cancel();
    this.#timers.delete(allocation.allocation_id);
    this.ledger.trigger.release({ allocation_id: allocation.allocation_id });
    this.#publish('RESOURCE_DEALLOCATED', allocation.workflow_id, {
      allocation_id: allocation.allocation_id,
      request_id: allocation.request_id,
      release_reason: reason,
      held_for: formatDuration(this.#clock.now() - allocation.granted_at),
      resource_details: { ...allocation.amounts, exclusive_files: allocation.exclusive_files },
    });
    // last: the lock table's listeners (this manager's #pump, the scheduler) see the ledger already freed
    this.#locks.release(allocation.exclusive_files, allocation.allocation_id);
  }

  /** Drops a queued request; it is reported like a release, with `granted: false`. */
  #cancel(request: ResourceRequest, reason: string): void {
    this.#timers.get(request.allocation_id)?.cancel();
    this.#timers.delete(request.allocation_id);
    this.ledger.trigger.dequeue({ request_id: request.request_id });
    this.#publish('RESOURCE_DEALLOCATED', request.workflow_id, { allocation_id: request.allocation_id, request_id: request.request_id, release_reason: reason, granted: false }, 'warning');
  }

  #autoRelease(allocationId: string): void {
    this.#timers.delete(allocationId);
    const allocation = this.ledger.getSnapshot().context.allocations[allocationId];
    if (!allocation) return;
    this.#free(allocation, `auto_release_timeout (${formatDuration(allocation.duration_ms)}) reached`);
    this.#pump();
  }

  #expire(allocationId: string): void {
    this.#timers.delete(allocationId);
    const queued = this.ledger.getSnapshot().context.queue.find((q) => q.allocation_id === allocationId);
    if (queued) this.#cancel(queued, `max_wait_time (${formatDuration(queued.deadline - queued.queued_at)}) expired while queued`);
  }

  /**
   * Grants queued requests in priority order (critical > high > medium > low,
   * FIFO within one) as long as resources are free. A request that does not
   * fit yet does not hold back a smaller one behind it (first fit): the large
   * one cannot starve forever, as its max_wait_time ends its wait.
   */
  #pump(): void {
    if (this.#pumping || this.#closed) return;
    this.#pumping = true;
    const start = this.ledger.getSnapshot().context;
    const grants: QueuedGrant[] = [];
    try {
      for (const queued of start.queue) {
        const context = this.ledger.getSnapshot().context;
        if (shortfall(queued.amounts, freeOf(context)).length > 0) continue;
        if (this.#locks.conflicts(queued.exclusive_files, queued.allocation_id).length > 0) continue;
        this.#grant(queued, { status: 'approved', amounts: queued.amounts, files: queued.exclusive_files }, 'moderate');
        grants.push({ request: queued, waitedMs: this.#clock.now() - queued.queued_at });
      }
    } finally {
      this.#pumping = false;
    }
    // what came free went to requests that waited for it: said with the measured gain
    if (grants.length > 0) {
      const end = this.ledger.getSnapshot().context;
      const report = rebalancingReport(grants, { before: start.queue.length, after: end.queue.length }, end.capacity, { before: inUse(start), after: inUse(end) });
      this.#publish('RESOURCE_OPTIMIZED', 'global', report);
    }
  }

  /** RESOURCE_CONFLICT for the files of `request` others hold; its severity follows the answer. */
  #reportConflict(request: ResourceRequest, conflicts: readonly FileConflict[], decision: Decision) {
    const context = this.ledger.getSnapshot().context;
    const holders = [...new Set(conflicts.map((c) => c.holder))].map((holder) => {
      const files = conflicts.filter((c) => c.holder === holder).map((c) => c.file);
      const allocation = context.allocations[holder];
      if (allocation) return { kind: 'allocation', allocation_id: holder, request_id: allocation.request_id, workflow_id: allocation.workflow_id, requester: allocation.requester, files };
      const owner = this.#locks.ownerOf(holder);
      return { kind: 'task', holder, ...(owner?.kind === 'task' ? { workflow_id: owner.workflow_id, task_id: owner.task_id, attempt: owner.attempt } : {}), files };
    });
    const severity = decision.status === 'denied' ? 'high' : decision.status === 'queued' ? 'medium' : 'low';
    const conflict = {
      conflict_id: `conflict_${shortId()}`,
      severity,
      resolution: decision.status,
      conflicting_requests: [
        { kind: 'request', request_id: request.request_id, allocation_id: request.allocation_id, workflow_id: request.workflow_id, requester: request.requester, files: conflicts.map((c) => c.file) },
        ...holders,
      ],
    };
    this.#publish('RESOURCE_CONFLICT', request.workflow_id, conflict, 'warning');
    return conflict;
  }

  /** RESOURCE_THRESHOLD for each resource whose use has just crossed the threshold (upwards). */
  #checkThresholds(before: Amounts): void {
    const context = this.ledger.getSnapshot().context;
    const capacity = new Map(flatten(context.capacity));
    const old = new Map(flatten(before));
    for (const [name, used] of flatten(inUse(context))) {
      const cap = capacity.get(name) ?? 0;
      if (cap <= 0) continue;
      const [was, is] = [((old.get(name) ?? 0) / cap) * 100, (used / cap) * 100];
      if (was < this.#thresholdPercent && is >= this.#thresholdPercent) {
        this.#publish('RESOURCE_THRESHOLD', 'global', {
          resource_type: name,
          current_usage: { used, capacity: cap, percent: Math.round(is * 10) / 10 },
          threshold: this.#thresholdPercent,
          free: freeOf(context),
        }, 'warning');
      }
    }
  }

  #publish(type: 'RESOURCE_ALLOCATED' | 'RESOURCE_DEALLOCATED' | 'RESOURCE_CONFLICT' | 'RESOURCE_THRESHOLD' | 'RESOURCE_OPTIMIZED', workflowId: string, data: Record<string, unknown>, severity: 'info' | 'warning' = 'info'): void {
    this.#bus.publish({ type, ...(workflowId === 'global' ? {} : { workflowId }), source: 'resource-manager', severity, data });
  }
}
