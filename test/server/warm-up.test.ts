/**
 * The warm-up before listening (src/server/warm-up.ts): an in-memory session with the server's PPP settings comes
 * up, carries data both ways and hangs up, for every authentication method and MPPE choice; settings no client
 * could use make it fail with the reason; it leaves nothing behind in the event loop.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { warmUp } from "../../src/server/warm-up.js";
import type { PppLinkConfig } from "../../src/ppp/link.js";
import type { AuthMethod } from "../../src/wire/ppp-protocols.js";
import { seededRandom } from "../support/random.js";

type ServerLink = Omit<PppLinkConfig, "ipcp" | "role">;

function link(methods: AuthMethod[], ccp: NonNullable<ServerLink["ccp"]>): ServerLink {
  return {
    random: seededRandom(3),
    lcp: { mru: 1400, echoIntervalMs: 30_000, echoFailures: 3 },
    authenticatePeer: { methods, hostName: "pptp-ts" },
    ccp,
  };
}

for (const method of ["mschap-v2", "mschap-v1", "chap-md5", "pap"] as const) {
  test(`warm-up: ${method} without MPPE comes up and carries data`, async () => {
    const r = await warmUp(link([method], { policy: "deny" }), 1);
    assert.equal(r.ok, true, r.reason);
    assert.equal(r.method, method);
    assert.equal(r.mppe, "none");
  });
}

for (const [bits, stateless] of [[128, "prefer"], [56, "require"], [40, "deny"]] as const) {
  test(`warm-up: MS-CHAPv2 with MPPE-${bits} (stateless ${stateless}) negotiates what the server requires`, async () => {
    const r = await warmUp(link(["mschap-v2"], { policy: "require", strengths: [bits], stateless }));
    assert.equal(r.ok, true, r.reason);
    assert.equal(r.mppe, `${bits}-bit ${stateless === "deny" ? "stateful" : "stateless"}`);
  });
}

test("warm-up: settings no client can meet (MPPE required, PAP only: no MPPE keys) fail with the reason", async () => {
  const r = await warmUp(link(["pap"], { policy: "require", strengths: [128], stateless: "prefer" }), 1);
  assert.equal(r.ok, false);
  assert.match(r.reason ?? "", /MPPE|encrypt|CCP/i);
});

test("warm-up: with MPPE required, the first MS-CHAP method offered is the one tried (PAP offered first)", async () => {
  const r = await warmUp(link(["pap", "chap-md5", "mschap-v1", "mschap-v2"], { policy: "require", strengths: [128], stateless: "prefer" }), 1);
  assert.equal(r.ok, true, r.reason);
  assert.equal(r.method, "mschap-v1");
});

test("warm-up: leaves no timer, socket or handle behind", async () => {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
  const r = await warmUp(link(["mschap-v2"], { policy: "require", strengths: [128], stateless: "prefer" }), 2);
  assert.equal(r.ok, true, r.reason);
  assert.equal((process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length, handles);
});
