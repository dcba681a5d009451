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
  /** how often a running task's worker reports that it is alive */
  heartbeat_interval: '30s',
  /** heartbeats a running task may miss before its agent is unresponsive and the task moves */
  missed_heartbeats: 3,
  /** recover active workflows at start */
  auto_recovery: true,
  /** checkpoint bodies of 4 KiB and more stored deflated, save-state bundles gzipped */
  state_compression: true,
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
  /** how long an open breaker waits before one trial task */
  breaker_cooldown: '30s',
  /** an idle agent beyond the first of its role leaves the pool after this long */
  agent_idle_timeout: '5m',
  /** AGENT_PERFORMANCE_ALERT when an agent's score (mean of its last 20 results, 0..100) falls below this */
  performance_alert_threshold: 50,
  /** `wait` gives up after this long */
  wait_timeout: '60s',
  /** how long shutdown lets running tasks finish */
  shutdown_grace: '10s',
  /** how long a task's process group gets between SIGTERM and SIGKILL (cancel, timeout, shutdown, on_recovery: restart) */
  kill_grace: '5s',
  /** bytes of the end of each attempt's output a task log keeps (10 MiB) */
  task_log_max: 10_485_760,
  /** a resource allocation's auto-release timeout when its request sets no duration_hours */
  resource_duration: '1h',
  /** how long a queued resource request waits when its request sets no max_wait_time */
  resource_max_wait: '10m',
  /** percent of a resource's capacity in use at which RESOURCE_THRESHOLD is published */
  resource_usage_threshold: 80,
  /** the largest task output (and error data) stored, msgpack-encoded; larger ones fail their task with OUTPUT_TOO_LARGE */
  max_output_bytes: '4MiB',
} as const;
