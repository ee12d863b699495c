/**
 * PPP control packets in the words of pppd's `debug` lines, for the `packets` log category:
 *
 *   [LCP ConfReq id=0x1 <asyncmap 0x0> <magic 0x5f2a1c3e> <pcomp> <accomp>]
 *   [IPCP ConfNak id=0x2 <addr 192.168.50.10>]
 *   [CCP ConfReq id=0x1 <mppe +H -M +S -L -D -C>]
 *   [CHAP Response id=0x1 <49 octets, not shown>, name = "alice"]
 *
 * The caller adds "rcvd " / "sent ". Pure: bytes in, one line out; malformed input is described as far as it
 * parses, then "<malformed: why>" and the rest in hex — never an exception.
 *
 * Secrets: PAP's password is never shown (pppd hides it too unless `show-password`); a CHAP Response's value is
 * shown as its length only — pppd prints it in hex, but an MS-CHAP NT-Response with its challenge is material
 * for an offline dictionary attack on the password, and a log is read by more people than the users file.
 * Challenges, names and Success/Failure texts are public and shown.
 */
import { PPP_LCP, PPP_PAP, PPP_CHAP, PPP_IPCP, PPP_CCP, protocolName, CHAP_MD5, CHAP_MSCHAP_V1, CHAP_MSCHAP_V2 } from "../wire/ppp-protocols.js";
import {
  parseCpPacket,
  parseCpOptions,
  parseLcpOption,
  parseIpcpOption,
  parseCcpOption,
  parseMagicBody,
  parseProtocolReject,
  parseIdentification,
  parseTimeRemaining,
  type CpOption,
  MPPE_BIT_STATELESS,
  MPPE_BIT_56,
  MPPE_BIT_128,
  MPPE_BIT_40,
  MPPE_BIT_OBSOLETE_D,
  MPPC_BIT,
  ccpOptionName,
} from "../wire/ppp-cp.js";
import { parseChap, isChapChallengeOrResponse, CHAP_CHALLENGE } from "../wire/chap.js";
import { parsePap, PAP_AUTH_REQUEST } from "../wire/pap.js";
import { toHex } from "../wire/bytes.js";

/** pppd's short code names (RFC 1661 §5, RFC 1962 §1 for 14/15). */
const CODES: Record<number, string> = {
  1: "ConfReq",
  2: "ConfAck",
  3: "ConfNak",
  4: "ConfRej",
  5: "TermReq",
  6: "TermAck",
  7: "CodeRej",
  8: "ProtRej",
  9: "EchoReq",
  10: "EchoRep",
  11: "DiscReq",
  12: "Ident",
  13: "TimeRem",
  14: "ResetReq",
  15: "ResetAck",
};

/** Hex shown for undecoded data is cut at this many octets (a log line, not a capture). */
const MAX_HEX = 64;

function hx(n: number): string {
  return "0x" + (n >>> 0).toString(16);
}

/** Octets as pppd's print_string would (printable ASCII as is, the rest escaped), quoted. */
function quoted(s: string): string {
  return JSON.stringify(s.length > 256 ? s.slice(0, 256) + "..." : s);
}

function hexBytes(b: Uint8Array): string {
  const n = Math.min(b.length, MAX_HEX);
  return toHex(b.subarray(0, n)).replace(/(..)(?!$)/g, "$1 ") + (b.length > n ? " ..." : "");
}

