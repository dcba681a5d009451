/**
 * troupe's public API: the hub and what its clients (the CLI, tests, the
 * bench, embedding code) need. Values first, then types, by area.
 */

// the hub and its command boundary
export { createHub } from './runtime/hub.js';
export { OPERATIONS, OPERATION_NAMES, commandSchema, isOperation } from './runtime/commands.js';
export { helpFor } from './runtime/help.js';
export { ErrorCode, TroupeError } from './runtime/errors.js';
export { errorResponse } from './runtime/responses.js';
export { HUB_VERSION, PROTOCOL_VERSION, LEGACY_PROTOCOL_VERSION } from './runtime/version.js';
export { kindOf, readBoundedFile } from './runtime/bounded-file.js';
export { MAX_PARAMS_DEPTH, checkNesting, checkJsonTextNesting, checkYamlTextNesting, nestingTooDeep } from './runtime/nesting.js';
export { DEFAULTS } from './runtime/defaults.js';
/** @internal the CLI's configuration check: every setting asked of the hub's own rules, so the two cannot disagree */
export { resolveHubOptions } from './runtime/hub-options.js';
/** "did you mean": the name closest to a misspelt one */
export { closestName } from './runtime/suggest.js';
// what `health` judges by and SYSTEM_THRESHOLD watches
export { HEALTH_DEFAULTS, resolveHealthThresholds } from './runtime/health/health-thresholds.js';
export { resolveDefinition, workflowDefinitionSchema } from './runtime/definition.js';
export { definitionDigest } from './runtime/definition-digest.js';
// templates (DESIGN §12): the shipped ones' folder, and command-line text made into typed params
export { BUILTIN_TEMPLATES_DIR } from './runtime/templates/template-catalog.js';
export { paramsFromText } from './runtime/templates/param-values.js';
export { MAX_TEMPLATE_FILE_BYTES } from './runtime/templates/template-file.js';
export { parseDuration, formatDuration } from './runtime/durations.js';
export { parseSize } from './runtime/sizes.js';

// events
export { EVENT_TYPES, topicOf, formatEventMessage, parseEventMessage } from './runtime/events/event-record.js';

// the supervisor process: control socket, data directory, upgrade check
export { ControlSocket, MAX_REQUEST_BYTES } from './runtime/control-socket.js';
export { CONTROL_SOCKET_DEFAULTS } from './runtime/control-socket-options.js';
export { checkDataDir } from './runtime/durability/check.js';
export { dataDirLayout } from './persistence/data-dir.js';
export { readLogsOffline } from './runtime/scheduling/offline-logs.js';
export { OfflineView } from './runtime/durability/offline-view.js';
// the one rule for ids that become file names (workflow, task, checkpoint ids)
export { assertSafeId, idPath, isSafeId, unsafeIdReason, SAFE_ID_MAX_LENGTH, SAFE_ID_RULE, UnsafeIdError } from './persistence/safe-id.js';
/** @internal the CLI's REPL history: private files and directories whatever the umask */
export { appendFilePrivate, mkdirPrivate } from './persistence/private-files.js';

// time and tasks
export { createManualClock, systemClock } from './actors/clock.js';
export { createPiscinaRunner } from './actors/task-runner.js';

export type { Hub, HubOptions } from './runtime/hub.js';
export type { ResourceCapacity } from './runtime/resources/resource-manager.js';
export type { HealthThresholds, HealthThresholdOptions } from './runtime/health/health-thresholds.js';
export type { Command, HubResponse, SuccessResponse, ErrorResponse, OperationName } from './runtime/commands.js';
export type { WorkflowDefinition } from './runtime/definition.js';
export type { EventRecord, EventType, Severity, EventMessage } from './runtime/events/event-record.js';
export type { Session } from './runtime/events/subscriptions.js';
export type { ControlSocketStats } from './runtime/control-socket.js';
export type { ControlSocketOptions } from './runtime/control-socket-options.js';
export type { CheckpointVerdict } from './runtime/durability/check.js';
export type { IdKind } from './persistence/safe-id.js';
export type { Clock, ManualClock, TimerHandle } from './actors/clock.js';
export type { TaskRunner, TaskOutcome } from './actors/task-runner.js';
