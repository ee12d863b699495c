/**
 * The enhanced GRE header of PPTP's data channel (RFC 2637 §4.1):
 *
 *    0                   1                   2                   3
 *   |C|R|K|S|s|Recur|A| Flags | Ver |         Protocol Type         |
 *   |    Key (HW) Payload Length    |       Key (LW) Call ID        |
 *   |                  Sequence Number (Optional)                   |
 *   |               Acknowledgment Number (Optional)                |
 *
 * K is always set and the key is (payload length, peer's Call ID); S marks a data packet (it carries a
 * payload and a sequence number), A an acknowledgment. A packet with A and without S is an
 * acknowledgment-only packet. Version must be 1 and Protocol Type 0x880B.
 *
 * This is the per-packet hot path, so parsing fills a caller-owned `GreHeader` in place and returns a
 * result object that belongs to that header (no allocation when the packet is good); errors, the rare
 * path, allocate their message. `emitGreHeader` writes in place and returns the header length.
 *
 * Checked: bounds, C and R clear (they would change the header layout, RFC 1701 §2.1), K set,
 * Ver = 1, Protocol = 0x880B, room for the optional fields, payload length within the packet, and
 * no payload without a sequence number. Tolerated: the s, Recur and Flags bits, which RFC 2637 says
 * to send as 0 but which do not change the layout; octets after the payload (link padding).
 */
import { u16, u32, put16, put32 } from "./bytes.js";
import { type Result, ok, err } from "./result.js";

/** IP protocol number of GRE. */
export const IP_PROTOCOL_GRE = 47;
/** Protocol Type for PPP in enhanced GRE (RFC 2637 §4.1: "hex 880B"). */
export const GRE_PROTOCOL_PPP = 0x880b;
/** Ver field value of enhanced GRE. */
export const GRE_VERSION_ENHANCED = 1;
/** Flags, version, protocol and key: always present in PPTP's GRE. */
export const GRE_BASE_HEADER_LENGTH = 8;
/** With both sequence and acknowledgment numbers. */
export const GRE_MAX_HEADER_LENGTH = 16;

// First octet.
const FLAG_C = 0x80;
const FLAG_R = 0x40;
const FLAG_K = 0x20;
const FLAG_S = 0x10;
// Second octet.
const FLAG_A = 0x80;
const VERSION_MASK = 0x07;

/** Header length for a packet with/without sequence and acknowledgment numbers. */
export function greHeaderLength(hasSeq: boolean, hasAck: boolean): number {
  return GRE_BASE_HEADER_LENGTH + (hasSeq ? 4 : 0) + (hasAck ? 4 : 0);
}

/**
 * A decoded header, reused across packets. After a successful parse the payload is
 * buf[payloadOffset, payloadOffset + payloadLength); no bytes were copied.
 */
export class GreHeader {
  /** Key low half: the Call ID of the receiving side (the "peer's Call ID" from the sender's view). */
  callId = 0;
  /** Key high half: octets of payload after the header. */
  payloadLength = 0;
  hasSeq = false;
  /** Sequence number (valid when hasSeq), unsigned 32-bit. */
  seq = 0;
  hasAck = false;
  /** Acknowledgment number (valid when hasAck), unsigned 32-bit. */
  ack = 0;
  headerLength = 0;
  payloadOffset = 0;
  /** The success value parseGreHeader returns for this header: allocated once, not per packet. */
  readonly parsed: Result<GreHeader>;

  constructor() {
    this.parsed = ok(this);
  }
}

function hex2(v: number): string {
  return "0x" + v.toString(16).padStart(2, "0");
}

/**
 * Decodes the GRE header of buf[off, off + len) into `out`. The window must hold the whole packet
 * (header and payload); the payload itself is not touched.
 */