function bytesText(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** One PPP control packet (the information field after the protocol number) as pppd would log it. */
export function describePppPacket(protocol: number, payload: Uint8Array): string {
  switch (protocol) {
    case PPP_LCP:
    case PPP_IPCP:
    case PPP_CCP:
      return `[${protocolName(protocol)} ${describeCp(protocol, payload)}]`;
    case PPP_PAP:
      return `[PAP ${describePap(payload)}]`;
    case PPP_CHAP:
      return `[CHAP ${describeChap(payload)}]`;
    default:
      return `[${protocolName(protocol)} len=${payload.length}${payload.length ? " " + hexBytes(payload) : ""}]`;
  }
}

function describeCp(protocol: number, payload: Uint8Array): string {
  const p = parseCpPacket(payload);
  if (!p.ok) return `<malformed: ${p.error.message}>${payload.length ? " " + hexBytes(payload) : ""}`;
  const { code, id, data } = p.value;
  const head = `${CODES[code] ?? `code=${hx(code)}`} id=${hx(id)}`;
  switch (code) {
    case 1:
    case 2:
    case 3:
    case 4:
      return head + describeOptions(protocol, data);
    case 5:
    case 6:
      return data.length ? `${head} ${quoted(bytesText(data))}` : head;
    case 8: {
      if (protocol !== PPP_LCP) break;
      const r = parseProtocolReject(data);
      return r.ok ? `${head} proto=${protocolName(r.value.protocol)}` : `${head} <malformed: ${r.error.message}>`;
    }
    case 9:
    case 10:
    case 11: {
      if (protocol !== PPP_LCP) break;
      const r = parseMagicBody(data);
      if (!r.ok) return `${head} <malformed: ${r.error.message}>`;
      return `${head} magic=${hx(r.value.magic)}${r.value.data.length ? " " + hexBytes(r.value.data) : ""}`;
    }
    case 12: {
      if (protocol !== PPP_LCP) break;
      const r = parseIdentification(data);
      return r.ok ? `${head} magic=${hx(r.value.magic)} ${quoted(r.value.message)}` : `${head} <malformed: ${r.error.message}>`;
    }
    case 13: {
      if (protocol !== PPP_LCP) break;
      const r = parseTimeRemaining(data);
      return r.ok ? `${head} magic=${hx(r.value.magic)} seconds=${r.value.seconds} ${quoted(r.value.message)}` : `${head} <malformed: ${r.error.message}>`;
    }
    case 14:
    case 15:
      if (protocol === PPP_CCP) return data.length ? `${head} ${hexBytes(data)}` : head;
      break;
  }
  return data.length ? `${head} ${hexBytes(data)}` : head;
}

function describeOptions(protocol: number, data: Uint8Array): string {
  const opts = parseCpOptions(data);
  if (!opts.ok) return ` <malformed: ${opts.error.message}> ${hexBytes(data)}`;
  let s = "";
  for (const o of opts.value) s += " <" + describeOption(protocol, o) + ">";
  return s;
}

/** The option as pppd names it; a known option of the wrong length, or an unknown one, in hex. */
export function describeOption(protocol: number, o: CpOption): string {
  const raw = () => `${hx(o.type)}${o.data.length ? " " + hexBytes(o.data) : ""}`;
  if (protocol === PPP_LCP) {
    const r = parseLcpOption(o);
    if (!r.ok) return raw();
    const v = r.value;
    switch (v.kind) {
      case "mru":
        return `mru ${v.mru}`;
      case "accm":
        return `asyncmap ${hx(v.accm)}`;
      case "auth-protocol":
        return `auth ${describeAuth(v.protocol, v.data)}`;
      case "quality-protocol":
        return `quality ${v.protocol === 0xc025 ? "lqr" : hx(v.protocol)}${v.data.length ? " " + hexBytes(v.data) : ""}`;
      case "magic-number":
        return `magic ${hx(v.magic)}`;
      case "pfc":
        return "pcomp";
      case "acfc":
        return "accomp";
      case "callback":
        return v.operation === 6 ? "callback CBCP" : `callback ${hx(v.operation)}${v.message.length ? " " + hexBytes(v.message) : ""}`;
      case "mrru":
        return `mrru ${v.mrru}`;
      case "short-sequence":
        return "ssnhf";
      case "endpoint-discriminator":
        return `endpoint class=${v.class}${v.address.length ? " " + hexBytes(v.address) : ""}`;
      case "link-discriminator":
        return `link-discriminator ${v.discriminator}`;
      default:
        return raw();
    }
  }
  if (protocol === PPP_IPCP) {
    const r = parseIpcpOption(o);
    if (!r.ok) return raw();
    const v = r.value;
    switch (v.kind) {
      case "ip-address":
        return `addr ${v.address}`;
      case "ip-addresses":
        return `addrs ${v.source} ${v.destination}`;
      case "ip-compression":
        return v.protocol === 0x002d ? `compress VJ${v.data.length ? " " + hexBytes(v.data) : ""}` : `compress ${hx(v.protocol)}`;
      case "primary-dns":
        return `ms-dns1 ${v.address}`;
      case "secondary-dns":
        return `ms-dns3 ${v.address}`;
      case "primary-nbns":
        return `ms-wins ${v.address}`;
      case "secondary-nbns":
        return `ms-wins ${v.address}`;
      default:
        return raw();
    }
  }
  if (protocol === PPP_CCP) {
    const r = parseCcpOption(o);
    if (!r.ok) return raw();
    if (r.value.kind === "mppe") return `mppe ${mppeBits(r.value.bits)}`;
    if (o.type === 26 || o.type === 24) return o.data.length === 2 ? `deflate${o.type === 24 ? "(old#)" : ""} ${(o.data[0] >> 4) + 8}` : raw();
    if (o.type === 21) return o.data.length === 1 ? `bsd v${o.data[0] >> 5} ${o.data[0] & 0x1f}` : raw();
    return `${ccpOptionName(o.type)}${o.data.length ? " " + hexBytes(o.data) : ""}`;
  }
  return raw();
}

/** RFC 3078 §2 bits as pppd writes them: "+H -M +S -L -D -C", then any other bit in hex. */
export function mppeBits(bits: number): string {
  const flag = (b: number, letter: string) => (bits & b ? "+" : "-") + letter;
  const known = MPPE_BIT_STATELESS | MPPE_BIT_56 | MPPE_BIT_128 | MPPE_BIT_40 | MPPE_BIT_OBSOLETE_D | MPPC_BIT;
  const s = [flag(MPPE_BIT_STATELESS, "H"), flag(MPPE_BIT_56, "M"), flag(MPPE_BIT_128, "S"), flag(MPPE_BIT_40, "L"), flag(MPPE_BIT_OBSOLETE_D, "D"), flag(MPPC_BIT, "C")].join(" ");
  const other = bits & ~known;
  return other ? `${s} ${hx(other)}` : s;
}

function describeAuth(protocol: number, data: Uint8Array): string {
  if (protocol === PPP_PAP && data.length === 0) return "pap";
  if (protocol === PPP_CHAP && data.length === 1) {
    if (data[0] === CHAP_MD5) return "chap MD5";
    if (data[0] === CHAP_MSCHAP_V1) return "chap MS";
    if (data[0] === CHAP_MSCHAP_V2) return "chap MS-v2";
  }
  return `${hx(protocol)}${data.length ? " " + hexBytes(data) : ""}`;
}

function describePap(payload: Uint8Array): string {
  const r = parsePap(payload);
  if (!r.ok) return `<malformed: ${r.error.message}>${payload.length ? " " + hexBytes(payload) : ""}`;
  const p = r.value;
  if (p.code === PAP_AUTH_REQUEST) return `AuthReq id=${hx(p.id)} user=${quoted(p.peerId)} password=<hidden>`;
  return `${p.code === 2 ? "AuthAck" : "AuthNak"} id=${hx(p.id)}${p.message ? " " + quoted(p.message) : ""}`;
}

function describeChap(payload: Uint8Array): string {
  const r = parseChap(payload);
  if (!r.ok) return `<malformed: ${r.error.message}>${payload.length ? " " + hexBytes(payload) : ""}`;
  const p = r.value;
  if (isChapChallengeOrResponse(p)) {
    if (p.code === CHAP_CHALLENGE) return `Challenge id=${hx(p.id)} <${toHex(p.value)}>, name = ${quoted(p.name)}`;
    return `Response id=${hx(p.id)} <${p.value.length} octets, not shown>, name = ${quoted(p.name)}`;
  }
  return `${p.code === 3 ? "Success" : "Failure"} id=${hx(p.id)}${p.message ? " " + quoted(p.message) : ""}`;
}
