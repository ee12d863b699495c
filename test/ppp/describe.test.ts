/** PPP and PPTP packet lines as pppd's `debug` writes them: vectors, secrets kept out, malformed input survived. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { describePppPacket, mppeBits } from "../../src/ppp/describe.js";
import { describeControlMessage, ourCallId } from "../../src/pptp/describe.js";
import { PPP_LCP, PPP_IPCP, PPP_CCP, PPP_PAP, PPP_CHAP } from "../../src/wire/ppp-protocols.js";
import { fromHex, toHex } from "../../src/wire/bytes.js";
import { seededRandom, testSeed, testRuns, withSeed } from "../support/random.js";

const ascii = (s: string) => toHex(new TextEncoder().encode(s));

describe("PPP packets, pppd style", () => {
  test("LCP Configure-Request with asyncmap, magic, pcomp, accomp", () => {
    assert.equal(
      describePppPacket(PPP_LCP, fromHex("01 01 00 14 02 06 00 00 00 00 05 06 5f 2a 1c 3e 07 02 08 02")),
      "[LCP ConfReq id=0x1 <asyncmap 0x0> <magic 0x5f2a1c3e> <pcomp> <accomp>]",
    );
  });

  test("LCP options: mru and each authentication protocol", () => {
    assert.equal(describePppPacket(PPP_LCP, fromHex("01 02 00 0d 01 04 05 78 03 05 c2 23 81")), "[LCP ConfReq id=0x2 <mru 1400> <auth chap MS-v2>]");
    assert.equal(describePppPacket(PPP_LCP, fromHex("03 02 00 09 03 05 c2 23 80")), "[LCP ConfNak id=0x2 <auth chap MS>]");
    assert.equal(describePppPacket(PPP_LCP, fromHex("04 02 00 09 03 05 c2 23 05")), "[LCP ConfRej id=0x2 <auth chap MD5>]");
    assert.equal(describePppPacket(PPP_LCP, fromHex("02 02 00 08 03 04 c0 23")), "[LCP ConfAck id=0x2 <auth pap>]");
    // Callback (13) with CBCP, as Windows asks; an option we do not know is shown in hex.
    assert.equal(describePppPacket(PPP_LCP, fromHex("04 05 00 0b 0d 03 06 63 04 ab cd")), "[LCP ConfRej id=0x5 <callback CBCP> <0x63 ab cd>]");
  });

  test("LCP Terminate-Request text, Echo, Protocol-Reject, Identification", () => {
    assert.equal(describePppPacket(PPP_LCP, fromHex("05 03 00 11" + ascii("MPPE disabled"))), '[LCP TermReq id=0x3 "MPPE disabled"]');
    assert.equal(describePppPacket(PPP_LCP, fromHex("06 03 00 04")), "[LCP TermAck id=0x3]");
    assert.equal(describePppPacket(PPP_LCP, fromHex("09 04 00 08 5f 2a 1c 3e")), "[LCP EchoReq id=0x4 magic=0x5f2a1c3e]");
    assert.equal(describePppPacket(PPP_LCP, fromHex("0a 04 00 08 00 00 00 01")), "[LCP EchoRep id=0x4 magic=0x1]");
    assert.equal(describePppPacket(PPP_LCP, fromHex("08 07 00 08 80 57 01 01")), "[LCP ProtRej id=0x7 proto=IPV6CP]");
    assert.equal(describePppPacket(PPP_LCP, fromHex("0c 08 00 12 11 22 33 44" + ascii("MSRASV5.20"))), '[LCP Ident id=0x8 magic=0x11223344 "MSRASV5.20"]');
  });

  test("IPCP: addr, DNS and WINS as pppd names them", () => {
    assert.equal(describePppPacket(PPP_IPCP, fromHex("03 02 00 0a 03 06 c0 a8 32 0a")), "[IPCP ConfNak id=0x2 <addr 192.168.50.10>]");
    assert.equal(
      describePppPacket(PPP_IPCP, fromHex("01 01 00 22 03 06 00 00 00 00 81 06 00 00 00 00 82 06 00 00 00 00 83 06 08 08 08 08 84 06 00 00 00 00")),
      "[IPCP ConfReq id=0x1 <addr 0.0.0.0> <ms-dns1 0.0.0.0> <ms-wins 0.0.0.0> <ms-dns3 8.8.8.8> <ms-wins 0.0.0.0>]",
    );
    assert.equal(describePppPacket(PPP_IPCP, fromHex("04 01 00 0a 02 06 00 2d 0f 01")), "[IPCP ConfRej id=0x1 <compress VJ 0f 01>]");
  });

  test("CCP: the MPPE bits as +/- letters", () => {
    assert.equal(describePppPacket(PPP_CCP, fromHex("01 01 00 0a 12 06 01 00 00 40")), "[CCP ConfReq id=0x1 <mppe +H -M +S -L -D -C>]");
    assert.equal(describePppPacket(PPP_CCP, fromHex("03 01 00 0a 12 06 00 00 00 e1")), "[CCP ConfNak id=0x1 <mppe -H +M +S +L -D +C>]");
    assert.equal(mppeBits(0x01000040 | 0x200), "+H -M +S -L -D -C 0x200");
    assert.equal(describePppPacket(PPP_CCP, fromHex("04 02 00 08 1a 04 78 00")), "[CCP ConfRej id=0x2 <deflate 15>]");
    assert.equal(describePppPacket(PPP_CCP, fromHex("0e 05 00 04")), "[CCP ResetReq id=0x5]");
  });

  test("PAP: the user is shown, the password never", () => {
    const line = describePppPacket(PPP_PAP, fromHex("01 01 00 11 05" + ascii("alice") + "06" + ascii("s3cret")));
    assert.equal(line, '[PAP AuthReq id=0x1 user="alice" password=<hidden>]');
    assert.equal(line.includes("s3cret"), false);
    assert.equal(describePppPacket(PPP_PAP, fromHex("02 01 00 0d 08" + ascii("Login ok"))), '[PAP AuthAck id=0x1 "Login ok"]');
    assert.equal(describePppPacket(PPP_PAP, fromHex("03 01 00 05 00")), "[PAP AuthNak id=0x1]");
  });

  test("CHAP/MS-CHAP: challenge and name shown, the response value only as its length", () => {
    const challenge = "00112233445566778899aabbccddeeff";
    assert.equal(describePppPacket(PPP_CHAP, fromHex("01 01 00 1c 10" + challenge + ascii("pptp-ts"))), `[CHAP Challenge id=0x1 <${challenge}>, name = "pptp-ts"]`);
    const ntResponse = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718";
    const value = "00112233445566778899aabbccddeeff" + "0000000000000000" + ntResponse + "00";
    const line = describePppPacket(PPP_CHAP, fromHex("02 01 00 3b 31" + value + ascii("alice")));
    assert.equal(line, '[CHAP Response id=0x1 <49 octets, not shown>, name = "alice"]');
    assert.equal(line.includes(ntResponse.slice(0, 8)), false);
    assert.equal(describePppPacket(PPP_CHAP, fromHex("04 01 00 11" + ascii("E=691 R=0 V=3"))), '[CHAP Failure id=0x1 "E=691 R=0 V=3"]');
    assert.equal(describePppPacket(PPP_CHAP, fromHex("03 01 00 07" + ascii("S=1"))), '[CHAP Success id=0x1 "S=1"]');
  });

  test("malformed packets are described, not thrown", () => {
    assert.match(describePppPacket(PPP_LCP, fromHex("01 01 00 ff 01 04")), /^\[LCP <malformed: .*Length field 255.*> 01 01 00 ff 01 04\]$/);
    assert.match(describePppPacket(PPP_LCP, fromHex("01 01 00 07 01 09 05")), /^\[LCP ConfReq id=0x1 <malformed: .*> 01 09 05\]$/);
    assert.equal(describePppPacket(PPP_LCP, fromHex("01 01 00 07 01 03 05")), "[LCP ConfReq id=0x1 <0x1 05>]", "an MRU of the wrong length in hex");
    assert.equal(describePppPacket(0x8057, fromHex("01 01 00 04")), "[IPV6CP len=4 01 01 00 04]");
    assert.match(describePppPacket(PPP_CHAP, fromHex("02")), /^\[CHAP <malformed: /);
  });

  test("random bytes never throw and always give one line", () => {
    const seed = testSeed("describe-random", 0x5eed);
    withSeed("describe-random", seed, (s) => {
      const rnd = seededRandom(s);
      for (let i = 0; i < testRuns(3000); i++) {
        const len = rnd(1)[0] % 80;
        const p = rnd(len);
        if (len >= 4 && rnd(1)[0] & 1) {
          p[2] = 0;
          p[3] = len;
        }
        for (const proto of [PPP_LCP, PPP_IPCP, PPP_CCP, PPP_PAP, PPP_CHAP]) {
          const line = describePppPacket(proto, p);
          assert.ok(line.startsWith("[") && line.endsWith("]") && !line.includes("\n"), line);
        }
      }
    });
  });
});

describe("PPTP control messages", () => {
  test("SCCRQ, OCRQ, OCRP, CDN in one bracketed line each", () => {
    assert.equal(
      describeControlMessage({ type: "SCCRQ", protocolVersion: 0x100, framingCapabilities: 1, bearerCapabilities: 1, maximumChannels: 0, firmwareRevision: 0x1, hostName: "x", vendorString: "y" }),
      '[SCCRQ proto=0x100 framing=async bearer=analog channels=0 firmware=0x1 host="x" vendor="y"]',
    );
    assert.equal(
      describeControlMessage({
        type: "OCRQ",
        callId: 16384,
        callSerialNumber: 7,
        minimumBps: 300,
        maximumBps: 100000000,
        bearerType: 3,
        framingType: 3,
        packetRecvWindowSize: 64,
        packetProcessingDelay: 0,
        phoneNumberLength: 0,
        phoneNumber: "",
        subaddress: "",
      }),
      '[OCRQ call=16384 serial=7 bps=300..100000000 bearer=either framing=either window=64 delay=0 phone=""]',
    );
    const ocrp = { type: "OCRP", callId: 3, peerCallId: 16384, resultCode: 1, errorCode: 0, causeCode: 0, connectSpeed: 100000000, packetRecvWindowSize: 64, packetProcessingDelay: 0, physicalChannelId: 0 } as const;
    assert.equal(describeControlMessage(ocrp), "[OCRP call=3 peer=16384 result=1 (Connected) cause=0 speed=100000000 window=64 delay=0 channel=0]");
    assert.equal(describeControlMessage({ type: "CDN", callId: 3, resultCode: 3, errorCode: 0, causeCode: 0, callStatistics: "" }), "[CDN call=3 result=3 (Admin Shutdown) cause=0]");
    assert.equal(describeControlMessage({ type: "StopCCRQ", reason: 1 }), "[StopCCRQ reason=1 (None)]");
    assert.equal(describeControlMessage({ type: "EchoRP", identifier: 5, resultCode: 2, errorCode: 4 }), "[EchoRP id=0x5 result=2 (General Error) error=4]");
    // Our Call ID: the Call ID of what we send, the Peer's Call ID of what we receive.
    assert.equal(ourCallId("sent", ocrp), 3);
    assert.equal(ourCallId("rcvd", ocrp), 16384);
    assert.equal(ourCallId("rcvd", { type: "CCRQ", callId: 9 }), undefined);
  });
});
