/**
 * The PPP frame header as PPTP carries it inside GRE (RFC 2637 §4.1: the GRE payload is a PPP frame in
 * HDLC-like framing minus flags, FCS and byte stuffing — RFC 1662 §3).
 *
 *   [ Address 0xFF | Control 0x03 ]   absent when Address-and-Control-Field-Compression was negotiated (RFC 1661 §6.6)
 *   [ Protocol (2 octets) ]           1 octet when Protocol-Field-Compression was negotiated (RFC 1661 §6.5)
 *
 * Receivers must accept both forms regardless of what was negotiated (RFC 1661 §6.5/§6.6: "MUST accept"), so the
 * parser decides from the bytes alone:
 *  - 0xFF 0x03 first means address/control are present. 0xFF cannot start a compressed protocol because protocol
 *    0x00FF is reserved precisely so that the two are distinguishable (RFC 1661 §2 / IANA "compression inefficient").
 *  - A protocol octet with the low bit set ends the Protocol field: protocols are odd in their least significant
 *    octet and even in the most significant one (RFC 1661 §2), so an odd first octet is a PFC-compressed protocol.
 *
 * Two faces, as everywhere in wire/: `parsePppHeader` returns a record (control path, tests), and
 * `PppHeaderReader` fills its own fields in place so the data path allocates nothing per packet.
 */
import { type Result, ok, err } from "./result.js";

/** RFC 1662 §3.1: All-Stations address and Unnumbered-Information control. */
export const PPP_ADDRESS = 0xff;
export const PPP_CONTROL = 0x03;

export interface PppHeader {
  /** Full 16-bit protocol number (a PFC-compressed 0x21 is reported as 0x0021). */
  readonly protocol: number;
  /** Octets before the information field: 1..4. The payload is buf[off + headerLen, off + len). */
  readonly headerLen: number;
}

/** Compression flags as negotiated by LCP for the direction being sent. */
export interface PppHeaderFlags {
  /** Omit address/control (peer accepted ACFC, RFC 1661 §6.6). */
  readonly acfc: boolean;
  /** Send protocols below 0x0100 as one octet (peer accepted PFC, RFC 1661 §6.5). */
  readonly pfc: boolean;
}

// Internal decoder result: >= 0 is (headerLen << 16) | protocol; negative values are error kinds.
const E_SHORT = -1;
const E_CONTROL = -2;
const E_PROTOCOL = -3;

function decode(buf: Uint8Array, off: number, len: number): number {
  let p = off;
  const end = off + len;
  if (len >= 1 && buf[p] === PPP_ADDRESS) {
    if (len < 2) return E_SHORT;
    if (buf[p + 1] !== PPP_CONTROL) return E_CONTROL;
    p += 2;
  }
  if (p >= end) return E_SHORT;
  const first = buf[p];
  if ((first & 1) === 1) return ((p + 1 - off) << 16) | first; // PFC: one odd octet
  if (p + 1 >= end) return E_SHORT;
  const second = buf[p + 1];
  if ((second & 1) === 0) return E_PROTOCOL; // RFC 1661 §2: the least significant octet must be odd
  return ((p + 2 - off) << 16) | (first << 8) | second;
}

function describe(code: number, buf: Uint8Array, off: number, len: number): Result<never> {
  const shown = Array.from(buf.subarray(off, Math.min(off + len, off + 4)), (b) => b.toString(16).padStart(2, "0")).join("");
  switch (code) {
    case E_SHORT:
      return err("short", `PPP header: frame of ${len} octets ends inside the address/control/protocol fields (starts ${shown || "<empty>"})`);
    case E_CONTROL:
      return err("bad-control", `PPP header: address 0xff must be followed by control 0x03, saw 0x${buf[off + 1].toString(16).padStart(2, "0")}`);
    default:
      return err("bad-protocol", `PPP header: protocol field must be odd in its last octet (RFC 1661 §2), saw ${shown}`);
  }
}

