/**
 * Receive side of the GRE data channel: puts data packets back in sequence before PPP sees them.
 *
 * RFC 2637 §4.3: PPP copes with loss but not with reordering, so out-of-sequence packets "MUST be
 * silently discarded, or they may be reordered by the receiver". We reorder:
 *
 *  - the packet we expect is delivered at once, zero-copy (the deliver callback gets a view of the
 *    caller's buffer), followed by any buffered packets it unblocks;
 *  - a packet ahead of a gap, but within our advertised receive window, is copied into a slot of a
 *    preallocated ring (allocated on the first reordering, so calls that never reorder pay nothing);
 *  - a gap is given up on once the packet waiting longest behind it has waited `timeoutMs`: the
 *    missing packets are counted as lost and the buffered ones after it delivered, up to the next
 *    gap, which gets the same treatment when its own time is up (a gap that opened later is not
 *    skipped early: its packet may still be on the way);
 *  - a packet behind the next expected one is dropped: a duplicate if we saw that sequence number
 *    (RFC 2637 §4.3 "silently discard duplicate GRE packets"), stale otherwise (it arrived after
 *    we had given up on it), unless it is one a lone packet made us skip (below).
 *
 * What a single packet may move. GRE carries no authentication: anyone who can put a packet with the
 * peer's source address and our Call ID on the wire can claim any sequence number. A receiver that
 * jumps to whatever number arrives (as one that "skips the gap at once" does) is stopped by one
 * forged packet far ahead: every genuine packet after it is behind and discarded, the data path dies
 * while the control connection stays up. So, as a TCP receiver accepts only segments inside its
 * window and an IPsec receiver moves its replay window only for packets that verify, we bound what
 * one packet can do:
 *
 *  - the acceptance window is [expected, expected + window): our advertised Packet Recv. Window
 *    Size (RFC 2637 §4.2), the most the peer may have in flight beyond what we acknowledged; a
 *    packet past it is window overflow, and "excess packets are thrown away" (§4.2.4);
 *  - a packet outside it — at least a window ahead, or further behind than our history of seen
 *    sequence numbers — is held, not accepted (at most CONFIRM_PACKETS - 1 of them, copied). When
 *    CONFIRM_PACKETS consecutive outside packets agree on a new position (all within one window of
 *    each other), that is the peer's stream after a burst of loss longer than our window (or after
 *    a forged first packet set our start): we re-synchronise there (`resyncs`), deliver what the
 *    reorder buffer held, count the skipped numbers lost and replay the held packets. A packet
 *    delivered in order at the old position proves it alive: held outside packets that are still
 *    outside are then dropped (`outOfWindow`), so one forged packet costs nothing but its count,
 *    and forging a new position takes several packets between two genuine ones;
 *  - the gap time-out gives up on at most LONE_GAP_LIMIT missing packets on the word of a single
 *    buffered packet: a lone packet far ahead of the gap waits until a second one arrives, the gap
 *    fills, or the link has been quiet for the long lone wait (`loneWaitMs`: LONE_WAIT_FACTOR times
 *    the reorder time-out, at least LONE_WAIT_MIN_MS, counted from the lone packet's arrival or the
 *    last packet delivered in order, whichever is later). Then it is delivered and the gap counted
 *    lost: a genuine packet after genuine loss on an idle link (the last of a burst) is late, not
 *    stuck. The skip is revocable: the skipped numbers are remembered, and a packet that comes back
 *    for one of them is not stale but held like an outside packet, so CONFIRM_PACKETS of them move
 *    us back there (a re-synchronisation; the numbers are no longer counted lost).
 *
 *    What one forged packet inside the window can do, then: while genuine packets keep arriving in
 *    order at least every loneWaitMs, it costs at most LONE_GAP_LIMIT genuine packets, as before
 *    (the gap behind it closes packet by packet and the last LONE_GAP_LIMIT are given up on its
 *    word). On a link quiet for loneWaitMs it is delivered and we skip up to window - 1 numbers,
 *    but the genuine packets that carry them come back behind it and the first CONFIRM_PACKETS of
 *    them move us back: none is lost, the first CONFIRM_PACKETS - 1 wait for the next. So per
 *    loneWaitMs the attacker buys one skip that the next genuine packets undo. Making them be
 *    dropped instead takes a forged in-order packet between every two genuine ones, as for any
 *    outside packet (in-order progress drops held packets), the bound the window already has. (Two
 *    packets inside the window still agree on a gap and have it given up after timeoutMs: a gap two
 *    packets confirm is treated as loss, and the numbers it skipped are stale when they come.)
 *
 * RFC 2637 §4.3 lets the receiver discard out-of-sequence packets, and neither end retransmits
 * (§4.3, §4.4: time-outs recover from dropped packets, they do not resend them), so what is dropped
 * here is simply lost to PPP, which copes with loss. The sending side applies the same principle to
 * acknowledgments (send-window.ts: an Acknowledgment Number for a packet never sent moves nothing).
 *
 * The first data packet fixes the starting point (peers differ: Windows starts at 0, Cisco at 1).
 * Sequence numbers are compared with wrap-around (serial.ts). The deliver callback must not call
 * back into receive().
 */
