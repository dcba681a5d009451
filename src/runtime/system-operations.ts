import { cpuUsage, memoryUsage, uptime } from 'node:process';
import { formatDuration } from './durations.js';
import type { HubState } from './hub-state.js';
import type { Handler } from './operation-kit.js';
import { ENDED_STATUSES, statusOf } from './scheduling/workflow-entry.js';
import { storageView } from './durability/storage-watch.js';
import { kpiReport } from './metrics/kpi-report.js';
import { coreIdentity, handlerViews, registeredViews } from './protocol/component-views.js';

type Status = 'healthy' | 'degraded' | 'unhealthy' | 'unknown';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The process's resource use: memory in MB, CPU as a share of one core since it started. */
function resourceUsage() {
  const cpu = cpuUsage();
  return {
    memory_mb: Math.round(memoryUsage().rss / 1_048_576),
    cpu_percent: Math.round(((cpu.user + cpu.system) / 1_000 / (uptime() * 1_000)) * 1000) / 10,
  };
}

/** One component's health in the protocol's `health_status` shape. */
function component(hub: HubState, id: string, status: Status, extra: { last_activity: number | null; active_operations: number; queue_size: number; dependencies?: Record<string, Status>; details?: unknown }) {
  const { stats } = hub;
  return {
    component_id: id,
    ...coreIdentity(id),
    timestamp: iso(hub.clock.now()),
    status,
    uptime: formatDuration(hub.clock.now() - stats.startedAt),
    last_activity: iso(extra.last_activity),
    performance_metrics: {
      response_time_avg: formatDuration(stats.commands === 0 ? 0 : stats.totalMs / stats.commands),
      success_rate: stats.commands === 0 ? 100 : Math.round(((stats.commands - stats.errors) / stats.commands) * 1000) / 10,
      error_rate: stats.commands === 0 ? 0 : Math.round((stats.errors / stats.commands) * 1000) / 10,
      resource_usage: resourceUsage(),
    },
    active_operations: extra.active_operations,
    queue_size: extra.queue_size,
    dependencies: extra.dependencies ?? {},
    ...(extra.details === undefined ? {} : { details: extra.details }),
  };
}

/** Subscribers shown in `health`, the most behind first: what each holds in its bounded queue and lost to its overflow policy. */
const SUBSCRIBERS_SHOWN = 20;

function busiestSubscribers(hub: HubState) {
  const letters = new Map<string, number>();
  for (const d of hub.subscriptions.deadLetters()) letters.set(d.subscription_id, (letters.get(d.subscription_id) ?? 0) + 1);
  return hub.subscriptions
    .list()
    .map(({ subscription_id, name, target, durable, delivered_seq, delivery, queued, max_queue, overflow, dropped }) => ({
      subscription_id,
      ...(name === undefined ? {} : { name }),
      ...(target === undefined ? {} : { target: target.type }),
      durable,
      ...(delivered_seq === undefined ? {} : { delivered_seq }),
      delivery,
      queued,
      max_queue,
      overflow,
      dropped,
      dead_lettered: letters.get(subscription_id) ?? 0,
    }))
    .sort((a, b) => b.queued + b.dropped + b.dead_lettered - (a.queued + a.dropped + a.dead_lettered))
    .slice(0, SUBSCRIBERS_SHOWN);
}

