/**
 * Test plumbing for the authentication engines: deterministic random sources and an in-memory wire that moves
 * packets between an AuthClient and an AuthServer and answers "verify" events from an Authenticator.
 */
import type { RandomSource } from "../../../src/core/clock.js";
import type { AuthClient } from "../../../src/ppp/auth/client.js";
import type { AuthServer } from "../../../src/ppp/auth/server.js";
import type { AuthClientEvent, AuthServerEvent, AuthTransmit } from "../../../src/ppp/auth/events.js";
import type { Authenticator } from "../../../src/aaa/types.js";

/** Bytes start, start+1, ... (mod 256) across calls: distinct, repeatable values. */
export function counterRandom(start = 1): RandomSource {
  let next = start;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = next++ & 0xff;
    return out;
  };
}

/** Hands out the given chunks in order (each request must ask for exactly that chunk's size), then `rest`. */
export function scriptedRandom(chunks: Uint8Array[], rest: RandomSource = counterRandom(0x80)): RandomSource {
  const queue = chunks.slice();
  return (n) => {
    const c = queue.shift();
    if (c === undefined) return rest(n);
    if (c.length !== n) throw new Error(`scriptedRandom: asked for ${n} octets, next scripted chunk has ${c.length}`);
    return c.slice();
  };
}

export interface WireRecord {
  readonly from: "client" | "server";
  readonly packet: AuthTransmit;
}

export interface Exchange {
  readonly serverEvents: AuthServerEvent[];
  readonly clientEvents: AuthClientEvent[];
  readonly wire: WireRecord[];
}

/** Collect everything a server/client pair does until neither has anything left to say. No timers fire. */
export async function runExchange(server: AuthServer, client: AuthClient, authenticator: Authenticator, now = 0): Promise<Exchange> {
  const ex: Exchange = { serverEvents: [], clientEvents: [], wire: [] };
  server.start(now);
  client.start(now);
  for (let round = 0; round < 100; round++) {
    let progressed = false;
    for (let t = server.pollTransmit(); t !== undefined; t = server.pollTransmit()) {
      ex.wire.push({ from: "server", packet: t });
      client.handlePacket(now, t.protocol, t.payload);
      progressed = true;
    }
    for (let t = client.pollTransmit(); t !== undefined; t = client.pollTransmit()) {
      ex.wire.push({ from: "client", packet: t });
      server.handlePacket(now, t.protocol, t.payload);
      progressed = true;
    }
    for (let e = server.pollEvent(); e !== undefined; e = server.pollEvent()) {
      ex.serverEvents.push(e);
      if (e.type === "verify") server.completeVerification(now, await authenticator.verify(e.request));
      progressed = true;
    }
    for (let e = client.pollEvent(); e !== undefined; e = client.pollEvent()) {
      ex.clientEvents.push(e);
      progressed = true;
    }
    if (!progressed) return ex;
  }
  throw new Error("runExchange: the engines never went quiet");
}

export function drainTransmit(e: { pollTransmit(): AuthTransmit | undefined }): AuthTransmit[] {
  const out: AuthTransmit[] = [];
  for (let t = e.pollTransmit(); t !== undefined; t = e.pollTransmit()) out.push(t);
  return out;
}

export function drainEvents<E>(e: { pollEvent(): E | undefined }): E[] {
  const out: E[] = [];
  for (let x = e.pollEvent(); x !== undefined; x = e.pollEvent()) out.push(x);
  return out;
}

/** The single event of a type, failing loudly if there is not exactly one. */
export function only<E extends { type: string }, T extends E["type"]>(events: E[], type: T): Extract<E, { type: T }> {
  const found = events.filter((e) => e.type === type);
  if (found.length !== 1) throw new Error(`expected exactly one "${type}" event, got ${found.length}: ${JSON.stringify(events.map((e) => e.type))}`);
  return found[0] as Extract<E, { type: T }>;
}
