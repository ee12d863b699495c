/**
 * PPP control-protocol packets: LCP (RFC 1661 §5, RFC 1570), IPCP (RFC 1332, RFC 1877) and CCP (RFC 1962,
 * RFC 3078). These are the bytes after the PPP Protocol field (0xC021, 0x8021, 0x80FD); the link adds and
 * strips the PPP header (src/wire/ppp-frame.ts).
 *
 * Three layers, each pure:
 *  - the packet:  Code, Identifier, Length, Data (RFC 1661 §5). `parseCpPacket` checks the Length once and
 *    returns a view of Data (no copy); octets after Length are padding and ignored (§5 "Length").
 *  - the option list of Configure-* packets: Type, Length, Data (RFC 1661 §6). `parseCpOptions` returns raw
 *    options (views); a Length below 2 or past the end of the list is a typed error.
 *  - typed records per protocol: `parseLcpOption`, `parseIpcpOption`, `parseCcpOption` and whole packets
 *    `parseLcpPacket`, `parseIpcpPacket`, `parseCcpPacket`, each with the matching `emit*`.
 *
 * Parsers never throw and never read outside the buffer. Emitters allocate their output (this is the control
 * path, a handful of packets per session); they throw a RangeError only for a record that cannot be encoded
 * at all (an option over 255 octets, a packet over 65535), which is a programming error, not input.
 *
 * IPv4 addresses are dotted-quad strings ("192.168.1.1") everywhere in this project's PPP layer; "0.0.0.0" is
 * the RFC 1332 §3.3 / RFC 1877 "please tell me" value.
 */
import { type Result, ok, err } from "./result.js";
import { u16, u32, put16, put32, toHex, utf8, fromUtf8, concatBytes } from "./bytes.js";
import { dottedQuadValue } from "./ipv4.js";
import {
  type AuthMethod,
  PPP_PAP,
  PPP_CHAP,
  CHAP_MD5,
  CHAP_MSCHAP_V1,
  CHAP_MSCHAP_V2,
  protocolName,
} from "./ppp-protocols.js";

// ---------------------------------------------------------------------------------------------------------
// Codes (RFC 1661 §5, RFC 1570 §1, RFC 1962 §3)

export const CP_CONFIGURE_REQUEST = 1;
export const CP_CONFIGURE_ACK = 2;
export const CP_CONFIGURE_NAK = 3;
export const CP_CONFIGURE_REJECT = 4;
export const CP_TERMINATE_REQUEST = 5;
export const CP_TERMINATE_ACK = 6;
export const CP_CODE_REJECT = 7;
/** LCP only (RFC 1661 §5.7). */
export const LCP_PROTOCOL_REJECT = 8;
export const LCP_ECHO_REQUEST = 9;
export const LCP_ECHO_REPLY = 10;
export const LCP_DISCARD_REQUEST = 11;
/** RFC 1570 §1.1 / §1.2. */
export const LCP_IDENTIFICATION = 12;
export const LCP_TIME_REMAINING = 13;
/** CCP only (RFC 1962 §3.1). */
export const CCP_RESET_REQUEST = 14;
export const CCP_RESET_ACK = 15;

/** The packet header: Code, Identifier, Length (RFC 1661 §5). */
export const CP_HEADER_LENGTH = 4;

const CODE_NAMES: Record<number, string> = {
  1: "Configure-Request",
  2: "Configure-Ack",
  3: "Configure-Nak",
  4: "Configure-Reject",
  5: "Terminate-Request",
  6: "Terminate-Ack",
  7: "Code-Reject",
  8: "Protocol-Reject",
  9: "Echo-Request",
  10: "Echo-Reply",
  11: "Discard-Request",
  12: "Identification",
  13: "Time-Remaining",
  14: "Reset-Request",
  15: "Reset-Ack",
};

/** "Configure-Request", "Echo-Reply", ... or "code 42" (names are LCP's; 14/15 are CCP's). */
export function cpCodeName(code: number): string {
  return CODE_NAMES[code] ?? `code ${code}`;
}

// ---------------------------------------------------------------------------------------------------------
// The packet

export interface CpPacket {
  readonly code: number;
  readonly id: number;
  /** Data field: a view into the parsed buffer, exactly Length - 4 octets (padding excluded). */
  readonly data: Uint8Array;
}

/** Decode Code/Identifier/Length; Data is a view. Octets past Length are padding (RFC 1661 §5) and ignored. */
export function parseCpPacket(buf: Uint8Array): Result<CpPacket> {
  if (buf.length < CP_HEADER_LENGTH) {
    return err("short", `control packet: ${buf.length} octets, need at least 4 (Code, Identifier, Length)`);
  }
  const length = u16(buf, 2);
  if (length < CP_HEADER_LENGTH) {
    return err("bad-length", `control packet: Length field ${length} is below the 4-octet header (code ${buf[0]})`);
  }
  if (length > buf.length) {
    return err("bad-length", `control packet: Length field ${length} exceeds the ${buf.length} octets received (code ${buf[0]})`);
  }
  return ok({ code: buf[0], id: buf[1], data: buf.subarray(CP_HEADER_LENGTH, length) });
}

