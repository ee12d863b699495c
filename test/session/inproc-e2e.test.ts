/**
 * A client engine and a server engine, connected by in-memory transports, complete
 * SCCRQ → OCRQ → LCP → auth → CCP/MPPE → IPCP and exchange IP both ways — for each auth method and MPPE
 * strength, under GRE loss, duplication and reordering — and a wrong password ends with 691.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LocalUsers } from "../../src/aaa/local.js";
import type { AuthMethod } from "../../src/wire/ppp-protocols.js";
import type { CcpPolicy, MppeStrength } from "../../src/ppp/ccp.js";
import { bytesEqual } from "../../src/wire/bytes.js";
import { seededRandom, fakeIpPacket } from "../support/random.js";
import { makeHarness, ofType, type Harness, type NetFault } from "./inproc-harness.js";

const users = new LocalUsers([{ user: "alice", password: "correct horse" }]);

interface Case {
  method: AuthMethod;
  policy: CcpPolicy;
  bits?: MppeStrength;
  stateless?: boolean;
  password?: string;
  fault?: Partial<NetFault>;
  seed?: number;
}

function harness(c: Case): Harness {
  const strengths: MppeStrength[] = c.bits ? [c.bits] : [128, 56, 40];
  return makeHarness({
    auth: users,
    seed: c.seed ?? 7,
    ...(c.fault ? { fault: c.fault } : {}),
    serverLink: {
      random: seededRandom(11 + (c.seed ?? 0)),
      lcp: { echoIntervalMs: 10_000 },
      authenticatePeer: { methods: ["mschap-v2", "mschap-v1", "chap-md5", "pap"], hostName: "pptp-ts" },
      ccp: { policy: c.policy, strengths, stateless: c.stateless === false ? "deny" : "prefer" },
    },
    clientLink: {
      random: seededRandom(13 + (c.seed ?? 0)),
      lcp: { echoIntervalMs: 10_000 },
      authenticateSelf: { methods: [c.method], userName: "alice", password: c.password ?? "correct horse" },
      ipcp: () => ({ role: "client", requestDns: true }),
      ccp: { policy: c.policy, strengths, stateless: c.stateless === false ? "allow" : "prefer" },
    },
  });
}

const bothUp = (h: Harness) => () => ofType(h.serverEvents, "network-up").length > 0 && ofType(h.clientEvents, "network-up").length > 0;

async function up(h: Harness): Promise<void> {
  await h.settle(bothUp(h));
  assert.ok(bothUp(h)(), `session did not come up:\n${h.serverEvents.filter((e) => e.type === "log" || e.type === "call-down").map((e) => JSON.stringify(e)).slice(-12).join("\n")}`);
}

/** Sends n datagrams each way; returns how many arrived intact (and checks none arrived corrupted or twice). */
async function traffic(h: Harness, n: number, size: number): Promise<{ toServer: number; toClient: number }> {
  const serverCall = [...h.server.sessions.keys()][0];
  const clientCall = h.client.currentCallId!;
  const sentUp: Uint8Array[] = [];
  const sentDown: Uint8Array[] = [];
  h.serverIpIn.length = 0;
  h.clientIpIn.length = 0;
  for (let i = 0; i < n; i++) {
    const up = fakeIpPacket(size, i, "192.168.50.10", "10.1.1.1");
    up[4] = i >> 8; // IP identification carries the index so duplicates and corruption are visible
    up[5] = i & 0xff;
    const down = fakeIpPacket(size, i + 1000, "10.1.1.1", "192.168.50.10");
    down[4] = i >> 8;
    down[5] = i & 0xff;
    if (h.client.sendIp(h.clock.now, clientCall, up, 0, up.length)) sentUp.push(up);
    if (h.server.sendIp(h.clock.now, serverCall, down, 0, down.length)) sentDown.push(down);
    if (i % 8 === 7) await h.settle(() => false, 50); // let acks flow, as a real link would
  }
  await h.settle(() => false, 1000);
  const check = (got: Uint8Array[], sent: Uint8Array[]): number => {
    const seen = new Set<number>();
    for (const g of got) {
      const idx = (g[4] << 8) | g[5];
      assert.ok(!seen.has(idx), `datagram ${idx} delivered twice`);
      seen.add(idx);
      const s = sent.find((x) => ((x[4] << 8) | x[5]) === idx);
      assert.ok(s && bytesEqual(s, g), `datagram ${idx} corrupted`);
    }
    return got.length;
  };
  return { toServer: check(h.serverIpIn, sentUp), toClient: check(h.clientIpIn, sentDown) };
}

