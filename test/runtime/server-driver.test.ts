/**
 * The networked server driver (src/server/server.ts) over a real loopback TCP connection, with in-memory GRE
 * and TUN doubles: routing by Call ID and peer address, by tunnel address on the TUN side, limits, admin clear,
 * shutdown. The stock-peer interop tests (test/interop) cover the real raw socket and TUN.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { PptpServer, type AddressAllocator, type PptpServerOptions } from "../../src/server/server.js";
import { defaultConfig, type ServerConfig } from "../../src/config/config.js";
import { AddressPool } from "../../src/server/pool.js";
import type { LogCategory } from "../../src/session/connection.js";
import { LocalUsers } from "../../src/aaa/local.js";
import { MemoryGreNetwork, MemoryTun } from "../../src/io/memory.js";
import { fakeIpPacket } from "../support/random.js";
import { bytesEqual } from "../../src/wire/bytes.js";
import { FakeClock } from "../../src/core/clock.js";
import { dial, sleep, waitFor } from "./server-rig.js";

const base = defaultConfig();
const settings: ServerConfig = {
  ...base,
  server: { ...base.server, listen: "127.0.0.1", port: 0, hostname: "pptp-ts-test", maxSessions: 2 },
  ppp: { ...base.ppp, dns: ["10.0.0.53"] },
  mppe: { policy: "require", strengths: [128], stateless: "prefer" },
};

class TestPool implements AddressAllocator {
  private free = ["192.168.50.10", "192.168.50.11", "192.168.50.12"];
  allocate(): string | undefined {
    return this.free.shift();
  }
  release(a: string): void {
    this.free.push(a);
  }
}


interface Rig {
  server: PptpServer;
  port: number;
  grenet: MemoryGreNetwork;
  tun: MemoryTun;
  lines: string[];
  pump: () => void;
  stop: () => void;
}

async function rig(
  s: ServerConfig = settings,
  pool: AddressAllocator = new TestPool(),
  users?: LocalUsers,
  o: { clock?: () => number; hostRoutes?: PptpServerOptions["hostRoutes"] } = {},
): Promise<Rig> {
  const grenet = new MemoryGreNetwork();
  const tun = new MemoryTun();
  const lines: string[] = [];
  const server = new PptpServer({
    settings: s,
    auth: users ?? new LocalUsers([{ user: "alice", password: "pw1" }, { user: "bob", password: "pw2" }]),
    pool,
    gre: grenet.attach("127.0.0.1"),
    tun,
    log: { enabled: (_c: LogCategory) => true, log: (c, m) => lines.push(`[${c}] ${m}`) },
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.hostRoutes ? { hostRoutes: o.hostRoutes } : {}),
  });
  const a = await server.listen();
  // The memory network delivers only when asked: a fast interval stands in for the kernel.
  const iv = setInterval(() => {
    grenet.settle();
    tun.deliver();
  }, 2);
  return { server, port: a.port, grenet, tun, lines, pump: () => grenet.settle(), stop: () => clearInterval(iv) };
}


describe("networked server driver", () => {
  test("a client dials over TCP, authenticates, gets an address; IP flows both ways through TUN", async () => {
    const r = await rig();
    try {
      const c = dial(r, "127.0.0.2", "alice", "pw1");
      await waitFor(() => c.up() && r.server.sessionCount === 1);
      const [info] = r.server.sessions();
      assert.equal(info.user, "alice");
      assert.equal(info.address, "192.168.50.10");
      assert.equal(info.mppe, "128-bit stateless");
      // client → server: arrives on the TUN decrypted
      const up = fakeIpPacket(300, 1, "192.168.50.10", "10.1.1.1");
      assert.ok(c.client.sendIp(c.now(), c.client.currentCallId!, up, 0, up.length));
      await waitFor(() => r.tun.written.length > 0);
      assert.ok(bytesEqual(r.tun.written[0], up));
      // kernel → TUN → routed by destination address to alice's call
      // the largest the client's MRU (1400, less MPPE's 4 octets) takes in one frame
      const down = fakeIpPacket(1396, 2, "10.1.1.1", "192.168.50.10");
      r.tun.inject(down);
      await waitFor(() => c.ipIn.length > 0);
      assert.ok(bytesEqual(c.ipIn[0], down));
      // a packet for an address nobody has is counted, not sent
      r.tun.inject(fakeIpPacket(100, 3, "10.1.1.1", "192.168.50.99"));
      await waitFor(() => r.server.counters.tunNoRoute === 1);
      const log = r.lines.join("\n");
      assert.match(log, /SCCRQ received from 127\.0\.0\.2/);
      assert.match(log, /auth succeeded for user alice with MS-CHAPv2/);
      assert.match(log, /MPPE 128-bit stateless/);
      assert.match(log, /session up: address 192\.168\.50\.10/);
      // admin clear by user name: LCP Terminate → CDN → the client stops the control connection
      assert.equal(r.server.clear("alice"), 1);
      await waitFor(() => c.down() && r.server.sessionCount === 0);
      assert.match(r.lines.join("\n"), /session down: administratively cleared/);
    } finally {
      r.stop();
      await r.server.close();
    }
  });

  test("GRE with a known Call ID from the wrong address is dropped and counted", async () => {
    const r = await rig();
    try {
      const c = dial(r, "127.0.0.2", "alice", "pw1");
      await waitFor(() => c.up());
      const [info] = r.server.sessions();
      const intruder = r.grenet.attach("127.0.0.9");
      // A valid-looking GRE header for alice's call, from another host (RFC 2637 §4.1 key = length + call ID).
      const pkt = new Uint8Array([0x30, 0x01, 0x88, 0x0b, 0x00, 0x04, info.callId >> 8, info.callId & 0xff, 0, 0, 0, 9, 0xff, 0x03, 0xc0, 0x21]);
      intruder.send(pkt, 0, 12 + 4, 0x7f000001);
      await waitFor(() => r.server.greCounters.wrongPeer === 1);
      assert.equal(r.server.sessionCount, 1, "the session is undisturbed");
    } finally {
      r.stop();
      await r.server.close();
    }
  });

  test("over max-sessions: the third caller gets OCRP busy and the log says why; wrong password gets 691", async () => {
    const r = await rig();
    try {
      const a = dial(r, "127.0.0.2", "alice", "pw1");
      const b = dial(r, "127.0.0.3", "bob", "pw2");
      await waitFor(() => a.up() && b.up());
      const c = dial(r, "127.0.0.4", "alice", "pw1");
      await waitFor(() => c.down());
      assert.match(r.lines.join("\n"), /refused \(busy\): maximum of 2 sessions reached \(max-sessions\)/);
      assert.equal(r.server.sessionCount, 2);
      b.client.hangUp(b.now(), b.client.currentCallId!, "bye");
      b.service();
      await waitFor(() => r.server.sessionCount === 1);
      const d = dial(r, "127.0.0.5", "bob", "wrong");
      await waitFor(() => d.down());
      const down = d.events.find((e) => e.type === "call-down") as { code?: number };
      assert.equal(down.code, 691);
      assert.match(r.lines.join("\n"), /auth failed for user bob with MS-CHAPv2: error 691/);
      await waitFor(() => r.server.sessionCount === 1);
    } finally {
      r.stop();
      await r.server.close();
    }
  });

  test("shutdown hangs up every session and the clients see the control connection stop", async () => {
    const r = await rig();
    const a = dial(r, "127.0.0.2", "alice", "pw1");
    await waitFor(() => a.up());
    r.stop();
    await r.server.close("maintenance");
    await waitFor(() => a.down() && a.client.isClosed);
    assert.match(r.lines.join("\n"), /shutting down: maintenance/);
  });
});

describe("networked server driver: timers and reload", () => {
  // The idle and session limits are read on the server's clock: a fake one here, moved by hand, with the once-a-
  // second housekeeping run by the test (checkSessionTimers), so no test waits for a limit to pass.
  test("idle timeout: a session without data is hung up at its limit, not before, with the reason in the log", async () => {
    const clock = new FakeClock(1_000_000);
    const r = await rig({ ...settings, timers: { ...settings.timers, idleTimeoutMs: 1500 } }, undefined, undefined, { clock: () => clock.now });
    try {
      const c = dial(r, "127.0.0.2", "alice", "pw1");
      await waitFor(() => c.up());
      clock.advance(1499);
      r.server.checkSessionTimers();
      await sleep(20);
      assert.ok(!c.down() && r.server.sessionCount === 1, "still up 1 ms before the idle limit");
      clock.advance(1);
      r.server.checkSessionTimers();
      await waitFor(() => c.down());
      assert.match(r.lines.join("\n"), /idle for 2 s: Tunnel disconnect timer timeout/);
      clock.advance(1000); // the call is cleared 250 ms after its link ends (on the same clock)
      await waitFor(() => r.server.sessionCount === 0);
    } finally {
      r.stop();
      await r.server.close();
    }
  });

  test("session timeout: a busy session is still hung up when its time is up", async () => {
    const clock = new FakeClock(1_000_000);
    const r = await rig({ ...settings, timers: { ...settings.timers, idleTimeoutMs: 1000, sessionTimeoutMs: 3000 } }, undefined, undefined, { clock: () => clock.now });
    try {
      const c = dial(r, "127.0.0.2", "alice", "pw1");
      await waitFor(() => c.up());
      // 29 packets 100 ms apart: never idle for 1 s, and 2.9 s < the 3 s limit.
      for (let i = 1; i < 30; i++) {
        clock.advance(100);
        const p = fakeIpPacket(100, i, "192.168.50.10", "10.1.1.1");
        const before = r.tun.written.length;
        c.client.sendIp(c.now(), c.client.currentCallId ?? 0, p, 0, p.length);
        c.service();
        await waitFor(() => r.tun.written.length > before);
        r.server.checkSessionTimers();
      }
      await sleep(20);
      assert.ok(!c.down(), `still up at 2.9 s:\n${r.lines.join("\n")}`);
      clock.advance(100);
      r.server.checkSessionTimers();
      await waitFor(() => c.down());
      assert.match(r.lines.join("\n"), /session time limit of 3 s reached/);
      assert.doesNotMatch(r.lines.join("\n"), /Tunnel disconnect timer timeout/);
    } finally {
      r.stop();
      await r.server.close();
    }
  });

  test("a static address from the users file is given even outside the pool, and refused while in use", async () => {
    const users = new LocalUsers([
      { user: "alice", password: "pw1", addresses: ["10.5.5.5"] },
      { user: "alice2", password: "pw1", addresses: ["10.5.5.5"] },
      { user: "carol", password: "pw3" },
    ]);
    // The pool's routes exist from the start; an address outside it gets its own /32 into the TUN while in use.
    const routes: string[] = [];
    const sys = {
      routeTo: async () => ({ dev: "lo" }),
      addRoute: async (cidr: string, ri: { dev: string }) => void routes.push(`add ${cidr} dev ${ri.dev}`),
      deleteRoute: async (cidr: string, dev?: string) => void routes.push(`del ${cidr} dev ${dev}`),
      setLink: async () => {},
    };
    const r = await rig(settings, new AddressPool([{ first: "192.168.50.10", last: "192.168.50.12" }]), users, { hostRoutes: { net: sys, dev: "pptp0" } });
    try {
      const a = dial(r, "127.0.0.2", "alice", "pw1");
      await waitFor(() => a.up());
      assert.equal(r.server.sessions()[0].address, "10.5.5.5");
      await waitFor(() => routes.length === 1);
      assert.deepEqual(routes, ["add 10.5.5.5/32 dev pptp0"]);
      const b = dial(r, "127.0.0.3", "alice2", "pw1");
      await waitFor(() => b.down());
      assert.match(r.lines.join("\n"), /static address 10\.5\.5\.5 of alice2 is already in use/);
      assert.deepEqual(routes, ["add 10.5.5.5/32 dev pptp0"], "the refused second session touched no route");
      assert.equal(r.server.clear("10.5.5.5", "test over"), 1);
      await waitFor(() => routes.length === 2);
      assert.deepEqual(routes, ["add 10.5.5.5/32 dev pptp0", "del 10.5.5.5/32 dev pptp0"]);
      // An address in the pool is routed by the pool's blocks already: no /32 for it.
      const c = dial(r, "127.0.0.4", "carol", "pw3");
      await waitFor(() => c.up());
      await sleep(50);
      assert.equal(routes.length, 2, routes.join(", "));
    } finally {
      r.stop();
      await r.server.close();
    }
  });

  test("host routes: a session that ends while its route is still being added has it removed after, not before", async () => {
    const users = new LocalUsers([{ user: "alice", password: "pw1", addresses: ["10.5.5.5"] }]);
    const routes: string[] = [];
    const sys = {
      routeTo: async () => ({ dev: "lo" }),
      // `ip route` can be slow on a busy host: the add completes only after the session has ended.
      addRoute: async (cidr: string, ri: { dev: string }) => {
        await sleep(300);
        routes.push(`add ${cidr} dev ${ri.dev}`);
      },
      deleteRoute: async (cidr: string, dev?: string) => void routes.push(`del ${cidr} dev ${dev}`),
      setLink: async () => {},
    };
    const r = await rig(settings, new AddressPool([{ first: "192.168.50.10", last: "192.168.50.12" }]), users, { hostRoutes: { net: sys, dev: "pptp0" } });
    try {
      const a = dial(r, "127.0.0.2", "alice", "pw1");
      await waitFor(() => a.up());
      assert.equal(r.server.clear("alice", "test over"), 1);
      await waitFor(() => routes.length === 2);
      assert.deepEqual(routes, ["add 10.5.5.5/32 dev pptp0", "del 10.5.5.5/32 dev pptp0"]);
    } finally {
      r.stop();
      await r.server.close();
    }
  });

  test("reload: established sessions stay, new settings and users apply to new calls", async () => {
    const r = await rig();
    try {
      const a = dial(r, "127.0.0.2", "alice", "pw1");
      await waitFor(() => a.up());
      r.server.reload({ ...settings, server: { ...settings.server, maxSessions: 5 } }, new LocalUsers([{ user: "carol", password: "pw3" }]));
      assert.match(r.lines.join("\n"), /configuration reloaded/);
      const c = dial(r, "127.0.0.3", "carol", "pw3");
      await waitFor(() => c.up());
      assert.equal(r.server.sessionCount, 2);
      assert.ok(!a.down(), "alice's session survived the reload");
      const b = dial(r, "127.0.0.4", "alice", "pw1");
      await waitFor(() => b.down());
      assert.equal((b.events.find((e) => e.type === "call-down") as { code?: number }).code, 691, "alice is no longer in the users file");
    } finally {
      r.stop();
      await r.server.close();
    }
  });
});