import { seqAdd, seqDiff } from "./serial.js";

/** Consecutive packets outside the acceptance window that must agree before we re-synchronise to them. */
export const CONFIRM_PACKETS = 3;
/** Most missing packets one buffered packet may make us give up on (see "What a single packet may move"). */
export const LONE_GAP_LIMIT = 2;
/**
 * A lone packet far ahead of a gap waits this many reorder time-outs before it is delivered. Long enough
 * that any packet merely reordered behind it would have arrived several times over (a gap is given up after
 * one time-out when two packets agree), and that on a link with traffic the genuine in-order packets, each of
 * which restarts the wait, close the gap first (so a forged lone packet keeps costing at most LONE_GAP_LIMIT);
 * short enough (0.5 s at the default 50 ms) that the last packet of a burst after a loss reaches PPP well
 * within a TCP retransmission time-out or an LCP echo interval.
 */
export const LONE_WAIT_FACTOR = 10;
/** Floor of the lone wait, so a reorder time-out of 0 does not let a lone packet skip a gap at once. */
export const LONE_WAIT_MIN_MS = 250;

export type DeliverFn = (buf: Uint8Array, off: number, len: number) => void;

export interface ReceiveSequencerOptions {
  /** Our Packet Recv. Window Size: how far ahead of the gap packets are held. At least 1. */
  readonly window: number;
  /** Largest payload a reorder slot holds; bigger out-of-order packets skip a small gap or are dropped. */
  readonly slotSize: number;
  /** How long a gap may stay open before its packets are declared lost. */
  readonly timeoutMs: number;
  readonly deliver: DeliverFn;
}

export class ReceiveSequencer {
  /** False until the first data packet arrived. */
  started = false;
  /** Sequence number of the next packet to deliver. */
  expected = 0;
  /** Packets handed to deliver (in order, directly or after reordering). */
  delivered = 0;
  /** Of those, packets that waited in the reorder buffer. */
  reordered = 0;
  /** Sequence numbers skipped because the packet never came in time. */
  lost = 0;
  duplicates = 0;
  stale = 0;
  /** Packets outside the acceptance window that were dropped (not confirmed by the packets after them). */
  outOfWindow = 0;
  /**
   * Times we moved to a position other packets showed: CONFIRM_PACKETS outside packets agreed (ahead, or
   * behind for numbers a lone packet made us skip).
   */
  resyncs = 0;
  /** Times a lone packet's long wait ran out and we skipped a gap wider than LONE_GAP_LIMIT to it. */
  loneSkips = 0;

