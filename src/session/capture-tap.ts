/**
 * One session's capture (`pptp-ts capture`), sans-I/O: the call's data path hands it each decrypted IP datagram
 * (after MPPE decryption on receive, before encryption on send) and, when asked for, each PPP control frame; it turns
 * them into pcap records (src/wire/pcap.ts, LINKTYPE_PPP_WITH_DIR) for `sink` and stops by itself at the limits.
 *
 * Cost when nobody captures: CallSession holds `capture: CaptureTap | undefined` and tests it once per packet;
 * nothing else runs and nothing is allocated. While a capture runs, each record is allocated here (the copy the
 * reader needs anyway).
 *
 * The reader may be slower than the session: `sink` returns false when it is too far behind, and the record is
 * dropped and counted, never queued here (the transport bounds what it holds).
 *
 * Authentication frames (with `control`): kept with their codes, identifiers, names and messages (what one debugs
 * a refused login with), but the PAP password (RFC 1334 §2.2.1) and the CHAP / MS-CHAP Response value
 * (RFC 1994 §4.1; RFC 2759 §4) are overwritten with zero octets of the same length. A capture file travels (tickets,
 * mail); the PAP password is the password in clear, and an MS-CHAP response with its challenge is an offline
 * dictionary attack on the password (RFC 2759 §9.2; asleap/chapcrack). Lengths stay, so tshark still decodes them.
 */
import type { Millis } from "../core/clock.js";
import { parsePppHeader } from "../wire/ppp-frame.js";
import { PPP_CHAP, PPP_COMP, PPP_IP, PPP_PAP } from "../wire/ppp-protocols.js";
import { PCAP_DIR_RECEIVED, PCAP_DIR_SENT, PCAP_FILE_HEADER_LEN, pppRecord, pppRecordLength } from "../wire/pcap.js";

/** Direction of a captured packet: from the peer (received) or to it (sent), as LINKTYPE_PPP_WITH_DIR writes it. */
export const CAPTURE_RECEIVED = PCAP_DIR_RECEIVED;
export const CAPTURE_SENT = PCAP_DIR_SENT;

/** File size a capture stops at unless told otherwise: a few minutes of a busy session, well within a disk. */
export const CAPTURE_DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

export interface CaptureLimits {
  /** Stop after this many records written. */
  readonly count?: number;
  /** Stop this many seconds after the start. */
  readonly seconds?: number;
  /** The whole file (its 24-octet header included) stays at or below this size. */
  readonly maxBytes: number;
  /** Also the PPP control frames (LCP, PAP/CHAP, IPCP, CCP), not only the IP datagrams. */
  readonly control: boolean;
}

export type CaptureEndReason = "count" | "seconds" | "max-bytes" | "session-ended" | "stopped";

export interface CaptureSummary {
  readonly reason: CaptureEndReason;
  /** Records handed to the reader. */
  readonly packets: number;
  /** The file size they make, header included. */
  readonly bytes: number;
  /** Records the reader was too slow for. */
  readonly dropped: number;
}

export interface CaptureTapOptions {
  /** The engines' clock at the start, and the wall clock (ms since the epoch) at the same moment: record times. */
  readonly now: Millis;
  readonly wallMs: number;
  readonly limits: CaptureLimits;
  /** Takes one record (header + packet); false when the reader is behind and it was not taken. */
  readonly sink: (record: Uint8Array) => boolean;
  /** Called once, when the capture ends for any reason. */
  readonly onEnd: (summary: CaptureSummary) => void;
}

export class CaptureTap {
  readonly control: boolean;
  private readonly o: CaptureTapOptions;
  private readonly deadline: Millis | undefined;
  private packets = 0;
  private bytes = PCAP_FILE_HEADER_LEN;
  private dropped = 0;
  private endedWith: CaptureEndReason | undefined;

  constructor(o: CaptureTapOptions) {
    this.o = o;
    this.control = o.limits.control;
    this.deadline = o.limits.seconds !== undefined ? o.now + o.limits.seconds * 1000 : undefined;
  }

  get ended(): boolean {
    return this.endedWith !== undefined;
  }

  get summary(): CaptureSummary {
    return { reason: this.endedWith ?? "stopped", packets: this.packets, bytes: this.bytes, dropped: this.dropped };
  }

  /** One IP datagram of the session, in clear: buf[off..off+len). */
  ip(now: Millis, direction: number, buf: Uint8Array, off: number, len: number): void {
    this.record(now, direction, PPP_IP, buf, off, len);
  }

  /**
   * One whole PPP frame (address/control and protocol field as on the wire, maybe compressed). Only control
   * protocols are recorded, and only with `control`: IP comes through ip() decrypted, and an MPPE frame is ciphertext.
   */
  frame(now: Millis, direction: number, buf: Uint8Array, off: number, len: number): void {
    if (!this.control || this.endedWith !== undefined) return;
    const h = parsePppHeader(buf, off, len);
    if (!h.ok) return;
    const protocol = h.value.protocol;
    if (protocol === PPP_IP || protocol === PPP_COMP) return;
    const pOff = off + h.value.headerLen;
    const pLen = len - h.value.headerLen;
    if (protocol === PPP_PAP || protocol === PPP_CHAP) {
      const copy = buf.slice(pOff, pOff + pLen);
      redactAuth(protocol, copy);
      this.record(now, direction, protocol, copy, 0, pLen);
      return;
    }
    this.record(now, direction, protocol, buf, pOff, pLen);
  }

  /** The deadline of `seconds`, while running. */
  pollTimeout(): Millis | undefined {
    return this.endedWith === undefined ? this.deadline : undefined;
  }

  handleTimeout(now: Millis): void {
    if (this.deadline !== undefined && now >= this.deadline) this.end("seconds");
  }

  /** Ends the capture (the reader left, or the session ended); a no-op once ended. */
  stop(reason: "session-ended" | "stopped" = "stopped"): void {
    this.end(reason);
  }

  private record(now: Millis, direction: number, protocol: number, buf: Uint8Array, off: number, len: number): void {
    if (this.endedWith !== undefined) return;
    if (this.deadline !== undefined && now >= this.deadline) return this.end("seconds");
    const size = pppRecordLength(len);
    if (this.bytes + size > this.o.limits.maxBytes) return this.end("max-bytes");
    const rec = pppRecord(this.o.wallMs + (now - this.o.now), direction, protocol, buf, off, len);
    if (!this.o.sink(rec)) {
      this.dropped++;
      return;
    }
    this.packets++;
    this.bytes += size;
    if (this.o.limits.count !== undefined && this.packets >= this.o.limits.count) this.end("count");
  }

  private end(reason: CaptureEndReason): void {
    if (this.endedWith !== undefined) return;
    this.endedWith = reason;
    this.o.onEnd(this.summary);
  }
}

/** Zeroes the PAP password / CHAP response value of the packet `p` (code, id, length, data) in place (file comment). */
export function redactAuth(protocol: number, p: Uint8Array): void {
  if (p.length < 5) return;
  const end = Math.min(p.length, (p[2] << 8) | p[3]);
  if (protocol === PPP_PAP && p[0] === 1) {
    // Authenticate-Request: Peer-ID Length, Peer-ID, Passwd-Length, Password.
    const pw = 4 + 1 + p[4];
    if (pw < end) p.fill(0, pw + 1, Math.min(end, pw + 1 + p[pw]));
  } else if (protocol === PPP_CHAP && p[0] === 2) {
    // Response: Value-Size, Value, Name.
    p.fill(0, 5, Math.min(end, 5 + p[4]));
  }
}
