/**
 * How the pool chooses among the agents that can take a task. Pure: the
 * pool hands in what it knows of each candidate.
 */

/** How to choose; `redistribute-tasks` names one, everything else uses `balanced`. */
export type AssignmentStrategy = 'balanced' | 'performance_based' | 'round_robin' | 'specialization_match';

export interface Candidate {
  id: string;
  /** running tasks / max concurrent tasks, 0..1 */
  load: number;
  /** mean of recent scores, 0..100 */
  score: number;
  /** when it was last given a task (a counter): lower goes first among equals */
  lastPicked: number;
}

/**
 * Orders candidates best first. `balanced` (the spec's selection process
 * after role match): lower load, then higher performance score, then the
 * one that waited longest. `performance_based`: score first, then load.
 * `round_robin`: only who waited longest. `specialization_match` ranks like
 * `balanced`: the role match itself is the pool's filter.
 */
export function rank(candidates: readonly Candidate[], strategy: AssignmentStrategy = 'balanced'): Candidate[] {
  return [...candidates].sort((a, b) => compareCandidates(a, b, strategy));
}

const byTurn = (a: Candidate, b: Candidate) => a.lastPicked - b.lastPicked;
const byLoad = (a: Candidate, b: Candidate) => a.load - b.load;
const byScore = (a: Candidate, b: Candidate) => b.score - a.score;
const ORDER: Record<AssignmentStrategy, readonly ((a: Candidate, b: Candidate) => number)[]> = {
  balanced: [byLoad, byScore, byTurn],
  specialization_match: [byLoad, byScore, byTurn],
  performance_based: [byScore, byLoad, byTurn],
  round_robin: [byTurn],
};

/** Negative when `a` goes before `b` under `strategy` (see {@link rank}), positive when after, 0 for equals. */
export function compareCandidates(a: Candidate, b: Candidate, strategy: AssignmentStrategy = 'balanced'): number {
  for (const by of ORDER[strategy]) {
    const d = by(a, b);
    if (d !== 0) return d;
  }
  return 0;
}

/** Mean of recent scores, one decimal; 100 for an agent that has not finished a task yet. */
export function performanceScore(recentScores: readonly number[]): number {
  if (recentScores.length === 0) return 100;
  return Math.round((recentScores.reduce((a, b) => a + b, 0) / recentScores.length) * 10) / 10;
}
