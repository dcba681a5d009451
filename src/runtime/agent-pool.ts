import { createActor, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { agentMachine } from '../machines/agent-machine.js';
import { poolMachine, type PoolInput } from '../machines/pool-machine.js';
import type { EventBus } from './event-bus.js';
import type { Inspector } from './actor-trace.js';

type AgentSnapshot = SnapshotFrom<typeof agentMachine>;

/** What `get-status` and `monitor-pool` show of an agent. */
export interface AgentView {
  agent_id: string;
  role: string;
  state: string;
  breaker: string;
  current_tasks: string[];
  tasks_completed: number;
  tasks_failed: number;
  /** mean of the recent scores, 0..100 (100 before any task) */
  performance_score: number;
  average_task_ms: number;
}

/**
 * The hub's side of the agent pool actor: finds an agent for a task by role
 * (round robin among the agents of the role that can take it), grows the
 * pool on demand up to its maximum, and reports agents' state.
 */
export class AgentPool {
  readonly #actor;
  readonly #bus: EventBus;
  readonly #turn = new Map<string, number>();

  /** `inspect`: the actor trace's, when it is on */
  constructor(input: PoolInput, bus: EventBus, inspect?: Inspector) {
    this.#actor = createActor(poolMachine, inspect ? { input, inspect } : { input }).start();
    this.#bus = bus;
  }

  #agent(id: string): ActorRefFrom<typeof agentMachine> | undefined {
    return this.#actor.getSnapshot().children[id] as ActorRefFrom<typeof agentMachine> | undefined;
  }

  #members(role?: string) {
    const members = this.#actor.getSnapshot().context.members;
    return role === undefined ? members : members.filter((m) => m.role === role);
  }

  /** Adds an agent of `role`; false when the pool is full or draining. */
  add(role: string): boolean {
    const before = this.#members().length;
    this.#actor.send({ type: 'agent.add', role });
    const added = this.#members().at(-1);
    if (this.#members().length === before || !added) return false;
    // agents serve the whole hub, not one workflow: `workflow_id` is global
    this.#bus.publish({ type: 'AGENT_ALLOCATED', data: { agent_id: added.id, workflow_id: 'global', role, capabilities: [role] } });
    return true;
  }

  /** Makes sure at least `count` agents of `role` exist (as far as the pool's maximum allows). */
  ensure(role: string, count = 1): void {
    while (this.#members(role).length < count && this.add(role)) {
      // add() publishes each new agent
    }
  }

  /** An agent of `role` that can take a task now, adding one if all are busy; null when none can. */
  pick(role: string): string | null {
    const free = this.#members(role).filter((m) => {
      const snapshot = this.#agent(m.id)?.getSnapshot();
      return snapshot?.can({ type: 'task.assign', taskId: '' }) ?? false;
    });
    if (free.length === 0) return this.add(role) ? this.pick(role) : null;
    const turn = this.#turn.get(role) ?? 0;
    this.#turn.set(role, turn + 1);
    return free[turn % free.length]!.id;
  }

  assign(agentId: string, taskId: string): void {
    this.#agent(agentId)?.send({ type: 'task.assign', taskId });
  }

  done(agentId: string, taskId: string, ok: boolean, durationMs: number): void {
    this.#agent(agentId)?.send({ type: 'task.done', taskId, ok, durationMs });
  }

  view(agentId: string): AgentView | null {
    const snapshot: AgentSnapshot | undefined = this.#agent(agentId)?.getSnapshot();
    if (!snapshot) return null;
    const { context: c } = snapshot;
    const finished = c.performance.tasksCompleted + c.performance.tasksFailed;
    const scores = c.performance.recentScores;
    const value = snapshot.value as { lifecycle: string; breaker: string };
    return {
      agent_id: c.id,
      role: c.role,
      state: value.lifecycle,
      breaker: value.breaker,
      current_tasks: c.running,
      tasks_completed: c.performance.tasksCompleted,
      tasks_failed: c.performance.tasksFailed,
      performance_score: scores.length === 0 ? 100 : Math.round((scores.reduce((a, b) => a + b, 0) / scores.length) * 10) / 10,
      average_task_ms: finished === 0 ? 0 : Math.round(c.performance.totalTaskMs / finished),
    };
  }

  views(): AgentView[] {
    return this.#members().flatMap((m) => this.view(m.id) ?? []);
  }

  stop(): void {
    this.#actor.send({ type: 'pool.drain' });
    this.#actor.stop();
  }
}
