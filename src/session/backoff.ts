/**
 * Redial delays: exponential backoff between a floor and a ceiling, with ±20 % jitter so that many branch
 * routers cut off by the same outage do not all redial the head office in the same second.
 */
export class Backoff {
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private failures = 0;

  constructor(minMs: number, maxMs: number, random: () => number = Math.random) {
    if (!(minMs > 0) || !(maxMs >= minMs)) throw new RangeError(`backoff needs 0 < min (${minMs}) <= max (${maxMs})`);
    this.minMs = minMs;
    this.maxMs = maxMs;
    this.random = random;
  }

  /** Failed attempts since the last reset(). */
  get count(): number {
    return this.failures;
  }

  /** Counts one more failure and returns how long to wait before the next attempt. */
  next(): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    const jitter = 1 + (this.random() * 0.4 - 0.2);
    return Math.round(Math.min(this.maxMs, base * jitter));
  }

  /** A session came up: the next failure starts again from the floor. */
  reset(): void {
    this.failures = 0;
  }
}
