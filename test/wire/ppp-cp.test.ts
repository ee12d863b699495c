import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { fromHex, toHex } from "../../src/wire/bytes.js";
import { unwrap } from "../../src/wire/result.js";
import {
  parseCpPacket,
  emitCpPacket,
  parseCpOptions,
  emitCpOptions,
  parseLcpOption,
  emitLcpOption,
  parseLcpPacket,
  emitLcpPacket,
  parseIpcpPacket,
  emitIpcpPacket,
  parseIpcpOption,
  emitIpcpOption,
  parseCcpPacket,
  emitCcpPacket,
  parseCcpOption,
  emitCcpOption,
  ipv4ToOctets,
  authMethodOf,
  authProtocolOption,
  describeMppeBits,
  cpCodeName,
  type LcpPacket,
  type IpcpPacket,
  type CcpPacket,
  type CpOption,
  type LcpOption,
  type IpcpOption,
  type CcpOption,
  MPPE_BIT_STATELESS,
  MPPE_BIT_40,
  MPPE_BIT_56,
  MPPE_BIT_128,
  MPPE_BIT_OBSOLETE_D,
  MPPC_BIT,
  IPCP_VJ_COMPRESSED_TCP,
} from "../../src/wire/ppp-cp.js";
import type { Result } from "../../src/wire/result.js";
import { seededRandom, testRuns, testSeed } from "../support/random.js";
import type { AuthMethod } from "../../src/wire/ppp-protocols.js";

// Frames from the Cisco PIX "PPTP with RADIUS" debug captures (shared seeds 002/003), with the PPP header
// (ff03 + protocol) removed: these are the control packets themselves.
const SEED = {
  // Windows 9x LCP Configure-Request: ACCM 0x000a0000, Magic 0x00113721, PFC, ACFC, Callback (operation 6).
  win9xLcpRequest: "010100170206000a0000050600113721070208020d0306",
  // The PIX's reply rejecting ACCM and Callback.
  pixLcpReject: "0401000d0206000a00000d0306",
  // PIX LCP Configure-Request: Authentication-Protocol CHAP/MS-CHAP (0x80), Magic 0x09894ab4, PFC, ACFC.
  pixLcpRequestMschapV1: "010100130305c22380050609894ab407020802",
  win9xLcpRequest2: "0102000e05060011372107020802",
  // Windows NT/2000: Identification "MSRASV5.00" (RFC 1570) with magic 0x447e217e.
  identification: "0c020012447e217e4d5352415356352e3030",
  // IPCP: the PIX asks for 99.99.99.2; Windows' answers and the address assignment exchange.
  pixIpcpRequest: "0101000a030663636302",
  ipcpAddressZero: "0103000a030600000000",
  ipcpNakAssign: "0303000a0306ac100101",
  ipcpAckAssigned: "0204000a0306ac100101",
  // CCP: Windows asks for MPPE with H+C and for Stac LZS (17); the PIX (no MPPE configured) rejects both.
  ccpWindowsRequest: "0101000f1206010000011105000104",
  ccpPixReject: "0401000f1206010000011105000104",
  ccpEmptyRequest: "01010004",
  // CCP with 40-bit MPPE (seed 003): the PIX asks for H (stateless, 0x01000000) + L (40-bit, 0x20) and Naks
  // Windows' H+C request with the same bits.
  ccpPix40: "0101000a120601000020",
  ccpNak40: "0304000a120601000020",
  ccpTerminate: "05030004",
  ccpTerminateAck: "06030004",
};

// The captures truncate longer frames ("..."). These are completed from the Length fields and the option
// layouts; the completed tails are marked.
const RECONSTRUCTED = {
  // Windows 2000 LCP Configure-Request (Length 0x2c): Magic 0x447e217e, PFC, ACFC, Callback 6, MRRU 1614,
  // Endpoint-Discriminator class 1 with a 20-octet address. The capture stops after "beb613cb": the last
  // 16 octets of the address are filler.
  windowsLcpRequest:
    "0100002c" + "0506447e217e" + "0702" + "0802" + "0d0306" + "1104064e" + "131701" + "beb613cb" + "00112233445566778899aabbccddeeff",
  // The PIX's Configure-Reject of Callback, MRRU and Endpoint-Discriminator (Length 0x22 = 34), same tail.
  windowsLcpReject: "04000022" + "0d0306" + "1104064e" + "131701" + "beb613cb" + "00112233445566778899aabbccddeeff",
  // Windows IPCP Configure-Request (Length 0x28): VJ 0x002d slots 15/1, IP-Address, DNS/NBNS 129..132 all 0.0.0.0.
  windowsIpcpRequest: "01010028" + "0206002d0f01" + "030600000000" + "810600000000" + "820600000000" + "830600000000" + "840600000000",
  // The PIX's reject of VJ and the four name-server options (Length 0x22).
  windowsIpcpReject: "04010022" + "0206002d0f01" + "810600000000" + "820600000000" + "830600000000" + "840600000000",
  // An MS-CHAPv2 variant of the PIX request (algorithm 0x81 instead of 0x80).
  lcpRequestMschapV2: "010100130305c22381050609894ab407020802",
};

