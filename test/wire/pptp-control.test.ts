import fc from "fast-check";
import { testRuns, testSeed, withSeed } from "../support/random.js";
import { controlFramer } from "../fuzz/targets/control.js";
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { fromHex, toHex, put16, put32 } from "../../src/wire/bytes.js";
import { unwrap, type Result } from "../../src/wire/result.js";
import {
  parseControlMessage,
  emitControlMessage,
  controlMessageLength,
  controlMessageName,
  describeCode,
  describeResult,
  ControlStreamFramer,
  type ControlMessage,
  OUTGOING_CALL_RESULT_TEXT,
  DISCONNECT_RESULT_TEXT,
  GENERAL_ERROR_TEXT,
  START_RESULT_TEXT,
  STOP_REASON_TEXT,
  PPTP_MAGIC_COOKIE,
} from "../../src/wire/pptp-control.js";
import {
  prng,
  SEED_SCCRQ_WINDOWS,
  SEED_SCCRQ_WINDOWS_PREFIX,
  SEED_SCCRQ_9X,
  SEED_SCCRP,
  SEED_SCCRP_PREFIX,
  SEED_OCRQ_WINDOWS,
  SEED_OCRQ_WINDOWS_PREFIX,
  SEED_OCRQ_9X,
  SEED_OCRQ_9X_PREFIX,
  SEED_OCRP_WINDOWS,
  SEED_OCRP_WINDOWS_PREFIX,
  SEED_OCRP_9X,
  SEED_OCRP_9X_PREFIX,
  SEED_SLI_FFFF,
  SEED_SLI_FFFF_PREFIX,
  SEED_SLI_ZERO,
  SEED_SLI_ZERO_PREFIX,
  SEED_CCRQ,
  SEED_CCRQ_HEX,
} from "../pptp/fixtures.js";

function parsed<T extends ControlMessage["type"]>(buf: Uint8Array, type: T): Extract<ControlMessage, { type: T }> {
  const m = unwrap(parseControlMessage(buf));
  assert.equal(m.type, type);
  return m as Extract<ControlMessage, { type: T }>;
}

function errorOf<T>(r: Result<T>): { code: string; message: string } {
  assert.equal(r.ok, false, "expected a parse error");
  if (r.ok) throw new Error("unreachable");
  return r.error;
}

