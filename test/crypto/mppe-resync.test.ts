/**
 * MppeReceiver with a plaintext validator (MppeOptions.validate): stateful resync after lost flushed packets,
 * garbage detection in sync, stateless rejection. The sender is the unchanged pppd-compatible one throughout.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  MppeReceiver,
  MppeSender,
  MPPE_DROP,
  MPPE_NEED_RESET,
  MAX_RESYNC_KEY_CHANGES,
  type MppeBits,
  type MppeOptions,
} from "../../src/crypto/mppe.js";
import { bytesEqual, fromHex } from "../../src/wire/bytes.js";

const START = fromHex("8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB");
const ALL_BITS: MppeBits[] = [40, 56, 128];

/**
 * Packet i: PPP protocol 0x0021, then something shaped like an IPv4 header start (0x45 0x00, total length = the
 * whole plaintext length), the sequence number and a pattern. A random plaintext passes `marker` with
 * probability 2^-48, so a wrong key is never mistaken for the right one in these tests.
 */
function ipPacket(i: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  b[0] = 0x00;
  b[1] = 0x21;
  b[2] = 0x45;
  b[3] = 0x00;
  b[4] = len >>> 8;
  b[5] = len & 0xff;
  b[6] = (i >>> 8) & 0xff;
  b[7] = i & 0xff;
  for (let j = 8; j < len; j++) b[j] = (i * 7 + j * 13) & 0xff;
  return b;
}

function marker(p: Uint8Array, off: number, len: number): boolean {
  return (
    len >= 6 &&
    p[off] === 0x00 &&
    p[off + 1] === 0x21 &&
    p[off + 2] === 0x45 &&
    p[off + 3] === 0x00 &&
    ((p[off + 4] << 8) | p[off + 5]) === len
  );
}

/** A validator that counts its calls and rejections. */
function counting(): { fn: (p: Uint8Array, off: number, len: number) => boolean; calls: number; rejects: number } {
  const c = {
    calls: 0,
    rejects: 0,
    fn: (p: Uint8Array, off: number, len: number): boolean => {
      c.calls++;
      const ok = marker(p, off, len);
      if (!ok) c.rejects++;
      return ok;
    },
  };
  return c;
}

function seal(tx: MppeSender, plain: Uint8Array): Uint8Array {
  const out = new Uint8Array(plain.length + 2);
  assert.equal(tx.encrypt(plain, 0, plain.length, out, 0), plain.length + 2);
  return out;
}

type Arrangement = "separate" | "in place" | "over header";
const ARRANGEMENTS: Arrangement[] = ["separate", "in place", "over header"];

/** Decrypts a copy of pkt in one of the supported buffer arrangements; returns the plaintext or the negative code. */
function open(rx: MppeReceiver, pkt: Uint8Array, how: Arrangement = "separate"): Uint8Array | number {
  if (how === "separate") {
    const out = new Uint8Array(pkt.length);
    const n = rx.decrypt(pkt, 0, pkt.length, out, 0);
    return n < 0 ? n : out.subarray(0, n);
  }
  const buf = pkt.slice();
  const dstOff = how === "in place" ? 2 : 0;
  const n = rx.decrypt(buf, 0, buf.length, buf, dstOff);
  return n < 0 ? n : buf.subarray(dstOff, dstOff + n);
}

function isFlushed(pkt: Uint8Array): boolean {
  return (pkt[0] & 0x80) !== 0;
}

function pair(bits: MppeBits, extra: Partial<MppeOptions> = {}): { tx: MppeSender; rx: MppeReceiver } {
  const base: MppeOptions = { masterKey: START, bits, stateless: false };
  return { tx: new MppeSender(base), rx: new MppeReceiver({ ...base, validate: marker, ...extra }) };
}

