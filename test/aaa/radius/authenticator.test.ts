/** RadiusAuthenticator against a scripted in-process server: what it sends, and how each reply is read. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { utf8, fromUtf8, toHex } from "../../../src/wire/bytes.js";
import { unwrap } from "../../../src/wire/result.js";
import { decodeRadius, findAttribute, RadiusCode, type RadiusAttribute, type RadiusPacket } from "../../../src/aaa/radius/packet.js";
import { Attr, MsAttr, VENDOR_MICROSOFT } from "../../../src/aaa/radius/dictionary.js";
import { vendorAttr, textAttr, readInteger, readText, findVendorAttribute, findVendorAttributes, integerAttr } from "../../../src/aaa/radius/attributes.js";
import { encodeResponse, recoverUserPassword, encryptMppeKey, encryptMsChapMppeKeys } from "../../../src/aaa/radius/crypto.js";
import { RadiusClientEngine } from "../../../src/aaa/radius/client-engine.js";
import { RadiusAuthenticator, framedRoutePrefix, msChapErrorCode, type RadiusRequester } from "../../../src/aaa/radius/authenticator.js";
import type { AuthContext, AuthRequest } from "../../../src/aaa/types.js";
import { sha1 } from "../../../src/crypto/sha1.js";

const SECRET = utf8("scripted");
const CTX: AuthContext = { sessionId: "ABC123", callId: 4711, peerAddress: "192.0.2.10", localAddress: "198.51.100.1" };
const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

/** A requester whose server is a function from the decoded request to reply attributes (or "silent"). */
function scripted(answer: (req: RadiusPacket) => { code: number; attrs: RadiusAttribute[] } | "silent"): { requester: RadiusRequester; seen: RadiusPacket[] } {
  const seen: RadiusPacket[] = [];
  let now = 0;
  const engine: RadiusClientEngine = new RadiusClientEngine({
    servers: [{ host: "203.0.113.5", port: 1812, secret: SECRET }],
    timeoutMs: 100,
    retries: 0,
    deadlineMs: 100,
    random: rnd,
    transmit: (_i, data) => {
      const req = unwrap(decodeRadius(data.slice()));
      seen.push(req);
      const a = answer(req);
      if (a !== "silent") queueMicrotask(() => engine.receive(0, encodeResponse(a.code, req.identifier, req.authenticator, a.attrs, SECRET), now));
    },
  });
  return {
    seen,
    requester: {
      request: (code, build) => {
        const p = engine.request(code, build, now);
        if (engine.pollTimeout() !== undefined) setImmediate(() => engine.handleTimeout((now += 1000)));
        return p;
      },
    },
  };
}

