/**
 * What an idle PppLink costs: its `packets` log lines are built only when the owner reads them (PppLinkConfig
 * logEnabled), and between a server link and a client link that both run the LCP keepalive, only the client
 * ends up sending Echo-Requests (the server role yields to a peer that echoes, lcp.ts "Keepalive").
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LocalUsers } from "../../src/aaa/local.js";
import type { PppLink } from "../../src/ppp/link.js";
import { makePair, run, serverLinkConfig, clientLinkConfig, type Pair } from "./link-harness.js";

const users = new LocalUsers([{ user: "alice", password: "s3cret-pass" }]);

/** LCP Echo-Request frames (address/control, protocol 0xc021, code 9). */
function isEchoRequest(f: Uint8Array): boolean {
  return f.length >= 5 && f[0] === 0xff && f[1] === 0x03 && f[2] === 0xc0 && f[3] === 0x21 && f[4] === 9;
}

/** Moves frames both ways on the fake clock for `ms`, counting each side's Echo-Requests. */
function idle(pair: Pair, ms: number): { server: number; client: number } {
  const { clock, server, client } = pair;
  const end = clock.now + ms;
  const count = { server: 0, client: 0 };
  const move = (from: PppLink, to: PppLink, side: "server" | "client"): boolean => {
    let moved = false;
    for (let f = from.pollTransmit(); f; f = from.pollTransmit()) {
      moved = true;
      if (isEchoRequest(f)) count[side]++;
      to.receiveFrame(clock.now + 1, f, 0, f.length);
    }
    for (let e = from.pollEvent(); e; e = from.pollEvent()) moved = true;
    return moved;
  };
  for (let guard = 0; guard < 100_000; guard++) {
    if (move(server, client, "server") || move(client, server, "client")) continue;
    const next = Math.min(server.pollTimeout() ?? Infinity, client.pollTimeout() ?? Infinity);
    if (next > end) return count;
    clock.now = Math.max(clock.now, next);
    if ((server.pollTimeout() ?? Infinity) <= clock.now) server.handleTimeout(clock.now);
    if ((client.pollTimeout() ?? Infinity) <= clock.now) client.handleTimeout(clock.now);
  }
  throw new Error("did not settle");
}

describe("an idle PppLink", () => {
  test("packets lines are not built when the owner does not read them; other categories still are", async () => {
    const asked = new Set<string>();
    const server = { ...serverLinkConfig({}), logEnabled: (c: string) => (asked.add(c), c !== "packets") };
    const pair = makePair(server, clientLinkConfig({}));
    await run(pair, users);
    assert.ok(pair.server.networkUp && pair.client.networkUp);
    const cats = (evs: Pair["serverEvents"]) => new Set(evs.flatMap((e) => (e.type === "log" ? [e.category] : [])));
    assert.ok(asked.has("packets"), "the filter is asked");
    assert.ok(!cats(pair.serverEvents).has("packets"), "no packets line from the filtered link");
    assert.ok(cats(pair.serverEvents).has("negotiation"), "negotiation lines still come");
    assert.ok(cats(pair.clientEvents).has("packets"), "the unfiltered link logs packets as before");
  });

  test("server and client links both echoing every 30 s: only the client sends Echo-Requests after the first round", async () => {
    const server = serverLinkConfig({});
    const pair = makePair({ ...server, lcp: { echoIntervalMs: 30_000, echoFailures: 4 } }, clientLinkConfig({ clientLcp: { echoIntervalMs: 30_000, echoFailures: 4 } }));
    await run(pair, users);
    assert.ok(pair.server.networkUp && pair.client.networkUp);
    idle(pair, 30_500); // the first round, where both timers may fall together
    const n = idle(pair, 20 * 60_000);
    assert.equal(n.server, 0, "the server only answers");
    assert.ok(n.client >= 39, `the client sent ${n.client} Echo-Requests in 20 minutes`);
    assert.ok(pair.server.networkUp && pair.client.networkUp);
  });
});

describe("a PppLink answers the peer's LCP Echo-Request in place while nobody reads its packets lines", () => {
  const frameOf = (magic: number, id: number): Uint8Array =>
    Uint8Array.from([0xff, 0x03, 0xc0, 0x21, 9, id, 0, 12, magic >>> 24, (magic >>> 16) & 0xff, (magic >>> 8) & 0xff, magic & 0xff, 1, 2, 3, 4]);

  test("the same reply frame and deadline as the general path, and no packets line", async () => {
    const quiet = makePair({ ...serverLinkConfig({}), logEnabled: (c) => c !== "packets" }, clientLinkConfig({}));
    const loud = makePair({ ...serverLinkConfig({}), logEnabled: () => true }, clientLinkConfig({}));
    const replies: Uint8Array[][] = [];
    const packetLines: number[] = [];
    const generalPath: number[] = [];
    for (const pair of [quiet, loud]) {
      await run(pair, users);
      assert.ok(pair.server.networkUp);
      for (let f = pair.server.pollTransmit(); f; f = pair.server.pollTransmit());
      const peerMagic = pair.server.lcpInfo!.peerMagic;
      const at = pair.clock.now + 1_000;
      // Inside a larger buffer at an offset, as the GRE channel delivers it.
      // Which path took it: the LCP engine's general input sees it only when the packets lines are read.
      const lcp = (pair.server as unknown as { lcp: { handlePacket: (now: number, p: Uint8Array) => void } }).lcp;
      const general = lcp.handlePacket.bind(lcp);
      let generalCalls = 0;
      lcp.handlePacket = (now, p) => (generalCalls++, general(now, p));
      const buf = new Uint8Array(40);
      buf.set(frameOf(peerMagic, 0x33), 7);
      assert.equal(pair.server.receiveFrame(at, buf, 7, 16), 0);
      const out: Uint8Array[] = [];
      for (let f = pair.server.pollTransmit(); f; f = pair.server.pollTransmit()) out.push(f);
      replies.push(out);
      let lines = 0;
      for (let e = pair.server.pollEvent(); e; e = pair.server.pollEvent()) if (e.type === "log" && e.category === "packets") lines++;
      packetLines.push(lines);
      generalPath.push(generalCalls);
      assert.equal(out.length, 1);
      assert.deepEqual([...out[0].subarray(0, 8)], [0xff, 0x03, 0xc0, 0x21, 10, 0x33, 0, 12], "Echo-Reply, same Identifier and Length");
      assert.deepEqual([...out[0].subarray(12)], [1, 2, 3, 4], "the request's Data");
    }
    assert.deepEqual(replies[0], replies[1], "byte for byte the general path's reply");
    assert.equal(quiet.server.pollTimeout(), loud.server.pollTimeout());
    assert.deepEqual(generalPath, [0, 1], "answered in place only while the packets lines are not read");
    assert.equal(packetLines[0], 0);
    assert.ok(packetLines[1] >= 2, `rcvd and sent lines on the general path: ${packetLines[1]}`);
  });
});
