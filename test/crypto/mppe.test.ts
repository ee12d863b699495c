import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  MppeReceiver,
  MppeSender,
  MPPE_DROP,
  MPPE_NEED_RESET,
  type MppeBits,
  type MppeOptions,
} from "../../src/crypto/mppe.js";
import { mppeKeysMschap1, mppeKeysMschap2 } from "../../src/crypto/mppe-keys.js";
import { mschap2NtResponse, ntPasswordHash } from "../../src/crypto/mschap.js";
import { bytesEqual, fromHex, toHex, utf8 } from "../../src/wire/bytes.js";

/** RFC 3079 §3.5.3 SendStartKey128 (the 40/56-bit samples use its first 8 bytes). */
const START = fromHex("8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB");
const ALL_BITS: MppeBits[] = [40, 56, 128];

/** Packet i of a test stream: PPP protocol 0x0021 then a pattern that differs per packet. */
function payload(i: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  b[0] = 0x00;
  b[1] = 0x21;
  for (let j = 2; j < len; j++) b[j] = (i * 7 + j) & 0xff;
  return b;
}

function seal(tx: MppeSender, plain: Uint8Array): Uint8Array {
  const out = new Uint8Array(plain.length + 2);
  assert.equal(tx.encrypt(plain, 0, plain.length, out, 0), plain.length + 2);
  return out;
}

/** Decrypts into a fresh buffer; returns the plaintext or the negative code. */
function open(rx: MppeReceiver, pkt: Uint8Array): Uint8Array | number {
  const out = new Uint8Array(pkt.length);
  const n = rx.decrypt(pkt, 0, pkt.length, out, 0);
  return n < 0 ? n : out.subarray(0, n);
}

function pair(bits: MppeBits, stateless: boolean): { tx: MppeSender; rx: MppeReceiver } {
  const opts: MppeOptions = { masterKey: START, bits, stateless };
  return { tx: new MppeSender(opts), rx: new MppeReceiver(opts) };
}

function header(pkt: Uint8Array): { a: boolean; d: boolean; count: number } {
  return { a: (pkt[0] & 0x80) !== 0, d: (pkt[0] & 0x10) !== 0, count: ((pkt[0] & 0x0f) << 8) | pkt[1] };
}

describe("MPPE fixed vectors", () => {
  test("stateful first packet is RC4 under the RFC 3079 §3.5 initial session key ('test message' samples)", () => {
    const expected: Record<MppeBits, string> = {
      40: "929137917e5803d668d75898",
      56: "3f106833fa448da842bc57b8",
      128: "81848317df68846272fb5abe",
    };
    for (const bits of ALL_BITS) {
      const { tx } = pair(bits, false);
      // Count 0, D set, A clear: the first stateful packet uses the initial key without a key change.
      assert.equal(toHex(seal(tx, utf8("test message"))), "1000" + expected[bits], `${bits}-bit`);
    }
  });

  test("stateless packets 0..2 (reference: independent OpenSSL RC4 + SHA-1 implementation)", () => {
    const expected: Record<MppeBits, string[]> = {
      40: [
        "90009edcd36590eb46883f57d74e58851f4a07f21703",
        "9001f203576646f59cf4b44e2ee11c216143ac7faebc",
        "9002370a902ff1d86c9a99c676258e8cfb4d9484f0f1",
      ],
      56: [
        "900068daf158a17e815e078bef1eb6895baaef702fbd",
        "9001b23cfb0cbbbba7bb66bc4fd1942e71505dca1b21",
        "90028d3c9fa6dbd538d32a2985fff5217e86268ff0a9",
      ],
      128: [
        "900070585428e46a5ebddb6f832e73599bb579e12ac0",
        "9001353ce823ad3de3524dcd0a859e86e55417ab2c6b",
        "9002ccd920ca23aadf4ac25ebd0ae8f411d1b6669f63",
      ],
    };
    for (const bits of ALL_BITS) {
      const { tx, rx } = pair(bits, true);
      for (let i = 0; i < 3; i++) {
        const pkt = seal(tx, payload(i, 20));
        assert.equal(toHex(pkt), expected[bits][i], `${bits}-bit packet ${i}`);
        assert.deepEqual(open(rx, pkt), payload(i, 20));
      }
    }
  });

  test("stateful packets around the first flag packet (reference: OpenSSL)", () => {
    const expected: Record<40 | 128, Record<number, string>> = {
      40: {
        0: "1000e6d546e65a3060a213bf35f63fb57837e917e8b6",
        1: "1001e26678c5b7d3ea4a2cf99d16886df0fd4b927d26",
        254: "10fea4acd6545394e70e4356973fb240df8ea8fa15e6",
        255: "90ff9edc2a9a6910bf8f365cde41518e164d1ee90e1c",
        256: "1100d1d3564825dbc6de30a77690acbca02bc2e6b474",
      },
      128: {
        0: "1000f5c0f260fb00e716099337d093cfecb7cf7a22a9",
        1: "10010d074668be8fe4c272bc964406895498838bc093",
        254: "10fed3e08f6f80759ca70a14ed3f70af831c8cbe3e00",
        255: "90ff7058add71d91a7bad2648a217a5292b260fa33df",
        256: "110045d4b63709209b55df8a40465ee091ddd22c9f35",
      },
    };
    for (const bits of [40, 128] as const) {
      const { tx, rx } = pair(bits, false);
      for (let i = 0; i < 300; i++) {
        const pkt = seal(tx, payload(i, 20));
        if (expected[bits][i] !== undefined) assert.equal(toHex(pkt), expected[bits][i], `${bits}-bit packet ${i}`);
        assert.deepEqual(open(rx, pkt), payload(i, 20), `${bits}-bit packet ${i} decrypts`);
      }
    }
  });
});

