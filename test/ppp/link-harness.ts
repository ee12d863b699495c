/** Two PppLinks wired back to back with a fake clock: the server verifies against LocalUsers. */
import { PppLink, type PppLinkConfig, type PppLinkEvent } from "../../src/ppp/link.js";
import { FakeClock } from "../../src/core/clock.js";
import type { Authenticator } from "../../src/aaa/types.js";
import type { AuthMethod } from "../../src/wire/ppp-protocols.js";
import type { CcpPolicy, MppeStrength } from "../../src/ppp/ccp.js";
import { seededRandom } from "../support/random.js";

export interface Pair {
  clock: FakeClock;
  server: PppLink;
  client: PppLink;
  serverEvents: PppLinkEvent[];
  clientEvents: PppLinkEvent[];
  /** Frames in flight; a test may drop or reorder them through `filter`. */
  filter?: (from: "server" | "client", frame: Uint8Array) => Uint8Array[];
}

export function makePair(serverCfg: PppLinkConfig, clientCfg: PppLinkConfig): Pair {
  return { clock: new FakeClock(1000), server: new PppLink(serverCfg), client: new PppLink(clientCfg), serverEvents: [], clientEvents: [] };
}

/** Run until both links are quiet (nothing to send, no pending verification) or `untilMs` of fake time passed. */
export async function run(pair: Pair, auth: Authenticator, untilMs = 120_000): Promise<void> {
  const { clock, server, client } = pair;
  const end = clock.now + untilMs;
  if (server.phase === "dead" && !server.isFinished) server.lowerUp(clock.now);
  if (client.phase === "dead" && !client.isFinished) client.lowerUp(clock.now);
  for (let guard = 0; guard < 100_000; guard++) {
    let moved = false;
    for (let f = server.pollTransmit(); f; f = server.pollTransmit()) {
      moved = true;
      for (const g of pair.filter ? pair.filter("server", f) : [f]) client.receiveFrame(clock.now, g, 0, g.length);
    }
    for (let f = client.pollTransmit(); f; f = client.pollTransmit()) {
      moved = true;
      for (const g of pair.filter ? pair.filter("client", f) : [f]) server.receiveFrame(clock.now, g, 0, g.length);
    }
    for (let e = server.pollEvent(); e; e = server.pollEvent()) {
      moved = true;
      pair.serverEvents.push(e);
      if (e.type === "verify") server.completeVerification(clock.now, await auth.verify(e.request));
    }
    for (let e = client.pollEvent(); e; e = client.pollEvent()) {
      moved = true;
      pair.clientEvents.push(e);
    }
    if (moved) continue;
    if (server.isFinished && client.isFinished) return;
    if (server.networkUp && client.networkUp) return;
    const ts = [server.pollTimeout(), client.pollTimeout()].filter((t): t is number => t !== undefined);
    if (ts.length === 0) return;
    const next = Math.max(clock.now, Math.min(...ts));
    if (next > end) return;
    clock.now = next;
    if ((server.pollTimeout() ?? Infinity) <= next) server.handleTimeout(next);
    if ((client.pollTimeout() ?? Infinity) <= next) client.handleTimeout(next);
  }
  throw new Error("link pair did not settle");
}

export function eventsOf<T extends PppLinkEvent["type"]>(events: PppLinkEvent[], type: T): Extract<PppLinkEvent, { type: T }>[] {
  return events.filter((e): e is Extract<PppLinkEvent, { type: T }> => e.type === type);
}

/** The knobs the link tests turn; everything else is a stock MS-CHAPv2 + MPPE client and server. */
export interface LinkOpts {
  serverMethods?: AuthMethod[];
  clientMethods?: AuthMethod[];
  password?: string;
  serverPolicy?: CcpPolicy;
  clientPolicy?: CcpPolicy;
  serverStrengths?: MppeStrength[];
  clientStrengths?: MppeStrength[];
  serverStateless?: CcpPolicy;
  clientStateless?: CcpPolicy;
  seed?: number;
  /** LCP settings of the client (echo off by default). */
  clientLcp?: PppLinkConfig["lcp"];
}

export const LINK_PASSWORD = "s3cret-pass";
const ALL_METHODS: AuthMethod[] = ["mschap-v2", "mschap-v1", "chap-md5", "pap"];

export function serverLinkConfig(o: LinkOpts): PppLinkConfig {
  return {
    role: "server",
    random: seededRandom(o.seed ?? 1),
    lcp: { echoIntervalMs: 0 },
    authenticatePeer: { methods: o.serverMethods ?? ALL_METHODS, hostName: "pptp-ts" },
    ipcp: () => ({ role: "server", localAddress: "192.168.50.1", peerAddress: "192.168.50.10", dns: ["10.0.0.53", "10.0.0.54"] }),
    ccp: { policy: o.serverPolicy ?? "require", strengths: o.serverStrengths ?? [128, 56, 40], stateless: o.serverStateless ?? "prefer" },
  };
}

export function clientLinkConfig(o: LinkOpts): PppLinkConfig {
  return {
    role: "client",
    random: seededRandom((o.seed ?? 1) + 1000),
    lcp: o.clientLcp ?? { echoIntervalMs: 0 },
    authenticateSelf: { methods: o.clientMethods ?? ["mschap-v2"], userName: "alice", password: o.password ?? LINK_PASSWORD },
    ipcp: () => ({ role: "client", requestDns: true }),
    ccp: { policy: o.clientPolicy ?? "require", strengths: o.clientStrengths ?? [128, 56, 40], stateless: o.clientStateless ?? "prefer" },
  };
}
