import { DAY_MS, POINT, SPAN, type KpiFold } from './kpi-fold.js';
import { efficiencyOf } from './workflow-tally.js';

/** The orchestrator spec's success metrics: each KPI's target and which side of it is good. */
export const KPI_TARGETS = {
  workflow_completion_rate: { target: 95, comparison: '>' },
  parallel_efficiency: { target: 70, comparison: '>=' },
  conflict_rate: { target: 5, comparison: '<' },
  recovery_success_rate: { target: 90, comparison: '>=' },
  agent_utilization: { target: 80, comparison: '>=' },
} as const;

export type KpiName = keyof typeof KPI_TARGETS;

/** One KPI beside its target; `value` (and `met`) null while there is nothing to divide by. */
export interface Kpi {
  value: number | null;
  target: number;
  comparison: '>' | '>=' | '<';
  unit: '%';
  met: boolean | null;
  numerator: number;
  denominator: number;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

export function kpi(name: KpiName, numerator: number, denominator: number): Kpi {
  const { target, comparison } = KPI_TARGETS[name];
  // sums over a window's edge are pro rata: whole ms are enough
  const [n, d] = [Math.round(numerator), Math.round(denominator)];
  const value = d > 0 ? round1((100 * n) / d) : null;
  const met = value === null ? null : comparison === '>' ? value > target : comparison === '>=' ? value >= target : value < target;
  return { value, target, comparison, unit: '%', met, numerator: n, denominator: d };
}

/** The five KPIs from sums of the fold's counters (`points`) and accrued amounts (`spans`). */
function kpisOf(points: readonly number[], spans: readonly number[]): Record<KpiName, Kpi> {
  return {
    workflow_completion_rate: kpi('workflow_completion_rate', points[POINT.completed]!, points[POINT.ended]!),
    parallel_efficiency: kpi('parallel_efficiency', points[POINT.task_ms]!, points[POINT.capacity_ms]!),
    conflict_rate: kpi('conflict_rate', points[POINT.waited]!, points[POINT.dispatched]!),
    recovery_success_rate: kpi('recovery_success_rate', points[POINT.recovered_completed]!, points[POINT.recovered_ended]!),
    agent_utilization: kpi('agent_utilization', spans[SPAN.busy_ms]!, spans[SPAN.available_ms]!),
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * `metrics`' `kpis`: each KPI over all the history the fold has seen and
 * over the day before `now`. Costs O(1) amortized: the sums are kept as
 * events are folded; a query only drops what left the day since the last one.
 */
export function kpiReport(fold: KpiFold, now: number) {
  const open = fold.openSpan(now);
  const allSpans = fold.spanTotals.map((x, i) => x + (open?.v[i] ?? 0));
  return {
    all_time: { since: iso(fold.firstAt), ...kpisOf(fold.totals, allSpans) },
    last_24h: { since: iso(now - DAY_MS), ...kpisOf(fold.points.sums(now), fold.spans.sums(now, open)) },
  };
}

/**
 * `get-status`' `kpis` of one workflow's run: its parallel efficiency (with
 * the wall time and agents it is computed from), conflict rate, retries and
 * how it ended (null while it runs). Null when the fold holds no run of it
 * (never started, or ended long ago: see ENDED_KEPT).
 */
export function workflowKpis(fold: KpiFold, workflowId: string, now: number) {
  const tally = fold.tallies.get(workflowId);
  if (!tally) return null;
  const efficiency = efficiencyOf(tally, now);
  return {
    parallel_efficiency: { ...kpi('parallel_efficiency', efficiency?.taskMs ?? 0, efficiency?.capacityMs ?? 0), wall_ms: efficiency?.wallMs ?? null, agents: tally.peak },
    conflict_rate: kpi('conflict_rate', tally.waited, tally.dispatched),
    retries: tally.retries,
    completion: tally.outcome,
    completed: tally.outcome === null ? null : tally.outcome === 'completed',
  };
}