describe("control packet header (RFC 1661 §5)", () => {
  test("decodes Code, Identifier and Data from a seed frame", () => {
    const p = unwrap(parseCpPacket(fromHex(SEED.pixLcpRequestMschapV1)));
    assert.equal(p.code, 1);
    assert.equal(p.id, 1);
    assert.equal(toHex(p.data), "0305c22380050609894ab407020802");
  });

  test("octets beyond Length are padding and ignored", () => {
    const p = unwrap(parseCpPacket(fromHex(SEED.ccpEmptyRequest + "00000000")));
    assert.equal(p.data.length, 0);
    const q = unwrap(parseCpPacket(fromHex("0901000a" + "11223344" + "aabb" + "ffff")));
    assert.equal(toHex(q.data), "11223344aabb");
  });

  test("rejects a buffer shorter than the header", () => {
    for (const hex of ["", "01", "0101", "010100"]) {
      const r = parseCpPacket(fromHex(hex));
      assert.equal(r.ok, false, hex);
      if (!r.ok) assert.equal(r.error.code, "short");
    }
  });

  test("rejects Length below 4 and Length beyond the buffer, naming the values", () => {
    const low = parseCpPacket(fromHex("01010003"));
    assert.equal(low.ok, false);
    if (!low.ok) {
      assert.equal(low.error.code, "bad-length");
      assert.match(low.error.message, /Length field 3/);
    }
    const high = parseCpPacket(fromHex("01010010aabb"));
    assert.equal(high.ok, false);
    if (!high.ok) {
      assert.equal(high.error.code, "bad-length");
      assert.match(high.error.message, /16 exceeds the 6 octets/);
    }
  });

  test("emit writes Length and copies the data", () => {
    assert.equal(toHex(emitCpPacket(6, 3)), SEED.ccpTerminateAck);
    assert.equal(toHex(emitCpPacket(2, 1, fromHex("0305c22380"))), "020100090305c22380");
  });

  test("code names", () => {
    assert.equal(cpCodeName(1), "Configure-Request");
    assert.equal(cpCodeName(12), "Identification");
    assert.equal(cpCodeName(15), "Reset-Ack");
    assert.equal(cpCodeName(99), "code 99");
  });
});

describe("option lists (RFC 1661 §6)", () => {
  test("splits the Windows 9x request into its five options", () => {
    const p = unwrap(parseCpPacket(fromHex(SEED.win9xLcpRequest)));
    const opts = unwrap(parseCpOptions(p.data));
    assert.deepEqual(
      opts.map((o) => [o.type, toHex(o.data)]),
      [
        [2, "000a0000"],
        [5, "00113721"],
        [7, ""],
        [8, ""],
        [13, "06"],
      ],
    );
    assert.equal(toHex(emitCpOptions(opts)), toHex(p.data));
  });

  test("a Length under 2 is a typed error", () => {
    for (const hex of ["0100", "0101", "0702" + "0800"]) {
      const r = parseCpOptions(fromHex(hex));
      assert.equal(r.ok, false, hex);
      if (!r.ok) assert.equal(r.error.code, "bad-option-length");
    }
  });

  test("an option running past the end is a typed error", () => {
    const r = parseCpOptions(fromHex("0506447e21"));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, "bad-option-length");
      assert.match(r.error.message, /type 5 .* Length 6 but only 5 octets remain/);
    }
  });

  test("a single trailing octet is a typed error", () => {
    const r = parseCpOptions(fromHex("070203"));
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, "short-option");
  });

  test("an empty list is fine", () => {
    assert.deepEqual(unwrap(parseCpOptions(new Uint8Array(0))), []);
  });
});

