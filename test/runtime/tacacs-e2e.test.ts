/**
 * End to end: our PPTP client dials our server on loopback (in-memory GRE and TUN), and the server authenticates
 * it through TACACS+ (the independent test peer over real TCP): PAP and CHAP-MD5, MPPE off since TACACS+ gives no
 * keys. A wrong password is refused with the call going down.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { PptpServer, type AddressAllocator } from "../../src/server/server.js";
import { defaultConfig, type ServerConfig } from "../../src/config/config.js";
import { ClientConnection } from "../../src/session/client-connection.js";
import type { SessionEvent, LogCategory } from "../../src/session/connection.js";
import { MemoryGreNetwork, MemoryTun } from "../../src/io/memory.js";
import { GreHeader, parseGreHeader } from "../../src/wire/gre.js";
import type { AuthMethod } from "../../src/wire/ppp-protocols.js";
import { tacacsFromConfig } from "../../src/io/tacacs.js";
import { defaultTacacsConfig } from "../../src/config/tacacs-config.js";
import { TacacsPeer } from "../aaa/tacacs-peer.js";
import { seededRandom } from "../support/random.js";
import { waitFor } from "./driver-support.js";

const KEY = "e2e tacacs key";
const base = defaultConfig();
const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

class Pool implements AddressAllocator {
  private free = ["192.168.50.10", "192.168.50.11"];
  allocate(): string | undefined {
    return this.free.shift();
  }
  release(a: string): void {
    this.free.push(a);
  }
}

async function setup(method: AuthMethod) {
  const peer = new TacacsPeer({ key: KEY, users: [{ name: "bob", password: "bob-pw", avPairs: ["idletime=30"] }] });
  await peer.listen();
  cleanup.push(() => peer.close());
  const tac = tacacsFromConfig({ ...defaultTacacsConfig(), servers: [{ host: "127.0.0.1", port: peer.port }], key: KEY, timeoutMs: 1000, deadlineMs: 3000 });
  cleanup.push(() => tac.close());
  const settings: ServerConfig = {
    ...base,
    server: { ...base.server, listen: "127.0.0.1", port: 0, hostname: "pptp-ts-test", maxSessions: 2 },
    ppp: { ...base.ppp, auth: [method] },
    mppe: { policy: "deny", strengths: [128], stateless: "prefer" },
  };
  const grenet = new MemoryGreNetwork();
  const tun = new MemoryTun();
  const lines: string[] = [];
  const server = new PptpServer({
    settings,
    auth: tac.authenticator,
    pool: new Pool(),
    gre: grenet.attach("127.0.0.1"),
    tun,
    log: { enabled: (_c: LogCategory) => true, log: (c, m) => lines.push(`[${c}] ${m}`) },
  });
  const a = await server.listen();
  const iv = setInterval(() => {
    grenet.settle();
    tun.deliver();
  }, 2);
  cleanup.push(async () => {
    clearInterval(iv);
    await server.close();
  });
  return { peer, grenet, port: a.port, lines };
}

function dial(grenet: MemoryGreNetwork, port: number, from: string, method: AuthMethod, user: string, password: string) {
  const events: SessionEvent[] = [];
  const gre = grenet.attach(from);
  const client = new ClientConnection({
    peerName: "127.0.0.1",
    link: {
      random: seededRandom(from.length + user.length),
      authenticateSelf: { methods: [method], userName: user, password },
      ipcp: () => ({ role: "client", requestDns: false }),
      ccp: { policy: "deny", strengths: [128], stateless: "prefer" },
    },
    sinksFor: () => ({ greOut: (b, off, len) => gre.send(b, off, len, 0x7f000001), ipOut: () => {} }),
  });
  const sock = net.connect({ host: "127.0.0.1", port, localAddress: from });
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  let timer: NodeJS.Timeout | undefined;
  const service = () => {
    for (let e = client.pollEvent(); e; e = client.pollEvent()) events.push(e);
    for (let b = client.pollTransmit(); b; b = client.pollTransmit()) if (!sock.destroyed) sock.write(b);
    if (timer) clearTimeout(timer);
    const t = client.pollTimeout();
    if (t !== undefined && !sock.destroyed) timer = setTimeout(() => (client.handleTimeout(now()), service()), Math.max(0, t - now()));
  };
  const hdr = new GreHeader();
  gre.onBatch((b) => {
    for (let i = 0; i < b.count; i++) if (parseGreHeader(b.data, b.offsets[i], b.lengths[i], hdr).ok) client.handleGre(now(), hdr.callId, b.data, b.offsets[i], b.lengths[i]);
    service();
  });
  sock.on("connect", () => (client.start(now()), service()));
  sock.on("data", (d) => (client.handleBytes(now(), d), service()));
  sock.on("error", () => {});
  sock.on("close", () => {
    client.handleTransportClosed(now());
    service();
    if (timer) clearTimeout(timer);
    gre.close();
  });
  cleanup.push(() => {
    if (timer) clearTimeout(timer);
    sock.destroy();
  });
  return { events, up: () => events.some((e) => e.type === "network-up"), down: () => events.some((e) => e.type === "call-down" || e.type === "closed") };
}

describe("PPTP client ↔ pptp-ts server authenticating through TACACS+", () => {
  for (const method of ["pap", "chap-md5"] as const) {
    test(`${method}: the right password brings the network up; TACACS+ saw START, authorization`, async () => {
      const s = await setup(method);
      const c = dial(s.grenet, s.port, "127.0.0.21", method, "bob", "bob-pw");
      await waitFor(c.up, "network-up", 8000);
      assert.deepEqual(s.peer.seen.map((p) => p.type), [1, 2]);
      assert.equal(s.peer.seen[0].body[2], method === "pap" ? 2 : 3, "authen_type");
      assert.deepEqual(s.peer.errors, []);
    });
  }

  test("a wrong password through TACACS+ brings the call down, never up", async () => {
    const s = await setup("chap-md5");
    const c = dial(s.grenet, s.port, "127.0.0.22", "chap-md5", "bob", "wrong");
    // CHAP Failure (code 4, RFC 1994 §4.1) from the server, then the call goes down.
    const failure = () => c.events.some((e) => e.type === "log" && /rcvd \[CHAP Failure id=/.test(e.message));
    await waitFor(failure, "a CHAP Failure", 8000);
    await waitFor(c.down, "the call going down", 8000);
    assert.equal(c.up(), false);
    assert.deepEqual(s.peer.seen.map((p) => p.type), [1], "no authorization after FAIL");
  });
});
