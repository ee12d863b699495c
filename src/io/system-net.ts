/**
 * The host's routing table and interface addresses, as far as a VPN endpoint must touch them: a host route
 * that keeps the tunnel's own GRE and TCP outside the tunnel, the routes into the tunnel (split or default),
 * and the negotiated addresses and MTU of a TUN device that stays open across reconnects.
 *
 * LinuxNetwork runs iproute2 (`ip`), the interface operators already know from pppd's ip-up scripts; every
 * failure names the command and carries ip's own message. Tests use a recording double.
 */
import { execFile } from "node:child_process";

export interface RouteInfo {
  /** Next hop, absent for a directly connected destination. */
  readonly via?: string;
  readonly dev: string;
  readonly src?: string;
}

export interface SystemNetwork {
  /** How the kernel would reach `dst` right now (`ip route get`). */
  routeTo(dst: string): Promise<RouteInfo>;
  /** `ip route replace CIDR [via GW] dev DEV`: idempotent. */
  addRoute(cidr: string, r: RouteInfo): Promise<void>;
  /** `ip route del CIDR [dev DEV]`; a route that is already gone is not an error. */
  deleteRoute(cidr: string, dev?: string): Promise<void>;
  /** Point-to-point addresses and MTU of a device: the new address is added before the old one goes, so the
   *  device never has none (the kernel flushes a device's routes when its last IPv4 address is removed). */
  setLink(dev: string, o: { readonly address: string; readonly peer: string; readonly mtu: number; readonly previous?: string }): Promise<void>;
}

function ip(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("ip", args as string[], { timeout: 10_000 }, (e, stdout, stderr) => {
      if (e) reject(new Error(`ip ${args.join(" ")} failed: ${String(stderr).trim() || e.message}`));
      else resolve(String(stdout));
    });
  });
}

/** Parses the first line of `ip route get` ("10.0.0.1 via 192.168.1.1 dev eth0 src 192.168.1.5 uid 0"). */
export function parseRouteGet(text: string): RouteInfo | undefined {
  const words = text.trim().split(/\s+/);
  const at = (k: string) => {
    const i = words.indexOf(k);
    return i >= 0 && i + 1 < words.length ? words[i + 1] : undefined;
  };
  const dev = at("dev");
  if (dev === undefined) return undefined;
  const via = at("via");
  const src = at("src");
  return { dev, ...(via !== undefined ? { via } : {}), ...(src !== undefined ? { src } : {}) };
}

export class LinuxNetwork implements SystemNetwork {
  async routeTo(dst: string): Promise<RouteInfo> {
    const out = await ip(["-4", "route", "get", dst]);
    const r = parseRouteGet(out);
    if (!r) throw new Error(`ip route get ${dst}: no route in "${out.trim()}"`);
    return r;
  }

  async addRoute(cidr: string, r: RouteInfo): Promise<void> {
    await ip(["-4", "route", "replace", cidr, ...(r.via ? ["via", r.via] : []), "dev", r.dev]);
  }

  async deleteRoute(cidr: string, dev?: string): Promise<void> {
    try {
      await ip(["-4", "route", "del", cidr, ...(dev ? ["dev", dev] : [])]);
    } catch (e) {
      if (!/No such process|Cannot find device|not found/i.test((e as Error).message)) throw e;
    }
  }

  async setLink(dev: string, o: { address: string; peer: string; mtu: number; previous?: string }): Promise<void> {
    await ip(["link", "set", "dev", dev, "mtu", String(o.mtu), "up"]);
    await ip(["-4", "addr", "replace", o.address, "peer", `${o.peer}/32`, "dev", dev]);
    if (o.previous !== undefined && o.previous !== o.address) {
      try {
        await ip(["-4", "addr", "del", `${o.previous}/32`, "dev", dev]);
      } catch {
        // The old address may carry a peer (TunDevice's ioctls) and be listed differently; flush the rest.
        const out = await ip(["-4", "-o", "addr", "show", "dev", dev]);
        for (const m of out.matchAll(/inet (\S+)/g)) {
          const a = m[1].split("/")[0];
          if (a !== o.address) await ip(["-4", "addr", "del", m[1], "dev", dev]).catch(() => undefined);
        }
      }
    }
  }
}
