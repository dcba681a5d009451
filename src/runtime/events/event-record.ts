import { randomUUID } from 'node:crypto';

/** Every event type of the protocol's registry, plus troupe's own. */
export const EVENT_TYPES = [
  'WORKFLOW_CREATED', 'WORKFLOW_STARTED', 'WORKFLOW_PAUSED', 'WORKFLOW_RESUMED',
  'WORKFLOW_COMPLETED', 'WORKFLOW_FAILED', 'WORKFLOW_CANCELLED',
  'PHASE_STARTED', 'PHASE_COMPLETED', 'PHASE_FAILED', 'PHASE_SKIPPED', 'PHASE_PROGRESS',
  'TASK_ASSIGNED', 'TASK_STARTED', 'TASK_COMPLETED', 'TASK_FAILED', 'TASK_TIMEOUT', 'TASK_REASSIGNED', 'TASK_RECOVERED',
  'COMPENSATION_STARTED', 'TASK_COMPENSATED', 'TASK_COMPENSATION_FAILED', 'WORKFLOW_COMPENSATED',
  'APPROVAL_REQUESTED', 'APPROVAL_GRANTED', 'APPROVAL_REJECTED',
  'AGENT_ALLOCATED', 'AGENT_DEALLOCATED', 'AGENT_PERFORMANCE_ALERT', 'AGENT_ERROR', 'AGENT_TIMEOUT',
  'RESOURCE_ALLOCATED', 'RESOURCE_DEALLOCATED', 'RESOURCE_CONFLICT', 'RESOURCE_THRESHOLD', 'RESOURCE_OPTIMIZED',
  'SYSTEM_STARTUP', 'SYSTEM_SHUTDOWN', 'SYSTEM_THRESHOLD', 'SYSTEM_ERROR', 'SYSTEM_MAINTENANCE',
  'CHECKPOINT_CREATED', 'CHECKPOINT_RESTORED', 'ERROR_ENCOUNTERED', 'EVENT_DEAD_LETTERED',
  'ACTOR_TRACE',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];
/** `debug` is only the actor trace's (off by default). */
export type Severity = 'debug' | 'info' | 'warning' | 'error' | 'critical';
export const SEVERITIES = ['debug', 'info', 'warning', 'error', 'critical'] as const satisfies readonly Severity[];

/** An event as it is stored, delivered and printed (DESIGN §6). */
export interface EventRecord {
  event_id: string;
  seq: number;
  event_type: EventType;
  /** the workflow id, or `global` */
  workflow_id: string;
  /** the phase name, or `global` */
  phase: string;
  /** ISO 8601 */
  timestamp: string;
  severity: Severity;
  source: string;
  data: Record<string, unknown>;
  /** `EVENT_TYPE.workflow_id.phase` */
  routing_key: string;
  /** `EVENT_TYPE:workflow_id:phase:data-as-JSON` */
  message: string;
  correlation_id: string | null;
  causation_id: string | null;
  tags: string[];
  /**
   * The subscriptions it was delivered to (each one's name, or its id when it
   * has none), decided at publish time (spec "Event Publishing System").
   * Absent from records logged before troupe recorded it.
   */
  subscribers?: string[];
}

/**
 * The sources of the runtime's own events. The KPIs count only these:
 * anyone can `publish-event` a WORKFLOW_COMPLETED, but not under these names
 * (`publish-event` refuses them).
 */
export const RUNTIME_SOURCES: ReadonlySet<string> = new Set(['troupe', 'scheduler']);

/** What a publisher says; the rest of the record is derived. */
export interface EventDraft {
  type: EventType;
  /** the producer's id for the event (a retried publish keeps it, so batch subscriptions can deduplicate); @default a new uuid */
  eventId?: string;
  workflowId?: string;
  phase?: string;
  data?: Record<string, unknown>;
  severity?: Severity;
  source?: string;
  correlationId?: string | null;
  causationId?: string | null;
  tags?: string[];
}

const DEFAULT_SEVERITY: Partial<Record<EventType, Severity>> = {
  WORKFLOW_FAILED: 'error',
  PHASE_FAILED: 'error',
  TASK_FAILED: 'warning',
  TASK_TIMEOUT: 'warning',
  COMPENSATION_STARTED: 'warning',
  APPROVAL_REQUESTED: 'warning',
  APPROVAL_REJECTED: 'warning',
  TASK_COMPENSATION_FAILED: 'error',
  AGENT_ERROR: 'error',
  AGENT_TIMEOUT: 'warning',
  SYSTEM_ERROR: 'critical',
  ERROR_ENCOUNTERED: 'error',
  RESOURCE_CONFLICT: 'warning',
  EVENT_DEAD_LETTERED: 'warning',
  ACTOR_TRACE: 'debug',
};

/** Shared by every record nobody subscribed to (frozen: one array, never written to). */
const NO_SUBSCRIBERS: string[] = Object.freeze([]) as unknown as string[];
/** Shared by every record published without tags, likewise: a record the bus keeps costs one array less. */
const NO_TAGS: string[] = Object.freeze([]) as unknown as string[];

/**
 * Builds the full record of an event numbered `seq`, happening at `at` (epoch ms).
 *
 * Publishing is hot (a hub publishes for every task step), so the record
 * is cheap to build: the id comes from a counter ({@link newEventId}), the
 * ISO time is shared by the events of the same millisecond, and the text
 * form `message` is only made when something reads it (the log, a
 * subscriber, get-events), then kept. It is still an own enumerable
 * property in its place, so JSON, msgpack, `{...record}` and
 * `Object.keys` see the same record as if it had been built at once.
 */
