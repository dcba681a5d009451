import { createHash } from 'node:crypto';
import { packr } from '../../persistence/checkpoint-codec.js';
import type { ResourceManager } from '../resources/resource-manager.js';
import type { CreatedCheckpoint } from './checkpoint-body.js';
import type { CheckpointTrigger } from './journal.js';
import { fileSystemHash } from './recorded-files.js';

/** The protocol's `checkpoint_type` and `trigger` of each of troupe's triggers. */
const KIND: Record<CheckpointTrigger, { checkpoint_type: 'phase_complete' | 'incremental' | 'emergency' | 'manual'; trigger: 'automatic' | 'manual' | 'failure_prevention' }> = {
  phase: { checkpoint_type: 'phase_complete', trigger: 'automatic' },
  end: { checkpoint_type: 'phase_complete', trigger: 'automatic' },
  manual: { checkpoint_type: 'manual', trigger: 'manual' },
  risky: { checkpoint_type: 'incremental', trigger: 'failure_prevention' },
  agent_failure: { checkpoint_type: 'emergency', trigger: 'failure_prevention' },
  // taken again once the disk takes writes after a failed one
  storage: { checkpoint_type: 'emergency', trigger: 'failure_prevention' },
  interval: { checkpoint_type: 'incremental', trigger: 'automatic' },
  create: { checkpoint_type: 'incremental', trigger: 'automatic' },
  start: { checkpoint_type: 'incremental', trigger: 'automatic' },
  pause: { checkpoint_type: 'incremental', trigger: 'automatic' },
  resume: { checkpoint_type: 'incremental', trigger: 'automatic' },
  cancel: { checkpoint_type: 'incremental', trigger: 'automatic' },
  complete: { checkpoint_type: 'incremental', trigger: 'automatic' },
  cleanup: { checkpoint_type: 'incremental', trigger: 'automatic' },
  priority: { checkpoint_type: 'incremental', trigger: 'automatic' },
  restore: { checkpoint_type: 'incremental', trigger: 'automatic' },
  rollback: { checkpoint_type: 'incremental', trigger: 'automatic' },
  shutdown: { checkpoint_type: 'incremental', trigger: 'automatic' },
  recovery: { checkpoint_type: 'incremental', trigger: 'automatic' },
  import: { checkpoint_type: 'incremental', trigger: 'automatic' },
  export: { checkpoint_type: 'incremental', trigger: 'automatic' },
  retry_task: { checkpoint_type: 'incremental', trigger: 'automatic' },
  skip_task: { checkpoint_type: 'incremental', trigger: 'automatic' },
};

const prefixed = (hex: string | null) => (hex === null ? null : `sha256:${hex}`);
const hashOf = (value: unknown) => createHash('sha256').update(packr.pack(value)).digest('hex');

/**
 * The data of CHECKPOINT_CREATED: troupe's short fields (`checkpoint`,
 * `name`, `size`, `trigger`) and the protocol's `checkpoint_sync` message.
 * Cheap enough for every checkpoint: the body's hash comes from the write,
 * the others hash the few records they cover. `allocations` are the
 * workflow's resource allocations and queued requests.
 */
export function checkpointCreatedData(created: CreatedCheckpoint, allocations: readonly unknown[]): Record<string, unknown> {
  const kind = KIND[created.trigger as CheckpointTrigger] ?? { checkpoint_type: 'incremental', trigger: 'automatic' };
  return {
    checkpoint: created.id,
    name: created.header.name,
    size: created.size,
    trigger: created.trigger,
    checkpoint_sync: {
      message_type: 'checkpoint_update',
      workflow_id: created.workflowId,
      checkpoint_id: created.id,
      timestamp: new Date(created.header.created_at).toISOString(),
      ...kind,
      state_snapshot: {
        workflow_state_hash: prefixed(created.header.body_sha256),
        file_system_hash: prefixed(fileSystemHash(created.files)),
        // the agents' part of the checkpoint: which agent runs which attempt of which task
        agent_state_hash: prefixed(hashOf(created.inFlight.map((f) => [f.task_id, f.attempt, f.agent_id]))),
        resource_state_hash: prefixed(hashOf(allocations)),
      },
      validation_results: {
        integrity_check: created.integrity,
        // troupe's own: restored into a scratch actor (the `checkpoint` command's validate_state)
        state_validation: created.stateValidation,
        dependency_validation: 'unknown',
        resource_consistency: 'unknown',
      },
      storage_metadata: {
        size_bytes: created.size,
        compression_ratio: created.bodyBytes === 0 ? 1 : Math.round((created.storedBodyBytes / created.bodyBytes) * 1000) / 1000,
        compression: created.header.compression ?? 'none',
        storage_location: created.location,
      },
    },
  };
}

/** The workflow's part of the resource ledger: its allocations and queued requests, what `resource_state_hash` covers. */
export function workflowAllocations(resources: ResourceManager, workflowId: string): unknown[] {
  const { allocations, queue } = resources.ledger.getSnapshot().context;
  return [...Object.values(allocations).filter((a) => a.workflow_id === workflowId), ...queue.filter((q) => q.workflow_id === workflowId)];
}
