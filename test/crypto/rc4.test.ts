import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Rc4 } from "../../src/crypto/rc4.js";
import { fromHex, toHex, utf8 } from "../../src/wire/bytes.js";

function encrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  const rc4 = new Rc4();
  rc4.setKey(key);
  const out = new Uint8Array(data.length);
  rc4.process(data, 0, out, 0, data.length);
  return out;
}

describe("rc4", () => {
  test("well-known short vectors", () => {
    assert.equal(toHex(encrypt(utf8("Key"), utf8("Plaintext"))), "bbf316e8d940af0ad3");
    assert.equal(toHex(encrypt(utf8("Wiki"), utf8("pedia"))), "1021bf0420");
    assert.equal(toHex(encrypt(utf8("Secret"), utf8("Attack at dawn"))), "45a01f645fc35b383552544b9bf5");
  });

  test("RFC 6229 keystream at offsets 0, 1520 and 4096 (40-, 64- and 128-bit keys)", () => {
    const cases: Array<[string, string, string, string]> = [
      ["0102030405", "b2396305f03dc027ccc3524a0a1118a8", "3294f744d8f9790507e70f62e5bbceea", "ff25b58995996707e51fbdf08b34d875"],
      ["0102030405060708", "97ab8a1bf0afb96132f2f67258da15a8", "1fe8986713f07c3d9ae1c163ff8cf9d3", "3fb46e2c8f0f068edce8cdcd7dfc5862"],
      [
        "0102030405060708090a0b0c0d0e0f10",
        "9ac7cc9a609d1ef7b2932899cde41b97",
        "b40110c4190b5622a96116b0017ed297",
        "a36a4c301ae8ac13610ccbc12256cacc",
      ],
    ];
    for (const [key, at0, at1520, at4096] of cases) {
      const ks = encrypt(fromHex(key), new Uint8Array(4112));
      assert.equal(toHex(ks.subarray(0, 16)), at0, `key ${key} @0`);
      assert.equal(toHex(ks.subarray(1520, 1536)), at1520, `key ${key} @1520`);
      assert.equal(toHex(ks.subarray(4096, 4112)), at4096, `key ${key} @4096`);
    }
  });

  test("key lengths on and off the power-of-two fast path (reference: OpenSSL RC4, key bytes 01 02 03 ...)", () => {
    const expected: Array<[number, string]> = [
      [1, "06080e0e182029293933495766768783a1b5cae0f766117c4c6885a3c2e2a349"],
      [3, "97368f684295c4b499ad8f08388cc2b0711f62ddd593f95afb20843afe88b39a"],
      [7, "293f02d47f37c9b633f2af5285feb46be620f1390d19bd84e2e0fd752031afc1"],
      [24, "0595e57fe5f0bb3c706edac8a4b2db11dfde31344a1af769c74f070aee9e2326"],
      [32, "eaa6bd25880bf93d3f5d1e4ca2611d91cfa45c9f7e714b54bdfa80027cb14380"],
      [256, "94dad5651939a248f3425184af65b0b11ac334121dac16079ced5e54e4f9320d"],
    ];
    for (const [n, keystream] of expected) {
      const key = new Uint8Array(n).map((_, i) => (i + 1) & 0xff);
      assert.equal(toHex(encrypt(key, new Uint8Array(32))), keystream, `${n}-byte key`);
    }
  });

  test("streaming in uneven chunks equals one call; in place equals out of place", () => {
    const key = fromHex("0102030405060708090a0b0c0d0e0f10");
    const data = new Uint8Array(1000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const whole = encrypt(key, data);

    const rc4 = new Rc4();
    rc4.setKey(key);
    const buf = data.slice();
    let off = 0;
    for (const n of [1, 2, 3, 250, 0, 500, 244]) {
      rc4.process(buf, off, buf, off, n);
      off += n;
    }
    assert.equal(off, data.length);
    assert.deepEqual(buf, whole);
  });

  test("shifting towards the front in the same buffer works", () => {
    const key = utf8("Key");
    const buf = new Uint8Array(12);
    buf.set(utf8("Plaintext"), 3);
    const rc4 = new Rc4();
    rc4.setKey(key);
    rc4.process(buf, 3, buf, 0, 9);
    assert.equal(toHex(buf.subarray(0, 9)), "bbf316e8d940af0ad3");
  });

  test("keyLen uses a prefix of the key buffer; setKey rewinds the stream", () => {
    const long = fromHex("0102030405 ffffffff");
    const rc4 = new Rc4();
    rc4.setKey(long, 5);
    const a = new Uint8Array(16);
    rc4.process(a, 0, a, 0, 16);
    assert.equal(toHex(a), "b2396305f03dc027ccc3524a0a1118a8");
    rc4.setKey(long, 5);
    const b = new Uint8Array(16);
    rc4.process(b, 0, b, 0, 16);
    assert.deepEqual(b, a);
  });

  test("offsets are honoured on both sides", () => {
    const src = new Uint8Array(20).fill(0xaa);
    const dst = new Uint8Array(20);
    const rc4 = new Rc4();
    rc4.setKey(utf8("Key"));
    rc4.process(src, 5, dst, 7, 9);
    const expected = encrypt(utf8("Key"), new Uint8Array(9).fill(0xaa));
    assert.deepEqual(dst.subarray(7, 16), expected);
    assert.equal(dst.subarray(0, 7).some((x) => x !== 0) || dst.subarray(16).some((x) => x !== 0), false);
  });

  test("invalid key lengths throw", () => {
    const rc4 = new Rc4();
    assert.throws(() => rc4.setKey(new Uint8Array(0)), RangeError);
    assert.throws(() => rc4.setKey(new Uint8Array(4), 5), RangeError);
    assert.throws(() => rc4.setKey(new Uint8Array(300)), RangeError);
  });
});
