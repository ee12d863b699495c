/** AuthServer on its own: timers with a fake clock, identifiers, repeats, odd verifier answers, malformed input. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/core/clock.js";
import { unwrap } from "../../../src/wire/result.js";
import { fromHex, toHex } from "../../../src/wire/bytes.js";
import { AuthServer } from "../../../src/ppp/auth/server.js";
import type { AuthServerEvent } from "../../../src/ppp/auth/events.js";
import { PPP_CHAP, PPP_PAP, PPP_LCP } from "../../../src/wire/ppp-protocols.js";
import {
  parseChap,
  emitChap,
  emitMsChapV2Response,
  CHAP_CHALLENGE,
  CHAP_RESPONSE,
  CHAP_SUCCESS,
  CHAP_FAILURE,
} from "../../../src/wire/chap.js";
import { emitPap, parsePap, PAP_AUTH_REQUEST, PAP_AUTH_ACK, PAP_AUTH_NAK } from "../../../src/wire/pap.js";
import { counterRandom, drainEvents, drainTransmit, only } from "./harness.js";

function challengeOf(payload: Uint8Array): { id: number; value: Uint8Array } {
  const p = unwrap(parseChap(payload));
  assert.equal(p.code, CHAP_CHALLENGE);
  if (p.code !== CHAP_CHALLENGE) throw new Error("unreachable");
  return { id: p.id, value: p.value.slice() };
}

function md5Response(id: number, name = "alice"): Uint8Array {
  return emitChap({ code: CHAP_RESPONSE, id, value: new Uint8Array(16).fill(0x5a), name });
}

function v2Response(id: number, name = "alice"): Uint8Array {
  const value = emitMsChapV2Response({ peerChallenge: new Uint8Array(16).fill(1), ntResponse: new Uint8Array(24).fill(2), flags: 0 });
  return emitChap({ code: CHAP_RESPONSE, id, value, name });
}

const AUTH_RESPONSE = "S=407A5589115FD0D6209F510FE9C04566932CDA56";

describe("Challenge retransmission (RFC 1994 §4.1)", () => {
  test("re-sent every restartMs with a new Identifier and a new value", () => {
    const clock = new FakeClock(1000);
    const s = new AuthServer({ method: "mschap-v2", hostName: "gw", random: counterRandom(), restartMs: 2000, maxChallenges: 3 });
    s.start(clock.now);
    const first = challengeOf(drainTransmit(s)[0].payload);
    assert.equal(first.value.length, 16);
    assert.equal(s.pollTimeout(), 3000);

    s.handleTimeout(clock.advance(1999)); // not yet due
    assert.equal(drainTransmit(s).length, 0);

    s.handleTimeout(clock.advance(1));
    const second = challengeOf(drainTransmit(s)[0].payload);
    assert.equal(second.id, (first.id + 1) & 0xff);
    assert.notDeepEqual(second.value, first.value);
    assert.equal(s.pollTimeout(), 5000);
  });

  test("gives up after maxChallenges with 'peer did not answer the challenge'", () => {
    const clock = new FakeClock(0);
    const s = new AuthServer({ method: "chap-md5", hostName: "gw", random: counterRandom(), restartMs: 1000, maxChallenges: 3 });
    s.start(clock.now);
    let sent = drainTransmit(s).length;
    for (let i = 0; i < 5; i++) {
      const due = s.pollTimeout();
      if (due === undefined) break;
      clock.now = due;
      s.handleTimeout(clock.now);
      sent += drainTransmit(s).length;
    }
    assert.equal(sent, 3);
    assert.equal(s.pollTimeout(), undefined);
    const f = only(drainEvents(s), "failure");
    assert.equal(f.reason, "timeout");
    assert.equal(f.user, undefined);
    assert.match(f.message, /peer did not answer the challenge \(3 CHAP-MD5 Challenges sent\)/);
    assert.equal(s.isFinished, true);
    assert.equal(s.succeeded, false);
  });

  test("a Response stops retransmission while the verifier thinks", () => {
    const s = new AuthServer({ method: "chap-md5", hostName: "gw", random: counterRandom(), restartMs: 1000 });
    s.start(0);
    const ch = challengeOf(drainTransmit(s)[0].payload);
    s.handlePacket(500, PPP_CHAP, md5Response(ch.id));
    assert.equal(s.pollTimeout(), undefined);
    const v = only(drainEvents(s), "verify");
    assert.equal(v.request.method, "chap-md5");
    if (v.request.method === "chap-md5") {
      assert.equal(v.request.id, ch.id);
      assert.deepEqual(v.request.challenge, ch.value);
      assert.equal(v.request.user, "alice");
    }
    s.handleTimeout(10_000);
    assert.equal(drainTransmit(s).length, 0);
  });
});

describe("Identifier matching", () => {
  test("a Response with the wrong id is discarded, the right one is verified", () => {
    const s = new AuthServer({ method: "chap-md5", hostName: "gw", random: counterRandom(), firstId: 10 });
    s.start(0);
    drainTransmit(s);
    s.handlePacket(1, PPP_CHAP, md5Response(9));
    const ev = drainEvents(s);
    assert.equal(ev.length, 1);
    assert.equal(ev[0].type, "discarded");
    if (ev[0].type === "discarded") assert.match(ev[0].reason, /id 9 does not match the outstanding Challenge id 10/);
    s.handlePacket(2, PPP_CHAP, md5Response(10));
    only(drainEvents(s), "verify");
  });

  test("an answer to an earlier Challenge is discarded after a retransmission", () => {
    const s = new AuthServer({ method: "chap-md5", hostName: "gw", random: counterRandom(), restartMs: 100 });
    s.start(0);
    const first = challengeOf(drainTransmit(s)[0].payload);
    s.handleTimeout(100);
    drainTransmit(s);
    s.handlePacket(150, PPP_CHAP, md5Response(first.id));
    assert.equal(drainEvents(s)[0].type, "discarded");
  });

  test("a second Response while verifying is discarded (no second verify)", () => {
    const s = new AuthServer({ method: "chap-md5", hostName: "gw", random: counterRandom() });
    s.start(0);
    const ch = challengeOf(drainTransmit(s)[0].payload);
    s.handlePacket(1, PPP_CHAP, md5Response(ch.id));
    s.handlePacket(2, PPP_CHAP, md5Response(ch.id));
    const ev = drainEvents(s);
    assert.deepEqual(ev.map((e) => e.type), ["verify", "discarded"]);
  });
});

describe("after the verdict", () => {
  test("a repeated Response gets the very same Success (RFC 1994 §4.1)", () => {
    const s = new AuthServer({ method: "mschap-v2", hostName: "gw", random: counterRandom() });
    s.start(0);
    const ch = challengeOf(drainTransmit(s)[0].payload);
    s.handlePacket(1, PPP_CHAP, v2Response(ch.id));
    only(drainEvents(s), "verify");
    s.completeVerification(2, { ok: true, authenticatorResponse: AUTH_RESPONSE });
    const success = drainTransmit(s);
    assert.equal(success.length, 1);
    const p = unwrap(parseChap(success[0].payload));
    assert.equal(p.code, CHAP_SUCCESS);
    assert.equal(p.id, ch.id);
    if (p.code === CHAP_SUCCESS) assert.equal(p.message, `${AUTH_RESPONSE} M=Access granted`);
    only(drainEvents(s), "success");

    s.handlePacket(3, PPP_CHAP, v2Response(ch.id));
    const again = drainTransmit(s);
    assert.equal(again.length, 1);
    assert.deepEqual(again[0].payload, success[0].payload);
    assert.equal(drainEvents(s).length, 0); // no second success event

    s.handlePacket(4, PPP_CHAP, v2Response((ch.id + 1) & 0xff));
    assert.equal(drainTransmit(s).length, 0);
    assert.equal(drainEvents(s)[0].type, "discarded");
  });

  test("a repeated Response after Failure gets the same Failure", () => {
    const s = new AuthServer({ method: "mschap-v2", hostName: "gw", random: counterRandom() });
    s.start(0);
    const ch = challengeOf(drainTransmit(s)[0].payload);
    s.handlePacket(1, PPP_CHAP, v2Response(ch.id));
    s.completeVerification(2, { ok: false, code: 691, message: "bad password" });
    const fail1 = drainTransmit(s)[0].payload;
    s.handlePacket(3, PPP_CHAP, v2Response(ch.id));
    assert.deepEqual(drainTransmit(s)[0].payload, fail1);
  });

  test("completeVerification without an outstanding request is ignored", () => {
    const s = new AuthServer({ method: "chap-md5", hostName: "gw", random: counterRandom() });
    s.completeVerification(0, { ok: true });
    s.start(0);
    drainTransmit(s);
    s.completeVerification(1, { ok: true });
    assert.equal(drainTransmit(s).length, 0);
    assert.equal(drainEvents(s).length, 0);
    assert.equal(s.isFinished, false);
  });
});

describe("verifier answers", () => {
  function verifying(method: "mschap-v2" | "chap-md5" | "mschap-v1"): AuthServer {
    const s = new AuthServer({ method, hostName: "gw", random: counterRandom() });
    s.start(0);
    const ch = challengeOf(drainTransmit(s)[0].payload);
    const value = method === "chap-md5" ? new Uint8Array(16) : new Uint8Array(49);
    if (method === "mschap-v1") value[48] = 1;
    s.handlePacket(1, PPP_CHAP, emitChap({ code: CHAP_RESPONSE, id: ch.id, value, name: "alice" }));
    only(drainEvents(s), "verify");
    return s;
  }

  test("MS-CHAPv2 success without an authenticator response becomes a failure", () => {
    const s = verifying("mschap-v2");
    s.completeVerification(2, { ok: true });
    const f = only(drainEvents(s), "failure");
    assert.equal(f.reason, "protocol");
    assert.match(f.message, /returned no MS-CHAPv2 authenticator response/);
    assert.equal(unwrap(parseChap(drainTransmit(s)[0].payload)).code, CHAP_FAILURE);
  });

  test("MS-CHAPv2 success with a malformed authenticator response becomes a failure", () => {
    const s = verifying("mschap-v2");
    s.completeVerification(2, { ok: true, authenticatorResponse: "S=1234" });
    assert.match(only(drainEvents(s), "failure").message, /malformed \("S=1234"\)/);
  });

  test("the backend's code reaches the wire with its plain-language text (649 no dial-in)", () => {
    const s = verifying("mschap-v2");
    s.completeVerification(2, { ok: false, code: 649, message: "RADIUS: Access-Reject" });
    const p = unwrap(parseChap(drainTransmit(s)[0].payload));
    assert.equal(p.code, CHAP_FAILURE);
    if (p.code === CHAP_FAILURE) assert.match(p.message, /^E=649 R=0 C=[0-9A-F]{32} V=3 M=No dial-in permission$/);
    const f = only(drainEvents(s), "failure");
    assert.equal(f.code, 649);
    assert.equal(f.message, "RADIUS: Access-Reject");
  });

  test("CHAP-MD5 failure text does not echo the backend's reason", () => {
    const s = verifying("chap-md5");
    s.completeVerification(2, { ok: false, code: 691, message: 'unknown user "alice"' });
    const p = unwrap(parseChap(drainTransmit(s)[0].payload));
    if (p.code === CHAP_FAILURE) assert.equal(p.message, "Authentication failed");
    else assert.fail("expected Failure");
  });

  test("MPPE keys and addresses from the verifier are passed on", () => {
    const s = verifying("mschap-v1");
    const mppe = { send: new Uint8Array(16).fill(1), recv: new Uint8Array(16).fill(1) };
    s.completeVerification(2, { ok: true, mppe, addresses: ["10.0.0.5"] });
    const ev = only(drainEvents(s), "success");
    assert.deepEqual(ev.mppe, mppe);
    assert.deepEqual(ev.addresses, ["10.0.0.5"]);
    // MS-CHAPv1 Success for the first Challenge (id 1), empty message: the captured PIX form ff03c223 03010004.
    assert.equal(toHex(drainTransmit(s)[0].payload), "03010004");
  });
});

describe("malformed or misdirected input", () => {
  test("a malformed MS-CHAPv2 Response value fails authentication with the reason", () => {
    const s = new AuthServer({ method: "mschap-v2", hostName: "gw", random: counterRandom() });
    s.start(0);
    const ch = challengeOf(drainTransmit(s)[0].payload);
    s.handlePacket(1, PPP_CHAP, emitChap({ code: CHAP_RESPONSE, id: ch.id, value: new Uint8Array(16), name: "eve" }));
    const f = only(drainEvents(s), "failure");
    assert.equal(f.reason, "protocol");
    assert.equal(f.user, "eve");
    assert.match(f.message, /malformed MS-CHAPv2 Response from "eve".*16 octets, expected 49/);
    assert.equal(unwrap(parseChap(drainTransmit(s)[0].payload)).code, CHAP_FAILURE);
  });

  test("garbage, other codes and other protocols are discarded without a reply", () => {
    const s = new AuthServer({ method: "chap-md5", hostName: "gw", random: counterRandom() });
    s.start(0);
    drainTransmit(s);
    s.handlePacket(1, PPP_CHAP, fromHex("0201"));
    s.handlePacket(1, PPP_CHAP, emitChap({ code: CHAP_CHALLENGE, id: 1, value: new Uint8Array(8), name: "" }));
    s.handlePacket(1, PPP_PAP, emitPap({ code: PAP_AUTH_REQUEST, id: 1, peerId: "a", password: "b" }));
    s.handlePacket(1, PPP_LCP, fromHex("0101000401"));
    const ev: AuthServerEvent[] = drainEvents(s);
    assert.deepEqual(ev.map((e) => e.type), ["discarded", "discarded", "discarded", "discarded"]);
    assert.equal(drainTransmit(s).length, 0);
    assert.equal(s.isFinished, false);
  });

  test("a Response before start() is discarded", () => {
    const s = new AuthServer({ method: "chap-md5", hostName: "gw", random: counterRandom() });
    s.handlePacket(0, PPP_CHAP, md5Response(1));
    assert.equal(drainEvents(s)[0].type, "discarded");
  });

  test("bad options are refused", () => {
    assert.throws(() => new AuthServer({ method: "pap", hostName: "", random: counterRandom(), restartMs: 0 }), RangeError);
    assert.throws(() => new AuthServer({ method: "pap", hostName: "", random: counterRandom(), maxChallenges: 0 }), RangeError);
  });
});

describe("PAP authenticator (RFC 1334 §2.2)", () => {
  function request(id: number, password = "pw"): Uint8Array {
    return emitPap({ code: PAP_AUTH_REQUEST, id, peerId: "alice", password });
  }

  test("sends nothing at start and gives up after restartMs * maxChallenges without a request", () => {
    const s = new AuthServer({ method: "pap", hostName: "gw", random: counterRandom(), restartMs: 1000, maxChallenges: 5 });
    s.start(0);
    assert.equal(drainTransmit(s).length, 0);
    assert.equal(s.pollTimeout(), 5000);
    s.handleTimeout(4999);
    assert.equal(drainEvents(s).length, 0);
    s.handleTimeout(5000);
    const f = only(drainEvents(s), "failure");
    assert.equal(f.reason, "timeout");
    assert.match(f.message, /no PAP Authenticate-Request within 5000 ms/);
  });

  test("a repeat while verifying moves the reply to the latest Identifier", () => {
    const s = new AuthServer({ method: "pap", hostName: "gw", random: counterRandom() });
    s.start(0);
    s.handlePacket(1, PPP_PAP, request(1));
    const v = only(drainEvents(s), "verify");
    assert.deepEqual(v.request, { method: "pap", user: "alice", password: "pw" });
    s.handlePacket(2, PPP_PAP, request(2));
    s.handlePacket(3, PPP_PAP, request(3, "other")); // different credentials: not adopted
    assert.deepEqual(drainEvents(s).map((e) => e.type), ["discarded"]);
    s.completeVerification(4, { ok: true });
    const ack = unwrap(parsePap(drainTransmit(s)[0].payload));
    assert.deepEqual(ack, { code: PAP_AUTH_ACK, id: 2, message: "Access granted" });
  });

  test("repeats after the verdict get the same reply code with their own Identifier", () => {
    const s = new AuthServer({ method: "pap", hostName: "gw", random: counterRandom() });
    s.start(0);
    s.handlePacket(1, PPP_PAP, request(7));
    s.completeVerification(2, { ok: false, code: 691, message: "bad password" });
    const nak = unwrap(parsePap(drainTransmit(s)[0].payload));
    assert.deepEqual(nak, { code: PAP_AUTH_NAK, id: 7, message: "Authentication failed" });
    s.handlePacket(3, PPP_PAP, request(8));
    assert.deepEqual(unwrap(parsePap(drainTransmit(s)[0].payload)), { code: PAP_AUTH_NAK, id: 8, message: "Authentication failed" });
  });
});
