/**
 * The networked client (src/client/client.ts) against our own server over real loopback TCP, with in-memory
 * GRE and TUN doubles and a recording stand-in for the host's routing table: session up and traffic both ways,
 * plain-word refusals (wrong password, MPPE strength), redial with backoff after the server drops us, a clean
 * hang-up, dial-on-demand with the idle timer, and the server-initiated LAN-to-LAN call (SCCRQ from the server,
 * Incoming-Call-Request from us). The stock-peer and network-namespace tests (test/interop) use the real edge.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { PptpServer } from "../../src/server/server.js";
import { AddressPool } from "../../src/server/pool.js";
import { PptpClient, type ClientStatus } from "../../src/client/client.js";
import type { LogCategory } from "../../src/session/connection.js";
import { LocalUsers } from "../../src/aaa/local.js";
import { MemoryGreNetwork, MemoryTun, type MemoryGreSocket } from "../../src/io/memory.js";
import { emitGreHeader } from "../../src/wire/gre.js";
import { parseIpv4 } from "../../src/wire/ipv4.js";
import { unwrap } from "../../src/wire/result.js";
import { GreDemux } from "../../src/io/gre-demux.js";
import type { GreTransport } from "../../src/io/transport.js";
import { fakeIpPacket } from "../support/random.js";
import { FakeClock } from "../../src/core/clock.js";
import { config, RecordingNetwork, sleep, waitFor } from "./driver-support.js";




interface Site {
  server?: PptpServer;
  /** Cuts the server's GRE off the network (a path that died without a word). */
  cutGre?: () => void;
  port: number;
  grenet: MemoryGreNetwork;
  serverTun: MemoryTun;
  lines: string[];
  stop(): Promise<void>;
}

const logTo = (lines: string[], tag: string) => ({ enabled: (_c: LogCategory) => true, log: (c: LogCategory, m: string) => lines.push(`${tag}[${c}] ${m}`) });

/**
 * Our server on 127.0.0.1 (memory GRE network shared with the client). With `greMain`, a multi-homed host:
 * it listens on 0.0.0.0 and its one GRE socket holds greMain (the source routing prefers) and 127.0.0.1.
 */
async function serverSite(
  strengths = "128, 40",
  users = [{ user: "alice", password: "pw1" }],
  extra = "",
  greMain?: string,
  /** Drop the source the server asks for, as a server that does not choose it would (GRE leaves from greMain). */
  sourceBlind = false,
): Promise<Site> {
  const grenet = new MemoryGreNetwork();
  const serverTun = new MemoryTun();
  const lines: string[] = [];
  const listen = greMain ? "0.0.0.0" : "127.0.0.1";
  const s = config(`[server]\nlisten = ${listen}\nport = 0\n[ppp]\ndns = 10.0.0.53\n[mppe]\nstrengths = ${strengths}\n${extra}`);
  const greSock = greMain ? grenet.attach(greMain, { aliases: ["127.0.0.1"] }) : grenet.attach("127.0.0.1");
  const blind: GreTransport = {
    onBatch: (cb) => greSock.onBatch(cb),
    onError: (cb) => greSock.onError(cb),
    send: (b, off, len, dst) => greSock.send(b, off, len, dst),
    sendBatch: (b, offs, lens, dsts, n) => greSock.sendBatch(b, offs, lens, dsts, n),
    stats: () => greSock.stats(),
    close: () => greSock.close(),
  };
  const server = new PptpServer({
    settings: s,
    auth: new LocalUsers(users),
    pool: new AddressPool(s.ppp.pool),
    gre: sourceBlind ? blind : greSock,
    tun: serverTun,
    log: logTo(lines, "srv"),
  });
  const a = await server.listen();
  const iv = setInterval(() => {
    grenet.settle();
    serverTun.deliver();
  }, 2);
  return {
    server,
    cutGre: () => grenet.detach(greSock),
    port: a.port,
    grenet,
    serverTun,
    lines,
    async stop() {
      await server.close("test over");
      clearInterval(iv);
    },
  };
}

interface ClientRig {
  client: PptpClient;
  /** Nothing reaches the client's GRE socket any more (it can still send): a NAT that drops GRE inbound. */
  cutGre: () => void;
  tun: () => MemoryTun;
  net: RecordingNetwork;
  statuses: ClientStatus[];
  lines: string[];
  greSock: MemoryGreSocket;
}

