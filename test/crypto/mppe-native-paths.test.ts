/**
 * The two speed paths of native/mppe.c, each against the TypeScript oracle: SHA-1 on SHA-NI and in portable C
 * (the portable one is tested on a SHA-NI machine too, through the addon's shaImpl hook), and the stateless
 * packets with the next packet's key work run beside the keystream ("key work ahead", its S-box waiting in a
 * per-thread table keyed by the key) or the plain way. Many directions interleaved on one thread (more than the
 * table has slots, so slots are shared and overwritten), coherency-count jumps over lost packets (RFC 3078 §8.1),
 * duplicates, late packets, restores mid-stream, 40/56/128 bits: every byte and result equal to TypeScript.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { MPPE_DROP, MppeReceiver, MppeSender, type MppeBits } from "../../src/crypto/mppe.js";
import type { MppeNativeBinding } from "../../src/crypto/mppe-native.js";
import { MppeSessionKey } from "../../src/crypto/mppe-session-key.js";
import { sha1 } from "../../src/crypto/sha1.js";
import { findAddonPath, loadNativeFrom } from "../../src/io/native.js";
import { toHex } from "../../src/wire/bytes.js";
import { seededInts } from "../support/random.js";

const native: MppeNativeBinding = (() => {
  const m = loadNativeFrom(findAddonPath()).mppe;
  assert.ok(m !== undefined, "the addon has no mppe object: rebuild it (node-gyp rebuild)");
  return m;
})();

const DEFAULT_SHA = native.shaImpl("default");
const HAS_SHANI = DEFAULT_SHA === "sha-ni";
after(() => {
  native.shaImpl("default");
  native.keyAhead(true);
});

function bytes(r: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r() & 0xff;
  return b;
}

const SHA_PATHS = ["portable", "sha-ni"] as const;
const ALL_BITS: MppeBits[] = [40, 56, 128];

describe("SHA-1 paths", () => {
  test("the hooks answer what they were asked; an unknown name throws", () => {
    assert.equal(native.shaImpl("portable"), "portable");
    assert.equal(native.shaImpl(), "portable");
    assert.equal(native.shaImpl("default"), DEFAULT_SHA);
    assert.throws(() => native.shaImpl("fast" as "default"), RangeError);
    assert.equal(native.keyAhead(false), false);
    assert.equal(native.keyAhead(), false);
    assert.equal(native.keyAhead(true), true);
  });

  for (const path of SHA_PATHS) {
    test(`${path}: FIPS 180-1 known answers, random inputs of 0..300 bytes, key changes equal TypeScript`, { skip: path === "sha-ni" && !HAS_SHANI ? "this CPU has no SHA extensions" : false }, () => {
      assert.equal(native.shaImpl(path), path);
      const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
      assert.equal(toHex(native.sha1(enc(""))), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
      assert.equal(toHex(native.sha1(enc("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
      assert.equal(toHex(native.sha1(enc("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
      assert.equal(toHex(native.sha1(new Uint8Array(1_000_000).fill(0x61))), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
      const r = seededInts(7);
      for (let k = 0; k <= 300; k++) {
        const data = bytes(r, k);
        assert.equal(toHex(native.sha1(data)), toHex(sha1(data)), `sha1 of ${k} bytes`);
      }
      for (const bits of ALL_BITS) {
        const master = bytes(r, 16);
        const ts = new MppeSessionKey(master, bits);
        const st = new Uint8Array(native.stateLength);
        native.init(st, master, bits);
        const kl = bits === 128 ? 16 : 8;
        for (let i = 0; i < 200; i++) {
          ts.changeKey(false);
          native.changeKey(st, 1);
          assert.equal(toHex(st.subarray(16, 16 + kl)), toHex(ts.session), `MPPE-${bits}: after change ${i + 1}`);
        }
      }
      native.shaImpl("default");
    });
  }
});

/** One direction pair: a TypeScript sender (the reference), a C sender, and a TypeScript and a C receiver of it. */
interface Dir {
  ref: MppeSender;
  c: MppeSender;
  rxTs: MppeReceiver;
  rxC: MppeReceiver;
  sent: Uint8Array[];
  masterKey: Uint8Array;
}

function makeDir(r: () => number, bits: MppeBits): Dir {
  const masterKey = bytes(r, 16);
  const o = { masterKey, bits, stateless: true };
  return {
    ref: new MppeSender({ ...o, native: null }),
    c: new MppeSender({ ...o, native }),
    rxTs: new MppeReceiver({ ...o, native: null }),
    rxC: new MppeReceiver({ ...o, native }),
    sent: [],
    masterKey,
  };
}

/**
 * `packets` packets over `dirs.length` directions picked at random (bursts of 1..8 on one), lengths 1..1500
 * (the short ones end the keystream before the key work beside it), with lost runs, duplicates, late packets and
 * restores of the C sender and receiver mid-stream. Returns how many packets the C receivers decrypted.
 */