/** Decode the header of the frame buf[off, off+len). Does not copy; the payload starts at off + headerLen. */
export function parsePppHeader(buf: Uint8Array, off: number, len: number): Result<PppHeader> {
  if (off < 0 || len < 0 || off + len > buf.length) {
    return err("short", `PPP header: window off=${off} len=${len} exceeds buffer of ${buf.length} octets`);
  }
  const r = decode(buf, off, len);
  if (r < 0) return describe(r, buf, off, len);
  return ok({ protocol: r & 0xffff, headerLen: r >>> 16 });
}

/**
 * Reusable, allocation-free header reader for the per-packet path: one instance per channel, `read()` per frame.
 * After a successful read `protocol` and `headerLen` describe the frame; after a failed one `error()` explains why
 * (building the message allocates, so it is only done when asked).
 */
export class PppHeaderReader {
  protocol = 0;
  headerLen = 0;
  private lastCode = 0;
  /**
   * The failed frame's first four octets (all the message names), big-endian in one number: copied because the
   * caller may reuse its buffer, and a number rather than a 4-octet array, which would cost ~200 B of heap in
   * each of a session's two readers (issue 11: memory per session).
   */
  private lastBytes = 0;
  private lastLen = 0;

  read(buf: Uint8Array, off: number, len: number): boolean {
    const r = off < 0 || len < 0 || off + len > buf.length ? E_SHORT : decode(buf, off, len);
    if (r < 0) {
      this.lastCode = r;
      this.lastLen = Math.max(0, Math.min(len, buf.length - off));
      let b = 0;
      for (let i = 0; i < 4; i++) b = (b << 8) | (i < this.lastLen ? buf[off + i] : 0);
      this.lastBytes = b >>> 0;
      return false;
    }
    this.protocol = r & 0xffff;
    this.headerLen = r >>> 16;
    return true;
  }

  /** Explanation of the last failed read(). */
  error(): { code: string; message: string } {
    const b = this.lastBytes;
    const bytes = new Uint8Array([b >>> 24, (b >>> 16) & 0xff, (b >>> 8) & 0xff, b & 0xff]);
    const r = describe(this.lastCode, bytes, 0, this.lastLen);
    return r.ok ? { code: "none", message: "" } : r.error;
  }
}

/** Whether PFC can shorten this protocol: only numbers whose high octet is zero (RFC 1661 §6.5). */
function compressible(protocol: number): boolean {
  return protocol < 0x100;
}

/** Octets `emitPppHeader` will write for this protocol and these flags. */
export function pppHeaderLen(protocol: number, acfc: boolean, pfc: boolean): number {
  return (acfc ? 0 : 2) + (pfc && compressible(protocol) ? 1 : 2);
}

/**
 * Write the header at out[off]; returns the octets written. The caller picks the flags: LCP must always go out
 * uncompressed (RFC 1661 §6.5/§6.6 — Configure-Request etc. have to be readable before anything is negotiated),
 * so a link passes `{ acfc: false, pfc: false }` for 0xC021 whatever LCP agreed. The caller guarantees room
 * (pppHeaderLen octets); a constant flags object keeps this allocation-free.
 */
export function emitPppHeader(out: Uint8Array, off: number, protocol: number, flags: PppHeaderFlags): number {
  let p = off;
  if (!flags.acfc) {
    out[p++] = PPP_ADDRESS;
    out[p++] = PPP_CONTROL;
  }
  if (flags.pfc && compressible(protocol)) {
    out[p++] = protocol;
  } else {
    out[p++] = (protocol >>> 8) & 0xff;
    out[p++] = protocol & 0xff;
  }
  return p - off;
}

/** Flags for frames that must not be compressed (LCP, and anything before LCP is Opened). */
export const PPP_UNCOMPRESSED: PppHeaderFlags = Object.freeze({ acfc: false, pfc: false });