describe("LCP packets and options", () => {
  test("Windows 9x Configure-Request decodes to typed options", () => {
    const p = unwrap(parseLcpPacket(fromHex(SEED.win9xLcpRequest)));
    assert.equal(p.kind, "configure-request");
    if (p.kind !== "configure-request") return;
    assert.deepEqual(p.options, [
      { kind: "accm", accm: 0x000a0000 },
      { kind: "magic-number", magic: 0x00113721 },
      { kind: "pfc" },
      { kind: "acfc" },
      { kind: "callback", operation: 6, message: new Uint8Array(0) },
    ]);
  });

  test("the PIX request names MS-CHAPv1 and the v2 variant names MS-CHAPv2", () => {
    const v1 = unwrap(parseLcpPacket(fromHex(SEED.pixLcpRequestMschapV1)));
    const v2 = unwrap(parseLcpPacket(fromHex(RECONSTRUCTED.lcpRequestMschapV2)));
    const methodOf = (p: LcpPacket): AuthMethod | undefined => {
      if (p.kind !== "configure-request") return undefined;
      const a = p.options.find((o) => o.kind === "auth-protocol");
      return a && a.kind === "auth-protocol" ? authMethodOf(a.protocol, a.data) : undefined;
    };
    assert.equal(methodOf(v1), "mschap-v1");
    assert.equal(methodOf(v2), "mschap-v2");
  });

  test("Authentication-Protocol values for every method round-trip", () => {
    const expected: Record<AuthMethod, string> = {
      pap: "0304c023",
      "chap-md5": "0305c22305",
      "mschap-v1": "0305c22380",
      "mschap-v2": "0305c22381",
    };
    for (const [m, hex] of Object.entries(expected) as [AuthMethod, string][]) {
      const opt = emitLcpOption(authProtocolOption(m));
      assert.equal(toHex(emitCpOptions([opt])), hex, m);
      const back = unwrap(parseLcpOption(opt));
      assert.ok(back.kind === "auth-protocol");
      if (back.kind === "auth-protocol") assert.equal(authMethodOf(back.protocol, back.data), m);
    }
    assert.equal(authMethodOf(0xc227, new Uint8Array(0)), undefined, "EAP is not ours");
    assert.equal(authMethodOf(0xc223, Uint8Array.of(0x06)), undefined, "unknown CHAP algorithm");
    assert.equal(authMethodOf(0xc023, Uint8Array.of(0)), undefined, "PAP carries no data");
  });

  test("Windows 2000 request: Callback, MRRU and Endpoint-Discriminator decode", () => {
    const p = unwrap(parseLcpPacket(fromHex(RECONSTRUCTED.windowsLcpRequest)));
    assert.equal(p.kind, "configure-request");
    if (p.kind !== "configure-request") return;
    assert.deepEqual(
      p.options.map((o) => o.kind),
      ["magic-number", "pfc", "acfc", "callback", "mrru", "endpoint-discriminator"],
    );
    const mrru = p.options[4];
    assert.ok(mrru.kind === "mrru" && mrru.mrru === 1614);
    const ed = p.options[5];
    assert.ok(ed.kind === "endpoint-discriminator" && ed.class === 1 && ed.address.length === 20);
  });

  test("known options with a wrong Length are errors naming the option", () => {
    const cases: [string, RegExp][] = [
      ["0103 05", /MRU \(type 1\): Length 3, expected 4/],
      ["0505 010203", /Magic-Number \(type 5\): Length 5, expected 6/],
      ["0703 00", /Protocol-Field-Compression \(type 7\): Length 3, expected 2/],
      ["0303 c0", /Authentication-Protocol \(type 3\): Length 3, expected >= 4/],
      ["0205 000000", /ACCM \(type 2\): Length 5, expected 6/],
    ];
    for (const [hex, re] of cases) {
      const list = unwrap(parseCpOptions(fromHex(hex)));
      const r = parseLcpOption(list[0]);
      assert.equal(r.ok, false, hex);
      if (!r.ok) {
        assert.equal(r.error.code, "bad-option-length");
        assert.match(r.error.message, re);
      }
    }
  });

  test("unknown option types are kept raw", () => {
    const r = unwrap(parseLcpOption({ type: 42, data: fromHex("beef") }));
    assert.deepEqual(r, { kind: "unknown", type: 42, data: fromHex("beef") });
  });

  test("Identification from Windows: magic and 'MSRASV5.00'", () => {
    const p = unwrap(parseLcpPacket(fromHex(SEED.identification)));
    assert.deepEqual(p, { kind: "identification", id: 2, magic: 0x447e217e, message: "MSRASV5.00" });
  });

  test("Identification shorter than 8 octets is an error", () => {
    const r = parseLcpPacket(fromHex("0c020007447e21"));
    assert.equal(r.ok, false);
  });

  test("Echo, Discard, Protocol-Reject, Time-Remaining and Code-Reject bodies", () => {
    const echo = unwrap(parseLcpPacket(fromHex("0907000a" + "12345678" + "abcd")));
    assert.deepEqual(echo, { kind: "echo-request", id: 7, magic: 0x12345678, data: fromHex("abcd") });
    const reply = unwrap(parseLcpPacket(fromHex("0a070008" + "00000000")));
    assert.deepEqual(reply, { kind: "echo-reply", id: 7, magic: 0, data: new Uint8Array(0) });
    const discard = unwrap(parseLcpPacket(fromHex("0b010008" + "00000001")));
    assert.equal(discard.kind, "discard-request");
    const prej = unwrap(parseLcpPacket(fromHex("0803000a" + "80fd" + "01010004")));
    assert.deepEqual(prej, { kind: "protocol-reject", id: 3, protocol: 0x80fd, info: fromHex("01010004") });
    const tr = unwrap(parseLcpPacket(fromHex("0d04000f" + "00000000" + "00000e10" + "31686f")));
    assert.deepEqual(tr, { kind: "time-remaining", id: 4, magic: 0, seconds: 3600, message: "1ho" });
  });

  test("malformed bodies are errors, not exceptions", () => {
    for (const hex of ["09010006" + "1234", "08010005" + "80", "0d01000a" + "000000000000"]) {
      const r = parseLcpPacket(fromHex(hex));
      assert.equal(r.ok, false, hex);
    }
  });

  test("every seed and reconstructed LCP frame round-trips byte for byte", () => {
    for (const hex of [
      SEED.win9xLcpRequest,
      SEED.pixLcpReject,
      SEED.pixLcpRequestMschapV1,
      SEED.win9xLcpRequest2,
      SEED.identification,
      RECONSTRUCTED.windowsLcpRequest,
      RECONSTRUCTED.windowsLcpReject,
      RECONSTRUCTED.lcpRequestMschapV2,
    ]) {
      assert.equal(toHex(emitLcpPacket(unwrap(parseLcpPacket(fromHex(hex))))), hex);
    }
  });

  test("records round-trip through emit and parse", () => {
    const records: LcpPacket[] = [
      { kind: "configure-request", id: 9, options: [{ kind: "mru", mru: 1400 }, authProtocolOption("mschap-v2"), { kind: "magic-number", magic: 0xdeadbeef }] },
      { kind: "configure-nak", id: 9, options: [{ kind: "mru", mru: 576 }] },
      { kind: "terminate-request", id: 4, data: fromHex("55736572") },
      { kind: "terminate-ack", id: 4, data: new Uint8Array(0) },
      { kind: "code-reject", id: 5, rejected: fromHex("20010004") },
      { kind: "protocol-reject", id: 6, protocol: 0x8057, info: fromHex("0101000a") },
      { kind: "echo-reply", id: 7, magic: 0x01020304, data: fromHex("ff") },
      { kind: "identification", id: 8, magic: 0, message: "pptp-ts" },
      { kind: "time-remaining", id: 9, magic: 1, seconds: 0xffffffff, message: "forever" },
      { kind: "unknown", code: 0x20, id: 1, data: fromHex("00") },
    ];
    for (const r of records) assert.deepEqual(unwrap(parseLcpPacket(emitLcpPacket(r))), r);
  });
});

