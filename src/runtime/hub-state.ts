import type { Clock, TimerHandle } from '../actors/clock.js';
import type { HandlerProbe } from '../actors/handler-registry.js';
import type { TaskRunner } from '../actors/task-runner.js';
import type { AgentPool } from './agents/agent-pool.js';
import type { TroupeError } from './errors.js';
import type { EventBus } from './events/event-bus.js';
import type { FileLocks } from './scheduling/file-locks.js';
import type { Scheduler } from './scheduling/scheduler.js';
import type { WorkflowEntry } from './scheduling/workflow-entry.js';
import type { Journal } from './durability/journal.js';
import type { Subscriptions } from './events/subscriptions.js';
import type { ActorTrace } from './events/actor-trace.js';
import type { RecoveryReport } from './durability/recovery.js';
import type { ResourceManager } from './resources/resource-manager.js';
import type { TaskFilesConfig, TaskLogError } from './scheduling/task-files.js';
import type { KpiFold } from './metrics/kpi-fold.js';
import type { HealthMonitor } from './health/health-monitor.js';
import type { ComponentRegistry } from './protocol/component-registry.js';
import type { HandlerActivity } from './protocol/handler-activity.js';
import type { StateVersions } from './protocol/state-versions.js';
import type { EventHubSettings } from './events/persistence-policy.js';

/** The parts of a hub its operations work on. @internal */
export interface HubState {
  clock: Clock;
  runner: TaskRunner;
  pool: AgentPool;
  bus: EventBus;
  scheduler: Scheduler;
  /** the `templates_dir` whose templates `create {"template"}` and `list-templates` see besides the shipped ones; null: the shipped ones only */
  templatesDir: string | null;
  /** configured user handlers and whether each can run (probed in a worker at start) */
  handlers: Map<string, HandlerProbe>;
  /** exclusive files held by running tasks and resource allocations */
  locks: FileLocks;
  /** resource allocations and their queue (in memory) */
  resources: ResourceManager;
  workflows: Map<string, WorkflowEntry>;
  /** pending `wait`s, rejected on close */
  waits: Set<(error: TroupeError) => void>;
  /** the durable side; null for an in-memory hub */
  journal: Journal | null;
  /** configure-persistence's settings (retention, what the log keeps, event durability); settings/event-hub.ckpt keeps them */
  eventSettings: EventHubSettings;
  /** live subscriptions of sessions (REPL, socket connections) */
  subscriptions: Subscriptions;
  /** the correlation id of the command being executed */
  correlationId: string | null;
  /** command counts and timings for `health` and `metrics` */
  stats: { startedAt: number; commands: number; errors: number; totalMs: number; lastCommandAt: number | null };
  /** recent commands, deliveries, worker errors, the event loop's delay; SYSTEM_THRESHOLD at each check */
  health: HealthMonitor;
  /** the actor trace when the hub's `trace` option is on; null (nothing attached, nothing spent) when off */
  trace: ActorTrace | null;
  /** where task logs and process spools live */
  taskFiles: TaskFilesConfig;
  /** task log writes that failed (the last few), for `health` */
  taskLogErrors: TaskLogError[];
  /** the KPIs' running state, fed every event (`metrics`' kpis, `get-status`' workflow_state.kpis) */
  kpis: KpiFold;
  /** agent_pools/pool.ckpt and metrics/kpis.ckpt (durability/state-files.ts); null for an in-memory hub */
  stateFiles: { saveAll(): Promise<void> } | null;
  /** components that registered with a hello (control connections), for `health` */
  components: ComponentRegistry;
  /** each task handler's last finished attempt and counts, for `health` */
  handlerActivity: HandlerActivity;
  /** each workflow's state version for the state_sync message */
  stateVersions: StateVersions;
  /** what the last start recovered, for `health` */
  recovery: RecoveryReport | null;
  /** periodic log compaction: its timer, the run under way, what the last run dropped, and whether the hub is closing */
  maintenance: { timer: TimerHandle | null; running: Promise<void> | null; last: { at: string; segments: string[]; records: number } | null; closed: boolean };
}
