/**
 * What the PPP link takes from the AAA backend's answer (AuthResult.session) before CCP starts — the user's MPPE
 * policy and strengths (RFC 2548 §2.4.4/2.4.5) and Framed-MTU (RFC 2865 §5.12) — and the accounting cause
 * (RFC 2866 §5.10) its "down" event carries for each way a link ends. Fake clock, two links back to back.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LocalUsers } from "../../src/aaa/local.js";
import type { AuthRequest, AuthResult, Authenticator, SessionPolicy } from "../../src/aaa/types.js";
import type { PppLinkConfig } from "../../src/ppp/link.js";
import { makePair, run, eventsOf, serverLinkConfig, clientLinkConfig, LINK_PASSWORD, type LinkOpts, type Pair } from "./link-harness.js";

const users = new LocalUsers([{ user: "alice", password: LINK_PASSWORD }]);

/** The local users' verdict plus a session policy, as a RADIUS reply would carry it. */
function withPolicy(policy: SessionPolicy): Authenticator {
  return { verify: async (req: AuthRequest): Promise<AuthResult> => {
    const r = await users.verify(req);
    return r.ok ? { ...r, session: policy } : r;
  } };
}

async function establish(o: LinkOpts, policy: SessionPolicy, server: Partial<PppLinkConfig> = {}): Promise<Pair> {
  const pair = makePair({ ...serverLinkConfig(o), ...server }, clientLinkConfig(o));
  await run(pair, withPolicy(policy));
  return pair;
}

const serverDown = (p: Pair) => eventsOf(p.serverEvents, "down")[0];

describe("link: the backend's MPPE policy and Framed-MTU", () => {
  test("'require' from the backend over a server that only prefers MPPE: a client that refuses it fails with 742", async () => {
    const p = await establish({ serverPolicy: "prefer", clientPolicy: "deny" }, { mppe: { policy: "require" } });
    assert.equal(p.server.networkUp, false);
    assert.deepEqual(serverDown(p) && { code: serverDown(p).code, cause: serverDown(p).cause }, { code: 742, cause: "user-error" });
  });

  test("'deny' from the backend over a server that requires MPPE: the session comes up in the clear", async () => {
    const p = await establish({ serverPolicy: "require", clientPolicy: "prefer" }, { mppe: { policy: "deny" } });
    assert.ok(p.server.networkUp && p.client.networkUp);
    assert.equal(p.server.mppeInfo, undefined);
    assert.ok(eventsOf(p.serverEvents, "log").some((e) => e.message.includes("forbids encryption")));
  });

  test("the backend's strengths narrow the configured ones; none in common under 'require' is 742", async () => {
    const p = await establish({ serverStrengths: [128, 56, 40], clientStrengths: [128, 56, 40] }, { mppe: { policy: "allow", strengths: [40] } });
    assert.equal(p.server.mppeInfo?.bits, 40);
    const q = await establish({ serverStrengths: [128] }, { mppe: { policy: "require", strengths: [40] } });
    assert.equal(serverDown(q)?.code, 742);
    assert.match(serverDown(q)!.reason, /allows MPPE 40-bit only, which \[mppe\] strengths \(128\) does not allow/);
  });

  test("Framed-MTU lowers maxIpOut below the peer's MRU, never raises it", async () => {
    const p = await establish({}, { framedMtu: 1000 });
    assert.ok(p.server.networkUp);
    assert.equal(p.server.maxIpOut, 1000);
    const q = await establish({}, { framedMtu: 9000 });
    assert.equal(q.server.maxIpOut, (q.server.lcpInfo?.peerMru ?? 1500) - 4, "the peer's MRU (less MPPE's 4 octets) stays the limit");
    assert.ok(q.server.maxIpOut < 9000);
  });
});

describe("link: the accounting cause of each end", () => {
  test("the client's Terminate-Request is user-request; our close names its cause (admin-reset by default)", async () => {
    const a = await establish({}, {});
    a.client.close(a.clock.now, "User request");
    await run(a, users);
    assert.equal(serverDown(a)?.cause, "user-request");
    const b = await establish({}, {});
    b.server.close(b.clock.now, "cleared");
    await run(b, users);
    assert.equal(serverDown(b)?.cause, "admin-reset");
    const c = await establish({}, {});
    c.server.close(c.clock.now, "idle", undefined, "idle-timeout");
    await run(c, users);
    assert.equal(serverDown(c)?.cause, "idle-timeout");
  });

  test("a wrong password is user-error; a refusal of the Network phase carries its own cause; lost lower layer has none", async () => {
    const a = await establish({ password: "wrong" }, {});
    assert.equal(serverDown(a)?.cause, "user-error");
    const b = await establish({}, {}, { ipcp: () => ({ refuse: "address pool exhausted", cause: "nas-request" }) });
    assert.deepEqual(serverDown(b) && { reason: serverDown(b).reason, cause: serverDown(b).cause }, { reason: "address pool exhausted", cause: "nas-request" });
    const c = await establish({}, {});
    c.server.lowerDown(c.clock.now);
    assert.equal(serverDown(c)?.cause, undefined, "the owner of the call knows why it went");
  });
});
