import type { TaskSpec } from '../../machines/types.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { FileLocks } from './file-locks.js';
import { servesFirst } from './priority.js';
import type { WorkflowEntry } from './workflow-entry.js';

/**
 * Who gets an agent when several workflows want one (DESIGN §12). The room
 * holds the workflows with a ready task that found no agent (of its role) or
 * a held file; when capacity frees up they are pumped in its order: the
 * higher priority first, then the earlier start (see {@link servesFirst}).
 * A workflow also leaves an agent of a role alone while one served before it
 * waits for that role: otherwise a pump of a lower workflow that happens
 * first (its own outcome, a retry timer, a command) takes the agent the
 * higher one was waiting for. A lower workflow still runs whenever the
 * higher ones leave capacity: nothing of theirs waits for that role, or what
 * waits is held up by a file.
 *
 * A workflow leaves the room each time it is pumped and comes back with what
 * that pump could not serve, so what the room holds is never older than the
 * workflow's last pump (a paused or ended workflow reserves nothing).
 */
export class WaitingRoom {
  /** each waiting workflow, with the roles it found no agent for (none: it waits for files only) */
  readonly #roles = new Map<WorkflowEntry, Set<string>>();
  /** the same, by role */
  readonly #byRole = new Map<string, Set<WorkflowEntry>>();
  /** by role: workflows whose task ended on an agent of it while its outcome is not applied yet (how many such outcomes) */
  readonly #claims = new Map<string, Map<WorkflowEntry, number>>();
  readonly #pool: AgentPool;
  readonly #locks: FileLocks;

  constructor(pool: AgentPool, locks: FileLocks) {
    this.#pool = pool;
    this.#locks = locks;
  }

  get size(): number {
    return this.#roles.size;
  }

  /**
   * An agent for a ready task of the workflow, or null: the workflow then
   * waits here. None while one of the task's files is held (that reserves no
   * agent: others of its role may run), nor while a workflow served before it
   * waits for the task's role. `unavailable`: the roles this pump of the
   * workflow already found none for (no pick for them again in that pump).
   */
  agentFor(entry: WorkflowEntry, spec: TaskSpec, unavailable: Set<string>): string | null {
    if (this.#locks.conflicts(spec.exclusiveFiles).length > 0) {
      this.wait(entry, null);
      return null;
    }
    const move = entry.moves.get(spec.id);
    const agentId =
      unavailable.has(spec.role) || this.outranked(entry, spec.role)
        ? null
        : this.#pool.pick(spec.role, { avoid: move?.from ?? null, threshold: entry.performanceThreshold, workflowId: entry.id, ...(move?.strategy ? { strategy: move.strategy } : {}) });
    if (agentId === null) {
      unavailable.add(spec.role);
      this.wait(entry, spec.role);
    }
    return agentId;
  }

  /** The workflow waits: for an agent of `role`, or (null) for a held file. */
  wait(entry: WorkflowEntry, role: string | null): void {
    let roles = this.#roles.get(entry);
    if (!roles) this.#roles.set(entry, (roles = new Set()));
    if (role === null || roles.has(role)) return;
    roles.add(role);
    let waiting = this.#byRole.get(role);
    if (!waiting) this.#byRole.set(role, (waiting = new Set()));
    waiting.add(entry);
  }

  /** The workflow waits for nothing any more: it is being pumped again, or was replaced. */
  leave(entry: WorkflowEntry): void {
    const roles = this.#roles.get(entry);
    if (!roles) return;
    this.#roles.delete(entry);
    for (const role of roles) {
      const waiting = this.#byRole.get(role)!;
      waiting.delete(entry);
      if (waiting.size === 0) this.#byRole.delete(role);
    }
  }

  /**
   * A task of the workflow ended on an agent of `role` and its outcome is
   * not applied yet (it is being logged): until {@link unclaim}, the agent it
   * freed is kept from the workflows served after this one, since the tasks
   * the outcome readies (its next step) are about to want it. Unlike a wait,
   * a claim outlives the workflow's pumps.
   */
  claim(entry: WorkflowEntry, role: string): void {
    let claims = this.#claims.get(role);
    if (!claims) this.#claims.set(role, (claims = new Map()));
    claims.set(entry, (claims.get(entry) ?? 0) + 1);
  }

  /** The outcome {@link claim}ed for was applied (or could not be logged). */
  unclaim(entry: WorkflowEntry, role: string): void {
    const claims = this.#claims.get(role);
    const left = (claims?.get(entry) ?? 0) - 1;
    if (left > 0) claims!.set(entry, left);
    else claims?.delete(entry);
    if (claims?.size === 0) this.#claims.delete(role);
  }

  /** True when a workflow served before `entry` waits for an agent of `role`, or claims one: `entry` must not take one. */
  outranked(entry: WorkflowEntry, role: string): boolean {
    const before = (other: WorkflowEntry) => other !== entry && servesFirst(other, entry) < 0;
    for (const other of this.#byRole.get(role) ?? []) if (before(other)) return true;
    for (const other of this.#claims.get(role)?.keys() ?? []) if (before(other)) return true;
    return false;
  }

  /** The waiting workflows, the one to serve first first. */
  inOrder(): WorkflowEntry[] {
    return [...this.#roles.keys()].sort(servesFirst);
  }
}
