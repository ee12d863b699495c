/** Two PppLinks wired back to back with a fake clock: the server verifies against LocalUsers. */
import { PppLink, type PppLinkConfig, type PppLinkEvent } from "../../src/ppp/link.js";
import { FakeClock } from "../../src/session/clock.js";
import type { Authenticator } from "../../src/aaa/types.js";

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