/** Encode a packet; `data` is copied after the 4-octet header. */
export function emitCpPacket(code: number, id: number, data: Uint8Array = EMPTY): Uint8Array {
  const length = CP_HEADER_LENGTH + data.length;
  if (length > 0xffff) throw new RangeError(`control packet: ${length} octets do not fit the 16-bit Length field`);
  const out = new Uint8Array(length);
  out[0] = code & 0xff;
  out[1] = id & 0xff;
  put16(out, 2, length);
  out.set(data, CP_HEADER_LENGTH);
  return out;
}

const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------------------------------------------------
// Option lists (RFC 1661 §6)

export interface CpOption {
  readonly type: number;
  /** The option's Data field (Length - 2 octets); a view when parsed. */
  readonly data: Uint8Array;
}

/** Split a Configure-* Data field into options. A Length under 2 or running past the end is an error (§6). */
export function parseCpOptions(data: Uint8Array): Result<CpOption[]> {
  const options: CpOption[] = [];
  let off = 0;
  while (off < data.length) {
    if (off + 2 > data.length) {
      return err("short-option", `option list: 1 octet left at offset ${off} (type ${data[off]}), an option needs Type and Length`);
    }
    const type = data[off];
    const len = data[off + 1];
    if (len < 2) {
      return err("bad-option-length", `option list: option type ${type} at offset ${off} has Length ${len}, minimum is 2`);
    }
    if (off + len > data.length) {
      return err(
        "bad-option-length",
        `option list: option type ${type} at offset ${off} has Length ${len} but only ${data.length - off} octets remain`,
      );
    }
    options.push({ type, data: data.subarray(off + 2, off + len) });
    off += len;
  }
  return ok(options);
}

export function emitCpOptions(options: readonly CpOption[]): Uint8Array {
  let n = 0;
  for (const o of options) n += 2 + o.data.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const o of options) {
    const len = 2 + o.data.length;
    if (len > 0xff) throw new RangeError(`option type ${o.type}: ${len} octets do not fit the 8-bit Length field`);
    out[off] = o.type;
    out[off + 1] = len;
    out.set(o.data, off + 2);
    off += len;
  }
  return out;
}

