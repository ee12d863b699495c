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
 *  - a packet further ahead than the window (a burst of loss, or a peer ignoring our window) is
 *    treated the same way at once: buffered packets go out, the gap is counted lost, it is delivered;
 *  - a packet behind the next expected one is dropped: a duplicate if we saw that sequence number
 *    (RFC 2637 §4.3 "silently discard duplicate GRE packets"), stale otherwise (it arrived after
 *    we had given up on it).
 *
 * The first data packet fixes the starting point (peers differ: Windows starts at 0, Cisco at 1).
 * Sequence numbers are compared with wrap-around (serial.ts). The deliver callback must not call
 * back into receive().
 */
import { seqAdd, seqDiff } from "./serial.js";

export type DeliverFn = (buf: Uint8Array, off: number, len: number) => void;

export interface ReceiveSequencerOptions {
  /** Our Packet Recv. Window Size: how far ahead of the gap packets are held. At least 1. */
  readonly window: number;
  /** Largest payload a reorder slot holds; bigger out-of-order packets skip the gap instead. */
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

  private readonly window: number;
  private readonly slotSize: number;
  private readonly timeoutMs: number;
  private readonly deliver: DeliverFn;
  private readonly mask: number;
  private slots: Uint8Array | undefined;
  private readonly slotSeq: Uint32Array;
  /** Payload length held in a slot, -1 when empty. */
  private readonly slotLen: Int32Array;
  /** When the packet in a slot arrived. */
  private readonly slotTime: Float64Array;
  private buffered = 0;
  /** Highest sequence number in the reorder buffer (valid when buffered > 0). */
  private highest = 0;
  private gapDeadline: number | undefined;
  // Recently received sequence numbers, to tell duplicates from stale packets.
  private readonly seen: Uint32Array;
  private readonly seenSet: Uint8Array;
  private readonly seenMask: number;

  constructor(o: ReceiveSequencerOptions) {
    this.window = Math.max(1, Math.floor(o.window));
    this.slotSize = o.slotSize;
    this.timeoutMs = o.timeoutMs;
    this.deliver = o.deliver;
    let size = 1;
    while (size < this.window) size <<= 1;
    this.mask = size - 1;
    this.slotSeq = new Uint32Array(size);
    this.slotLen = new Int32Array(size).fill(-1);
    this.slotTime = new Float64Array(size);
    let hist = 64;
    while (hist < 2 * size) hist <<= 1;
    this.seen = new Uint32Array(hist);
    this.seenSet = new Uint8Array(hist);
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

  receive(now: number, buf: Uint8Array, off: number, len: number, seq: number): void {
    if (!this.started) {
      this.started = true;
      this.expected = seq;
    }
    const d = seqDiff(seq, this.expected);
    if (d === 0) {
      this.markSeen(seq);
      this.expected = seqAdd(seq, 1);
      this.delivered++;
      this.deliver(buf, off, len);
      if (this.buffered > 0) this.drain();
      return;
    }
    if (d < 0) {
      if (-d <= this.seenMask && this.isSeen(seq)) this.duplicates++;
      else this.stale++;
      return;
    }
    const i = seq & this.mask;
    if (this.slotLen[i] >= 0 && this.slotSeq[i] === seq) {
      this.duplicates++;
      return;
    }
    if (d >= this.window || len > this.slotSize) {
      // Beyond what we may hold: give up on everything before it and deliver it now.
      this.skipTo(seq);
      this.markSeen(seq);
      this.expected = seqAdd(seq, 1);
      this.delivered++;
      this.deliver(buf, off, len);
      this.drain();
      return;
    }
    if (this.slots === undefined) this.slots = new Uint8Array((this.mask + 1) * this.slotSize);
    this.slots.set(buf.subarray(off, off + len), i * this.slotSize);
    this.slotSeq[i] = seq;
    this.slotLen[i] = len;
    this.slotTime[i] = now;
    this.markSeen(seq);
    if (this.buffered === 0 || seqDiff(seq, this.highest) > 0) this.highest = seq;
    this.buffered++;
    if (this.gapDeadline === undefined) this.gapDeadline = now + this.timeoutMs;
  }

  /** Gives up on the gaps whose time is up; returns true when it skipped any. */
  onTimeout(now: number): boolean {
    let skipped = false;
    while (this.gapDeadline !== undefined && now >= this.gapDeadline) {
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

  /** The next gap times out when the packet that has waited longest behind it has waited timeoutMs. */
  private rearm(): void {
    if (this.buffered === 0) {
      this.gapDeadline = undefined;
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
