/**
 * Random octets for the PPP engines (LCP Magic-Numbers, CHAP / MS-CHAP challenges) drawn from one block that is
 * refilled from the kernel's CSPRNG when used up, instead of one `randomBytes` call per request: a setup asks a few
 * times for 4 to 16 octets, and each call was a getrandom(2) and a Buffer of its own (about 1 % of a setup ramp's
 * profile). The octets are the same kernel randomness, each handed out once; every caller gets a fresh copy it may
 * keep, as `new Uint8Array(randomBytes(n))` gave.
 */
import { randomFillSync } from "node:crypto";

export type RandomSource = (n: number) => Uint8Array;

/** Octets fetched from the kernel at a time; a request larger than this is served by a call of its own. */
const BLOCK = 4096;

export function randomPool(block = BLOCK): RandomSource {
  const buf = new Uint8Array(block);
  let used = block;
  return (n: number): Uint8Array => {
    if (n > block) return randomFillSync(new Uint8Array(n));
    if (used + n > block) {
      randomFillSync(buf);
      used = 0;
    }
    const out = buf.slice(used, used + n);
    // Handed-out octets are never handed out again: zero them so the block holds only what is still unused.
    buf.fill(0, used, used + n);
    used += n;
    return out;
  };
}
