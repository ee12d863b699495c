/**
 * RadiusAuthenticator and the UDP client against Debian's FreeRADIUS 3.2, started by this test on loopback:
 * every PPP method accepted and refused, MPPE keys and the MS-CHAPv2 Authenticator Response equal to what we
 * compute locally, reply attributes mapped into the SessionPolicy, unreachable servers, failover, wrong secret.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { requireOrSkip } from "../../support/prerequisites.js";
import { freeradiusMissing, startFreeRadius, freeUdpPortPair, type FreeRadius } from "../../support/freeradius.js";
import { RadiusUdpClient, type RadiusUdpClientOptions } from "../../../src/io/radius-udp.js";
import { RadiusAuthenticator } from "../../../src/aaa/radius/authenticator.js";
import type { AuthContext, AuthRequest, AuthResult } from "../../../src/aaa/types.js";
import { verifyWithSecret, chapMd5Response } from "../../../src/aaa/verify-secret.js";
import { ntPasswordHash, mschap1NtResponse, mschap2NtResponse } from "../../../src/crypto/mschap.js";
import { mppeKeysMschap1 } from "../../../src/crypto/mppe-keys.js";
import { utf8 } from "../../../src/wire/bytes.js";

const skip = requireOrSkip("FreeRADIUS", freeradiusMissing());
const SECRET = "radius-test-secret";
const PASSWORD = "Secr3tPw";
const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const CTX: AuthContext = { sessionId: "5F3A00000001", callId: 7, peerAddress: "192.0.2.10", localAddress: "198.51.100.1" };

function requestFor(method: AuthRequest["method"], user: string, password: string): AuthRequest {
  switch (method) {
    case "pap":
      return { method, user, password };
    case "chap-md5": {
      const id = 42;
      const challenge = rnd(16);
      return { method, user, id, challenge, response: chapMd5Response(id, password, challenge) };
    }
    case "mschap-v1": {
      const challenge8 = rnd(8);
      return { method, user, challenge8, ntResponse24: mschap1NtResponse(challenge8, ntPasswordHash(password)), lmResponse24: new Uint8Array(24), useNt: true };
    }
    case "mschap-v2": {
      const authChallenge16 = rnd(16);
      const peerChallenge16 = rnd(16);
      return { method, user, authChallenge16, peerChallenge16, ntResponse24: mschap2NtResponse(authChallenge16, peerChallenge16, user, ntPasswordHash(password)) };
    }
  }
}

describe("RADIUS authentication through FreeRADIUS", { skip }, () => {
  let fr: FreeRadius;
  let client: RadiusUdpClient;
  let auth: RadiusAuthenticator;
  const logs: string[] = [];
  const opts = (o: Partial<RadiusUdpClientOptions> = {}): RadiusUdpClientOptions => ({
    servers: [{ host: "127.0.0.1", port: fr.authPort, secret: utf8(SECRET) }],
    timeoutMs: 500,
    retries: 1,
    deadlineMs: 3000,
    log: (l) => logs.push(l),
    ...o,
  });

  before(async () => {
    fr = await startFreeRadius({
      secret: SECRET,
      users: [
        { name: "alice", password: PASSWORD },
        {
          name: "policy",
          password: PASSWORD,
          reply: [
            "Framed-IP-Address = 255.255.255.254",
            "Framed-Pool = \"blue\"",
            "Framed-Route = \"10.20.0.0/16 0.0.0.0 1\"",
            "Framed-Route += \"172.16.5.7/24\"",
            "Framed-MTU = 1400",
            "Session-Timeout = 3600",
            "Idle-Timeout = 600",
            "Acct-Interim-Interval = 300",
            "Class = 0x6331",
            "Class += 0x6332",
            "Reply-Message = \"welcome\"",
            "MS-MPPE-Encryption-Policy = Encryption-Required",
            // RFC 2548 §2.4.5: S bit (0x4) = 128-bit. Not FreeRADIUS' name "RC4-128bit-Allowed", whose value 2 is
            // the L bit (40-bit) — its dictionary disagrees with the RFC and with its own "RC4-40or128-bit-Allowed" = 6.
            "MS-MPPE-Encryption-Types = 4",
          ],
        },
        { name: "fixed", password: PASSWORD, reply: ["Framed-IP-Address = 10.9.0.5"] },
        // Samba account flags, as rlm_mschap reads them: U normal, L locked out, e password expired.
        { name: "locked", password: PASSWORD, check: ['SMB-Account-CTRL-TEXT := "[UL]"'] },
        { name: "expired", password: PASSWORD, check: ['SMB-Account-CTRL-TEXT := "[Ue]"'] },
      ],
    });
    client = await RadiusUdpClient.create(opts());
    auth = new RadiusAuthenticator(client, { nasIdentifier: "pptp-ts-test" });
  });
  after(async () => {
    client?.close();
    await fr?.stop();
  });

  for (const method of ["pap", "chap-md5", "mschap-v1", "mschap-v2"] as const) {
    test(`${method}: right password accepted, wrong one refused with 691`, async () => {
      const good = await auth.verify(requestFor(method, "alice", PASSWORD), CTX);
      assert.ok(good.ok, JSON.stringify(good) + fr.output().slice(-2000));
      assert.equal(good.backend, `radius 127.0.0.1:${fr.authPort}`);
      const bad = await auth.verify(requestFor(method, "alice", "wrong"), CTX);
      assert.ok(!bad.ok);
      assert.equal(bad.code, 691);
      assert.equal(bad.unreachable, undefined);
      assert.match(bad.message, /rejected user "alice"/);
      // Without the call context (the server may not pass one yet) it works the same.
      const noCtx = await auth.verify(requestFor(method, "alice", PASSWORD));
      assert.ok(noCtx.ok);
    });
  }

  test("MS-CHAPv2: Authenticator Response and MPPE keys from RADIUS equal the local computation", async () => {
    const req = requestFor("mschap-v2", "alice", PASSWORD) as Extract<AuthRequest, { method: "mschap-v2" }>;
    const r = await auth.verify(req, CTX);
    const local = verifyWithSecret(req, { password: PASSWORD });
    assert.ok(r.ok && local.ok);
    assert.equal(r.authenticatorResponse, local.authenticatorResponse);
    assert.ok(r.mppe !== undefined);
    assert.deepEqual(r.mppe.send, local.mppe!.send, "MS-MPPE-Send-Key = our (server) send key");
    assert.deepEqual(r.mppe.recv, local.mppe!.recv);
  });

  test("MS-CHAPv1: MS-CHAP-MPPE-Keys give the RFC 3079 §2.3 128-bit start key; no LM key means no 40/56-bit", async () => {
    const req = requestFor("mschap-v1", "alice", PASSWORD) as Extract<AuthRequest, { method: "mschap-v1" }>;
    const r = await auth.verify(req, CTX);
    assert.ok(r.ok && r.mppe !== undefined);
    const local = mppeKeysMschap1(ntPasswordHash(PASSWORD), req.challenge8, PASSWORD);
    assert.deepEqual(r.mppe.send, local.send);
    assert.deepEqual(r.mppe.recv, local.recv);
    // FreeRADIUS 3.x always zeroes the LM key of MS-CHAP-MPPE-Keys: 40/56-bit MPPE is then refused with a
    // reason instead of keyed wrongly (the LM-key path is covered with a scripted server in authenticator.test).
    assert.equal(typeof r.mppe.short, "string", String(r.mppe.short));
    assert.match(r.mppe.short as string, /sent no LAN Manager key/);
  });

  test("reply attributes become the SessionPolicy", async () => {
    const r = await auth.verify(requestFor("pap", "policy", PASSWORD), CTX);
    assert.ok(r.ok);
    assert.deepEqual(r.session, {
      framedAddress: "pool",
      framedPool: "blue",
      framedRoutes: ["10.20.0.0/16", "172.16.5.0/24"],
      framedMtu: 1400,
      sessionTimeoutMs: 3600_000,
      idleTimeoutMs: 600_000,
      interimIntervalMs: 300_000,
      classes: [utf8("c1"), utf8("c2")],
      replyMessage: "welcome",
      mppe: { policy: "require", strengths: [128] },
    });
    assert.equal(r.addresses, undefined, "255.255.255.254 means the pool, not an address");
    const f = await auth.verify(requestFor("mschap-v2", "fixed", PASSWORD), CTX);
    assert.ok(f.ok);
    assert.deepEqual(f.addresses, ["10.9.0.5"]);
    assert.equal(f.session?.framedAddress, "10.9.0.5");
    // FreeRADIUS' mschap module adds its own MPPE policy: allowed, 40 or 128 bits.
    assert.deepEqual(f.session?.mppe, { policy: "allow", strengths: [40, 128] });
  });

  test("MS-CHAP-Error codes come through: 647 account locked/disabled, 648 password expired", async () => {
    const d = await auth.verify(requestFor("mschap-v2", "locked", PASSWORD), CTX);
    assert.ok(!d.ok);
    assert.equal(d.code, 647, d.message);
    const e = await auth.verify(requestFor("mschap-v2", "expired", PASSWORD), CTX);
    assert.ok(!e.ok);
    assert.equal(e.code, 648, e.message);
  });


  test("an unreachable server gives unreachable:true within the deadline, naming the server", async () => {
    const deadPort = await freeUdpPortPair();
    const c = await RadiusUdpClient.create(opts({ servers: [{ host: "127.0.0.1", port: deadPort, secret: utf8(SECRET) }], timeoutMs: 200, retries: 1, deadlineMs: 1500 }));
    try {
      const t0 = Date.now();
      const r = await new RadiusAuthenticator(c).verify(requestFor("pap", "alice", PASSWORD), CTX);
      const took = Date.now() - t0;
      assert.ok(!r.ok);
      assert.equal(r.unreachable, true);
      assert.match(r.message, new RegExp(`127\\.0\\.0\\.1:${deadPort} \\(2 transmissions unanswered\\)`));
      assert.ok(took >= 390 && took < 1500, `took ${took} ms`);
    } finally {
      c.close();
    }
  });

  test("failover: a dead first server, the live second one answers", async () => {
    const deadPort = await freeUdpPortPair();
    const c = await RadiusUdpClient.create(
      opts({ servers: [{ host: "127.0.0.1", port: deadPort, secret: utf8(SECRET) }, { host: "127.0.0.1", port: fr.authPort, secret: utf8(SECRET) }], timeoutMs: 200, retries: 1 }),
    );
    try {
      const r = await new RadiusAuthenticator(c).verify(requestFor("mschap-v2", "alice", PASSWORD), CTX);
      assert.ok(r.ok);
      assert.equal(r.backend, `radius 127.0.0.1:${fr.authPort}`);
      // The dead one is now skipped: the next request is answered at once.
      const t0 = Date.now();
      assert.ok((await new RadiusAuthenticator(c).verify(requestFor("pap", "alice", PASSWORD))).ok);
      assert.ok(Date.now() - t0 < 150);
    } finally {
      c.close();
    }
  });

  test("wrong shared secret: FreeRADIUS drops our requests (bad Message-Authenticator); the message names the secret", async () => {
    const wl: string[] = [];
    const c = await RadiusUdpClient.create(opts({ servers: [{ host: "127.0.0.1", port: fr.authPort, secret: utf8("not-the-secret") }], timeoutMs: 200, retries: 1, log: (l) => wl.push(l) }));
    try {
      const r = await new RadiusAuthenticator(c).verify(requestFor("pap", "alice", PASSWORD));
      assert.ok(!r.ok);
      assert.equal(r.unreachable, true);
      assert.match(wl.join("\n"), /shared secret/);
      assert.match(fr.output(), /Message-Authenticator|[Ss]hared secret/);
    } finally {
      c.close();
    }
  });

  test("a server that sends no Message-Authenticator (stock FreeRADIUS 3.2.1 post-auth) is refused, and told how to fix it", async () => {
    const bare = await startFreeRadius({ secret: SECRET, users: [{ name: "alice", password: PASSWORD }], messageAuthenticatorInReplies: false });
    const wl: string[] = [];
    const c = await RadiusUdpClient.create(opts({ servers: [{ host: "127.0.0.1", port: bare.authPort, secret: utf8(SECRET) }], timeoutMs: 200, retries: 1, log: (l) => wl.push(l) }));
    try {
      const r = await new RadiusAuthenticator(c).verify(requestFor("pap", "alice", PASSWORD));
      assert.ok(!r.ok);
      assert.equal(r.unreachable, true);
      assert.match(r.message, /replies dropped for lack of a Message-Authenticator/);
      assert.match(wl.join("\n"), /Message-Authenticator := 0x00/);
      assert.equal(c.counters()[0].dropped["missing-message-authenticator"], 2);
    } finally {
      c.close();
      await bare.stop();
    }
  });
});

describe("examples/freeradius", { skip }, () => {
  test("the example users file works in FreeRADIUS and the example pptp-ts config parses", async () => {
    const { readFileSync } = await import("node:fs");
    const { parseConfig } = await import("../../../src/config/config.js");
    const dir = new URL("../../../../examples/freeradius/", import.meta.url);
    const cfg = parseConfig(readFileSync(new URL("pptp-ts.conf", dir), "utf8"), "/etc/pptp-ts/pptp-ts.conf");
    assert.ok(cfg.ok, cfg.ok ? "" : cfg.errors.map(String).join("\n"));
    assert.deepEqual(cfg.config.aaa.auth, ["radius", "local"]);
    const fr = await startFreeRadius({ secret: SECRET, users: [], usersText: readFileSync(new URL("users", dir), "utf8") });
    const c = await RadiusUdpClient.create({ servers: [{ host: "127.0.0.1", port: fr.authPort, secret: utf8(SECRET) }], timeoutMs: 500, retries: 1, deadlineMs: 3000 });
    try {
      const auth = new RadiusAuthenticator(c);
      const a = await auth.verify(requestFor("mschap-v2", "alice", "correct horse battery staple"));
      assert.ok(a.ok && a.mppe !== undefined);
      assert.deepEqual(a.session?.framedAddress, "pool");
      const b = await auth.verify(requestFor("mschap-v2", "branch", "another long secret"));
      assert.ok(b.ok);
      assert.deepEqual(b.session?.framedRoutes, ["192.168.20.0/24"]);
      assert.deepEqual(b.session?.mppe, { policy: "require", strengths: [128] });
      assert.deepEqual(b.addresses, ["192.168.50.40"]);
    } finally {
      c.close();
      await fr.stop();
    }
  });
});
