/**
 * One coarse timer for the far deadlines of many connections (issue 11: the idle cost of 20,000 sessions).
 *
 * An idle established session's next deadline is a keepalive seconds away (LCP echo 30 s, PPTP echo 60 s),
 * and every echo moves it. With one Node `setTimeout` per connection, each re-arm made a new `Timeout` and a
 * closure that lived until it fired, tens of seconds later: old enough to be promoted out of V8's young
 * generation, so every echo left old-space garbage and the idle server paid for full collections of a heap
 * holding all its sessions. Here a connection whose deadline is at least `nearMs` away is an entry in a hashed
 * wheel instead: `slots` lists of `tickMs` each, walked by one `setInterval` while the wheel holds anything.
 * Re-arming moves the entry between two preallocated arrays and allocates nothing once they have grown.
 *
 * A deadline fires at the first tick at or after it — up to `tickMs` late, never early. For a keepalive that
 * is well inside what the protocols leave to the implementation (RFC 1661 §5.8, RFC 2637 §3.1.4); deadlines
 * nearer than `nearMs` (GRE ack and reorder waits, the call-clear linger) stay on the connection's own timer.
 * A deadline beyond the wheel's span (slots × tickMs) waits in its slot and is skipped until a later turn.
 */

/** What the wheel holds: a connection runner. The fields are the wheel's, on the entry so nothing is allocated. */
export interface WheelEntry {
  /** The deadline the entry is filed under (the owner's clock). */
  wheelAt: number;
  /** Slot index, or -1 when not in the wheel, -2 while collected for firing (see tick). */
  wheelSlot: number;
  /** Index in its slot's array. */
  wheelIndex: number;
  /** Called once the deadline has passed (the entry is out of the wheel by then). */
  wheelFire(now: number): void;
}

export interface DeadlineWheelOptions {
  readonly now: () => number;
  /** Granularity (default 100 ms). */
  readonly tickMs?: number;
  /** Number of slots (default 1024: a turn of 102.4 s, longer than the default PPTP echo interval). */
  readonly slots?: number;
  /** Schedules the walk; the default is Node's setInterval / clearInterval (tests pass a fake). */
  readonly setInterval?: (fn: () => void, ms: number) => unknown;
  readonly clearInterval?: (handle: unknown) => void;
}

export const NOT_IN_WHEEL = -1;
const COLLECTED = -2;

export class DeadlineWheel {
  readonly tickMs: number;
  private readonly now: () => number;
  private readonly slots: WheelEntry[][];
  private readonly mask: number;
  private readonly setIv: (fn: () => void, ms: number) => unknown;
  private readonly clearIv: (handle: unknown) => void;
  private handle: unknown = undefined;
  private count = 0;
  /** The tick whose slot the walk visits next; ticks are floor(time / tickMs). */
  private cursor = 0;
  /** Entries due in the current walk, fired after collection (reused). */
  private readonly due: WheelEntry[] = [];
  private readonly walk = (): void => this.tick(this.now());

  constructor(o: DeadlineWheelOptions) {
    this.now = o.now;
    this.tickMs = o.tickMs ?? 100;
    const n = o.slots ?? 1024;
    if (n <= 0 || (n & (n - 1)) !== 0) throw new RangeError(`DeadlineWheel: slots must be a power of two, got ${n}`);
    this.mask = n - 1;
    this.slots = Array.from({ length: n }, () => []);
    this.setIv = o.setInterval ?? ((fn, ms) => setInterval(fn, ms));
    this.clearIv = o.clearInterval ?? ((h) => clearInterval(h as NodeJS.Timeout));
  }

  /** Entries in the wheel. */
  get size(): number {
    return this.count;
  }

  /** Files `e` under deadline `at` (moving it if it was filed already). */
  schedule(e: WheelEntry, at: number): void {
    if (e.wheelSlot >= 0) this.removeFromSlot(e);
    if (this.count === 0 && this.handle === undefined) {
      this.cursor = Math.floor(this.now() / this.tickMs);
      this.handle = this.setIv(this.walk, this.tickMs);
    }
    // The first tick at or after `at`, and never one the walk has passed already.
    let t = Math.ceil(at / this.tickMs);
    if (t < this.cursor) t = this.cursor;
    const slot = t & this.mask;
    const list = this.slots[slot];
    e.wheelAt = at;
    e.wheelSlot = slot;
    e.wheelIndex = list.length;
    list.push(e);
    this.count++;
  }

  /** Takes `e` out of the wheel (no-op if it is not in it). */
  cancel(e: WheelEntry): void {
    if (e.wheelSlot >= 0) this.removeFromSlot(e);
    else if (e.wheelSlot === COLLECTED) e.wheelSlot = NOT_IN_WHEEL;
    // The interval is not stopped here but at the next walk that finds the wheel still empty: a busy session's
    // earliest deadline goes from far (a keepalive) to near (a GRE ack wait) and back with every few packets, and
    // stopping and restarting the interval each time was a clearInterval and a new setInterval per packet
    // (bench/README, "The anchor, session 9"). An empty wheel costs one more tick at most.
  }

  /** Visits every slot from the cursor up to now's tick, firing what is due. Public for tests. */
  tick(now: number): void {
    const last = Math.floor(now / this.tickMs);
    const due = this.due;
    // Past a whole turn (a stalled loop) every slot is visited once.
    let from = this.cursor;
    if (last - from > this.mask) from = last - this.mask;
    for (let t = from; t <= last; t++) {
      const list = this.slots[t & this.mask];
      for (let i = 0; i < list.length; ) {
        const e = list[i];
        if (e.wheelAt <= now) {
          this.removeAt(list, i);
          e.wheelSlot = COLLECTED;
          due.push(e);
        } else i++;
      }
    }
    this.cursor = last + 1;
    // Fired after the walk: a handler may schedule or cancel any entry, this one's or another's, without
    // disturbing the lists being walked. One cancelled (or filed again) by an earlier handler is skipped.
    for (let i = 0; i < due.length; i++) {
      const e = due[i];
      if (e.wheelSlot !== COLLECTED) continue;
      e.wheelSlot = NOT_IN_WHEEL;
      e.wheelFire(now);
    }
    due.length = 0;
    if (this.count === 0) this.stop();
  }

  private stop(): void {
    if (this.handle === undefined) return;
    this.clearIv(this.handle);
    this.handle = undefined;
  }

  private removeFromSlot(e: WheelEntry): void {
    this.removeAt(this.slots[e.wheelSlot], e.wheelIndex);
    e.wheelSlot = NOT_IN_WHEEL;
  }

  /** Swap-remove: the last entry of the slot takes index i. */
  private removeAt(list: WheelEntry[], i: number): void {
    const last = list.pop() as WheelEntry;
    if (i < list.length) {
      list[i] = last;
      last.wheelIndex = i;
    }
    this.count--;
  }
}
