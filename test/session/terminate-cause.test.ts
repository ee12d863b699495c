/**
 * The accounting cause (RFC 2866 §5.10) a server-side call-down carries for each way a PPTP call ends, through the
 * composed connections in memory with a fake clock: the client's LCP Terminate-Request, its Call-Clear-Request,
 * its Stop-Control-Connection-Request, TCP gone without goodbye, a malformed control stream, and our own hang-ups.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { makeHarness, ofType, type Harness } from "./inproc-harness.js";
import { LocalUsers } from "../../src/aaa/local.js";
import { controlCloseCause } from "../../src/session/terminate-cause.js";
import { seededRandom } from "../support/random.js";
import type { TerminateCause } from "../../src/aaa/types.js";

const users = new LocalUsers([{ user: "alice", password: "pw" }]);

async function up(): Promise<Harness> {
  const h = makeHarness({
    auth: users,
    serverLink: { random: seededRandom(1), lcp: { echoIntervalMs: 0 }, authenticatePeer: { methods: ["mschap-v2"], hostName: "s" }, ccp: { policy: "require", strengths: [128] } },
    clientLink: {
      random: seededRandom(2),
      lcp: { echoIntervalMs: 0 },
      authenticateSelf: { methods: ["mschap-v2"], userName: "alice", password: "pw" },
      ipcp: () => ({ role: "client" }),
      ccp: { policy: "require", strengths: [128] },
    },
  });
  h.client.start(h.clock.now);
  h.server.start(h.clock.now);
  await h.settle(() => ofType(h.serverEvents, "network-up").length > 0);
  assert.equal(ofType(h.serverEvents, "network-up").length, 1);
  return h;
}

async function causeAfter(act: (h: Harness, callId: number) => void): Promise<TerminateCause> {
  const h = await up();
  const callId = ofType(h.serverEvents, "network-up")[0].callId;
  act(h, callId);
  await h.settle(() => ofType(h.serverEvents, "call-down").length > 0, 30_000);
  const [down] = ofType(h.serverEvents, "call-down");
  assert.ok(down, "the call went down");
  return down.cause;
}

describe("call-down causes", () => {
  test("the client's goodbyes are user-request", async () => {
    assert.equal(await causeAfter((h) => h.client.hangUp(h.clock.now, h.client.currentCallId!, "bye")), "user-request");
    assert.equal(await causeAfter((h) => h.client.control.clearCall(h.clock.now, h.client.currentCallId!)), "user-request");
    assert.equal(await causeAfter((h) => h.client.control.stop(h.clock.now)), "user-request");
  });

  test("TCP gone without goodbye is lost-carrier; a malformed control stream is port-error", async () => {
    assert.equal(await causeAfter((h) => h.server.handleTransportClosed(h.clock.now)), "lost-carrier");
    assert.equal(
      await causeAfter((h) => h.server.handleBytes(h.clock.now, new Uint8Array([0, 16, 0, 1, 0xde, 0xad, 0xbe, 0xef, 0, 1, 0, 0, 0, 0, 0, 0]))),
      "port-error",
    );
  });

  test("our hang-ups carry the cause given: admin-reset by default, nas-reboot at shutdown, a timer's own", async () => {
    assert.equal(await causeAfter((h, id) => h.server.hangUp(h.clock.now, id, "cleared")), "admin-reset");
    assert.equal(await causeAfter((h, id) => h.server.hangUp(h.clock.now, id, "idle", "idle-timeout")), "idle-timeout");
    assert.equal(await causeAfter((h) => h.server.shutdown(h.clock.now, "server stopping")), "nas-reboot");
  });

  test("control connection ends map to causes", () => {
    assert.deepEqual(
      (["peer-stop", "transport-closed", "keepalive", "protocol-error", "local", undefined] as const).map(controlCloseCause),
      ["user-request", "lost-carrier", "lost-carrier", "port-error", "nas-request", "nas-request"],
    );
  });
});