describe("MPPE round trips", () => {
  for (const stateless of [true, false]) {
    for (const bits of ALL_BITS) {
      test(`${bits}-bit ${stateless ? "stateless" : "stateful"}: 5000 packets of varying size, through the 4096 wrap`, () => {
        const { tx, rx } = pair(bits, stateless);
        for (let i = 0; i < 5000; i++) {
          const plain = payload(i, 1 + ((i * 37) % 1500));
          const pkt = seal(tx, plain);
          const h = header(pkt);
          assert.equal(h.count, i % 4096);
          assert.equal(h.d, true);
          assert.equal(h.a, stateless || (i & 0xff) === 0xff, `A bit on packet ${i}`);
          if (plain.length > 8) assert.ok(!bytesEqual(pkt.subarray(2), plain), `packet ${i} is not sent in clear`);
          const got = open(rx, pkt);
          assert.ok(got instanceof Uint8Array && bytesEqual(got, plain), `packet ${i} decrypts`);
        }
        assert.equal(tx.coherencyCount, 4999 % 4096);
        assert.equal(rx.coherencyCount, 4999 % 4096);
      });
    }
  }

  test("each direction of a real MS-CHAPv2 session: client send decrypts at the server and vice versa", () => {
    const ntHash = ntPasswordHash("Secret123");
    const resp = mschap2NtResponse(fromHex("00".repeat(16)), fromHex("11".repeat(16)), "alice", ntHash);
    const server = mppeKeysMschap2(ntHash, resp, true);
    const client = mppeKeysMschap2(ntHash, resp, false);
    const c2s = new MppeSender({ masterKey: client.send, bits: 128, stateless: true });
    const s2c = new MppeSender({ masterKey: server.send, bits: 128, stateless: true });
    const atServer = new MppeReceiver({ masterKey: server.recv, bits: 128, stateless: true });
    const atClient = new MppeReceiver({ masterKey: client.recv, bits: 128, stateless: true });
    assert.deepEqual(open(atServer, seal(c2s, utf8("\x00\x21hello"))), utf8("\x00\x21hello"));
    assert.deepEqual(open(atClient, seal(s2c, utf8("\x00\x21world"))), utf8("\x00\x21world"));
    // The two directions use different keys: the client cannot read its own traffic with its receive key.
    const ownSend = new MppeSender({ masterKey: client.send, bits: 128, stateless: true });
    const wrongWay = new MppeReceiver({ masterKey: client.recv, bits: 128, stateless: true });
    assert.notDeepEqual(open(wrongWay, seal(ownSend, utf8("\x00\x21hello"))), utf8("\x00\x21hello"));
  });

  test("MS-CHAPv1 40-bit: both sides derive the same keys and interoperate", () => {
    const challenge = fromHex("10 2d b5 df 08 5d 30 41");
    const server = mppeKeysMschap1(ntPasswordHash("MyPw"), challenge);
    const client = mppeKeysMschap1(ntPasswordHash("MyPw"), challenge);
    for (const stateless of [true, false]) {
      const tx = new MppeSender({ masterKey: client.send, bits: 40, stateless });
      const rx = new MppeReceiver({ masterKey: server.recv, bits: 40, stateless });
      for (let i = 0; i < 10; i++) assert.deepEqual(open(rx, seal(tx, payload(i, 100))), payload(i, 100));
    }
  });
});

