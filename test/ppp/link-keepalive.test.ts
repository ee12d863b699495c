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
