/**
 * The server driver on loopback TCP with in-memory GRE and TUN, and an honest client made of our own client
 * engine (ClientConnection) on a real socket: the rig the defence tests (flood, password guessing) run on.
 */
import * as net from "node:net";
import { PptpServer, type AddressAllocator } from "../../src/server/server.js";
import { defaultConfig, type ServerConfig } from "../../src/config/config.js";
import { ClientConnection } from "../../src/session/client-connection.js";
import type { SessionEvent, LogCategory } from "../../src/session/connection.js";
import { LocalUsers } from "../../src/aaa/local.js";
import type { Authenticator } from "../../src/aaa/types.js";
import { MemoryGreNetwork, MemoryTun } from "../../src/io/memory.js";
import { GreHeader, parseGreHeader } from "../../src/wire/gre.js";
import { seededRandom } from "../support/random.js";

const base = defaultConfig();
export const settings: ServerConfig = {
  ...base,
  server: { ...base.server, listen: "127.0.0.1", port: 0, hostname: "pptp-ts-test", maxSessions: 4 },
  mppe: { policy: "require", strengths: [128], stateless: "prefer" },
};

class TestPool implements AddressAllocator {
  private free = ["192.168.50.10", "192.168.50.11", "192.168.50.12", "192.168.50.13"];
  allocate(): string | undefined {
    return this.free.shift();
  }
  release(a: string): void {
    this.free.push(a);
  }
}

import { sleep, waitFor as waitUntil } from "./driver-support.js";
export { sleep };

export interface Rig {
  server: PptpServer;
  port: number;
  grenet: MemoryGreNetwork;
  tun: MemoryTun;
  lines: string[];
  stop: () => Promise<void>;
}

export async function rig(s: ServerConfig = settings, users?: Authenticator): Promise<Rig> {
  const grenet = new MemoryGreNetwork();
  const tun = new MemoryTun();
  const lines: string[] = [];
  const server = new PptpServer({
    settings: s,
    auth: users ?? new LocalUsers([{ user: "alice", password: "pw1" }, { user: "bob", password: "pw2" }]),
    pool: new TestPool(),
    gre: grenet.attach("127.0.0.1"),
    tun,
    log: { enabled: (_c: LogCategory) => true, log: (c, m) => lines.push(`[${c}] ${m}`) },
  });
  const a = await server.listen();
  const iv = setInterval(() => {
    grenet.settle();
    tun.deliver();
  }, 2);
  return {
    server,
    port: a.port,
    grenet,
    tun,
    lines,
    stop: async () => {
      clearInterval(iv);
      await server.close();
    },
  };
}

export type Dialled = ReturnType<typeof dial>;

/** A client driven by hand: loopback TCP from `from`, GRE through the memory network; one at a time per address. */
export function dial(r: Pick<Rig, "grenet" | "port">, from: string, user: string, password: string) {
  const events: SessionEvent[] = [];
  const ipIn: Uint8Array[] = [];
  const gre = r.grenet.attach(from);
  const client = new ClientConnection({
    peerName: "127.0.0.1",
    link: {
      random: seededRandom(from.length + user.length),
      authenticateSelf: { methods: ["mschap-v2"], userName: user, password },
      ipcp: () => ({ role: "client", requestDns: true }),
      ccp: { policy: "require", strengths: [128], stateless: "prefer" },
    },
    sinksFor: () => ({
      greOut: (b, off, len) => gre.send(b, off, len, 0x7f000001),
      ipOut: (b, off, len) => ipIn.push(b.slice(off, off + len)),
    }),
  });
  const sock = net.connect({ host: "127.0.0.1", port: r.port, localAddress: from });
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let upAt: number | undefined;
  const service = () => {
    for (let e = client.pollEvent(); e; e = client.pollEvent()) {
      events.push(e);
      if (e.type === "network-up" && upAt === undefined) upAt = now();
    }
    for (let b = client.pollTransmit(); b; b = client.pollTransmit()) if (!sock.destroyed) sock.write(b);
    if (timer) clearTimeout(timer);
    const t = client.pollTimeout();
    if (t !== undefined && !closed)
      timer = setTimeout(() => {
        client.handleTimeout(now());
        service();
      }, Math.max(0, t - now()));
  };
  const hdr = new GreHeader();
  gre.onBatch((b) => {
    for (let i = 0; i < b.count; i++) {
      if (parseGreHeader(b.data, b.offsets[i], b.lengths[i], hdr).ok) client.handleGre(now(), hdr.callId, b.data, b.offsets[i], b.lengths[i]);
    }
    service();
  });
  sock.on("connect", () => {
    client.start(now());
    service();
  });
  sock.on("data", (d) => {
    client.handleBytes(now(), d);
    service();
  });
  sock.on("close", () => {
    client.handleTransportClosed(now());
    service();
    closed = true;
    if (timer) clearTimeout(timer);
    // Free the address for the next dial from it (GRE of this call is over once TCP is).
    setTimeout(() => gre.close(), 300);
  });
  sock.on("error", () => {});
  return {
    client,
    events,
    ipIn,
    sock,
    now,
    service,
    up: () => events.some((e) => e.type === "network-up"),
    down: () => events.some((e) => e.type === "call-down"),
    /** Milliseconds from dialling to network-up (performance.now based), or undefined. */
    setupMs: () => upAt,
    hangUp: () => {
      if (client.currentCallId !== undefined) client.hangUp(now(), client.currentCallId, "bye");
      service();
      sock.destroy();
    },
  };
}

/** Polls `cond`; fails after `ms` (5 s by default). */
export const waitFor = (cond: () => boolean, ms = 5000): Promise<void> => waitUntil(cond, "the condition", ms);
