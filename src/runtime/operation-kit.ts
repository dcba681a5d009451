import { TroupeError } from './errors.js';
import type { HubState } from './hub-state.js';
import type { Session } from './events/subscriptions.js';
import type { WorkflowEntry } from './scheduling/workflow-entry.js';

/** What an operation handler returns; the hub wraps it in the response envelope. */
export interface OperationResult {
  result: unknown;
  next_steps: string[];
  /**
   * What the command did other than what was asked, said plainly: a spec
   * parameter accepted that cannot apply on one machine, a value adjusted.
   * A value the user gave is never dropped without a line here.
   */
  warnings?: string[];
  /** the spec's success metrics beside execution_time, where the operation knows them */
  metrics?: ResponseMetrics;
}

/** The spec's `metrics` of a success response, beyond the execution time the hub measures. */
export interface ResponseMetrics {
  /** what the command used, e.g. "1 checkpoint write (2.1 KiB)" or "none" */
  resources_used?: string;
  /** how many agents the command assigned, released, moved or changed */
  agents_affected?: number;
}

/** An operation: its validated parameters in, its result out. `raw` is the parameters as sent. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handler = (hub: HubState, workflowId: string | undefined, params: any, raw: unknown, session?: Session) => OperationResult | Promise<OperationResult>;

/** The workflow with this id, or WORKFLOW_NOT_FOUND. */
export function entryOf(hub: HubState, id: string | undefined): WorkflowEntry {
  const entry = id === undefined ? undefined : hub.workflows.get(id);
  if (!entry) {
    throw new TroupeError('WORKFLOW_NOT_FOUND', `Workflow ${id} does not exist`, {
      details: hub.workflows.size === 0 ? 'No workflow has been created yet' : `Known workflows: ${[...hub.workflows.keys()].join(', ')}`,
    });
  }
  return entry;
}

/** The journal, or an error saying the operation needs a data directory. */
export function journalOf(hub: HubState, operation: string) {
  if (!hub.journal) {
    throw new TroupeError('PERSISTENCE_DISABLED', `Operation ${operation} needs a data directory, and this hub runs in memory`, {
      details: 'Create the hub with a dataDir (the command line always has one: --data-dir, default ./.troupe)',
    });
  }
  return hub.journal;
}
