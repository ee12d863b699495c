/**
 * An idle session between our client and our server (in memory, fake clock): the server's `packets` lines are
 * not made when its log filter says nobody reads them (ConnectionBase.setLogFilter), and of the two ends' PPTP
 * keepalives only the client's remain after the first round (the server yields, control.ts "Timers").
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LocalUsers } from "../../src/aaa/local.js";
import { seededRandom } from "../support/random.js";
import { makeHarness, ofType, type Harness } from "./inproc-harness.js";
import type { LogCategory } from "../../src/session/log-category.js";

const users = new LocalUsers([{ user: "alice", password: "correct horse" }]);

function harness(): Harness {
  const h = makeHarness({
    auth: users,
    serverLink: {
      random: seededRandom(11),
      lcp: { echoIntervalMs: 30_000 },
      authenticatePeer: { methods: ["mschap-v2"], hostName: "pptp-ts" },
      ccp: { policy: "require", strengths: [128], stateless: "prefer" },
    },
    clientLink: {
      random: seededRandom(13),
      lcp: { echoIntervalMs: 30_000 },
      authenticateSelf: { methods: ["mschap-v2"], userName: "alice", password: "correct horse" },
      ipcp: () => ({ role: "client", requestDns: true }),
      ccp: { policy: "require", strengths: [128], stateless: "prefer" },
    },
  });
  return h;
}

function start(h: Harness): void {
  h.client.start(h.clock.now);
  h.server.start(h.clock.now);
}

const logCats = (h: Harness, side: "server" | "client") =>
  new Set(ofType(side === "server" ? h.serverEvents : h.clientEvents, "log").map((e) => e.category));

describe("an idle session between our client and our server", () => {
  test("the server's log filter: no packets line is made for a category nobody reads, per call", async () => {
    const h = harness();
    const asked: Array<[LogCategory, number | undefined]> = [];
    h.server.setLogFilter((c, callId) => (asked.push([c, callId]), c !== "packets"));
    start(h);
    await h.settle(() => ofType(h.serverEvents, "network-up").length > 0 && ofType(h.clientEvents, "network-up").length > 0);
    await h.settle(() => false, 5 * 60_000);
    assert.ok(!logCats(h, "server").has("packets"), "no packets lines from the server");
    assert.ok(logCats(h, "server").has("events"), "events lines still come");
    assert.ok(logCats(h, "client").has("packets"), "the client (no filter) logs packets as before");
    const callId = ofType(h.serverEvents, "network-up")[0].callId;
    assert.ok(asked.some(([c, id]) => c === "packets" && id === callId), "the link asks with its Call ID");
  });

  test("PPTP echo both ways every 60 s: after the first round only the client sends Echo-Requests", async () => {
    const h = harness();
    start(h);
    await h.settle(() => ofType(h.serverEvents, "network-up").length > 0);
    await h.settle(() => false, 2 * 60_000);
    const before = h.wire.length;
    await h.settle(() => false, 20 * 60_000);
    const later = h.wire.slice(before);
    assert.deepEqual(later.filter((l) => l === "s>c EchoRQ"), [], "the server only answers");
    assert.ok(later.filter((l) => l === "c>s EchoRQ").length >= 19, `client: ${later.filter((l) => l === "c>s EchoRQ").length}`);
    assert.equal(ofType(h.serverEvents, "call-down").length, 0);
  });
});
