/**
 * IPv4 addresses cross the native boundary as unsigned 32-bit numbers in host order of the
 * dotted quad (10.0.0.1 = 0x0a000001), so the hot path passes numbers, never strings.
 */
import { err, ok, type Result } from "./result.js";

export type Ipv4Address = number;

export function parseIpv4(text: string): Result<Ipv4Address> {
  const parts = text.split(".");
  if (parts.length !== 4) return err("bad-ipv4", `IPv4 address "${text}" must have 4 dot-separated parts, has ${parts.length}`);
  let v = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) {
      return err("bad-ipv4", `IPv4 address "${text}" has part "${p}", expected a decimal 0..255`);
    }
    v = v * 256 + Number(p);
  }
  return ok(v);
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
