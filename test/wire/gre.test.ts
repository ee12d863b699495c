import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { fromHex, toHex } from "../../src/wire/bytes.js";
import { unwrap } from "../../src/wire/result.js";
import {
  parseGreHeader,
  emitGreHeader,
  greHeaderLength,
  GreHeader,
  GRE_MAX_HEADER_LENGTH,
  GRE_PROTOCOL_PPP,
} from "../../src/wire/gre.js";
import { prng, SEED_GRE_SENT, seedGrePacket } from "../pptp/fixtures.js";
import { testRuns, testSeed, withSeed } from "../support/random.js";

function parseErr(buf: Uint8Array, off = 0, len = buf.length): { code: string; message: string } {
  const r = parseGreHeader(buf, off, len);
  assert.equal(r.ok, false, "expected an error");
  if (r.ok) throw new Error("unreachable");
  return r.error;
}

describe("captured GRE headers decode to the Len/seq/ack the PIX printed", () => {
  for (const s of SEED_GRE_SENT) {
    test(`Len ${s.len}, seq ${s.seq}, ack ${s.ack}: ${s.hex.slice(0, 32)}`, () => {
      const pkt = seedGrePacket(s);
      const h = unwrap(parseGreHeader(pkt, 0, pkt.length));
      assert.equal(h.hasSeq, true);
      assert.equal(h.hasAck, true);
      assert.equal(h.seq, s.seq);
      assert.equal(h.ack, s.ack);
      assert.equal(h.headerLength, 16);
      assert.equal(h.headerLength + h.payloadLength, s.len, "printed Len = GRE header + payload");
      // The key's low half is the peer's Call ID: 0x4000 for the NT client, 0 for the 9x one.
      assert.equal(h.callId, s.hex.slice(12, 16) === "4000" ? 0x4000 : 0);
      // The PPP payload follows the header (with or without address/control).
      const payloadShown = s.hex.slice(32);
      assert.equal(toHex(pkt.subarray(h.payloadOffset, h.payloadOffset + payloadShown.length / 2)), payloadShown);
      // Emitting the same header gives the captured bytes.
      const out = new Uint8Array(16);
      assert.equal(emitGreHeader(out, 0, h.callId, h.payloadLength, h.seq, h.ack), 16);
      assert.equal(toHex(out), s.hex.slice(0, 32));
    });
  }

  test("the complete 22-octet captures round-trip byte for byte", () => {
    const complete = SEED_GRE_SENT.filter((s) => s.hex.length / 2 === s.len);
    assert.ok(complete.length >= 3);
    for (const s of complete) {
      const pkt = fromHex(s.hex);
      const h = unwrap(parseGreHeader(pkt, 0, pkt.length));
      const out = new Uint8Array(pkt.length);
      const n = emitGreHeader(out, 0, h.callId, h.payloadLength, h.seq, h.ack);
      out.set(pkt.subarray(h.payloadOffset), n);
      assert.equal(toHex(out), s.hex);
    }
  });
});