  private readonly window: number;
  private readonly slotSize: number;
  private readonly timeoutMs: number;
  private readonly loneWaitMs: number;
  private readonly deliver: DeliverFn;
  private readonly mask: number;
  // The reorder ring. Until the first packet is held, slotLen is a shared all-empty (-1) array and slotSeq /
  // slotTime shared zeros (emptyRing): only read, never written, because every write is to a slot that was filled
  // first, after allocSlots(). So a call that never reorders holds no ring (1 KB at the default window of 64).
  private slots: Uint8Array | undefined;
  private slotSeq: Uint32Array;
  /** Payload length held in a slot, -1 when empty. */
  private slotLen: Int32Array;
  /** When the packet in a slot arrived. */
  private slotTime: Float64Array;
  private buffered = 0;
  /** Highest sequence number in the reorder buffer (valid when buffered > 0). */
  private highest = 0;
  private gapDeadline: number | undefined;
  /** When a packet last arrived in order (d = 0): the old position is alive, a lone packet's wait restarts. */
  private progressTime = -Infinity;
  /** Numbers [loneFrom, loneTo) skipped for a lone packet: a packet coming back for one is held, not stale. */
  private loneActive = false;
  private loneFrom = 0;
  private loneTo = 0;
  // Recently received sequence numbers, to tell duplicates from stale packets.
  private readonly seen: Uint32Array;
  private readonly seenSet: Uint8Array;
  private readonly seenMask: number;
  // Outside packets held until more agree with them (see above): at most CONFIRM_PACKETS - 1.
  private held: Uint8Array | undefined;
  private readonly heldSeq: Uint32Array;
  private readonly heldLen: Int32Array;
  private heldCount = 0;

  constructor(o: ReceiveSequencerOptions) {
    this.window = Math.max(1, Math.floor(o.window));
    this.slotSize = o.slotSize;
    this.timeoutMs = o.timeoutMs;
    this.loneWaitMs = Math.max(LONE_WAIT_FACTOR * o.timeoutMs, LONE_WAIT_MIN_MS);
    this.deliver = o.deliver;
    let size = 1;
    while (size < this.window) size <<= 1;
    this.mask = size - 1;
    const empty = emptyRing(size);
    this.slotSeq = empty.seq;
    this.slotLen = empty.len;
    this.slotTime = empty.time;
    let hist = 64;
    while (hist < 2 * size) hist <<= 1;
    // The history and the held packets' numbers and lengths share one allocation (views of one ArrayBuffer): a
    // typed array with its own buffer costs ~200 B of heap beside its elements (issue 11: memory per session).
    const held = CONFIRM_PACKETS - 1;
    const ab = new ArrayBuffer(hist * 4 + held * 8 + hist);
    this.seen = new Uint32Array(ab, 0, hist);
    this.heldSeq = new Uint32Array(ab, hist * 4, held);
    this.heldLen = new Int32Array(ab, hist * 4 + held * 4, held);
    this.seenSet = new Uint8Array(ab, hist * 4 + held * 8, hist);
    this.seenMask = hist - 1;
  }

  /** The highest sequence number delivered or given up on: what we acknowledge. */
  get lastInOrder(): number {
    return seqAdd(this.expected, -1);
  }

  /** Packets waiting in the reorder buffer. */
  get pending(): number {
    return this.buffered;
  }

  /** When the open gap is given up on, or undefined. */
  deadline(): number | undefined {
    return this.gapDeadline;
  }

  /** Packets outside the acceptance window waiting for others to confirm them. */
  get heldOutside(): number {
    return this.heldCount;
  }

  /**
   * Another receiver took this stream over meanwhile (a data-plane worker, src/io/workers) and stopped before the
   * packet `expected` (undefined: it never received one): continue exactly there. What this one still buffered or
   * held is older than that and dropped.
   */
  restartAt(expected: number | undefined): void {
    if (this.slots !== undefined) this.slotLen.fill(-1);
    this.buffered = 0;
    this.gapDeadline = undefined;
    this.heldCount = 0;
    this.loneActive = false;
    this.seenSet.fill(0);
    this.progressTime = -Infinity;
    this.started = expected !== undefined;
    this.expected = (expected ?? 0) >>> 0;
  }

  /**
   * Takes the packets waiting in the reorder buffer out, in sequence order, as copies: this receiver hands its
   * stream to another (a data-plane worker giving a call back, src/io/workers), which gets them with `restartAt`
   * and receives them again, so a renegotiation loses none of them (they may be the frames after the Configure-
   * Request that began it). `expected` stays: the gap in front of them is still open. Rare: allocates.
   */
  takeBuffered(): Array<{ seq: number; payload: Uint8Array }> {
    const out: Array<{ seq: number; payload: Uint8Array }> = [];
    const slots = this.slots;
    if (slots === undefined) return out;
    let s = this.expected;
    for (let k = 0; k <= this.mask && this.buffered > 0; k++) {
      const i = s & this.mask;
      if (this.slotLen[i] >= 0 && this.slotSeq[i] === s) {
        out.push({ seq: s, payload: slots.slice(i * this.slotSize, i * this.slotSize + this.slotLen[i]) });
        this.slotLen[i] = -1;
        this.buffered--;
      }
      s = seqAdd(s, 1);
    }
    this.rearm();
    return out;
  }