describe("Access-Request contents", () => {
  test("PAP with call context: every attribute the issue lists", async () => {
    const s = scripted(() => ({ code: RadiusCode.AccessAccept, attrs: [] }));
    const r = await new RadiusAuthenticator(s.requester, { nasIdentifier: "nas1", nasIpAddress: "198.51.100.1" }).verify({ method: "pap", user: "bob", password: "hunter2" }, CTX);
    assert.ok(r.ok);
    assert.equal(r.backend, "radius 203.0.113.5:1812");
    const q = s.seen[0];
    assert.equal(q.attributes[0].type, Attr.MessageAuthenticator, "Message-Authenticator first");
    assert.equal(readText(findAttribute(q, Attr.UserName)), "bob");
    assert.equal(fromUtf8(unwrap(recoverUserPassword(findAttribute(q, Attr.UserPassword)!, SECRET, q.authenticator))), "hunter2");
    assert.equal(readText(findAttribute(q, Attr.NasIdentifier)), "nas1");
    assert.equal(toHex(findAttribute(q, Attr.NasIpAddress)!), "c6336401");
    assert.equal(readInteger(findAttribute(q, Attr.NasPort)), 4711);
    assert.equal(readInteger(findAttribute(q, Attr.NasPortType)), 5);
    assert.equal(readInteger(findAttribute(q, Attr.ServiceType)), 2);
    assert.equal(readInteger(findAttribute(q, Attr.FramedProtocol)), 1);
    assert.equal(toHex(findAttribute(q, Attr.TunnelType)!), "00000001");
    assert.equal(toHex(findAttribute(q, Attr.TunnelMediumType)!), "00000001");
    assert.equal(readText(findAttribute(q, Attr.TunnelClientEndpoint)), "192.0.2.10");
    assert.equal(readText(findAttribute(q, Attr.CallingStationId)), "192.0.2.10");
    assert.equal(readText(findAttribute(q, Attr.CalledStationId)), "198.51.100.1");
    assert.equal(readText(findAttribute(q, Attr.AcctSessionId)), "ABC123");
  });

  test("without context the per-call attributes are left out; NAS-Identifier defaults to pptp-ts", async () => {
    const s = scripted(() => ({ code: RadiusCode.AccessAccept, attrs: [] }));
    await new RadiusAuthenticator(s.requester).verify({ method: "pap", user: "bob", password: "x" });
    const q = s.seen[0];
    for (const t of [Attr.NasPort, Attr.CallingStationId, Attr.CalledStationId, Attr.AcctSessionId, Attr.TunnelClientEndpoint, Attr.NasIpAddress]) assert.equal(findAttribute(q, t), undefined);
    assert.equal(readText(findAttribute(q, Attr.NasIdentifier)), "pptp-ts");
  });

  test("CHAP-MD5, MS-CHAPv1 and MS-CHAPv2 values are laid out as RFC 2865 §5.3 and RFC 2548 §2.3 say", async () => {
    const s = scripted(() => ({ code: RadiusCode.AccessReject, attrs: [] }));
    const auth = new RadiusAuthenticator(s.requester);
    const ch = rnd(16), resp = rnd(16);
    await auth.verify({ method: "chap-md5", user: "u", id: 9, challenge: ch, response: resp });
    assert.equal(toHex(findAttribute(s.seen[0], Attr.ChapPassword)!), "09" + toHex(resp));
    assert.equal(toHex(findAttribute(s.seen[0], Attr.ChapChallenge)!), toHex(ch));
    const c8 = rnd(8), lm = rnd(24), nt = rnd(24);
    await auth.verify({ method: "mschap-v1", user: "u", challenge8: c8, lmResponse24: lm, ntResponse24: nt, useNt: true });
    assert.equal(toHex(findVendorAttribute(s.seen[1], VENDOR_MICROSOFT, MsAttr.ChapChallenge)!), toHex(c8));
    assert.equal(toHex(findVendorAttribute(s.seen[1], VENDOR_MICROSOFT, MsAttr.ChapResponse)!), "0001" + toHex(lm) + toHex(nt));
    const ac = rnd(16), pc = rnd(16);
    await auth.verify({ method: "mschap-v2", user: "u", authChallenge16: ac, peerChallenge16: pc, ntResponse24: nt });
    assert.equal(toHex(findVendorAttribute(s.seen[2], VENDOR_MICROSOFT, MsAttr.ChapChallenge)!), toHex(ac));
    assert.equal(toHex(findVendorAttribute(s.seen[2], VENDOR_MICROSOFT, MsAttr.Chap2Response)!), "0000" + toHex(pc) + "00".repeat(8) + toHex(nt));
  });

  test("MS-CHAPv2 password change: MS-CHAP-Challenge, MS-CHAP2-CPW (68 octets) and three MS-CHAP-NT-Enc-PW chunks", async () => {
    const s = scripted(() => ({ code: RadiusCode.AccessReject, attrs: [vendorAttr(VENDOR_MICROSOFT, MsAttr.ChapError, utf8("\x08E=709 R=0 M=Password change failed"))] }));
    const ac = rnd(16), pc = rnd(16), nt = rnd(24), encPw = rnd(516), encHash = rnd(16);
    const r = await new RadiusAuthenticator(s.requester).verify({
      method: "mschap-v2",
      user: "u",
      authChallenge16: ac,
      peerChallenge16: pc,
      ntResponse24: nt,
      passwordChange: { id: 8, encryptedPassword516: encPw, encryptedHash16: encHash },
    });
    assert.ok(!r.ok);
    assert.equal(r.code, 709, "MS-CHAP-Error passed through");
    assert.match(r.message, /rejected the password change of "u" with MS-CHAP error 709/);
    const q = s.seen[0];
    assert.equal(toHex(findVendorAttribute(q, VENDOR_MICROSOFT, MsAttr.ChapChallenge)!), toHex(ac));
    assert.equal(findVendorAttribute(q, VENDOR_MICROSOFT, MsAttr.Chap2Response), undefined, "the server takes the response from CPW");
    // Code 7, Ident, Encrypted-Hash, Peer-Challenge, 8 reserved, NT-Response, Flags.
    assert.equal(toHex(findVendorAttribute(q, VENDOR_MICROSOFT, MsAttr.Chap2Cpw)!), "0708" + toHex(encHash) + toHex(pc) + "00".repeat(8) + toHex(nt) + "0000");
    const chunks = findVendorAttributes(q, VENDOR_MICROSOFT, MsAttr.ChapNtEncPw);
    assert.deepEqual(chunks.map((c) => c.length), [247, 247, 34]);
    assert.deepEqual(chunks.map((c) => toHex(c.subarray(0, 4))), ["06080001", "06080002", "06080003"]);
    assert.equal(chunks.map((c) => toHex(c.subarray(4))).join(""), toHex(encPw));
    const bad = await new RadiusAuthenticator(s.requester).verify({
      method: "mschap-v2", user: "u", authChallenge16: ac, peerChallenge16: pc, ntResponse24: nt,
      passwordChange: { id: 8, encryptedPassword516: encPw.subarray(1), encryptedHash16: encHash },
    });
    assert.ok(!bad.ok);
    assert.match(bad.message, /malformed MS-CHAPv2 Change-Password values/);
    assert.equal(s.seen.length, 1);
  });

  test("values that cannot be sent are refused without asking", async () => {
    const s = scripted(() => ({ code: RadiusCode.AccessAccept, attrs: [] }));
    const r = await new RadiusAuthenticator(s.requester).verify({ method: "pap", user: "u", password: "x".repeat(129) });
    assert.ok(!r.ok);
    assert.match(r.message, /longer than 128/);
    assert.equal(s.seen.length, 0);
  });
});