describe("IPCP packets and options (RFC 1332, RFC 1877)", () => {
  test("the Windows request: VJ, IP-Address and the four name servers", () => {
    const p = unwrap(parseIpcpPacket(fromHex(RECONSTRUCTED.windowsIpcpRequest)));
    assert.equal(p.kind, "configure-request");
    if (p.kind !== "configure-request") return;
    assert.deepEqual(p.options, [
      { kind: "ip-compression", protocol: 0x002d, data: fromHex("0f01") },
      { kind: "ip-address", address: "0.0.0.0" },
      { kind: "primary-dns", address: "0.0.0.0" },
      { kind: "primary-nbns", address: "0.0.0.0" },
      { kind: "secondary-dns", address: "0.0.0.0" },
      { kind: "secondary-nbns", address: "0.0.0.0" },
    ]);
  });

  test("the PIX's address exchange", () => {
    assert.deepEqual(unwrap(parseIpcpPacket(fromHex(SEED.pixIpcpRequest))), {
      kind: "configure-request",
      id: 1,
      options: [{ kind: "ip-address", address: "99.99.99.2" }],
    });
    assert.deepEqual(unwrap(parseIpcpPacket(fromHex(SEED.ipcpNakAssign))), {
      kind: "configure-nak",
      id: 3,
      options: [{ kind: "ip-address", address: "172.16.1.1" }],
    });
  });

  test("every IPCP frame round-trips", () => {
    for (const hex of [
      RECONSTRUCTED.windowsIpcpRequest,
      RECONSTRUCTED.windowsIpcpReject,
      SEED.pixIpcpRequest,
      SEED.ipcpAddressZero,
      SEED.ipcpNakAssign,
      SEED.ipcpAckAssigned,
    ]) {
      assert.equal(toHex(emitIpcpPacket(unwrap(parseIpcpPacket(fromHex(hex))))), hex);
    }
    const rec: IpcpPacket = {
      kind: "configure-ack",
      id: 2,
      options: [
        { kind: "ip-addresses", source: "10.0.0.1", destination: "10.0.0.2" },
        { kind: "secondary-dns", address: "8.8.4.4" },
        { kind: "unknown", type: 200, data: fromHex("01") },
      ],
    };
    assert.deepEqual(unwrap(parseIpcpPacket(emitIpcpPacket(rec))), rec);
  });

  test("an address option with the wrong Length is an error", () => {
    const r = parseIpcpOption({ type: 3, data: fromHex("0a0000") });
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error.message, /IP-Address \(type 3\): Length 5, expected 6/);
  });

  test("dotted-quad parsing", () => {
    assert.equal(toHex(unwrap(ipv4ToOctets("172.16.1.1"))), "ac100101");
    assert.equal(toHex(unwrap(ipv4ToOctets("0.0.0.0"))), "00000000");
    assert.equal(toHex(unwrap(ipv4ToOctets("255.255.255.255"))), "ffffffff");
    for (const bad of ["1.2.3", "1.2.3.256", "a.b.c.d", "1.2.3.4.5", " 1.2.3.4", "1..3.4", "01.2.3.4", "", "1.2.3.4.", ".1.2.3", "1.2.3.04", "1.2.3.1000", "1.2.3.4 ", "1.2.3.+4"]) {
      assert.equal(ipv4ToOctets(bad).ok, false, bad);
    }
    const r = ipv4ToOctets("10.1.300.4");
    assert.ok(!r.ok && r.error.message === 'IPv4 address "10.1.300.4": part 3 "300" is not a number 0..255');
    assert.throws(() => emitIpcpOption({ kind: "ip-address", address: "300.1.1.1" }), RangeError);
  });
});

