/**
 * A PPTP client and server connected in memory: TCP as an in-order byte pipe, GRE as a datagram pipe whose
 * packets a test can drop, duplicate or reorder. A fake clock; the server verifies against LocalUsers.
 *
 * Orderings real networks produce (`order`, `fault.reorderDepth`):
 *  - "tcp-first" (default): what one side writes on TCP reaches the other before the GRE it sends afterwards;
 *  - "gre-first": GRE overtakes TCP — a TCP chunk arrives one round late, after the GRE sent behind it (a
 *    segment waiting for a retransmission or a delayed ACK while raw IP goes straight through), so a call's first
 *    GRE packets reach the peer before the reply that set the call up;
 *  - a reordered GRE packet moves up to `reorderDepth` places ahead of the packets queued before it.
 * `wire` records, per direction and in the order the engines hand them out, every TCP message (by type) and every
 * GRE packet (by key), so tests can check what went out before what.
 */
import { FakeClock } from "../../src/core/clock.js";
import { ServerConnection, type ServerPolicy } from "../../src/session/server-connection.js";
import { ClientConnection } from "../../src/session/client-connection.js";
import type { SessionEvent } from "../../src/session/connection.js";
import type { PppLinkConfig } from "../../src/ppp/link.js";
import type { Authenticator } from "../../src/aaa/types.js";
import { parseGreHeader, GreHeader } from "../../src/wire/gre.js";
import { parseControlMessage } from "../../src/wire/pptp-control.js";
import { seededRandom } from "../support/random.js";
import type { PacketRoom } from "../../src/core/packet-room.js";

export interface NetFault {
  /** Probability a GRE packet is lost, duplicated, or held back behind the next one(s). */
  loss: number;
  dup: number;
  reorder: number;
  /** How many queued packets a reordered one may overtake (picked at random from 1 to this). Default 1. */
  reorderDepth: number;
}

export type WireOrder = "tcp-first" | "gre-first";

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
  /** "c>s OCRQ", "s>c GRE 16384" ...: TCP messages as pollTransmit() hands them out, GRE packets as they are sent. */
  wire: string[];
  /** "c<s OCRP", "c<s GRE 16384" ...: what each side received, in the order it received it. */
  arrivals: string[];
  /** Puts a packet on the GRE wire towards one side, as any host that knows the Call ID could. */
  injectGre(to: "server" | "client", pkt: Uint8Array): void;
  /** Moves everything until quiet or until `predicate` holds; advances the fake clock to the next deadline when idle. */
  settle(predicate?: () => boolean, maxMs?: number): Promise<void>;
  refuseCalls?: string;
  /** Each side's rooms (used only with HarnessOptions.rooms; their counts stay 0 without). */
  rooms: { server: { gre: TestRoom; ip: TestRoom }; client: { gre: TestRoom; ip: TestRoom } };
}

export interface HarnessOptions {
  auth: Authenticator;
  serverLink: Omit<PppLinkConfig, "ipcp" | "role">;
  clientLink: Omit<PppLinkConfig, "role">;
  fault?: Partial<NetFault>;
  seed?: number;
  maxCalls?: number;
  /** "outgoing" (default): the client dials (OCRQ); "incoming": the server dials and the client answers with ICRQ. */
  callType?: "outgoing" | "incoming";
  order?: WireOrder;
  /** Give each side's calls a TestRoom behind greOut and one behind ipOut (core/packet-room.ts). */
  rooms?: boolean;
}

/**
 * A queue's room as the I/O edge gives it (core/packet-room.ts), for tests: every room starts at another offset
 * modulo 8 (all alignments in turn) and is filled with 0xEE first, as a real queue's arena holds old packets. take()
 * is what the sink behind it does: it checks that a packet in its buffer lies inside the room it gave last.
 */
export class TestRoom implements PacketRoom {
  readonly bytes = new Uint8Array(16384);
  private turn = 0;
  private given = -1;
  private givenLen = 0;
  /** Rooms asked for, packets taken in place, packets taken from elsewhere (copied), packets outside their room. */
  readonly counts = { rooms: 0, inPlace: 0, copied: 0, outside: 0 };

  room(len: number): number {
    if (len + 8 + 4096 > this.bytes.length) return -1;
    const at = (this.turn % 8) + 4096 * (this.turn % 3);
    this.turn++;
    this.bytes.fill(0xee, at, at + len);
    this.given = at;
    this.givenLen = len;
    this.counts.rooms++;
    return at;
  }

  take(buf: Uint8Array, off: number, len: number): void {
    if (buf !== this.bytes) {
      this.counts.copied++;
      return;
    }
    if (this.given < 0 || off < this.given || off + len > this.given + this.givenLen) this.counts.outside++;
    else this.counts.inPlace++;
    this.given = -1; // a room is taken once
  }
}

