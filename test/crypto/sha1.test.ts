import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha1, sha1Compress, sha1Digest, sha1Init, sha1Pad, sha1PaddedLength } from "../../src/crypto/sha1.js";
import { toHex, utf8 } from "../../src/wire/bytes.js";

describe("sha1", () => {
  test("FIPS 180-1 appendix A and B examples", () => {
    assert.equal(toHex(sha1(utf8("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert.equal(
      toHex(sha1(utf8("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
      "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
    );
    assert.equal(toHex(sha1(new Uint8Array(0))), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  });

  test("FIPS 180-1 appendix C: one million 'a'", () => {
    assert.equal(toHex(sha1(new Uint8Array(1_000_000).fill(0x61))), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  });

  test("agrees with node:crypto for every length 0..300 and for split inputs", () => {
    const data = new Uint8Array(300);
    for (let i = 0; i < data.length; i++) data[i] = (i * 151 + 7) & 0xff;
    for (let n = 0; n <= data.length; n++) {
      const msg = data.subarray(0, n);
      const want = createHash("sha1").update(msg).digest("hex");
      assert.equal(toHex(sha1(msg)), want, `length ${n}`);
      const cut = n >>> 1;
      assert.equal(toHex(sha1(msg.subarray(0, cut), msg.subarray(cut))), want, `length ${n} split at ${cut}`);
    }
  });

  test("block-level API: preformatted message hashed with sha1Compress", () => {
    const msgLen = 112; // the MPPE-128 key-change input: 16 + 40 + 16 + 40
    const buf = new Uint8Array(sha1PaddedLength(msgLen));
    assert.equal(buf.length, 128);
    for (let i = 0; i < msgLen; i++) buf[i] = i;
    assert.equal(sha1Pad(buf, msgLen), 128);
    const h = new Int32Array(5);
    const w = new Int32Array(80);
    sha1Init(h);
    sha1Compress(h, w, buf, 0);
    sha1Compress(h, w, buf, 64);
    const out = new Uint8Array(24);
    sha1Digest(h, out, 2);
    assert.equal(toHex(out.subarray(2, 22)), createHash("sha1").update(buf.subarray(0, msgLen)).digest("hex"));
    assert.equal(out[0] | out[1] | out[22] | out[23], 0, "digest written only at its offset");
  });
});