describe("CCP packets and options (RFC 1962, RFC 3078)", () => {
  test("Windows' request: MPPE/MPPC with H+C and Stac LZS", () => {
    const p = unwrap(parseCcpPacket(fromHex(SEED.ccpWindowsRequest)));
    assert.equal(p.kind, "configure-request");
    if (p.kind !== "configure-request") return;
    assert.deepEqual(p.options, [
      { kind: "mppe", bits: MPPE_BIT_STATELESS | MPPC_BIT },
      { kind: "other", type: 17, data: fromHex("000104") },
    ]);
    assert.equal(describeMppeBits(MPPE_BIT_STATELESS | MPPC_BIT), "H+C");
  });

  test("the PIX's 40-bit stateless offer", () => {
    const p = unwrap(parseCcpPacket(fromHex(SEED.ccpPix40)));
    assert.ok(p.kind === "configure-request");
    if (p.kind === "configure-request") assert.deepEqual(p.options, [{ kind: "mppe", bits: MPPE_BIT_STATELESS | MPPE_BIT_40 }]);
    assert.equal(describeMppeBits(0x010000e0), "H+M+S+L");
    assert.equal(describeMppeBits(0x02000010), "D+0x02000000");
    assert.equal(describeMppeBits(0), "none");
  });

  test("Reset-Request / Reset-Ack and Terminate", () => {
    assert.deepEqual(unwrap(parseCcpPacket(fromHex("0e050004"))), { kind: "reset-request", id: 5, data: new Uint8Array(0) });
    assert.deepEqual(unwrap(parseCcpPacket(fromHex("0f050006abcd"))), { kind: "reset-ack", id: 5, data: fromHex("abcd") });
    assert.deepEqual(unwrap(parseCcpPacket(fromHex(SEED.ccpTerminate))), { kind: "terminate-request", id: 3, data: new Uint8Array(0) });
  });

  test("MPPE option with a wrong Length is an error", () => {
    const r = parseCcpOption({ type: 18, data: fromHex("010000") });
    assert.equal(r.ok, false);
  });

  test("every CCP frame round-trips", () => {
    for (const hex of [SEED.ccpWindowsRequest, SEED.ccpPixReject, SEED.ccpEmptyRequest, SEED.ccpPix40, SEED.ccpNak40, SEED.ccpTerminate, SEED.ccpTerminateAck]) {
      assert.equal(toHex(emitCcpPacket(unwrap(parseCcpPacket(fromHex(hex))))), hex);
    }
    const recs: CcpPacket[] = [
      { kind: "reset-request", id: 1, data: new Uint8Array(0) },
      { kind: "reset-ack", id: 1, data: fromHex("00") },
      { kind: "configure-nak", id: 2, options: [{ kind: "mppe", bits: 0x01000040 }] },
      { kind: "unknown", code: 9, id: 3, data: new Uint8Array(0) },
    ];
    for (const r of recs) assert.deepEqual(unwrap(parseCcpPacket(emitCcpPacket(r))), r);
  });
});