/** Same Type and byte-identical Data (RFC 1661 §5.2/§5.4 compare options exactly). */
export function cpOptionsEqual(a: CpOption, b: CpOption): boolean {
  if (a.type !== b.type || a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/** "type 13 len 3 data 06", for log lines and error messages. */
export function describeCpOption(o: CpOption): string {
  return `type ${o.type} len ${o.data.length + 2}${o.data.length ? " data " + toHex(o.data) : ""}`;
}

// ---------------------------------------------------------------------------------------------------------
// IPv4 addresses as dotted strings

/** The four octets at b[off..off+4) as "a.b.c.d". The caller checked the bounds. */
export function ipv4FromOctets(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/**
 * Parse "a.b.c.d" into its 4 octets: four decimal parts 0..255, no leading zeros (which some parsers read as
 * octal), no spaces. (src/wire/ipv4.ts has the 32-bit-number form used on the data path.)
 */
export function ipv4ToOctets(s: string): Result<Uint8Array> {
  // One pass (dottedQuadValue: IPCP reads its addresses several times per setup); a refusal is diagnosed by the
  // grammar as written in ipv4Diagnosis.
  const v = dottedQuadValue(s);
  if (v < 0) return ipv4Diagnosis(s);
  const out = new Uint8Array(4);
  out[0] = v >>> 24;
  out[1] = (v >>> 16) & 0xff;
  out[2] = (v >>> 8) & 0xff;
  out[3] = v & 0xff;
  return ok(out);
}

/** Why `s` is not a dotted quad: the grammar as written above, the first part at fault. */
function ipv4Diagnosis(s: string): Result<Uint8Array> {
  const parts = s.split(".");
  if (parts.length !== 4) return err("bad-address", `IPv4 address "${s}": expected 4 dotted decimal parts, saw ${parts.length}`);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) {
      return err("bad-address", `IPv4 address "${s}": part ${i + 1} "${p}" is not a number 0..255`);
    }
  }
  return err("bad-address", `IPv4 address "${s}": not a dotted quad`);
}

function ipv4Octets(s: string): Uint8Array {
  const r = ipv4ToOctets(s);
  if (!r.ok) throw new RangeError(r.error.message);
  return r.value;
}

export const IPV4_UNSPECIFIED = "0.0.0.0";

// ---------------------------------------------------------------------------------------------------------
// LCP options (RFC 1661 §6, RFC 1570 §2, RFC 1990 §5.1, RFC 2125)

export const LCP_OPT_MRU = 1;
export const LCP_OPT_ACCM = 2;
export const LCP_OPT_AUTH_PROTOCOL = 3;
export const LCP_OPT_QUALITY_PROTOCOL = 4;
export const LCP_OPT_MAGIC_NUMBER = 5;
export const LCP_OPT_PFC = 7;
export const LCP_OPT_ACFC = 8;
export const LCP_OPT_FCS_ALTERNATIVES = 9;
export const LCP_OPT_SELF_DESCRIBING_PADDING = 10;
export const LCP_OPT_CALLBACK = 13;
export const LCP_OPT_COMPOUND_FRAMES = 15;
export const LCP_OPT_MRRU = 17;
export const LCP_OPT_SHORT_SEQUENCE = 18;
export const LCP_OPT_ENDPOINT_DISCRIMINATOR = 19;
export const LCP_OPT_LINK_DISCRIMINATOR = 23;

const LCP_OPTION_NAMES: Record<number, string> = {
  1: "MRU",
  2: "ACCM",
  3: "Authentication-Protocol",
  4: "Quality-Protocol",
  5: "Magic-Number",
  7: "Protocol-Field-Compression",
  8: "Address-and-Control-Field-Compression",
  9: "FCS-Alternatives",
  10: "Self-Describing-Padding",
  13: "Callback",
  15: "Compound-Frames",
  17: "Multilink-MRRU",
  18: "Multilink-Short-Sequence",
  19: "Endpoint-Discriminator",
  23: "Link-Discriminator",
};

export function lcpOptionName(type: number): string {
  return LCP_OPTION_NAMES[type] ?? `option ${type}`;
}

export type LcpOption =
  | { readonly kind: "mru"; readonly mru: number }
  | { readonly kind: "accm"; readonly accm: number }
  /** protocol 0xC023 (PAP, no data) or 0xC223 (CHAP, data = the algorithm octet), or anything else. */
  | { readonly kind: "auth-protocol"; readonly protocol: number; readonly data: Uint8Array }
  | { readonly kind: "quality-protocol"; readonly protocol: number; readonly data: Uint8Array }
  | { readonly kind: "magic-number"; readonly magic: number }
  | { readonly kind: "pfc" }
  | { readonly kind: "acfc" }
  /** RFC 1570 §2.3: Operation octet, then a Message whose meaning depends on it. */
  | { readonly kind: "callback"; readonly operation: number; readonly message: Uint8Array }
  | { readonly kind: "mrru"; readonly mrru: number }
  | { readonly kind: "short-sequence" }
  /** RFC 1990 §5.1.3: Class octet, then an Address whose length depends on the class. */
  | { readonly kind: "endpoint-discriminator"; readonly class: number; readonly address: Uint8Array }
  | { readonly kind: "link-discriminator"; readonly discriminator: number }
  | { readonly kind: "unknown"; readonly type: number; readonly data: Uint8Array };

function optionLengthError(name: string, type: number, got: number, want: string): Result<never> {
  return err("bad-option-length", `${name} (type ${type}): Length ${got + 2}, expected ${want}`);
}

/** Decode one LCP option. A known option with a wrong Length is an error; unknown types are kept raw. */
export function parseLcpOption(o: CpOption): Result<LcpOption> {
  const d = o.data;
  const name = lcpOptionName(o.type);
  switch (o.type) {
    case LCP_OPT_MRU:
      if (d.length !== 2) return optionLengthError(name, o.type, d.length, "4");
      return ok({ kind: "mru", mru: u16(d, 0) });
    case LCP_OPT_ACCM:
      if (d.length !== 4) return optionLengthError(name, o.type, d.length, "6");
      return ok({ kind: "accm", accm: u32(d, 0) });
    case LCP_OPT_AUTH_PROTOCOL:
      if (d.length < 2) return optionLengthError(name, o.type, d.length, ">= 4");
      return ok({ kind: "auth-protocol", protocol: u16(d, 0), data: d.subarray(2) });
    case LCP_OPT_QUALITY_PROTOCOL:
      if (d.length < 2) return optionLengthError(name, o.type, d.length, ">= 4");
      return ok({ kind: "quality-protocol", protocol: u16(d, 0), data: d.subarray(2) });
    case LCP_OPT_MAGIC_NUMBER:
      if (d.length !== 4) return optionLengthError(name, o.type, d.length, "6");
      return ok({ kind: "magic-number", magic: u32(d, 0) });
    case LCP_OPT_PFC:
      if (d.length !== 0) return optionLengthError(name, o.type, d.length, "2");
      return ok({ kind: "pfc" });
    case LCP_OPT_ACFC:
      if (d.length !== 0) return optionLengthError(name, o.type, d.length, "2");
      return ok({ kind: "acfc" });
    case LCP_OPT_CALLBACK:
      if (d.length < 1) return optionLengthError(name, o.type, d.length, ">= 3");
      return ok({ kind: "callback", operation: d[0], message: d.subarray(1) });
    case LCP_OPT_MRRU:
      if (d.length !== 2) return optionLengthError(name, o.type, d.length, "4");
      return ok({ kind: "mrru", mrru: u16(d, 0) });
    case LCP_OPT_SHORT_SEQUENCE:
      if (d.length !== 0) return optionLengthError(name, o.type, d.length, "2");
      return ok({ kind: "short-sequence" });
    case LCP_OPT_ENDPOINT_DISCRIMINATOR:
      if (d.length < 1) return optionLengthError(name, o.type, d.length, ">= 3");
      return ok({ kind: "endpoint-discriminator", class: d[0], address: d.subarray(1) });
    case LCP_OPT_LINK_DISCRIMINATOR:
      if (d.length !== 2) return optionLengthError(name, o.type, d.length, "4");
      return ok({ kind: "link-discriminator", discriminator: u16(d, 0) });
    default:
      return ok({ kind: "unknown", type: o.type, data: d });
  }
}

function be16(v: number): Uint8Array {
  const b = new Uint8Array(2);
  put16(b, 0, v);
  return b;
}

function be32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  put32(b, 0, v);
  return b;
}

