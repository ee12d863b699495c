import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { fromHex } from "../../src/wire/bytes.js";
import { unwrap } from "../../src/wire/result.js";
import {
  parsePppHeader,
  emitPppHeader,
  pppHeaderLen,
  PppHeaderReader,
  PPP_UNCOMPRESSED,
} from "../../src/wire/ppp-frame.js";
import { PPP_LCP, PPP_COMP, PPP_IP, PPP_CHAP, PPP_IPCP, PPP_CCP } from "../../src/wire/ppp-protocols.js";

// Frames captured from a Cisco PIX 6.x talking to Windows PPTP clients ("debug ppp io" output, Cisco PPTP+RADIUS
// FAQ). The data path ones were printed truncated; the header only needs their first octets.
const LCP_CONFREQ = "ff03c021010100130305c2238005065a899b2307020802"; // complete: Length 0x13 = 19
const MPPE_DATA = "ff0300fd9000bccf59b71755d9af7330dae3bbc94d28"; // truncated in the capture
const IP_DATA = "ff0300214500001cc80000008001e5ccac100101e000"; // truncated in the capture
const CHAP_CHALLENGE = "ff03c2230101000d08d36602863630eca8";
const IPCP_CONFREQ = "ff0380210101000a030663636302";
const CCP_CONFACK = "ff0380fd02010004";

describe("parsePppHeader: captured frames", () => {
  const cases: Array<[string, string, number]> = [
    ["LCP Configure-Request", LCP_CONFREQ, PPP_LCP],
    ["MPPE compressed datagram", MPPE_DATA, PPP_COMP],
    ["IP datagram", IP_DATA, PPP_IP],
    ["CHAP Challenge", CHAP_CHALLENGE, PPP_CHAP],
    ["IPCP Configure-Request", IPCP_CONFREQ, PPP_IPCP],
    ["CCP Configure-Ack", CCP_CONFACK, PPP_CCP],
  ];
  for (const [name, hex, protocol] of cases) {
    test(name, () => {
      const b = fromHex(hex);
      const h = unwrap(parsePppHeader(b, 0, b.length));
      assert.equal(h.protocol, protocol);
      assert.equal(h.headerLen, 4);
    });
  }

  test("the LCP payload starts right after the header", () => {
    const b = fromHex(LCP_CONFREQ);
    const h = unwrap(parsePppHeader(b, 0, b.length));
    const payload = b.subarray(h.headerLen);
    assert.equal(payload[0], 1); // Configure-Request
    assert.equal((payload[2] << 8) | payload[3], payload.length); // LCP Length covers the rest exactly
  });

  test("frames inside a larger buffer at an offset", () => {
    const frame = fromHex(MPPE_DATA);
    const big = new Uint8Array(100).fill(0xee);
    big.set(frame, 37);
    const h = unwrap(parsePppHeader(big, 37, frame.length));
    assert.equal(h.protocol, PPP_COMP);
    assert.equal(big[37 + h.headerLen], 0x90); // first MPPE header octet
  });
});

describe("parsePppHeader: compressed forms (RFC 1661 §6.5/§6.6)", () => {
  test("ACFC: no address/control, 2-octet protocol", () => {
    const b = fromHex("00fd9000bc");
    assert.deepEqual(unwrap(parsePppHeader(b, 0, b.length)), { protocol: PPP_COMP, headerLen: 2 });
  });
  test("PFC with address/control: 1-octet odd protocol", () => {
    const b = fromHex("ff03214500");
    assert.deepEqual(unwrap(parsePppHeader(b, 0, b.length)), { protocol: PPP_IP, headerLen: 3 });
  });
  test("ACFC and PFC together", () => {
    const b = fromHex("fd9000");
    assert.deepEqual(unwrap(parsePppHeader(b, 0, b.length)), { protocol: PPP_COMP, headerLen: 1 });
  });
  test("LCP without address/control is still recognised", () => {
    const b = fromHex("c0210101");
    assert.deepEqual(unwrap(parsePppHeader(b, 0, b.length)), { protocol: PPP_LCP, headerLen: 2 });
  });
});