export function parseGreHeader(buf: Uint8Array, off: number, len: number, out: GreHeader = new GreHeader()): Result<GreHeader> {
  if (!(off >= 0 && len >= 0 && off + len <= buf.length)) {
    return err("short", `GRE: window off=${off} len=${len} exceeds a buffer of ${buf.length} octets`);
  }
  if (len < GRE_BASE_HEADER_LENGTH) {
    return err("short", `GRE: packet of ${len} octets is shorter than the ${GRE_BASE_HEADER_LENGTH}-octet enhanced GRE header`);
  }
  const f0 = buf[off];
  const f1 = buf[off + 1];
  const version = f1 & VERSION_MASK;
  if (version !== GRE_VERSION_ENHANCED) {
    return err("bad-version", `GRE: Ver is ${version}, PPTP uses enhanced GRE version 1 (flags ${hex2(f0)} ${hex2(f1)})`);
  }
  const protocol = u16(buf, off + 2);
  if (protocol !== GRE_PROTOCOL_PPP) {
    return err("bad-protocol", `GRE: Protocol Type is 0x${protocol.toString(16).padStart(4, "0")}, expected 0x880b (PPP)`);
  }
  if ((f0 & (FLAG_C | FLAG_R)) !== 0) {
    return err("bad-flags", `GRE: checksum (C) and routing (R) must be absent in PPTP, flags octet is ${hex2(f0)}`);
  }
  if ((f0 & FLAG_K) === 0) {
    return err("no-key", `GRE: Key Present (K) must be set in PPTP, flags octet is ${hex2(f0)}`);
  }
  const hasSeq = (f0 & FLAG_S) !== 0;
  const hasAck = (f1 & FLAG_A) !== 0;
  const headerLength = greHeaderLength(hasSeq, hasAck);
  if (len < headerLength) {
    return err(
      "short",
      `GRE: flags announce${hasSeq ? " a sequence number" : ""}${hasSeq && hasAck ? " and" : ""}${hasAck ? " an acknowledgment number" : ""} (${headerLength}-octet header) but the packet has ${len} octets`,
    );
  }
  const payloadLength = u16(buf, off + 4);
  if (payloadLength > len - headerLength) {
    return err(
      "bad-length",
      `GRE: Payload Length is ${payloadLength} but only ${len - headerLength} octets follow the ${headerLength}-octet header`,
    );
  }
  if (!hasSeq && payloadLength !== 0) {
    return err("payload-without-seq", `GRE: packet carries ${payloadLength} octets of payload but no sequence number (S clear)`);
  }
  out.callId = u16(buf, off + 6);
  out.payloadLength = payloadLength;
  out.hasSeq = hasSeq;
  out.hasAck = hasAck;
  let p = off + GRE_BASE_HEADER_LENGTH;
  if (hasSeq) {
    out.seq = u32(buf, p);
    p += 4;
  } else {
    out.seq = 0;
  }
  if (hasAck) {
    out.ack = u32(buf, p);
    p += 4;
  } else {
    out.ack = 0;
  }
  out.headerLength = headerLength;
  out.payloadOffset = p;
  return out.parsed;
}

/**
 * Writes an enhanced GRE header at out[off..]: S and the sequence number when `seq` is given (a data
 * packet), A and the acknowledgment number when `ack` is given. Returns the header length; the
 * payload goes right after it. Throws RangeError on a programming error (no room, bad length).
 */
export function emitGreHeader(
  out: Uint8Array,
  off: number,
  callId: number,
  payloadLen: number,
  seq: number | undefined,
  ack: number | undefined,
): number {
  const hasSeq = seq !== undefined;
  const hasAck = ack !== undefined;
  const n = greHeaderLength(hasSeq, hasAck);
  if (!(off >= 0 && off + n <= out.length)) {
    throw new RangeError(`emitGreHeader: ${n}-octet header at offset ${off} does not fit a ${out.length}-octet buffer`);
  }
  if (!(payloadLen >= 0 && payloadLen <= 0xffff)) {
    throw new RangeError(`emitGreHeader: payload length ${payloadLen} does not fit the 16-bit Payload Length field`);
  }
  out[off] = FLAG_K | (hasSeq ? FLAG_S : 0);
  out[off + 1] = (hasAck ? FLAG_A : 0) | GRE_VERSION_ENHANCED;
  put16(out, off + 2, GRE_PROTOCOL_PPP);
  put16(out, off + 4, payloadLen);
  put16(out, off + 6, callId);
  let p = off + GRE_BASE_HEADER_LENGTH;
  if (hasSeq) {
    put32(out, p, seq);
    p += 4;
  }
  if (hasAck) put32(out, p, ack);
  return n;
}