export function emitLcpOption(o: LcpOption): CpOption {
  switch (o.kind) {
    case "mru":
      return { type: LCP_OPT_MRU, data: be16(o.mru) };
    case "accm":
      return { type: LCP_OPT_ACCM, data: be32(o.accm) };
    case "auth-protocol":
      return { type: LCP_OPT_AUTH_PROTOCOL, data: concatBytes(be16(o.protocol), o.data) };
    case "quality-protocol":
      return { type: LCP_OPT_QUALITY_PROTOCOL, data: concatBytes(be16(o.protocol), o.data) };
    case "magic-number":
      return { type: LCP_OPT_MAGIC_NUMBER, data: be32(o.magic) };
    case "pfc":
      return { type: LCP_OPT_PFC, data: EMPTY };
    case "acfc":
      return { type: LCP_OPT_ACFC, data: EMPTY };
    case "callback":
      return { type: LCP_OPT_CALLBACK, data: concatBytes(Uint8Array.of(o.operation), o.message) };
    case "mrru":
      return { type: LCP_OPT_MRRU, data: be16(o.mrru) };
    case "short-sequence":
      return { type: LCP_OPT_SHORT_SEQUENCE, data: EMPTY };
    case "endpoint-discriminator":
      return { type: LCP_OPT_ENDPOINT_DISCRIMINATOR, data: concatBytes(Uint8Array.of(o.class), o.address) };
    case "link-discriminator":
      return { type: LCP_OPT_LINK_DISCRIMINATOR, data: be16(o.discriminator) };
    case "unknown":
      return { type: o.type, data: o.data };
  }
}

/**
 * The Authentication-Protocol option value for a method (RFC 1661 §6.2, RFC 1994 §3 — CHAP carries its
 * algorithm octet: 5 MD5, 0x80 MS-CHAP (RFC 2433), 0x81 MS-CHAPv2 (RFC 2759)).
 */
export function authProtocolOption(method: AuthMethod): LcpOption {
  switch (method) {
    case "pap":
      return { kind: "auth-protocol", protocol: PPP_PAP, data: EMPTY };
    case "chap-md5":
      return { kind: "auth-protocol", protocol: PPP_CHAP, data: Uint8Array.of(CHAP_MD5) };
    case "mschap-v1":
      return { kind: "auth-protocol", protocol: PPP_CHAP, data: Uint8Array.of(CHAP_MSCHAP_V1) };
    case "mschap-v2":
      return { kind: "auth-protocol", protocol: PPP_CHAP, data: Uint8Array.of(CHAP_MSCHAP_V2) };
  }
}

/** The method an Authentication-Protocol value names, or undefined for anything we do not implement (EAP...). */
export function authMethodOf(protocol: number, data: Uint8Array): AuthMethod | undefined {
  if (protocol === PPP_PAP) return data.length === 0 ? "pap" : undefined;
  if (protocol === PPP_CHAP && data.length === 1) {
    switch (data[0]) {
      case CHAP_MD5:
        return "chap-md5";
      case CHAP_MSCHAP_V1:
        return "mschap-v1";
      case CHAP_MSCHAP_V2:
        return "mschap-v2";
    }
  }
  return undefined;
}

/** "CHAP/0x81", "PAP", "0xc227" — for reasons and logs when the method is not one we know. */
export function describeAuthProtocol(protocol: number, data: Uint8Array): string {
  const m = authMethodOf(protocol, data);
  if (m) return m;
  return protocolName(protocol) + (data.length ? "/" + toHex(data) : "");
}

// ---------------------------------------------------------------------------------------------------------
// IPCP options (RFC 1332 §3, RFC 1877 §1)

export const IPCP_OPT_IP_ADDRESSES = 1;
export const IPCP_OPT_IP_COMPRESSION = 2;
export const IPCP_OPT_IP_ADDRESS = 3;
export const IPCP_OPT_PRIMARY_DNS = 129;
export const IPCP_OPT_PRIMARY_NBNS = 130;
export const IPCP_OPT_SECONDARY_DNS = 131;
export const IPCP_OPT_SECONDARY_NBNS = 132;
/** RFC 1332 §4.1: Van Jacobson Compressed TCP/IP, the only IP-Compression-Protocol value in use. */
export const IPCP_VJ_COMPRESSED_TCP = 0x002d;

const IPCP_OPTION_NAMES: Record<number, string> = {
  1: "IP-Addresses",
  2: "IP-Compression-Protocol",
  3: "IP-Address",
  129: "Primary-DNS",
  130: "Primary-NBNS",
  131: "Secondary-DNS",
  132: "Secondary-NBNS",
};

