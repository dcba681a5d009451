import { resolve } from 'node:path';
import { resolveHubOptions, type HubOptions } from './hub-options.js';
import { connectEventHub, defaultRunner } from './hub-wiring.js';
import { systemClock } from '../actors/clock.js';
import { AgentPool } from './agents/agent-pool.js';
import { FileLocks } from './scheduling/file-locks.js';
import type { HubResponse } from './commands.js';
import { DEFAULTS } from './defaults.js';
import { ComponentRegistry } from './protocol/component-registry.js';
import { HandlerActivity } from './protocol/handler-activity.js';
import { StateVersions } from './protocol/state-versions.js';
import { EventBus, type EventListener } from './events/event-bus.js';
import { ActorTrace } from './events/actor-trace.js';
import type { EventRecord } from './events/event-record.js';
import type { HubState } from './hub-state.js';
import { Scheduler } from './scheduling/scheduler.js';
import { Subscriptions, type Session } from './events/subscriptions.js';
import { openDataDir } from './hub-open.js';
import { watchStorage } from './durability/storage-watch.js';
import { ResourceManager, resolveCapacity } from './resources/resource-manager.js';
import { shutDown } from './hub-close.js';
import { commandResponder } from './command-dispatch.js';
import { recordLogError } from './scheduling/task-log-operations.js';
import { FileWaits } from './scheduling/file-waits.js';
import { KpiFold } from './metrics/kpi-fold.js';
import { HealthMonitor } from './health/health-monitor.js';
import { watchedMetrics } from './health/system-metrics.js';
import { defaultPersistence } from './events/persistence-policy.js';


/** A troupe hub: owns the workflows, the agent pool, the scheduler and the task runner. */
export interface Hub {
  /**
   * Validates and runs one command; never throws, always answers a response
   * (DESIGN §5). `session` is who sends it: `subscribe-event` delivers to it.
   */
  execute(command: unknown, session?: Session): Promise<HubResponse>;
  /** Ends a session's subscriptions (its connection closed). */
  endSession(session: Session): void;
  /** Every event the hub publishes, in order. Returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void;
  /** The retained events, optionally of one workflow. */
  events(workflowId?: string): EventRecord[];
  /** The ids of the workflows the hub holds, in creation order. */
  workflowIds(): string[];
  /** Stops dispatching, lets running tasks finish within `graceMs` (default: the `shutdownGrace` option), aborts the rest, closes the pool. */
  close(options?: { graceMs?: number }): Promise<void>;
  /** The resolved `shutdownGrace`, ms. */
  readonly shutdownGraceMs: number;
  /** Resolves once the data directory is locked and its workflows recovered; rejects with DATA_DIR_LOCKED and the like. */
  readonly ready: Promise<void>;
}


export type { HubOptions } from './hub-options.js';

/**
 * Creates a hub. The REPL, the socket and `troupe run` are thin clients of
 * its one entry point, `execute`.
 *
 * @example
 * const hub = createHub();
 * await hub.execute({ operation: 'create', workflow_id: 'wf_1', parameters: { name: 'hi', phases: ['setup'] } });
 * await hub.execute({ operation: 'start', workflow_id: 'wf_1' });
 * await hub.close();
 */
