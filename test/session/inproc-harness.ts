/**
 * A PPTP client and server connected in memory: TCP as an in-order byte pipe, GRE as a datagram pipe whose
 * packets a test can drop, duplicate or reorder. A fake clock; the server verifies against LocalUsers.
 */
import { FakeClock } from "../../src/core/clock.js";
import { ServerConnection, type ServerPolicy } from "../../src/session/server-connection.js";
import { ClientConnection } from "../../src/session/client-connection.js";
import type { SessionEvent } from "../../src/session/connection.js";
import type { PppLinkConfig } from "../../src/ppp/link.js";
import type { Authenticator } from "../../src/aaa/types.js";
import { parseGreHeader, GreHeader } from "../../src/wire/gre.js";
import { seededRandom } from "../support/random.js";

export interface NetFault {
  /** Probability a GRE packet is lost, duplicated, or held back behind the next one. */
  loss: number;
  dup: number;
  reorder: number;
}

export interface Harness {
  clock: FakeClock;
  server: ServerConnection;
  client: ClientConnection;
  serverEvents: SessionEvent[];
  clientEvents: SessionEvent[];
  serverIpIn: Uint8Array[];
  clientIpIn: Uint8Array[];
  fault: NetFault;
  greCounts: { toServer: number; toClient: number; dropped: number };
  /** Moves everything until quiet or until `predicate` holds; advances the fake clock to the next deadline when idle. */
  settle(predicate?: () => boolean, maxMs?: number): Promise<void>;
  refuseCalls?: string;
}

export interface HarnessOptions {
  auth: Authenticator;
  serverLink: Omit<PppLinkConfig, "ipcp" | "role">;
  clientLink: Omit<PppLinkConfig, "role">;
  fault?: Partial<NetFault>;
  seed?: number;
  maxCalls?: number;
}

export function makeHarness(o: HarnessOptions): Harness {
  const clock = new FakeClock(10_000);
  const rnd = seededRandom(o.seed ?? 42);
  const chance = (p: number): boolean => p > 0 && rnd(1)[0] / 256 < p;
  const toServer: Uint8Array[] = [];
  const toClient: Uint8Array[] = [];
  const serverIpIn: Uint8Array[] = [];
  const clientIpIn: Uint8Array[] = [];
  const fault: NetFault = { loss: 0, dup: 0, reorder: 0, ...(o.fault ?? {}) };
  const greCounts = { toServer: 0, toClient: 0, dropped: 0 };
  let nextCallId = 0x4000;
  let active = 0;
  const maxCalls = o.maxCalls ?? 10;

  const policy: ServerPolicy = {
    admitCall: () => (active >= maxCalls ? { refuse: "busy", reason: `maximum of ${maxCalls} sessions reached` } : (active++, { callId: nextCallId++ })),
    releaseCall: () => {
      active--;
    },
    linkConfig: () => o.serverLink,
    ipcpFor: () => ({ role: "server", localAddress: "192.168.50.1", peerAddress: "192.168.50.10", dns: ["10.0.0.53"] }),
  };

  const enqueue = (q: Uint8Array[], buf: Uint8Array, off: number, len: number): void => {
    const copy = buf.slice(off, off + len);
    if (chance(fault.loss)) {
      greCounts.dropped++;
      return;
    }
    if (chance(fault.reorder) && q.length > 0) q.splice(q.length - 1, 0, copy);
    else q.push(copy);
    if (chance(fault.dup)) q.push(copy.slice());
  };

  const server = new ServerConnection({
    peerName: "10.99.0.2",
    policy,
    sinksFor: () => ({ greOut: (b, off, len) => enqueue(toClient, b, off, len), ipOut: (b, off, len) => serverIpIn.push(b.slice(off, off + len)) }),
  });
  const client = new ClientConnection({
    peerName: "10.99.0.1",
    link: o.clientLink,
    sinksFor: () => ({ greOut: (b, off, len) => enqueue(toServer, b, off, len), ipOut: (b, off, len) => clientIpIn.push(b.slice(off, off + len)) }),
  });
  const serverEvents: SessionEvent[] = [];
  const clientEvents: SessionEvent[] = [];
  const hdr = new GreHeader();

  const deliverGre = (q: Uint8Array[], to: ServerConnection | ClientConnection): boolean => {
    let moved = false;
    while (q.length) {
      const p = q.shift()!;
      moved = true;
      const h = parseGreHeader(p, 0, p.length, hdr);
      if (!h.ok) continue;
      to.handleGre(clock.now, hdr.callId, p, 0, p.length);
    }
    return moved;
  };

  const h: Harness = {
    clock,
    server,
    client,
    serverEvents,
    clientEvents,
    serverIpIn,
    clientIpIn,
    fault,
    greCounts,
    async settle(predicate, maxMs = 300_000) {
      const end = clock.now + maxMs;
      for (let guard = 0; guard < 200_000; guard++) {
        if (predicate?.()) return;
        let moved = false;
        for (let b = client.pollTransmit(); b; b = client.pollTransmit()) {
          moved = true;
          server.handleBytes(clock.now, b);
        }
        for (let b = server.pollTransmit(); b; b = server.pollTransmit()) {
          moved = true;
          client.handleBytes(clock.now, b);
        }
        greCounts.toServer += toServer.length;
        greCounts.toClient += toClient.length;
        moved = deliverGre(toServer, server) || moved;
        moved = deliverGre(toClient, client) || moved;
        for (let e = server.pollEvent(); e; e = server.pollEvent()) {
          moved = true;
          serverEvents.push(e);
          if (e.type === "verify") server.completeVerification(clock.now, e.callId, await o.auth.verify(e.request));
          if (e.type === "closed") client.handleTransportClosed(clock.now);
        }
        for (let e = client.pollEvent(); e; e = client.pollEvent()) {
          moved = true;
          clientEvents.push(e);
          if (e.type === "closed") server.handleTransportClosed(clock.now);
        }
        if (moved) continue;
        if (predicate === undefined && server.isClosed && client.isClosed) return;
        const ts = [server.pollTimeout(), client.pollTimeout()].filter((t): t is number => t !== undefined);
        if (ts.length === 0) return;
        const next = Math.max(clock.now, Math.min(...ts));
        if (next > end) return;
        clock.now = next;
        server.handleTimeout(next);
        client.handleTimeout(next);
      }
      throw new Error("in-process session did not settle");
    },
  };
  return h;
}

export function ofType<T extends SessionEvent["type"]>(events: SessionEvent[], type: T): Extract<SessionEvent, { type: T }>[] {
  return events.filter((e): e is Extract<SessionEvent, { type: T }> => e.type === type);
}
