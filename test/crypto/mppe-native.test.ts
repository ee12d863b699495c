/**
 * MPPE in C (native/mppe.c through src/crypto/mppe-native.ts) against the TypeScript implementation, the oracle:
 * RC4 and SHA-1 alone, the RFC 3078 §7.3 key change, then whole senders and receivers over random keys and
 * packets for 40/56/128 bits — every byte of every datagram identical, the receivers' results identical on
 * coherency-count jumps (RFC 3078 §8.1), duplicates, late packets, packets without the flushed or encrypted bit
 * (§3.1), short and random packets; runs of mixed lengths; saveState/restoreState across the two
 * (a worker hand-back may meet either); stateful mode staying on the TypeScript path. No root: the addon's
 * pure functions on plain buffers.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MPPE_DROP, MppeReceiver, MppeSender, type MppeBits, type MppeOptions } from "../../src/crypto/mppe.js";
import type { MppeNativeBinding } from "../../src/crypto/mppe-native.js";
import { MppeSessionKey } from "../../src/crypto/mppe-session-key.js";
import { Rc4 } from "../../src/crypto/rc4.js";
import { sha1 } from "../../src/crypto/sha1.js";
import { findAddonPath, loadNativeFrom } from "../../src/io/native.js";
import { fromHex, toHex } from "../../src/wire/bytes.js";
import { seededInts } from "../support/random.js";

const native: MppeNativeBinding = (() => {
  const m = loadNativeFrom(findAddonPath()).mppe;
  assert.ok(m !== undefined, "the addon has no mppe object: rebuild it (node-gyp rebuild)");
  return m;
})();

const ALL_BITS: MppeBits[] = [40, 56, 128];
/** RFC 3079 §3.5.3 SendStartKey128. */
const START = fromHex("8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB");

function bytes(r: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r() & 0xff;
  return b;
}

function both(opts: MppeOptions): { ts: MppeOptions; c: MppeOptions } {
  return { ts: { ...opts, native: null }, c: { ...opts, native } };
}

