/** LocalUsers and verifyWithSecret against the RFC examples and hand-checked requests. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { fromHex, toHex, utf8, concatBytes } from "../../src/wire/bytes.js";
import { LocalUsers, isUserName } from "../../src/aaa/local.js";
import { verifyWithSecret, sameBytes } from "../../src/aaa/verify-secret.js";
import type { AuthRequest, AuthResult } from "../../src/aaa/types.js";
import { authMethodLabel } from "../../src/aaa/types.js";
import { lmPasswordHash, mschap1LmResponse, ntPasswordHash } from "../../src/crypto/mschap.js";
import { mppeKeysMschap1, mppeShortKeysProblem, mppeStartKeys } from "../../src/crypto/mppe-keys.js";

// RFC 2759 §9.2
const V2 = {
  user: "User",
  password: "clientPass",
  authChallenge16: fromHex("5B5D7C7D7B3F2F3E3C2C602132262628"),
  peerChallenge16: fromHex("21402324255E262A28295F2B3A337C7E"),
  ntResponse24: fromHex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF"),
  passwordHash: fromHex("44EBBA8D5312B8D611474411F56989AE"),
  authResponse: "S=407A5589115FD0D6209F510FE9C04566932CDA56",
};
// RFC 2433 Appendix B.2
const V1 = {
  password: "MyPw",
  challenge8: fromHex("102DB5DF085D3041"),
  ntResponse24: fromHex("4E9D3C8F9CFD385D5BF4D3246791956CA4C351AB409A3D61"),
  ntHash: fromHex("FC156AF7EDCD6C0EDDE3337D427F4EAC"),
};

function v2Request(user = V2.user, ntResponse24 = V2.ntResponse24): AuthRequest {
  return { method: "mschap-v2", user, authChallenge16: V2.authChallenge16, peerChallenge16: V2.peerChallenge16, ntResponse24 };
}

function v1Request(user: string, overrides: Partial<{ ntResponse24: Uint8Array; lmResponse24: Uint8Array; useNt: boolean }> = {}): AuthRequest {
  return {
    method: "mschap-v1",
    user,
    challenge8: V1.challenge8,
    ntResponse24: overrides.ntResponse24 ?? V1.ntResponse24,
    lmResponse24: overrides.lmResponse24 ?? new Uint8Array(24),
    useNt: overrides.useNt ?? true,
  };
}

function md5Request(user: string, secret: string): AuthRequest {
  const challenge = fromHex("0102030405060708090a0b0c0d0e0f10");
  const response = new Uint8Array(createHash("md5").update(concatBytes(Uint8Array.of(17), utf8(secret), challenge)).digest());
  return { method: "chap-md5", user, id: 17, challenge, response };
}

function assertFailure(r: AuthResult, pattern: RegExp): void {
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.code, 691);
    assert.match(r.message, pattern);
  }
}

describe("MS-CHAPv2 verification (RFC 2759 §9.2)", () => {
  test("accepts the RFC's NT-Response and returns the RFC's Authenticator Response", async () => {
    for (const secret of [{ user: "User", password: V2.password }, { user: "User", ntHash: V2.passwordHash }]) {
      const r = await new LocalUsers([secret]).verify(v2Request());
      assert.equal(r.ok, true);
      if (r.ok) {
        assert.equal(r.authenticatorResponse, V2.authResponse);
        assert.equal(r.mppe?.send.length, 16);
        assert.equal(r.mppe?.recv.length, 16);
      }
    }
  });

  test("rejects a response altered in one bit", async () => {
    const bad = V2.ntResponse24.slice();
    bad[23] ^= 1;
    assertFailure(await new LocalUsers([{ user: "User", password: V2.password }]).verify(v2Request("User", bad)), /bad password for user "User" \(MS-CHAPv2 NT-Response mismatch\)/);
  });

  test("a domain-qualified name finds the plain record and hashes without the domain", async () => {
    const r = await new LocalUsers([{ user: "User", password: V2.password }]).verify(v2Request("BIGCO\\User"));
    assert.equal(r.ok, true);
    if (r.ok) assert.equal(r.authenticatorResponse, V2.authResponse);
  });
});

describe("MS-CHAPv1 verification (RFC 2433 B.2)", () => {
  test("NT response against a password or a stored NT hash", async () => {
    for (const secret of [{ user: "john", password: V1.password }, { user: "john", ntHash: V1.ntHash }]) {
      const r = await new LocalUsers([secret]).verify(v1Request("john"));
      assert.equal(r.ok, true, JSON.stringify(Object.keys(secret)));
      if (r.ok) {
        assert.ok(r.mppe);
        assert.deepEqual(r.mppe.send, r.mppe.recv); // RFC 3079 §2: MS-CHAPv1 keys are the same both ways
        assert.equal(r.authenticatorResponse, undefined);
      }
    }
  });

  test("MPPE keys: 40/56-bit from the LM hash of a clear password whatever the use-NT flag; an NT hash alone has none", async () => {
    const lmKey = toHex(lmPasswordHash(V1.password));
    const withLm = v1Request("john", { lmResponse24: mschap1LmResponse(V1.challenge8, V1.password) });
    const lmOnly = v1Request("john", { useNt: false, lmResponse24: mschap1LmResponse(V1.challenge8, V1.password), ntResponse24: new Uint8Array(24) });
    for (const req of [v1Request("john"), withLm, lmOnly]) {
      const r = await new LocalUsers([{ user: "john", password: V1.password }]).verify(req);
      assert.ok(r.ok && r.mppe);
      const k40 = mppeStartKeys(r.mppe, 40);
      assert.ok(typeof k40 !== "string");
      assert.equal(toHex(k40.send), lmKey);
      assert.equal(toHex(k40.recv), lmKey);
      const k128 = mppeStartKeys(r.mppe, 128);
      assert.ok(typeof k128 !== "string");
      assert.equal(toHex(k128.send), toHex(mppeKeysMschap1(V1.ntHash, V1.challenge8).send), "128-bit: NT hash and challenge");
    }
    const r = await new LocalUsers([{ user: "john", ntHash: V1.ntHash }]).verify(v1Request("john"));
    assert.ok(r.ok && r.mppe);
    assert.match(mppeShortKeysProblem(r.mppe) ?? "", /only the NT password hash is known/);
    assert.equal(typeof mppeStartKeys(r.mppe, 128), "object");
  });

  test("the RFC's password hash is what a clear password turns into", () => {
    assert.equal(toHex(ntPasswordHash(V1.password)), toHex(V1.ntHash));
  });

  test("wrong NT response fails", async () => {
    assertFailure(await new LocalUsers([{ user: "john", password: "MyPw2" }]).verify(v1Request("john")), /NT-Response mismatch/);
  });

  test("use-NT flag 0: the LM response decides, and needs the clear password", async () => {
    const lm = mschap1LmResponse(V1.challenge8, V1.password);
    const req = v1Request("john", { useNt: false, lmResponse24: lm, ntResponse24: new Uint8Array(24) });
    const good = await new LocalUsers([{ user: "john", password: V1.password }]).verify(req);
    assert.equal(good.ok, true);
    // LM passwords are case-insensitive (RFC 2433 §A.2 upper-cases them): "mypw" yields the same LM response.
    assert.equal((await new LocalUsers([{ user: "john", password: "mypw" }]).verify(req)).ok, true);
    assertFailure(await new LocalUsers([{ user: "john", password: "MyPx" }]).verify(req), /LM-Response mismatch/);
    assertFailure(await new LocalUsers([{ user: "john", ntHash: V1.ntHash }]).verify(req), /only an NT hash.*LAN Manager response.*clear-text password/);
  });
});

describe("PAP and CHAP-MD5 verification", () => {
  test("PAP compares the password", async () => {
    const users = new LocalUsers([{ user: "alice", password: "s3cret" }]);
    assert.equal((await users.verify({ method: "pap", user: "alice", password: "s3cret" })).ok, true);
    assertFailure(await users.verify({ method: "pap", user: "alice", password: "s3cret " }), /bad password for user "alice" \(PAP password mismatch\)/);
  });

  test("CHAP-MD5 recomputes MD5(id || secret || challenge)", async () => {
    const users = new LocalUsers([{ user: "alice", password: "s3cret" }]);
    assert.equal((await users.verify(md5Request("alice", "s3cret"))).ok, true);
    assertFailure(await users.verify(md5Request("alice", "S3cret")), /CHAP-MD5 response mismatch/);
  });

  test("an NT-hash-only account cannot do either, and the message says so", async () => {
    const users = new LocalUsers([{ user: "bob", ntHash: ntPasswordHash("pw") }]);
    assertFailure(await users.verify({ method: "pap", user: "bob", password: "pw" }), /^user "bob" has only an NT hash configured, but PAP needs the clear-text password$/);
    assertFailure(await users.verify(md5Request("bob", "pw")), /only an NT hash configured, but CHAP-MD5 needs the clear-text password/);
  });
});

describe("user lookup", () => {
  test("unknown user is 691 with 'unknown user' for the log", async () => {
    assertFailure(await new LocalUsers([{ user: "alice", password: "x" }]).verify({ method: "pap", user: "mallory", password: "x" }), /^unknown user "mallory"$/);
  });

  test("case-insensitive by default, exact with caseSensitive (pppd semantics)", async () => {
    const req: AuthRequest = { method: "pap", user: "ALICE", password: "x" };
    assert.equal((await new LocalUsers([{ user: "alice", password: "x" }]).verify(req)).ok, true);
    assertFailure(await new LocalUsers([{ user: "alice", password: "x" }], { caseSensitive: true }).verify(req), /unknown user/);
  });

  test("a record for the full DOMAIN\\user wins over the plain name", () => {
    const users = new LocalUsers([
      { user: "alice", password: "plain" },
      { user: "CORP\\alice", password: "corp" },
    ]);
    assert.equal(users.find("CORP\\alice")?.password, "corp");
    assert.equal(users.find("OTHER\\alice")?.password, "plain");
    assert.equal(users.find("alice")?.password, "plain");
    assert.equal(users.find("CORP\\bob"), undefined);
  });

  test("the first matching record wins", () => {
    const users = new LocalUsers([
      { user: "alice", password: "first" },
      { user: "alice", password: "second" },
    ]);
    assert.equal(users.find("alice")?.password, "first");
  });

  test("records for another server are skipped; '*' and absent match any", () => {
    const records = [
      { user: "alice", password: "for-gw2", server: "gw2" },
      { user: "alice", password: "any", server: "*" },
      { user: "bob", password: "b" },
    ];
    assert.equal(new LocalUsers(records, { serverName: "gw1" }).find("alice")?.password, "any");
    assert.equal(new LocalUsers(records, { serverName: "GW2" }).find("alice")?.password, "for-gw2");
    assert.equal(new LocalUsers(records, { serverName: "gw1" }).find("bob")?.password, "b");
  });

  test("addresses are passed through on success only", async () => {
    const users = new LocalUsers([{ user: "alice", password: "x", addresses: ["192.168.1.10"] }]);
    const good = await users.verify({ method: "pap", user: "alice", password: "x" });
    assert.equal(good.ok, true);
    if (good.ok) assert.deepEqual(good.addresses, ["192.168.1.10"]);
    const bad = await users.verify({ method: "pap", user: "alice", password: "y" });
    assert.equal("addresses" in bad, false);
  });

  test("records without a usable secret are refused at construction", () => {
    assert.throws(() => new LocalUsers([{ user: "x" }]), /needs a password or an NT hash/);
    assert.throws(() => new LocalUsers([{ user: "x", ntHash: new Uint8Array(8) }]), /16 octets, got 8/);
  });
});

describe("verifyWithSecret edge cases", () => {
  test("a secret with neither password nor hash fails cleanly", () => {
    assertFailure(verifyWithSecret({ method: "pap", user: "z", password: "" }, {}), /neither a password nor an NT hash/);
  });
  test("sameBytes", () => {
    assert.equal(sameBytes(fromHex("0102"), fromHex("0102")), true);
    assert.equal(sameBytes(fromHex("0102"), fromHex("0103")), false);
    assert.equal(sameBytes(fromHex("0102"), fromHex("010203")), false);
  });
  test("method labels", () => {
    assert.deepEqual(
      (["pap", "chap-md5", "mschap-v1", "mschap-v2"] as const).map(authMethodLabel),
      ["PAP", "CHAP-MD5", "MS-CHAPv1", "MS-CHAPv2"],
    );
  });
});

describe("isUserName: a named peer's user as Windows sends it", () => {
  test("plain and DOMAIN\\user names match the account, by the file's case rule", () => {
    assert.equal(isUserName("branch", "branch", false), true);
    assert.equal(isUserName("branch", "ACME\\Branch", false), true);
    assert.equal(isUserName("branch", "ACME\\Branch", true), false);
    assert.equal(isUserName("ACME\\branch", "ACME\\branch", true), true);
    assert.equal(isUserName("branch", "branch2", false), false);
    assert.equal(isUserName("branch", "ACME\\other", false), false);
  });
});
