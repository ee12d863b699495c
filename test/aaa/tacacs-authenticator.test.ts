/** TacacsAuthenticator's mapping of every REPLY / RESPONSE status, against a scripted exchange (no network). */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { TacacsAuthenticator, authenData, type TacacsExchange } from "../../src/aaa/tacacs/authenticator.js";
import { decodeAuthenStart, decodeAuthorRequest } from "../../src/aaa/tacacs/codec.js";
import type { TacOutcome, TacReply } from "../../src/aaa/tacacs/engine.js";
import type { AuthRequest } from "../../src/aaa/types.js";
import { unwrap } from "../../src/wire/result.js";

const server = { host: "10.0.0.5", port: 49 };
const PAP: AuthRequest = { method: "pap", user: "bob", password: "pw" };

class Scripted implements TacacsExchange {
  readonly asked: { type: number; minor: number; body: Uint8Array }[] = [];
  constructor(private readonly replies: (TacReply | string)[]) {}
  async exchange(type: number, minor: number, body: Uint8Array): Promise<TacOutcome> {
    this.asked.push({ type, minor, body });
    const r = this.replies.shift();
    if (r === undefined || typeof r === "string") return { ok: false, unreachable: true, message: r ?? "nothing scripted" };
    return { ok: true, server, reply: r };
  }
}

const authen = (status: number, serverMsg = "", data = new Uint8Array(0)): TacReply => ({ type: 1, body: { status, flags: 0, serverMsg, data } });
const author = (status: number, args: string[] = [], serverMsg = ""): TacReply => ({ type: 2, body: { status, serverMsg, data: new Uint8Array(0), args } });

describe("TacacsAuthenticator", () => {
  test("START and authorization REQUEST carry user, port pptp/<call>, rem_addr and service=ppp protocol=ip", async () => {
    const x = new Scripted([authen(1), author(1, ["addr=10.1.1.1"])]);
    const r = await new TacacsAuthenticator(x).verify(PAP, { sessionId: "s", callId: 9, peerAddress: "203.0.113.5", localAddress: "192.0.2.1" });
    assert.ok(r.ok);
    assert.equal(r.backend, "tacacs+ 10.0.0.5:49");
    assert.deepEqual(r.session, { framedAddress: "10.1.1.1" });
    const start = unwrap(decodeAuthenStart(x.asked[0].body));
    assert.deepEqual({ ...start, data: [...start.data] }, { action: 1, privLvl: 1, authenType: 2, service: 3, user: "bob", port: "pptp/9", remAddr: "203.0.113.5", data: [...authenData(PAP)] });
    assert.equal(x.asked[0].minor, 1);
    const req = unwrap(decodeAuthorRequest(x.asked[1].body));
    assert.deepEqual(req.args, ["service=ppp", "protocol=ip"]);
    assert.equal(req.authenMethod, 6);
    assert.equal(x.asked[1].minor, 0);
  });

  test("an MS-CHAPv2 password change is refused with 709 without asking the server (TACACS+ cannot change passwords)", async () => {
    const x = new Scripted([authen(1)]);
    const r = await new TacacsAuthenticator(x).verify({
      method: "mschap-v2", user: "u", authChallenge16: new Uint8Array(16), peerChallenge16: new Uint8Array(16), ntResponse24: new Uint8Array(24),
      passwordChange: { id: 2, encryptedPassword516: new Uint8Array(516), encryptedHash16: new Uint8Array(16) },
    });
    assert.ok(!r.ok);
    assert.equal(r.code, 709);
    assert.match(r.message, /password change, which TACACS\+ cannot make/);
    assert.equal(x.asked.length, 0);
  });

  const cases: [string, (TacReply | string)[], { code: number; unreachable: boolean; message: RegExp }][] = [
    ["FAIL", [authen(2, "bad password")], { code: 691, unreachable: false, message: /FAIL: bad password/ }],
    ["ERROR", [authen(7, "db down")], { code: 691, unreachable: true, message: /ERROR: db down/ }],
    ["FOLLOW (deprecated)", [authen(0x21)], { code: 691, unreachable: true, message: /FOLLOW/ }],
    ["RESTART", [authen(6)], { code: 691, unreachable: false, message: /does not accept pap/ }],
    ["GETPASS", [authen(5, "Password:")], { code: 691, unreachable: false, message: /interactive input \(status 5\)/ }],
    ["unreachable", ["no TACACS+ server answered: x"], { code: 691, unreachable: true, message: /unreachable: no TACACS\+ server answered/ }],
    ["authorization FAIL", [authen(1), author(0x10, [], "not allowed")], { code: 649, unreachable: false, message: /authorization FAIL .*not allowed/ }],
    ["authorization ERROR", [authen(1), author(0x11)], { code: 691, unreachable: false, message: /authorization status ERROR/ }],
    ["authorization unreachable", [authen(1), "gone"], { code: 691, unreachable: true, message: /authorization unreachable: gone/ }],
    ["an unknown mandatory AV pair", [authen(1), author(1, ["acl-magic=7"])], { code: 649, unreachable: false, message: /acl-magic=7/ }],
  ];
  for (const [name, script, want] of cases) {
    test(`${name} → ${want.code}${want.unreachable ? " (unreachable: a chain may go on)" : ""}`, async () => {
      const r = await new TacacsAuthenticator(new Scripted(script)).verify(PAP);
      assert.ok(!r.ok);
      assert.equal(r.code, want.code);
      assert.equal(r.unreachable === true, want.unreachable);
      assert.match(r.message, want.message);
    });
  }

  test("PASS_REPL replaces the pairs; authorization off skips the second exchange", async () => {
    const r = await new TacacsAuthenticator(new Scripted([authen(1), author(2, ["timeout=2"])])).verify(PAP);
    assert.ok(r.ok && r.session?.sessionTimeoutMs === 120_000);
    const x = new Scripted([authen(1)]);
    const r2 = await new TacacsAuthenticator(x, { authorize: false }).verify(PAP);
    assert.ok(r2.ok && r2.session === undefined);
    assert.equal(x.asked.length, 1);
  });

  test("START data layouts (RFC 8907 §5.4.2): CHAP id+challenge+response, MS-CHAP id+challenge+49-octet response", () => {
    const chap = authenData({ method: "chap-md5", user: "u", id: 5, challenge: new Uint8Array(16).fill(1), response: new Uint8Array(16).fill(2) });
    assert.deepEqual([chap.length, chap[0], chap[1], chap[17]], [33, 5, 1, 2]);
    const v1 = authenData({ method: "mschap-v1", user: "u", challenge8: new Uint8Array(8).fill(3), lmResponse24: new Uint8Array(24).fill(4), ntResponse24: new Uint8Array(24).fill(5), useNt: true });
    assert.deepEqual([v1.length, v1[1], v1[9], v1[33], v1[57]], [58, 3, 4, 5, 1]);
    const v2 = authenData({ method: "mschap-v2", user: "u", authChallenge16: new Uint8Array(16).fill(6), peerChallenge16: new Uint8Array(16).fill(7), ntResponse24: new Uint8Array(24).fill(8) });
    assert.deepEqual([v2.length, v2[1], v2[17], v2[33], v2[40], v2[41], v2[65]], [66, 6, 7, 0, 0, 8, 0]);
  });
});