export function ipcpOptionName(type: number): string {
  return IPCP_OPTION_NAMES[type] ?? `option ${type}`;
}

/** The four RFC 1877 name-server options share one shape. */
export type IpcpServerKind = "primary-dns" | "primary-nbns" | "secondary-dns" | "secondary-nbns";

const SERVER_KIND_BY_TYPE: Record<number, IpcpServerKind> = {
  129: "primary-dns",
  130: "primary-nbns",
  131: "secondary-dns",
  132: "secondary-nbns",
};
const TYPE_BY_SERVER_KIND: Record<IpcpServerKind, number> = {
  "primary-dns": 129,
  "primary-nbns": 130,
  "secondary-dns": 131,
  "secondary-nbns": 132,
};

export type IpcpOption =
  /** RFC 1332 §3.1, deprecated: the sender's and the receiver's addresses. */
  | { readonly kind: "ip-addresses"; readonly source: string; readonly destination: string }
  /** RFC 1332 §3.2 / §4.1: protocol 0x002d (VJ) carries Max-Slot-Id and Comp-Slot-Id in data. */
  | { readonly kind: "ip-compression"; readonly protocol: number; readonly data: Uint8Array }
  | { readonly kind: "ip-address"; readonly address: string }
  | { readonly kind: IpcpServerKind; readonly address: string }
  | { readonly kind: "unknown"; readonly type: number; readonly data: Uint8Array };

export function parseIpcpOption(o: CpOption): Result<IpcpOption> {
  const d = o.data;
  const name = ipcpOptionName(o.type);
  switch (o.type) {
    case IPCP_OPT_IP_ADDRESSES:
      if (d.length !== 8) return optionLengthError(name, o.type, d.length, "10");
      return ok({ kind: "ip-addresses", source: ipv4FromOctets(d, 0), destination: ipv4FromOctets(d, 4) });
    case IPCP_OPT_IP_COMPRESSION:
      if (d.length < 2) return optionLengthError(name, o.type, d.length, ">= 4");
      return ok({ kind: "ip-compression", protocol: u16(d, 0), data: d.subarray(2) });
    case IPCP_OPT_IP_ADDRESS:
      if (d.length !== 4) return optionLengthError(name, o.type, d.length, "6");
      return ok({ kind: "ip-address", address: ipv4FromOctets(d, 0) });
    case IPCP_OPT_PRIMARY_DNS:
    case IPCP_OPT_PRIMARY_NBNS:
    case IPCP_OPT_SECONDARY_DNS:
    case IPCP_OPT_SECONDARY_NBNS:
      if (d.length !== 4) return optionLengthError(name, o.type, d.length, "6");
      return ok({ kind: SERVER_KIND_BY_TYPE[o.type], address: ipv4FromOctets(d, 0) });
    default:
      return ok({ kind: "unknown", type: o.type, data: d });
  }
}

/** Encode an IPCP option; throws RangeError for an address string that is not dotted-quad. */
export function emitIpcpOption(o: IpcpOption): CpOption {
  switch (o.kind) {
    case "ip-addresses":
      return { type: IPCP_OPT_IP_ADDRESSES, data: concatBytes(ipv4Octets(o.source), ipv4Octets(o.destination)) };
    case "ip-compression":
      return { type: IPCP_OPT_IP_COMPRESSION, data: concatBytes(be16(o.protocol), o.data) };
    case "ip-address":
      return { type: IPCP_OPT_IP_ADDRESS, data: ipv4Octets(o.address) };
    case "primary-dns":
    case "primary-nbns":
    case "secondary-dns":
    case "secondary-nbns":
      return { type: TYPE_BY_SERVER_KIND[o.kind], data: ipv4Octets(o.address) };
    case "unknown":
      return { type: o.type, data: o.data };
  }
}

// ---------------------------------------------------------------------------------------------------------
// CCP options (RFC 1962 §4, RFC 3078 §2)

export const CCP_OPT_OUI = 0;
export const CCP_OPT_PREDICTOR1 = 1;
export const CCP_OPT_PREDICTOR2 = 2;
export const CCP_OPT_PUDDLE_JUMPER = 3;
export const CCP_OPT_HP_PPC = 16;
export const CCP_OPT_STAC_LZS = 17;
/** Microsoft PPC: MPPC and MPPE share this option and its Supported Bits (RFC 3078 §2). */
export const CCP_OPT_MPPE = 18;
export const CCP_OPT_GANDALF_FZA = 19;
export const CCP_OPT_V42BIS = 20;
export const CCP_OPT_BSD_COMPRESS = 21;
export const CCP_OPT_LZS_DCP = 23;
export const CCP_OPT_DEFLATE_DRAFT = 24;
export const CCP_OPT_DEFLATE = 26;

/** RFC 3078 §2 Supported Bits. */
export const MPPE_BIT_STATELESS = 0x01000000; // H
export const MPPE_BIT_56 = 0x00000080; // M
export const MPPE_BIT_128 = 0x00000040; // S
export const MPPE_BIT_40 = 0x00000020; // L
export const MPPE_BIT_OBSOLETE_D = 0x00000010; // D: "SHOULD NOT be accepted"
export const MPPC_BIT = 0x00000001; // C: MPPC compression (RFC 2118)

