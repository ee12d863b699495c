/**
 * Hand-built packets for the I/O tests: IPv4/ICMP echo (RFC 792, checksum RFC 1071) and PPTP's
 * enhanced GRE header (RFC 2637 §4.1), written here on purpose instead of using the project's
 * codecs so the edge is tested against an independent encoding.
 */
import { put16, put32, u16, u32 } from "../../src/wire/bytes.js";

/** RFC 1071 Internet checksum of b[off .. off+len). */
export function internetChecksum(b: Uint8Array, off: number, len: number): number {
  let sum = 0;
  for (let i = 0; i + 1 < len; i += 2) sum += (b[off + i] << 8) | b[off + i + 1];
  if (len % 2 === 1) sum += b[off + len - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;

/** An ICMP echo message (no IP header: a raw ICMP socket adds it). */
export function icmpEcho(type: number, id: number, seq: number, payload: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + payload.length);
  m[0] = type;
  m[1] = 0;
  put16(m, 4, id);
  put16(m, 6, seq);
  m.set(payload, 8);
  put16(m, 2, internetChecksum(m, 0, m.length));
  return m;
}

export function echoPayload(seq: number, length: number): Uint8Array {
  const p = new Uint8Array(length);
  for (let i = 0; i < length; i++) p[i] = (seq * 7 + i) & 0xff;
  return p;
}

export interface Ipv4View {
  readonly headerLength: number;
  readonly totalLength: number;
  readonly protocol: number;
  readonly src: number;
  readonly dst: number;
}

export function ipv4Header(b: Uint8Array, off: number, len: number): Ipv4View | undefined {
  if (len < 20 || b[off] >> 4 !== 4) return undefined;
  const headerLength = (b[off] & 0x0f) * 4;
  const totalLength = u16(b, off + 2);
  if (headerLength < 20 || totalLength > len || headerLength > totalLength) return undefined;
  return { headerLength, totalLength, protocol: b[off + 9], src: u32(b, off + 12), dst: u32(b, off + 16) };
}

/**
 * If b[off..off+len) is an IPv4 ICMP echo request, writes the matching echo reply (addresses
 * swapped, type 0, both checksums recomputed) to out[outOff..] and returns its length; else 0.
 */
export function echoReplyFor(b: Uint8Array, off: number, len: number, out: Uint8Array, outOff: number): number {
  const ip = ipv4Header(b, off, len);
  if (ip === undefined || ip.protocol !== 1 || b[off + ip.headerLength] !== ICMP_ECHO_REQUEST) return 0;
  const n = ip.totalLength;
  out.set(b.subarray(off, off + n), outOff);
  put32(out, outOff + 12, ip.dst);
  put32(out, outOff + 16, ip.src);
  out[outOff + 8] = 64; // TTL
  put16(out, outOff + 10, 0);
  put16(out, outOff + 10, internetChecksum(out, outOff, ip.headerLength));
  const icmp = outOff + ip.headerLength;
  out[icmp] = ICMP_ECHO_REPLY;
  put16(out, icmp + 2, 0);
  put16(out, icmp + 2, internetChecksum(out, icmp, n - ip.headerLength));
  return n;
}

export const GRE_PPP = 0x880b;

export interface GreFields {
  callId: number;
  seq?: number;
  ack?: number;
  /** Defaults to 1 (enhanced GRE); 0 makes a plain RFC 2784 header for filter tests. */
  version?: number;
  protocol?: number;
}

/**
 * Enhanced GRE (RFC 2637 §4.1): C=0 R=0 K=1 S s=0 Recur=0 | A Flags=0 Ver=1, protocol 0x880B,
 * payload length, call ID, then the sequence number if S and the acknowledgment number if A.
 */
export function enhancedGre(f: GreFields, payload: Uint8Array): Uint8Array {
  const hasSeq = f.seq !== undefined;
  const hasAck = f.ack !== undefined;
  const headerLength = 8 + (hasSeq ? 4 : 0) + (hasAck ? 4 : 0);
  const g = new Uint8Array(headerLength + payload.length);
  g[0] = 0x20 | (hasSeq ? 0x10 : 0);
  g[1] = (hasAck ? 0x80 : 0) | ((f.version ?? 1) & 0x07);
  put16(g, 2, f.protocol ?? GRE_PPP);
  put16(g, 4, payload.length);
  put16(g, 6, f.callId);
  let o = 8;
  if (hasSeq) {
    put32(g, o, f.seq as number);
    o += 4;
  }
  if (hasAck) {
    put32(g, o, f.ack as number);
    o += 4;
  }
  g.set(payload, o);
  return g;
}

export interface ParsedGre {
  version: number;
  protocol: number;
  payloadLength: number;
  callId: number;
  seq: number | undefined;
  ack: number | undefined;
  payloadOffset: number;
}

export function parseEnhancedGre(b: Uint8Array, off: number, len: number): ParsedGre | undefined {
  if (len < 8) return undefined;
  const hasSeq = (b[off] & 0x10) !== 0;
  const hasAck = (b[off + 1] & 0x80) !== 0;
  const headerLength = 8 + (hasSeq ? 4 : 0) + (hasAck ? 4 : 0);
  if (len < headerLength) return undefined;
  let o = off + 8;
  const seq = hasSeq ? u32(b, o) : undefined;
  if (hasSeq) o += 4;
  const ack = hasAck ? u32(b, o) : undefined;
  if (hasAck) o += 4;
  return {
    version: b[off + 1] & 0x07,
    protocol: u16(b, off + 2),
    payloadLength: u16(b, off + 4),
    callId: u16(b, off + 6),
    seq,
    ack,
    payloadOffset: o,
  };
}

/** Concatenates packets into one buffer with offsets/lengths, as sendBatch/writeBatch take them. */
export function packBatch(packets: readonly Uint8Array[]): { buf: Uint8Array; offsets: Uint32Array; lengths: Uint32Array } {
  let total = 0;
  for (const p of packets) total += p.length;
  const buf = new Uint8Array(total);
  const offsets = new Uint32Array(packets.length);
  const lengths = new Uint32Array(packets.length);
  let o = 0;
  packets.forEach((p, i) => {
    buf.set(p, o);
    offsets[i] = o;
    lengths[i] = p.length;
    o += p.length;
  });
  return { buf, offsets, lengths };
}
