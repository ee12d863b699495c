/**
 * PAP packets (RFC 1334 §2.2), the payload of PPP protocol 0xC023.
 *
 *   Code(1) Identifier(1) Length(2) Data...
 *   Authenticate-Request (1): Peer-ID-Length(1) Peer-ID  Passwd-Length(1) Password
 *   Authenticate-Ack (2) / Authenticate-Nak (3): Msg-Length(1) Message
 *
 * Octets beyond Length are data-link padding and are ignored (RFC 1334 §2.2 "Length").
 * Peer-ID, password and message are decoded as UTF-8 (ASCII in practice).
 */
import { type Result, ok, err } from "./result.js";
import { u16, put16, utf8, fromUtf8 } from "./bytes.js";

export const PAP_AUTH_REQUEST = 1;
export const PAP_AUTH_ACK = 2;
export const PAP_AUTH_NAK = 3;

export interface PapRequest {
  readonly code: typeof PAP_AUTH_REQUEST;
  readonly id: number;
  readonly peerId: string;
  readonly password: string;
}

export interface PapReply {
  readonly code: typeof PAP_AUTH_ACK | typeof PAP_AUTH_NAK;
  readonly id: number;
  readonly message: string;
}

export type PapPacket = PapRequest | PapReply;

const HEADER = 4;

export function parsePap(buf: Uint8Array): Result<PapPacket> {
  if (buf.length < HEADER) return err("short", `PAP: packet of ${buf.length} octets is shorter than the 4-octet header`);
  const code = buf[0];
  const id = buf[1];
  const length = u16(buf, 2);
  if (length < HEADER || length > buf.length) {
    return err("bad-length", `PAP: Length field ${length} outside 4..${buf.length} (octets received)`);
  }
  const end = length;
  switch (code) {
    case PAP_AUTH_REQUEST: {
      if (end < HEADER + 1) return err("short", `PAP Authenticate-Request: Length ${length} leaves no room for Peer-ID-Length`);
      const idLen = buf[4];
      const pwLenAt = 5 + idLen;
      if (pwLenAt >= end) {
        return err("bad-length", `PAP Authenticate-Request: Peer-ID-Length ${idLen} runs past Length ${length} (no Passwd-Length octet)`);
      }
      const pwLen = buf[pwLenAt];
      if (pwLenAt + 1 + pwLen > end) {
        return err("bad-length", `PAP Authenticate-Request: Passwd-Length ${pwLen} at offset ${pwLenAt} runs past Length ${length}`);
      }
      return ok({
        code: PAP_AUTH_REQUEST,
        id,
        peerId: fromUtf8(buf.subarray(5, pwLenAt)),
        password: fromUtf8(buf.subarray(pwLenAt + 1, pwLenAt + 1 + pwLen)),
      });
    }
    case PAP_AUTH_ACK:
    case PAP_AUTH_NAK: {
      // Some implementations send Ack/Nak with no Msg-Length octet at all; treat that as an empty message.
      if (end === HEADER) return ok({ code, id, message: "" });
      const msgLen = buf[4];
      if (5 + msgLen > end) {
        return err("bad-length", `PAP ${code === PAP_AUTH_ACK ? "Authenticate-Ack" : "Authenticate-Nak"}: Msg-Length ${msgLen} runs past Length ${length}`);
      }
      return ok({ code, id, message: fromUtf8(buf.subarray(5, 5 + msgLen)) });
    }
    default:
      return err("bad-code", `PAP: unknown Code ${code} (expected 1 Authenticate-Request, 2 Ack or 3 Nak)`);
  }
}

function field(s: string, what: string): Uint8Array {
  const b = utf8(s);
  // One length octet per field (RFC 1334 §2.2.1/2.2.2): refuse rather than silently truncate.
  if (b.length > 255) throw new RangeError(`PAP: ${what} is ${b.length} octets, the length octet allows at most 255`);
  return b;
}

/** Encode a PAP packet. Throws RangeError if a field exceeds 255 octets (a caller bug, not wire input). */
export function emitPap(p: PapPacket): Uint8Array {
  if (p.code === PAP_AUTH_REQUEST) {
    const idB = field(p.peerId, "Peer-ID");
    const pwB = field(p.password, "Password");
    const out = new Uint8Array(HEADER + 1 + idB.length + 1 + pwB.length);
    out[0] = p.code;
    out[1] = p.id & 0xff;
    put16(out, 2, out.length);
    out[4] = idB.length;
    out.set(idB, 5);
    out[5 + idB.length] = pwB.length;
    out.set(pwB, 6 + idB.length);
    return out;
  }
  const msg = field(p.message, "Message");
  const out = new Uint8Array(HEADER + 1 + msg.length);
  out[0] = p.code;
  out[1] = p.id & 0xff;
  put16(out, 2, out.length);
  out[4] = msg.length;
  out.set(msg, 5);
  return out;
}