describe("captured control messages decode to what Cisco's debug printed", () => {
  test("Windows NT Start-Control-Connection-Request", () => {
    assert.ok(toHex(SEED_SCCRQ_WINDOWS).startsWith(SEED_SCCRQ_WINDOWS_PREFIX));
    const m = parsed(SEED_SCCRQ_WINDOWS, "SCCRQ");
    assert.equal(m.protocolVersion, 0x100);
    assert.equal(m.framingCapabilities, 0x1);
    assert.equal(m.bearerCapabilities, 0x1);
    assert.equal(m.maximumChannels, 0);
    assert.equal(m.firmwareRevision, 0x870);
    assert.equal(m.hostName, "");
    assert.equal(m.vendorString, "Microsoft Windows NT");
    assert.equal(toHex(emitControlMessage(m)), toHex(SEED_SCCRQ_WINDOWS));
  });

  test("Windows 9x SCCRQ: hostname local, vendor 9x", () => {
    const m = parsed(SEED_SCCRQ_9X, "SCCRQ");
    assert.equal(m.protocolVersion, 0x100);
    assert.equal(m.firmwareRevision, 0);
    assert.equal(m.hostName, "local");
    assert.equal(m.vendorString, "9x");
    assert.equal(toHex(emitControlMessage(m)), toHex(SEED_SCCRQ_9X));
  });

  test("PIX Start-Control-Connection-Reply", () => {
    const m = parsed(SEED_SCCRP, "SCCRP");
    assert.ok(toHex(SEED_SCCRP).startsWith(SEED_SCCRP_PREFIX));
    assert.equal(m.protocolVersion, 0x100);
    assert.equal(m.resultCode, 1);
    assert.equal(m.errorCode, 0);
    assert.equal(m.framingCapabilities, 3);
    assert.equal(m.bearerCapabilities >>> 16, 0, "the capture shows 0000 as the high half");
    assert.equal(describeCode(START_RESULT_TEXT, m.resultCode), "1 (Successful: Successful channel establishment)");
    assert.equal(toHex(emitControlMessage(m)), toHex(SEED_SCCRP));
  });

  test("Windows NT Outgoing-Call-Request", () => {
    const m = parsed(SEED_OCRQ_WINDOWS, "OCRQ");
    assert.ok(toHex(SEED_OCRQ_WINDOWS).startsWith(SEED_OCRQ_WINDOWS_PREFIX));
    assert.equal(m.callId, 0x4000);
    assert.equal(m.callSerialNumber, 58613);
    assert.equal(m.minimumBps, 300);
    assert.equal(m.maximumBps, 100000000);
    assert.equal(m.bearerType, 3);
    assert.equal(m.framingType, 3);
    assert.equal(m.packetRecvWindowSize, 64);
    assert.equal(m.packetProcessingDelay, 0);
    assert.equal(m.phoneNumberLength, 0);
    assert.equal(m.phoneNumber, "");
    assert.equal(toHex(emitControlMessage(m)), toHex(SEED_OCRQ_WINDOWS));
  });

  test("Windows 9x Outgoing-Call-Request", () => {
    const m = parsed(SEED_OCRQ_9X, "OCRQ");
    assert.ok(toHex(SEED_OCRQ_9X).startsWith(SEED_OCRQ_9X_PREFIX));
    assert.equal(m.callId, 0);
    assert.equal(m.callSerialNumber, 0);
    assert.equal(m.minimumBps, 56000);
    assert.equal(m.maximumBps, 64000);
    assert.equal(m.bearerType, 3);
    assert.equal(m.framingType, 3);
    assert.equal(m.packetRecvWindowSize, 16);
    assert.equal(toHex(emitControlMessage(m)), toHex(SEED_OCRQ_9X));
  });

  test("PIX Outgoing-Call-Reply (both sessions)", () => {
    const a = parsed(SEED_OCRP_WINDOWS, "OCRP");
    assert.ok(toHex(SEED_OCRP_WINDOWS).startsWith(SEED_OCRP_WINDOWS_PREFIX));
    assert.equal(a.callId, 9);
    assert.equal(a.peerCallId, 0x4000);
    assert.equal(a.resultCode, 1);
    assert.equal(a.errorCode, 0);
    assert.equal(a.causeCode, 0);
    assert.equal(a.connectSpeed >>> 16, 0x00fa, "the capture shows the connect speed's first two octets 00fa");
    assert.equal(describeCode(OUTGOING_CALL_RESULT_TEXT, a.resultCode), "1 (Connected: Call established with no errors)");
    const b = parsed(SEED_OCRP_9X, "OCRP");
    assert.ok(toHex(SEED_OCRP_9X).startsWith(SEED_OCRP_9X_PREFIX));
    assert.equal(b.callId, 42);
    assert.equal(b.peerCallId, 0);
    assert.equal(b.resultCode, 1);
    assert.equal(toHex(emitControlMessage(a)), toHex(SEED_OCRP_WINDOWS));
    assert.equal(toHex(emitControlMessage(b)), toHex(SEED_OCRP_9X));
  });

  test("Windows Set-Link-Info, default and negotiated ACCM", () => {
    const a = parsed(SEED_SLI_FFFF, "SLI");
    assert.ok(toHex(SEED_SLI_FFFF).startsWith(SEED_SLI_FFFF_PREFIX));
    assert.equal(a.peerCallId, 9);
    assert.equal(a.sendAccm, 0xffffffff);
    assert.equal(a.receiveAccm >>> 16, 0xffff);
    const b = parsed(SEED_SLI_ZERO, "SLI");
    assert.ok(toHex(SEED_SLI_ZERO).startsWith(SEED_SLI_ZERO_PREFIX));
    assert.equal(b.peerCallId, 9);
    assert.equal(b.sendAccm, 0);
    assert.equal(toHex(emitControlMessage(a)), toHex(SEED_SLI_FFFF));
  });

  test("Windows Call-Clear-Request (complete capture, Control Message Type 12)", () => {
    const m = parsed(SEED_CCRQ, "CCRQ");
    assert.equal(m.callId, 0);
    assert.equal(controlMessageName(12), "Call-Clear-Request");
    assert.equal(toHex(emitControlMessage(m)), SEED_CCRQ_HEX.toLowerCase());
    assert.equal(toHex(emitControlMessage({ type: "CCRQ", callId: 0 })), "001000011a2b3c4d000c000000000000");
  });
});

