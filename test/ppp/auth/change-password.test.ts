/**
 * MS-CHAPv2 Change-Password (RFC 2759 §7) in the authenticator engine: the packet codec, the wait after an E=648
 * Failure, the verify request it becomes, repeats, timeouts, and every way a Change-Password can arrive wrongly
 * (malformed, out of turn, wrong Identifier, wrong method) — discarded, counted, never acted on. Also what the
 * local users backend answers to a change request.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/core/clock.js";
import { unwrap } from "../../../src/wire/result.js";
import { PPP_CHAP } from "../../../src/wire/ppp-protocols.js";
import {
  parseChap,
  emitChap,
  emitMsChapV2Response,
  emitMsChapV1Response,
  parseMsChapFailure,
  parseMsChapV2Success,
  CHAP_CHALLENGE,
  CHAP_RESPONSE,
  CHAP_SUCCESS,
  CHAP_FAILURE,
} from "../../../src/wire/chap.js";
import { AuthServer } from "../../../src/ppp/auth/server.js";
import {
  parseMsChapV2ChangePassword,
  emitMsChapV2ChangePassword,
  CHANGE_PASSWORD_LEN,
  type MsChapV2ChangePassword,
} from "../../../src/ppp/auth/change-password.js";
import type { AuthResult, Authenticator } from "../../../src/aaa/types.js";
import { AuthClient } from "../../../src/ppp/auth/client.js";
import { verifyWithSecret } from "../../../src/aaa/verify-secret.js";
import { bytesEqual } from "../../../src/wire/bytes.js";
import { LocalUsers } from "../../../src/aaa/local.js";
import { ntPasswordHash, decryptPwBlockWithPasswordHash, oldNtPasswordHashEncryptedWithNewNtPasswordHash } from "../../../src/crypto/mschap.js";
import { counterRandom, drainEvents, drainTransmit, only, runExchange } from "./harness.js";

const S_OK = "S=407A5589115FD0D6209F510FE9C04566932CDA56";
const EXPIRED: AuthResult = { ok: false, code: 648, message: 'RADIUS server 10.0.0.5:1812 rejected user "alice" with MS-CHAP error 648' };

function fields(id: number, fill = 0): MsChapV2ChangePassword {
  return {
    id,
    encryptedPassword: new Uint8Array(516).fill(0x11 + fill),
    encryptedHash: new Uint8Array(16).fill(0x22),
    peerChallenge: new Uint8Array(16).fill(0x33),
    ntResponse: new Uint8Array(24).fill(0x44),
    flags: 0,
  };
}

function failureOf(payload: Uint8Array): { id: number; error: number; retry: boolean; challenge?: Uint8Array; version?: number } {
  const p = unwrap(parseChap(payload));
  assert.equal(p.code, CHAP_FAILURE);
  if (p.code !== CHAP_FAILURE) throw new Error("unreachable");
  return { id: p.id, ...unwrap(parseMsChapFailure(p.message)) };
}

/** An MS-CHAPv2 authenticator that has sent Failure E=648 for "alice" at time 1000. */
function expiredServer(opts: { maxPasswordChanges?: number; passwordChangeWaitMs?: number } = {}): { s: AuthServer; clock: FakeClock; failureId: number; challenge: Uint8Array } {
  const clock = new FakeClock(1000);
  const s = new AuthServer({ method: "mschap-v2", hostName: "gw", random: counterRandom(), ...opts });
  s.start(clock.now);
  const ch = unwrap(parseChap(drainTransmit(s)[0].payload));
  assert.equal(ch.code, CHAP_CHALLENGE);
  const value = emitMsChapV2Response({ peerChallenge: new Uint8Array(16).fill(1), ntResponse: new Uint8Array(24).fill(2), flags: 0 });
  s.handlePacket(clock.now, PPP_CHAP, emitChap({ code: CHAP_RESPONSE, id: ch.id, value, name: "alice" }));
  only(drainEvents(s), "verify");
  s.completeVerification(clock.now, EXPIRED);
  const f = failureOf(drainTransmit(s)[0].payload);
  return { s, clock, failureId: f.id, challenge: f.challenge! };
}