describe("robustness", () => {
  test("random input never throws and never yields data past Length", () => {
    // xorshift32, deterministic
    let s = 0x9e3779b9;
    const rnd = () => {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      return s;
    };
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      const len = rnd() % 40;
      const b = new Uint8Array(len);
      for (let j = 0; j < len; j++) b[j] = rnd() & 0xff;
      if (len >= 4) {
        b[0] = 1 + (rnd() % 15); // mostly known codes
        b[2] = 0;
        b[3] = rnd() % 44;
      }
      for (const parse of [parseLcpPacket, parseIpcpPacket, parseCcpPacket]) {
        const r = parse(b);
        if (r.ok) parsed++;
      }
      const p = parseCpPacket(b);
      if (p.ok) assert.ok(p.value.data.length + 4 <= len);
    }
    assert.ok(parsed > 100, "some random packets are well-formed");
  });

  test("options parsed from a packet are views of the input (no copy)", () => {
    const buf = fromHex(SEED.pixLcpRequestMschapV1);
    const p = unwrap(parseCpPacket(buf));
    const opts: CpOption[] = unwrap(parseCpOptions(p.data));
    assert.equal(opts[1].data.buffer, buf.buffer);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Round trips of every option codec: vectors, then seeded random values.

/**
 * Seed and run count of the random round trips: PPTP_TEST_SEED / PPTP_TEST_RUNS raise the budget without editing
 * code (test/support/random.ts); every failure message names the seed and the run so it can be replayed.
 */
const ROUNDTRIP_SEED = testSeed("ppp-cp round trips", 0x5eed1661);
const ROUNDTRIP_RUNS = testRuns(400);

/** A small generator over seededRandom: integers, byte strings, picks. */
function gen(seed: number) {
  const bytes = seededRandom(seed);
  const int = (n: number): number => {
    const b = bytes(4);
    return (((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0) % n;
  };
  return {
    int,
    u8: () => int(0x100),
    u16: () => int(0x10000),
    u32: () => ((int(0x10000) << 16) | int(0x10000)) >>> 0,
    bytes: (max: number) => bytes(int(max + 1)),
    pick: <T>(list: readonly T[]): T => list[int(list.length)],
    ipv4: () => Array.from(bytes(4)).join("."),
  };
}
type Gen = ReturnType<typeof gen>;

/** Option types each protocol decodes into a typed record; anything else stays "unknown"/"other". */
const LCP_TYPED = [1, 2, 3, 4, 5, 7, 8, 13, 17, 18, 19, 23];
const IPCP_TYPED = [1, 2, 3, 129, 130, 131, 132];
const CCP_TYPED = [18];

function unknownType(g: Gen, typed: readonly number[]): number {
  for (;;) {
    const t = g.u8();
    if (!typed.includes(t)) return t;
  }
}

/** Option data may be at most 253 octets (Length is one octet and counts Type and Length). */
function randomLcpOption(g: Gen): LcpOption {
  switch (g.int(14)) {
    case 0:
      return { kind: "mru", mru: g.u16() };
    case 1:
      return { kind: "accm", accm: g.u32() };
    case 2:
      return { kind: "auth-protocol", protocol: g.u16(), data: g.bytes(g.pick([0, 1, 4, 251])) };
    case 3:
      return { kind: "quality-protocol", protocol: g.u16(), data: g.bytes(g.pick([0, 4, 251])) };
    case 4:
      return { kind: "magic-number", magic: g.u32() };
    case 5:
      return { kind: "pfc" };
    case 6:
      return { kind: "acfc" };
    case 7:
      return { kind: "callback", operation: g.u8(), message: g.bytes(g.pick([0, 8, 252])) };
    case 8:
      return { kind: "mrru", mrru: g.u16() };
    case 9:
      return { kind: "short-sequence" };
    case 10:
      return { kind: "endpoint-discriminator", class: g.u8(), address: g.bytes(g.pick([0, 20, 252])) };
    case 11:
      return { kind: "link-discriminator", discriminator: g.u16() };
    default:
      return { kind: "unknown", type: unknownType(g, LCP_TYPED), data: g.bytes(g.pick([0, 3, 253])) };
  }
}

function randomIpcpOption(g: Gen): IpcpOption {
  switch (g.int(6)) {
    case 0:
      return { kind: "ip-addresses", source: g.ipv4(), destination: g.ipv4() };
    case 1:
      return { kind: "ip-compression", protocol: g.u16(), data: g.bytes(g.pick([0, 2, 251])) };
    case 2:
      return { kind: "ip-address", address: g.ipv4() };
    case 3:
      return { kind: g.pick(["primary-dns", "primary-nbns", "secondary-dns", "secondary-nbns"] as const), address: g.ipv4() };
    default:
      return { kind: "unknown", type: unknownType(g, IPCP_TYPED), data: g.bytes(g.pick([0, 4, 253])) };
  }
}

function randomCcpOption(g: Gen): CcpOption {
  return g.int(2) === 0
    ? { kind: "mppe", bits: g.u32() }
    : { kind: "other", type: unknownType(g, CCP_TYPED), data: g.bytes(g.pick([0, 2, 253])) };
}

interface OptionCodec<O> {
  readonly name: string;
  readonly parse: (o: CpOption) => Result<O>;
  readonly emit: (o: O) => CpOption;
  readonly random: (g: Gen) => O;
  readonly typed: readonly number[];
}

const CODECS: readonly [OptionCodec<LcpOption>, OptionCodec<IpcpOption>, OptionCodec<CcpOption>] = [
  { name: "LCP", parse: parseLcpOption, emit: emitLcpOption, random: randomLcpOption, typed: LCP_TYPED },
  { name: "IPCP", parse: parseIpcpOption, emit: emitIpcpOption, random: randomIpcpOption, typed: IPCP_TYPED },
  { name: "CCP", parse: parseCcpOption, emit: emitCcpOption, random: randomCcpOption, typed: CCP_TYPED },
];

/** Option bytes (Type, Length, Data) as they go on the wire, through emitCpOptions. */
function wire(o: CpOption): string {
  return toHex(emitCpOptions([o]));
}

/** decode(encode(x)) deep-equals x, and encode(decode(encode(x))) is byte-identical to encode(x). */
function checkRecord<O>(c: OptionCodec<O>, x: O, where: string): void {
  const encoded = c.emit(x);
  const bytes = emitCpOptions([encoded]);
  const reparsed = unwrap(parseCpOptions(bytes));
  assert.equal(reparsed.length, 1, `${where}: one option on the wire`);
  const decoded = c.parse(reparsed[0]);
  assert.ok(decoded.ok, `${where}: ${c.name} option ${wire(encoded)} does not decode: ${decoded.ok ? "" : decoded.error.message}`);
  assert.deepEqual(decoded.value, x, `${where}: decode(encode(x)) differs from x for ${wire(encoded)}`);
  assert.equal(wire(c.emit(decoded.value)), toHex(bytes), `${where}: encode(decode(encode(x))) is not byte-identical`);
}

/** Every decodable option byte string encodes back to itself (encode(decode(b)) === b). */
function checkBytes<O>(c: OptionCodec<O>, o: CpOption, where: string): boolean {
  const decoded = c.parse(o);
  if (!decoded.ok) return false;
  assert.equal(wire(c.emit(decoded.value)), wire(o), `${where}: ${c.name} option ${wire(o)} does not re-encode to itself`);
  const again = c.parse(c.emit(decoded.value));
  assert.ok(again.ok);
  assert.deepEqual(again.value, decoded.value, `${where}: decode(encode(decode(b))) differs`);
  return true;
}

/** The two random round trips for one codec; `kinds` is how many record kinds its generator must reach. */
function randomRoundTrips<O extends { readonly kind: string }>(c: OptionCodec<O>, kinds: number): void {
  const seedText = `seed 0x${ROUNDTRIP_SEED.toString(16)}`;
  test(`${c.name}: seeded random records (${seedText}, ${ROUNDTRIP_RUNS} runs)`, () => {
    const g = gen(ROUNDTRIP_SEED + c.typed.length);
    const seen = new Set<string>();
    for (let run = 0; run < ROUNDTRIP_RUNS; run++) {
      const x = c.random(g);
      seen.add(x.kind);
      checkRecord(c, x, `${c.name} ${seedText} run ${run}`);
    }
    // Every kind the protocol has was exercised: the generator is not stuck on a few.
    assert.equal(seen.size, kinds, [...seen].join(", "));
  });

  test(`${c.name}: seeded random option bytes that decode re-encode to themselves (${seedText})`, () => {
    const g = gen(ROUNDTRIP_SEED ^ (c.typed.length << 8));
    let decoded = 0;
    for (let run = 0; run < ROUNDTRIP_RUNS * 4; run++) {
      // Mostly the typed option numbers, with data lengths around the valid ones, so most decode.
      const type = g.int(4) === 0 ? g.u8() : g.pick(c.typed);
      const data = g.bytes(g.pick([0, 1, 2, 3, 4, 5, 8, 20, 253]));
      if (checkBytes(c, { type, data }, `${c.name} ${seedText} run ${run}`)) decoded++;
    }
    assert.ok(decoded > ROUNDTRIP_RUNS, `${decoded} decodable option strings`);
  });
}

describe("option codecs round-trip (encode → decode → encode)", () => {
  test("LCP vectors: every option kind, boundary values", () => {
    const c = CODECS[0];
    const vectors: LcpOption[] = [
      { kind: "mru", mru: 0 },
      { kind: "mru", mru: 1500 },
      { kind: "mru", mru: 0xffff },
      { kind: "accm", accm: 0 },
      { kind: "accm", accm: 0x000a0000 },
      { kind: "accm", accm: 0xffffffff },
      authProtocolOption("pap"),
      authProtocolOption("chap-md5"),
      authProtocolOption("mschap-v1"),
      authProtocolOption("mschap-v2"),
      { kind: "auth-protocol", protocol: 0xc227, data: new Uint8Array(0) },
      { kind: "auth-protocol", protocol: 0xc223, data: new Uint8Array(251).fill(0xab) },
      { kind: "quality-protocol", protocol: 0xc025, data: fromHex("000003e8") },
      { kind: "magic-number", magic: 0 },
      { kind: "magic-number", magic: 0x80000000 },
      { kind: "magic-number", magic: 0xffffffff },
      { kind: "pfc" },
      { kind: "acfc" },
      { kind: "callback", operation: 6, message: new Uint8Array(0) },
      { kind: "callback", operation: 1, message: fromHex("2b3135353531323334") },
      { kind: "mrru", mrru: 1614 },
      { kind: "short-sequence" },
      { kind: "endpoint-discriminator", class: 1, address: fromHex("beb613cb00112233445566778899aabbccddeeff") },
      { kind: "endpoint-discriminator", class: 0, address: new Uint8Array(0) },
      { kind: "link-discriminator", discriminator: 0xffff },
      { kind: "unknown", type: 0, data: new Uint8Array(0) },
      { kind: "unknown", type: 255, data: new Uint8Array(253).fill(7) },
    ];
    vectors.forEach((v, i) => checkRecord(c, v, `LCP vector ${i}`));
  });

  test("IPCP vectors: every option kind, boundary addresses", () => {
    const c = CODECS[1];
    const vectors: IpcpOption[] = [
      { kind: "ip-addresses", source: "0.0.0.0", destination: "255.255.255.255" },
      { kind: "ip-compression", protocol: IPCP_VJ_COMPRESSED_TCP, data: fromHex("0f01") },
      { kind: "ip-compression", protocol: 0x0061, data: new Uint8Array(0) },
      { kind: "ip-address", address: "0.0.0.0" },
      { kind: "ip-address", address: "192.168.50.10" },
      { kind: "primary-dns", address: "10.0.0.53" },
      { kind: "primary-nbns", address: "10.0.0.1" },
      { kind: "secondary-dns", address: "255.255.255.255" },
      { kind: "secondary-nbns", address: "1.2.3.4" },
      { kind: "unknown", type: 4, data: fromHex("01020304") },
      { kind: "unknown", type: 133, data: new Uint8Array(253) },
    ];
    vectors.forEach((v, i) => checkRecord(c, v, `IPCP vector ${i}`));
  });

  test("CCP vectors: MPPE bits (every RFC 3078 §2 bit, all set, none) and other compressors", () => {
    const c = CODECS[2];
    const vectors: CcpOption[] = [
      { kind: "mppe", bits: 0 },
      { kind: "mppe", bits: MPPE_BIT_STATELESS | MPPE_BIT_40 },
      { kind: "mppe", bits: MPPE_BIT_STATELESS | MPPE_BIT_56 | MPPE_BIT_128 | MPPE_BIT_40 | MPPC_BIT },
      { kind: "mppe", bits: MPPE_BIT_OBSOLETE_D },
      { kind: "mppe", bits: 0xffffffff },
      { kind: "other", type: 17, data: fromHex("000104") },
      { kind: "other", type: 26, data: fromHex("7800") },
      { kind: "other", type: 0, data: new Uint8Array(0) },
      { kind: "other", type: 255, data: new Uint8Array(253).fill(0xee) },
    ];
    vectors.forEach((v, i) => checkRecord(c, v, `CCP vector ${i}`));
  });

  randomRoundTrips(CODECS[0], 13);
  randomRoundTrips(CODECS[1], 8);
  randomRoundTrips(CODECS[2], 2);

  test("whole Configure packets of random options round-trip in each protocol", () => {
    const g = gen(ROUNDTRIP_SEED + 1);
    for (let run = 0; run < ROUNDTRIP_RUNS; run++) {
      const id = g.u8();
      const kind = g.pick(["configure-request", "configure-ack", "configure-nak", "configure-reject"] as const);
      const n = g.int(6);
      const where = `seed 0x${ROUNDTRIP_SEED.toString(16)} run ${run}`;
      const lcp: LcpPacket = { kind, id, options: Array.from({ length: n }, () => randomLcpOption(g)) };
      const ipcp: IpcpPacket = { kind, id, options: Array.from({ length: n }, () => randomIpcpOption(g)) };
      const ccp: CcpPacket = { kind, id, options: Array.from({ length: n }, () => randomCcpOption(g)) };
      const pairs = [
        [lcp, emitLcpPacket, parseLcpPacket],
        [ipcp, emitIpcpPacket, parseIpcpPacket],
        [ccp, emitCcpPacket, parseCcpPacket],
      ] as const;
      for (const [x, emit, parse] of pairs) {
        const bytes = (emit as (p: unknown) => Uint8Array)(x);
        const back = unwrap((parse as (b: Uint8Array) => Result<unknown>)(bytes));
        assert.deepEqual(back, x, `${where}: ${x.kind} packet`);
        assert.equal(toHex((emit as (p: unknown) => Uint8Array)(back)), toHex(bytes), `${where}: re-encoding`);
      }
    }
  });
});