describe("MPPE stateless synchronisation (RFC 3078 §8.1)", () => {
  test("loss: the receiver performs one key change per missed count", () => {
    for (const bits of ALL_BITS) {
      const { tx, rx } = pair(bits, true);
      for (let i = 0; i < 600; i++) {
        const pkt = seal(tx, payload(i, 64));
        if (i % 7 === 3 || (i >= 100 && i < 400)) continue; // scattered single losses and a 300-packet burst
        assert.deepEqual(open(rx, pkt), payload(i, 64), `${bits}-bit packet ${i}`);
      }
    }
  });

  test("loss across the 4096 wrap", () => {
    const { tx, rx } = pair(128, true);
    for (let i = 0; i < 4200; i++) {
      const pkt = seal(tx, payload(i, 32));
      // Everything up to 3999 arrives, then only 4090 and 4100 (count 4): the last gap spans the wrap.
      if (i < 4000 || i === 4090 || i === 4100) assert.deepEqual(open(rx, pkt), payload(i, 32), `packet ${i}`);
    }
    assert.equal(rx.coherencyCount, 4100 - 4096);
  });

  test("reorder: a later packet is accepted, the overtaken one is dropped, the stream continues", () => {
    const { tx, rx } = pair(128, true);
    const pkts = Array.from({ length: 10 }, (_, i) => seal(tx, payload(i, 40)));
    for (const i of [0, 1, 3, 2, 4, 6, 5, 7, 9, 8]) {
      const got = open(rx, pkts[i]);
      const late = i === 2 || i === 5 || i === 8;
      if (late) assert.equal(got, MPPE_DROP, `late packet ${i}`);
      else assert.deepEqual(got, payload(i, 40), `packet ${i}`);
    }
  });

  test("duplicates and replays are dropped without disturbing the stream", () => {
    const { tx, rx } = pair(56, true);
    const p0 = seal(tx, payload(0, 40));
    const p1 = seal(tx, payload(1, 40));
    assert.deepEqual(open(rx, p0), payload(0, 40));
    assert.equal(open(rx, p0), MPPE_DROP);
    assert.deepEqual(open(rx, p1), payload(1, 40));
    assert.equal(open(rx, p0), MPPE_DROP);
    assert.deepEqual(open(rx, seal(tx, payload(2, 40))), payload(2, 40));
  });

  test("a count more than half the space ahead is treated as old; exactly half is a loss", () => {
    const { tx, rx } = pair(40, true);
    const pkts: Uint8Array[] = [];
    for (let i = 0; i < 2060; i++) pkts.push(seal(tx, payload(i, 16)));
    assert.deepEqual(open(rx, pkts[10]), payload(10, 16));
    assert.equal(open(rx, pkts[10 + 2049]), MPPE_DROP, "2049 ahead");
    assert.deepEqual(open(rx, pkts[10 + 2048]), payload(2058, 16), "2048 ahead");
  });

  test("resetRequest is harmless in stateless mode", () => {
    const { tx, rx } = pair(128, true);
    tx.resetRequest();
    for (let i = 0; i < 3; i++) assert.deepEqual(open(rx, seal(tx, payload(i, 30))), payload(i, 30));
  });
});