describe("Change-Password codec (RFC 2759 §7)", () => {
  test("586 octets laid out as §7 says; round trip", () => {
    const pkt = emitMsChapV2ChangePassword({ ...fields(9), flags: 0 });
    assert.equal(pkt.length, CHANGE_PASSWORD_LEN);
    assert.deepEqual([...pkt.subarray(0, 4)], [7, 9, 0x02, 0x4a]);
    assert.ok(pkt.subarray(4, 520).every((b) => b === 0x11));
    assert.ok(pkt.subarray(520, 536).every((b) => b === 0x22));
    assert.ok(pkt.subarray(536, 552).every((b) => b === 0x33));
    assert.ok(pkt.subarray(552, 560).every((b) => b === 0), "8 reserved octets, zero");
    assert.ok(pkt.subarray(560, 584).every((b) => b === 0x44));
    const back = unwrap(parseMsChapV2ChangePassword(pkt));
    assert.equal(back.id, 9);
    assert.deepEqual(back.ntResponse, fields(9).ntResponse);
    assert.deepEqual(back.encryptedPassword, fields(9).encryptedPassword);
    // PPP padding after Length is ignored, as for other CHAP packets.
    assert.ok(parseMsChapV2ChangePassword(Uint8Array.of(...pkt, 0, 0)).ok);
    assert.throws(() => emitMsChapV2ChangePassword({ ...fields(1), ntResponse: new Uint8Array(23) }), RangeError);
  });

  test("malformed: short, wrong Length field, truncated, wrong code", () => {
    const pkt = emitMsChapV2ChangePassword(fields(3));
    const bad = (b: Uint8Array): string => {
      const r = parseMsChapV2ChangePassword(b);
      assert.ok(!r.ok);
      return r.error.code;
    };
    assert.equal(bad(Uint8Array.of(7, 1)), "short");
    const longer = pkt.slice();
    longer[3] = 0x4b; // Length 587
    assert.equal(bad(longer), "bad-length");
    const shorter = pkt.slice(0, 100);
    shorter[2] = 0;
    shorter[3] = 100; // a self-consistent 100-octet packet: still not a Change-Password
    assert.equal(bad(shorter), "bad-length");
    assert.equal(bad(pkt.subarray(0, 585)), "short");
    const code = pkt.slice();
    code[0] = 6;
    assert.equal(bad(code), "bad-code");
  });
});