  receive(now: number, buf: Uint8Array, off: number, len: number, seq: number): void {
    if (!this.started) {
      this.started = true;
      this.expected = seq;
    }
    const d = seqDiff(seq, this.expected);
    if (d < 0 && -d <= this.seenMask && !this.inLoneSkip(seq)) {
      if (this.isSeen(seq)) this.duplicates++;
      else this.stale++;
      return;
    }
    if (d < 0 || d >= this.window) {
      this.outside(now, buf, off, len, seq);
      return;
    }
    this.accept(now, buf, off, len, seq, d);
    // In-order progress at the old position: held outside packets now inside are taken, the rest dropped.
    if (d === 0 && this.heldCount > 0) this.reviewHeld(now, true);
  }

  /** A packet inside the acceptance window, d = seq - expected in [0, window). */
  private accept(now: number, buf: Uint8Array, off: number, len: number, seq: number, d: number): void {
    if (d === 0) {
      this.markSeen(seq);
      this.expected = seqAdd(seq, 1);
      this.delivered++;
      this.progressTime = now;
      this.deliver(buf, off, len);
      if (this.buffered > 0) this.drain();
      return;
    }
    const i = seq & this.mask;
    if (this.slotLen[i] >= 0 && this.slotSeq[i] === seq) {
      this.duplicates++;
      return;
    }
    if (len > this.slotSize) {
      // Too big to hold: skip a small gap for it, but not a large one on its word alone.
      if (d > LONE_GAP_LIMIT) {
        this.outOfWindow++;
        return;
      }
      this.skipTo(seq);
      this.markSeen(seq);
      this.expected = seqAdd(seq, 1);
      this.delivered++;
      this.deliver(buf, off, len);
      this.drain();
      return;
    }
    if (this.slots === undefined) this.allocSlots();
    (this.slots as Uint8Array).set(buf.subarray(off, off + len), i * this.slotSize);
    this.slotSeq[i] = seq;
    this.slotLen[i] = len;
    this.slotTime[i] = now;
    this.markSeen(seq);
    if (this.buffered === 0 || seqDiff(seq, this.highest) > 0) this.highest = seq;
    this.buffered++;
    // A second packet ends a lone packet's long wait: the gap now times out as any other.
    if (this.gapDeadline === undefined || this.buffered === 2) this.rearm();
  }

  /** A packet outside the acceptance window: held until CONFIRM_PACKETS agree, then we move there. */
  private outside(now: number, buf: Uint8Array, off: number, len: number, seq: number): void {
    for (let k = 0; k < this.heldCount; k++) {
      if (this.heldSeq[k] === seq) {
        this.duplicates++;
        return;
      }
    }
    if (this.heldCount > 0 && !this.agrees(seq)) {
      // It disagrees with the held ones: they were not the start of a stream. Start again from this one.
      this.outOfWindow += this.heldCount;
      this.heldCount = 0;
    }
    if (this.heldCount + 1 >= CONFIRM_PACKETS) {
      this.resync(now, buf, off, len, seq);
      return;
    }
    if (len > this.slotSize) {
      this.outOfWindow++;
      return;
    }
    if (this.held === undefined) this.held = new Uint8Array((CONFIRM_PACKETS - 1) * this.slotSize);
    const k = this.heldCount++;
    this.held.set(buf.subarray(off, off + len), k * this.slotSize);
    this.heldSeq[k] = seq;
    this.heldLen[k] = len;
  }

