/**
 * src/server/random-pool.ts: octets from one kernel-filled block, each handed out once, as fresh arrays.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomPool } from "../../src/server/random-pool.js";

test("each request gets its own fresh octets of the asked length; no octet of the block is handed out twice", () => {
  const r = randomPool(64);
  const got: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) got.push(r(16)); // 640 octets: ten refills of a 64-octet block
  for (const g of got) assert.equal(g.length, 16);
  // 16 random octets repeat with probability 2^-128: equal ones mean a slice was handed out twice
  const seen = new Set(got.map((g) => Buffer.from(g).toString("hex")));
  assert.equal(seen.size, got.length);
  // a caller may keep and change what it got: the next request is not affected, and the bytes are not all zero
  got[0].fill(0xaa);
  assert.notDeepEqual(r(16), got[0]);
  assert.ok(got.some((g) => g.some((b) => b !== 0)));
  // copies, not views of the block
  assert.ok(got.every((g) => g.byteOffset === 0 && g.buffer.byteLength === 16));
});

test("a request larger than the block is served on its own; odd sizes straddle refills", () => {
  const r = randomPool(32);
  assert.equal(r(100).length, 100);
  const lens = [4, 13, 32, 1, 31, 7];
  for (const n of lens) assert.equal(r(n).length, n);
});