describe("the authenticator after E=648 (RFC 2759 §7)", () => {
  test("Failure E=648 R=0 C= V=3, a password-expired event, and a wait instead of the end", () => {
    const clock = new FakeClock(1000);
    const s = new AuthServer({ method: "mschap-v2", hostName: "gw", random: counterRandom(), passwordChangeWaitMs: 60_000 });
    s.start(clock.now);
    const ch = unwrap(parseChap(drainTransmit(s)[0].payload));
    const value = emitMsChapV2Response({ peerChallenge: new Uint8Array(16).fill(1), ntResponse: new Uint8Array(24).fill(2), flags: 0 });
    s.handlePacket(clock.now, PPP_CHAP, emitChap({ code: CHAP_RESPONSE, id: ch.id, value, name: "alice" }));
    only(drainEvents(s), "verify");
    s.completeVerification(clock.now, EXPIRED);
    const tx = drainTransmit(s);
    assert.equal(tx.length, 1);
    const f = failureOf(tx[0].payload);
    assert.equal(f.id, ch.id);
    assert.equal(f.error, 648);
    assert.equal(f.retry, false);
    assert.equal(f.version, 3);
    assert.equal(f.challenge?.length, 16);
    const ev = only(drainEvents(s), "password-expired");
    assert.equal(ev.user, "alice");
    assert.equal(ev.waitMs, 60_000);
    assert.equal(s.isFinished, false);
    assert.equal(s.pollTimeout(), 61_000);

    // The Failure was lost: the repeated Response gets it again, with the same challenge.
    s.handlePacket(clock.now, PPP_CHAP, emitChap({ code: CHAP_RESPONSE, id: ch.id, value, name: "alice" }));
    assert.deepEqual(drainTransmit(s)[0].payload, tx[0].payload);
  });

  test("no Change-Password within the wait: failure 648, nothing more sent", () => {
    const { s, clock } = expiredServer({ passwordChangeWaitMs: 30_000 });
    drainEvents(s);
    s.handleTimeout(clock.advance(29_999));
    assert.deepEqual(drainEvents(s), []);
    s.handleTimeout(clock.advance(1));
    const f = only(drainEvents(s), "failure");
    assert.equal(f.code, 648);
    assert.equal(f.reason, "rejected");
    assert.match(f.message, /rejected user "alice" with MS-CHAP error 648; the peer sent no Change-Password within 30000 ms/);
    assert.deepEqual(drainTransmit(s), []);
    assert.equal(s.isFinished, true);
    assert.equal(s.pollTimeout(), undefined);
    // Too late now.
    s.handlePacket(clock.now, PPP_CHAP, emitMsChapV2ChangePassword(fields(2)));
    assert.equal(only(drainEvents(s), "discarded").type, "discarded");
  });

  test("the Change-Password becomes a verify request: Failure's challenge, new NT-Response, encrypted blocks; Success answers its Identifier", () => {
    const { s, clock, failureId, challenge } = expiredServer();
    drainEvents(s);
    const cp = fields((failureId + 1) & 0xff);
    s.handlePacket(clock.now, PPP_CHAP, emitMsChapV2ChangePassword(cp));
    const v = only(drainEvents(s), "verify");
    assert.equal(s.pollTimeout(), undefined, "no timer while the backend decides");
    const r = v.request;
    assert.equal(r.method, "mschap-v2");
    if (r.method !== "mschap-v2") throw new Error("unreachable");
    assert.equal(r.user, "alice");
    assert.deepEqual(r.authChallenge16, challenge);
    assert.deepEqual(r.peerChallenge16, cp.peerChallenge);
    assert.deepEqual(r.ntResponse24, cp.ntResponse);
    assert.deepEqual(r.passwordChange, { id: cp.id, encryptedPassword516: cp.encryptedPassword, encryptedHash16: cp.encryptedHash });

    // The same packet again while the backend thinks: dropped, not a second request.
    s.handlePacket(clock.now, PPP_CHAP, emitMsChapV2ChangePassword(cp));
    assert.match(only(drainEvents(s), "discarded").reason, /while it is being verified/);

    s.completeVerification(clock.now, { ok: true, authenticatorResponse: S_OK, mppe: { send: new Uint8Array(16), recv: new Uint8Array(16) } });
    const tx = drainTransmit(s);
    const p = unwrap(parseChap(tx[0].payload));
    assert.equal(p.code, CHAP_SUCCESS);
    if (p.code !== CHAP_SUCCESS) throw new Error("unreachable");
    assert.equal(p.id, cp.id);
    assert.equal(unwrap(parseMsChapV2Success(p.message)).authenticatorResponse, S_OK);
    const ok = only(drainEvents(s), "success");
    assert.equal(ok.passwordChanged, true);
    assert.equal(s.succeeded, true);

    // Lost Success: the repeated Change-Password gets the same reply; a repeated old Response does not.
    s.handlePacket(clock.now, PPP_CHAP, emitMsChapV2ChangePassword(cp));
    assert.deepEqual(drainTransmit(s)[0].payload, tx[0].payload);
    s.handlePacket(clock.now, PPP_CHAP, emitChap({ code: CHAP_RESPONSE, id: failureId, value: new Uint8Array(49), name: "alice" }));
    assert.deepEqual(drainTransmit(s), []);
  });

  test("the backend refuses the change (709): Failure E=709, the end", () => {
    const { s, clock, failureId } = expiredServer();
    drainEvents(s);
    s.handlePacket(clock.now, PPP_CHAP, emitMsChapV2ChangePassword(fields((failureId + 1) & 0xff)));
    only(drainEvents(s), "verify");
    s.completeVerification(clock.now, { ok: false, code: 709, message: "password change failed" });
    const f = failureOf(drainTransmit(s)[0].payload);
    assert.equal(f.error, 709);
    assert.equal(f.id, (failureId + 1) & 0xff);
    assert.equal(only(drainEvents(s), "failure").code, 709);
    assert.equal(s.isFinished, true);
  });

  test("648 again after a change: another Failure with a new challenge, up to maxPasswordChanges, then the end", () => {
    const { s, clock, failureId, challenge } = expiredServer({ maxPasswordChanges: 2 });
    drainEvents(s);
    const id2 = (failureId + 1) & 0xff;
    s.handlePacket(clock.now, PPP_CHAP, emitMsChapV2ChangePassword(fields(id2)));
    only(drainEvents(s), "verify");
    s.completeVerification(clock.now, EXPIRED);
    const f2 = failureOf(drainTransmit(s)[0].payload);
    assert.equal(f2.error, 648);
    assert.equal(f2.id, id2);
    assert.notDeepEqual(f2.challenge, challenge);
    only(drainEvents(s), "password-expired");
    const id3 = (id2 + 1) & 0xff;
    s.handlePacket(clock.now, PPP_CHAP, emitMsChapV2ChangePassword(fields(id3, 1)));
    const v = only(drainEvents(s), "verify").request;
    assert.ok(v.method === "mschap-v2");
    assert.deepEqual(v.authChallenge16, f2.challenge, "the newest Failure's challenge");
    s.completeVerification(clock.now, EXPIRED);
    assert.equal(failureOf(drainTransmit(s)[0].payload).error, 648);
    const end = only(drainEvents(s), "failure");
    assert.equal(end.code, 648);
    assert.equal(s.isFinished, true);
  });

  test("out of turn, wrong Identifier, malformed, wrong method: discarded and counted, never verified", () => {
    const { s, clock, failureId } = expiredServer();
    drainEvents(s);
    const good = emitMsChapV2ChangePassword(fields((failureId + 1) & 0xff));
    const wrongLength = good.slice();
    wrongLength[3]--;
    const cases: [Uint8Array, RegExp][] = [
      [emitMsChapV2ChangePassword(fields(failureId)), /does not answer the E=648 Failure id \d+ \(expected id \d+\)/],
      [emitMsChapV2ChangePassword(fields((failureId + 2) & 0xff)), /does not answer/],
      [good.subarray(0, 300), /malformed MS-CHAPv2 Change-Password: 300 octets received, Length says 586/],
      [wrongLength, /malformed MS-CHAPv2 Change-Password: Length field 585/],
      [Uint8Array.of(7), /shorter than the 4-octet header/],
    ];
    for (const [pkt, why] of cases) {
      s.handlePacket(clock.now, PPP_CHAP, pkt);
      assert.match(only(drainEvents(s), "discarded").reason, why);
      assert.deepEqual(drainTransmit(s), []);
    }
    assert.equal(s.discardedPackets, cases.length);
    // Random junk that starts with Code 7 never throws.
    let seed = 7;
    for (let i = 0; i < 500; i++) {
      const n = (seed = (seed * 1103515245 + 12345) >>> 0) % 700;
      const junk = new Uint8Array(n).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
      if (n > 0) junk[0] = 7;
      s.handlePacket(clock.now, PPP_CHAP, junk);
      for (const e of drainEvents(s)) assert.equal(e.type, "discarded");
      assert.deepEqual(drainTransmit(s), []);
    }
    assert.equal(s.discardedPackets, cases.length + 500);
    // Nothing of that disturbed the wait: the right packet is still taken.
    s.handlePacket(clock.now, PPP_CHAP, good);
    only(drainEvents(s), "verify");

    // Before any Failure, after a 691 Failure, and with other methods: never acted on.
    const fresh = new AuthServer({ method: "mschap-v2", hostName: "gw", random: counterRandom() });
    fresh.start(0);
    const ch = unwrap(parseChap(drainTransmit(fresh)[0].payload));
    fresh.handlePacket(0, PPP_CHAP, emitMsChapV2ChangePassword(fields((ch.id + 1) & 0xff)));
    assert.match(only(drainEvents(fresh), "discarded").reason, /before any Failure with E=648/);
    fresh.handlePacket(0, PPP_CHAP, emitChap({ code: CHAP_RESPONSE, id: ch.id, value: emitMsChapV2Response({ peerChallenge: new Uint8Array(16), ntResponse: new Uint8Array(24), flags: 0 }), name: "bob" }));
    only(drainEvents(fresh), "verify");
    fresh.completeVerification(0, { ok: false, code: 691, message: "bad password" });
    drainTransmit(fresh);
    only(drainEvents(fresh), "failure");
    fresh.handlePacket(0, PPP_CHAP, emitMsChapV2ChangePassword(fields((ch.id + 1) & 0xff)));
    assert.match(only(drainEvents(fresh), "discarded").reason, /no password-expired Failure outstanding/);
    assert.deepEqual(drainTransmit(fresh), []);

    for (const method of ["mschap-v1", "chap-md5"] as const) {
      const o = new AuthServer({ method, hostName: "gw", random: counterRandom() });
      o.start(0);
      drainTransmit(o);
      o.handlePacket(0, PPP_CHAP, good);
      assert.match(only(drainEvents(o), "discarded").reason, /Change-Password while authenticating with/);
    }
    // MS-CHAPv1's 648 is a plain failure: its change-password packets (RFC 2433 §9) are not supported.
    const v1 = new AuthServer({ method: "mschap-v1", hostName: "gw", random: counterRandom() });
    v1.start(0);
    const c1 = unwrap(parseChap(drainTransmit(v1)[0].payload));
    v1.handlePacket(0, PPP_CHAP, emitChap({ code: CHAP_RESPONSE, id: c1.id, value: emitMsChapV1Response({ lmResponse: new Uint8Array(24), ntResponse: new Uint8Array(24), useNt: true }), name: "bob" }));
    only(drainEvents(v1), "verify");
    v1.completeVerification(0, EXPIRED);
    assert.equal(only(drainEvents(v1), "failure").code, 648);
  });
});

