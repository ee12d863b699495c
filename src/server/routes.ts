/**
 * Host plumbing the server needs once at start: routes that send the pool's addresses into the TUN device,
 * and a check that the kernel forwards IPv4 (otherwise clients reach only this host).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseIpv4, formatIpv4 } from "../io/ipv4.js";
import { unwrap } from "../wire/result.js";
import type { AddressRange } from "./pool.js";

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

/** `ip route replace` for every block of the pool; returns what it did, or throws with ip's message. */
export function routePoolToTun(pool: readonly AddressRange[], tunName: string): string[] {
  return routeCidrsToTun(
    pool.flatMap((r) => rangeToCidrs(r.first, r.last)),
    tunName,
  );
}

/**
 * `ip route replace CIDR dev TUN` for each block: the pool, and the networks behind named peers (LAN-to-LAN),
 * which lead into the server's TUN for as long as it runs; the server sends each packet to the peer's session,
 * dials the peer on demand, or drops it — private LAN traffic never leaks onto another route meanwhile.
 */
export function routeCidrsToTun(cidrs: readonly string[], tunName: string): string[] {
  for (const cidr of cidrs) {
    try {
      execFileSync("ip", ["route", "replace", cidr, "dev", tunName], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      throw new Error(`ip route replace ${cidr} dev ${tunName} failed: ${err.stderr?.toString().trim() || err.message}`);
    }
  }
  return [...cidrs];
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