/** One record of each of the 15 types, with every field non-zero where it can be. */
const ALL_MESSAGES: readonly ControlMessage[] = [
  {
    type: "SCCRQ",
    protocolVersion: 0x0100,
    framingCapabilities: 3,
    bearerCapabilities: 2,
    maximumChannels: 7,
    firmwareRevision: 0x870,
    hostName: "pns.example",
    vendorString: "pptp-ts test",
  },
  {
    type: "SCCRP",
    protocolVersion: 0x0100,
    resultCode: 2,
    errorCode: 4,
    framingCapabilities: 1,
    bearerCapabilities: 3,
    maximumChannels: 65535,
    firmwareRevision: 0x1234,
    hostName: "x".repeat(64),
    vendorString: "pac",
  },
  { type: "StopCCRQ", reason: 3 },
  { type: "StopCCRP", resultCode: 2, errorCode: 6 },
  { type: "EchoRQ", identifier: 0xdeadbeef },
  { type: "EchoRP", identifier: 0x01020304, resultCode: 2, errorCode: 1 },
  {
    type: "OCRQ",
    callId: 0xbeef,
    callSerialNumber: 0xfffe,
    minimumBps: 2400,
    maximumBps: 0xfffffff0,
    bearerType: 2,
    framingType: 1,
    packetRecvWindowSize: 1000,
    packetProcessingDelay: 64,
    phoneNumberLength: 11,
    phoneNumber: "+1555123456",
    subaddress: "sub",
  },
  {
    type: "OCRP",
    callId: 77,
    peerCallId: 0xbeef,
    resultCode: 4,
    errorCode: 0,
    causeCode: 17,
    connectSpeed: 64000,
    packetRecvWindowSize: 16,
    packetProcessingDelay: 3,
    physicalChannelId: 0x80000001,
  },
  {
    type: "ICRQ",
    callId: 5,
    callSerialNumber: 6,
    callBearerType: 1,
    physicalChannelId: 99,
    dialedNumberLength: 4,
    dialingNumberLength: 3,
    dialedNumber: "1234",
    dialingNumber: "567",
    subaddress: "s",
  },
  { type: "ICRP", callId: 8, peerCallId: 5, resultCode: 3, errorCode: 0, packetRecvWindowSize: 32, packetTransmitDelay: 2 },
  { type: "ICCN", peerCallId: 8, connectSpeed: 128000, packetRecvWindowSize: 12, packetTransmitDelay: 1, framingType: 2 },
  { type: "CCRQ", callId: 0xffff },
  { type: "CDN", callId: 3, resultCode: 4, errorCode: 0, causeCode: 16, callStatistics: "rx 10 tx 20" },
  {
    type: "WEN",
    peerCallId: 3,
    crcErrors: 1,
    framingErrors: 2,
    hardwareOverruns: 3,
    bufferOverruns: 4,
    timeoutErrors: 5,
    alignmentErrors: 0xffffffff,
  },
  { type: "SLI", peerCallId: 3, sendAccm: 0, receiveAccm: 0x000a0000 },
];