function run(seed: number, bits: MppeBits, directions: number, packets: number): number {
  const r = seededInts(seed);
  const dirs = Array.from({ length: directions }, () => makeDir(r, bits));
  let decrypted = 0;
  for (let i = 0; i < packets; ) {
    const d = dirs[r() % dirs.length];
    const burst = 1 + (r() % 8);
    for (let b = 0; b < burst && i < packets; b++, i++) {
      const kind = r() % 16;
      if (kind === 0) {
        // The C sender and receiver handed over to fresh ones (a worker hand-off): counts and keys carried on.
        const s = new MppeSender({ masterKey: d.masterKey, bits, stateless: true, native });
        s.restoreState(d.c.saveState());
        d.c = s;
        const rx = new MppeReceiver({ masterKey: d.masterKey, bits, stateless: true, native });
        rx.restoreState(d.rxC.saveState());
        d.rxC = rx;
      }
      let pkt: Uint8Array;
      if (kind === 1 && d.sent.length > 1) {
        pkt = d.sent[d.sent.length - 1 - (r() % Math.min(d.sent.length, 20))]; // duplicate or late
      } else {
        const len = r() % 4 === 0 ? 1 + (r() % 24) : 1 + (r() % 1500);
        const plain = bytes(r, len);
        const want = new Uint8Array(len + 4);
        const got = new Uint8Array(len + 4);
        const proto = r() % 2 === 0;
        const n = proto ? d.ref.encryptProtocol(0x0021, plain, 0, len, want, 0) : d.ref.encrypt(plain, 0, len, want, 0);
        assert.equal(proto ? d.c.encryptProtocol(0x0021, plain, 0, len, got, 0) : d.c.encrypt(plain, 0, len, got, 0), n);
        assert.equal(toHex(got), toHex(want), `packet ${i}: the C sender's datagram (${len} bytes)`);
        pkt = got.subarray(0, n);
        if (kind === 2) {
          // The next 1..40 packets are lost: the receivers catch up over the counts (RFC 3078 §8.1).
          const lost = 1 + (r() % 40);
          const scratch = new Uint8Array(8);
          for (let k = 0; k < lost; k++) {
            d.ref.encrypt(scratch, 0, 2, new Uint8Array(4), 0);
            d.c.encrypt(scratch, 0, 2, new Uint8Array(4), 0);
          }
        }
        d.sent.push(pkt);
      }
      const oa = new Uint8Array(pkt.length + 2).fill(0x33);
      const ob = oa.slice();
      const na = d.rxTs.decrypt(pkt, 0, pkt.length, oa, 0);
      const nb = d.rxC.decrypt(pkt, 0, pkt.length, ob, 0);
      assert.equal(nb, na, `packet ${i} (kind ${kind}): result`);
      if (na !== MPPE_DROP) {
        assert.equal(toHex(ob), toHex(oa), `packet ${i}: plaintext`);
        decrypted++;
      }
      assert.equal(d.rxC.coherencyCount, d.rxTs.coherencyCount, `packet ${i}: count`);
    }
  }
  return decrypted;
}

for (const path of SHA_PATHS) {
  for (const ahead of [true, false]) {
    const skip = path === "sha-ni" && !HAS_SHANI ? "this CPU has no SHA extensions" : false;
    describe(`stateless packets, SHA-1 ${path}, key work ahead ${ahead ? "on" : "off"}`, { skip }, () => {
      for (const bits of ALL_BITS) {
        test(`MPPE-${bits}: one direction, 1,000 packets, and 48 interleaved directions, 2,000 packets: equal to TypeScript`, () => {
          native.shaImpl(path);
          native.keyAhead(ahead);
          try {
            assert.ok(run(bits * 10 + (ahead ? 1 : 0), bits, 1, 1000) > 800);
            assert.ok(run(bits * 10 + (ahead ? 3 : 2), bits, 48, 2000) > 1600);
          } finally {
            native.shaImpl("default");
            native.keyAhead(true);
          }
        });
      }
    });
  }
}

test("switching the key work ahead off and on between packets of one direction changes no byte", () => {
  const r = seededInts(99);
  const d = makeDir(r, 128);
  try {
    for (let i = 0; i < 400; i++) {
      native.keyAhead(r() % 3 !== 0);
      const len = 1 + (r() % 1500);
      const plain = bytes(r, len);
      const want = new Uint8Array(len + 2);
      const got = new Uint8Array(len + 2);
      d.ref.encrypt(plain, 0, len, want, 0);
      d.c.encrypt(plain, 0, len, got, 0);
      assert.equal(toHex(got), toHex(want), `packet ${i}`);
      const back = new Uint8Array(len);
      assert.equal(d.rxC.decrypt(got, 0, got.length, back, 0), len);
      assert.equal(toHex(back), toHex(plain));
    }
  } finally {
    native.keyAhead(true);
  }
});

