/** A timer handle returned by {@link Clock.setTimer}. */
export interface TimerHandle {
  cancel(): void;
  /** lets the process exit while only this timer waits (a periodic check is no work to do); clocks without processes omit it */
  unref?(): void;
}

/**
 * The one source of time for the runtime: scheduler delays, retries,
 * timeouts, heartbeats, deadlines. Injected, so tests skip time instead of
 * sleeping (as XState's `SimulatedClock`).
 */
export interface Clock {
  /** epoch milliseconds */
  now(): number;
  /** calls `fn` once, `ms` from now */
  setTimer(ms: number, fn: () => void): TimerHandle;
}

/**
 * The wall clock. Its timers keep the process alive (a retry or a `wait`
 * pending is work to do); whoever arms one cancels it on shutdown.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    // setTimeout cannot wait longer than 2^31-1 ms; a longer deadline re-arms itself
    const MAX = 2_147_483_647;
    let timer: NodeJS.Timeout;
    let unref = false;
    const arm = (left: number) => {
      timer = setTimeout(() => (left > MAX ? arm(left - MAX) : fn()), Math.min(Math.max(0, left), MAX));
      if (unref) timer.unref();
    };
    arm(ms);
    return {
      cancel: () => clearTimeout(timer),
      unref: () => {
        unref = true;
        timer.unref();
      },
    };
  },
};

/** A clock that moves only when told to: for tests. */
export interface ManualClock extends Clock {
  /** moves time forward by `ms`, firing every timer that falls due, in order */
  advance(ms: number): void;
  /** timers still waiting */
  pending(): number;
}

/**
 * Creates a {@link ManualClock} starting at `start` (epoch ms).
 *
 * @example
 * const clock = createManualClock(0);
 * clock.setTimer(100, () => console.log('fired'));
 * clock.advance(100); // fired
 */
export function createManualClock(start = 0): ManualClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { due: number; fn: () => void }>();
  return {
    now: () => now,
    setTimer(ms, fn) {
      const id = seq++;
      timers.set(id, { due: now + Math.max(0, ms), fn });
      return { cancel: () => timers.delete(id) };
    },
    advance(ms) {
      const target = now + ms;
      for (;;) {
        let nextId: number | undefined;
        let nextDue = Infinity;
        for (const [id, t] of timers) {
          if (t.due <= target && t.due < nextDue) {
            nextDue = t.due;
            nextId = id;
          }
        }
        if (nextId === undefined) break;
        const timer = timers.get(nextId)!;
        timers.delete(nextId);
        now = Math.max(now, timer.due);
        timer.fn();
      }
      now = target;
    },
    pending: () => timers.size,
  };
}
