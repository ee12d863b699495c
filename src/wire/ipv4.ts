/**
 * IPv4 addresses cross the native boundary as unsigned 32-bit numbers in host order of the
 * dotted quad (10.0.0.1 = 0x0a000001), so the hot path passes numbers, never strings.
 */
import { err, ok, type Result } from "./result.js";

export type Ipv4Address = number;

export function parseIpv4(text: string): Result<Ipv4Address> {
  const v = dottedQuadValue(text);
  return v >= 0 ? ok(v) : ipv4Diagnosis(text);
}

/**
 * "a.b.c.d", each part decimal 0..255 without a leading zero, sign or space, as a number; -1 when it is not one.
 * One pass over the characters: the server and IPCP read addresses several times per setup, and a split plus a
 * RegExp per part cost ~2 % of a setup's CPU (issue 11). The grammar is the one ipv4Diagnosis spells out.
 */
export function dottedQuadValue(s: string): number {
  let v = 0;
  let parts = 0;
  let part = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e; // the end closes the last part, as a dot would
    if (c === 0x2e) {
      if (digits === 0 || part > 255 || parts === 4) return -1;
      v = v * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3 && !(digits > 0 && part === 0)) {
      part = part * 10 + (c - 0x30);
      digits++;
    } else return -1;
  }
  return parts === 4 ? v : -1;
}

/** Why `text` is not a dotted quad (the slow path: only for what dottedQuadValue refused). */
function ipv4Diagnosis(text: string): Result<Ipv4Address> {
  const parts = text.split(".");
  if (parts.length !== 4) return err("bad-ipv4", `IPv4 address "${text}" must have 4 dot-separated parts, has ${parts.length}`);
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) {
      return err("bad-ipv4", `IPv4 address "${text}" has part "${p}", expected a decimal 0..255`);
    }
  }
  return err("bad-ipv4", `IPv4 address "${text}" is not a dotted quad`);
}

export function formatIpv4(a: Ipv4Address): string {
  return `${(a >>> 24) & 0xff}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** For options: accepts "10.0.0.1" or a number; throws a TypeError naming the option. */
export function ipv4Option(name: string, value: string | number): Ipv4Address {
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new TypeError(`${name} must be an IPv4 address, got number ${value}`);
    }
    return value;
  }
  const r = parseIpv4(value);
  if (!r.ok) throw new TypeError(`${name}: ${r.error.message}`);
  return r.value;
}

/**
 * Decrypted MPPE plaintext we accept: the protocol field of IPv4 (0x0021, or 0x21 under PFC) followed by an IPv4
 * header whose Total Length matches. MPPE has no integrity check, so a receiver whose key drifted (a stateful
 * flush lost on the way, RFC 3078 §8.2) would otherwise hand garbage to the TUN; with this the MPPE receiver
 * detects it, asks for a reset and resynchronises. Used by PppLink and by the data-plane workers alike. Only IP
 * runs over our links (no IPV6CP yet): when IPv6 is added this must accept 0x0057 too.
 */
export function plausibleIpv4Plaintext(p: Uint8Array, off: number, len: number): boolean {
  let i = off;
  if (len >= 1 && p[i] === 0x21) i += 1;
  else if (len >= 2 && p[i] === 0x00 && p[i + 1] === 0x21) i += 2;
  else return false;
  const ipLen = len - (i - off);
  if (ipLen < 20 || p[i] >> 4 !== 4 || (p[i] & 0x0f) < 5) return false;
  return ((p[i + 2] << 8) | p[i + 3]) === ipLen;
}
