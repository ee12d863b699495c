/** The DAS allow-list: IPv4 addresses and prefixes ("10.0.0.5", "10.0.0.0/24"); IPv6 sources never match. */
import { parseIpv4 } from "../../wire/ipv4.js";

export interface Prefix {
  readonly net: number;
  readonly mask: number;
}

export function parsePrefixList(items: readonly string[]): { ok: true; prefixes: Prefix[] } | { ok: false; message: string } {
  const prefixes: Prefix[] = [];
  for (const item of items) {
    const m = /^([^/]+)(?:\/(\d{1,2}))?$/.exec(item.trim());
    const a = m === null ? undefined : parseIpv4(m[1]);
    const len = m?.[2] === undefined ? 32 : Number(m[2]);
    if (a === undefined || !a.ok || len > 32) return { ok: false, message: `"${item}" is not an IPv4 address or prefix` };
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    prefixes.push({ net: (a.value & mask) >>> 0, mask });
  }
  return { ok: true, prefixes };
}

export function prefixListHas(list: readonly Prefix[], address: string): boolean {
  const a = parseIpv4(address.startsWith("::ffff:") ? address.slice(7) : address);
  if (!a.ok) return false;
  return list.some((p) => ((a.value & p.mask) >>> 0) === p.net);
}
