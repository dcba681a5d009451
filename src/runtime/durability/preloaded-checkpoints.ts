import type { CheckpointHeaderInput } from '../../persistence/checkpoint-codec.js';
import type { CheckpointInfo, CheckpointStore, LoadedCheckpoint, NewestValid, WrittenCheckpoint } from '../../persistence/checkpoint-store.js';

/**
 * A checkpoint store that answers each workflow's first `loadNewestValid`
 * with a load made before (when the data directory was opened, to learn
 * what the checkpoints claim of the log), so recovery does not read and
 * decode every checkpoint twice. A write or removal of a workflow's
 * checkpoints drops its load; everything else goes to the store.
 */
export class PreloadedCheckpoints implements CheckpointStore {
  readonly #store: CheckpointStore;
  readonly #loads: Map<string, Promise<NewestValid>>;

  constructor(store: CheckpointStore, loads: Map<string, Promise<NewestValid>>) {
    this.#store = store;
    this.#loads = loads;
  }

  write(header: CheckpointHeaderInput, body: unknown): Promise<CheckpointInfo> {
    this.#loads.delete(header.workflow_id);
    return this.#store.write(header, body);
  }

  writeDetailed(header: CheckpointHeaderInput, body: unknown): Promise<WrittenCheckpoint> {
    this.#loads.delete(header.workflow_id);
    return this.#store.writeDetailed(header, body);
  }

  list(workflowId: string): Promise<CheckpointInfo[]> {
    return this.#store.list(workflowId);
  }

  read(info: CheckpointInfo): Promise<LoadedCheckpoint> {
    return this.#store.read(info);
  }

  loadNewestValid(workflowId: string): Promise<NewestValid> {
    const load = this.#loads.get(workflowId);
    this.#loads.delete(workflowId);
    return load ?? this.#store.loadNewestValid(workflowId);
  }

  workflows(): Promise<string[]> {
    return this.#store.workflows();
  }

  remove(workflowId: string): Promise<void> {
    this.#loads.delete(workflowId);
    return this.#store.remove(workflowId);
  }
}
