/** The clocks of src/actors/clock.ts: the manual clock in depth, the system clock briefly. */
import { describe, expect, it } from 'vitest';
import { createManualClock, systemClock } from '../src/actors/clock.js';

describe('createManualClock', () => {
  it('starts at the given time and moves only on advance', () => {
    const clock = createManualClock(5_000);
    expect(clock.now()).toBe(5_000);
    clock.advance(250);
    expect(clock.now()).toBe(5_250);
    expect(createManualClock().now()).toBe(0);
  });

  it('fires timers in due order, with now() at each due time, and ends at the target', () => {
    const clock = createManualClock(1_000);
    const fired: Array<[string, number]> = [];
    // scheduled out of order on purpose
    clock.setTimer(30, () => fired.push(['c', clock.now()]));
    clock.setTimer(10, () => fired.push(['a', clock.now()]));
    clock.setTimer(20, () => fired.push(['b', clock.now()]));
    clock.setTimer(100, () => fired.push(['late', clock.now()]));
    expect(clock.pending()).toBe(4);

    clock.advance(50);
    expect(fired).toEqual([
      ['a', 1_010],
      ['b', 1_020],
      ['c', 1_030],
    ]);
    expect(clock.now()).toBe(1_050);
    expect(clock.pending()).toBe(1);

    clock.advance(50);
    expect(fired.at(-1)).toEqual(['late', 1_100]);
    expect(clock.pending()).toBe(0);
  });

  it('fires a timer due exactly at the target, and not one a millisecond later', () => {
    const clock = createManualClock(0);
    const fired: string[] = [];
    clock.setTimer(10, () => fired.push('at'));
    clock.setTimer(11, () => fired.push('after'));
    clock.advance(10);
    expect(fired).toEqual(['at']);
    clock.advance(1);
    expect(fired).toEqual(['at', 'after']);
  });

  it('fires timers due at the same time in the order they were set', () => {
    const clock = createManualClock(0);
    const fired: number[] = [];
    for (let i = 0; i < 5; i++) clock.setTimer(10, () => fired.push(i));
    clock.advance(10);
    expect(fired).toEqual([0, 1, 2, 3, 4]);
  });

  it('treats a zero or negative delay as due now: advance(0) fires it', () => {
    const clock = createManualClock(100);
    const fired: string[] = [];
    clock.setTimer(0, () => fired.push('zero'));
    clock.setTimer(-50, () => fired.push('negative'));
    expect(fired).toEqual([]);
    clock.advance(0);
    expect(fired).toEqual(['zero', 'negative']);
    expect(clock.now()).toBe(100);
  });

  it('cancel removes a timer, and is harmless after it fired or when repeated', () => {
    const clock = createManualClock(0);
    const fired: string[] = [];
    const a = clock.setTimer(10, () => fired.push('a'));
    const b = clock.setTimer(20, () => fired.push('b'));
    a.cancel();
    a.cancel();
    expect(clock.pending()).toBe(1);
    clock.advance(30);
    expect(fired).toEqual(['b']);
    b.cancel();
    expect(clock.pending()).toBe(0);
  });

  it('a timer cancelled by an earlier callback in the same advance does not fire', () => {
    const clock = createManualClock(0);
    const fired: string[] = [];
    const later = clock.setTimer(20, () => fired.push('later'));
    clock.setTimer(10, () => {
      fired.push('first');
      later.cancel();
    });
    clock.advance(100);
    expect(fired).toEqual(['first']);
    expect(clock.pending()).toBe(0);
  });

  it('fires timers set during a callback that fall within the advance window, in due order', () => {
    const clock = createManualClock(0);
    const fired: Array<[string, number]> = [];
    clock.setTimer(10, () => {
      fired.push(['outer', clock.now()]);
      // due 15 and 10: both inside the window; 10 is due now, and before the existing 12
      clock.setTimer(5, () => fired.push(['inner+5', clock.now()]));
      clock.setTimer(0, () => fired.push(['inner+0', clock.now()]));
      // due 110: outside this window
      clock.setTimer(100, () => fired.push(['beyond', clock.now()]));
    });
    clock.setTimer(12, () => fired.push(['existing', clock.now()]));

    clock.advance(50);
    expect(fired).toEqual([
      ['outer', 10],
      ['inner+0', 10],
      ['existing', 12],
      ['inner+5', 15],
    ]);
    expect(clock.now()).toBe(50);
    expect(clock.pending()).toBe(1);

    clock.advance(60);
    expect(fired.at(-1)).toEqual(['beyond', 110]);
  });

  it('a chain of timers each rescheduling itself fires all its links inside the window', () => {
    const clock = createManualClock(0);
    const at: number[] = [];
    const tick = () => {
      at.push(clock.now());
      clock.setTimer(25, tick);
    };
    clock.setTimer(25, tick);
    clock.advance(100);
    expect(at).toEqual([25, 50, 75, 100]);
    expect(clock.pending()).toBe(1);
  });
});

describe('systemClock', () => {
  it('now() is the wall clock', () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('setTimer fires once after the delay, and a cancelled timer never fires', async () => {
    const fired: string[] = [];
    const start = Date.now();
    const done = new Promise<number>((resolve) => systemClock.setTimer(20, () => resolve(Date.now())));
    systemClock.setTimer(10, () => fired.push('cancelled')).cancel();
    systemClock.setTimer(-5, () => fired.push('negative'));
    const firedAt = await done;
    expect(firedAt - start).toBeGreaterThanOrEqual(19);
    expect(fired).toEqual(['negative']);
  });
});
