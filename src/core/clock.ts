/**
 * Time in the sans-I/O engines is a plain number of milliseconds handed in by
 * the caller (a real monotonic clock in production, a fake one in tests).
 * No engine reads a clock or starts a timer itself: each exposes
 * `pollTimeout(): number | undefined` (the earliest deadline) and
 * `handleTimeout(now)`.
 */
export type Millis = number;

/** A fake clock for tests: advance() moves time, nothing else happens by itself. */
export class FakeClock {
  now: Millis;
  constructor(start: Millis = 0) {
    this.now = start;
  }
  advance(ms: Millis): Millis {
    this.now += ms;
    return this.now;
  }
}

/** Random bytes source, injectable so tests are deterministic. */
export type RandomSource = (n: number) => Uint8Array;
