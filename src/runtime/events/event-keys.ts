import { topicOf, type EventRecord } from './event-record.js';

/**
 * The lower-cased segments of an event's two key forms, the routing key
 * (`EVENT_TYPE.workflow_id.phase`) and the topic (`workflow.wf_1.task_completed`),
 * as the pattern index walks them. Routing runs for every event published,
 * so the segments are put together from kept pieces (the same types,
 * workflow ids and phases come back event after event) instead of building
 * each key as text, lower-casing it and splitting it again. The result is
 * exactly `key.toLowerCase().split('.')`.
 */
export type KeySegments = readonly string[];

/** Pieces kept at most: past it the cache starts again (ids of finished workflows must not pile up). */
const MAX_PIECES = 10_000;
const pieces = new Map<string, KeySegments | null>();
const ASCII = /^[\x00-\x7f]*$/;

/**
 * The lower-cased segments of one piece of a key (a type, an id, a phase
 * that may hold dots). Null for text beyond ASCII: its lower case may
 * depend on the letters around it (a final sigma), so the whole key is
 * lower-cased instead.
 */
function pieceSegments(piece: string): KeySegments | null {
  let segments = pieces.get(piece);
  if (segments === undefined) {
    segments = ASCII.test(piece) ? piece.toLowerCase().split('.') : null;
    if (pieces.size >= MAX_PIECES) pieces.clear();
    pieces.set(piece, segments);
  }
  return segments;
}

/** The segments of `a.b.c`, or null when a piece is beyond ASCII. */
function joined(a: KeySegments | null, b: KeySegments | null, c: KeySegments | null): KeySegments | null {
  if (a === null || b === null || c === null) return null;
  // the usual key: three pieces without dots
  if (a.length === 1 && b.length === 1 && c.length === 1) return [a[0]!, b[0]!, c[0]!];
  return [...a, ...b, ...c];
}

const split = (key: string): KeySegments => key.toLowerCase().split('.');

/** The segments of the routing key. */
export function routingSegments(event: Pick<EventRecord, 'event_type' | 'workflow_id' | 'phase' | 'routing_key'>): KeySegments {
  return joined(pieceSegments(event.event_type), pieceSegments(event.workflow_id), pieceSegments(event.phase)) ?? split(event.routing_key);
}

/** How an event type names its topic (see {@link topicOf}), kept per type. */
interface TopicForm {
  scope: 'agent' | 'system' | 'workflow';
  /** the topic's last piece: the type, lower-cased, without its scope prefix */
  name: KeySegments | null;
}

const topicForms = new Map<string, TopicForm>();

function topicForm(type: string): TopicForm {
  let form = topicForms.get(type);
  if (!form) {
    const lower = type.toLowerCase();
    const scope = lower.startsWith('agent_') ? 'agent' : lower.startsWith('system_') ? 'system' : 'workflow';
    const prefix = scope === 'workflow' ? (lower.startsWith('workflow_') ? 'workflow_' : '') : `${scope}_`;
    form = { scope, name: pieceSegments(type.slice(prefix.length)) };
    // types come from a fixed registry; anything else is kept the same way, bounded
    if (topicForms.size >= MAX_PIECES) topicForms.clear();
    topicForms.set(type, form);
  }
  return form;
}

const SCOPE_SEGMENTS = { agent: ['agent'], system: ['system'], workflow: ['workflow'] } as const;
const GLOBAL_SEGMENTS: KeySegments = ['global'];

/** The segments of the topic. */
export function topicSegments(event: Pick<EventRecord, 'event_type' | 'workflow_id' | 'data'>): KeySegments {
  const form = topicForm(event.event_type);
  let id: KeySegments | null;
  if (form.scope === 'system') id = GLOBAL_SEGMENTS;
  else if (form.scope === 'agent' && typeof event.data.agent_id === 'string') id = pieceSegments(event.data.agent_id);
  else {
    // an agent event that names no agent is the workflow's, under its full type name
    if (form.scope === 'agent') return split(topicOf(event));
    id = pieceSegments(event.workflow_id);
  }
  return joined(SCOPE_SEGMENTS[form.scope], id, form.name) ?? split(topicOf(event));
}