describe("in-process PPTP session: auth methods × MPPE", () => {
  const cases: Case[] = [
    { method: "mschap-v2", policy: "require", bits: 128, stateless: true },
    { method: "mschap-v2", policy: "require", bits: 128, stateless: false },
    { method: "mschap-v2", policy: "require", bits: 56, stateless: true },
    { method: "mschap-v2", policy: "require", bits: 40, stateless: true },
    { method: "mschap-v1", policy: "require", bits: 128, stateless: true },
    { method: "mschap-v1", policy: "require", bits: 40, stateless: false },
    { method: "chap-md5", policy: "deny" },
    { method: "pap", policy: "deny" },
  ];
  for (const c of cases) {
    const name = `${c.method} ${c.policy === "deny" ? "no MPPE" : `MPPE-${c.bits} ${c.stateless ? "stateless" : "stateful"}`}`;
    test(name, async () => {
      const h = harness(c);
      h.client.start(h.clock.now);
      h.server.start(h.clock.now);
      await up(h);
      const s = ofType(h.serverEvents, "network-up")[0];
      assert.equal(s.user, "alice");
      assert.equal(s.method, c.method);
      assert.equal(s.ipcp.peerAddress, "192.168.50.10");
      if (c.policy === "deny") assert.equal(s.mppe, undefined);
      else assert.deepEqual(s.mppe, { bits: c.bits, stateless: c.stateless });
      const cl = ofType(h.clientEvents, "network-up")[0];
      assert.equal(cl.ipcp.localAddress, "192.168.50.10");
      assert.deepEqual(cl.ipcp.dns, ["10.0.0.53"]);
      // 1396: the largest datagram the peer's MRU of 1400 takes under MPPE (4 octets of it); larger ones are fragmented.
      const r = await traffic(h, 40, 1396);
      assert.deepEqual(r, { toServer: 40, toClient: 40 });
      // The log says what happened in the words an operator expects.
      const log = h.serverEvents.filter((e) => e.type === "log").map((e) => (e as { message: string }).message).join("\n");
      assert.match(log, /SCCRQ received from 10\.99\.0\.2/);
      assert.match(log, /OCRQ from 10\.99\.0\.2: peer call id/);
      assert.match(log, /LCP up/);
      assert.match(log, new RegExp(`auth succeeded for user alice with`));
      assert.match(log, /IPCP up: local 192\.168\.50\.1 peer 192\.168\.50\.10/);
      if (c.policy !== "deny") assert.match(log, new RegExp(`MPPE ${c.bits}-bit ${c.stateless ? "stateless" : "stateful"}`));
      // Clean hang-up from the client: call cleared, control connection stopped, both closed.
      h.client.hangUp(h.clock.now, h.client.currentCallId!, "user hung up");
      await h.settle();
      assert.ok(h.client.isClosed && h.server.isClosed, "both control connections closed");
      assert.equal(h.server.sessions.size, 0);
      assert.equal(ofType(h.serverEvents, "call-down").length, 1);
    });
  }
});

