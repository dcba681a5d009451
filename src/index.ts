/** troupe's public API: the hub and what its clients need. */
export { createHub } from './runtime/hub.js';
export type { Hub, HubOptions } from './runtime/hub.js';
export { OPERATIONS, OPERATION_NAMES, commandSchema, isOperation } from './runtime/commands.js';
export type { Command, HubResponse, SuccessResponse, ErrorResponse, OperationName } from './runtime/commands.js';
export { ErrorCode, TroupeError } from './runtime/errors.js';
export { DEFAULTS } from './runtime/defaults.js';
export { resolveDefinition, workflowDefinitionSchema } from './runtime/definition.js';
export type { WorkflowDefinition } from './runtime/definition.js';
export { parseDuration, formatDuration } from './runtime/durations.js';
export { EVENT_TYPES, topicOf } from './runtime/event-record.js';
export type { EventRecord, EventType, Severity } from './runtime/event-record.js';
export { createManualClock, systemClock } from './actors/clock.js';
export type { Clock, ManualClock, TimerHandle } from './actors/clock.js';
export { createPiscinaRunner } from './actors/task-runner.js';
export type { TaskRunner, TaskOutcome } from './actors/task-runner.js';
export { errorResponse } from './runtime/responses.js';
export { checkDataDir } from './runtime/check.js';
export type { CheckpointVerdict } from './runtime/check.js';
