import { z } from 'zod';
import type { PoolRecords } from './agent-pool.js';

/** The kind and format version of `agent_pools/pool.ckpt`. */
export const POOL_FILE = { kind: 'agent-pool', version: 1 } as const;

const count = z.number().int().min(0);
const score = z.number().min(0).max(100);

const performance = z.object({
  tasksCompleted: count,
  tasksFailed: count,
  totalTaskMs: z.number().min(0),
  recentScores: z.array(score).max(20),
});

const view = z.object({
  agent_id: z.string().min(1),
  role: z.string().min(1),
  state: z.string(),
  breaker: z.string(),
  current_tasks: z.array(z.string()),
  max_concurrent_tasks: z.number().int().min(1),
  tasks_completed: count,
  tasks_failed: count,
  performance_score: score,
  recent_performance: z.array(score),
  average_task_ms: z.number().min(0),
});

/**
 * What a pool.ckpt must hold: its checksum says the bytes are the ones
 * written, this says they are a pool's records (a file of another version
 * of troupe, or one hand-edited, is refused rather than half-used).
 */
const schema = z.object({
  agents: z.array(z.object({ id: z.string().min(1), role: z.string().min(1), performance })),
  departed: z.array(view),
});

/** The records a pool.ckpt holds; throws (a zod error naming what is wrong) when it holds something else. */
export function parsePoolRecords(body: unknown): PoolRecords {
  return schema.parse(body);
}