/** Deterministic PRNG (mulberry32) so that the loss pattern, and any failure, is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("MPPE stateful resync with a validator: lost flushed packets", () => {
  for (const lostFlushes of [1, 2, 3]) {
    for (const bits of ALL_BITS) {
      test(`${bits}-bit: ${lostFlushes} flushed packet(s) lost in a row, each followed by another Reset-Request`, () => {
        for (const how of ARRANGEMENTS) {
          const v = counting();
          const { tx, rx } = pair(bits, { validate: v.fn });
          // The same datagrams to a receiver without a validator: the old pppd-only behaviour, for contrast.
          const old = new MppeReceiver({ masterKey: START, bits, stateless: false });
          let i = 0;
          const send = (): [Uint8Array, Uint8Array] => {
            const plain = ipPacket(i, 40 + ((i * 37) % 200));
            i++;
            return [plain, seal(tx, plain)];
          };
          for (; i < 10; ) {
            const [plain, pkt] = send();
            assert.deepEqual(open(rx, pkt, how), plain);
            assert.deepEqual(open(old, pkt), plain);
          }
          send(); // lost
          let [, pkt] = send();
          assert.equal(open(rx, pkt, how), MPPE_NEED_RESET);
          assert.equal(open(old, pkt), MPPE_NEED_RESET);
          for (let r = 0; r < lostFlushes; r++) {
            tx.resetRequest();
            [, pkt] = send(); // the flushed answer, lost
            assert.ok(isFlushed(pkt));
            [, pkt] = send();
            assert.equal(open(rx, pkt, how), MPPE_DROP, "still discarding");
            assert.equal(open(old, pkt), MPPE_DROP);
            assert.equal(rx.awaitingFlush, true);
          }
          tx.resetRequest(); // the repeated Reset-Request
          const [plain, flushed] = send();
          assert.ok(isFlushed(flushed));
          const got = open(old, flushed);
          assert.ok(typeof got !== "number" && !bytesEqual(got, plain), "pppd rule alone is behind: garbage");
          const rejectsBefore = v.rejects;
          assert.deepEqual(open(rx, flushed, how), plain, `${how}: resynchronised`);
          assert.equal(v.rejects - rejectsBefore, lostFlushes, "pppd rule tried first, then one more change each");
          assert.equal(rx.awaitingFlush, false);
          // In sync from here on, across flag packets (key changes) and further Reset-Requests.
          for (let k = 0; k < 600; k++) {
            if (k === 300) tx.resetRequest();
            const [p, c] = send();
            assert.deepEqual(open(rx, c, how), p, `${how}: packet ${i - 1}`);
          }
        }
      });
    }
  }

  test("flag packets lost as well as two flushed packets", () => {
    const { tx, rx } = pair(128);
    let i = 0;
    for (; i < 250; i++) assert.deepEqual(open(rx, seal(tx, ipPacket(i, 60))), ipPacket(i, 60));
    for (; i < 800; i++) seal(tx, ipPacket(i, 60)); // lost: flags 255, 511, 767
    assert.equal(open(rx, seal(tx, ipPacket(i, 60))), MPPE_NEED_RESET);
    i++;
    for (let r = 0; r < 2; r++) {
      tx.resetRequest();
      seal(tx, ipPacket(i++, 60)); // flushed, lost
    }
    tx.resetRequest();
    assert.deepEqual(open(rx, seal(tx, ipPacket(i, 60))), ipPacket(i, 60));
    for (i++; i < 1400; i++) assert.deepEqual(open(rx, seal(tx, ipPacket(i, 60))), ipPacket(i, 60), `packet ${i}`);
  });

  test("a flushed packet that is a flag packet, after a lost flushed packet", () => {
    const { tx, rx } = pair(56);
    let i = 0;
    for (; i < 250; i++) assert.deepEqual(open(rx, seal(tx, ipPacket(i, 30))), ipPacket(i, 30));
    seal(tx, ipPacket(i++, 30)); // 250 lost
    assert.equal(open(rx, seal(tx, ipPacket(i++, 30))), MPPE_NEED_RESET);
    tx.resetRequest();
    seal(tx, ipPacket(i++, 30)); // flushed 252, lost
    for (; i < 255; i++) assert.equal(open(rx, seal(tx, ipPacket(i, 30))), MPPE_DROP);
    // 255: flag packet, one key change at the sender (not two, though a reset is pending too).
    tx.resetRequest();
    assert.deepEqual(open(rx, seal(tx, ipPacket(i, 30))), ipPacket(i, 30));
    for (i++; i < 600; i++) assert.deepEqual(open(rx, seal(tx, ipPacket(i, 30))), ipPacket(i, 30), `packet ${i}`);
  });

  test("more lost flushed packets than maxResyncKeyChanges: DROP, still discarding, state unchanged", () => {
    const { tx, rx } = pair(128, { maxResyncKeyChanges: 1 });
    let i = 0;
    for (; i < 5; i++) assert.deepEqual(open(rx, seal(tx, ipPacket(i, 30))), ipPacket(i, 30));
    seal(tx, ipPacket(i++, 30));
    assert.equal(open(rx, seal(tx, ipPacket(i++, 30))), MPPE_NEED_RESET);
    const waitingAt = rx.coherencyCount;
    for (let r = 0; r < 2; r++) {
      tx.resetRequest();
      seal(tx, ipPacket(i++, 30)); // flushed, lost
    }
    tx.resetRequest();
    assert.equal(open(rx, seal(tx, ipPacket(i++, 30))), MPPE_DROP);
    assert.equal(rx.awaitingFlush, true);
    assert.equal(rx.coherencyCount, waitingAt);
  });

  test("maxResyncKeyChanges is checked", () => {
    for (const bad of [-1, 1.5, MAX_RESYNC_KEY_CHANGES + 1, Number.NaN]) {
      assert.throws(() => pair(128, { maxResyncKeyChanges: bad }), RangeError, String(bad));
    }
    pair(128, { maxResyncKeyChanges: 0 });
    pair(128, { maxResyncKeyChanges: MAX_RESYNC_KEY_CHANGES });
  });
});

describe("MPPE stateful resync with a validator: the pppd rule stays the first choice", () => {
  test("an ordinary loss resyncs on the first candidate (validate called once for the flushed packet)", () => {
    for (const bits of ALL_BITS) {
      const v = counting();
      const { tx, rx } = pair(bits, { validate: v.fn });
      let i = 0;
      for (; i < 5; i++) assert.deepEqual(open(rx, seal(tx, ipPacket(i, 50))), ipPacket(i, 50));
      seal(tx, ipPacket(i++, 50));
      assert.equal(open(rx, seal(tx, ipPacket(i++, 50))), MPPE_NEED_RESET);
      tx.resetRequest();
      const calls = v.calls;
      assert.deepEqual(open(rx, seal(tx, ipPacket(i, 50)), "in place"), ipPacket(i, 50));
      assert.equal(v.calls - calls, 1);
      assert.equal(v.rejects, 0);
    }
  });

  test("a forged flushed packet while discarding is dropped and leaves the key state as it was", () => {
    const { tx, rx } = pair(128);
    let i = 0;
    for (; i < 5; i++) assert.deepEqual(open(rx, seal(tx, ipPacket(i, 50))), ipPacket(i, 50));
    seal(tx, ipPacket(i++, 50));
    assert.equal(open(rx, seal(tx, ipPacket(i++, 50))), MPPE_NEED_RESET);
    const waitingAt = rx.coherencyCount;
    const forged = new Uint8Array(52);
    const rnd = prng(7);
    for (let k = 0; k < forged.length; k++) forged[k] = Math.floor(rnd() * 256);
    forged[0] = 0x90; // A + D, count 0x0nn
    forged[1] = 0x40;
    assert.equal(open(rx, forged), MPPE_DROP);
    assert.equal(rx.awaitingFlush, true);
    assert.equal(rx.coherencyCount, waitingAt);
    tx.resetRequest();
    assert.deepEqual(open(rx, seal(tx, ipPacket(i, 50))), ipPacket(i, 50), "the pppd rule still applies");
    for (i++; i < 300; i++) assert.deepEqual(open(rx, seal(tx, ipPacket(i, 50))), ipPacket(i, 50), `packet ${i}`);
  });
});

describe("MPPE stateful garbage detection in sync (validate rejects -> NEED_RESET)", () => {
  test("a corrupted packet: NEED_RESET, discard, then the next flushed packet resyncs", () => {
    for (const bits of ALL_BITS) {
      const { tx, rx } = pair(bits);
      let i = 0;
      for (; i < 20; i++) assert.deepEqual(open(rx, seal(tx, ipPacket(i, 50))), ipPacket(i, 50));
      const bad = seal(tx, ipPacket(i++, 50));
      bad[3] ^= 0x01; // the second protocol byte
      assert.equal(open(rx, bad), MPPE_NEED_RESET);
      assert.equal(rx.awaitingFlush, true);
      assert.equal(open(rx, seal(tx, ipPacket(i++, 50))), MPPE_DROP, "no second NEED_RESET");
      tx.resetRequest();
      assert.deepEqual(open(rx, seal(tx, ipPacket(i, 50))), ipPacket(i, 50));
      for (i++; i < 600; i++) assert.deepEqual(open(rx, seal(tx, ipPacket(i, 50))), ipPacket(i, 50), `${bits} ${i}`);
    }
  });

  test("keys out of step without a count gap (flushed packet's A bit lost): detected, then recovered", () => {
    const v = counting();
    const { tx, rx } = pair(128, { validate: v.fn });
    const old = new MppeReceiver({ masterKey: START, bits: 128, stateless: false });
    let i = 0;
    for (; i < 20; i++) {
      const pkt = seal(tx, ipPacket(i, 50));
      assert.deepEqual(open(rx, pkt), ipPacket(i, 50));
      open(old, pkt);
    }
    tx.resetRequest(); // a stray Reset-Request (say, a repeat) reaches the sender
    const f = seal(tx, ipPacket(i++, 50));
    assert.ok(isFlushed(f));
    f[0] &= ~0x80;
    assert.equal(open(rx, f), MPPE_NEED_RESET);
    assert.equal(typeof open(old, f), "object", "without validate the garbage is delivered");
    tx.resetRequest();
    const g = seal(tx, ipPacket(i, 50));
    assert.deepEqual(open(rx, g), ipPacket(i, 50));
    for (i++; i < 400; i++) assert.deepEqual(open(rx, seal(tx, ipPacket(i, 50))), ipPacket(i, 50), `packet ${i}`);
  });

  test("a spurious A bit (corrupted header) is undone: the resync needs no extra key change", () => {
    const v = counting();
    const { tx, rx } = pair(40, { validate: v.fn });
    let i = 0;
    for (; i < 20; i++) assert.deepEqual(open(rx, seal(tx, ipPacket(i, 50))), ipPacket(i, 50));
    const p = seal(tx, ipPacket(i++, 50));
    p[0] |= 0x80;
    assert.equal(open(rx, p), MPPE_NEED_RESET);
    tx.resetRequest();
    const rejects = v.rejects;
    assert.deepEqual(open(rx, seal(tx, ipPacket(i, 50))), ipPacket(i, 50));
    assert.equal(v.rejects, rejects, "first candidate");
    for (i++; i < 400; i++) assert.deepEqual(open(rx, seal(tx, ipPacket(i, 50))), ipPacket(i, 50), `packet ${i}`);
  });

  test("a rejected flag packet: its key change is counted again by the resync", () => {
    const { tx, rx } = pair(128);
    let i = 0;
    for (; i < 255; i++) assert.deepEqual(open(rx, seal(tx, ipPacket(i, 30))), ipPacket(i, 30));
    const flag = seal(tx, ipPacket(i++, 30));
    flag[10] ^= 0xff; // payload corrupted (or a protocol the validator does not know): rejected after the rekey
    flag[2] ^= 0xff;
    assert.equal(open(rx, flag), MPPE_NEED_RESET);
    assert.equal(open(rx, seal(tx, ipPacket(i++, 30))), MPPE_DROP);
    tx.resetRequest();
    assert.deepEqual(open(rx, seal(tx, ipPacket(i, 30))), ipPacket(i, 30));
    for (i++; i < 700; i++) assert.deepEqual(open(rx, seal(tx, ipPacket(i, 30))), ipPacket(i, 30), `packet ${i}`);
  });
});

describe("MPPE stateless with a validator", () => {
  test("a rejected packet is DROP; the stream continues by count", () => {
    const tx = new MppeSender({ masterKey: START, bits: 128, stateless: true });
    const rx = new MppeReceiver({ masterKey: START, bits: 128, stateless: true, validate: marker });
    for (let i = 0; i < 50; i++) {
      const pkt = seal(tx, ipPacket(i, 40));
      if (i % 10 === 5) {
        pkt[2] ^= 0x55;
        assert.equal(open(rx, pkt), MPPE_DROP, `corrupted ${i}`);
      } else {
        assert.deepEqual(open(rx, pkt, i % 2 ? "in place" : "over header"), ipPacket(i, 40), `packet ${i}`);
      }
    }
  });
});

/**
 * A sender and a receiver joined by a lossy path: 10% of the data packets are lost, Reset-Requests reach the
 * sender a few packets later or (20%) not at all, and a receiver still waiting repeats its Reset-Request every few
 * packets it receives, as the PPP link does on a timer.
 */