describe("in-process PPTP session: a hostile network", () => {
  for (const [name, fault, seed] of [
    ["10% GRE loss", { loss: 0.1 }, 1],
    ["10% GRE duplication", { dup: 0.1 }, 2],
    ["20% GRE reordering", { reorder: 0.2 }, 3],
    ["loss, duplication and reordering together", { loss: 0.05, dup: 0.05, reorder: 0.1 }, 4],
  ] as const) {
    for (const stateless of [true, false]) {
      test(`${name}, MPPE-128 ${stateless ? "stateless" : "stateful"}: negotiation completes, data intact and never duplicated`, async () => {
        const h = harness({ method: "mschap-v2", policy: "require", bits: 128, stateless, fault, seed });
        h.client.start(h.clock.now);
        h.server.start(h.clock.now);
        await up(h);
        const r = await traffic(h, 200, 600);
        // Loss costs packets; nothing else may. Stateful MPPE (RFC 3078 §8.2) also drops everything between a loss and
        // the flushed packet answering its Reset-Request — a lost Reset-Request costs 100 ms of traffic — which is
        // why Windows and pppd prefer stateless mode on lossy paths.
        const floor = "loss" in fault ? (stateless ? 150 : 30) : 200;
        assert.ok(r.toServer >= floor && r.toClient >= floor, `delivered ${JSON.stringify(r)} of 200 each way (floor ${floor})`);
        if (!("loss" in fault)) assert.deepEqual(r, { toServer: 200, toClient: 200 });
      });
    }
  }
});

describe("in-process PPTP session: failures", () => {
  test("wrong password: the client sees 691, the server logs why, the call is cleared", async () => {
    const h = harness({ method: "mschap-v2", policy: "require", bits: 128, stateless: true, password: "wrong" });
    h.client.start(h.clock.now);
    h.server.start(h.clock.now);
    await h.settle();
    const down = ofType(h.clientEvents, "call-down");
    assert.equal(down.length, 1);
    assert.equal(down[0].code, 691);
    const log = h.serverEvents.filter((e) => e.type === "log").map((e) => (e as { message: string }).message).join("\n");
    assert.match(log, /auth failed for user alice with MS-CHAPv2: error 691/);
    assert.equal(ofType(h.serverEvents, "network-up").length, 0);
    assert.ok(h.client.isClosed && h.server.isClosed);
  });

  test("server at its session limit: OCRP busy, the client says the server refused the call", async () => {
    const h = makeHarness({
      auth: users,
      maxCalls: 0,
      serverLink: { random: seededRandom(1), authenticatePeer: { methods: ["mschap-v2"], hostName: "s" }, ccp: { policy: "require" } },
      clientLink: {
        random: seededRandom(2),
        authenticateSelf: { methods: ["mschap-v2"], userName: "alice", password: "correct horse" },
        ipcp: () => ({ role: "client" }),
        ccp: { policy: "require" },
      },
    });
    h.client.start(h.clock.now);
    h.server.start(h.clock.now);
    await h.settle();
    const log = h.serverEvents.filter((e) => e.type === "log").map((e) => (e as { message: string }).message).join("\n");
    assert.match(log, /refused \(busy\): maximum of 0 sessions reached/);
    assert.match(ofType(h.clientEvents, "call-down")[0]?.reason ?? "", /refused the call.*[Bb]usy/);
  });

  test("server shutdown: calls cleared and control connection stopped", async () => {
    const h = harness({ method: "mschap-v2", policy: "require", bits: 128, stateless: true });
    h.client.start(h.clock.now);
    h.server.start(h.clock.now);
    await up(h);
    h.server.shutdown(h.clock.now, "server shutting down");
    await h.settle();
    assert.ok(h.client.isClosed && h.server.isClosed);
    assert.equal(ofType(h.clientEvents, "call-down").length, 1);
  });

  test("the client vanishes: LCP echo gives up and the server clears the call", async () => {
    const h = harness({ method: "mschap-v2", policy: "require", bits: 128, stateless: true });
    h.client.start(h.clock.now);
    h.server.start(h.clock.now);
    await up(h);
    h.fault.loss = 1; // every GRE packet from now on is lost
    await h.settle(() => ofType(h.serverEvents, "call-down").length > 0, 600_000);
    const down = ofType(h.serverEvents, "call-down")[0];
    assert.ok(down, "call cleared");
    assert.match(down.reason, /LCP echo|not responding/);
  });
});