const CCP_OPTION_NAMES: Record<number, string> = {
  0: "OUI",
  1: "Predictor-1",
  2: "Predictor-2",
  3: "Puddle-Jumper",
  16: "HP-PPC",
  17: "Stac-LZS",
  18: "MPPE/MPPC",
  19: "Gandalf-FZA",
  20: "V.42bis",
  21: "BSD-Compress",
  23: "LZS-DCP",
  24: "Deflate (draft)",
  26: "Deflate",
};

export function ccpOptionName(type: number): string {
  return CCP_OPTION_NAMES[type] ?? `option ${type}`;
}

export type CcpOption =
  | { readonly kind: "mppe"; readonly bits: number }
  | { readonly kind: "other"; readonly type: number; readonly data: Uint8Array };

export function parseCcpOption(o: CpOption): Result<CcpOption> {
  if (o.type === CCP_OPT_MPPE) {
    if (o.data.length !== 4) return optionLengthError("MPPE/MPPC", o.type, o.data.length, "6");
    return ok({ kind: "mppe", bits: u32(o.data, 0) });
  }
  return ok({ kind: "other", type: o.type, data: o.data });
}

export function emitCcpOption(o: CcpOption): CpOption {
  if (o.kind === "mppe") return { type: CCP_OPT_MPPE, data: be32(o.bits) };
  return { type: o.type, data: o.data };
}

/** "H+S+L", "C", "none" — RFC 3078 §2 letters, for logs and reasons. */
export function describeMppeBits(bits: number): string {
  const names: string[] = [];
  if (bits & MPPE_BIT_STATELESS) names.push("H");
  if (bits & MPPE_BIT_56) names.push("M");
  if (bits & MPPE_BIT_128) names.push("S");
  if (bits & MPPE_BIT_40) names.push("L");
  if (bits & MPPE_BIT_OBSOLETE_D) names.push("D");
  if (bits & MPPC_BIT) names.push("C");
  const other = bits & ~(MPPE_BIT_STATELESS | MPPE_BIT_56 | MPPE_BIT_128 | MPPE_BIT_40 | MPPE_BIT_OBSOLETE_D | MPPC_BIT);
  if (other) names.push("0x" + (other >>> 0).toString(16).padStart(8, "0"));
  return names.length ? names.join("+") : "none";
}

// ---------------------------------------------------------------------------------------------------------
// Bodies of the non-Configure codes

/** Echo-Request, Echo-Reply, Discard-Request (RFC 1661 §5.8, §5.9): Magic-Number then uninterpreted data. */
export interface MagicBody {
  readonly magic: number;
  readonly data: Uint8Array;
}

export function parseMagicBody(data: Uint8Array): Result<MagicBody> {
  if (data.length < 4) return err("short", `magic-number body: ${data.length} data octets, need at least 4 (Magic-Number)`);
  return ok({ magic: u32(data, 0), data: data.subarray(4) });
}

/**
 * The Length of the well-formed LCP Echo-Request at buf[off .. off + len) — Code 9, a Length that holds the
 * Magic-Number (≥ 8) and fits in the frame (RFC 1661 §5.8) — or -1 for anything else. Read in place: the
 * keepalive path answers without building a CpPacket (see writeEchoReplyFrom).
 */
export function peekLcpEchoRequest(buf: Uint8Array, off: number, len: number): number {
  if (len < 8 || buf[off] !== LCP_ECHO_REQUEST) return -1;
  const length = u16(buf, off + 2);
  return length >= 8 && length <= len ? length : -1;
}

/**
 * Writes the Echo-Reply to the Echo-Request of `length` octets at req[reqOff..] into out[outOff..]: the same
 * Identifier and Data, Code 10 and our Magic-Number (RFC 1661 §5.8), as emitCpPacket(emitMagicBody(...)) would.
 */
export function writeEchoReplyFrom(out: Uint8Array, outOff: number, req: Uint8Array, reqOff: number, length: number, magic: number): void {
  out[outOff] = LCP_ECHO_REPLY;
  out[outOff + 1] = req[reqOff + 1];
  put16(out, outOff + 2, length);
  put32(out, outOff + 4, magic);
  for (let i = 8; i < length; i++) out[outOff + i] = req[reqOff + i];
}

export function emitMagicBody(magic: number, data: Uint8Array = EMPTY): Uint8Array {
  return concatBytes(be32(magic), data);
}

/** Protocol-Reject (RFC 1661 §5.7): the rejected PPP protocol number and a copy of the rejected information. */
export interface ProtocolRejectBody {
  readonly protocol: number;
  readonly info: Uint8Array;
}

export function parseProtocolReject(data: Uint8Array): Result<ProtocolRejectBody> {
  if (data.length < 2) return err("short", `Protocol-Reject: ${data.length} data octets, need at least 2 (Rejected-Protocol)`);
  return ok({ protocol: u16(data, 0), info: data.subarray(2) });
}