describe("parsePppHeader: malformed input", () => {
  const bad: Array<[string, string, string]> = [
    ["empty", "", "short"],
    ["only the address", "ff", "short"],
    ["address without control", "ff0121", "bad-control"],
    ["address/control but no protocol", "ff03", "short"],
    ["half a protocol", "ff03c0", "short"],
    ["even low protocol octet", "ff03c020", "bad-protocol"],
    ["even low octet without address", "0020", "bad-protocol"],
  ];
  for (const [name, hex, code] of bad) {
    test(name, () => {
      const b = fromHex(hex);
      const r = parsePppHeader(b, 0, b.length);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.code, code);
        assert.match(r.error.message, /PPP header/);
      }
    });
  }

  test("never reads past the window given, even if the buffer goes on", () => {
    const b = fromHex("ff03c021");
    const r = parsePppHeader(b, 0, 3);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, "short");
  });

  test("a window beyond the buffer is refused", () => {
    const b = fromHex("ff03c021");
    const r = parsePppHeader(b, 2, 5);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error.message, /exceeds buffer of 4/);
  });
});

describe("PppHeaderReader (allocation-free path)", () => {
  test("agrees with parsePppHeader on good and bad frames", () => {
    const reader = new PppHeaderReader();
    for (const hex of [LCP_CONFREQ, MPPE_DATA, IP_DATA, "fd9000", "ff03214500", "ff0121", "ff03", "0020", ""]) {
      const b = fromHex(hex);
      const r = parsePppHeader(b, 0, b.length);
      const okRead = reader.read(b, 0, b.length);
      assert.equal(okRead, r.ok, hex);
      if (r.ok) {
        assert.equal(reader.protocol, r.value.protocol, hex);
        assert.equal(reader.headerLen, r.value.headerLen, hex);
      } else {
        assert.deepEqual(reader.error(), r.error, hex);
      }
    }
  });
});

describe("emitPppHeader / pppHeaderLen", () => {
  const flagSets = [
    { acfc: false, pfc: false },
    { acfc: true, pfc: false },
    { acfc: false, pfc: true },
    { acfc: true, pfc: true },
  ];
  for (const protocol of [PPP_LCP, PPP_IP, PPP_COMP, PPP_CHAP, PPP_IPCP]) {
    for (const flags of flagSets) {
      test(`round trip 0x${protocol.toString(16)} acfc=${flags.acfc} pfc=${flags.pfc}`, () => {
        const out = new Uint8Array(8).fill(0xaa);
        const n = emitPppHeader(out, 2, protocol, flags);
        assert.equal(n, pppHeaderLen(protocol, flags.acfc, flags.pfc));
        assert.equal(out[1], 0xaa); // nothing written before the offset
        assert.equal(out[2 + n], 0xaa); // nor after the header
        const h = unwrap(parsePppHeader(out, 2, n + 1));
        assert.equal(h.protocol, protocol);
        assert.equal(h.headerLen, n);
      });
    }
  }

  test("uncompressed header reproduces the captured bytes", () => {
    const out = new Uint8Array(4);
    assert.equal(emitPppHeader(out, 0, PPP_LCP, PPP_UNCOMPRESSED), 4);
    assert.deepEqual(out, fromHex("ff03c021"));
  });

  test("PFC only shortens protocols below 0x100", () => {
    assert.equal(pppHeaderLen(PPP_IP, true, true), 1);
    assert.equal(pppHeaderLen(PPP_LCP, true, true), 2);
    assert.equal(pppHeaderLen(PPP_CHAP, false, true), 4);
    const out = new Uint8Array(4);
    assert.equal(emitPppHeader(out, 0, PPP_COMP, { acfc: true, pfc: true }), 1);
    assert.equal(out[0], 0xfd);
  });
});