describe("MPPE stateful synchronisation (RFC 3078 §8.2)", () => {
  test("loss -> NEED_RESET once, drops until the flushed packet after resetRequest, then in sync", () => {
    for (const bits of ALL_BITS) {
      const { tx, rx } = pair(bits, false);
      for (let i = 0; i < 5; i++) assert.deepEqual(open(rx, seal(tx, payload(i, 50))), payload(i, 50));
      seal(tx, payload(5, 50)); // lost
      assert.equal(open(rx, seal(tx, payload(6, 50))), MPPE_NEED_RESET);
      assert.equal(rx.awaitingFlush, true);
      assert.equal(open(rx, seal(tx, payload(7, 50))), MPPE_DROP, "no second Reset-Request per packet");
      tx.resetRequest(); // the Reset-Request reached the sender
      const flushed = seal(tx, payload(8, 50));
      assert.equal(header(flushed).a, true);
      assert.deepEqual(open(rx, flushed), payload(8, 50), `${bits}-bit flushed packet`);
      assert.equal(rx.awaitingFlush, false);
      for (let i = 9; i < 600; i++) assert.deepEqual(open(rx, seal(tx, payload(i, 50))), payload(i, 50), `${bits}-bit ${i}`);
    }
  });

  test("the lost packets included flag packets: the receiver catches up one key change per flag", () => {
    const { tx, rx } = pair(128, false);
    for (let i = 0; i < 250; i++) assert.deepEqual(open(rx, seal(tx, payload(i, 20))), payload(i, 20));
    for (let i = 250; i < 800; i++) seal(tx, payload(i, 20)); // lost: flags 255, 511 and 767 among them
    assert.equal(open(rx, seal(tx, payload(800, 20))), MPPE_NEED_RESET);
    for (let i = 801; i < 820; i++) assert.equal(open(rx, seal(tx, payload(i, 20))), MPPE_DROP);
    tx.resetRequest();
    assert.deepEqual(open(rx, seal(tx, payload(820, 20))), payload(820, 20));
    for (let i = 821; i < 1100; i++) assert.deepEqual(open(rx, seal(tx, payload(i, 20))), payload(i, 20), `packet ${i}`);
  });

  test("a flag packet resynchronises a waiting receiver even without a reset", () => {
    const { tx, rx } = pair(40, false);
    assert.deepEqual(open(rx, seal(tx, payload(0, 20))), payload(0, 20));
    seal(tx, payload(1, 20));
    assert.equal(open(rx, seal(tx, payload(2, 20))), MPPE_NEED_RESET);
    for (let i = 3; i < 255; i++) assert.equal(open(rx, seal(tx, payload(i, 20))), MPPE_DROP);
    assert.deepEqual(open(rx, seal(tx, payload(255, 20))), payload(255, 20));
    assert.deepEqual(open(rx, seal(tx, payload(256, 20))), payload(256, 20));
  });

  test("a flag packet is a key change even if the sender left its A bit clear", () => {
    const { tx, rx } = pair(128, false);
    for (let i = 0; i < 255; i++) assert.deepEqual(open(rx, seal(tx, payload(i, 20))), payload(i, 20));
    const flag = seal(tx, payload(255, 20));
    assert.equal(header(flag).a, true);
    flag[0] &= ~0x80;
    assert.deepEqual(open(rx, flag), payload(255, 20));
    assert.deepEqual(open(rx, seal(tx, payload(256, 20))), payload(256, 20));
  });

  test("a duplicate or late packet is dropped without needing a reset", () => {
    const { tx, rx } = pair(128, false);
    const p0 = seal(tx, payload(0, 20));
    const p1 = seal(tx, payload(1, 20));
    assert.deepEqual(open(rx, p0), payload(0, 20));
    assert.deepEqual(open(rx, p1), payload(1, 20));
    assert.equal(open(rx, p1), MPPE_DROP);
    assert.equal(open(rx, p0), MPPE_DROP);
    assert.equal(rx.awaitingFlush, false);
    assert.deepEqual(open(rx, seal(tx, payload(2, 20))), payload(2, 20));
  });

  test("a stale flushed packet from before the loss does not resynchronise a waiting receiver", () => {
    const { tx, rx } = pair(128, false);
    const pkts: Uint8Array[] = [];
    for (let i = 0; i < 260; i++) pkts.push(seal(tx, payload(i, 20)));
    for (let i = 0; i < 258; i++) assert.deepEqual(open(rx, pkts[i]), payload(i, 20));
    assert.equal(open(rx, pkts[259]), MPPE_NEED_RESET); // 258 lost
    assert.equal(open(rx, pkts[255]), MPPE_DROP, "old flag packet replayed");
    assert.equal(rx.awaitingFlush, true);
    tx.resetRequest();
    assert.deepEqual(open(rx, seal(tx, payload(260, 20))), payload(260, 20));
  });

  test("resync across the 4096 wrap", () => {
    const { tx, rx } = pair(56, false);
    for (let i = 0; i < 4090; i++) assert.deepEqual(open(rx, seal(tx, payload(i, 10))), payload(i, 10));
    for (let i = 4090; i < 4100; i++) seal(tx, payload(i, 10)); // lost, including flag 4095
    assert.equal(open(rx, seal(tx, payload(4100, 10))), MPPE_NEED_RESET);
    tx.resetRequest();
    const flushed = seal(tx, payload(4101, 10));
    assert.equal(header(flushed).count, 4101 - 4096);
    assert.deepEqual(open(rx, flushed), payload(4101, 10));
    assert.deepEqual(open(rx, seal(tx, payload(4102, 10))), payload(4102, 10));
  });
});