describe("local users and password change", () => {
  test("refused with 709 and a log line that says why (local passwords never expire)", async () => {
    const local = new LocalUsers([{ user: "alice", password: "pw" }]);
    const r = await local.verify({
      method: "mschap-v2",
      user: "alice",
      authChallenge16: new Uint8Array(16),
      peerChallenge16: new Uint8Array(16),
      ntResponse24: new Uint8Array(24),
      passwordChange: { id: 1, encryptedPassword516: new Uint8Array(516), encryptedHash16: new Uint8Array(16) },
    });
    assert.ok(!r.ok);
    assert.equal(r.code, 709);
    assert.match(r.message, /local users cannot make \(their passwords never expire; change the users file instead\)/);
    const hashOnly = new LocalUsers([{ user: "bob", ntHash: ntPasswordHash("pw") }]);
    const h = await hashOnly.verify({
      method: "mschap-v2", user: "bob", authChallenge16: new Uint8Array(16), peerChallenge16: new Uint8Array(16), ntResponse24: new Uint8Array(24),
      passwordChange: { id: 1, encryptedPassword516: new Uint8Array(516), encryptedHash16: new Uint8Array(16) },
    });
    assert.ok(!h.ok && h.code === 709);
  });
});

describe("our client answers E=648 with a Change-Password when given a new password", () => {
  /** A backend whose "alice" has password `old`, expired: 648 for logins, a change checked as RFC 2759 §7 says. */
  function expiringBackend(old: string): { verify: Authenticator["verify"]; changedTo: string[] } {
    const changedTo: string[] = [];
    const oldHash = ntPasswordHash(old);
    return {
      changedTo,
      verify: async (req) => {
        if (req.method !== "mschap-v2") throw new Error("mschap-v2 only");
        if (req.passwordChange === undefined) {
          const r = verifyWithSecret(req, { ntHash: oldHash });
          return r.ok ? { ok: false, code: 648, message: "password expired" } : r;
        }
        const pw = decryptPwBlockWithPasswordHash(req.passwordChange.encryptedPassword516, oldHash);
        if (pw === undefined) return { ok: false, code: 709, message: "cannot decrypt" };
        if (!bytesEqual(oldNtPasswordHashEncryptedWithNewNtPasswordHash(ntPasswordHash(pw), oldHash), req.passwordChange.encryptedHash16)) {
          return { ok: false, code: 709, message: "old hash mismatch" };
        }
        changedTo.push(pw);
        const { passwordChange: _ignored, ...login } = req;
        return verifyWithSecret(login, { password: pw });
      },
    };
  }

  test("648 → Change-Password → Success whose S= the client checks with the new password; both sides' MPPE keys agree", async () => {
    const backend = expiringBackend("old-pw");
    const server = new AuthServer({ method: "mschap-v2", hostName: "gw", random: counterRandom() });
    const client = new AuthClient({ method: "mschap-v2", userName: "CORP\\alice", password: "old-pw", newPassword: "brand-new-pw", random: counterRandom(0x40) });
    const ex = await runExchange(server, client, backend);
    assert.deepEqual(backend.changedTo, ["brand-new-pw"]);
    const codes = ex.wire.filter((w) => w.packet.protocol === PPP_CHAP).map((w) => `${w.from}:${w.packet.payload[0]}`);
    assert.deepEqual(codes, ["server:1", "client:2", "server:4", "client:7", "server:3"]);
    only(ex.serverEvents, "password-expired");
    const ss = only(ex.serverEvents, "success");
    assert.equal(ss.passwordChanged, true);
    const cs = only(ex.clientEvents, "success");
    assert.deepEqual(cs.mppe?.send, ss.mppe?.recv);
    assert.deepEqual(cs.mppe?.recv, ss.mppe?.send);
  });

  test("without a new password, or when the change is refused, the client fails with the server's code", async () => {
    const plain = await runExchange(
      new AuthServer({ method: "mschap-v2", hostName: "gw", random: counterRandom() }),
      new AuthClient({ method: "mschap-v2", userName: "alice", password: "old-pw", random: counterRandom(0x40) }),
      expiringBackend("old-pw"),
    );
    assert.equal(only(plain.clientEvents, "failure").code, 648);
    // The client's idea of the old password is wrong for the change: 709, and no second change attempt.
    const refusing: Authenticator = {
      verify: async (req) => (req.method === "mschap-v2" && req.passwordChange !== undefined ? { ok: false, code: 709, message: "no" } : { ok: false, code: 648, message: "expired" }),
    };
    const ex = await runExchange(
      new AuthServer({ method: "mschap-v2", hostName: "gw", random: counterRandom() }),
      new AuthClient({ method: "mschap-v2", userName: "alice", password: "old-pw", newPassword: "x", random: counterRandom(0x40) }),
      refusing,
    );
    assert.equal(only(ex.clientEvents, "failure").code, 709);
    assert.equal(ex.wire.filter((w) => w.from === "client" && w.packet.payload[0] === 7).length, 1);
  });
});
