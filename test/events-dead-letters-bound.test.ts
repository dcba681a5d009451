/**
 * The dead-letter list is bounded (10 000, the oldest go first). A
 * subscriber that stops reading now fills it (its bounded queue dead-letters
 * every further event), so eviction is once per letter added: it must not
 * wait for an fsync, and it must survive a restart like any removal.
 */
import { describe, expect, it } from 'vitest';
import type { Durability, LogRecord } from '../src/persistence/append-log.js';
import { DeadLetterStore, type DeadLetter } from '../src/runtime/events/dead-letters.js';

const letter = (n: number): DeadLetter => ({
  dead_letter_id: `dl_${n}`,
  subscription_id: 'sub_1',
  event: { event_id: `e_${n}` } as DeadLetter['event'],
  reason: "the subscriber's queue is full (10)",
  attempts: 0,
  dead_lettered_at: '2030-01-01T00:00:00.000Z',
});

describe('the bounded dead-letter list', () => {
  it('evicts the oldest past 10 000, logs each eviction without waiting for an fsync, and a restart lists the same letters', () => {
    const records: LogRecord[] = [];
    const durabilities: Durability[] = [];
    const store = new DeadLetterStore();
    store.persistWith((body, durability) => {
      records.push({ ...body, seq: records.length + 1 } as LogRecord);
      durabilities.push(durability);
      return { seq: records.length, durable: Promise.resolve() };
    }, () => 0);
    for (let n = 0; n < 10_003; n++) store.add(letter(n));
    const kept = store.list().map((d) => d.dead_letter_id);
    expect(kept).toHaveLength(10_000);
    expect(kept[0]).toBe('dl_3');
    expect(kept.at(-1)).toBe('dl_10002');
    const evictions = records.filter((r) => r.kind === 'dead_letter_removed');
    expect(evictions.map((r) => [r.ids, r.reason])).toEqual([
      [['dl_0'], 'evicted'],
      [['dl_1'], 'evicted'],
      [['dl_2'], 'evicted'],
    ]);
    expect(durabilities.filter((_, i) => records[i]!.kind === 'dead_letter_removed')).toEqual(['batch', 'batch', 'batch']);
    // the oldest kept letter's record is where compaction must stop
    expect(store.oldestSeq()).toBe(records.find((r) => r.kind === 'dead_letter' && (r.letter as DeadLetter).dead_letter_id === 'dl_3')!.seq);

    const restarted = new DeadLetterStore();
    restarted.restore(records);
    expect(restarted.list().map((d) => d.dead_letter_id)).toEqual(kept);
  });
});