function lossySession(
  bits: MppeBits,
  seed: number,
  validate: MppeOptions["validate"],
  packets: number,
): { sent: number; accepted: number; garbage: number; lastAccepted: number } {
  const rnd = prng(seed);
  const tx = new MppeSender({ masterKey: START, bits, stateless: false });
  const rx = new MppeReceiver({ masterKey: START, bits, stateless: false, validate });
  const resetArrivals: number[] = [];
  let lastResetSent = -1e9;
  let accepted = 0;
  let garbage = 0;
  let lastAccepted = -1;
  const buf = new Uint8Array(1600);
  for (let i = 0; i < packets; i++) {
    while (resetArrivals.length > 0 && resetArrivals[0] <= i) {
      resetArrivals.shift();
      tx.resetRequest();
    }
    const plain = ipPacket(i, 20 + Math.floor(rnd() * 1400));
    const len = tx.encrypt(plain, 0, plain.length, buf, 0);
    if (rnd() < 0.1) continue; // lost on the GRE path
    const n = rx.decrypt(buf, 0, len, buf, 2); // in place, as the link might
    if (n >= 0) {
      accepted++;
      lastAccepted = i;
      if (!bytesEqual(buf.subarray(2, 2 + n), plain)) garbage++;
      continue;
    }
    if (n === MPPE_NEED_RESET || (rx.awaitingFlush && i - lastResetSent >= 4)) {
      lastResetSent = i;
      if (rnd() < 0.8) {
        resetArrivals.push(i + 1 + Math.floor(rnd() * 6));
        resetArrivals.sort((a, b) => a - b);
      }
    }
  }
  return { sent: packets, accepted, garbage, lastAccepted };
}

describe("MPPE stateful over a lossy path (10% loss, Reset-Requests delayed and sometimes lost)", () => {
  for (const bits of ALL_BITS) {
    test(`${bits}-bit, 5000 packets: no accepted packet differs from what was sent`, () => {
      for (const seed of [1, 2, 3]) {
        const v = counting();
        const r = lossySession(bits, seed * 1000 + bits, v.fn, 5000);
        assert.equal(r.garbage, 0, `seed ${seed}: garbage delivered`);
        assert.ok(r.accepted > r.sent * 0.5, `seed ${seed}: only ${r.accepted} of ${r.sent} accepted`);
        assert.ok(r.lastAccepted >= r.sent - 50, `seed ${seed}: still in sync at the end (last ${r.lastAccepted})`);
        assert.ok(v.rejects > 0, `seed ${seed}: the extra-key-change path was exercised`);
      }
    });
  }

  test("the same path without a validator delivers garbage (the problem this fixes; old behaviour unchanged)", () => {
    const r = lossySession(128, 1128, undefined, 5000);
    assert.ok(r.garbage > 0);
  });
});
