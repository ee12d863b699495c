/**
 * Longest-prefix match over a handful of IPv4 prefixes (the networks behind LAN-to-LAN peers). A linear scan
 * over entries kept longest-prefix-first: a server has a few dozen such routes, not a full table, and the
 * lookup on the per-packet path allocates nothing.
 */
import { parseIpv4 } from "../wire/ipv4.js";
import type { Ipv4Prefix } from "../config/peer-types.js";

interface Entry<T> {
  readonly network: number;
  readonly mask: number;
  readonly prefix: number;
  readonly value: T;
}

export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function formatPrefix(p: Ipv4Prefix): string {
  return `${p.network}/${p.prefix}`;
}

export class PrefixTable<T> {
  private entries: Entry<T>[] = [];

  get size(): number {
    return this.entries.length;
  }

  add(p: Ipv4Prefix, value: T): void {
    const a = parseIpv4(p.network);
    if (!a.ok) throw new TypeError(`prefix ${formatPrefix(p)}: ${a.error.message}`);
    const mask = prefixMask(p.prefix);
    this.entries.push({ network: (a.value & mask) >>> 0, mask, prefix: p.prefix, value });
    this.entries.sort((x, y) => y.prefix - x.prefix);
  }

  /** Removes every entry holding `value`. */
  remove(value: T): void {
    this.entries = this.entries.filter((e) => e.value !== value);
  }

  clear(): void {
    this.entries = [];
  }

  /** The value of the longest prefix containing `address` (uint32), if any. */
  lookup(address: number): T | undefined {
    const es = this.entries;
    for (let i = 0; i < es.length; i++) {
      const e = es[i];
      if (((address & e.mask) >>> 0) === e.network) return e.value;
    }
    return undefined;
  }
}