export function emitProtocolReject(protocol: number, info: Uint8Array = EMPTY): Uint8Array {
  return concatBytes(be16(protocol), info);
}

/** Identification (RFC 1570 §1.1): Magic-Number and a human-readable Message. */
export interface IdentificationBody {
  readonly magic: number;
  readonly message: string;
}

export function parseIdentification(data: Uint8Array): Result<IdentificationBody> {
  if (data.length < 4) return err("short", `Identification: ${data.length} data octets, need at least 4 (Length >= 8)`);
  return ok({ magic: u32(data, 0), message: fromUtf8(data.subarray(4)) });
}

export function emitIdentification(magic: number, message: string): Uint8Array {
  return concatBytes(be32(magic), utf8(message));
}

/** Time-Remaining (RFC 1570 §1.2): Magic-Number, Seconds-Remaining (0xffffffff = forever) and a Message. */
export interface TimeRemainingBody {
  readonly magic: number;
  readonly seconds: number;
  readonly message: string;
}

export function parseTimeRemaining(data: Uint8Array): Result<TimeRemainingBody> {
  if (data.length < 8) return err("short", `Time-Remaining: ${data.length} data octets, need at least 8 (Length >= 12)`);
  return ok({ magic: u32(data, 0), seconds: u32(data, 4), message: fromUtf8(data.subarray(8)) });
}

export function emitTimeRemaining(magic: number, seconds: number, message: string): Uint8Array {
  return concatBytes(be32(magic), be32(seconds), utf8(message));
}

// ---------------------------------------------------------------------------------------------------------
// Whole packets as typed records

type ConfigureKind = "configure-request" | "configure-ack" | "configure-nak" | "configure-reject";
const CONFIGURE_KINDS: readonly ConfigureKind[] = ["configure-request", "configure-ack", "configure-nak", "configure-reject"];

/** The packets every control protocol shares (RFC 1661 codes 1..7), with options of type O. */
export type CommonCpPacket<O> =
  | { readonly kind: ConfigureKind; readonly id: number; readonly options: readonly O[] }
  | { readonly kind: "terminate-request" | "terminate-ack"; readonly id: number; readonly data: Uint8Array }
  /** rejected: the rejected packet from its Code field on (RFC 1661 §5.6), possibly truncated by the sender. */
  | { readonly kind: "code-reject"; readonly id: number; readonly rejected: Uint8Array }
  | { readonly kind: "unknown"; readonly code: number; readonly id: number; readonly data: Uint8Array };

export type LcpPacket =
  | CommonCpPacket<LcpOption>
  | { readonly kind: "protocol-reject"; readonly id: number; readonly protocol: number; readonly info: Uint8Array }
  | {
      readonly kind: "echo-request" | "echo-reply" | "discard-request";
      readonly id: number;
      readonly magic: number;
      readonly data: Uint8Array;
    }
  | { readonly kind: "identification"; readonly id: number; readonly magic: number; readonly message: string }
  | {
      readonly kind: "time-remaining";
      readonly id: number;
      readonly magic: number;
      readonly seconds: number;
      readonly message: string;
    };

export type IpcpPacket = CommonCpPacket<IpcpOption>;

export type CcpPacket =
  | CommonCpPacket<CcpOption>
  | { readonly kind: "reset-request" | "reset-ack"; readonly id: number; readonly data: Uint8Array };

function parseTypedOptions<O>(
  data: Uint8Array,
  parseOne: (o: CpOption) => Result<O>,
): Result<O[]> {
  const list = parseCpOptions(data);
  if (!list.ok) return list;
  const out: O[] = [];
  for (const raw of list.value) {
    const r = parseOne(raw);
    if (!r.ok) return r;
    out.push(r.value);
  }
  return ok(out);
}

/** Codes 1..7, or undefined for a code the caller must interpret (LCP 8..13, CCP 14/15, unknown). */
function parseCommon<O>(p: CpPacket, parseOne: (o: CpOption) => Result<O>): Result<CommonCpPacket<O>> | undefined {
  switch (p.code) {
    case CP_CONFIGURE_REQUEST:
    case CP_CONFIGURE_ACK:
    case CP_CONFIGURE_NAK:
    case CP_CONFIGURE_REJECT: {
      const opts = parseTypedOptions(p.data, parseOne);
      if (!opts.ok) return opts;
      return ok({ kind: CONFIGURE_KINDS[p.code - 1], id: p.id, options: opts.value });
    }
    case CP_TERMINATE_REQUEST:
      return ok({ kind: "terminate-request", id: p.id, data: p.data });
    case CP_TERMINATE_ACK:
      return ok({ kind: "terminate-ack", id: p.id, data: p.data });
    case CP_CODE_REJECT:
      return ok({ kind: "code-reject", id: p.id, rejected: p.data });
    default:
      return undefined;
  }
}

