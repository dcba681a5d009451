import { createActor, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import type { Clock, TimerHandle } from '../../actors/clock.js';
import { acceptsNewTask, agentMachine, type AgentPerformance } from '../../machines/agent-machine.js';
import { concurrencyOf, poolMachine, type PoolInput } from '../../machines/pool-machine.js';
import { compareCandidates, performanceScore, type AssignmentStrategy, type Candidate } from './agent-ranking.js';
import { formatDuration } from '../durations.js';
import type { EventBus } from '../events/event-bus.js';
import type { Inspector } from '../events/actor-trace.js';
import { scaleDownEvent } from './pool-events.js';

type AgentSnapshot = SnapshotFrom<typeof agentMachine>;
type AgentRef = ActorRefFrom<typeof agentMachine>;

/** What `get-status` and `monitor-pool` show of an agent. */
export interface AgentView {
  agent_id: string;
  role: string;
  state: string;
  breaker: string;
  current_tasks: string[];
  max_concurrent_tasks: number;
  tasks_completed: number;
  tasks_failed: number;
  /** mean of the recent scores, 0..100 (100 before any task) */
  performance_score: number;
  recent_performance: number[];
  average_task_ms: number;
}

/** The pool's timings and thresholds, from the hub's options. */
export interface PoolSettings {
  /** how long an open breaker waits before it lets one trial task through */
  breakerCooldownMs: number;
  /** an idle agent beyond the first of its role is retired after this long */
  idleTimeoutMs: number;
  /** AGENT_PERFORMANCE_ALERT when an agent's score falls below this (0..100) */
  alertThreshold: number;
}

/** How to pick: `avoid` is tried last (the agent a task just failed on), `threshold` is the lowest score preferred. */
export interface PickOptions {
  avoid?: string | null;
  threshold?: number | null;
  strategy?: AssignmentStrategy;
  /** who the task is for: named in AGENT_ALLOCATED when the pool grows for it */
  workflowId?: string;
}

/** What `agent_pools/pool.ckpt` keeps: each agent's role and performance record, and the views of the agents that left. */
export interface PoolRecords {
  agents: { id: string; role: string; performance: AgentPerformance }[];
  departed: AgentView[];
}

/** Agents kept for views after they left the pool (failed or retired), so a task's agent stays visible. */
const DEPARTED_LIMIT = 1_000;

/**
 * The hub's side of the agent pool actor. Picks an agent for a task by role
 * match, then load, then performance score (see agent-ranking.ts), growing
 * the pool on demand up to its maximum; runs the agents' clocks (breaker
 * cool-down, idle retirement) on the injected clock; publishes the agent
 * events; and tells listeners when capacity may have freed up.
 */
export class AgentPool {
  readonly #actor;
  readonly #bus: EventBus;
  readonly #clock: Clock;
  readonly #settings: PoolSettings;
  readonly #lastPicked = new Map<string, number>();
  readonly #timers = new Map<string, TimerHandle>();
  readonly #departed = new Map<string, AgentView>();
  readonly #listeners = new Set<() => void>();
  /** agents each unfinished workflow asked for, by role (its share of `min_agents`): idle retirement keeps their sum */
  readonly #floors = new Map<string, Map<string, number>>();
  #picks = 0;

  /** `inspect`: the actor trace's, when it is on */
  constructor(input: PoolInput, bus: EventBus, clock: Clock, settings: PoolSettings, inspect?: Inspector) {
    this.#actor = createActor(poolMachine, inspect ? { input, inspect } : { input }).start();
    this.#bus = bus;
    this.#clock = clock;
    this.#settings = settings;
  }

  #agent(id: string): AgentRef | undefined {
    return this.#actor.getSnapshot().children[id] as AgentRef | undefined;
  }

  #members(role?: string) {
    const members = this.#actor.getSnapshot().context.members;
    return role === undefined ? members : members.filter((m) => m.role === role);
  }

  /** How many agents of `role` the pool holds (counted, not filtered into an array: asked once per task). */
  #countOf(role: string): number {
    let count = 0;
    for (const m of this.#actor.getSnapshot().context.members) if (m.role === role) count++;
    return count;
  }

  #state(id: string): { lifecycle: string; breaker: string } | null {
    return (this.#agent(id)?.getSnapshot().value as { lifecycle: string; breaker: string } | undefined) ?? null;
  }

  /** Agents the pool holds at most (`max_agent_pool_size`). */
  get maxAgents(): number {
    return this.#actor.getSnapshot().context.maxAgents;
  }

  /** Tasks an agent of `role` runs at once (`max_concurrent_tasks`, or its role's own). */
  concurrencyOf(role: string): number {
    return concurrencyOf(this.#actor.getSnapshot().context, role);
  }

  /**
   * Task slots of the agents that may take work (idle or busy): in use now,
   * and at most, counting the agents the pool may still add at the default
   * concurrency.
   */
  slots(): { used: number; total: number } {
    const context = this.#actor.getSnapshot().context;
    let used = 0;
    let total = Math.max(0, context.maxAgents - context.members.length) * context.maxConcurrentTasks;
    for (const m of context.members) {
      const snapshot = this.#agent(m.id)?.getSnapshot();
      if (!snapshot) continue;
      const { lifecycle } = snapshot.value as { lifecycle: string };
      if (lifecycle !== 'idle' && lifecycle !== 'busy') continue;
      used += snapshot.context.running.length;
      total += snapshot.context.maxConcurrentTasks;
    }
    return { used, total };
  }

  /** Called when an agent may take work again (a task ended, a breaker half-opened, an agent joined). */
  onCapacity(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #capacity(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  /** Adds an agent of `role` and returns its id; null when the pool is full or draining. */
  add(role: string, workflowId = 'global'): string | null {
    const before = this.#members().length;
    this.#actor.send({ type: 'agent.add', role });
    const added = this.#members().at(-1);
    if (this.#members().length === before || !added) return null;
    // an id from before a restart given out again: the new agent is the one its views mean now
    this.#departed.delete(added.id);
    this.#bus.publish({ type: 'AGENT_ALLOCATED', data: { agent_id: added.id, workflow_id: workflowId, role, capabilities: [role] } });
    this.#armIdle(added.id);
    return added.id;
  }

  /** True when some agent could take a task now, or the pool could grow: worth dispatching. */
  mayTakeWork(): boolean {
    const members = this.#members();
    if (members.length < this.maxAgents && this.#actor.getSnapshot().matches('running')) return true;
    return members.some((m) => {
      const snapshot = this.#agent(m.id)?.getSnapshot();
      return snapshot !== undefined && acceptsNewTask(snapshot);
    });
  }

  /**
   * Makes sure at least `count` agents of `role` exist (as far as the pool's
   * maximum allows). With a workflow, they are its floor: idle agents do not
   * retire below the floors of unfinished workflows.
   */
  ensure(role: string, count = 1, workflowId?: string): void {
    if (workflowId !== undefined) {
      const floor = this.#floors.get(workflowId) ?? new Map<string, number>();
      floor.set(role, Math.max(count, floor.get(role) ?? 0));
      this.#floors.set(workflowId, floor);
    }
    while (this.#members(role).length < count && this.add(role, workflowId) !== null) {
      // add() publishes each new agent
    }
  }

  /** The workflow ended: its floor goes, and idle agents beyond what others need may retire. */
  releaseFloor(workflowId: string): void {
    if (!this.#floors.delete(workflowId)) return;
    for (const m of this.#members()) if (this.view(m.id)?.state === 'idle') this.#armIdle(m.id);
  }

  /** Agents the pool holds for an unfinished workflow now: its floor, as far as agents of each role exist (0 once released). */
  heldFor(workflowId: string): number {
    let held = 0;
    for (const [role, count] of this.#floors.get(workflowId) ?? []) held += Math.min(count, this.#members(role).length);
    return held;
  }

  /** Agents of `role` the pool keeps however idle: one, or the unfinished workflows' floors. */
  #floorOf(role: string): number {
    let sum = 0;
    for (const floor of this.#floors.values()) sum += floor.get(role) ?? 0;
    return Math.max(1, Math.min(sum, this.maxAgents));
  }

  /** The agents of `role`, as views. */
  ofRole(role: string): AgentView[] {
    return this.#members(role).flatMap((m) => this.view(m.id) ?? []);
  }

  /**
   * An agent of `role` that can take a task now, or null. Among those that
   * can, the ranking decides; `avoid` only when no other can; agents below
   * `threshold` only when no other can and the pool cannot grow (a new agent
   * starts at 100).
   */
  pick(role: string, options: PickOptions = {}): string | null {
    const strategy = options.strategy ?? 'balanced';
    const threshold = options.threshold ?? null;
    // one pass over the role's agents, keeping the best of each kind: there is a pick per dispatched
    // task, so no candidate arrays are built, filtered or sorted
    let best: Candidate | null = null;
    let avoided: Candidate | null = null;
    let bestBelow: Candidate | null = null;
    for (const m of this.#actor.getSnapshot().context.members) {
      if (m.role !== role) continue;
      const snapshot = this.#agent(m.id)?.getSnapshot();
      if (!snapshot || !acceptsNewTask(snapshot)) continue;
      const c = snapshot.context;
      const candidate: Candidate = { id: m.id, load: c.running.length / c.maxConcurrentTasks, score: performanceScore(c.performance.recentScores), lastPicked: this.#lastPicked.get(m.id) ?? 0 };
      if (bestBelow === null || compareCandidates(candidate, bestBelow, strategy) < 0) bestBelow = candidate;
      if (threshold !== null && candidate.score < threshold) continue;
      if (candidate.id === options.avoid) avoided = candidate;
      else if (best === null || compareCandidates(candidate, best, strategy) < 0) best = candidate;
    }
    // another agent first; the avoided one before growing the pool (a retry does not add agents);
    // a new agent (score 100) before one below the threshold
    const choice = best?.id ?? avoided?.id ?? this.add(role, options.workflowId) ?? bestBelow?.id ?? null;
    if (choice !== null) this.#lastPicked.set(choice, ++this.#picks);
    return choice;
  }

  assign(agentId: string, taskId: string): void {
    this.#timers.get(`idle:${agentId}`)?.cancel();
    this.#agent(agentId)?.send({ type: 'task.assign', taskId });
  }

  /** Records how a task of the agent ended; opens its breaker and alerts as the record says. */
  done(agentId: string, taskId: string, ok: boolean, durationMs: number, error?: { code: string; message: string }): void {
    const agent = this.#agent(agentId);
    if (!agent) return;
    // read off the snapshots, not built as views: this runs once per task
    const before = agent.getSnapshot();
    agent.send({ type: 'task.done', taskId, ok, durationMs });
    const after = agent.getSnapshot();
    const breakerBefore = (before.value as { breaker: string }).breaker;
    const { lifecycle, breaker } = after.value as { lifecycle: string; breaker: string };
    if (breakerBefore !== 'open' && breaker === 'open') {
      this.#bus.publish({
        type: 'AGENT_ERROR',
        data: { agent_id: agentId, error_type: 'circuit_open', error_details: { consecutive_failures: after.context.consecutiveFailures, cooldown: formatDuration(this.#settings.breakerCooldownMs), last_error: error ?? null } },
      });
      this.#timers.set(
        `breaker:${agentId}`,
        this.#clock.setTimer(this.#settings.breakerCooldownMs, () => {
          this.#timers.delete(`breaker:${agentId}`);
          this.#agent(agentId)?.send({ type: 'breaker.cooldown' });
          this.#capacity();
        }),
      );
    }
    if (error?.code === 'WORKER_CRASHED') {
      // the thread under the agent died (process.exit, out of memory): the task failed, and the agent reports it
      this.#bus.publish({ type: 'AGENT_ERROR', data: { agent_id: agentId, error_type: 'worker_crashed', error_details: { task_id: taskId, message: error.message } } });
    }
    const threshold = this.#settings.alertThreshold;
    // the score moves only when the recent scores do (a report of a task the agent does not run changes nothing)
    if (before.context.performance !== after.context.performance) {
      const scoreBefore = performanceScore(before.context.performance.recentScores);
      const scoreAfter = performanceScore(after.context.performance.recentScores);
      if (scoreBefore >= threshold && scoreAfter < threshold) {
        this.#bus.publish({
          type: 'AGENT_PERFORMANCE_ALERT',
          data: { agent_id: agentId, performance_metric: 'performance_score', threshold, current_value: scoreAfter, recent_performance: after.context.performance.recentScores.slice(-5) },
        });
      }
    }
    if (lifecycle === 'idle') this.#armIdle(agentId);
    const idleNow = after.context.running.length === 0;
    if (idleNow && lifecycle === 'unresponsive') this.#remove(agentId, 'failed', 'unresponsive: its tasks were reassigned');
    if (idleNow && lifecycle === 'failed') this.#remove(agentId, 'failed', 'failed: its tasks were reassigned');
    this.#capacity();
  }

  /** The agent missed its heartbeats: it gets no more work (AGENT_TIMEOUT). False when it was already out. */
  unresponsive(agentId: string, silentForMs: number, lastResponse: number | null): boolean {
    const lifecycle = this.#state(agentId)?.lifecycle;
    if (lifecycle !== 'idle' && lifecycle !== 'busy') return false;
    this.#agent(agentId)!.send({ type: 'heartbeat.missed' });
    this.#bus.publish({
      type: 'AGENT_TIMEOUT',
      data: { agent_id: agentId, timeout_duration: formatDuration(silentForMs), last_response: lastResponse === null ? null : new Date(lastResponse).toISOString() },
    });
    return true;
  }

  /** Takes the agent out for good (`redistribute-tasks`); its running tasks finish or are aborted by the caller. */
  fail(agentId: string, reason: string): boolean {
    if (!this.#agent(agentId) || this.#state(agentId)?.lifecycle === 'failed') return false;
    this.#agent(agentId)!.send({ type: 'agent.fail' });
    this.#bus.publish({ type: 'AGENT_ERROR', data: { agent_id: agentId, error_type: 'agent_failed', error_details: { reason } } });
    if (this.view(agentId)!.current_tasks.length === 0) this.#remove(agentId, 'failed', reason);
    return true;
  }

  /** An idle agent beyond its role's floor leaves after the idle timeout: the pool shrinks back. */
  #armIdle(agentId: string): void {
    this.#timers.get(`idle:${agentId}`)?.cancel();
    const role = this.#agent(agentId)?.getSnapshot().context.role;
    // the last agents of a role, down to its floor, stay: no timer for them
    if (role === undefined || this.#countOf(role) <= this.#floorOf(role)) return;
    const idleSince = this.#clock.now();
    this.#timers.set(
      `idle:${agentId}`,
      this.#clock.setTimer(this.#settings.idleTimeoutMs, () => {
        this.#timers.delete(`idle:${agentId}`);
        const view = this.view(agentId);
        if (view?.state !== 'idle' || this.#members(view.role).length <= this.#floorOf(view.role)) return;
        const before = { agents: this.#members().length, ofRole: this.#members(view.role).length };
        this.#remove(agentId, 'retired', 'idle');
        // the pool shrank back to what is used: said with what it gave back
        this.#bus.publish(scaleDownEvent(view, this.#clock.now() - idleSince, before, { agents: this.#members().length, ofRole: this.#members(view.role).length }));
      }),
    );
  }

  #remove(agentId: string, state: 'failed' | 'retired', reason: string): void {
    const view = this.view(agentId);
    if (!view) return;
    for (const kind of ['idle', 'breaker']) this.#timers.get(`${kind}:${agentId}`)?.cancel();
    this.#departed.set(agentId, { ...view, state, current_tasks: [] });
    if (this.#departed.size > DEPARTED_LIMIT) this.#departed.delete(this.#departed.keys().next().value!);
    // removal ignores min_agents: a failed agent holds no capacity; ensure() adds a fresh one on demand
    this.#actor.send({ type: 'agent.discard', agentId });
    this.#bus.publish({ type: 'AGENT_DEALLOCATED', data: { agent_id: agentId, workflow_id: 'global', reason } });
    // a full pool may grow again: a workflow waiting for an agent (of any role) gets its chance now
    this.#capacity();
  }

  view(agentId: string): AgentView | null {
    const snapshot: AgentSnapshot | undefined = this.#agent(agentId)?.getSnapshot();
    if (!snapshot) return this.#departed.get(agentId) ?? null;
    const { context: c } = snapshot;
    const finished = c.performance.tasksCompleted + c.performance.tasksFailed;
    const value = snapshot.value as { lifecycle: string; breaker: string };
    return {
      agent_id: c.id,
      role: c.role,
      state: value.lifecycle,
      breaker: value.breaker,
      current_tasks: c.running,
      max_concurrent_tasks: c.maxConcurrentTasks,
      tasks_completed: c.performance.tasksCompleted,
      tasks_failed: c.performance.tasksFailed,
      performance_score: performanceScore(c.performance.recentScores),
      recent_performance: c.performance.recentScores.slice(-5),
      average_task_ms: finished === 0 ? 0 : Math.round(c.performance.totalTaskMs / finished),
    };
  }

  /** The agents in the pool now. */
  views(): AgentView[] {
    return this.#members().flatMap((m) => this.view(m.id) ?? []);
  }

  /** Agents that left the pool, newest last. */
  departed(): AgentView[] {
    return [...this.#departed.values()];
  }

  /** The agents' records now, for `agent_pools/pool.ckpt`. */
  records(): PoolRecords {
    const agents = this.#members().flatMap((m) => {
      const context = this.#agent(m.id)?.getSnapshot().context;
      return context ? [{ id: m.id, role: m.role, performance: context.performance }] : [];
    });
    return { agents, departed: this.departed() };
  }

  /**
   * Brings back the agents of `agent_pools/pool.ckpt` at start, idle, with
   * their ids and performance records (scores, counts, times), so ranking
   * and `monitor-pool` go on where they were; breakers start closed (a
   * restart is a fresh chance). Publishes nothing: they are not new agents.
   * Returns the ids restored.
   */
  restore(records: PoolRecords): string[] {
    for (const view of records.departed.slice(-DEPARTED_LIMIT)) this.#departed.set(view.agent_id, view);
    const restored: string[] = [];
    for (const agent of records.agents) {
      this.#actor.send({ type: 'agent.add', role: agent.role, id: agent.id, performance: agent.performance });
      if (!this.#agent(agent.id)) continue;
      restored.push(agent.id);
      this.#departed.delete(agent.id);
      this.#armIdle(agent.id);
    }
    return restored;
  }

  stop(): void {
    for (const timer of this.#timers.values()) timer.cancel();
    this.#timers.clear();
    this.#actor.send({ type: 'pool.drain' });
    this.#actor.stop();
  }
}
