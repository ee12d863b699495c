/**
 * 32-bit sequence-number arithmetic for the GRE data channel. RFC 2637 §4.1 numbers packets with
 * an unsigned 32-bit counter that starts at zero and simply keeps counting, so it wraps; comparisons
 * are made on the signed distance (the serial-number idea of RFC 1982), valid while the two numbers
 * are less than 2^31 apart — always the case for a window of at most 65535 packets.
 */

/** a + n modulo 2^32, as an unsigned number. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Signed distance a - b: > 0 when a is after b, < 0 when before, 0 when equal (wrap-aware). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** True when a comes strictly after b. */
export function seqAfter(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