  /**
   * True when `seq` and the held packets all fit in one window: they could be one stream. Measured from `seq`,
   * each within a window of it, so numbers half the sequence space apart (where serial comparison is undefined,
   * RFC 1982 §3.2) never pass for neighbours.
   */
  private agrees(seq: number): boolean {
    let lo = 0;
    let hi = 0;
    for (let k = 0; k < this.heldCount; k++) {
      const d = seqDiff(this.heldSeq[k], seq);
      if (d <= -this.window || d >= this.window) return false;
      if (d < lo) lo = d;
      if (d > hi) hi = d;
    }
    return hi - lo < this.window;
  }

  /** CONFIRM_PACKETS outside packets agree: finish with the old position, move to theirs, replay them. */
  private resync(now: number, buf: Uint8Array, off: number, len: number, seq: number): void {
    let lo = seq;
    for (let k = 0; k < this.heldCount; k++) if (seqDiff(this.heldSeq[k], lo) < 0) lo = this.heldSeq[k];
    if (seqDiff(lo, this.expected) > 0) {
      this.skipTo(lo);
    } else {
      // The new position is behind (our start came from a stray packet): what waits goes out, then we move back.
      if (this.buffered > 0) this.skipTo(seqAdd(this.highest, 1));
      this.expected = lo;
    }
    this.resyncs++;
    if (this.loneActive) {
      // Back into numbers a lone packet made us skip: they were not lost after all (they come round again).
      if (seqDiff(lo, this.loneFrom) >= 0 && seqDiff(lo, this.loneTo) < 0) this.lost -= seqDiff(this.loneTo, lo);
      this.loneActive = false;
    }
    // All of them lie in [lo, lo + window) (agrees()), so each is accepted now.
    this.reviewHeld(now, false);
    this.accept(now, buf, off, len, seq, seqDiff(seq, this.expected));
  }

  /**
   * Takes the held outside packets that are inside the window now, lowest first. Those still outside are
   * dropped when `dropOutside` (in-order progress showed the old position alive), kept otherwise.
   */
  private reviewHeld(now: number, dropOutside: boolean): void {
    const held = this.held as Uint8Array;
    const n = this.heldCount;
    this.heldCount = 0;
    // At most CONFIRM_PACKETS - 1 packets: pick the lowest unprocessed each time (no sort, no allocation).
    let done = 0;
    let kept = 0;
    for (let round = 0; round < n; round++) {
      let k = -1;
      for (let j = 0; j < n; j++) {
        if ((done & (1 << j)) === 0 && (k < 0 || seqDiff(this.heldSeq[j], this.heldSeq[k]) < 0)) k = j;
      }
      done |= 1 << k;
      const s = this.heldSeq[k];
      const d = seqDiff(s, this.expected);
      if (d >= 0 && d < this.window) {
        this.accept(now, held, k * this.slotSize, this.heldLen[k], s, d);
      } else if (d < 0 && -d <= this.seenMask && !this.inLoneSkip(s)) {
        if (this.isSeen(s)) this.duplicates++;
        else this.stale++;
      } else if (dropOutside) {
        this.outOfWindow++;
      } else {
        kept |= 1 << k; // still outside and nothing showed the old position alive: keep it
      }
    }
    // Compact what is kept to the front, in index order (each moves down, over one already processed).
    for (let k = 0; k < n; k++) {
      if ((kept & (1 << k)) === 0) continue;
      const to = this.heldCount++;
      if (to !== k) {
        held.copyWithin(to * this.slotSize, k * this.slotSize, k * this.slotSize + this.heldLen[k]);
        this.heldSeq[to] = this.heldSeq[k];
        this.heldLen[to] = this.heldLen[k];
      }
    }
  }

  /** Gives up on the gaps whose time is up; returns true when it skipped any. */
  onTimeout(now: number): boolean {
    let skipped = false;
    while (this.gapDeadline !== undefined && now >= this.gapDeadline) {
      if (this.buffered === 1 && seqDiff(this.highest, this.expected) > LONE_GAP_LIMIT) {
        // A lone packet's long wait ran out: remember what we skip for it, in case the stream comes back there.
        this.loneActive = true;
        this.loneFrom = this.expected;
        this.loneTo = this.highest;
        this.loneSkips++;
      }
      // Skip the first gap: up to the lowest buffered packet, then deliver what follows in sequence.
      while (this.buffered > 0) {
        const i = this.expected & this.mask;
        if (this.slotLen[i] >= 0 && this.slotSeq[i] === this.expected) break;
        this.lost++;
        this.expected = seqAdd(this.expected, 1);
      }
      this.drain();
      skipped = true;
    }
    if (skipped && this.heldCount > 0) this.reviewHeld(now, false);
    return skipped;
  }