describe("MPPE header validation", () => {
  for (const stateless of [true, false]) {
    const mode = stateless ? "stateless" : "stateful";
    test(`${mode}: D clear, C set or too short -> DROP, and the stream is unaffected`, () => {
      const { tx, rx } = pair(128, stateless);
      const good = seal(tx, payload(0, 30));
      const noD = good.slice();
      noD[0] &= ~0x10;
      assert.equal(open(rx, noD), MPPE_DROP);
      const withC = good.slice();
      withC[0] |= 0x20;
      assert.equal(open(rx, withC), MPPE_DROP);
      assert.equal(open(rx, good.subarray(0, 2)), MPPE_DROP);
      assert.equal(open(rx, new Uint8Array(0)), MPPE_DROP);
      assert.deepEqual(open(rx, good), payload(0, 30));
    });
  }

  test("stateless: A must be set on every packet", () => {
    const { tx, rx } = pair(128, true);
    const pkt = seal(tx, payload(0, 30));
    pkt[0] &= ~0x80;
    assert.equal(open(rx, pkt), MPPE_DROP);
  });

  test("the B bit is ignored", () => {
    const { tx, rx } = pair(128, true);
    const pkt = seal(tx, payload(0, 30));
    pkt[0] |= 0x40;
    assert.deepEqual(open(rx, pkt), payload(0, 30));
  });
});

describe("MPPE buffer arrangements", () => {
  test("encrypt in place with the header in front, decrypt in place and shifted over the header", () => {
    const a = pair(128, true);
    const b = pair(128, true);
    const plain = payload(0, 100);
    const reference = seal(a.tx, plain);

    const buf = new Uint8Array(120);
    buf.set(plain, 10);
    assert.equal(b.tx.encrypt(buf, 10, 100, buf, 8), 102);
    assert.deepEqual(buf.subarray(8, 110), reference);

    // Decrypt in place: ciphertext stays where it is.
    const c = pair(128, true);
    const inPlace = buf.slice();
    assert.equal(c.rx.decrypt(inPlace, 8, 102, inPlace, 10), 100);
    assert.deepEqual(inPlace.subarray(10, 110), plain);

    // Decrypt shifting the plaintext over the header.
    const d = pair(128, true);
    const shifted = buf.slice();
    assert.equal(d.rx.decrypt(shifted, 8, 102, shifted, 8), 100);
    assert.deepEqual(shifted.subarray(8, 108), plain);
  });

  test("overlapping arrangements that write ahead of unread input are handled", () => {
    const plain = payload(3, 64);
    const reference = seal(pair(40, false).tx, plain);

    // Encrypt with the header at the plaintext's own offset (output moves 2 bytes later).
    const e = pair(40, false);
    const buf = new Uint8Array(80);
    buf.set(plain, 4);
    assert.equal(e.tx.encrypt(buf, 4, 64, buf, 4), 66);
    assert.deepEqual(buf.subarray(4, 70), reference);

    // Decrypt moving the plaintext 5 bytes later than the ciphertext.
    const r = pair(40, false);
    const back = new Uint8Array(80);
    back.set(reference, 0);
    assert.equal(r.rx.decrypt(back, 0, 66, back, 7), 64);
    assert.deepEqual(back.subarray(7, 71), plain);
  });

  test("offsets into larger buffers; nothing outside the output range is written", () => {
    const { tx, rx } = pair(128, false);
    const src = new Uint8Array(50).fill(0xee);
    src.set(payload(0, 20), 13);
    const dst = new Uint8Array(60);
    assert.equal(tx.encrypt(src, 13, 20, dst, 30), 22);
    assert.equal(dst.subarray(0, 30).some((x) => x !== 0) || dst.subarray(52).some((x) => x !== 0), false);
    const out = new Uint8Array(40).fill(0x55);
    assert.equal(rx.decrypt(dst, 30, 22, out, 5), 20);
    assert.deepEqual(out.subarray(5, 25), payload(0, 20));
    assert.equal(out.subarray(0, 5).every((x) => x === 0x55) && out.subarray(25).every((x) => x === 0x55), true);
  });

  test("encrypt rejects ranges that do not fit (programming errors)", () => {
    const { tx } = pair(128, true);
    assert.throws(() => tx.encrypt(new Uint8Array(10), 0, 10, new Uint8Array(11), 0), RangeError);
    assert.throws(() => tx.encrypt(new Uint8Array(10), 5, 6, new Uint8Array(20), 0), RangeError);
    assert.throws(() => tx.encrypt(new Uint8Array(10), 0, 0, new Uint8Array(20), 0), RangeError);
    assert.equal(tx.coherencyCount, 4095, "a rejected call does not consume a count");
  });
});
