/**
 * The Call IDs of one load generator when several share the generator namespace (--generators K). Each generator
 * chooses its own Call IDs (RFC 2637 §2.7, Outgoing-Call-Request: the caller's Call ID), and the server puts the
 * receiver's Call ID into the Key field of every GRE packet it sends (§4.1); so disjoint ranges let a kernel filter
 * on each generator's raw socket keep only that generator's calls.
 */
import { MAX_CALL_ID } from "../../src/io/gre-demux.js";

/** K disjoint ranges covering 1..65535 (0 is not a Call ID a call may hold here). */
export function callIdRanges(k: number): Array<{ first: number; last: number }> {
  const span = Math.floor(MAX_CALL_ID / k);
  return Array.from({ length: k }, (_, i) => ({ first: 1 + i * span, last: i === k - 1 ? MAX_CALL_ID : (i + 1) * span }));
}

/** Sessions of generator `i` of `k` when `n` are shared out round robin (global indices i, i + k, ...). */
export function sessionsOf(n: number, k: number, i: number): number {
  return i < n ? Math.floor((n - 1 - i) / k) + 1 : 0;
}

/**
 * Hands out the IDs of first..last; a released ID goes to the back of the line, so a just-ended call's ID is
 * reused last (late GRE for it is then "unknown", not misdelivered), as GreDemux.allocateCallId does.
 */
export class CallIdRange {
  private next: number;
  private readonly freed: number[] = [];
  private freedHead = 0;

  constructor(
    readonly first: number,
    readonly last: number,
  ) {
    if (!(Number.isInteger(first) && Number.isInteger(last) && first >= 1 && first <= last && last <= MAX_CALL_ID)) throw new RangeError(`bad Call ID range ${first}..${last}`);
    this.next = first;
  }

  allocate(): number | undefined {
    if (this.next <= this.last) return this.next++;
    if (this.freedHead < this.freed.length) {
      const id = this.freed[this.freedHead++];
      if (this.freedHead > 4096) {
        this.freed.splice(0, this.freedHead);
        this.freedHead = 0;
      }
      return id;
    }
    return undefined;
  }

  release(id: number): void {
    if (id >= this.first && id <= this.last) this.freed.push(id);
  }
}
