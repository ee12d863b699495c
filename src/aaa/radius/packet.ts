/**
 * RADIUS packets (RFC 2865 §3, RFC 2866 §3, RFC 5176 §3): pure encode/decode, no secrets, no sockets.
 *
 *   Code(1) Identifier(1) Length(2) Authenticator(16) Attributes: Type(1) Length(1) Value(Length-2)...
 *
 * Decoding never throws: garbage yields a WireError naming the field. Length rules (RFC 2865 §3 "Length"):
 * 20..4096; a datagram shorter than Length is discarded; octets beyond Length are padding and ignored. Every
 * attribute must have Length >= 2 and end inside the packet; attributes whose dictionary type has a fixed size
 * (integer, ipaddr, date: 4 octets; Message-Authenticator: 16) are checked too, because RFC 2865 §5 lets a
 * client discard a reply carrying an attribute of invalid length, and a reply we cannot trust is one we drop.
 */
import { type Result, ok, err } from "../../wire/result.js";
import { u16, put16 } from "../../wire/bytes.js";
import { attributeSpec } from "./dictionary.js";

export const RADIUS_HEADER = 20;
export const RADIUS_MAX_PACKET = 4096;
export const RADIUS_AUTHENTICATOR_LENGTH = 16;
/** Largest attribute value: Length is one octet and counts Type and Length too. */
export const RADIUS_MAX_VALUE = 253;

/** Packet codes (RFC 2865 §3, RFC 2866 §3, RFC 5176 §2.3). */
export const RadiusCode = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccountingRequest: 4,
  AccountingResponse: 5,
  AccessChallenge: 11,
  StatusServer: 12,
  StatusClient: 13,
  DisconnectRequest: 40,
  DisconnectAck: 41,
  DisconnectNak: 42,
  CoaRequest: 43,
  CoaAck: 44,
  CoaNak: 45,
} as const;

const CODE_NAMES: Record<number, string> = {
  1: "Access-Request",
  2: "Access-Accept",
  3: "Access-Reject",
  4: "Accounting-Request",
  5: "Accounting-Response",
  11: "Access-Challenge",
  12: "Status-Server",
  13: "Status-Client",
  40: "Disconnect-Request",
  41: "Disconnect-ACK",
  42: "Disconnect-NAK",
  43: "CoA-Request",
  44: "CoA-ACK",
  45: "CoA-NAK",
};

export function radiusCodeName(code: number): string {
  return CODE_NAMES[code] ?? `code ${code}`;
}

export interface RadiusAttribute {
  readonly type: number;
  /** 0..253 octets (a view into the decoded datagram; copy it to keep it past the buffer's life). */
  readonly value: Uint8Array;
}

export interface RadiusPacket {
  readonly code: number;
  readonly identifier: number;
  /** 16 octets: Request Authenticator (requests) or Response Authenticator (replies). */
  readonly authenticator: Uint8Array;
  /** In wire order; the same type may repeat (Class, Framed-Route, Reply-Message, Vendor-Specific...). */
  readonly attributes: readonly RadiusAttribute[];
}

/** Decode one datagram. Never throws. */
export function decodeRadius(buf: Uint8Array): Result<RadiusPacket> {
  if (buf.length < RADIUS_HEADER) {
    return err("short", `RADIUS: datagram of ${buf.length} octets is shorter than the 20-octet header`);
  }
  const code = buf[0];
  const identifier = buf[1];
  const length = u16(buf, 2);
  if (length < RADIUS_HEADER || length > RADIUS_MAX_PACKET) {
    return err("bad-length", `RADIUS ${radiusCodeName(code)}: Length field ${length} outside 20..4096`);
  }
  if (length > buf.length) {
    return err("short", `RADIUS ${radiusCodeName(code)}: Length field ${length} but only ${buf.length} octets received`);
  }
  const attributes: RadiusAttribute[] = [];
  let off = RADIUS_HEADER;
  while (off < length) {
    if (off + 2 > length) {
      return err("bad-attribute", `RADIUS ${radiusCodeName(code)}: attribute header at offset ${off} runs past Length ${length}`);
    }
    const type = buf[off];
    const alen = buf[off + 1];
    if (alen < 2) {
      return err("bad-attribute", `RADIUS ${radiusCodeName(code)}: attribute ${type} at offset ${off} has Length ${alen} (< 2)`);
    }
    if (off + alen > length) {
      return err("bad-attribute", `RADIUS ${radiusCodeName(code)}: attribute ${type} at offset ${off} of Length ${alen} runs past Length ${length}`);
    }
    const spec = attributeSpec(type);
    const vlen = alen - 2;
    if (spec !== undefined && spec.size !== undefined && vlen !== spec.size) {
      return err("bad-attribute", `RADIUS ${radiusCodeName(code)}: ${spec.name} has ${vlen} value octets, must be ${spec.size}`);
    }
    attributes.push({ type, value: buf.subarray(off + 2, off + alen) });
    off += alen;
  }
  return ok({ code, identifier, authenticator: buf.subarray(4, 20), attributes });
}

/**
 * Serialise a packet as given (no authenticator computation: see crypto.ts). Throws RangeError on what only a
 * programming error produces: a value over 253 octets, a packet over 4096, an authenticator not 16 octets.
 */
export function encodeRadius(p: RadiusPacket): Uint8Array {
  if (p.authenticator.length !== RADIUS_AUTHENTICATOR_LENGTH) {
    throw new RangeError(`RADIUS authenticator must be 16 octets, got ${p.authenticator.length}`);
  }
  let length = RADIUS_HEADER;
  for (const a of p.attributes) {
    if (a.value.length > RADIUS_MAX_VALUE) {
      throw new RangeError(`RADIUS attribute ${a.type}: value of ${a.value.length} octets exceeds 253`);
    }
    length += 2 + a.value.length;
  }
  if (length > RADIUS_MAX_PACKET) throw new RangeError(`RADIUS packet of ${length} octets exceeds 4096`);
  const out = new Uint8Array(length);
  out[0] = p.code;
  out[1] = p.identifier & 0xff;
  put16(out, 2, length);
  out.set(p.authenticator, 4);
  let off = RADIUS_HEADER;
  for (const a of p.attributes) {
    out[off] = a.type;
    out[off + 1] = a.value.length + 2;
    out.set(a.value, off + 2);
    off += 2 + a.value.length;
  }
  return out;
}

/** First attribute of `type`, or undefined. */
export function findAttribute(p: RadiusPacket, type: number): Uint8Array | undefined {
  for (const a of p.attributes) if (a.type === type) return a.value;
  return undefined;
}

/** Every attribute of `type`, in order. */
export function findAttributes(p: RadiusPacket, type: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const a of p.attributes) if (a.type === type) out.push(a.value);
  return out;
}

/** Byte offset of the first attribute of `type` in an encoded packet (the Type octet), or -1. Never throws. */
export function attributeOffset(raw: Uint8Array, type: number): number {
  if (raw.length < RADIUS_HEADER) return -1;
  const length = Math.min(u16(raw, 2), raw.length);
  let off = RADIUS_HEADER;
  while (off + 2 <= length) {
    const alen = raw[off + 1];
    if (alen < 2) return -1;
    if (raw[off] === type) return off + alen <= length ? off : -1;
    off += alen;
  }
  return -1;
}
