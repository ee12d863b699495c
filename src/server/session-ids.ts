/**
 * Acct-Session-Id (RFC 2866 §5.5) for every session: unique per session and across restarts, the same in every
 * AAA message of the session (AuthContext.sessionId, accounting, Disconnect/CoA by session).
 *
 * Format: 16 upper-case hex digits, the process start time in seconds since the epoch (8 digits) and a counter
 * (8 digits) that begins at a random value below 2^31 and wraps at 2^32. Two processes started in the same second
 * would collide only if their random starts lay within each other's session counts; one process never repeats an
 * ID before 2^32 sessions. Sorted by text, IDs of one process follow its session order (until the wrap).
 */
export class SessionIds {
  private readonly prefix: string;
  private counter: number;

  constructor(startMs: number = Date.now(), random: () => number = Math.random) {
    this.prefix = hex8(Math.floor(startMs / 1000));
    this.counter = Math.floor(random() * 0x8000_0000) >>> 0;
  }

  next(): string {
    const id = this.prefix + hex8(this.counter);
    this.counter = (this.counter + 1) >>> 0;
    return id;
  }
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).toUpperCase().padStart(8, "0");
}