export function makeHarness(o: HarnessOptions): Harness {
  const clock = new FakeClock(10_000);
  const rnd = seededRandom(o.seed ?? 42);
  const chance = (p: number): boolean => p > 0 && rnd(1)[0] / 256 < p;
  const toServer: Uint8Array[] = [];
  const toClient: Uint8Array[] = [];
  const serverIpIn: Uint8Array[] = [];
  const clientIpIn: Uint8Array[] = [];
  const fault: NetFault = { loss: 0, dup: 0, reorder: 0, reorderDepth: 1, ...(o.fault ?? {}) };
  const wire: string[] = [];
  const arrivals: string[] = [];
  const order: WireOrder = o.order ?? "tcp-first";
  const incoming = o.callType === "incoming";
  const hdrOut = new GreHeader();
  const logGre = (dir: string, buf: Uint8Array, off: number, len: number): void => {
    const r = parseGreHeader(buf, off, len, hdrOut);
    wire.push(`${dir} GRE ${r.ok ? hdrOut.callId : "?"}`);
  };
  const logTcp = (dir: string, b: Uint8Array, log = wire): void => {
    const m = parseControlMessage(b);
    log.push(`${dir} ${m.ok ? m.value.type : "?"}`);
  };
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
    if (chance(fault.reorder) && q.length > 0) {
      const depth = fault.reorderDepth > 1 ? 1 + (rnd(1)[0] % fault.reorderDepth) : 1;
      q.splice(Math.max(0, q.length - depth), 0, copy);
    } else q.push(copy);
    if (chance(fault.dup)) q.push(copy.slice());
  };

  const rooms = { server: { gre: new TestRoom(), ip: new TestRoom() }, client: { gre: new TestRoom(), ip: new TestRoom() } };
  const server = new ServerConnection({
    peerName: "10.99.0.2",
    policy,
    originate: incoming,
    sinksFor: () => ({
      ...(o.rooms ? { greRoom: rooms.server.gre, ipRoom: rooms.server.ip } : {}),
      greOut: (b, off, len) => {
        rooms.server.gre.take(b, off, len);
        logGre("s>c", b, off, len);
        enqueue(toClient, b, off, len);
      },
      ipOut: (b, off, len) => {
        rooms.server.ip.take(b, off, len);
        serverIpIn.push(b.slice(off, off + len));
      },
    }),
  });
  const client = new ClientConnection({
    peerName: "10.99.0.1",
    link: o.clientLink,
    callType: incoming ? "incoming" : "outgoing",
    sinksFor: () => ({
      ...(o.rooms ? { greRoom: rooms.client.gre, ipRoom: rooms.client.ip } : {}),
      greOut: (b, off, len) => {
        rooms.client.gre.take(b, off, len);
        logGre("c>s", b, off, len);
        enqueue(toServer, b, off, len);
      },
      ipOut: (b, off, len) => {
        rooms.client.ip.take(b, off, len);
        clientIpIn.push(b.slice(off, off + len));
      },
    }),
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
      arrivals.push(`${to === server ? "s<c" : "c<s"} GRE ${hdr.callId}`);
      to.handleGre(clock.now, hdr.callId, p, 0, p.length);
    }
    return moved;
  };

  // "gre-first": TCP chunks handed out in one round are delivered in the next, after that round's GRE.
  const tcpToServer: Uint8Array[] = [];
  const tcpToClient: Uint8Array[] = [];
  const pollTcp = (): boolean => {
    let moved = false;
    for (let b = client.pollTransmit(); b; b = client.pollTransmit()) {
      moved = true;
      logTcp("c>s", b);
      tcpToServer.push(b);
    }
    for (let b = server.pollTransmit(); b; b = server.pollTransmit()) {
      moved = true;
      logTcp("s>c", b);
      tcpToClient.push(b);
    }
    return moved;
  };
  const deliverTcp = (): boolean => {
    const moved = tcpToServer.length + tcpToClient.length > 0;
    for (const b of tcpToServer.splice(0)) {
      logTcp("s<c", b, arrivals);
      server.handleBytes(clock.now, b);
    }
    for (const b of tcpToClient.splice(0)) {
      logTcp("c<s", b, arrivals);
      client.handleBytes(clock.now, b);
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
    rooms,
    wire,
    arrivals,
    injectGre(to, pkt) {
      (to === "server" ? toServer : toClient).push(pkt.slice());
    },
    async settle(predicate, maxMs = 300_000) {
      const end = clock.now + maxMs;
      for (let guard = 0; guard < 200_000; guard++) {
        if (predicate?.()) return;
        let moved = false;
        if (order === "tcp-first") {
          for (let b = client.pollTransmit(); b; b = client.pollTransmit()) {
            moved = true;
            logTcp("c>s", b);
            logTcp("s<c", b, arrivals);
            server.handleBytes(clock.now, b);
          }
          for (let b = server.pollTransmit(); b; b = server.pollTransmit()) {
            moved = true;
            logTcp("s>c", b);
            logTcp("c<s", b, arrivals);
            client.handleBytes(clock.now, b);
          }
        }
        greCounts.toServer += toServer.length;
        greCounts.toClient += toClient.length;
        moved = deliverGre(toServer, server) || moved;
        moved = deliverGre(toClient, client) || moved;
        if (order === "gre-first") {
          moved = deliverTcp() || moved;
          moved = pollTcp() || moved;
        }
        for (let e = server.pollEvent(); e; e = server.pollEvent()) {
          moved = true;
          serverEvents.push(e);
          if (e.type === "verify") server.completeVerification(clock.now, e.callId, await o.auth.verify(e.request));
          if (e.type === "closed") {
            if (order === "gre-first") deliverTcp(); // its last words, then the close
            client.handleTransportClosed(clock.now);
          }
        }
        for (let e = client.pollEvent(); e; e = client.pollEvent()) {
          moved = true;
          clientEvents.push(e);
          if (e.type === "closed") {
            if (order === "gre-first") deliverTcp();
            server.handleTransportClosed(clock.now);
          }
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
