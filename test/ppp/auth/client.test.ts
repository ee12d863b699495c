/** AuthClient on its own: PAP retransmission, CHAP waiting, mutual authentication, Failure parsing. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/core/clock.js";
import { unwrap } from "../../../src/wire/result.js";
import { fromHex } from "../../../src/wire/bytes.js";
import { AuthClient } from "../../../src/ppp/auth/client.js";
import { AuthServer } from "../../../src/ppp/auth/server.js";
import { LocalUsers } from "../../../src/aaa/local.js";
import { PPP_CHAP, PPP_PAP } from "../../../src/wire/ppp-protocols.js";
import { emitChap, parseChap, CHAP_CHALLENGE, CHAP_RESPONSE, CHAP_SUCCESS, CHAP_FAILURE } from "../../../src/wire/chap.js";
import { emitPap, parsePap, PAP_AUTH_REQUEST, PAP_AUTH_ACK, PAP_AUTH_NAK } from "../../../src/wire/pap.js";
import { counterRandom, drainEvents, drainTransmit, only, scriptedRandom } from "./harness.js";

function challenge(id: number, value: Uint8Array): Uint8Array {
  return emitChap({ code: CHAP_CHALLENGE, id, value, name: "gw" });
}

describe("PAP peer (RFC 1334 §2.2.1)", () => {
  test("repeats the request every restartMs with a new Identifier, gives up after maxRequests", () => {
    const clock = new FakeClock(0);
    const c = new AuthClient({ method: "pap", userName: "alice", password: "pw", random: counterRandom(), restartMs: 500, maxRequests: 3, firstId: 9 });
    c.start(clock.now);
    const ids: number[] = [];
    const collect = () => {
      for (const t of drainTransmit(c)) {
        assert.equal(t.protocol, PPP_PAP);
        const p = unwrap(parsePap(t.payload));
        assert.deepEqual(p, { code: PAP_AUTH_REQUEST, id: p.id, peerId: "alice", password: "pw" });
        ids.push(p.id);
      }
    };
    collect();
    for (let i = 0; i < 5; i++) {
      const due = c.pollTimeout();
      if (due === undefined) break;
      assert.equal(due, clock.now + 500);
      clock.now = due;
      c.handleTimeout(clock.now);
      collect();
    }
    assert.deepEqual(ids, [9, 10, 11]);
    const f = only(drainEvents(c), "failure");
    assert.equal(f.reason, "timeout");
    assert.equal(f.code, 691);
    assert.match(f.message, /server did not answer the PAP Authenticate-Request \(3 sent\)/);
    assert.equal(c.pollTimeout(), undefined);
  });

  test("a late Ack for an earlier request still counts; an unknown Identifier does not", () => {
    const c = new AuthClient({ method: "pap", userName: "alice", password: "pw", random: counterRandom(), restartMs: 100 });
    c.start(0);
    c.handleTimeout(100);
    drainTransmit(c); // ids 1 and 2
    c.handlePacket(150, PPP_PAP, emitPap({ code: PAP_AUTH_ACK, id: 77, message: "x" }));
    assert.equal(only(drainEvents(c), "discarded").reason, "PAP reply id 77 matches none of our Authenticate-Requests");
    c.handlePacket(160, PPP_PAP, emitPap({ code: PAP_AUTH_ACK, id: 1, message: "Welcome" }));
    const s = only(drainEvents(c), "success");
    assert.equal(s.message, "Welcome");
    assert.equal(c.pollTimeout(), undefined);
    assert.equal(c.succeeded, true);
  });

  test("Nak is a 691 failure carrying the server's message", () => {
    const c = new AuthClient({ method: "pap", userName: "alice", password: "pw", random: counterRandom() });
    c.start(0);
    c.handlePacket(1, PPP_PAP, emitPap({ code: PAP_AUTH_NAK, id: 1, message: "Go away" }));
    const f = only(drainEvents(c), "failure");
    assert.deepEqual([f.code, f.message, f.reason], [691, "Go away", "rejected"]);
  });
});

describe("CHAP peer", () => {
  test("bounds the wait for a Challenge", () => {
    const c = new AuthClient({ method: "mschap-v2", userName: "alice", password: "pw", random: counterRandom(), restartMs: 1000, maxRequests: 4 });
    c.start(0);
    assert.equal(drainTransmit(c).length, 0);
    assert.equal(c.pollTimeout(), 4000);
    c.handleTimeout(3999);
    assert.equal(drainEvents(c).length, 0);
    c.handleTimeout(4000);
    const f = only(drainEvents(c), "failure");
    assert.equal(f.reason, "timeout");
    assert.match(f.message, /server sent no MS-CHAPv2 Challenge within 4000 ms/);
  });

  test("bounds the wait for the verdict after responding", () => {
    const c = new AuthClient({ method: "chap-md5", userName: "alice", password: "pw", random: counterRandom(), restartMs: 1000, maxRequests: 2 });
    c.start(0);
    c.handlePacket(10, PPP_CHAP, challenge(1, new Uint8Array(16)));
    assert.equal(drainTransmit(c).length, 1);
    c.handleTimeout(2000);
    assert.match(only(drainEvents(c), "failure").message, /did not answer our CHAP-MD5 Response within 2000 ms/);
  });

  test("a lost Success: the peer repeats its Response every restartMs and the server's repeated Success ends it (RFC 1994 §4.1)", async () => {
    const server = new AuthServer({ method: "mschap-v2", hostName: "gw", random: counterRandom(1) });
    const client = new AuthClient({ method: "mschap-v2", userName: "alice", password: "pw", random: counterRandom(50), restartMs: 1000, maxRequests: 10 });
    server.start(0);
    client.start(0);
    client.handlePacket(1, PPP_CHAP, drainTransmit(server)[0].payload);
    const [response] = drainTransmit(client);
    server.handlePacket(2, PPP_CHAP, response.payload);
    const v = only(drainEvents(server), "verify");
    server.completeVerification(3, await new LocalUsers([{ user: "alice", password: "pw" }]).verify(v.request));
    assert.equal(unwrap(parseChap(drainTransmit(server)[0].payload)).code, CHAP_SUCCESS); // ... and lost on the way
    only(drainEvents(server), "success");
    // No verdict: the same Response again after restartMs, not the 10 s give-up.
    assert.equal(client.pollTimeout(), 1001);
    client.handleTimeout(1001);
    const [again] = drainTransmit(client);
    assert.deepEqual(again.payload, response.payload);
    assert.equal(drainEvents(client).length, 0);
    assert.equal(client.pollTimeout(), 2001);
    server.handlePacket(1002, PPP_CHAP, again.payload);
    const [repeated] = drainTransmit(server);
    assert.equal(unwrap(parseChap(repeated.payload)).code, CHAP_SUCCESS);
    client.handlePacket(1003, PPP_CHAP, repeated.payload);
    assert.equal(only(drainEvents(client), "success").message, "Access granted");
    assert.equal(client.pollTimeout(), undefined);
    client.handleTimeout(5000);
    assert.equal(drainTransmit(client).length, 0, "nothing repeated after the verdict");
  });

  test("the same Challenge again gets the same Response; a new one gets a new Response", () => {
    const c = new AuthClient({ method: "mschap-v2", userName: "alice", password: "pw", random: counterRandom() });
    c.start(0);
    const value = new Uint8Array(16).fill(3);
    c.handlePacket(1, PPP_CHAP, challenge(5, value));
    c.handlePacket(2, PPP_CHAP, challenge(5, value));
    const [a, b] = drainTransmit(c);
    assert.deepEqual(a.payload, b.payload);
    c.handlePacket(3, PPP_CHAP, challenge(6, new Uint8Array(16).fill(4)));
    const [d] = drainTransmit(c);
    const r = unwrap(parseChap(d.payload));
    assert.equal(r.code, CHAP_RESPONSE);
    assert.equal(r.id, 6);
    assert.notDeepEqual(d.payload.subarray(4), a.payload.subarray(4));
  });

  test("Challenges with the wrong value size for MS-CHAP are discarded", () => {
    const v1 = new AuthClient({ method: "mschap-v1", userName: "alice", password: "pw", random: counterRandom() });
    v1.start(0);
    v1.handlePacket(1, PPP_CHAP, challenge(1, new Uint8Array(16)));
    assert.equal(drainTransmit(v1).length, 0);
    assert.match(only(drainEvents(v1), "discarded").reason, /16-octet value, expected 8/);
    const v2 = new AuthClient({ method: "mschap-v2", userName: "alice", password: "pw", random: counterRandom() });
    v2.start(0);
    v2.handlePacket(1, PPP_CHAP, challenge(1, new Uint8Array(8)));
    assert.match(only(drainEvents(v2), "discarded").reason, /8-octet value, expected 16/);
  });

  test("Success/Failure with an Identifier other than our Response's is discarded", () => {
    const c = new AuthClient({ method: "chap-md5", userName: "alice", password: "pw", random: counterRandom() });
    c.start(0);
    c.handlePacket(1, PPP_CHAP, emitChap({ code: CHAP_SUCCESS, id: 1, message: "" })); // nothing answered yet
    c.handlePacket(2, PPP_CHAP, challenge(4, new Uint8Array(16)));
    c.handlePacket(3, PPP_CHAP, emitChap({ code: CHAP_SUCCESS, id: 3, message: "" }));
    assert.deepEqual(drainEvents(c).map((e) => e.type), ["discarded", "discarded"]);
    c.handlePacket(4, PPP_CHAP, emitChap({ code: CHAP_SUCCESS, id: 4, message: "hi" }));
    assert.equal(only(drainEvents(c), "success").message, "hi");
  });

  test("a re-challenge after success is answered (RFC 1994 §4.1); a Failure to it ends the session", () => {
    const c = new AuthClient({ method: "chap-md5", userName: "alice", password: "pw", random: counterRandom() });
    c.start(0);
    c.handlePacket(1, PPP_CHAP, challenge(1, new Uint8Array(16)));
    c.handlePacket(2, PPP_CHAP, emitChap({ code: CHAP_SUCCESS, id: 1, message: "" }));
    only(drainEvents(c), "success");
    drainTransmit(c);
    c.handlePacket(60_000, PPP_CHAP, challenge(2, new Uint8Array(16).fill(9)));
    assert.equal(unwrap(parseChap(drainTransmit(c)[0].payload)).id, 2);
    c.handlePacket(60_001, PPP_CHAP, emitChap({ code: CHAP_SUCCESS, id: 2, message: "" }));
    assert.equal(drainEvents(c).length, 0); // still authenticated, nothing new to report
    c.handlePacket(120_000, PPP_CHAP, challenge(3, new Uint8Array(16).fill(8)));
    c.handlePacket(120_001, PPP_CHAP, emitChap({ code: CHAP_FAILURE, id: 3, message: "nope" }));
    assert.match(only(drainEvents(c), "failure").message, /re-authentication refused: nope/);
  });
});

describe("MS-CHAPv2 mutual authentication (RFC 2759 §5, §8.8)", () => {
  async function toSuccess(tamper: (msg: string) => string) {
    const server = new AuthServer({ method: "mschap-v2", hostName: "gw", random: counterRandom(1) });
    const client = new AuthClient({ method: "mschap-v2", userName: "alice", password: "pw", random: counterRandom(50) });
    server.start(0);
    client.start(0);
    client.handlePacket(1, PPP_CHAP, drainTransmit(server)[0].payload);
    server.handlePacket(2, PPP_CHAP, drainTransmit(client)[0].payload);
    const v = only(drainEvents(server), "verify");
    server.completeVerification(3, await new LocalUsers([{ user: "alice", password: "pw" }]).verify(v.request));
    const success = unwrap(parseChap(drainTransmit(server)[0].payload));
    assert.equal(success.code, CHAP_SUCCESS);
    if (success.code !== CHAP_SUCCESS) throw new Error("unreachable");
    client.handlePacket(4, PPP_CHAP, emitChap({ code: CHAP_SUCCESS, id: success.id, message: tamper(success.message) }));
    return drainEvents(client);
  }

  test("the untouched Success is accepted", async () => {
    const ev = await toSuccess((m) => m);
    assert.equal(only(ev, "success").message, "Access granted");
  });

  test("lower-case hex in S= is accepted (same value)", async () => {
    const ev = await toSuccess((m) => m.slice(0, 42).toLowerCase().replace("s=", "S=") + m.slice(42));
    only(ev, "success");
  });

  test("one flipped digit in S= fails mutual authentication", async () => {
    const ev = await toSuccess((m) => m.slice(0, 2) + (m[2] === "0" ? "1" : "0") + m.slice(3));
    const f = only(ev, "failure");
    assert.equal(f.reason, "protocol");
    assert.match(f.message, /^server failed mutual authentication \(bad S= value/);
    assert.equal(ev.filter((e) => e.type === "success").length, 0);
  });

  test("a Success without S= fails mutual authentication", async () => {
    const ev = await toSuccess(() => "M=Access granted");
    assert.match(only(ev, "failure").message, /server failed mutual authentication \(bad S= value: unparseable/);
  });
});

describe("MS-CHAP Failure parsing on the peer", () => {
  function failWith(method: "mschap-v1" | "mschap-v2", message: string) {
    const c = new AuthClient({ method, userName: "alice", password: "pw", random: counterRandom() });
    c.start(0);
    c.handlePacket(1, PPP_CHAP, challenge(1, new Uint8Array(method === "mschap-v1" ? 8 : 16)));
    c.handlePacket(2, PPP_CHAP, emitChap({ code: CHAP_FAILURE, id: 1, message }));
    return only(drainEvents(c), "failure");
  }

  test("E=, R= and M= become code, retryAllowed and message", () => {
    const f = failWith("mschap-v2", "E=691 R=1 C=00112233445566778899AABBCCDDEEFF V=3 M=Wrong password, try again");
    assert.equal(f.code, 691);
    assert.equal(f.retryAllowed, true);
    assert.match(f.message, /^Wrong password, try again \(E=691 authentication failure\)$/);
  });

  test("codes other than 691 keep their meaning (648 password expired)", () => {
    const f = failWith("mschap-v1", "E=648 R=0 V=2");
    assert.equal(f.code, 648);
    assert.equal(f.retryAllowed, false);
    assert.match(f.message, /password expired/);
  });

  test("an unparseable Failure is still a 691 failure with the raw text", () => {
    const f = failWith("mschap-v2", "something odd");
    assert.equal(f.code, 691);
    assert.equal(f.message, "something odd");
  });
});

describe("client options", () => {
  test("PAP and CHAP-MD5 need the clear-text password", () => {
    assert.throws(() => new AuthClient({ method: "pap", userName: "a", ntHash: new Uint8Array(16), random: counterRandom() }), /clear-text password/);
    assert.throws(() => new AuthClient({ method: "chap-md5", userName: "a", random: counterRandom() }), /clear-text password/);
  });
  test("MS-CHAP needs a password or a 16-octet NT hash", () => {
    assert.throws(() => new AuthClient({ method: "mschap-v2", userName: "a", random: counterRandom() }), /password or an NT hash/);
    assert.throws(() => new AuthClient({ method: "mschap-v1", userName: "a", ntHash: new Uint8Array(15), random: counterRandom() }), /16 octets/);
  });
  test("packets before start() or for the other direction are discarded", () => {
    const c = new AuthClient({ method: "mschap-v2", userName: "a", password: "p", random: scriptedRandom([]) });
    c.handlePacket(0, PPP_CHAP, challenge(1, new Uint8Array(16)));
    c.start(0);
    c.handlePacket(1, PPP_CHAP, emitChap({ code: CHAP_RESPONSE, id: 1, value: fromHex("00"), name: "" }));
    c.handlePacket(2, PPP_PAP, emitPap({ code: PAP_AUTH_ACK, id: 1, message: "" }));
    c.handlePacket(3, PPP_CHAP, fromHex("03"));
    assert.deepEqual(drainEvents(c).map((e) => e.type), ["discarded", "discarded", "discarded", "discarded"]);
    assert.equal(drainTransmit(c).length, 0);
  });
});
