/**
 * The traffic the generator pushes through a session: ICMP echo requests (RFC 792) from the session's tunnel
 * address to the server's, built in-process and encrypted by the session's MPPE like any datagram. The server's
 * kernel answers them, so a reply proves the whole path both ways: our MPPE → the server's GRE, MPPE and TUN →
 * its kernel → TUN → MPPE → GRE → our MPPE. The send time travels in the payload, so the reply gives the round trip.
 */
import { internetChecksum } from "../../src/wire/ipv4-fragment.js";

export const IPV4_HEADER = 20;
export const ICMP_HEADER = 8;
/** Payload: the send time (float64, ms) first, then a filler pattern the reply must echo. */
const STAMP = 8;
export const MIN_ECHO_SIZE = IPV4_HEADER + ICMP_HEADER;

/** Writes an echo request of `size` octets (IPv4 header included) into `buf` at 0; returns `size`. */
export function buildEcho(buf: Uint8Array, size: number, src: number, dst: number, ident: number, seq: number, sentAt: number): number {
  buf.fill(0, 0, IPV4_HEADER + ICMP_HEADER);
  buf[0] = 0x45;
  buf[2] = size >> 8;
  buf[3] = size & 0xff;
  buf[4] = seq >> 8; // IP identification: anything; the sequence keeps it varied
  buf[5] = seq & 0xff;
  buf[8] = 64;
  buf[9] = 1; // ICMP
  writeU32(buf, 12, src);
  writeU32(buf, 16, dst);
  const ip = internetChecksum(buf, 0, IPV4_HEADER);
  buf[10] = ip >> 8;
  buf[11] = ip & 0xff;
  const o = IPV4_HEADER;
  buf[o] = 8; // echo request
  buf[o + 4] = ident >> 8;
  buf[o + 5] = ident & 0xff;
  buf[o + 6] = seq >> 8;
  buf[o + 7] = seq & 0xff;
  const p = o + ICMP_HEADER;
  if (size - p >= STAMP) new DataView(buf.buffer, buf.byteOffset + p, STAMP).setFloat64(0, sentAt);
  for (let i = p + STAMP; i < size; i++) buf[i] = (i * 7 + ident) & 0xff;
  const c = internetChecksum(buf, o, size - o);
  buf[o + 2] = c >> 8;
  buf[o + 3] = c & 0xff;
  return size;
}

export type EchoReply = { readonly ok: true; readonly ident: number; readonly seq: number; readonly sentAt: number | undefined } | { readonly ok: false; readonly why: string };

/** An echo reply from `from` to `to`, checked: addresses, type, both checksums, the echoed filler. */
export function parseEchoReply(buf: Uint8Array, off: number, len: number, from: number, to: number): EchoReply {
  if (len < MIN_ECHO_SIZE || buf[off] !== 0x45) return { ok: false, why: "not an IPv4 datagram with a plain header" };
  if (buf[off + 9] !== 1) return { ok: false, why: `IP protocol ${buf[off + 9]}, not ICMP` };
  if (((buf[off + 2] << 8) | buf[off + 3]) !== len) return { ok: false, why: "IP total length differs from the datagram's" };
  if (internetChecksum(buf, off, IPV4_HEADER) !== 0) return { ok: false, why: "bad IP header checksum" };
  if (readU32(buf, off + 12) !== from || readU32(buf, off + 16) !== to) return { ok: false, why: "unexpected addresses" };
  const o = off + IPV4_HEADER;
  if (buf[o] !== 0) return { ok: false, why: `ICMP type ${buf[o]}, not echo reply` };
  if (internetChecksum(buf, o, len - IPV4_HEADER) !== 0) return { ok: false, why: "bad ICMP checksum" };
  const ident = (buf[o + 4] << 8) | buf[o + 5];
  const seq = (buf[o + 6] << 8) | buf[o + 7];
  const p = o + ICMP_HEADER;
  for (let i = p + STAMP; i < off + len; i++) if (buf[i] !== (((i - off) * 7 + ident) & 0xff)) return { ok: false, why: "payload not echoed intact" };
  const sentAt = off + len - p >= STAMP ? new DataView(buf.buffer, buf.byteOffset + p, STAMP).getFloat64(0) : undefined;
  return { ok: true, ident, seq, sentAt };
}

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
