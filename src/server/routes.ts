/**
 * Host plumbing the server needs once at start: the pool as CIDR blocks to route into the TUN device (added
 * through src/io/system-net.ts, like every other route), and a check that the kernel forwards IPv4 (otherwise
 * clients reach only this host).
 */
import { readFileSync } from "node:fs";
import { parseIpv4, formatIpv4 } from "../wire/ipv4.js";
import { unwrap } from "../wire/result.js";
import type { AddressRange } from "../config/address-range.js";

/** The smallest list of CIDR blocks covering first..last exactly. */
export function rangeToCidrs(first: string, last: string): string[] {
  let lo = unwrap(parseIpv4(first));
  const hi = unwrap(parseIpv4(last));
  const out: string[] = [];
  while (lo <= hi) {
    // Largest block aligned at lo that does not pass hi.
    let size = lo === 0 ? 2 ** 32 : (lo & -lo) >>> 0 || 2 ** 32;
    while (lo + size - 1 > hi) size /= 2;
    out.push(`${formatIpv4(lo)}/${32 - Math.log2(size)}`);
    lo += size;
    if (lo > 0xffffffff) break;
  }
  return out;
}

/** The pool as the CIDR blocks a routing table needs (each range split into aligned blocks). */
export function poolCidrs(pool: readonly AddressRange[]): string[] {
  return pool.flatMap((r) => rangeToCidrs(r.first, r.last));
}

/** undefined when forwarding is on (or unknowable), else a warning for the log. */
export function forwardingWarning(): string | undefined {
  try {
    if (readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim() === "1") return undefined;
    return "net.ipv4.ip_forward is 0: clients can reach this host only; enable forwarding with `sysctl -w net.ipv4.ip_forward=1` to route them further";
  } catch {
    return undefined;
  }
}
