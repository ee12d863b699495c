import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { md4 } from "../../src/crypto/md4.js";
import { fromHex, toHex, utf8 } from "../../src/wire/bytes.js";

/** Deterministic filler (a small LCG) so the multi-block fixtures below need no external data. */
function filler(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe("md4", () => {
  test("RFC 1320 A.5 test suite", () => {
    const suite: Array<[string, string]> = [
      ["", "31d6cfe0d16ae931b73c59d7e0c089c0"],
      ["a", "bde52cb31de33e46245e05fbdbd6fb24"],
      ["abc", "a448017aaf21d8525fc10ae87aa6729d"],
      ["message digest", "d9130a8164549fe818874806e1c7014b"],
      ["abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"],
      ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"],
      [
        "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
        "e33b4ddc9c38f2199c3e7b164fcc0536",
      ],
    ];
    for (const [msg, digest] of suite) assert.equal(toHex(md4(utf8(msg))), digest, `MD4("${msg}")`);
  });

  test("a short message after a long one: the reused scratch holds nothing of the earlier message", () => {
    md4(filler(1000, 7));
    assert.equal(toHex(md4(utf8("abc"))), "a448017aaf21d8525fc10ae87aa6729d");
    assert.equal(toHex(md4(utf8(""))), "31d6cfe0d16ae931b73c59d7e0c089c0");
  });

  test("padding boundaries and multi-block inputs (reference: OpenSSL MD4)", () => {
    // Lengths around the 56-byte padding threshold and the 64-byte block size, where off-by-one errors live.
    const expected: Array<[number, string]> = [
      [55, "6c22be72852370180eff116dc64c9c67"],
      [56, "dda112647a7953f01b934cb61f19e85c"],
      [63, "db5445dd4ad184f714e7b6149de38c33"],
      [64, "9c168e3d5fce3af77cd00943234d3795"],
      [65, "66d9a30fe6e496414535bc392a84e388"],
      [119, "c77aaf7755a24a6a08298670f9fd9b6a"],
      [120, "68aa5f68676b66282ddb2af7f3c4522a"],
      [1000, "af8fa4d1bab06a5a2ef086167a0ccaab"],
    ];
    for (const [n, digest] of expected) assert.equal(toHex(md4(filler(n, n))), digest, `length ${n}`);
  });

  test("does not modify its input and always returns 16 bytes", () => {
    const input = fromHex("00 01 02 03");
    const copy = input.slice();
    const d = md4(input);
    assert.equal(d.length, 16);
    assert.deepEqual(input, copy);
  });
});
