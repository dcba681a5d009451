/** The subscriber queue's FIFO against a plain array, over random operation sequences (fast-check). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fifo } from '../src/runtime/events/fifo.js';

type Op = { op: 'push'; n: number } | { op: 'shift' } | { op: 'removeAt'; i: number } | { op: 'slice'; from: number; to: number };

const ops = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('push' as const), n: fc.integer() }),
    fc.record({ op: fc.constant('shift' as const) }),
    fc.record({ op: fc.constant('removeAt' as const), i: fc.nat(50) }),
    fc.record({ op: fc.constant('slice' as const), from: fc.nat(20), to: fc.nat(40) }),
  ),
  { maxLength: 400 },
);

describe('Fifo', () => {
  it('behaves as an array used as a queue, across compactions', () => {
    fc.assert(
      fc.property(ops, fc.nat(3_000), (sequence: Op[], preload) => {
        const fifo = new Fifo<number>();
        const model: number[] = [];
        // a long run first, so the head passes the compaction threshold
        for (let i = 0; i < preload; i++) {
          fifo.push(i);
          model.push(i);
        }
        for (let i = 0; i < preload - 10; i++) expect(fifo.shift()).toBe(model.shift());
        for (const step of sequence) {
          if (step.op === 'push') (fifo.push(step.n), model.push(step.n));
          else if (step.op === 'shift') expect(fifo.shift()).toBe(model.shift());
          else if (step.op === 'removeAt') {
            if (step.i < model.length) (fifo.removeAt(step.i), model.splice(step.i, 1));
          } else expect(fifo.slice(step.from, step.to)).toEqual(model.slice(step.from, Math.max(step.from, step.to)));
          expect(fifo.length).toBe(model.length);
          expect(fifo.at(0)).toBe(model[0]);
        }
      }),
      { numRuns: 200 },
    );
  });
});
