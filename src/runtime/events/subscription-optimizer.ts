import { z } from 'zod';
import { TroupeError } from '../errors.js';
import type { Handler, OperationResult } from '../operation-kit.js';
import { compilePattern } from './event-pattern.js';
import type { EventRecord } from './event-record.js';
import { patternContains, typesMatchedBy } from './pattern-analysis.js';
import type { Subscription } from './subscriptions.js';

export const optimizeSubscriptionsParams = z.strictObject({
  subscriber_id: z.string().min(1).optional().describe("a subscription's id or name; all subscriptions when absent"),
  optimization_goal: z.enum(['efficiency', 'latency', 'throughput']).default('efficiency'),
  enable_adaptive_filtering: z.boolean().default(true).describe('also report patterns none of the recent events matched (kept: they may match later)'),
  performance_monitoring: z.boolean().default(false).describe("add each subscription's queue figures: waiting, dropped, deduplicated, dead letters"),
  dry_run: z.boolean().default(false).describe('report what would change, change nothing'),
});

type Params = z.output<typeof optimizeSubscriptionsParams>;

/** A pattern the analysis takes out, and why. */
interface Removal {
  pattern: string;
  reason: 'duplicate' | 'subsumed' | 'matches_no_event_type';
  /** the pattern that takes what it took (duplicate, subsumed) */
  by?: string;
}

/**
 * One subscription's patterns without the redundant ones: exact duplicates
 * (case-insensitive), patterns another of its patterns contains
 * (`TASK_FAILED.wf_1.*` under `TASK_FAILED.#`; of two equivalent ones the
 * first stays), and patterns that can match no event type troupe publishes.
 * What it delivers does not change: an event two of its patterns match was
 * delivered once already.
 */
export function prunePatterns(patterns: readonly string[]): { kept: string[]; removed: Removal[] } {
  const removed: Removal[] = [];
  const candidates: string[] = [];
  for (const pattern of patterns) {
    const twin = candidates.find((c) => c.toLowerCase() === pattern.toLowerCase());
    if (twin !== undefined) removed.push({ pattern, reason: 'duplicate', by: twin });
    else if (typesMatchedBy(pattern).length === 0) removed.push({ pattern, reason: 'matches_no_event_type' });
    else candidates.push(pattern);
  }
  const kept = candidates.filter((pattern, i) => {
    const by = candidates.find((other, j) => j !== i && patternContains(other, pattern) && (j < i || !patternContains(pattern, other)));
    if (by !== undefined) removed.push({ pattern, reason: 'subsumed', by });
    return by === undefined;
  });
  return { kept, removed };
}

/** How often each pattern matched the recent events: the index matches a dropped pattern no longer costs. */
function matchCounts(patterns: readonly string[], events: readonly EventRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const pattern of patterns) {
    const matches = compilePattern(pattern);
    let n = 0;
    for (const e of events) if (matches(e)) n++;
    counts.set(pattern, n);
  }
  return counts;
}

export const optimizeSubscriptionsHandlers: Record<string, Handler> = {
  'optimize-subscriptions'(hub, _id, params: Params): OperationResult {
    const chosen = hub.subscriptions.find(params.subscriber_id);
    if (params.subscriber_id !== undefined && chosen.length === 0) {
      throw new TroupeError('SUBSCRIPTION_NOT_FOUND', `No subscription has the id or name ${params.subscriber_id}`, {
        details: `Live subscriptions: ${hub.subscriptions.find().map((s) => s.name ?? s.id).join(', ') || 'none'}`,
        suggestions: ["Subscribe first with 'subscribe-event', or leave subscriber_id out to optimize every subscription"],
      });
    }
    const recent = hub.bus.recent();
    const warnings: string[] = [];
    if (params.optimization_goal !== 'efficiency') {
      warnings.push(`optimization_goal "${params.optimization_goal}": the optimization is the same for every goal (redundant patterns out); for latency see enable-async-processing, for throughput configure-batching`);
    }
    let before = 0;
    let after = 0;
    let savedMatches = 0;
    const subscriptions = chosen.map((s: Subscription) => {
      const pruned = prunePatterns(s.patterns);
      // every pattern would go (none can match an event type): the subscription is left as it is, and said so
      const emptied = pruned.kept.length === 0;
      if (emptied) warnings.push(`${s.name ?? s.id}: none of its patterns can match an event type; it was left as it is (unsubscribe it, or subscribe it again with patterns such as TASK_FAILED.#)`);
      const { kept, removed } = emptied ? { kept: [...s.patterns], removed: [] } : pruned;
      const counts = matchCounts(s.patterns, recent);
      before += s.patterns.length;
      after += kept.length;
      const saved = removed.reduce((n, r) => n + (counts.get(r.pattern) ?? 0), 0);
      savedMatches += saved;
      const patternsBefore = [...s.patterns];
      if (!params.dry_run && removed.length > 0) hub.subscriptions.replacePatterns(s.id, kept);
      return {
        subscription_id: s.id,
        ...(s.name === undefined ? {} : { name: s.name }),
        patterns_before: patternsBefore,
        patterns_after: kept,
        removed,
        index_matches_saved: saved,
        ...(params.enable_adaptive_filtering ? { idle_patterns: kept.filter((p) => counts.get(p) === 0) } : {}),
        ...(params.performance_monitoring
          ? { performance: { waiting: s.queue.waiting, dropped: s.queue.dropped, deduplicated: s.queue.deduplicated, dead_letters: hub.subscriptions.deadLetters(s.id).length } }
          : {}),
      };
    });
    return {
      result: {
        dry_run: params.dry_run,
        subscriptions,
        patterns: { before, after, removed: before - after },
        // what a removed pattern cost: trie matches an event had before the subscription's set merged them; deliveries stay the same
        recent_events: recent.length,
        index_matches_saved: savedMatches,
        deliveries_changed: 0,
      },
      next_steps: params.dry_run && before > after ? ['Apply it: run again without "dry_run"'] : [],
      warnings,
      metrics: { resources_used: 'none' },
    };
  },
};
