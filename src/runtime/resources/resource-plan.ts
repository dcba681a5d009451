/**
 * How a resource request is answered, as pure functions of the ledger: the
 * answer (`approved | partial | queued | denied`), what a partial grant gives,
 * and the alternatives offered when the whole request cannot be had now.
 */
import { combine, flatten, freeOf, shortfall, type Amounts, type LedgerContext, type ResourceRequest } from './resource-ledger.js';

export interface Fallback {
  reduce_agents: boolean;
  extend_duration: boolean;
  accept_shared_resources: boolean;
  queue_if_unavailable: boolean;
}

export type Tolerance = 'none' | 'low' | 'medium' | 'high';

/** A file of the request that someone else holds: an allocation or a running task. */
export interface FileConflict {
  file: string;
  holder: string;
}

export type Decision =
  | { status: 'approved'; amounts: Amounts; files: string[] }
  | { status: 'partial'; amounts: Amounts; files: string[]; reduced: string[] }
  | { status: 'queued'; reason: string }
  | { status: 'denied'; reason: string };

/** Per resource, the smaller of `a` and `b` (tools by the names of `a`). */
export function smaller(a: Amounts, b: Amounts): Amounts {
  const tools = Object.fromEntries(Object.entries(a.tool_instances).map(([t, n]) => [t, Math.max(0, Math.min(n, b.tool_instances[t] ?? 0))]));
  return {
    agents: Math.max(0, Math.min(a.agents, b.agents)),
    memory_gb: Math.max(0, Math.min(a.memory_gb, b.memory_gb)),
    cpu_cores: Math.max(0, Math.min(a.cpu_cores, b.cpu_cores)),
    tool_instances: tools,
  };
}

/**
 * The answer to `request` given what is free and which of its files are
 * held. A partial grant needs every shortfall covered by a fallback
 * (`reduce_agents` for agents, `accept_shared_resources` for memory, cores
 * and tools, a `conflict_tolerance` other than `none` to go without held
 * files) and something of every resource asked for; queueing needs a request
 * that fits the capacity at all.
 */
export function decide(
  request: ResourceRequest,
  free: Amounts,
  capacity: Amounts,
  conflicts: readonly FileConflict[],
  options: { fallback: Fallback; tolerance: Tolerance; maxWaitMs: number },
): Decision {
  const short = shortfall(request.amounts, free);
  const held = new Set(conflicts.map((c) => c.file));
  if (short.length === 0 && held.size === 0) return { status: 'approved', amounts: request.amounts, files: request.exclusive_files };

  const reducible = (name: string) => (name === 'agents' ? options.fallback.reduce_agents : options.fallback.accept_shared_resources);
  const amounts = smaller(request.amounts, free);
  const files = request.exclusive_files.filter((f) => !held.has(f));
  const somethingOfEach = flatten(request.amounts).every(([name, n]) => n === 0 || (new Map(flatten(amounts)).get(name) ?? 0) > 0);
  const filesOk = held.size === 0 || options.tolerance !== 'none';
  if (short.every(reducible) && somethingOfEach && filesOk && (flatten(amounts).some(([, n]) => n > 0) || files.length > 0)) {
    return { status: 'partial', amounts, files, reduced: [...short, ...[...held].map((f) => `file:${f}`)] };
  }

  const never = shortfall(request.amounts, capacity);
  if (never.length > 0) return { status: 'denied', reason: `more than the hub has in total: ${never.join(', ')} (see the capacity in 'health')` };
  const why = [short.length > 0 ? `not enough free: ${short.join(', ')}` : '', held.size > 0 ? `files held by others: ${[...held].join(', ')}` : ''].filter(Boolean).join('; ');
  if (options.fallback.queue_if_unavailable && options.maxWaitMs > 0) return { status: 'queued', reason: why };
  return { status: 'denied', reason: `${why}; queue_if_unavailable is off` };
}

/**
 * When the whole request would fit if the allocations auto-release on time,
 * or null when it never does that way (a running task holds one of its files,
 * whose end nobody can tell).
 */
export function availableAt(request: ResourceRequest, context: LedgerContext, conflicts: readonly FileConflict[]): number | null {
  const byHolder = new Map(conflicts.map((c) => [c.holder, c]));
  if ([...byHolder.keys()].some((holder) => context.allocations[holder] === undefined)) return null;
  let free = freeOf(context);
  const waiting = new Set(byHolder.keys());
  for (const allocation of Object.values(context.allocations).sort((a, b) => a.expires_at - b.expires_at)) {
    free = combine(free, allocation.amounts, 1);
    waiting.delete(allocation.allocation_id);
    if (waiting.size === 0 && shortfall(request.amounts, free).length === 0) return allocation.expires_at;
  }
  return null;
}

/** The other ways to get resources that the answer offers. */
export function alternatives(request: ResourceRequest, decision: Decision, context: LedgerContext, free: Amounts, conflicts: readonly FileConflict[], now: number) {
  if (decision.status === 'approved') return [];
  const options: Record<string, unknown>[] = [];
  const never = shortfall(request.amounts, context.capacity);
  if (never.length > 0) {
    options.push({ option: 'reduce_request', full_resources: false, max_resources: context.capacity, exceeds: never });
  } else {
    const at = availableAt(request, context, conflicts);
    options.push({
      option: 'delayed_allocation',
      full_resources: true,
      ...(at === null ? { available_at: null, note: 'when the running tasks holding its files end' } : { available_at: new Date(Math.max(at, now)).toISOString() }),
    });
  }
  if (decision.status !== 'partial') {
    const held = new Set(conflicts.map((c) => c.file));
    const freeNow = smaller(request.amounts, free);
    const files = request.exclusive_files.filter((f) => !held.has(f));
    if (flatten(freeNow).some(([, n]) => n > 0) || files.length > 0) {
      options.push({
        option: 'reduced_allocation',
        full_resources: false,
        available_at: new Date(now).toISOString(),
        resources: { ...freeNow, exclusive_files: files },
        requires: ['reduce_agents', 'accept_shared_resources', ...(held.size > 0 ? ['conflict_tolerance other than none'] : [])],
      });
    }
  }
  return options;
}