  /** Delivers buffered packets that are now in sequence and re-arms the gap timer. */
  private drain(): void {
    for (;;) {
      const i = this.expected & this.mask;
      if (this.slotLen[i] < 0 || this.slotSeq[i] !== this.expected) break;
      this.deliverSlot(i);
    }
    this.rearm();
  }

  /**
   * The next gap times out when the packet that has waited longest behind it has waited timeoutMs; a lone
   * packet far behind a wide gap waits loneWaitMs, from its arrival or the last in-order arrival if later.
   */
  private rearm(): void {
    if (this.buffered === 0) {
      this.gapDeadline = undefined;
      return;
    }
    if (this.buffered === 1 && seqDiff(this.highest, this.expected) > LONE_GAP_LIMIT) {
      const t = this.slotTime[this.highest & this.mask];
      this.gapDeadline = Math.max(t, this.progressTime) + this.loneWaitMs;
      return;
    }
    let oldest = Infinity;
    let s = this.expected;
    for (let k = 0; k <= this.mask; k++) {
      const i = s & this.mask;
      if (this.slotLen[i] >= 0 && this.slotSeq[i] === s && this.slotTime[i] < oldest) oldest = this.slotTime[i];
      s = seqAdd(s, 1);
    }
    this.gapDeadline = oldest + this.timeoutMs;
  }

  /** Moves `expected` up to `target`, delivering what is buffered and counting the rest lost. */
  private skipTo(target: number): void {
    while (seqDiff(target, this.expected) > 0) {
      if (this.buffered === 0) {
        this.lost += seqDiff(target, this.expected);
        this.expected = target;
        break;
      }
      const i = this.expected & this.mask;
      if (this.slotLen[i] >= 0 && this.slotSeq[i] === this.expected) {
        this.deliverSlot(i);
      } else {
        this.lost++;
        this.expected = seqAdd(this.expected, 1);
      }
    }
    this.rearm();
  }

  private deliverSlot(i: number): void {
    const len = this.slotLen[i];
    this.slotLen[i] = -1;
    this.buffered--;
    this.expected = seqAdd(this.expected, 1);
    this.delivered++;
    this.reordered++;
    this.deliver(this.slots as Uint8Array, i * this.slotSize, len);
  }

  /** True for an unseen number a lone packet made us skip (see "What a single packet may move"). */
  private inLoneSkip(seq: number): boolean {
    return this.loneActive && seqDiff(seq, this.loneFrom) >= 0 && seqDiff(seq, this.loneTo) < 0 && !this.isSeen(seq);
  }

  /** The first packet to hold: this sequencer's own ring replaces the shared empty one. */
  private allocSlots(): void {
    const size = this.mask + 1;
    this.slots = new Uint8Array(size * this.slotSize);
    this.slotSeq = new Uint32Array(size);
    this.slotLen = new Int32Array(size).fill(-1);
    this.slotTime = new Float64Array(size);
  }

  private markSeen(seq: number): void {
    const i = seq & this.seenMask;
    this.seen[i] = seq;
    this.seenSet[i] = 1;
  }

  private isSeen(seq: number): boolean {
    const i = seq & this.seenMask;
    return this.seenSet[i] === 1 && this.seen[i] === seq;
  }
}

interface EmptyRing {
  readonly seq: Uint32Array;
  readonly len: Int32Array;
  readonly time: Float64Array;
}
/** One read-only empty ring per size, shared by every sequencer that has held nothing yet. */
const emptyRings = new Map<number, EmptyRing>();
function emptyRing(size: number): EmptyRing {
  let r = emptyRings.get(size);
  if (r === undefined) {
    r = { seq: new Uint32Array(size), len: new Int32Array(size).fill(-1), time: new Float64Array(size) };
    emptyRings.set(size, r);
  }
  return r;
}