describe("round trip of every message type", () => {
  test("the list covers all 15 control message types", () => {
    const codes = new Set(ALL_MESSAGES.map((m) => emitControlMessage(m)[9]));
    assert.deepEqual([...codes].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });
  for (const m of ALL_MESSAGES) {
    test(`${m.type}: record -> bytes -> record -> bytes`, () => {
      const bytes = emitControlMessage(m);
      assert.equal(bytes.length, controlMessageLength(m.type));
      assert.equal((bytes[0] << 8) | bytes[1], bytes.length, "Length field");
      const back = unwrap(parseControlMessage(bytes));
      assert.deepEqual(back, m);
      assert.deepEqual(emitControlMessage(back), bytes);
    });
  }
  test("RFC lengths", () => {
    const expected: Record<string, number> = {
      SCCRQ: 156, SCCRP: 156, StopCCRQ: 16, StopCCRP: 16, EchoRQ: 16, EchoRP: 20, OCRQ: 168, OCRP: 32,
      ICRQ: 220, ICRP: 24, ICCN: 28, CCRQ: 16, CDN: 148, WEN: 40, SLI: 24,
    };
    for (const m of ALL_MESSAGES) assert.equal(emitControlMessage(m).length, expected[m.type], m.type);
  });
});

describe("malformed control messages are refused with a clear error", () => {
  test("every truncation of every message type", () => {
    for (const m of ALL_MESSAGES) {
      const full = emitControlMessage(m);
      for (let n = 0; n < full.length; n++) {
        const e = errorOf(parseControlMessage(full.subarray(0, n)));
        assert.equal(e.code, "short", `${m.type} cut to ${n}: ${e.message}`);
      }
    }
  });

  test("wrong Magic Cookie names the value seen", () => {
    const b = emitControlMessage({ type: "EchoRQ", identifier: 1 });
    put32(b, 4, 0x1a2b3c4e);
    const e = errorOf(parseControlMessage(b));
    assert.equal(e.code, "bad-magic");
    assert.match(e.message, /0x1a2b3c4e/);
  });

  test("PPTP Message Type other than 1", () => {
    const b = emitControlMessage({ type: "EchoRQ", identifier: 1 });
    put16(b, 2, 2);
    assert.equal(errorOf(parseControlMessage(b)).code, "management-message");
    put16(b, 2, 7);
    const e = errorOf(parseControlMessage(b));
    assert.equal(e.code, "bad-message-type");
    assert.match(e.message, /7/);
  });

  test("wrong per-type length names the message and both lengths", () => {
    const full = emitControlMessage(ALL_MESSAGES[0]);
    const b = full.slice(0, 150);
    put16(b, 0, 150);
    const e = errorOf(parseControlMessage(b));
    assert.equal(e.code, "bad-length");
    assert.match(e.message, /Start-Control-Connection-Request/);
    assert.match(e.message, /156/);
    assert.match(e.message, /150/);
    // A longer buffer with a matching Length is still wrong for the type.
    const longer = new Uint8Array(20);
    longer.set(emitControlMessage({ type: "CCRQ", callId: 1 }));
    put16(longer, 0, 20);
    const e2 = errorOf(parseControlMessage(longer));
    assert.equal(e2.code, "bad-length");
    assert.match(e2.message, /Call-Clear-Request.*16.*20/);
  });

  test("Length field out of range", () => {
    const b = emitControlMessage({ type: "EchoRQ", identifier: 1 });
    put16(b, 0, 11);
    assert.equal(errorOf(parseControlMessage(b)).code, "bad-length");
    put16(b, 0, 5000);
    assert.equal(errorOf(parseControlMessage(b)).code, "bad-length");
  });

  test("Length field disagreeing with the buffer", () => {
    const b = emitControlMessage({ type: "EchoRQ", identifier: 1 });
    const extra = new Uint8Array(b.length + 3);
    extra.set(b);
    assert.equal(errorOf(parseControlMessage(extra)).code, "trailing-bytes");
  });

  test("unknown Control Message Types are a typed error", () => {
    for (const code of [0, 16, 200, 0xffff]) {
      const b = emitControlMessage({ type: "EchoRQ", identifier: 1 });
      put16(b, 8, code);
      const e = errorOf(parseControlMessage(b));
      assert.equal(e.code, "unknown-control-type");
      assert.match(e.message, new RegExp(String(code)));
    }
  });

  test("non-zero Reserved fields are refused unless allowed", () => {
    const cases: Array<[ControlMessage, number, string]> = [
      [{ type: "EchoRQ", identifier: 1 }, 10, "Reserved0"],
      [ALL_MESSAGES[0], 14, "Reserved1"],
      [{ type: "StopCCRQ", reason: 1 }, 13, "Reserved1"],
      [{ type: "StopCCRQ", reason: 1 }, 15, "Reserved2"],
      [{ type: "CCRQ", callId: 1 }, 15, "Reserved1"],
      [ALL_MESSAGES[6], 39, "Reserved1"],
      [{ type: "SLI", peerCallId: 1, sendAccm: 0, receiveAccm: 0 }, 14, "Reserved1"],
    ];
    for (const [m, at, name] of cases) {
      const b = emitControlMessage(m);
      b[at] = 0x5a;
      const e = errorOf(parseControlMessage(b));
      assert.equal(e.code, "bad-reserved", `${m.type} offset ${at}`);
      assert.match(e.message, new RegExp(name));
      assert.match(e.message, /0x/);
      const lenient = parseControlMessage(b, { allowNonZeroReserved: true });
      assert.equal(lenient.ok, true);
    }
  });

  test("code tables print the RFC meaning", () => {
    assert.equal(describeCode(OUTGOING_CALL_RESULT_TEXT, 4), "4 (Busy: Outgoing Call failed due to detection of a busy signal)");
    assert.equal(describeCode(OUTGOING_CALL_RESULT_TEXT, 7), "7 (Do Not Accept: Outgoing Call administratively prohibited)");
    assert.equal(describeCode(DISCONNECT_RESULT_TEXT, 4), "4 (Request: Call disconnected due to received Call-Clear-Request)");
    assert.equal(describeCode(STOP_REASON_TEXT, 3), "3 (Stop-Local-Shutdown: Requester is being shut down)");
    assert.equal(describeCode(GENERAL_ERROR_TEXT, 5), "5 (Bad-Call ID: The Call ID is invalid in this context)");
    assert.equal(describeCode(GENERAL_ERROR_TEXT, 9), "9 (unknown code)");
    assert.match(describeResult(OUTGOING_CALL_RESULT_TEXT, 2, 4), /^2 \(General Error: .*\), error 4 \(No-Resource: /);
    for (let i = 0; i <= 6; i++) assert.ok(GENERAL_ERROR_TEXT[i] !== undefined, `general error ${i}`);
    for (let i = 1; i <= 7; i++) assert.ok(OUTGOING_CALL_RESULT_TEXT[i] !== undefined, `OCRP result ${i}`);
  });
});

describe("fuzz: nothing throws", () => {
  test("random buffers", () => {
    const seed = testSeed("pptp-control:random", 0x5eed);
    const runs = testRuns(5000);
    withSeed("pptp-control random buffers", seed, () => randomBuffers(seed, runs));
  });
  function randomBuffers(seed: number, runs: number): void {
    const rnd = prng(seed);
    let accepted = 0;
    for (let i = 0; i < runs; i++) {
      const len = rnd() % 260;
      const b = new Uint8Array(len);
      for (let j = 0; j < len; j++) b[j] = rnd() & 0xff;
      // Make half of them plausible so the parser gets past the header checks.
      if (i % 2 === 0 && len >= 12) {
        put16(b, 0, len);
        put16(b, 2, 1);
        put32(b, 4, PPTP_MAGIC_COOKIE);
        put16(b, 8, 1 + (rnd() % 16));
        if (rnd() % 2 === 0) put16(b, 10, 0);
      }
      const r = parseControlMessage(b);
      if (r.ok) {
        accepted++;
        // Whatever is accepted is a faithful reading of the bytes: re-encoding restores the length and meaning.
        const again = emitControlMessage(r.value);
        assert.equal(again.length, b.length);
        assert.deepEqual(unwrap(parseControlMessage(again)), r.value);
      } else {
        assert.equal(typeof r.error.message, "string");
        assert.ok(r.error.message.length > 10);
      }
    }
    assert.ok(accepted < runs);
  }

  test("single-bit mutations of valid messages round-trip when accepted", () => {
    const seed = testSeed("pptp-control:bitflips", 42);
    const runs = testRuns(3000);
    withSeed("pptp-control bit flips", seed, () => bitFlips(seed, runs));
  });
  function bitFlips(seed: number, runs: number): void {
    const rnd = prng(seed);
    let accepted = 0;
    for (let i = 0; i < runs; i++) {
      const m = ALL_MESSAGES[i % ALL_MESSAGES.length];
      const b = emitControlMessage(m);
      b[rnd() % b.length] ^= 1 << (rnd() % 8);
      const r = parseControlMessage(b, { allowNonZeroReserved: false });
      if (r.ok) {
        accepted++;
        const again = unwrap(parseControlMessage(emitControlMessage(r.value)));
        assert.deepEqual(again, r.value);
      }
    }
    assert.ok(accepted > 0, "some mutations hit ordinary fields and are accepted");
    assert.ok(accepted < runs, "some mutations hit checked fields and are refused");
  }

  test("the framer on mutated valid streams: next() always ends, messages round-trip, a failure is final", (t) => {
    // Recorded client and server exchanges, edited and byte-mutated, pushed in random chunks. The fuzz target
    // asserts what the old loop guard hid: next() ends within one call per 12 octets received (else it throws),
    // every message it returns re-encodes to itself, and nothing comes after a framing failure.
    const seed = testSeed("framer", 7);
    const runs = testRuns(500);
    const before = { ...controlFramer.coverage };
    withSeed("framer", seed, () => fc.assert(fc.property(controlFramer.arbitrary, (i) => controlFramer.run(i)), { seed, numRuns: runs, endOnFailure: true }));
    const got = (k: string): number => (controlFramer.coverage?.[k] ?? 0) - (before[k] ?? 0);
    t.diagnostic(`${runs} streams: ${got("message")} messages framed, ${got("bad message")} refused messages, ${got("failed")} streams refused`);
    assert.ok(got("message") >= runs * 2, `only ${got("message")} messages framed from ${runs} streams`);
    assert.ok(got("failed") > 0 && got("failed") < runs, `${got("failed")} of ${runs} streams hit a framing error`);
    assert.ok(got("bad message") > 0, "no well-framed but invalid message was seen");
  });

});

describe("ControlStreamFramer", () => {
  const stream = (): Uint8Array => {
    const parts = [ALL_MESSAGES[0], ALL_MESSAGES[4], ALL_MESSAGES[8], ALL_MESSAGES[11]].map((m) => emitControlMessage(m));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  const expectedTypes = ["SCCRQ", "EchoRQ", "ICRQ", "CCRQ"];

  function drain(f: ControlStreamFramer): string[] {
    const out: string[] = [];
    for (let r = f.next(); r !== undefined; r = f.next()) out.push(unwrap(r).type);
    return out;
  }

  test("several messages coalesced in one read", () => {
    const f = new ControlStreamFramer();
    f.push(stream());
    assert.deepEqual(drain(f), expectedTypes);
    assert.equal(f.buffered, 0);
  });

  test("one byte per read", () => {
    const f = new ControlStreamFramer();
    const s = stream();
    const got: string[] = [];
    for (let i = 0; i < s.length; i++) {
      f.push(s.subarray(i, i + 1));
      got.push(...drain(f));
    }
    assert.deepEqual(got, expectedTypes);
  });

  test("split at every position of the stream", () => {
    const s = stream();
    for (let cut = 0; cut <= s.length; cut++) {
      const f = new ControlStreamFramer();
      f.push(s.subarray(0, cut));
      const got = drain(f);
      f.push(s.subarray(cut));
      got.push(...drain(f));
      assert.deepEqual(got, expectedTypes, `cut at ${cut}`);
    }
  });

  test("the bytes handed out do not change when the buffer is reused", () => {
    const f = new ControlStreamFramer();
    const a = emitControlMessage({ type: "EchoRQ", identifier: 1 });
    f.push(a);
    const first = unwrap(f.next() as Result<ControlMessage>);
    f.push(emitControlMessage({ type: "EchoRQ", identifier: 2 }));
    const second = unwrap(f.next() as Result<ControlMessage>);
    assert.deepEqual(first, { type: "EchoRQ", identifier: 1 });
    assert.deepEqual(second, { type: "EchoRQ", identifier: 2 });
  });

  test("a Length below 12 or above 1024 is refused after two octets, then the stream is dead", () => {
    for (const len of [0, 11, 1025, 0xffff]) {
      const f = new ControlStreamFramer();
      f.push(Uint8Array.of(len >> 8, len & 0xff));
      const r = f.next();
      assert.ok(r !== undefined && !r.ok, `length ${len}`);
      assert.equal(r.error.code, "bad-length");
      assert.equal(f.failed, true);
      f.push(emitControlMessage({ type: "EchoRQ", identifier: 1 }));
      assert.equal(f.next(), undefined, "nothing more after a framing error");
      assert.equal(f.buffered, 0);
    }
  });

  test("a wrong Magic Cookie is refused as soon as 8 octets are in", () => {
    const f = new ControlStreamFramer();
    const b = emitControlMessage(ALL_MESSAGES[0]);
    put32(b, 4, 0);
    f.push(b.subarray(0, 8));
    const r = f.next();
    assert.ok(r !== undefined && !r.ok);
    assert.equal(r.error.code, "bad-magic");
  });

  test("a well-framed invalid message is reported and the stream continues", () => {
    const f = new ControlStreamFramer();
    const bad = emitControlMessage({ type: "EchoRQ", identifier: 1 });
    put16(bad, 8, 99);
    f.push(bad);
    f.push(emitControlMessage({ type: "EchoRQ", identifier: 2 }));
    const r1 = f.next();
    assert.ok(r1 !== undefined && !r1.ok);
    assert.equal(r1.error.code, "unknown-control-type");
    assert.deepEqual(unwrap(f.next() as Result<ControlMessage>), { type: "EchoRQ", identifier: 2 });
    assert.equal(f.failed, false);
  });

  test("buffering is bounded", () => {
    const f = new ControlStreamFramer({ maxBuffered: 100 });
    f.push(new Uint8Array(60).fill(0));
    f.push(new Uint8Array(60).fill(0));
    const r = f.next();
    assert.ok(r !== undefined && !r.ok);
    assert.equal(r.error.code, "too-much-data");
  });

  test("a large read of many messages grows the buffer and yields them all", () => {
    const one = emitControlMessage({ type: "EchoRP", identifier: 9, resultCode: 1, errorCode: 0 });
    const many = new Uint8Array(one.length * 500);
    for (let i = 0; i < 500; i++) many.set(one, i * one.length);
    const f = new ControlStreamFramer();
    f.push(many.subarray(0, 7));
    f.push(many.subarray(7));
    let n = 0;
    for (let r = f.next(); r !== undefined; r = f.next()) {
      assert.equal(unwrap(r).type, "EchoRP");
      n++;
    }
    assert.equal(n, 500);
  });

  test("fromHex of the CCRQ capture frames to one message", () => {
    const f = new ControlStreamFramer();
    f.push(fromHex(SEED_CCRQ_HEX));
    assert.deepEqual(drain(f), ["CCRQ"]);
  });
});
