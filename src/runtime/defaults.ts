/**
 * Every default in one place, merged once. The README's configuration table
 * is tested against this object so the two cannot drift apart.
 */
export const DEFAULTS = {
  /** how often a running workflow is checkpointed */
  checkpoint_interval: '15m',
  /** agents the hub's pool holds at most */
  max_agent_pool_size: 20,
  /** a workflow's `timeout` when its definition has none */
  workflow_timeout: '4h',
  /** how long events are kept */
  event_retention: '7d',
  /** how often retention drops old log segments while the hub runs */
  compaction_interval: '1h',
  /** how often agents are expected to report */
  heartbeat_interval: '30s',
  /** recover active workflows at start */
  auto_recovery: true,
  /** a task's run-time limit when it sets none */
  task_timeout: '10m',
  /** a task's retries when it sets none */
  task_retries: 0,
  /** first retry delay; doubles each attempt, with jitter */
  retry_backoff_base: '1s',
  /** longest retry delay */
  retry_backoff_max: '5m',
  /** `failure_tolerance` when a workflow sets none */
  failure_tolerance: 'low',
  /** `priority` when a workflow sets none */
  priority: 'medium',
  /** `agent_requirements.min_agents` */
  min_agents: 1,
  /** `agent_requirements.max_agents`: tasks a workflow runs at once */
  max_agents: 8,
  /** tasks one agent runs at once */
  max_concurrent_tasks: 1,
  /** consecutive failures that open an agent's circuit breaker */
  breaker_threshold: 5,
  /** `wait` gives up after this long */
  wait_timeout: '60s',
  /** how long shutdown lets running tasks finish */
  shutdown_grace: '10s',
} as const;
