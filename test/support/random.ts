/** Deterministic random bytes for tests (xorshift32): same seed, same session. */
import type { RandomSource } from "../../src/core/clock.js";

export function seededRandom(seed: number): RandomSource {
  let x = seed >>> 0 || 0x9e3779b9;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

/** A fake IPv4 datagram of `len` bytes (header fields plausible, payload patterned by `tag`). */
export function fakeIpPacket(len: number, tag: number, src = "192.168.50.10", dst = "192.168.50.1"): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 0x45;
  p[2] = len >> 8;
  p[3] = len & 0xff;
  p[8] = 64;
  p[9] = 17;
  const s = src.split(".").map(Number);
  const d = dst.split(".").map(Number);
  p.set(s, 12);
  p.set(d, 16);
  for (let i = 20; i < len; i++) p[i] = (i * 7 + tag) & 0xff;
  return p;
}