describe("reading replies", () => {
  const v1: Extract<AuthRequest, { method: "mschap-v1" }> = { method: "mschap-v1", user: "u", challenge8: rnd(8), lmResponse24: rnd(24), ntResponse24: rnd(24), useNt: true };
  test("MS-CHAPv1 with an LM key: 128-bit from the NT hash hash and the challenge, 40/56-bit from the LM key", async () => {
    const lmKey = rnd(8), hashHash = rnd(16);
    const s = scripted((q) => ({ code: RadiusCode.AccessAccept, attrs: [vendorAttr(VENDOR_MICROSOFT, MsAttr.ChapMppeKeys, encryptMsChapMppeKeys(lmKey, hashHash, SECRET, q.authenticator))] }));
    const r = await new RadiusAuthenticator(s.requester).verify(v1);
    assert.ok(r.ok && r.mppe !== undefined && typeof r.mppe.short === "object");
    assert.deepEqual(r.mppe.send, sha1(hashHash, hashHash, v1.challenge8).slice(0, 16));
    assert.deepEqual(r.mppe.short.send, lmKey);
  });

  test("MS-CHAPv2: Accept without MS-CHAP2-Success fails; corrupt MPPE keys fail; good keys are taken as server send/recv", async () => {
    const v2: AuthRequest = { method: "mschap-v2", user: "u", authChallenge16: rnd(16), peerChallenge16: rnd(16), ntResponse24: rnd(24) };
    const none = await new RadiusAuthenticator(scripted(() => ({ code: RadiusCode.AccessAccept, attrs: [] })).requester).verify(v2);
    assert.ok(!none.ok);
    assert.match(none.message, /without a valid MS-CHAP2-Success/);
    const success = vendorAttr(VENDOR_MICROSOFT, MsAttr.Chap2Success, utf8("\x00S=" + "ab".repeat(20)));
    const sendKey = rnd(16), recvKey = rnd(16);
    const good = await new RadiusAuthenticator(
      scripted((q) => ({ code: RadiusCode.AccessAccept, attrs: [success, vendorAttr(VENDOR_MICROSOFT, MsAttr.MppeSendKey, encryptMppeKey(sendKey, SECRET, q.authenticator, 0x8001)), vendorAttr(VENDOR_MICROSOFT, MsAttr.MppeRecvKey, encryptMppeKey(recvKey, SECRET, q.authenticator, 0x8002))] })).requester,
    ).verify(v2);
    assert.ok(good.ok);
    assert.equal(good.authenticatorResponse, "S=" + "AB".repeat(20));
    assert.deepEqual(good.mppe, { send: sendKey, recv: recvKey });
    const bad = await new RadiusAuthenticator(
      scripted(() => ({ code: RadiusCode.AccessAccept, attrs: [success, vendorAttr(VENDOR_MICROSOFT, MsAttr.MppeSendKey, Uint8Array.of(0x80, 1, ...rnd(16))), vendorAttr(VENDOR_MICROSOFT, MsAttr.MppeRecvKey, Uint8Array.of(1, 2))] })).requester,
    ).verify(v2);
    assert.ok(!bad.ok);
    assert.match(bad.message, /MS-MPPE-(Send|Recv)-Key unusable/);
  });

  test("Reject: MS-CHAP-Error code and Reply-Message; Challenge is refused; silence is unreachable", async () => {
    const rej = await new RadiusAuthenticator(
      scripted(() => ({ code: RadiusCode.AccessReject, attrs: [vendorAttr(VENDOR_MICROSOFT, MsAttr.ChapError, utf8("\x01E=649 R=0 V=3")), textAttr(Attr.ReplyMessage, "no dial-in")] })).requester,
    ).verify(v1);
    assert.ok(!rej.ok);
    assert.equal(rej.code, 649);
    assert.match(rej.message, /Reply-Message: "no dial-in"/);
    const chal = await new RadiusAuthenticator(scripted(() => ({ code: RadiusCode.AccessChallenge, attrs: [integerAttr(Attr.SessionTimeout, 5)] })).requester).verify(v1);
    assert.ok(!chal.ok);
    assert.match(chal.message, /Access-Challenge/);
    const silent = await new RadiusAuthenticator(scripted(() => "silent").requester).verify(v1);
    assert.ok(!silent.ok);
    assert.equal(silent.unreachable, true);
    assert.match(silent.message, /203\.0\.113\.5:1812/);
  });

  test("helpers: Framed-Route forms and MS-CHAP-Error parsing", () => {
    assert.equal(framedRoutePrefix("10.1.2.3/24 0.0.0.0 1"), "10.1.2.0/24");
    assert.equal(framedRoutePrefix("10.1.2.3"), "10.1.2.3/32");
    assert.equal(framedRoutePrefix("10.1.2.300/24"), undefined);
    assert.equal(framedRoutePrefix("10.1.2.0/33"), undefined);
    assert.equal(framedRoutePrefix("garbage"), undefined);
    assert.equal(msChapErrorCode(utf8("\x00E=648 R=0 C=00 V=3")), 648);
    assert.equal(msChapErrorCode(utf8("\x00nothing")), undefined);
    assert.equal(msChapErrorCode(Uint8Array.of(0)), undefined);
  });
});
