/** How a workflow's run ended, as its end event says. */
export type RunOutcome = 'completed' | 'partial' | 'failed' | 'cancelled';

/**
 * What the KPI fold knows of one workflow's run, from its events. A run
 * starts at WORKFLOW_STARTED and ends at its first WORKFLOW_COMPLETED,
 * WORKFLOW_FAILED or WORKFLOW_CANCELLED; a compensation after the end keeps
 * it `open` (its agents still work) without adding to its own figures.
 */
export interface WorkflowTally {
  /** clock ms of WORKFLOW_STARTED; null when the start is older than the history the fold saw */
  startedAt: number | null;
  /** in progress (started, or compensating after its end): agents count as available while any run is open */
  open: boolean;
  paused: boolean;
  /** since when it has been paused with nothing running: such time is not part of its wall time */
  idleSince: number | null;
  idleMs: number;
  /** time the hub was down while the run was in progress (not paused): not part of its wall time either */
  downMs: number;
  /** run time of its task attempts (execution_time_ms of each outcome), ms */
  taskMs: number;
  /** the most tasks it had running at once: the agents it used at most */
  peak: number;
  /** task id -> agent id, running now */
  running: Map<string, string>;
  /** tasks dispatched (TASK_ASSIGNED) at least once */
  assigned: Set<string>;
  /** tasks reported waiting on a held exclusive file, not dispatched since */
  waiting: Set<string>;
  /** tasks counted as having waited (each once) */
  conflicted: Set<string>;
  dispatched: number;
  waited: number;
  /** failed attempts that were retried */
  retries: number;
  /** brought back by a recovery at start (CHECKPOINT_RESTORED after a crash or shutdown) and not ended since */
  recovered: boolean;
  outcome: RunOutcome | null;
  endedAt: number | null;
}

/** A tally not yet open: the fold opens it, counting its open runs. */
export function newTally(startedAt: number | null): WorkflowTally {
  return {
    startedAt, open: false, paused: false, idleSince: null, idleMs: 0, downMs: 0, taskMs: 0, peak: 0,
    running: new Map(), assigned: new Set(), waiting: new Set(), conflicted: new Set(),
    dispatched: 0, waited: 0, retries: 0, recovered: false, outcome: null, endedAt: null,
  };
}

/**
 * The run's wall time up to its end (or `now`): from its start, less the
 * time it was paused with nothing running and the time the hub was down.
 * Null when its start is not known.
 */
export function wallMs(tally: WorkflowTally, now: number): number | null {
  if (tally.startedAt === null) return null;
  const end = tally.endedAt ?? now;
  const idle = tally.idleMs + (tally.idleSince === null ? 0 : Math.max(0, end - tally.idleSince));
  return Math.max(0, end - tally.startedAt - idle - tally.downMs);
}

/**
 * The run's parallel efficiency, as a numerator and a denominator: its task
 * run time over its wall time times the agents it used at most (the peak of
 * its tasks running at once). Null when it ran no task or has no wall time.
 */
export function efficiencyOf(tally: WorkflowTally, now: number): { taskMs: number; capacityMs: number; wallMs: number; agents: number } | null {
  const wall = wallMs(tally, now);
  if (wall === null || wall <= 0 || tally.peak < 1) return null;
  return { taskMs: tally.taskMs, capacityMs: wall * tally.peak, wallMs: wall, agents: tally.peak };
}

/** A tally as plain data (sets and maps as arrays), for the KPI snapshot file. */
export type SavedTally = Omit<WorkflowTally, 'running' | 'assigned' | 'waiting' | 'conflicted'> & {
  running: [string, string][];
  assigned: string[];
  waiting: string[];
  conflicted: string[];
};

export const saveTally = (t: WorkflowTally): SavedTally => ({ ...t, running: [...t.running], assigned: [...t.assigned], waiting: [...t.waiting], conflicted: [...t.conflicted] });

export const loadTally = (t: SavedTally): WorkflowTally => ({
  ...t,
  running: new Map(t.running),
  assigned: new Set(t.assigned),
  waiting: new Set(t.waiting),
  conflicted: new Set(t.conflicted),
});
