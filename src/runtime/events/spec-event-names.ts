import { z } from 'zod';
import { EVENT_DATA } from './event-registry.js';
import { EVENT_TYPES, type EventType } from './event-record.js';
import { typesMatchedBy } from './pattern-analysis.js';
import { closestName } from '../suggest.js';

/**
 * The spec's names for events and their data, taken as troupe's: the spec
 * writes event types in lower case (`phase_completed`) and its examples name
 * data fields otherwise than the protocol's registry does
 * (`{"phase":2,"duration":"25m"}` for PHASE_COMPLETED's phase_id and actual_duration).
 */

/** Why a name is no event type: the closest one ("did you mean"), and every one there is. */
export function unknownEventTypeMessage(name: string): string {
  const guess = closestName(name, EVENT_TYPES);
  return `Unknown event type ${JSON.stringify(name)}${guess ? `: did you mean ${guess}?` : ''}\nThe event types: ${EVENT_TYPES.join(', ')}`;
}

/** An event type of the registry, in either case (`phase_completed` is PHASE_COMPLETED). */
export const eventTypeSchema = z.preprocess(
  (v) => (typeof v === 'string' ? v.toUpperCase() : v),
  z.enum(EVENT_TYPES, { error: (issue) => (typeof issue.input === 'string' ? unknownEventTypeMessage(issue.input) : undefined) }),
);

/** Spec names of data fields, by the registry field they stand for: used only when the registry's own name is absent. */
const DATA_ALIASES: Readonly<Record<string, readonly string[]>> = {
  phase_id: ['phase'],
  actual_duration: ['duration', 'completion_time'],
};

/** What publish-event makes of the data given for a type: the registry's names filled from the spec's, and what still lacks. */
export interface CheckedData {
  data: Record<string, unknown>;
  /** e.g. "data.phase is taken as phase_id (the registry's name for it)" */
  notes: string[];
  /** registry fields the event goes out without */
  missing: string[];
  /** fields present with a value the registry refuses: the event is not published */
  invalid: z.ZodError | null;
}

export function checkEventData(type: EventType, given: Record<string, unknown>): CheckedData {
  const schema = EVENT_DATA[type] as z.ZodObject;
  const data = { ...given };
  const notes: string[] = [];
  const fieldOk = (field: string, value: unknown) => (schema.shape[field] as z.ZodType).safeParse(value).success;
  for (const field of Object.keys(schema.shape)) {
    if (data[field] !== undefined) continue;
    const alias = DATA_ALIASES[field]?.find((a) => data[a] !== undefined && fieldOk(field, data[a]));
    if (alias === undefined) continue;
    // the spec's field stays as given beside the registry's
    data[field] = data[alias];
    notes.push(`data.${alias} is taken as ${field} (the registry's name for it in ${type}); both are in the event`);
  }
  const missing = Object.keys(schema.shape).filter((field) => data[field] === undefined);
  const parsed = schema.safeParse(data);
  const wrong = parsed.success ? [] : parsed.error.issues.filter((issue) => !missing.includes(String(issue.path[0])));
  return { data, notes, missing, invalid: wrong.length > 0 ? new z.ZodError(wrong) : null };
}

/** What an entry of configure-batching's event_types is taken as. */
export interface BatchingEntry {
  entry: string;
  /** the subscription pattern it becomes; null when it names nothing troupe publishes */
  pattern: string | null;
  /** the registry's types it covers */
  event_types: EventType[];
  /** what troupe did with it, when not simply the pattern given */
  note?: string;
}

/** Spec names of event kinds the registry names otherwise, or not at all. */
const KIND_SYNONYMS: Readonly<Record<string, { pattern: string | null; note: string }>> = {
  task_progress: { pattern: 'PHASE_PROGRESS.#', note: 'a task reports its progress (ctx.heartbeat(progress)) as PHASE_PROGRESS: batching that' },
  agent_heartbeat: {
    pattern: null,
    note: "heartbeats are not events in troupe: the agent pool checks each running task's worker heartbeats inside the hub, and an agent that misses them is announced as AGENT_TIMEOUT",
  },
};

/**
 * Reads one entry of configure-batching's `event_types`: a pattern
 * (`TASK_COMPLETED.#`), an event type in either case (`phase_completed` is
 * `PHASE_COMPLETED.#`), or one of the spec's names for a kind of event the
 * registry calls otherwise. An entry that matches nothing troupe publishes
 * says so.
 */
export function readBatchingEntry(entry: string): BatchingEntry {
  if (!entry.includes('.') && entry !== '#') {
    const upper = entry.toUpperCase();
    if ((EVENT_TYPES as readonly string[]).includes(upper)) {
      return { entry, pattern: `${upper}.#`, event_types: [upper as EventType], note: `${entry} is the event type ${upper}: batched as ${upper}.#` };
    }
    const synonym = KIND_SYNONYMS[entry.toLowerCase()];
    if (synonym) {
      return { entry, pattern: synonym.pattern, event_types: synonym.pattern ? typesMatchedBy(synonym.pattern) : [], note: `${entry} is no event type of the registry: ${synonym.note}` };
    }
  }
  const types = typesMatchedBy(entry);
  if (types.length === 0) {
    return { entry, pattern: null, event_types: [], note: `${entry} matches no event type troupe publishes (as a routing key TYPE.workflow.phase or a topic workflow.id.name): it batches nothing` };
  }
  return { entry, pattern: entry, event_types: types };
}
