import { getHeapStatistics } from 'node:v8';
import { cpuUsage, memoryUsage, uptime } from 'node:process';
import type { HubState } from '../hub-state.js';
import type { WatchedMetric } from './health-monitor.js';
import { eventQueues } from './health-components.js';

const MB = 1_048_576;
const round1 = (n: number) => Math.round(n * 10) / 10;

/** The process's resource use: memory in MB, CPU as a share of one core since it started. */
export function resourceUsage() {
  const cpu = cpuUsage();
  return {
    memory_mb: Math.round(memoryUsage().rss / MB),
    cpu_percent: Math.round(((cpu.user + cpu.system) / 1_000 / (uptime() * 1_000)) * 1000) / 10,
  };
}

/**
 * Memory against its limit: the process's RSS against `memory_limit_mb`
 * when one is configured, else the V8 heap in use against the heap's own
 * limit (what running out of memory means for this process).
 */
export function memoryUse(limitMb: number | null): { percent: number; used_mb: number; limit_mb: number; basis: string } {
  if (limitMb !== null && limitMb > 0) {
    const used = memoryUsage().rss / MB;
    return { percent: round1((used / limitMb) * 100), used_mb: Math.round(used), limit_mb: limitMb, basis: 'rss vs memory_limit_mb' };
  }
  const heap = getHeapStatistics();
  return { percent: round1((heap.used_heap_size / heap.heap_size_limit) * 100), used_mb: Math.round(heap.used_heap_size / MB), limit_mb: Math.round(heap.heap_size_limit / MB), basis: 'V8 heap used vs its limit' };
}

/** Percent of the agent pool's task slots in use (agents there and those it may still add). */
export function agentPoolUtilization(hub: HubState): number {
  const { used, total } = hub.pool.slots();
  return total === 0 ? 0 : round1((used / total) * 100);
}

/** The metrics SYSTEM_THRESHOLD watches besides the event loop's delay (the monitor measures that itself). */
export function watchedMetrics(hub: HubState): WatchedMetric[] {
  const t = hub.health.thresholds;
  const memory = memoryUse(t.memory_limit_mb);
  const slots = hub.pool.slots();
  return [
    { metric_name: 'memory_usage', current_value: memory.percent, threshold: t.memory_percent, unit: '%', basis: `${memory.basis}: ${memory.used_mb}MB of ${memory.limit_mb}MB` },
    { metric_name: 'event_queue_depth', current_value: eventQueues(hub).event_queue_depth, threshold: t.event_queue_depth, unit: 'events', basis: 'events waiting in all subscriber queues' },
    { metric_name: 'agent_pool_utilization', current_value: agentPoolUtilization(hub), threshold: t.agent_pool_utilization_percent, unit: '%', basis: `${slots.used} of ${slots.total} task slots in use` },
  ];
}
