import { msgpackNative } from '../persistence/checkpoint-codec.js';
import { formatDuration } from './durations.js';
import type { HubState } from './hub-state.js';
import type { Handler } from './operation-kit.js';
import { statusOf } from './scheduling/workflow-entry.js';
import { storageView } from './durability/storage-watch.js';
import { kpiReport } from './metrics/kpi-report.js';
import { activeWorkflows, eventHubVerdict, eventQueues as eventQueuesDepth, hubVerdict, taskPoolVerdict } from './health/health-components.js';
import { agentPoolUtilization, resourceUsage } from './health/system-metrics.js';
import type { CommandSummary } from './health/recent-window.js';
import { coreIdentity, handlerViews, registeredViews } from './protocol/component-views.js';

type Status = 'healthy' | 'degraded' | 'unhealthy' | 'unknown';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The protocol's performance_metrics: response time and success over the recent window. */
interface Performance {
  response_time_avg: string;
  success_rate: number;
  error_rate: number;
}

/** The recent commands as performance_metrics (every component answers through the hub's commands unless it has its own figures). */
const commandPerformance = (c: CommandSummary): Performance => ({ response_time_avg: formatDuration(c.average_ms), success_rate: c.success_rate, error_rate: c.error_rate });

/** One component's health in the protocol's `health_status` shape, with the reasons for its status and the limits it was judged by. */
function component(
  hub: HubState,
  id: string,
  status: Status,
  extra: { last_activity: number | null; active_operations: number | null; queue_size: number | null; performance: Performance | null; dependencies?: Record<string, Status>; reasons?: string[]; thresholds?: Record<string, number>; observed?: unknown; details?: unknown },
) {
  return {
    component_id: id,
    ...coreIdentity(id),
    timestamp: iso(hub.clock.now()),
    status,
    reasons: extra.reasons ?? [],
    uptime: formatDuration(hub.clock.now() - hub.stats.startedAt),
    last_activity: iso(extra.last_activity),
    // a component with no figures of its own says so (null) rather than showing another's
    performance_metrics: { ...(extra.performance ?? { response_time_avg: null, success_rate: null, error_rate: null }), resource_usage: resourceUsage() },
    active_operations: extra.active_operations,
    queue_size: extra.queue_size,
    dependencies: extra.dependencies ?? {},
    ...(extra.observed === undefined ? {} : { observed: extra.observed }),
    ...(extra.thresholds === undefined ? {} : { thresholds: extra.thresholds }),
    ...(extra.details === undefined ? {} : { details: extra.details }),
  };
}

/** Tasks as performance_metrics: their average run time and how many of the finished ones succeeded. */
function taskPerformance(hub: HubState): Performance {
  const agents = [...hub.pool.views(), ...hub.pool.departed()];
  const completed = agents.reduce((n, a) => n + a.tasks_completed, 0);
  const failed = agents.reduce((n, a) => n + a.tasks_failed, 0);
  const finished = completed + failed;
  const totalMs = agents.reduce((n, a) => n + a.average_task_ms * (a.tasks_completed + a.tasks_failed), 0);
  const percent = (n: number) => Math.round((n / finished) * 1000) / 10;
  return { response_time_avg: formatDuration(finished === 0 ? 0 : totalMs / finished), success_rate: finished === 0 ? 100 : percent(completed), error_rate: finished === 0 ? 0 : percent(failed) };
}

