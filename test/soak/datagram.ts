/**
 * The soak test's datagrams: every one says which flow, direction and sequence number it is, and its whole
 * content (length included) follows from those three, so the receiver can rebuild the exact bytes it should have
 * got and compare them all. A corrupted, truncated or mixed-up datagram (another datagram's payload under this
 * header) fails the comparison; a sequence number seen twice is a duplicate; one below the highest seen so far
 * arrived out of order. No checksum to collide: the comparison is byte for byte.
 *
 *   0 u32 magic "SOAK" | 4 u32 flow | 8 u32 seq | 12 u8 direction (0 up, 1 down) | 13 u8 0 | 14 u16 total length
 *   16.. payload: a window of a fixed pseudo-random table, at an offset derived from (flow, seq, direction)
 */

export const MAGIC = 0x534f414b;
export const HEADER = 16;
/** Largest datagram: fits a 1396-byte tunnel MTU (1400 MRU minus MPPE's 4) with 28 bytes of IPv4 + UDP. */
export const MAX_DATAGRAM = 1340;
export type Direction = 0 | 1;

const TABLE_SIZE = 1 << 16;
const TABLE = (() => {
  const t = new Uint8Array(TABLE_SIZE + MAX_DATAGRAM);
  let x = 0x2545f491;
  for (let i = 0; i < t.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    t[i] = x & 0xff;
  }
  return t;
})();

/** A 32-bit mix of the datagram's identity (murmur3's finaliser). */
function mix(flow: number, seq: number, dir: Direction): number {
  let h = (Math.imul(flow, 0x9e3779b1) ^ Math.imul(seq + 1, 0x85ebca6b) ^ (dir * 0x27d4eb2f)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Total length of datagram (flow, seq, dir): HEADER..MAX_DATAGRAM. */
export function datagramLength(flow: number, seq: number, dir: Direction): number {
  return HEADER + (mix(flow, seq, dir) % (MAX_DATAGRAM - HEADER + 1));
}

/** Writes datagram (flow, seq, dir) into `out` (at least MAX_DATAGRAM bytes) and returns its length. */
export function buildDatagram(out: Uint8Array, flow: number, seq: number, dir: Direction): number {
  const len = datagramLength(flow, seq, dir);
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  v.setUint32(0, MAGIC);
  v.setUint32(4, flow);
  v.setUint32(8, seq);
  v.setUint8(12, dir);
  v.setUint8(13, 0);
  v.setUint16(14, len);
  const off = mix(seq, flow, dir) % TABLE_SIZE;
  out.set(TABLE.subarray(off, off + len - HEADER), HEADER);
  return len;
}

export type Checked =
  | { readonly ok: true; readonly flow: number; readonly seq: number; readonly dir: Direction }
  /** `flow` when the header was readable enough to say whose datagram it claims to be. */
  | { readonly ok: false; readonly why: string; readonly flow?: number };

/** Whether `d` is exactly the datagram its header names. */
export function checkDatagram(d: Uint8Array): Checked {
  if (d.length < HEADER) return { ok: false, why: `short datagram (${d.length} bytes)` };
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  if (v.getUint32(0) !== MAGIC) return { ok: false, why: "bad magic" };
  const flow = v.getUint32(4);
  const seq = v.getUint32(8);
  const dir = v.getUint8(12);
  if (dir !== 0 && dir !== 1) return { ok: false, why: `bad direction ${dir}`, flow };
  const len = datagramLength(flow, seq, dir);
  if (d.length !== len || v.getUint16(14) !== len || v.getUint8(13) !== 0) return { ok: false, why: `length ${d.length}, expected ${len}`, flow };
  const off = mix(seq, flow, dir) % TABLE_SIZE;
  for (let i = HEADER; i < len; i++) if (d[i] !== TABLE[off + i - HEADER]) return { ok: false, why: `byte ${i} differs`, flow };
  return { ok: true, flow, seq, dir };
}

/** Per-flow receive accounting: every sequence number is remembered, so duplicates are counted exactly. */
export class SeqTracker {
  received = 0;
  duplicates = 0;
  reordered = 0;
  corrupt = 0;
  /** Highest sequence number received, -1 before the first. */
  highest = -1;
  private seen = new Uint8Array(1024);

  /** Records `seq`; returns "new", "duplicate" or "reordered" (new, but below the highest seen). */
  record(seq: number): "new" | "duplicate" | "reordered" {
    const byte = seq >>> 3;
    if (byte >= this.seen.length) {
      let n = this.seen.length;
      while (n <= byte) n *= 2;
      const grown = new Uint8Array(n);
      grown.set(this.seen);
      this.seen = grown;
    }
    const bit = 1 << (seq & 7);
    if (this.seen[byte] & bit) {
      this.duplicates++;
      return "duplicate";
    }
    this.seen[byte] |= bit;
    this.received++;
    if (seq < this.highest) {
      this.reordered++;
      return "reordered";
    }
    this.highest = seq;
    return "new";
  }
}
