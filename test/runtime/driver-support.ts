/**
 * What the driver tests (server, client, MRU, defences) share: waiting on a condition, config text → config, and a
 * host routing table that records what a role asks of it.
 */
import { parseConfig, type ServerConfig } from "../../src/config/config.js";
import type { RouteInfo, SystemNetwork } from "../../src/io/system-net.js";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 5 ms; throws "timed out waiting for WHAT" after `ms`. */
export async function waitFor(cond: () => boolean, what = "the condition", ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A parsed config; "port = 0" (any free port, for tests only) is applied after parsing. */
export function config(text: string): ServerConfig {
  const anyPort = /^port = 0$/m.test(text);
  const r = parseConfig(text.replace(/^port = 0$/m, "port = 1723"), "test.conf");
  if (!r.ok) throw new Error(r.errors.map(String).join("\n"));
  return anyPort ? { ...r.config, server: { ...r.config.server, port: 0 } } : r.config;
}

/** Records what a role asks of the host's routing table. */
export class RecordingNetwork implements SystemNetwork {
  readonly routes = new Map<string, RouteInfo>();
  readonly log: string[] = [];
  async routeTo(dst: string): Promise<RouteInfo> {
    return { dev: "lo", src: dst };
  }
  async addRoute(cidr: string, r: RouteInfo): Promise<void> {
    this.routes.set(cidr, r);
    this.log.push(`add ${cidr} dev ${r.dev}`);
  }
  async deleteRoute(cidr: string, dev?: string): Promise<void> {
    this.routes.delete(cidr);
    this.log.push(`del ${cidr}${dev ? ` dev ${dev}` : ""}`);
  }
  async setLink(dev: string, o: { address: string; peer: string; mtu: number }): Promise<void> {
    this.log.push(`link ${dev} ${o.address} peer ${o.peer} mtu ${o.mtu}`);
  }
}