function emitCommon<O>(p: CommonCpPacket<O>, emitOne: (o: O) => CpOption): Uint8Array {
  switch (p.kind) {
    case "configure-request":
    case "configure-ack":
    case "configure-nak":
    case "configure-reject":
      return emitCpPacket(CONFIGURE_KINDS.indexOf(p.kind) + 1, p.id, emitCpOptions(p.options.map(emitOne)));
    case "terminate-request":
      return emitCpPacket(CP_TERMINATE_REQUEST, p.id, p.data);
    case "terminate-ack":
      return emitCpPacket(CP_TERMINATE_ACK, p.id, p.data);
    case "code-reject":
      return emitCpPacket(CP_CODE_REJECT, p.id, p.rejected);
    case "unknown":
      return emitCpPacket(p.code, p.id, p.data);
  }
}

/** Decode an LCP packet (after the 0xC021 protocol field), including RFC 1570's Identification/Time-Remaining. */
export function parseLcpPacket(buf: Uint8Array): Result<LcpPacket> {
  const pr = parseCpPacket(buf);
  if (!pr.ok) return pr;
  const p = pr.value;
  const common = parseCommon(p, parseLcpOption);
  if (common) return common;
  switch (p.code) {
    case LCP_PROTOCOL_REJECT: {
      const b = parseProtocolReject(p.data);
      if (!b.ok) return b;
      return ok({ kind: "protocol-reject", id: p.id, protocol: b.value.protocol, info: b.value.info });
    }
    case LCP_ECHO_REQUEST:
    case LCP_ECHO_REPLY:
    case LCP_DISCARD_REQUEST: {
      const b = parseMagicBody(p.data);
      if (!b.ok) return err(b.error.code, `${cpCodeName(p.code)}: ${b.error.message}`);
      const kind = p.code === LCP_ECHO_REQUEST ? "echo-request" : p.code === LCP_ECHO_REPLY ? "echo-reply" : "discard-request";
      return ok({ kind, id: p.id, magic: b.value.magic, data: b.value.data });
    }
    case LCP_IDENTIFICATION: {
      const b = parseIdentification(p.data);
      if (!b.ok) return b;
      return ok({ kind: "identification", id: p.id, magic: b.value.magic, message: b.value.message });
    }
    case LCP_TIME_REMAINING: {
      const b = parseTimeRemaining(p.data);
      if (!b.ok) return b;
      return ok({ kind: "time-remaining", id: p.id, ...b.value });
    }
    default:
      return ok({ kind: "unknown", code: p.code, id: p.id, data: p.data });
  }
}

export function emitLcpPacket(p: LcpPacket): Uint8Array {
  switch (p.kind) {
    case "protocol-reject":
      return emitCpPacket(LCP_PROTOCOL_REJECT, p.id, emitProtocolReject(p.protocol, p.info));
    case "echo-request":
      return emitCpPacket(LCP_ECHO_REQUEST, p.id, emitMagicBody(p.magic, p.data));
    case "echo-reply":
      return emitCpPacket(LCP_ECHO_REPLY, p.id, emitMagicBody(p.magic, p.data));
    case "discard-request":
      return emitCpPacket(LCP_DISCARD_REQUEST, p.id, emitMagicBody(p.magic, p.data));
    case "identification":
      return emitCpPacket(LCP_IDENTIFICATION, p.id, emitIdentification(p.magic, p.message));
    case "time-remaining":
      return emitCpPacket(LCP_TIME_REMAINING, p.id, emitTimeRemaining(p.magic, p.seconds, p.message));
    default:
      return emitCommon(p, emitLcpOption);
  }
}

/** Decode an IPCP packet (after 0x8021). IPCP has codes 1..7 only (RFC 1332 §2); others decode as "unknown". */
export function parseIpcpPacket(buf: Uint8Array): Result<IpcpPacket> {
  const pr = parseCpPacket(buf);
  if (!pr.ok) return pr;
  const p = pr.value;
  return parseCommon(p, parseIpcpOption) ?? ok({ kind: "unknown", code: p.code, id: p.id, data: p.data });
}

export function emitIpcpPacket(p: IpcpPacket): Uint8Array {
  return emitCommon(p, emitIpcpOption);
}

/** Decode a CCP packet (after 0x80FD): codes 1..7 plus Reset-Request/Reset-Ack (RFC 1962 §3). */
export function parseCcpPacket(buf: Uint8Array): Result<CcpPacket> {
  const pr = parseCpPacket(buf);
  if (!pr.ok) return pr;
  const p = pr.value;
  const common = parseCommon(p, parseCcpOption);
  if (common) return common;
  if (p.code === CCP_RESET_REQUEST) return ok({ kind: "reset-request", id: p.id, data: p.data });
  if (p.code === CCP_RESET_ACK) return ok({ kind: "reset-ack", id: p.id, data: p.data });
  return ok({ kind: "unknown", code: p.code, id: p.id, data: p.data });
}

export function emitCcpPacket(p: CcpPacket): Uint8Array {
  switch (p.kind) {
    case "reset-request":
      return emitCpPacket(CCP_RESET_REQUEST, p.id, p.data);
    case "reset-ack":
      return emitCpPacket(CCP_RESET_ACK, p.id, p.data);
    default:
      return emitCommon(p, emitCcpOption);
  }
}