describe("emitGreHeader", () => {
  test("data with acknowledgment: 16 octets, flags 0x30 0x81", () => {
    const b = new Uint8Array(16);
    assert.equal(emitGreHeader(b, 0, 0x4000, 23, 1, 0), 16);
    assert.equal(toHex(b), "3081880b001740000000000100000000");
  });

  test("data without acknowledgment: 12 octets, flags 0x30 0x01", () => {
    const b = new Uint8Array(12);
    assert.equal(emitGreHeader(b, 0, 7, 100, 0xfffffffe, undefined), 12);
    assert.equal(toHex(b), "3001880b00640007fffffffe");
    const h = unwrap(parseGreHeader(concat(b, new Uint8Array(100)), 0, 112));
    assert.equal(h.hasAck, false);
    assert.equal(h.seq, 0xfffffffe);
  });

  test("acknowledgment only: 12 octets, S clear, A set, no payload", () => {
    const b = new Uint8Array(12);
    assert.equal(emitGreHeader(b, 0, 0x1234, 0, undefined, 0x80000000), 12);
    assert.equal(toHex(b), "2081880b0000123480000000");
    const h = unwrap(parseGreHeader(b, 0, 12));
    assert.equal(h.hasSeq, false);
    assert.equal(h.hasAck, true);
    assert.equal(h.ack, 0x80000000);
    assert.equal(h.payloadLength, 0);
  });

  test("writes at an offset and refuses what does not fit", () => {
    const b = new Uint8Array(40).fill(0xee);
    assert.equal(emitGreHeader(b, 20, 1, 2, 3, 4), 16);
    assert.equal(b[19], 0xee);
    assert.equal(b[36], 0xee);
    assert.throws(() => emitGreHeader(b, 30, 1, 2, 3, 4), RangeError);
    assert.throws(() => emitGreHeader(b, 0, 1, 0x10000, 3, 4), RangeError);
    assert.equal(greHeaderLength(true, true), GRE_MAX_HEADER_LENGTH);
    assert.equal(greHeaderLength(false, false), 8);
  });
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
}

describe("parseGreHeader checks", () => {
  const good = (): Uint8Array => {
    const b = new Uint8Array(16 + 4);
    emitGreHeader(b, 0, 9, 4, 5, 6);
    return b;
  };

  test("version must be 1", () => {
    const b = good();
    b[1] = (b[1] & 0xf8) | 0;
    const e = parseErr(b);
    assert.equal(e.code, "bad-version");
    assert.match(e.message, /Ver is 0/);
  });

  test("protocol must be 0x880B", () => {
    const b = good();
    b[2] = 0x08;
    b[3] = 0x00;
    const e = parseErr(b);
    assert.equal(e.code, "bad-protocol");
    assert.match(e.message, /0x0800/);
    assert.equal(GRE_PROTOCOL_PPP, 0x880b);
  });

  test("K must be set; C and R must be clear", () => {
    const b = good();
    b[0] &= ~0x20;
    assert.equal(parseErr(b).code, "no-key");
    const c = good();
    c[0] |= 0x80;
    assert.equal(parseErr(c).code, "bad-flags");
    const r = good();
    r[0] |= 0x40;
    assert.equal(parseErr(r).code, "bad-flags");
  });

  test("s, Recur and the Flags bits are tolerated", () => {
    const b = good();
    b[0] |= 0x0f;
    b[1] |= 0x78;
    const h = unwrap(parseGreHeader(b, 0, b.length));
    assert.equal(h.seq, 5);
    assert.equal(h.ack, 6);
  });

  test("payload length must fit in the packet", () => {
    const b = good();
    b[5] = 5; // 5 octets announced, 4 present
    const e = parseErr(b);
    assert.equal(e.code, "bad-length");
    assert.match(e.message, /Payload Length is 5 but only 4/);
  });

  test("trailing octets after the payload are allowed", () => {
    const b = concat(good(), new Uint8Array(6));
    const h = unwrap(parseGreHeader(b, 0, b.length));
    assert.equal(h.payloadLength, 4);
  });

  test("optional fields announced by the flags must be present", () => {
    const b = good();
    for (let n = 0; n < 16; n++) {
      const e = parseErr(b, 0, n);
      assert.equal(e.code, "short", `length ${n}`);
    }
  });

  test("payload without a sequence number is refused", () => {
    const b = new Uint8Array(12 + 3);
    emitGreHeader(b, 0, 1, 3, undefined, 7);
    const e = parseErr(b);
    assert.equal(e.code, "payload-without-seq");
  });

  test("a window outside the buffer is refused, not read", () => {
    const b = good();
    assert.equal(parseErr(b, 10, 20).code, "short");
    assert.equal(parseErr(b, -1, 4).code, "short");
  });

  test("parsing at an offset, into a reused header, allocates no result", () => {
    const h = new GreHeader();
    const b = new Uint8Array(20 + 16 + 4);
    emitGreHeader(b, 20, 0xabcd, 4, 100, undefined);
    const r1 = parseGreHeader(b, 20, 16, h);
    assert.equal(r1, h.parsed);
    assert.equal(h.payloadOffset, 32);
    assert.equal(h.callId, 0xabcd);
    emitGreHeader(b, 20, 0x0101, 0, undefined, 55);
    const r2 = parseGreHeader(b, 20, 12, h);
    assert.equal(r2, r1, "same success object every time");
    assert.equal(h.hasSeq, false);
    assert.equal(h.ack, 55);
    assert.equal(h.callId, 0x0101);
  });

  test("fuzz: random packets never throw and accepted ones are consistent", () => {
    const seed = testSeed("gre:random", 0x9e);
    const runs = testRuns(5000);
    withSeed("gre random packets", seed, () => randomPackets(seed, runs));
  });
  function randomPackets(seed: number, runs: number): void {
    const rnd = prng(seed);
    const h = new GreHeader();
    let accepted = 0;
    for (let i = 0; i < runs; i++) {
      const len = rnd() % 40;
      const b = new Uint8Array(len);
      for (let j = 0; j < len; j++) b[j] = rnd() & 0xff;
      if (i % 2 === 0 && len >= 4) {
        b[0] = (b[0] & 0x1f) | 0x20;
        b[1] = (b[1] & 0xf8) | 1;
        b[2] = 0x88;
        b[3] = 0x0b;
        if (len >= 6) b[4] = 0;
      }
      const r = parseGreHeader(b, 0, len, h);
      if (r.ok) {
        accepted++;
        assert.ok(h.payloadOffset + h.payloadLength <= len);
        assert.equal(h.payloadOffset, h.headerLength);
        assert.ok(h.hasSeq || h.payloadLength === 0);
      } else {
        assert.ok(r.error.message.startsWith("GRE: "));
      }
    }
    assert.ok(accepted > 0 && accepted < runs);
  }
});