/** Deliveries to the live subscribers as performance_metrics: how long one took (real time), how many attempts succeeded. */
function deliveryPerformance(delivered: number, failed: number, deliveryMs: number): Performance {
  const attempts = delivered + failed;
  const percent = (n: number) => Math.round((n / attempts) * 1000) / 10;
  return { response_time_avg: formatDuration(delivered === 0 ? 0 : deliveryMs / delivered), success_rate: attempts === 0 ? 100 : percent(delivered), error_rate: attempts === 0 ? 0 : percent(failed) };
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
    const unwritable = new Set(hub.journal?.storage.troubles.map((t) => t.part) ?? []);
    // a torn or corrupt pool.ckpt or kpis.ckpt was survived (fresh records, KPIs from the log alone): said until restart
    const stateFilesLost = [recovery?.state_files?.pool, recovery?.state_files?.kpis].filter((f) => f?.status === 'corrupt');
    const storeStatus: Status = !hub.journal ? 'unknown' : unwritable.has('checkpoints') || stateFilesLost.length > 0 || (recovery && (recovery.failed.length > 0 || (recovery.index_repaired?.length ?? 0) > 0 || recovery.recovered.some((r) => r.skipped_checkpoints.length > 0))) ? 'degraded' : 'healthy';
    const logStatus: Status = !hub.journal ? 'unknown' : unwritable.has('log') || (recovery && (recovery.log_damage.length > 0 || recovery.log_missing !== null)) ? 'degraded' : 'healthy';
    const storage = storageView(hub.journal);
    // a task log that could not be written lost output (the task itself went on): degraded until restart
    const taskLogStatus: Status = hub.taskLogErrors.length > 0 ? 'degraded' : 'healthy';
    // measured: what each was observed doing, judged by the thresholds of health/health-thresholds.ts
    const core = hubVerdict(hub);
    const tasks = taskPoolVerdict(hub);
    const events = eventHubVerdict(hub);
    const commands = commandPerformance(core.commands);
    // the store, the log and the task logs keep no operation counts or timings of their own: not measured, so null
    const none = { last_activity: null, active_operations: null, queue_size: null, performance: null };
    const components = [
      component(hub, 'hub', core.status, {
        last_activity: hub.stats.lastCommandAt,
        active_operations: activeWorkflows(hub),
        queue_size: hub.waits.size,
        performance: commands,
        dependencies: { 'task-pool': tasks.status, store: storeStatus, log: logStatus, 'task-logs': taskLogStatus, 'event-hub': events.status },
        reasons: core.reasons,
        observed: core.observed,
        thresholds: core.thresholds,
      }),
      component(hub, 'task-pool', tasks.status, {
        last_activity: null,
        active_operations: tasks.observed.running_tasks,
        queue_size: tasks.observed.queue_size,
        performance: taskPerformance(hub),
        reasons: tasks.reasons,
        observed: tasks.observed,
        thresholds: tasks.thresholds,
        details: hub.runner.stats(),
      }),
      component(hub, 'store', storeStatus, { ...none, details: hub.journal ? { data_dir: hub.journal.dataDir, storage } : null }),
      component(hub, 'log', logStatus, {
        ...none,
        queue_size: hub.journal?.log.stall?.pendingRecords ?? 0,
        details: hub.journal ? { next_seq: hub.journal.log.nextSeq, segments: hub.journal.log.segments().length, last_compaction: hub.maintenance.last, stall: hub.journal.log.stall } : null,
      }),
      component(hub, 'task-logs', taskLogStatus, { ...none, details: { root: hub.taskFiles.root, log_max_bytes: hub.taskFiles.logMaxBytes, write_errors: hub.taskLogErrors } }),
      component(hub, 'event-hub', events.status, {
        last_activity: hub.bus.lastPublishedAt,
        active_operations: events.observed.subscribers,
        // events waiting in the subscribers' bounded queues (batches collecting included)
        queue_size: events.observed.event_queue_depth,
        performance: deliveryPerformance(events.observed.delivered, events.observed.failed, events.observed.delivery_ms),
        reasons: events.reasons,
        observed: events.observed,
        thresholds: events.thresholds,
        details: { published: hub.bus.published, subscriptions: events.observed.subscribers, in_process_listeners: hub.bus.listeners, subscribers: busiestSubscribers(hub) },
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
        // checkpoints and the log decode faster with msgpackr's native extractor; measured, not assumed
        runtime: { node: process.version, msgpack_native_acceleration: msgpackNative() },
        task_pool: hub.runner.stats(),
        agents: hub.pool.views().length,
        // capacity, use, allocations and the queue of the resource manager
        resources: hub.resources.view(),
      },
      next_steps: [
        ...(unwritable.size > 0 ? [`${storage!.message}. Free space in ${hub.journal!.dataDir} (or fix the disk): dispatching resumes by itself`] : []),
        ...stateFilesLost.map((f) => `${f!.file} could not be read (${f!.reason ?? 'corrupt'}): ${f === recovery?.state_files?.pool ? 'the pool started with fresh performance records' : 'the KPIs count only the events the log still holds'}; it is written anew at the next checkpoint or shutdown`),
        ...components.flatMap((c) => (c.reasons.length > 0 ? [`${c.component_id} is ${c.status}: ${c.reasons.join('; ')}`] : [])),
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
    const queues = eventQueuesDepth(hub);
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
          // events waiting in all subscriber queues, and in the longest one
          event_queue_depth: queues.event_queue_depth,
          max_subscriber_queue: queues.max_subscriber_queue,
          agent_pool_utilization: agentPoolUtilization(hub),
          task_queue_depth: hub.runner.stats().queueSize,
          uptime: formatDuration(uptimeMs),
        },
      },
      next_steps: [],
    };
  },
};