export const systemHandlers: Record<string, Handler> = {
  health(hub) {
    const recovery = hub.recovery;
    const running = [...hub.workflows.values()].reduce((n, e) => n + e.inFlight.size, 0);
    const pool = hub.runner.stats();
    const unwritable = new Set(hub.journal?.storage.troubles.map((t) => t.part) ?? []);
    // a torn or corrupt pool.ckpt or kpis.ckpt was survived (fresh records, KPIs from the log alone): said until restart
    const stateFilesLost = [recovery?.state_files?.pool, recovery?.state_files?.kpis].filter((f) => f?.status === 'corrupt');
    const storeStatus: Status = !hub.journal ? 'unknown' : unwritable.has('checkpoints') || stateFilesLost.length > 0 || (recovery && (recovery.failed.length > 0 || (recovery.index_repaired?.length ?? 0) > 0 || recovery.recovered.some((r) => r.skipped_checkpoints.length > 0))) ? 'degraded' : 'healthy';
    const logStatus: Status = !hub.journal ? 'unknown' : unwritable.has('log') || (recovery && (recovery.log_damage.length > 0 || recovery.log_missing !== null)) ? 'degraded' : 'healthy';
    const storage = storageView(hub.journal);
    // a task log that could not be written lost output (the task itself went on): degraded until restart
    const taskLogStatus: Status = hub.taskLogErrors.length > 0 ? 'degraded' : 'healthy';
    const components = [
      component(hub, 'hub', unwritable.size > 0 ? 'degraded' : 'healthy', {
        last_activity: hub.stats.lastCommandAt,
        active_operations: [...hub.workflows.values()].filter((e) => !ENDED_STATUSES.has(statusOf(e.actor.getSnapshot()))).length,
        queue_size: hub.waits.size,
        dependencies: { 'task-pool': 'healthy', store: storeStatus, log: logStatus, 'task-logs': taskLogStatus, 'event-hub': 'healthy' },
      }),
      component(hub, 'task-pool', 'healthy', { last_activity: null, active_operations: running, queue_size: pool.queueSize, details: pool }),
      component(hub, 'store', storeStatus, { last_activity: null, active_operations: 0, queue_size: 0, details: hub.journal ? { data_dir: hub.journal.dataDir, storage } : null }),
      component(hub, 'log', logStatus, {
        last_activity: null,
        active_operations: 0,
        queue_size: hub.journal?.log.stall?.pendingRecords ?? 0,
        details: hub.journal ? { next_seq: hub.journal.log.nextSeq, segments: hub.journal.log.segments().length, last_compaction: hub.maintenance.last, stall: hub.journal.log.stall } : null,
      }),
      component(hub, 'task-logs', taskLogStatus, {
        last_activity: null,
        active_operations: 0,
        queue_size: 0,
        details: { root: hub.taskFiles.root, log_max_bytes: hub.taskFiles.logMaxBytes, write_errors: hub.taskLogErrors },
      }),
      component(hub, 'event-hub', 'healthy', {
        last_activity: hub.bus.lastPublishedAt,
        active_operations: hub.subscriptions.list().length,
        // events waiting in the subscribers' bounded queues
        queue_size: hub.subscriptions.list().reduce((n, s) => n + s.queued, 0),
        details: { published: hub.bus.published, subscriptions: hub.subscriptions.list().length, in_process_listeners: hub.bus.listeners, subscribers: busiestSubscribers(hub) },
      }),
    ];
    // the hub's own components decide its status; registered clients and handlers are listed beside them
    const componentStatus = (id: string): Status | undefined => components.find((c) => c.component_id === id)?.status;
    const others = [...handlerViews(hub), ...registeredViews(hub, componentStatus)];
    const worst: Status = components.some((c) => c.status === 'unhealthy') ? 'unhealthy' : components.some((c) => c.status === 'degraded') ? 'degraded' : 'healthy';
    const statuses: Record<string, number> = {};
    for (const entry of hub.workflows.values()) {
      const status = statusOf(entry.actor.getSnapshot());
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
    return {
      result: {
        status: worst,
        components: [...components, ...others],
        recovery,
        // whether the data directory takes writes now (a full or failing disk pauses dispatching)
        storage,
        workflows: statuses,
        // kept from the first version of `health`
        persistence: hub.journal ? { data_dir: hub.journal.dataDir, log_next_seq: hub.journal.log.nextSeq } : null,
        task_pool: pool,
        agents: hub.pool.views().length,
        // capacity, use, allocations and the queue of the resource manager
        resources: hub.resources.view(),
      },
      next_steps: [
        ...(unwritable.size > 0 ? [`${storage!.message}. Free space in ${hub.journal!.dataDir} (or fix the disk): dispatching resumes by itself`] : []),
        ...stateFilesLost.map((f) => `${f!.file} could not be read (${f!.reason ?? 'corrupt'}): ${f === recovery?.state_files?.pool ? 'the pool started with fresh performance records' : 'the KPIs count only the events the log still holds'}; it is written anew at the next checkpoint or shutdown`),
        ...(taskLogStatus === 'degraded' ? ['A task log could not be written (see the task-logs component): free disk space or fix the permissions of its folder'] : []),
        ...(worst === 'degraded' && recovery && (recovery.failed.length > 0 || recovery.log_damage.length > 0 || recovery.log_missing !== null || (recovery.index_repaired?.length ?? 0) > 0 || recovery.recovered.some((r) => r.skipped_checkpoints.length > 0))
          ? ['See recovery.failed, recovery.log_damage, recovery.log_missing, recovery.index_repaired and skipped_checkpoints for what was found and survived']
          : []),
      ],
    };
  },

  metrics(hub) {
    const snapshots = [...hub.workflows.values()].map((e) => e.actor.getSnapshot());
    const ended = snapshots.filter((s) => s.context.finishedAt !== null && s.context.startedAt !== null);
    const phases = snapshots.flatMap((s) => s.context.phases);
    const tasks = phases.flatMap((p) => p.tasks);
    const done = tasks.filter((t) => t.status === 'completed' || t.status === 'failed');
    const agents = hub.pool.views();
    const finished = agents.reduce((n, a) => n + a.tasks_completed + a.tasks_failed, 0);
    const uptimeMs = Math.max(1, hub.clock.now() - hub.stats.startedAt);
    const avg = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
    return {
      result: {
        workflow_efficiency: {
          workflows: snapshots.length,
          average_workflow_time: formatDuration(avg(ended.map((s) => s.context.finishedAt! - s.context.startedAt!))),
          phase_completion_rate: phases.length === 0 ? 100 : Math.round((phases.filter((p) => p.status === 'completed').length / phases.length) * 1000) / 10,
          tasks_completed: tasks.filter((t) => t.status === 'completed').length,
          tasks_failed: tasks.filter((t) => t.status === 'failed').length,
          retries: tasks.reduce((n, t) => n + Math.max(0, t.attempts - 1), 0),
        },
        agent_performance: {
          agents: agents.length,
          average_task_completion: formatDuration(avg(done.filter((t) => t.startedAt !== null && t.finishedAt !== null).map((t) => t.finishedAt! - t.startedAt!))),
          success_rate: finished === 0 ? 100 : Math.round((agents.reduce((n, a) => n + a.tasks_completed, 0) / finished) * 1000) / 10,
          by_agent: agents,
        },
        event_throughput: {
          events_published: hub.bus.published,
          events_per_second: Math.round((hub.bus.published / uptimeMs) * 1000 * 10) / 10,
          subscribers: hub.bus.listeners,
        },
        // the orchestrator spec's success metrics beside their targets, over all history and the last 24 h (see metrics/)
        kpis: kpiReport(hub.kpis, hub.clock.now()),
        system_health: {
          memory_usage: `${resourceUsage().memory_mb}MB`,
          cpu_utilization: resourceUsage().cpu_percent,
          event_queue_depth: 0,
          task_queue_depth: hub.runner.stats().queueSize,
          uptime: formatDuration(uptimeMs),
        },
      },
      next_steps: [],
    };
  },
};
