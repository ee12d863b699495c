/** Every method, client against server in memory, verified by LocalUsers: success, wrong password, unknown user. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { unwrap } from "../../../src/wire/result.js";
import { AuthClient } from "../../../src/ppp/auth/client.js";
import { AuthServer } from "../../../src/ppp/auth/server.js";
import { LocalUsers, type LocalUser } from "../../../src/aaa/local.js";
import type { AuthMethod } from "../../../src/wire/ppp-protocols.js";
import { PPP_PAP, PPP_CHAP } from "../../../src/wire/ppp-protocols.js";
import { parseChap, parseMsChapFailure, CHAP_FAILURE } from "../../../src/wire/chap.js";
import { parsePap, PAP_AUTH_NAK, PAP_AUTH_ACK } from "../../../src/wire/pap.js";
import { ntPasswordHash } from "../../../src/crypto/mschap.js";
import { counterRandom, runExchange, only, type Exchange } from "./harness.js";

const METHODS: AuthMethod[] = ["pap", "chap-md5", "mschap-v1", "mschap-v2"];
const USERS: LocalUser[] = [
  { user: "alice", password: "correct horse" },
  { user: "bob", ntHash: ntPasswordHash("battery staple") },
];

async function exchange(method: AuthMethod, userName: string, creds: { password?: string; ntHash?: Uint8Array }): Promise<Exchange> {
  const server = new AuthServer({ method, hostName: "pptp-ts", random: counterRandom(1) });
  const client = new AuthClient({ method, userName, random: counterRandom(100), ...creds });
  return runExchange(server, client, new LocalUsers(USERS));
}

/** The peer-visible text of the final reply the server sent. */
function lastReplyText(ex: Exchange): { code: number; text: string } {
  const last = ex.wire.filter((w) => w.from === "server").pop();
  assert.ok(last, "server sent nothing");
  if (last.packet.protocol === PPP_PAP) {
    const p = unwrap(parsePap(last.packet.payload));
    assert.notEqual(p.code, 1);
    return { code: p.code, text: "message" in p ? p.message : "" };
  }
  assert.equal(last.packet.protocol, PPP_CHAP);
  const p = unwrap(parseChap(last.packet.payload));
  return { code: p.code, text: "message" in p ? p.message : "" };
}

for (const method of METHODS) {
  describe(`${method} client <-> server`, () => {
    test("right password: both sides succeed", async () => {
      const ex = await exchange(method, "alice", { password: "correct horse" });
      const s = only(ex.serverEvents, "success");
      const c = only(ex.clientEvents, "success");
      assert.equal(s.user, "alice");
      assert.equal(s.method, method);
      assert.equal(c.method, method);
      assert.equal(ex.clientEvents.filter((e) => e.type === "failure").length, 0);
      if (method === "mschap-v1" || method === "mschap-v2") {
        assert.ok(s.mppe && c.mppe, "MS-CHAP yields MPPE keys on both sides");
        assert.deepEqual(c.mppe.send, s.mppe.recv);
        assert.deepEqual(c.mppe.recv, s.mppe.send);
        assert.equal(c.mppe.send.length, 16);
      } else {
        assert.equal(s.mppe, undefined);
        assert.equal(c.mppe, undefined);
      }
      if (method === "pap") assert.equal(lastReplyText(ex).code, PAP_AUTH_ACK);
    });

    test("wrong password: 691 on both sides, generic text on the wire, the reason in the server log", async () => {
      const ex = await exchange(method, "alice", { password: "wrong horse" });
      const s = only(ex.serverEvents, "failure");
      const c = only(ex.clientEvents, "failure");
      assert.equal(s.code, 691);
      assert.equal(s.reason, "rejected");
      assert.match(s.message, /bad password for user "alice"/);
      assert.equal(c.code, 691);
      assert.equal(c.reason, "rejected");
      assert.equal(ex.clientEvents.filter((e) => e.type === "success").length, 0);
      const reply = lastReplyText(ex);
      assert.doesNotMatch(reply.text, /alice|password/i);
      // MS-CHAPv1's Failure text is just the RFC 2433 §8 fields; the others carry a readable message.
      if (method === "mschap-v1") assert.equal(reply.text, "E=691 R=0");
      else assert.match(reply.text, /Authentication failed/);
      if (method === "pap") assert.equal(reply.code, PAP_AUTH_NAK);
      else assert.equal(reply.code, CHAP_FAILURE);
    });

    test("unknown user: 691, 'unknown user' only in the server log", async () => {
      const ex = await exchange(method, "mallory", { password: "whatever" });
      const s = only(ex.serverEvents, "failure");
      assert.equal(s.code, 691);
      assert.equal(s.user, "mallory");
      assert.match(s.message, /unknown user "mallory"/);
      const c = only(ex.clientEvents, "failure");
      assert.equal(c.code, 691);
      assert.doesNotMatch(c.message, /unknown/);
      // The wire reply is identical in shape to a wrong-password reply: nothing tells the names apart.
      assert.doesNotMatch(lastReplyText(ex).text, /unknown|mallory/);
    });
  });
}

describe("NT-hash-only accounts", () => {
  for (const method of ["mschap-v1", "mschap-v2"] as const) {
    test(`${method} works against a stored NT hash`, async () => {
      const ex = await exchange(method, "bob", { password: "battery staple" });
      only(ex.serverEvents, "success");
      only(ex.clientEvents, "success");
    });
    test(`${method} with a wrong password still fails`, async () => {
      const ex = await exchange(method, "bob", { password: "battery stapler" });
      assert.equal(only(ex.clientEvents, "failure").code, 691);
    });
  }
  for (const method of ["pap", "chap-md5"] as const) {
    test(`${method} is refused and the log says why`, async () => {
      const ex = await exchange(method, "bob", { password: "battery staple" });
      const s = only(ex.serverEvents, "failure");
      assert.match(s.message, /only an NT hash.*clear-text password/);
      assert.equal(only(ex.clientEvents, "failure").code, 691);
    });
  }
});

describe("MS-CHAP Failure messages on the wire", () => {
  test("v2: E=691 R=0 C=<32 hex> V=3 M=Authentication failed (RFC 2759 §6)", async () => {
    const ex = await exchange("mschap-v2", "alice", { password: "nope" });
    const text = lastReplyText(ex).text;
    assert.match(text, /^E=691 R=0 C=[0-9A-F]{32} V=3 M=Authentication failed$/);
    const f = unwrap(parseMsChapFailure(text));
    assert.equal(f.challenge?.length, 16);
    const c = only(ex.clientEvents, "failure");
    assert.equal(c.retryAllowed, false);
    assert.match(c.message, /Authentication failed/);
  });

  test("v1: E=691 R=0 (RFC 2433 §8, B.1.2)", async () => {
    const ex = await exchange("mschap-v1", "alice", { password: "nope" });
    assert.equal(lastReplyText(ex).text, "E=691 R=0");
    const c = only(ex.clientEvents, "failure");
    assert.equal(c.code, 691);
    assert.equal(c.retryAllowed, false);
    assert.match(c.message, /authentication failure/);
  });
});

describe("user name forms", () => {
  test("DOMAIN\\user and a different case find the record (MS-CHAP)", async () => {
    for (const name of ["CORP\\alice", "Alice", "CORP\\ALICE"]) {
      for (const method of ["mschap-v1", "mschap-v2"] as const) {
        const ex = await exchange(method, name, { password: "correct horse" });
        assert.equal(only(ex.serverEvents, "success").user, name, `${method} ${name}`);
        only(ex.clientEvents, "success");
      }
    }
  });
});