function clientFor(
  site: Site,
  peerText: string,
  o: { stopOnRefusal?: boolean; from?: string; user?: string; greSilenceMs?: number; greMain?: string; clock?: () => number } = {},
): ClientRig {
  const from = o.from ?? "127.0.0.2";
  const cfg = config(`[server]\nenable = no\n[peer hq]\nrole = client\nremote = 127.0.0.1\nport = ${site.port}\nuser = ${o.user ?? "alice"}\n${peerText}`);
  const peer = cfg.peers[0];
  const lines: string[] = [];
  const statuses: ClientStatus[] = [];
  let tun: MemoryTun | undefined;
  const netRec = new RecordingNetwork();
  // greMain: a multi-homed client whose routing prefers greMain as the source, though TCP leaves from `from`.
  const greSock = o.greMain ? site.grenet.attach(o.greMain, { aliases: [from] }) : site.grenet.attach(from);
  const demux = new GreDemux(greSock, o.clock ?? (() => performance.now()));
  const client = new PptpClient({
    peer,
    gre: demux,
    openTun: (t) => {
      tun = new MemoryTun(t.name, t.mtu);
      lines.push(`cli[tun] open ${t.name} ${t.address} peer ${t.peer} mtu ${t.mtu}`);
      return tun;
    },
    net: netRec,
    log: logTo(lines, "cli"),
    bindAddress: from,
    onStatus: (s) => statuses.push(s),
    ...(o.stopOnRefusal ? { stopOnRefusal: true } : {}),
    ...(o.greSilenceMs !== undefined ? { greSilenceMs: o.greSilenceMs } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
  });
  const iv = setInterval(() => tun?.deliver(), 2);
  void client.done.then(() => {
    clearInterval(iv);
    demux.close(); // the process's GRE socket goes with the last role (startRoles does the same)
  });
  return { client, cutGre: () => site.grenet.detach(greSock), tun: () => tun!, net: netRec, statuses, lines, greSock };
}

const both = (site: Site, c: ClientRig) => `${site.lines.join("\n")}\n${c.lines.join("\n")}`;

describe("PptpClient against PptpServer (loopback TCP, memory GRE/TUN)", () => {
  test("connects with MS-CHAPv2 + MPPE-128: TUN address and MTU, host route, split routes, IP both ways, clean hang-up", async () => {
    const site = await serverSite();
    const c = clientFor(site, "password = pw1\nroutes = 10.20.0.0/16");
    try {
      await c.client.start();
      await waitFor(() => c.client.state === "up", `client up\n${both(site, c)}`);
      const st = c.client.snapshot();
      assert.equal(st.localAddress, "192.168.50.10");
      assert.equal(st.remoteAddress, "192.168.50.1");
      assert.equal(st.mtu, 1396, "MRU 1400 less the 4 bytes of MPPE");
      assert.equal(st.mppe, "MPPE-128 stateless");
      assert.deepEqual(st.dns, ["10.0.0.53"]);
      assert.match(c.lines.join("\n"), /open pt-hq 192\.168\.50\.10 peer 192\.168\.50\.1 mtu 1396/);
      assert.equal(c.net.routes.get("127.0.0.1/32")?.dev, "lo", "host route to the server outside the tunnel");
      assert.equal(c.net.routes.get("10.20.0.0/16")?.dev, "pt-hq");
      // IP from our TUN arrives at the server's TUN, and back
      const up = fakeIpPacket(300, 7, "192.168.50.10", "10.0.0.9");
      c.tun().inject(up);
      await waitFor(() => site.serverTun.written.some((p) => p.length === up.length), "packet at the server's TUN");
      const down = fakeIpPacket(500, 9, "10.0.0.9", "192.168.50.10");
      site.serverTun.inject(down);
      await waitFor(() => c.tun().written.some((p) => p.length === down.length), "packet at the client's TUN");
      assert.deepEqual(c.tun().written.find((p) => p.length === down.length), down);
      const final = await c.client.stop("test hang-up");
      assert.equal(final.state, "stopped");
      await waitFor(() => site.lines.some((l) => /session down/.test(l)), "server sees the hang-up");
      assert.equal(c.net.routes.size, 0, `every route taken away: ${c.net.log.join("; ")}`);
    } finally {
      await c.client.stop();
      await site.stop();
    }
  });

  test("an IPCP renegotiation while up is the same session: counters.sessions 1, uptime kept, 'renegotiated with' instead of a second 'connected to'", async () => {
    const site = await serverSite();
    const c = clientFor(site, "password = pw1");
    try {
      await c.client.start();
      await waitFor(() => c.client.state === "up", `client up\n${both(site, c)}`);
      // Our client's link sends a new IPCP Configure-Request for its address (RFC 1661 §3.2: in Opened it restarts
      // negotiation): both links renegotiate IPCP and raise network-up again.
      const inner = c.client as unknown as { runner: { conn: { sessions: Map<number, { channel: { send(now: number, b: Uint8Array, o: number, l: number): boolean } }> } }; callId: number; upSince: number };
      const since = inner.upSince;
      const ipcpRequest = new Uint8Array([0xff, 0x03, 0x80, 0x21, 0x01, 0x55, 0x00, 0x0a, 0x03, 0x06, 192, 168, 50, 10]);
      inner.runner.conn.sessions.get(inner.callId)!.channel.send(performance.now(), ipcpRequest, 0, ipcpRequest.length);
      // The client logs its second network-up either way ("renegotiated with", or before the fix "connected to").
      await waitFor(() => c.lines.filter((l) => /renegotiated with|connected to/.test(l)).length === 2, `second network-up\n${both(site, c)}`);
      assert.equal(c.lines.filter((l) => l.includes("connected to")).length, 1, both(site, c));
      assert.equal(c.client.counters.sessions, 1);
      assert.equal(inner.upSince, since, "the uptime goes on from the first network-up");
      assert.ok(c.lines.some((l) => l.includes("renegotiated with 127.0.0.1: address 192.168.50.10")), both(site, c));
      // Still carrying IP.
      const up = fakeIpPacket(300, 7, "192.168.50.10", "10.0.0.9");
      c.tun().inject(up);
      await waitFor(() => site.serverTun.written.some((p) => p.length === up.length), "packet at the server's TUN");
    } finally {
      await c.client.stop();
      await site.stop();
    }
  });

  test("wrong password: gives up at once in interactive use and says authentication failed (691)", async () => {
    const site = await serverSite();
    const c = clientFor(site, "password = wrong", { stopOnRefusal: true });
    try {
      await c.client.start();
      const final = await c.client.done;
      assert.equal(final.state, "failed", both(site, c));
      assert.match(final.lastError ?? "", /authentication failed \(691\)/, both(site, c));
      assert.equal(final.lastErrorCode, 691);
      assert.equal(final.failures, 1);
    } finally {
      await site.stop();
    }
  });

  test("server requires MPPE-128 only, profile allows only 40: refused with the reason in plain words", async () => {
    const strict = await serverSite("128");
    const c = clientFor(strict, "password = pw1\nmppe-strengths = 40", { stopOnRefusal: true });
    try {
      await c.client.start();
      const final = await c.client.done;
      assert.equal(final.state, "failed", both(strict, c));
      assert.match(final.lastError ?? "", /MPPE-128/, both(strict, c));
      assert.match(final.lastError ?? "", /MPPE-40/, both(strict, c));
      assert.equal(final.lastErrorCode, 742);
    } finally {
      await strict.stop();
    }
  });

  test("a dropped session is redialled with backoff, and max-failures ends the retries", async () => {
    const site = await serverSite();
    const c = clientFor(site, "password = pw1\nreconnect-delay = 100ms\nreconnect-max-delay = 400ms");
    try {
      await c.client.start();
      await waitFor(() => c.client.state === "up", `first session\n${both(site, c)}`);
      assert.equal(site.server!.clear("alice", "test drop"), 1);
      await waitFor(() => c.statuses.some((s) => s.state === "retry-wait"), `retry-wait\n${both(site, c)}`);
      await waitFor(() => c.client.state === "up" && c.client.counters.sessions === 2, `second session\n${both(site, c)}`);
      assert.match(c.lines.join("\n"), /redialling in 0\.\d s/);
      assert.match(c.lines.join("\n"), /disconnected: .*test drop/);
    } finally {
      await c.client.stop();
      await site.stop();
    }
  });

  test("keepalive: when the server stops answering LCP echoes the client says so and redials", async () => {
    const site = await serverSite();
    const c = clientFor(site, "password = pw1\nlcp-echo-interval = 200ms\nlcp-echo-failures = 2\nreconnect-delay = 5s");
    try {
      await c.client.start();
      await waitFor(() => c.client.state === "up", `up\n${both(site, c)}`);
      site.cutGre!();
      await waitFor(() => c.client.state === "retry-wait", `echo failure detected\n${both(site, c)}`);
      const final = c.client.snapshot();
      assert.match(final.lastError ?? "", /no answer to 2 LCP echo requests/, both(site, c));
      assert.match(c.lines.join("\n"), /redialling in [4-6]\.\d s/);
    } finally {
      await c.client.stop();
      await site.stop();
    }
  });

  test("a named peer known by its address is that peer only when it logs in as the peer's user", async () => {
    const users = [{ user: "alice", password: "pw1" }, { user: "branch", password: "brpw" }];
    const site = await serverSite("128", users, "[peer branch]\nrole = server\nuser = branch\nremote = 127.0.0.2\nremote-address = 172.16.0.2\nroutes = 192.168.20.0/24\n");
    const anon = clientFor(site, "password = pw1");
    try {
      await anon.client.start();
      await waitFor(() => anon.client.state === "up", `alice up\n${both(site, anon)}`);
      assert.equal(anon.client.snapshot().localAddress, "192.168.50.10", "alice from the branch's address is an ordinary dial-in user");
      assert.equal(site.server!.sessions()[0]?.peerName, undefined);
      await anon.client.stop();
      // the same address, now as the peer's user
      const br = clientFor(site, "password = brpw", { user: "branch" });
      await br.client.start();
      await waitFor(() => br.client.state === "up", `branch up\n${both(site, br)}`);
      assert.equal(br.client.snapshot().localAddress, "172.16.0.2");
      assert.equal(site.server!.sessions()[0]?.peerName, "branch");
      await br.client.stop();
    } finally {
      await anon.client.stop();
      await site.stop();
    }
  });

  test("GRE blocked (TCP 1723 passes, protocol 47 does not): said in those words, not as a PPP failure", async () => {
    const site = await serverSite();
    const c = clientFor(site, "password = pw1\nmax-failures = 1", { greSilenceMs: 1500 });
    c.cutGre();
    try {
      await c.client.start();
      const final = await c.client.done;
      assert.equal(final.state, "failed", both(site, c));
      assert.match(final.lastError ?? "", /no PPP answer over GRE from 127\.0\.0\.1 within 2 s although the call is connected: GRE \(IP protocol 47\) is probably blocked/, both(site, c));
      assert.equal(final.lastErrorCode, 806);
    } finally {
      await site.stop();
    }
  });

  test("server unreachable: each attempt fails with the reason, backoff grows, max-failures gives up", async () => {
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", () => r()));
    const port = (dead.address() as net.AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const site = { port, grenet: new MemoryGreNetwork(), serverTun: new MemoryTun(), lines: [] as string[], stop: async () => undefined };
    const c = clientFor(site, "password = pw1\nreconnect-delay = 100ms\nreconnect-max-delay = 1s\nmax-failures = 3");
    await c.client.start();
    const final = await c.client.done;
    assert.equal(final.state, "failed");
    assert.equal(final.failures, 3);
    assert.match(final.lastError ?? "", /connection refused: nothing listens on the PPTP port/);
    const waits = [...c.lines.join("\n").matchAll(/redialling in ([\d.]+) s/g)].map((m) => Number(m[1]));
    assert.equal(waits.length, 2, c.lines.join("\n"));
    assert.ok(waits[1] > waits[0], `backoff grows: ${waits.join(", ")}`);
  });

  test("dial-on-demand: routes first, the first packet dials and is delivered, the idle timer hangs up, traffic dials again", async () => {
    const site = await serverSite();
    // The idle limit runs on the client's clock: a fake one, moved by hand (checkSessionTimers is the once-a-second
    // housekeeping), so the test never waits for the limit to pass.
    const clock = new FakeClock(1_000_000);
    const c = clientFor(site, "password = pw1\nconnect = on-demand\nroutes = 10.30.0.0/16\nidle-timeout = 2s", { clock: () => clock.now });
    try {
      await c.client.start();
      assert.equal(c.client.state, "waiting-for-traffic");
      assert.equal(c.net.routes.get("10.30.0.0/16")?.dev, "pt-hq", "route in place before the tunnel");
      assert.match(c.lines.join("\n"), /open pt-hq 10\.64\.64\.\d+ peer 10\.112\.112\.\d+/, "placeholder addresses until IPCP");
      const first = fakeIpPacket(200, 3, "192.168.50.10", "10.30.1.1");
      c.tun().inject(first);
      await waitFor(() => c.client.state === "up", `up on demand\n${both(site, c)}`);
      assert.match(c.net.log.join("\n"), /link pt-hq 192\.168\.50\.10 peer 192\.168\.50\.1 mtu 1396/);
      await waitFor(() => site.serverTun.written.some((p) => p.length === first.length), "the packet that dialled arrives");
      clock.advance(1999);
      c.client.checkSessionTimers();
      await sleep(20);
      assert.equal(c.client.state, "up", "still up 1 ms before the idle limit");
      clock.advance(1);
      c.client.checkSessionTimers();
      clock.advance(1000); // the call is cleared 250 ms after its link ends, on the same clock
      await waitFor(() => c.client.state === "waiting-for-traffic", `idle hang-up\n${both(site, c)}`);
      assert.match(c.lines.join("\n"), /hanging up: idle for 2 s \(idle-timeout\)/);
      assert.equal(c.net.routes.get("10.30.0.0/16")?.dev, "pt-hq", "on-demand routes stay");
      c.tun().inject(fakeIpPacket(100, 4, "192.168.50.10", "10.30.1.1"));
      await waitFor(() => c.client.counters.sessions === 2 && c.client.state === "up", `second on-demand session\n${both(site, c)}`);
    } finally {
      await c.client.stop();
      await site.stop();
    }
  });
});

describe("multi-homed hosts: a call's GRE leaves from, and is accepted only at, its control connection's address", () => {
  test("server listening on 0.0.0.0 whose route prefers another source: GRE still leaves from the address the client dialled", async () => {
    const site = await serverSite("128, 40", undefined, "", "127.0.0.5");
    const c = clientFor(site, "password = pw1");
    try {
      await c.client.start();
      await waitFor(() => c.client.state === "up", `client up\n${both(site, c)}`);
      const down = fakeIpPacket(200, 3, "10.0.0.9", "192.168.50.10");
      site.serverTun.inject(down);
      await waitFor(() => c.tun().written.some((p) => p.length === down.length), "packet at the client's TUN");
      // GRE for the live call, from the right peer but sent to the server's other address, is not the call's.
      const callId = site.server!.sessions()[0].callId;
      const stray = new Uint8Array(16);
      const n = emitGreHeader(stray, 0, callId, 0, undefined, 1);
      const before = site.server!.greCounters.wrongLocalAddress;
      assert.equal(c.greSock.send(stray, 0, n, unwrap(parseIpv4("127.0.0.5")), unwrap(parseIpv4("127.0.0.2"))), true);
      await waitFor(() => site.server!.greCounters.wrongLocalAddress === before + 1, `stray GRE counted\n${both(site, c)}`);
      assert.equal(c.client.state, "up");
    } finally {
      await c.client.stop();
      await site.stop();
    }
  });

  test("a multi-homed server that sends GRE from another address: the client says so instead of blaming a firewall", async () => {
    const site = await serverSite("128, 40", undefined, "", "127.0.0.5", true);
    const c = clientFor(site, "password = pw1\nmax-failures = 1", { greSilenceMs: 1500 });
    try {
      await c.client.start();
      const final = await c.client.done;
      assert.equal(final.state, "failed", both(site, c));
      assert.match(
        final.lastError ?? "",
        /no PPP answer over GRE from 127\.0\.0\.1 within 2 s although the call is connected: GRE for this call arrives from 127\.0\.0\.5 instead: the server is multi-homed/,
        both(site, c),
      );
      assert.equal(final.lastErrorCode, 806);
    } finally {
      await site.stop();
    }
  });

  test("client whose route prefers another source: its GRE leaves from the address its TCP connection uses", async () => {
    const site = await serverSite();
    const c = clientFor(site, "password = pw1", { greMain: "127.0.0.6" });
    try {
      await c.client.start();
      await waitFor(() => c.client.state === "up", `client up\n${both(site, c)}`);
      const up = fakeIpPacket(300, 7, "192.168.50.10", "10.0.0.9");
      c.tun().inject(up);
      await waitFor(() => site.serverTun.written.some((p) => p.length === up.length), "packet at the server's TUN");
      assert.equal(site.server!.greCounters.wrongPeer, 0);
    } finally {
      await c.client.stop();
      await site.stop();
    }
  });
});

describe("LAN-to-LAN: the server starts the call (SCCRQ from the server, ICRQ/ICRP/ICCN from the client)", () => {
  test("traffic for the branch's LAN at the server dials the branch, which answers with an Incoming-Call-Request", async () => {
    // The branch (client role, answer = yes) listens for its head office; the head office (server role) has a
    // named peer for the branch with connect = on-demand and routes to the branch LAN.
    const grenet = new MemoryGreNetwork();
    const lines: string[] = [];
    const branchListener = net.createServer();
    await new Promise<void>((r) => branchListener.listen(0, "127.0.0.3", () => r()));
    const branchPort = (branchListener.address() as net.AddressInfo).port;
    const hqCfg = config(
      `[server]\nlisten = 127.0.0.1\nport = 0\n[peer branch]\nrole = server\nconnect = on-demand\nremote = 127.0.0.3\nport = ${branchPort}\nuser = branch\npassword = brpw\nremote-address = 172.16.0.2\nlocal-address = 172.16.0.1\nroutes = 192.168.20.0/24\n`,
    );
    const hqTun = new MemoryTun();
    const hq = new PptpServer({
      settings: hqCfg,
      auth: new LocalUsers([{ user: "branch", password: "brpw" }]),
      pool: new AddressPool(hqCfg.ppp.pool),
      gre: grenet.attach("127.0.0.1"),
      tun: hqTun,
      log: logTo(lines, "hq"),
    });
    await hq.listen();
    const brCfg = config(`[server]\nenable = no\n[peer hq]\nrole = client\nconnect = passive\nanswer = yes\nremote = 127.0.0.1\nuser = branch\npassword = brpw\nroutes = 192.168.10.0/24\n`);
    let brTun: MemoryTun | undefined;
    const branch = new PptpClient({
      peer: brCfg.peers[0],
      gre: new GreDemux(grenet.attach("127.0.0.3"), () => performance.now()),
      openTun: (t) => (brTun = new MemoryTun(t.name, t.mtu)),
      net: new RecordingNetwork(),
      log: logTo(lines, "br"),
      bindAddress: "127.0.0.3",
    });
    branchListener.on("connection", (s) => {
      const from = (s.remoteAddress ?? "").replace(/^::ffff:/, "");
      if (!branch.matchesServer(from) || !branch.adopt(s)) s.destroy();
    });
    const iv = setInterval(() => {
      grenet.settle();
      hqTun.deliver();
      brTun?.deliver();
    }, 2);
    try {
      await branch.start();
      assert.equal(branch.state, "waiting-for-call");
      const pkt = fakeIpPacket(120, 5, "192.168.10.5", "192.168.20.7");
      hqTun.inject(pkt);
      await waitFor(() => branch.state === "up", `branch up\n${lines.join("\n")}`);
      const log = lines.join("\n");
      assert.match(log, /hq\[events\] peer branch: dialling 127\.0\.0\.3:\d+ \(traffic for 192\.168\.20\.7\)/);
      assert.match(log, /br\[events\] peer hq: the server 127\.0\.0\.1 called us: answering with an Incoming-Call-Request/);
      assert.match(log, /br\[events\] peer hq: ICRQ sent: call id \d+/);
      assert.match(log, /hq\[events\] ICRQ from 127\.0\.0\.3: peer call id \d+/);
      assert.match(log, /hq\[events\] call \d+ user=branch peer=127\.0\.0\.3: session up: address 172\.16\.0\.2/);
      assert.equal(branch.snapshot().localAddress, "172.16.0.2");
      // the packet that triggered the dial was held and delivered, and the branch's answer comes back
      await waitFor(() => brTun!.written.some((p) => p.length === pkt.length), `held packet delivered to the branch LAN ${JSON.stringify(branch.counters)}\n${lines.join("\n")}`);
      const back = fakeIpPacket(140, 6, "192.168.20.7", "192.168.10.5");
      brTun!.inject(back);
      await waitFor(() => hqTun.written.some((p) => p.length === back.length), "reply at the head office");
      assert.equal(hq.sessions()[0]?.peerName, "branch");
    } finally {
      clearInterval(iv);
      await branch.stop();
      await hq.close();
      branchListener.close();
    }
  });
});
