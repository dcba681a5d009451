import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { routingSegments, topicSegments } from '../src/runtime/events/event-keys.js';
import { createEventRecord, EVENT_TYPES, newEventId, topicOf, type EventDraft } from '../src/runtime/events/event-record.js';
import { packr } from '../src/persistence/checkpoint-codec.js';

/** Pieces of keys: ASCII of both cases, dots, and letters whose lower case depends on their neighbours (a final sigma). */
const piece = fc.array(fc.constantFrom('a', 'B', '_', '.', '1', 'Σ', 'Α', 'İ', 'x'), { maxLength: 6 }).map((chars) => chars.join(''));

describe('the key segments the pattern index walks', () => {
  it('are exactly the routing key and the topic lower-cased and split, whatever the type, ids and phase', () => {
    fc.assert(
      fc.property(fc.constantFrom(...EVENT_TYPES), piece, piece, fc.option(piece), (type, workflowId, phase, agentId) => {
        const event = createEventRecord({ type, workflowId, phase, data: agentId === null ? {} : { agent_id: agentId } }, 1, 0);
        // twice: the second time from the kept pieces
        for (let i = 0; i < 2; i++) {
          expect(routingSegments(event)).toEqual(event.routing_key.toLowerCase().split('.'));
          expect(topicSegments(event)).toEqual(topicOf(event).toLowerCase().split('.'));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('an event record', () => {
  const draft: EventDraft = { type: 'TASK_COMPLETED', workflowId: 'wf_1', phase: 'build', data: { task_id: 't1' }, correlationId: 'c', tags: ['x'] };
  /** the record as it was built before the text form was made on demand: every field a plain value */
  const eager = (record: object) => JSON.parse(JSON.stringify(record)) as Record<string, unknown>;

  it('shows its text form, made when read, to JSON, msgpack, spread and Object.keys as a plain field in its place', () => {
    const record = createEventRecord(draft, 7, Date.UTC(2025, 0, 2, 3, 4, 5, 6));
    const plain = eager(record);
    expect(plain.message).toBe('TASK_COMPLETED:wf_1:build:{"task_id":"t1"}');
    expect(plain.timestamp).toBe('2025-01-02T03:04:05.006Z');
    expect(Object.keys(record)).toEqual(['event_id', 'seq', 'event_type', 'workflow_id', 'phase', 'timestamp', 'severity', 'source', 'data', 'routing_key', 'message', 'correlation_id', 'causation_id', 'tags', 'subscribers']);
    const fresh = createEventRecord(draft, 7, Date.UTC(2025, 0, 2, 3, 4, 5, 6));
    const same = { ...plain, event_id: fresh.event_id };
    // before and after its text form is read
    expect(packr.pack({ kind: 'event', event: fresh })).toEqual(packr.pack({ kind: 'event', event: same }));
    expect(packr.pack({ kind: 'event', event: fresh })).toEqual(packr.pack({ kind: 'event', event: same }));
    const copy = { ...record };
    expect(Object.getOwnPropertyDescriptor(copy, 'message')).toMatchObject({ value: plain.message, enumerable: true });
    expect(Object.getOwnPropertySymbols(copy)).toEqual([]);
    expect(copy).toStrictEqual(plain);
    expect(structuredClone(record)).toStrictEqual(plain);
  });

  it('keeps a text form written to it, like a plain field', () => {
    const record = createEventRecord(draft, 1, 0);
    record.message = 'replaced';
    expect(record.message).toBe('replaced');
    expect(eager(record).message).toBe('replaced');
  });

  it('gets an id shaped like a uuid, new each time, and events of the same millisecond share its ISO time', () => {
    const ids = Array.from({ length: 1000 }, () => newEventId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    const [a, b, c] = [1, 1, 2].map((ms) => createEventRecord(draft, 1, ms));
    expect([a!.timestamp, b!.timestamp, c!.timestamp]).toEqual(['1970-01-01T00:00:00.001Z', '1970-01-01T00:00:00.001Z', '1970-01-01T00:00:00.002Z']);
  });
});