export function createHub(options: HubOptions = {}): Hub {
  const clock = options.clock ?? systemClock;
  // options checked before anything is started (a thrown option must not leave a worker pool behind)
  const settings = resolveHubOptions(options);
  const { retentionMs, compactionIntervalMs, shutdownGraceMs, timings, taskFiles, maxOutputBytes } = settings;
  const bus = new EventBus(clock);
  const trace = options.trace ? new ActorTrace((draft) => bus.publish(draft)) : null;
  const runner = options.runner ?? defaultRunner(options, clock, bus, settings.handlerRefs);
  const maxAgents = options.maxAgentPoolSize ?? DEFAULTS.max_agent_pool_size;
  const pool = new AgentPool(
    { minAgents: 0, maxAgents, ...settings.agentConcurrency, breakerThreshold: options.breakerThreshold ?? DEFAULTS.breaker_threshold },
    bus,
    clock,
    { breakerCooldownMs: timings.breakerCooldownMs, idleTimeoutMs: timings.idleTimeoutMs, alertThreshold: DEFAULTS.performance_alert_threshold },
    trace?.forPool(),
  );
  const locks = new FileLocks();
  const fileWaits = new FileWaits(bus, locks);
  const scheduler = new Scheduler({
    clock,
    runner,
    pool,
    bus,
    random: options.random ?? Math.random,
    retryBackoffBaseMs: timings.retryBackoffBaseMs,
    retryBackoffMaxMs: timings.retryBackoffMaxMs,
    journal: null,
    durability: options.durability ?? 'sync',
    locks,
    heartbeatIntervalMs: timings.heartbeatIntervalMs,
    missedHeartbeats: options.missedHeartbeats ?? DEFAULTS.missed_heartbeats,
    taskFiles,
    onLogError: (workflowId, taskId, attempt, message) => recordLogError(state, { workflow_id: workflowId, task_id: taskId, attempt, message }),
    maxOutputBytes,
    // while the data directory cannot be written, an outcome could not be logged: nothing new starts
    mayDispatch: () => !state.journal?.storage.degraded,
    // a ready task kept back by a held exclusive file: RESOURCE_CONFLICT, once per task (the conflict-rate KPI counts them)
    onFileWait: (entry, taskId, phase, held) => fileWaits.report(entry, taskId, phase, held),
  });
  const resources = new ResourceManager({ clock, bus, locks, capacity: resolveCapacity(options.resources ?? {}, maxAgents), thresholdPercent: DEFAULTS.resource_usage_threshold });
  const state: HubState = {
    clock, runner, pool, bus, scheduler, locks, resources,
    handlers: new Map(),
    templatesDir: options.templatesDir === undefined ? null : resolve(options.templatesDir),
    workflows: new Map(), waits: new Set(), journal: null, recovery: null,
    kpis: new KpiFold(), stateFiles: null,
    components: new ComponentRegistry(), handlerActivity: new HandlerActivity(), stateVersions: new StateVersions(),
    eventSettings: { persistence: defaultPersistence(retentionMs), persistenceConfigured: false, asyncConfigured: false },
    taskFiles, taskLogErrors: [], correlationId: null, trace,
    subscriptions: new Subscriptions(clock, (draft) => bus.publish(draft)),
    maintenance: { timer: null, running: null, last: null, closed: false },
    stats: { startedAt: clock.now(), commands: 0, errors: 0, totalMs: 0, lastCommandAt: null },
    health: new HealthMonitor({ clock, bus, thresholds: settings.healthThresholds, measure: () => watchedMetrics(state) }),
  };
  let closed = false;
  connectEventHub(state);
  // probed in a worker while the data directory opens: a broken module is reported at create, never a crash
  const probed = runner.probeHandlers().then((probes) => {
    for (const [name, probe] of Object.entries(probes)) state.handlers.set(name, probe);
  });
  const opened =
    options.dataDir === undefined
      ? Promise.resolve()
      : openDataDir(state, options.dataDir, {
          ...(options.keepCheckpoints === undefined ? {} : { keepCheckpoints: options.keepCheckpoints }),
          ...(options.autoRecovery === undefined ? {} : { autoRecovery: options.autoRecovery }),
          ...(options.stateCompression === undefined ? {} : { stateCompression: options.stateCompression }),
          ...(options.logSegmentBytes === undefined ? {} : { segmentBytes: options.logSegmentBytes }),
          compactionIntervalMs,
        });
  // a full or failing disk is reported, and dispatching resumes once writes succeed again
  void opened.then(() => state.journal && watchStorage(state, state.journal), () => {});
  const ready = Promise.all([probed, opened]).then(() => {});
  // a failed open is answered to every command and to whoever awaits `ready`
  ready.catch(() => {});

  const respond = commandResponder(state, ready, () => closed);

  return {
    execute: respond,
    endSession: (session) => {
      state.subscriptions.endSession(session);
      state.components.endSession(session);
    },
    subscribe: (listener) => bus.subscribe(listener),
    events: (workflowId) => bus.recent(workflowId),
    workflowIds: () => [...state.workflows.keys()],
    shutdownGraceMs,
    ready,
    async close({ graceMs = shutdownGraceMs } = {}) {
      if (closed) return;
      closed = true;
      await shutDown(state, graceMs);
    },
  };
}
