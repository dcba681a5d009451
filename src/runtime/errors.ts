import { BundleKeyError } from '../persistence/bundle-key.js';
import { UnsafeIdError } from '../persistence/safe-id.js';

/**
 * The one table of error codes troupe answers with. Values go on the wire, so
 * this is an `as const` object, not a TS enum. Classify errors by `code`,
 * never by message text.
 */
export const ErrorCode = {
  WORKFLOW_NOT_FOUND: 'WORKFLOW_NOT_FOUND',
  WORKFLOW_EXISTS: 'WORKFLOW_EXISTS',
  WORKFLOW_ID_REQUIRED: 'WORKFLOW_ID_REQUIRED',
  INVALID_TRANSITION: 'INVALID_TRANSITION',
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  UNKNOWN_OPERATION: 'UNKNOWN_OPERATION',
  NOT_IMPLEMENTED: 'NOT_IMPLEMENTED',
  PARSE_ERROR: 'PARSE_ERROR',
  FILE_NOT_FOUND: 'FILE_NOT_FOUND',
  FILE_NOT_REGULAR: 'FILE_NOT_REGULAR',
  FILE_TOO_LARGE: 'FILE_TOO_LARGE',
  NESTING_TOO_DEEP: 'NESTING_TOO_DEEP',
  DEPENDENCY_CYCLE: 'DEPENDENCY_CYCLE',
  UNKNOWN_DEPENDENCY: 'UNKNOWN_DEPENDENCY',
  DUPLICATE_TASK: 'DUPLICATE_TASK',
  INVALID_REFERENCE: 'INVALID_REFERENCE',
  INVALID_EXPRESSION: 'INVALID_EXPRESSION',
  APPROVAL_NOT_PENDING: 'APPROVAL_NOT_PENDING',
  APPROVAL_EXPIRED: 'APPROVAL_EXPIRED',
  HANDLER_NOT_FOUND: 'HANDLER_NOT_FOUND',
  TEMPLATE_NOT_FOUND: 'TEMPLATE_NOT_FOUND',
  INVALID_PARAMS: 'INVALID_PARAMS',
  WAIT_TIMEOUT: 'WAIT_TIMEOUT',
  CHECKPOINT_NOT_FOUND: 'CHECKPOINT_NOT_FOUND',
  CHECKPOINT_CORRUPT: 'CHECKPOINT_CORRUPT',
  CHECKPOINT_INCOMPATIBLE: 'CHECKPOINT_INCOMPATIBLE',
  DEPENDENCY_VALIDATION_FAILED: 'DEPENDENCY_VALIDATION_FAILED',
  BACKUP_LOCATION_INVALID: 'BACKUP_LOCATION_INVALID',
  RESOURCE_CONFLICT: 'RESOURCE_CONFLICT',
  ALLOCATION_NOT_FOUND: 'ALLOCATION_NOT_FOUND',
  AGENT_NOT_FOUND: 'AGENT_NOT_FOUND',
  SUBSCRIPTION_NOT_FOUND: 'SUBSCRIPTION_NOT_FOUND',
  TASK_NOT_FOUND: 'TASK_NOT_FOUND',
  PHASE_NOT_FOUND: 'PHASE_NOT_FOUND',
  LOG_NOT_FOUND: 'LOG_NOT_FOUND',
  DATA_DIR_LOCKED: 'DATA_DIR_LOCKED',
  DATA_DIR_NOT_FOUND: 'DATA_DIR_NOT_FOUND',
  INVALID_ID: 'INVALID_ID',
  BUNDLE_INCONSISTENT: 'BUNDLE_INCONSISTENT',
  BUNDLE_KEY_INVALID: 'BUNDLE_KEY_INVALID',
  DATA_DIR_UNSAFE: 'DATA_DIR_UNSAFE',
  HUB_CLOSED: 'HUB_CLOSED',
  PERSISTENCE_DISABLED: 'PERSISTENCE_DISABLED',
  STORAGE_FAILED: 'STORAGE_FAILED',
  CONNECTION_LIMIT: 'CONNECTION_LIMIT',
  CONNECTION_IDLE: 'CONNECTION_IDLE',
  CONNECTION_STALLED: 'CONNECTION_STALLED',
  CONNECTION_BACKLOG: 'CONNECTION_BACKLOG',
  PROTOCOL_VERSION_UNSUPPORTED: 'PROTOCOL_VERSION_UNSUPPORTED',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;

/** One of the codes of {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Suggestions a response carries for each code, so every client shows the same fix. */
export const recoverySuggestions: Readonly<Partial<Record<ErrorCode, readonly string[]>>> = {
  WORKFLOW_NOT_FOUND: [
    "List available workflows with 'list-workflows'",
    "Create new workflow with 'create' operation",
  ],
  WORKFLOW_EXISTS: ["Pick another workflow id: an id stays taken after cleanup, so its history stays unambiguous"],
  WORKFLOW_ID_REQUIRED: ['Put the workflow id before the operation: <workflow-id> <operation> [params]'],
  INVALID_TRANSITION: ["See the workflow's state with 'get-status'"],
  VALIDATION_FAILED: ["See the operation's parameters with 'help <operation>'"],
  UNKNOWN_OPERATION: ["List the operations with 'help'"],
  NOT_IMPLEMENTED: ["List the operations that work in this version with 'help'"],
  PARSE_ERROR: ['Parameters are one JSON object, or @path to a JSON or YAML file'],
  FILE_NOT_FOUND: ['Check the path; relative paths are resolved from the current directory'],
  FILE_NOT_REGULAR: ['@path reads a regular file only: save what a pipe, device or directory would give to a file first'],
  FILE_TOO_LARGE: ['Split the workflow, or keep big data out of the parameters (a task can read it from a path given in its input)'],
  NESTING_TOO_DEEP: ['Flatten the parameters (the message names the limit and where it was crossed), or pass deeply nested data as a JSON string'],
  DEPENDENCY_CYCLE: ['Remove one of the depends_on edges named in the cycle'],
  UNKNOWN_DEPENDENCY: ['depends_on names task ids of the same or an earlier phase'],
  DUPLICATE_TASK: ['Give every task in the workflow its own id'],
  INVALID_REFERENCE: ['An expression reads tasks.<id> of tasks it depends on (depends_on, directly or through others); output only in compensate.input'],
  APPROVAL_NOT_PENDING: ["See what waits for an answer with 'approvals'"],
  APPROVAL_EXPIRED: ["The deadline's on_timeout decided it: see the task with '<id> get-status'"],
  INVALID_EXPRESSION: ['Expressions are CEL inside ${{ }}: tasks.<id>.output.<key>, tasks.<id>.status == "failed", a && b, x ? y : z'],
  HANDLER_NOT_FOUND: ['Built-in handlers: noop, echo, sleep, cpu, fail, exec, approval', "Name your own in the config: handlers: {name: './path/to/module.js#export'}"],
  TEMPLATE_NOT_FOUND: ["List the templates with 'list-templates'", "Add your own as NAME.yaml in the templates_dir of the config (default: templates/ beside the config file)"],
  INVALID_PARAMS: [
    "See a template's params (type, default, whether required) with 'list-templates'",
    'Params are given as JSON of the declared type ({"retries": 2}, not "2"); only troupe run --param k=v reads numbers and booleans from text',
  ],
  WAIT_TIMEOUT: ["Wait again with a longer 'timeout', or inspect with 'get-status'"],
  CHECKPOINT_NOT_FOUND: ["List the workflow's checkpoints with 'list-checkpoints'"],
  SUBSCRIPTION_NOT_FOUND: ["See the subscriptions (name, id, target) under 'health'", "Subscribe with 'subscribe-event {\"callback\":\"NAME\",\"patterns\":[…]}'"],
  CHECKPOINT_CORRUPT: ["Restore an older checkpoint (see 'list-checkpoints'), or run 'troupe check' for a full report"],
  CHECKPOINT_INCOMPATIBLE: ["Run 'troupe check' before upgrading; finish the workflow with the troupe version that wrote it"],
  DEPENDENCY_VALIDATION_FAILED: [
    'Fix what the details name (configure the missing handler, put the changed files back), then restore again',
    'Or restore anyway with {"verify_dependencies":false}: the check is then reported, not enforced',
  ],
  BACKUP_LOCATION_INVALID: ['Give a directory you can write to (it is created if missing), or an exact file with "path"'],
  RESOURCE_CONFLICT: ['Wait for the holder to release the resource, or request a different one'],
  TASK_NOT_FOUND: ["See the workflow's tasks with '<id> get-status'"],
  PHASE_NOT_FOUND: ["Name a phase of the workflow by its number (1 is the first) or its name: see them with '<id> get-status'"],
  LOG_NOT_FOUND: ["See which attempts have a log with '<id> logs {\"task_id\":\"…\"}' (no attempt: the newest)"],
  AGENT_NOT_FOUND: ["List the agents in the pool with 'monitor-pool'", 'An agent that failed or retired has left the pool; its tasks were already moved'],
  ALLOCATION_NOT_FOUND: ["See the workflow's allocations and queued requests in 'health' (resources)", 'An allocation is gone once released, auto-released or its workflow ended'],
  DATA_DIR_LOCKED: ['Stop the other supervisor, or use another --data-dir'],
  DATA_DIR_NOT_FOUND: ['Pass the --data-dir the supervisor uses (or set TROUPE_DATA_DIR); a supervisor creates its data directory when it first starts'],
  INVALID_ID: ['Use an id such as wf_1 or build-2: letters, digits, "_", "." and "-", starting with a letter or digit, no "..", at most 128 characters'],
  BUNDLE_INCONSISTENT: ['The bundle was not written by save-state as it is (edited, or made by another tool): ask its author for a fresh save-state, or load the workflow from its definition with create'],
  BUNDLE_KEY_INVALID: ["Remove the key file named in the message; save-state makes a new one (bundles signed with the old key then load as made 'elsewhere')"],
  DATA_DIR_UNSAFE: [
    'If you trust what is in it, make it yours and private: chown -R "$(id -u)" DIR && chmod -R go-w DIR (troupe itself creates 0700)',
    'If you do not know who wrote in it, do not run it: use another --data-dir (troupe creates it, private to you)',
  ],
  HUB_CLOSED: ['Start troupe again; active workflows resume where they were'],
  PERSISTENCE_DISABLED: ['Run the hub with a data directory (--data-dir, or the dataDir option)'],
  STORAGE_FAILED: [
    'Free space in the data directory (or fix the disk); troupe tries the writes again every 2s and resumes by itself',
    "See what cannot be written with 'health' (storage)",
  ],
  CONNECTION_LIMIT: ['Close connections you no longer use (attach sessions, scripts) and connect again', 'A supervisor started from code can raise maxConnections'],
  CONNECTION_IDLE: ['Connect again; a client that stays connected without a subscription sends a blank line now and then (troupe attach does)'],
  CONNECTION_STALLED: ['Read what the supervisor sends: a subscription\'s events wait in its bounded queue (max_queue) only while the client reads'],
  CONNECTION_BACKLOG: ['Read each response before sending many more requests, or send fewer at a time'],
  PROTOCOL_VERSION_UNSUPPORTED: ["Check both sides' versions: 'troupe --version' here, the client's own; 'hello' answers which protocol versions the supervisor speaks"],
  INTERNAL_ERROR: ['This is a bug in troupe: report it with the details of this response'],
};

/**
 * The error troupe throws inside the runtime and renders as an error
 * response. Carries a `code` from {@link ErrorCode}, human `details`, and an
 * optional `cause`.
 *
 * @example
 * throw new TroupeError('WORKFLOW_NOT_FOUND', 'Workflow wf_9 does not exist', { details: 'No workflow has the id wf_9' })
 */
export class TroupeError extends Error {
  readonly code: ErrorCode;
  readonly details: string | undefined;
  readonly suggestions: readonly string[] | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: string; suggestions?: readonly string[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TroupeError';
    this.code = code;
    this.details = options.details;
    this.suggestions = options.suggestions;
  }
}

/**
 * The error as a {@link TroupeError}: lower layers that may not import this
 * one (persistence) throw their own classes, carrying a code of the table.
 */
export function asTroupeError(error: unknown): TroupeError | null {
  if (error instanceof TroupeError) return error;
  if (error instanceof UnsafeIdError) return new TroupeError('INVALID_ID', error.message, { cause: error });
  if (error instanceof BundleKeyError) return new TroupeError('BUNDLE_KEY_INVALID', error.message, { cause: error });
  return null;
}

/** True when `value` is a {@link TroupeError}, optionally with the given code. */
export function isTroupeError(value: unknown, code?: ErrorCode): value is TroupeError {
  return value instanceof TroupeError && (code === undefined || value.code === code);
}
