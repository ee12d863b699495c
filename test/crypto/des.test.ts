import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { desEncrypt, desEncrypt7, desEncrypt7Into, desExpandKey7 } from "../../src/crypto/des.js";
import { fromHex, toHex } from "../../src/wire/bytes.js";

describe("des", () => {
  test("classic published DES vectors", () => {
    // The worked example used in most DES tutorials (FIPS 46 key 133457799BBCDFF1).
    assert.equal(toHex(desEncrypt(fromHex("133457799BBCDFF1"), fromHex("0123456789ABCDEF"))), "85e813540f0ab405");
    // "Now is t" under 0123456789ABCDEF (FIPS 81 appendix B ECB example, first block).
    assert.equal(toHex(desEncrypt(fromHex("0123456789ABCDEF"), fromHex("4E6F772069732074"))), "3fa40e8a984d4815");
    // Weak-key sanity: all-zero plaintext under the all-0x01 key.
    assert.equal(toHex(desEncrypt(fromHex("0101010101010101"), fromHex("0000000000000000"))), "8ca64de9c1b123a7");
  });

  test("random keys and blocks (reference: OpenSSL des-ecb)", () => {
    const cases: Array<[string, string, string]> = [
      ["b1dbd8d01884dfff", "62e209cb23468032", "9e3452e652a5b034"],
      ["f39e58be04587acf", "a4a589b90f1a1b02", "e1243b71b3777cd5"],
      ["3560d9acef2b159f", "e6680aa7faedb6d2", "9169f72713b2c221"],
      ["7623599bdbffb16f", "282a8a95e6c151a2", "fe0775a1e9f28ccd"],
      ["b8e5da89c7d34c3f", "6aed0b83d295ed71", "5090776354faeea3"],
      ["faa85a77b2a7e70f", "abb08b71bd698841", "cd101414b7b66aa9"],
    ];
    for (const [k, p, c] of cases) assert.equal(toHex(desEncrypt(fromHex(k), fromHex(p))), c, `key ${k}`);
  });

  test("parity bits are ignored", () => {
    const key = fromHex("133457799BBCDFF1");
    const flipped = key.map((b) => b ^ 1);
    const block = fromHex("0123456789ABCDEF");
    assert.deepEqual(desEncrypt(flipped, block), desEncrypt(key, block));
  });

  test("RFC 2759 §9.3 / RFC 2433 B.3: 7-byte keys expanded with odd parity", () => {
    assert.equal(toHex(desExpandKey7(fromHex("FC 15 6A F7 ED CD 6C"))), "fd0b5b5e7f6e34d9");
    assert.equal(toHex(desExpandKey7(fromHex("0E DD E3 33 7D 42 7F"))), "0e6e796737ea08fe");
    for (const b of desExpandKey7(fromHex("00 00 00 00 00 00 00"))) assert.equal(b, 0x01);
    for (const b of desExpandKey7(fromHex("FF FF FF FF FF FF FF"))) assert.equal(b, 0xfe);
  });

  test("desEncrypt7 = desEncrypt under the expanded key", () => {
    const k7 = fromHex("FC 15 6A F7 ED CD 6C");
    const block = fromHex("10 2D B5 DF 08 5D 30 41");
    assert.deepEqual(desEncrypt7(k7, block), desEncrypt(fromHex("fd0b5b5e7f6e34d9"), block));
  });

  test("desEncrypt7Into at offsets = desEncrypt7, for many keys (every 7-bit group boundary of the key)", () => {
    let x = 12345;
    const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
    const key = new Uint8Array(3 + 7);
    const block = new Uint8Array(5 + 8);
    const out = new Uint8Array(2 + 8);
    for (let i = 0; i < 200; i++) {
      for (let j = 0; j < key.length; j++) key[j] = next();
      for (let j = 0; j < block.length; j++) block[j] = next();
      desEncrypt7Into(key, 3, block, 5, out, 2);
      assert.deepEqual(out.subarray(2), desEncrypt7(key.subarray(3), block.subarray(5)), `case ${i}`);
    }
    // and the published example (RFC 2759 §9.3's first key)
    desEncrypt7Into(fromHex("FC 15 6A F7 ED CD 6C"), 0, fromHex("0123456789ABCDEF"), 0, out, 0);
    assert.deepEqual(out.subarray(0, 8), desEncrypt(fromHex("fd0b5b5e7f6e34d9"), fromHex("0123456789ABCDEF")));
  });

  test("wrong sizes are programming errors", () => {
    assert.throws(() => desEncrypt(new Uint8Array(7), new Uint8Array(8)), RangeError);
    assert.throws(() => desEncrypt(new Uint8Array(8), new Uint8Array(9)), RangeError);
    assert.throws(() => desExpandKey7(new Uint8Array(8)), RangeError);
  });
});