export function createEventRecord(draft: EventDraft, seq: number, at: number): EventRecord {
  const workflowId = draft.workflowId ?? 'global';
  const phase = draft.phase ?? 'global';
  const record = {
    event_id: draft.eventId ?? newEventId(),
    seq,
    event_type: draft.type,
    workflow_id: workflowId,
    phase,
    timestamp: isoTime(at),
    severity: draft.severity ?? DEFAULT_SEVERITY[draft.type] ?? 'info',
    source: draft.source ?? 'troupe',
    data: draft.data ?? {},
    routing_key: `${draft.type}.${workflowId}.${phase}`,
  } as EventRecord;
  Object.defineProperty(record, 'message', LAZY_MESSAGE);
  record.correlation_id = draft.correlationId ?? null;
  record.causation_id = draft.causationId ?? null;
  record.tags = draft.tags ?? NO_TAGS;
  record.subscribers = NO_SUBSCRIBERS;
  return record;
}

/** Where a record keeps its text form once made: a non-enumerable slot, so no copy or encoding of the record sees it. */
const MESSAGE = Symbol('message');
type WithMessage = EventRecord & { [MESSAGE]?: string };

/**
 * `message` as an accessor shared by every record (one descriptor, so the
 * records keep one hidden class): made from the record's own fields on the
 * first read, then kept. Writing it replaces it, as on a plain record.
 */
const LAZY_MESSAGE: PropertyDescriptor = {
  get(this: WithMessage): string {
    return this[MESSAGE] ?? keepMessage(this, formatEventMessage(this));
  },
  set(this: WithMessage, text: string) {
    keepMessage(this, text);
  },
  enumerable: true,
  configurable: true,
};

function keepMessage(record: WithMessage, text: string): string {
  if (Object.hasOwn(record, MESSAGE)) record[MESSAGE] = text;
  else Object.defineProperty(record, MESSAGE, { value: text, writable: true, enumerable: false, configurable: true });
  return text;
}

/** The last time turned into ISO text, and its text: the events of one millisecond share it. */
let isoAt = Number.NaN;
let isoText = '';

function isoTime(at: number): string {
  if (at !== isoAt) {
    isoText = new Date(at).toISOString();
    isoAt = at;
  }
  return isoText;
}

/** How many ids one prefix numbers: the counter fills the uuid's last group (12 hex digits). */
const IDS_PER_PREFIX = 2 ** 48;
let idPrefix = '';
let idCount = IDS_PER_PREFIX;

/**
 * A new event id, in the shape of a uuid (36 characters of hex digits and
 * dashes) and as unique: the first four groups are random, drawn once per
 * process (74 random bits: two processes, or a restart, never share them),
 * and the last group counts the process's events. Drawing a whole random
 * uuid per event cost more than the rest of the record.
 */
export function newEventId(): string {
  if (idCount === IDS_PER_PREFIX) {
    idPrefix = randomUUID().slice(0, 24);
    idCount = 0;
  }
  const tail = (idCount++).toString(16);
  return idPrefix + '000000000000'.slice(tail.length) + tail;
}

/**
 * The spec's topic of an event: `<scope>.<id>.<name>`, e.g.
 * `workflow.wf_1.phase_completed`, `workflow.wf_1.failed`, `agent.agent_003.timeout`.
 */
export function topicOf(record: Pick<EventRecord, 'event_type' | 'workflow_id' | 'data'>): string {
  const type = record.event_type.toLowerCase();
  if (type.startsWith('agent_') && typeof record.data.agent_id === 'string') {
    return `agent.${record.data.agent_id}.${type.slice('agent_'.length)}`;
  }
  if (type.startsWith('system_')) return `system.global.${type.slice('system_'.length)}`;
  const name = type.startsWith('workflow_') ? type.slice('workflow_'.length) : type;
  return `workflow.${record.workflow_id}.${name}`;
}

/** The parts of an event its text form carries. */
export interface EventMessage {
  event_type: EventType;
  workflow_id: string;
  phase: string;
  data: Record<string, unknown>;
}

/** The text form `EVENT_TYPE:workflow_id:phase:data-as-JSON` (DESIGN §6). */
export function formatEventMessage(m: EventMessage): string {
  return `${m.event_type}:${m.workflow_id}:${m.phase}:${JSON.stringify(m.data)}`;
}

/**
 * Parses the text form back. The type and the workflow id hold no `:`; a
 * phase name may, so the data is the first `:{…}` suffix that is a JSON
 * object and formats back to exactly the same text. Returns null for text
 * that is not a message.
 */
export function parseEventMessage(text: string): EventMessage | null {
  const first = text.indexOf(':');
  const second = first === -1 ? -1 : text.indexOf(':', first + 1);
  if (second === -1) return null;
  const type = text.slice(0, first);
  if (!(EVENT_TYPES as readonly string[]).includes(type)) return null;
  const workflowId = text.slice(first + 1, second);
  for (let at = text.indexOf(':{', second); at !== -1; at = text.indexOf(':{', at + 1)) {
    let data: unknown;
    try {
      data = JSON.parse(text.slice(at + 1));
    } catch {
      continue;
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) continue;
    const message = { event_type: type as EventType, workflow_id: workflowId, phase: text.slice(second + 1, at), data: data as Record<string, unknown> };
    if (formatEventMessage(message) === text) return message;
  }
  return null;
}