describe("MPPE native primitives", () => {
  test("SHA-1 and RC4 equal the TypeScript ones (FIPS 180-1 'abc', random inputs of 0..300 bytes)", () => {
    assert.equal(toHex(native.sha1(new TextEncoder().encode("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
    const r = seededInts(1);
    for (let k = 0; k < 300; k++) {
      const data = bytes(r, k);
      assert.equal(toHex(native.sha1(data)), toHex(sha1(data)), `sha1 of ${k} bytes`);
      const key = bytes(r, 1 + (r() % 32));
      const ts = new Rc4();
      ts.setKey(key);
      const want = new Uint8Array(k);
      ts.process(data, 0, want, 0, k);
      assert.equal(toHex(native.rc4(key, data)), toHex(want), `rc4 of ${k} bytes, ${key.length}-byte key`);
    }
  });

  for (const bits of ALL_BITS) {
    test(`MPPE-${bits}: initial key and 500 key changes equal MppeSessionKey (RFC 3079 §3.3, RFC 3078 §7.3)`, () => {
      const r = seededInts(bits);
      const master = bytes(r, 16);
      const ts = new MppeSessionKey(master, bits);
      const st = new Uint8Array(native.stateLength);
      native.init(st, master, bits);
      const kl = bits === 128 ? 16 : 8;
      assert.equal(toHex(st.subarray(16, 16 + kl)), toHex(ts.session), "initial session key");
      for (let i = 0; i < 500; i++) {
        ts.changeKey(false);
        native.changeKey(st, 1);
        assert.equal(toHex(st.subarray(16, 16 + kl)), toHex(ts.session), `after change ${i + 1}`);
      }
    });
  }

  test("malformed states and spans throw, malformed packets are drops; the process survives", () => {
    const st = new Uint8Array(native.stateLength);
    const buf = new Uint8Array(64);
    assert.throws(() => native.decrypt(st, buf, 0, 10, buf, 0), RangeError, "an all-zero state is not a state");
    native.init(st, START, 128);
    assert.throws(() => native.decrypt(st.subarray(0, 20), buf, 0, 10, buf, 0), RangeError);
    st[32] = 8; // 128-bit strength with an 8-byte key: corrupted
    assert.throws(() => native.changeKey(st, 1), RangeError);
    native.init(st, START, 128);
    assert.throws(() => native.init(st, START.subarray(0, 8), 128), RangeError);
    assert.throws(() => native.init(st, START, 64 as MppeBits), RangeError);
    assert.throws(() => native.encrypt(st, 0x21, buf, 0, 62, buf, 0), RangeError, "62 + 4 bytes into 64");
    assert.throws(() => native.decrypt(st, buf, 0, 40, buf, 30), RangeError, "38 plaintext bytes at 30 of 64");
    assert.throws(() => native.encrypt(st, 0x21, "x" as unknown as Uint8Array, 0, 1, buf, 0), TypeError);
    const before = toHex(st);
    for (const [off, len] of [[0, 0], [0, 1], [0, 2], [63, 2], [60, 10], [-1, 5]]) {
      assert.equal(native.decrypt(st, buf, off, len, buf, 0), MPPE_DROP, `span ${off}+${len}`);
    }
    buf[0] = 0x80; // A without D: not encrypted
    assert.equal(native.decrypt(st, buf, 0, 10, buf, 0), MPPE_DROP);
    buf[0] = 0x10; // D without A: never in stateless mode
    assert.equal(native.decrypt(st, buf, 0, 10, buf, 0), MPPE_DROP);
    buf[0] = 0xb0; // C (MPPC) set
    assert.equal(native.decrypt(st, buf, 0, 10, buf, 0), MPPE_DROP);
    assert.equal(toHex(st), before, "no drop moved the key");
  });
});

for (const bits of ALL_BITS) {
  describe(`MPPE-${bits} stateless, native against TypeScript`, () => {
    test("senders: 2,000 random packets (0..1500 bytes, encrypt and encryptProtocol, in place and not) byte-identical", () => {
      const r = seededInts(100 + bits);
      const { ts, c } = both({ masterKey: bytes(r, 16), bits, stateless: true });
      const a = new MppeSender(ts);
      const b = new MppeSender(c);
      assert.equal(a.isNative, false);
      assert.equal(b.isNative, true);
      for (let i = 0; i < 2000; i++) {
        const len = r() % 1501;
        const plain = bytes(r, len + 1);
        const mode = r() % 3;
        if (mode === 0) {
          const wa = new Uint8Array(len + 8);
          const wb = new Uint8Array(len + 8);
          assert.equal(b.encryptProtocol(0x0021, plain, 1, len, wb, 3), a.encryptProtocol(0x0021, plain, 1, len, wa, 3));
          assert.equal(toHex(wb), toHex(wa), `packet ${i} (encryptProtocol, ${len} bytes)`);
        } else if (mode === 1 && len > 0) {
          // In place: the plaintext at 2, the datagram over it from 0 (the header in front).
          const wa = new Uint8Array(len + 2);
          wa.set(plain.subarray(0, len), 2);
          const wb = wa.slice();
          assert.equal(b.encrypt(wb, 2, len, wb, 0), a.encrypt(wa, 2, len, wa, 0));
          assert.equal(toHex(wb), toHex(wa), `packet ${i} (in place, ${len} bytes)`);
        } else if (len > 0) {
          // Overlapping forwards: the datagram starts 1 byte into the plaintext.
          const wa = new Uint8Array(len + 4);
          wa.set(plain.subarray(0, len), 0);
          const wb = wa.slice();
          assert.equal(b.encrypt(wb, 0, len, wb, 1), a.encrypt(wa, 0, len, wa, 1));
          assert.equal(toHex(wb), toHex(wa), `packet ${i} (overlapping, ${len} bytes)`);
        } else {
          assert.throws(() => b.encrypt(plain, 0, 0, new Uint8Array(4), 0), RangeError, "an empty packet, as TypeScript");
          assert.throws(() => a.encrypt(plain, 0, 0, new Uint8Array(4), 0), RangeError);
        }
        assert.equal(b.coherencyCount, a.coherencyCount);
      }
    });

    test("receivers: the same results and plaintext over jumps, duplicates, late, unflagged, short and random packets", () => {
      const r = seededInts(200 + bits);
      const master = bytes(r, 16);
      const tx = new MppeSender({ masterKey: master, bits, stateless: true, native: null });
      // A validate that rejects some plaintexts, so the "decrypted, then refused" path is compared too.
      const validate = (p: Uint8Array, off: number, n: number): boolean => n < 3 || p[off + 2] !== 0x5a;
      const { ts, c } = both({ masterKey: master, bits, stateless: true, validate });
      const a = new MppeReceiver(ts);
      const b = new MppeReceiver(c);
      assert.equal(b.isNative, true);
      const sent: Uint8Array[] = [];
      let jumps = 0;
      for (let i = 0; i < 3000; i++) {
        let pkt: Uint8Array;
        const kind = r() % 20;
        if (kind === 0 && sent.length > 2) {
          pkt = sent[sent.length - 1 - (r() % Math.min(sent.length, 40))].slice(); // duplicate or late
        } else if (kind === 1) {
          pkt = bytes(r, r() % 8); // short: 0..7 bytes, mostly not a datagram
        } else if (kind === 2) {
          pkt = bytes(r, 1 + (r() % 1500)); // random bytes: any header at all
        } else {
          const len = 1 + (r() % 1500);
          const plain = bytes(r, len);
          pkt = new Uint8Array(len + 2);
          tx.encrypt(plain, 0, len, pkt, 0);
          sent.push(pkt.slice());
          if (kind === 3) {
            // The peer's next 1..300 packets are lost: a coherency-count jump (RFC 3078 §8.1).
            const lost = 1 + (r() % 300);
            for (let k = 0; k < lost; k++) tx.encrypt(plain, 0, 1, new Uint8Array(3), 0);
            jumps++;
          }
          if (kind === 4) pkt[0] &= ~0x80; // flushed bit cleared: never valid stateless
          if (kind === 5) pkt[0] &= ~0x10; // encrypted bit cleared
        }
        const oa = new Uint8Array(pkt.length + 4).fill(0x33);
        const ob = oa.slice();
        const na = a.decrypt(pkt, 0, pkt.length, oa, 2);
        const nb = b.decrypt(pkt, 0, pkt.length, ob, 2);
        assert.equal(nb, na, `packet ${i} (kind ${kind}, ${pkt.length} bytes): result`);
        if (na >= 0) assert.equal(toHex(ob), toHex(oa), `packet ${i}: plaintext`);
        assert.equal(b.coherencyCount, a.coherencyCount, `packet ${i}: count`);
      }
      assert.ok(jumps > 50);
    });

    test("decrypt in place and over the header (dst = src + 2, dst = src) as TypeScript does", () => {
      const r = seededInts(300 + bits);
      const master = bytes(r, 16);
      const tx = new MppeSender({ masterKey: master, bits, stateless: true, native: null });
      const { ts, c } = both({ masterKey: master, bits, stateless: true });
      const a = new MppeReceiver(ts);
      const b = new MppeReceiver(c);
      for (let i = 0; i < 200; i++) {
        const len = 1 + (r() % 1500);
        const pkt = new Uint8Array(len + 2);
        tx.encrypt(bytes(r, len), 0, len, pkt, 0);
        const shift = i % 2 === 0 ? 2 : 0;
        const pa = pkt.slice();
        const pb = pkt.slice();
        assert.equal(b.decrypt(pb, 0, pb.length, pb, shift), a.decrypt(pa, 0, pa.length, pa, shift));
        assert.equal(toHex(pb.subarray(shift, shift + len)), toHex(pa.subarray(shift, shift + len)), `packet ${i}`);
      }
    });

    test("runs of 1-64 packets of mixed lengths (a lost, a duplicated and an unflagged one among them): the same bytes and results", () => {
      const r = seededInts(400 + bits);
      const master = bytes(r, 16);
      const { ts, c } = both({ masterKey: master, bits, stateless: true });
      const a = new MppeSender(ts);
      const b = new MppeSender(c);
      const rxa = new MppeReceiver({ ...ts, validate: (p, off) => p[off] === 0x00 });
      const rxb = new MppeReceiver({ ...c, validate: (p, off) => p[off] === 0x00 });
      for (let round = 0; round < 20; round++) {
        const count = 1 + (r() % 64);
        const src = new Uint8Array(64 * 1600);
        const offsets = new Uint32Array(count);
        const lengths = new Uint32Array(count);
        let at = 0;
        for (let k = 0; k < count; k++) {
          const len = r() % 3 === 0 ? 1400 : r() % 1500;
          offsets[k] = at;
          lengths[k] = len;
          src.set(bytes(r, len), at);
          at += len + (r() % 5);
        }
        const dstOffsets = new Uint32Array(count).map((_, k) => k * 1600 + 1);
        const outA = new Uint32Array(count);
        const outB = new Uint32Array(count);
        const wa = new Uint8Array(64 * 1600);
        const wb = new Uint8Array(64 * 1600);
        for (let k = 0; k < count; k++) {
          outA[k] = a.encryptProtocol(0x0021, src, offsets[k], lengths[k], wa, dstOffsets[k]);
          outB[k] = b.encryptProtocol(0x0021, src, offsets[k], lengths[k], wb, dstOffsets[k]);
        }
        assert.deepEqual(outB, outA);
        assert.equal(toHex(wb), toHex(wa), `round ${round}: ciphertext`);
        for (let k = 0; k < count; k++) assert.equal(outA[k], lengths[k] + 4);
        // Back through the receivers, packet by packet, with a lost packet, a duplicate and a corrupted one mixed in.
        const order = [...Array(count).keys()].filter((k) => k !== 1);
        if (count > 3) order.push(2);
        if (count > 4) wa[dstOffsets[4]] ^= 0x80; // flushed bit of packet 4 cleared
        wb.set(wa);
        const ro = Uint32Array.from(order, (k) => dstOffsets[k]);
        const rl = Uint32Array.from(order, (k) => outA[k]);
        const plainOffs = Uint32Array.from(order, (_, k) => k * 1600);
        const pa = new Uint8Array(64 * 1600);
        const pb = new Uint8Array(64 * 1600);
        const resA = new Int32Array(order.length);
        const resB = new Int32Array(order.length);
        for (let k = 0; k < order.length; k++) {
          resA[k] = rxa.decrypt(wa, ro[k], rl[k], pa, plainOffs[k]);
          resB[k] = rxb.decrypt(wb, ro[k], rl[k], pb, plainOffs[k]);
        }
        assert.deepEqual(resB, resA, `round ${round}: results`);
        assert.equal(toHex(pb), toHex(pa), `round ${round}: plaintext`);
        for (let k = 0; k < order.length; k++) {
          if (resA[k] < 0) continue;
          const i = order[k];
          assert.equal(resA[k], lengths[i] + 2);
          assert.equal(toHex(pa.subarray(plainOffs[k] + 2, plainOffs[k] + 2 + lengths[i])), toHex(src.subarray(offsets[i], offsets[i] + lengths[i])));
        }
        if (count > 4) assert.ok(resA.some((x) => x === MPPE_DROP), "the duplicate and the unflagged packet are drops");
      }
    });

    test("saveState/restoreState carry a direction from TypeScript to C and back (worker hand-off and take-back)", () => {
      const r = seededInts(500 + bits);
      const master = bytes(r, 16);
      const { ts, c } = both({ masterKey: master, bits, stateless: true });
      const ref = new MppeSender(ts);
      let cur: MppeSender = new MppeSender(ts);
      const rx = new MppeReceiver(c);
      for (let i = 0; i < 600; i++) {
        if (i % 100 === 50) {
          const next = new MppeSender(i % 200 === 50 ? c : ts);
          next.restoreState(cur.saveState());
          cur = next;
        }
        if (i % 100 === 70) {
          const next = new MppeReceiver(i % 200 === 70 ? ts : c);
          next.restoreState(rx.saveState());
          assert.equal(next.coherencyCount, rx.coherencyCount);
        }
        const len = 1 + (r() % 200);
        const plain = bytes(r, len);
        const want = new Uint8Array(len + 2);
        const got = new Uint8Array(len + 2);
        ref.encrypt(plain, 0, len, want, 0);
        cur.encrypt(plain, 0, len, got, 0);
        assert.equal(toHex(got), toHex(want), `packet ${i}`);
        const back = new Uint8Array(len);
        assert.equal(rx.decrypt(got, 0, got.length, back, 0), len);
        assert.equal(toHex(back), toHex(plain));
      }
      const s = new MppeSender(c);
      assert.throws(() => s.restoreState({ count: 1, session: new Uint8Array(bits === 128 ? 8 : 16) }), RangeError);
      // Restored over a sender in use: the key it had worked out ahead belongs to its old key and must go.
      const used = new MppeSender(c);
      const other = new MppeSender(ts);
      const scratch = new Uint8Array(8);
      for (let i = 0; i < 5; i++) used.encrypt(scratch, 0, 4, new Uint8Array(6), 0);
      for (let i = 0; i < 9; i++) other.encrypt(scratch, 0, 4, new Uint8Array(6), 0);
      used.restoreState(other.saveState());
      const x = new Uint8Array(6);
      const y = new Uint8Array(6);
      used.encrypt(scratch, 0, 4, x, 0);
      other.encrypt(scratch, 0, 4, y, 0);
      assert.equal(toHex(x), toHex(y), "the packet after a restore over a used sender");
    });
  });

  test(`MPPE-${bits} stateful stays on the TypeScript path, even with the binding offered`, () => {
    const tx = new MppeSender({ masterKey: START, bits, stateless: false, native });
    const rx = new MppeReceiver({ masterKey: START, bits, stateless: false, native });
    assert.equal(tx.isNative, false);
    assert.equal(rx.isNative, false);
    const ref = new MppeSender({ masterKey: START, bits, stateless: false, native: null });
    for (let i = 0; i < 600; i++) {
      if (i === 300) {
        tx.resetRequest();
        ref.resetRequest();
      }
      const plain = Uint8Array.of(0x00, 0x21, i & 0xff, 7);
      const a = new Uint8Array(6);
      const b = new Uint8Array(6);
      tx.encrypt(plain, 0, 4, a, 0);
      ref.encrypt(plain, 0, 4, b, 0);
      assert.equal(toHex(a), toHex(b));
      const out = new Uint8Array(4);
      assert.equal(rx.decrypt(a, 0, 6, out, 0), 4);
      assert.equal(toHex(out), toHex(plain));
    }
  });
}

test("the RFC 3079 / OpenSSL stateless vectors of mppe.test.ts, from C", () => {
  const first: Record<MppeBits, string> = {
    40: "90009edcd36590eb46883f57d74e58851f4a07f21703",
    56: "900068daf158a17e815e078bef1eb6895baaef702fbd",
    128: "900070585428e46a5ebddb6f832e73599bb579e12ac0",
  };
  for (const bits of ALL_BITS) {
    const tx = new MppeSender({ masterKey: START, bits, stateless: true, native });
    const p = new Uint8Array(20);
    p[1] = 0x21;
    for (let j = 2; j < 20; j++) p[j] = j & 0xff;
    const out = new Uint8Array(22);
    tx.encrypt(p, 0, 20, out, 0);
    assert.equal(toHex(out), first[bits], `${bits}-bit`);
  }
});
