import type { Clock } from '../../actors/clock.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { AssignmentStrategy } from '../agents/agent-ranking.js';
import { formatDuration } from '../durations.js';
import type { InFlight, WorkflowEntry } from './workflow-entry.js';

/** Times one task is moved off a silent or failed agent; after that the silence is a failed attempt (retries apply). */
export const MAX_REASSIGNMENTS = 2;

/** A task moved by `redistribute-tasks`: where its run stood, and a promise of its end. */
export interface MovedTask {
  workflow_id: string;
  task_id: string;
  ended: Promise<unknown>;
}

export interface FlightWatchDeps {
  clock: Clock;
  pool: AgentPool;
  /** how often a running task's worker says it is alive */
  heartbeatIntervalMs: number;
  /** heartbeats a run may miss before its agent is declared unresponsive */
  missedHeartbeats: number;
  /** true once the hub shuts down: a silent task is then left to the grace period */
  halted(): boolean;
}

/**
 * Watches running attempts for the agent side of the scheduler: each run's
 * liveness timer on the injected clock (re-armed by every heartbeat), the
 * runs of each agent, and moving a task off an agent that went silent or was
 * taken out. The move itself happens when the run has ended (the scheduler's
 * `#finish` sees `flight.moving`).
 */
export class FlightWatch {
  readonly #deps: FlightWatchDeps;
  /** running attempts by agent, across workflows: what to move when an agent fails */
  readonly #byAgent = new Map<string, Map<InFlight, WorkflowEntry>>();

  constructor(deps: FlightWatchDeps) {
    this.#deps = deps;
  }

  /** A run started on its agent. */
  track(entry: WorkflowEntry, flight: InFlight): void {
    this.#flightsOf(flight.agentId).set(flight, entry);
  }

  /** A run ended: its timer and its place under its agent go. */
  untrack(flight: InFlight): void {
    flight.liveness?.cancel();
    flight.liveness = null;
    const flights = this.#byAgent.get(flight.agentId);
    flights?.delete(flight);
    if (flights?.size === 0) this.#byAgent.delete(flight.agentId);
  }

  #flightsOf(agentId: string): Map<InFlight, WorkflowEntry> {
    let flights = this.#byAgent.get(agentId);
    if (!flights) this.#byAgent.set(agentId, (flights = new Map()));
    return flights;
  }

  /** A sign of life (the start, a heartbeat) re-arms the run's liveness timer: silence for the missed-heartbeat limit makes its agent unresponsive. */
  beat(entry: WorkflowEntry, taskId: string, flight: InFlight, at: number): void {
    const { clock, heartbeatIntervalMs, missedHeartbeats } = this.#deps;
    flight.lastBeatAt = at;
    flight.liveness?.cancel();
    const limit = heartbeatIntervalMs * missedHeartbeats;
    flight.liveness = clock.setTimer(limit, () => {
      flight.liveness = null;
      // during shutdown a silent task is left to the grace period, not moved
      if (entry.inFlight.get(taskId) !== flight || flight.moving || this.#deps.halted()) return;
      const reason = `agent ${flight.agentId} missed ${missedHeartbeats} heartbeats (${formatDuration(limit)} without a sign of life)`;
      this.#move(entry, taskId, flight, reason);
      // an unresponsive agent gets no work and keeps none: every other task it holds moves too
      if (!this.#deps.pool.unresponsive(flight.agentId, limit, flight.lastBeatAt)) return;
      for (const [other, otherEntry] of this.#byAgent.get(flight.agentId) ?? []) {
        if (other === flight || other.moving || other.aborted) continue;
        this.#move(otherEntry, this.#taskOf(otherEntry, other), other, `${reason}, while running ${taskId}`);
      }
    });
  }

  #taskOf(entry: WorkflowEntry, flight: InFlight): string {
    return [...entry.inFlight].find(([, f]) => f === flight)![0];
  }

  /**
   * Aborts a run so its task goes to another agent once the run has really
   * ended (the thread may hold files and the run key until then). Bounded by
   * MAX_REASSIGNMENTS per task: beyond it the abort is a failed attempt.
   */
  #move(entry: WorkflowEntry, taskId: string, flight: InFlight, reason: string, strategy?: AssignmentStrategy): void {
    const moved = entry.reassignments.get(taskId) ?? 0;
    if (moved < MAX_REASSIGNMENTS) {
      entry.reassignments.set(taskId, moved + 1);
      flight.moving = strategy ? { reason, strategy } : { reason };
    }
    flight.run.abort({ name: 'AgentUnavailableError', code: 'AGENT_UNAVAILABLE', message: reason, retryable: true });
  }

  /** Takes the agent out for good and moves each task it runs, by `strategy`. */
  redistribute(agentId: string, reason: string, strategy: AssignmentStrategy): MovedTask[] {
    this.#deps.pool.fail(agentId, reason);
    return [...(this.#byAgent.get(agentId) ?? [])].map(([flight, entry]) => {
      const taskId = this.#taskOf(entry, flight);
      this.#move(entry, taskId, flight, reason, strategy);
      return { workflow_id: entry.id, task_id: taskId, ended: flight.run.result };
    });
  }
}
