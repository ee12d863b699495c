/** RADIUS codec and crypto against the RFC 2865 §7 packet examples, round trips and every truncation. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { fromHex, toHex, utf8, fromUtf8 } from "../../../src/wire/bytes.js";
import { unwrap } from "../../../src/wire/result.js";
import { decodeRadius, encodeRadius, findAttribute, findAttributes, RadiusCode, attributeOffset } from "../../../src/aaa/radius/packet.js";
import { Attr, MsAttr, VENDOR_MICROSOFT, formatAttribute, decodeVendorSpecific } from "../../../src/aaa/radius/dictionary.js";
import {
  integerAttr, ipaddrAttr, textAttr, octetsAttr, taggedIntegerAttr, taggedTextAttr, vendorAttr,
  readInteger, readIpv4, readText, findVendorAttribute, findVendorAttributes,
} from "../../../src/aaa/radius/attributes.js";
import {
  hideUserPassword, recoverUserPassword, responseAuthenticator, accountingRequestAuthenticator, messageAuthenticator,
  encodeRequest, encodeResponse, verifyResponse, verifyRequest, decryptMppeKey, encryptMppeKey,
  decryptMsChapMppeKeys, encryptMsChapMppeKeys,
} from "../../../src/aaa/radius/crypto.js";

const SECRET = utf8("xyzzy5461"); // RFC 2865 §7
// §7.1: nemo / arctangent, NAS 192.168.1.16 port 3
const REQ71 = fromHex("01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb 98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d 93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8 01 10 05 06 00 00 00 03");
const RESP71 = fromHex("02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf 9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00 0e 06 c0 a8 01 03");
// §7.2: flopsy with CHAP, reply with Framed-IP-Address 255.255.255.254
const REQ72 = fromHex("01 01 00 47 2a ee 86 f0 8d 0d 55 96 9c a5 97 8e 0d 33 67 a2 01 08 66 6c 6f 70 73 79 03 13 16 e9 75 57 c3 16 18 58 95 f2 93 ff 63 44 07 72 75 04 06 c0 a8 01 10 05 06 00 00 00 14 06 06 00 00 00 02 07 06 00 00 00 01");
const RESP72 = fromHex("02 01 00 38 15 ef bc 7d ab 26 cf a3 dc 34 d9 c0 3c 86 01 a4 06 06 00 00 00 02 07 06 00 00 00 01 08 06 ff ff ff fe 0a 06 00 00 00 02 0d 06 00 00 00 01 0c 06 00 00 05 dc");

describe("RFC 2865 §7 examples", () => {
  test("§7.1 Access-Request decodes, and its User-Password hides 'arctangent'", () => {
    const p = unwrap(decodeRadius(REQ71));
    assert.equal(p.code, RadiusCode.AccessRequest);
    assert.equal(p.identifier, 0);
    assert.equal(readText(findAttribute(p, Attr.UserName)), "nemo");
    assert.equal(readIpv4(findAttribute(p, Attr.NasIpAddress)), "192.168.1.16");
    assert.equal(readInteger(findAttribute(p, Attr.NasPort)), 3);
    const hidden = findAttribute(p, Attr.UserPassword)!;
    assert.equal(toHex(hideUserPassword(utf8("arctangent"), SECRET, p.authenticator)), toHex(hidden));
    assert.equal(fromUtf8(unwrap(recoverUserPassword(hidden, SECRET, p.authenticator))), "arctangent");
    assert.deepEqual(encodeRadius(p), REQ71);
  });
  test("§7.1 and §7.2 Access-Accept Response Authenticators verify; a wrong secret does not", () => {
    for (const [req, resp] of [[REQ71, RESP71], [REQ72, RESP72]] as const) {
      const ra = req.subarray(4, 20);
      assert.equal(toHex(responseAuthenticator(resp, ra, SECRET)), toHex(resp.subarray(4, 20)));
      assert.equal(verifyResponse(resp, ra, SECRET).authenticator, true);
      assert.equal(verifyResponse(resp, ra, utf8("xyzzy5462")).authenticator, false);
      assert.equal(verifyResponse(resp, ra, SECRET).messageAuthenticator, "absent");
    }
    const p = unwrap(decodeRadius(RESP72));
    assert.equal(readIpv4(findAttribute(p, Attr.FramedIpAddress)), "255.255.255.254");
    assert.equal(readInteger(findAttribute(p, Attr.FramedMtu)), 1500);
  });
});

describe("decoding refuses what is malformed, never throws", () => {
  test("every truncation of a packet is refused (short or Length beyond the datagram)", () => {
    for (const pkt of [REQ71, RESP71, REQ72, RESP72]) {
      for (let n = 0; n < pkt.length; n++) {
        const r = decodeRadius(pkt.subarray(0, n));
        assert.equal(r.ok, false, `truncated to ${n}`);
      }
    }
  });
  test("octets beyond Length are padding (RFC 2865 §3)", () => {
    const padded = new Uint8Array(RESP71.length + 7);
    padded.set(RESP71);
    const p = unwrap(decodeRadius(padded));
    assert.equal(p.attributes.length, 3);
  });
  test("bad Length fields and bad attribute lengths are typed errors", () => {
    const bad = (mut: (b: Uint8Array) => void, code: string): void => {
      const b = RESP71.slice();
      mut(b);
      const r = decodeRadius(b);
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.error.code, code, r.error.message);
    };
    bad((b) => { b[2] = 0; b[3] = 19; }, "bad-length");
    bad((b) => { b[2] = 0x10; b[3] = 1; }, "bad-length"); // 4097
    bad((b) => { b[21] = 1; }, "bad-attribute"); // attribute length 1
    bad((b) => { b[21] = 0; }, "bad-attribute");
    bad((b) => { b[21] = 30; }, "bad-attribute"); // runs past Length
    bad((b) => { b[21] = 5; b[26] = 6; b[27] = 7; }, "bad-attribute"); // Service-Type of 3 octets
    // A Message-Authenticator must be 16 octets.
    const ma = encodeRadius({ code: 2, identifier: 0, authenticator: new Uint8Array(16), attributes: [{ type: Attr.MessageAuthenticator, value: new Uint8Array(15) }] });
    assert.equal(decodeRadius(ma).ok, false);
  });
  test("random garbage never throws", () => {
    let seed = 1;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let i = 0; i < 5000; i++) {
      const len = rnd() % 80;
      const b = new Uint8Array(len).map(() => rnd());
      if (len >= 4 && i % 2 === 0) { b[2] = 0; b[3] = len; }
      const r = decodeRadius(b);
      if (r.ok) for (const a of r.value.attributes) formatAttribute(a.type, a.value);
      attributeOffset(b, Attr.MessageAuthenticator);
      messageAuthenticator(b, new Uint8Array(16), SECRET);
    }
  });
});

describe("attributes", () => {
  test("round trip of every builder, tags and Microsoft VSAs", () => {
    const attrs = [
      textAttr(Attr.UserName, "DOMAIN\\jöhn"),
      integerAttr(Attr.NasPort, 0xfffffffe),
      ipaddrAttr(Attr.FramedIpAddress, "10.1.2.3"),
      taggedIntegerAttr(Attr.TunnelType, 1),
      taggedTextAttr(Attr.TunnelClientEndpoint, "192.0.2.1"),
      taggedTextAttr(Attr.TunnelServerEndpoint, "192.0.2.2", 3),
      octetsAttr(Attr.Class, Uint8Array.of(0, 1, 2)),
      octetsAttr(Attr.Class, Uint8Array.of(9)),
      vendorAttr(VENDOR_MICROSOFT, MsAttr.ChapChallenge, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)),
      vendorAttr(VENDOR_MICROSOFT, MsAttr.MppeEncryptionPolicy, Uint8Array.of(0, 0, 0, 2)),
    ];
    const raw = encodeRadius({ code: 1, identifier: 200, authenticator: new Uint8Array(16).fill(7), attributes: attrs });
    const p = unwrap(decodeRadius(raw));
    assert.equal(p.identifier, 200);
    assert.equal(readText(findAttribute(p, Attr.UserName)), "DOMAIN\\jöhn");
    assert.equal(readInteger(findAttribute(p, Attr.NasPort)), 0xfffffffe);
    assert.equal(readIpv4(findAttribute(p, Attr.FramedIpAddress)), "10.1.2.3");
    assert.deepEqual([...findAttribute(p, Attr.TunnelType)!], [0, 0, 0, 1]);
    assert.equal(readText(findAttribute(p, Attr.TunnelClientEndpoint)), "192.0.2.1");
    assert.deepEqual(findAttributes(p, Attr.Class).map((c) => [...c]), [[0, 1, 2], [9]]);
    assert.deepEqual([...findVendorAttribute(p, VENDOR_MICROSOFT, MsAttr.ChapChallenge)!], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(readInteger(findVendorAttribute(p, VENDOR_MICROSOFT, MsAttr.MppeEncryptionPolicy)), 2);
    assert.equal(findVendorAttributes(p, 9, MsAttr.ChapChallenge).length, 0);
    assert.equal(formatAttribute(Attr.TunnelServerEndpoint, findAttribute(p, Attr.TunnelServerEndpoint)!), 'Tunnel-Server-Endpoint = "192.0.2.2" (tag 3)');
    assert.equal(formatAttribute(Attr.VendorSpecific, p.attributes[9].value), "MS-MPPE-Encryption-Policy = 2");
    assert.equal(formatAttribute(Attr.UserPassword, new Uint8Array(16)), "User-Password = <16 octets hidden>");
  });
  test("malformed VSAs are refused, builders refuse oversize values", () => {
    assert.deepEqual(decodeVendorSpecific(Uint8Array.of(0, 0, 1, 55)), []);
    assert.equal(decodeVendorSpecific(Uint8Array.of(0, 0, 1)), undefined);
    assert.equal(decodeVendorSpecific(Uint8Array.of(0, 0, 1, 55, 7, 1)), undefined);
    assert.equal(decodeVendorSpecific(Uint8Array.of(0, 0, 1, 55, 7, 9, 0)), undefined);
    assert.equal(decodeVendorSpecific(Uint8Array.of(0, 0, 1, 55, 7, 5, 0, 0, 0)), undefined, "MS-MPPE-Encryption-Policy must be 4 octets");
    assert.throws(() => textAttr(Attr.UserName, "x".repeat(254)), RangeError);
    assert.throws(() => vendorAttr(311, 1, new Uint8Array(248)), RangeError);
    assert.throws(() => ipaddrAttr(Attr.FramedIpAddress, "1.2.3.256"), RangeError);
  });
});

describe("authenticators", () => {
  const ra = fromHex("0f403f9473978057bd83d5cb98f4227a");
  test("Access-Request: Message-Authenticator first, HMAC-MD5 over the packet with zeros in its place (RFC 3579 §3.2)", () => {
    const raw = encodeRequest(RadiusCode.AccessRequest, 5, [textAttr(Attr.UserName, "nemo")], SECRET, { requestAuthenticator: ra });
    assert.equal(raw[20], Attr.MessageAuthenticator);
    const zeroed = raw.slice();
    zeroed.fill(0, 22, 38);
    const expected = createHmac("md5", SECRET).update(zeroed).digest();
    assert.equal(toHex(raw.subarray(22, 38)), expected.toString("hex"));
    assert.deepEqual(verifyRequest(raw, SECRET), { authenticator: true, messageAuthenticator: "ok" });
    assert.equal(verifyRequest(raw, utf8("other")).messageAuthenticator, "bad");
  });
  test("replies: Response Authenticator and Message-Authenticator over the request's authenticator", () => {
    const raw = encodeResponse(RadiusCode.AccessAccept, 5, ra, [integerAttr(Attr.SessionTimeout, 60)], SECRET);
    assert.deepEqual(verifyResponse(raw, ra, SECRET), { authenticator: true, messageAuthenticator: "ok" });
    // Independent check of the MA: HMAC with the request authenticator in the header and zeros in the MA value.
    const copy = raw.slice();
    copy.set(ra, 4);
    copy.fill(0, 22, 38);
    assert.equal(toHex(raw.subarray(22, 38)), createHmac("md5", SECRET).update(copy).digest("hex"));
    const bogus = raw.slice();
    bogus[raw.length - 1] ^= 1;
    assert.deepEqual(verifyResponse(bogus, ra, SECRET), { authenticator: false, messageAuthenticator: "bad" });
    const other = fromHex("00".repeat(16));
    assert.equal(verifyResponse(raw, other, SECRET).authenticator, false);
    // Forged MA only: authenticator recomputed by someone who knows the secret but MA wrong -> "bad".
    const maBad = raw.slice();
    maBad[25] ^= 0xff;
    maBad.set(responseAuthenticator(maBad, ra, SECRET), 4);
    assert.deepEqual(verifyResponse(maBad, ra, SECRET), { authenticator: true, messageAuthenticator: "bad" });
    const noMa = encodeResponse(RadiusCode.AccessAccept, 5, ra, [], SECRET, { messageAuthenticator: false });
    assert.deepEqual(verifyResponse(noMa, ra, SECRET), { authenticator: true, messageAuthenticator: "absent" });
  });
  test("Accounting-Request authenticator is MD5(code id length 0*16 attributes secret) (RFC 2866 §3)", () => {
    const raw = encodeRequest(RadiusCode.AccountingRequest, 9, [integerAttr(Attr.AcctStatusType, 1), textAttr(Attr.AcctSessionId, "abc")], SECRET);
    const copy = raw.slice();
    copy.fill(0, 4, 20);
    const expected = createHash("md5").update(copy).update(SECRET).digest("hex");
    assert.equal(toHex(raw.subarray(4, 20)), expected);
    assert.equal(toHex(accountingRequestAuthenticator(raw, SECRET)), expected);
    assert.deepEqual(verifyRequest(raw, SECRET), { authenticator: true, messageAuthenticator: "absent" });
    const withMa = encodeRequest(RadiusCode.CoaRequest, 9, [integerAttr(Attr.SessionTimeout, 5)], SECRET, { messageAuthenticator: true });
    assert.deepEqual(verifyRequest(withMa, SECRET), { authenticator: true, messageAuthenticator: "ok" });
    assert.equal(verifyRequest(withMa, utf8("nope")).authenticator, false);
  });
});

describe("MPPE key attributes (RFC 2548 §2.4)", () => {
  const ra = fromHex("00112233445566778899aabbccddeeff");
  const key = fromHex("8b7cdc149b993a1ba118cb153f56dcf8");
  test("MS-MPPE-Send-Key salt cipher round trip; first block is MD5(S + R + A)", () => {
    const enc = encryptMppeKey(key, SECRET, ra, 0x8123);
    assert.equal(enc.length, 2 + 32);
    const b1 = createHash("md5").update(SECRET).update(ra).update(Uint8Array.of(0x81, 0x23)).digest();
    assert.equal(enc[2] ^ b1[0], 16, "first plaintext octet is Key-Length");
    assert.deepEqual(unwrap(decryptMppeKey(enc, SECRET, ra)), key);
  });
  test("refused: salt without high bit, bad lengths, wrong secret (Key-Length out of range)", () => {
    const enc = encryptMppeKey(key, SECRET, ra, 0x8123);
    const noHigh = enc.slice();
    noHigh[0] = 0x01;
    assert.equal(unwrap0(decryptMppeKey(noHigh, SECRET, ra)), "bad-salt");
    for (let n = 0; n < enc.length; n++) assert.equal(decryptMppeKey(enc.subarray(0, n), SECRET, ra).ok, false, `length ${n}`);
    let refused = 0;
    for (let i = 0; i < 50; i++) if (!decryptMppeKey(enc, utf8(`wrong${i}`), ra).ok) refused++;
    assert.ok(refused > 40, `a wrong secret mostly yields an impossible Key-Length (${refused}/50)`);
    assert.throws(() => encryptMppeKey(key, SECRET, ra, 0x0123), RangeError);
  });
  test("MS-CHAP-MPPE-Keys: LM key 8 + NT key 16, hidden like User-Password", () => {
    const lm = fromHex("0102030405060708");
    const enc = encryptMsChapMppeKeys(lm, key, SECRET, ra);
    assert.deepEqual(enc, hideUserPassword(Uint8Array.of(...lm, ...key), SECRET, ra));
    const dec = unwrap(decryptMsChapMppeKeys(enc, SECRET, ra));
    assert.deepEqual(dec.lmKey, lm);
    assert.deepEqual(dec.ntKey, key);
    assert.equal(decryptMsChapMppeKeys(enc.subarray(0, 24), SECRET, ra).ok, false);
  });
});

function unwrap0(r: { ok: boolean; error?: { code: string } }): string | undefined {
  return r.ok ? undefined : r.error?.code;
}