describe("where the key worked out ahead waits", () => {
  const SIZE = 300;
  const plain = new Uint8Array(SIZE).map((_, i) => (i * 7) & 0xff);
  function state(len: number, d: number): Uint8Array {
    const st = new Uint8Array(len);
    const key = new Uint8Array(16).map((_, i) => (i * 31 + d * 17 + 5) & 0xff);
    native.init(st, key, 128);
    return st;
  }
  const enc = (st: Uint8Array): string => {
    const out = new Uint8Array(SIZE + 4);
    const n = native.encrypt(st, 0x21, plain, 0, SIZE, out, 0);
    return toHex(out.subarray(0, n));
  };

  test("a grown state holds its own slot: many directions interleaved give the bytes of bare states (the shared table) and of no work ahead", () => {
    assert.equal(native.stateAheadLength, native.stateLength + 1 + 16 + 256);
    const DIRS = 96; // three times the shared table's slots
    const own = Array.from({ length: DIRS }, (_, d) => state(native.stateAheadLength, d));
    const bare = Array.from({ length: DIRS }, (_, d) => state(native.stateLength, d));
    const off = Array.from({ length: DIRS }, (_, d) => state(native.stateLength, d));
    for (let p = 0; p < DIRS * 6; p++) {
      const d = (p * 37) % DIRS;
      native.keyAhead(true);
      const a = enc(own[d]);
      const b = enc(bare[d]);
      native.keyAhead(false);
      assert.equal(a, enc(off[d]), `packet ${p}, direction ${d}: own slot`);
      assert.equal(b, a, `packet ${p}, direction ${d}: shared table`);
    }
    native.keyAhead(true);
  });

  test("the own slot is what the next packet uses (a damaged S-box in it shows), and a slot for another key is ignored", () => {
    native.keyAhead(true);
    const st = state(native.stateAheadLength, 1);
    const ref = state(native.stateLength, 1);
    native.keyAhead(false);
    const expected = [enc(ref), enc(ref), enc(ref)];
    native.keyAhead(true);
    assert.equal(enc(st), expected[0]);
    const slot = native.stateLength;
    // The slot: a length byte, the key it was scheduled for, then the S-box. Damage the S-box: packet 2 must change.
    const damaged = st.slice();
    damaged[slot + 17] ^= 0xff;
    damaged[slot + 18] ^= 0xff;
    assert.notEqual(enc(damaged), expected[1], "the own slot's S-box was not used");
    // The key it claims is another one: a miss, the plain path, the right bytes.
    const other = st.slice();
    other[slot + 1] ^= 0x01;
    assert.equal(enc(other), expected[1]);
    assert.equal(enc(st), expected[1]);
    assert.equal(enc(st), expected[2]);
  });

  test("an addon built before the own slot (no stateAheadLength) keeps the bare state and the same bytes", () => {
    const { stateAheadLength: _, ...rest } = native;
    const old = Object.assign(Object.create(Object.getPrototypeOf(native) as object) as object, rest) as MppeNativeBinding;
    const o = { masterKey: new Uint8Array(16).fill(5), bits: 128 as MppeBits, stateless: true };
    const a = new MppeSender({ ...o, native: old });
    const b = new MppeSender({ ...o, native: null });
    for (let i = 0; i < 3; i++) {
      const x = new Uint8Array(SIZE + 4);
      const y = new Uint8Array(SIZE + 4);
      assert.equal(toHex(x.subarray(0, a.encryptProtocol(0x21, plain, 0, SIZE, x, 0))), toHex(y.subarray(0, b.encryptProtocol(0x21, plain, 0, SIZE, y, 0))));
    }
    assert.equal((a as unknown as { nstate: Uint8Array }).nstate.length, native.stateLength);
  });

  test("MppeSender and MppeReceiver keep the bare state until their first packet, then the grown one", () => {
    const o = { masterKey: new Uint8Array(16).fill(3), bits: 128 as MppeBits, stateless: true, native };
    const tx = new MppeSender(o);
    const rx = new MppeReceiver(o);
    // Private field, read here only: what an idle session holds.
    const len = (x: object): number => (x as unknown as { nstate: Uint8Array }).nstate.length;
    assert.equal(len(tx), native.stateLength);
    assert.equal(len(rx), native.stateLength);
    const out = new Uint8Array(SIZE + 4);
    const n = tx.encryptProtocol(0x21, plain, 0, SIZE, out, 0);
    const back = new Uint8Array(SIZE + 2);
    assert.equal(rx.decrypt(out, 0, n, back, 0), SIZE + 2);
    assert.equal(toHex(back.subarray(2)), toHex(plain));
    assert.equal(len(tx), native.stateAheadLength);
    assert.equal(len(rx), native.stateAheadLength);
  });
});
