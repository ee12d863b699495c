/**
 * PacketArena (src/io/packet-arena.ts), the GRE send queue's and TUN write queue's storage: whatever the source's
 * alignment — 32-bit words, or any other offset (a decrypted datagram behind its 2-byte PPP protocol field), from
 * a view with its own byteOffset — the bytes come out as they went in, each packet at an 8-byte aligned offset,
 * nothing written outside the packet's span.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PacketArena } from "../../src/io/packet-arena.js";

test("append copies byte for byte from every source alignment and length, at 8-byte aligned offsets", () => {
  const backing = new Uint8Array(8192);
  for (let i = 0; i < backing.length; i++) backing[i] = (i * 131 + 7) & 0xff;
  for (const viewStart of [0, 1, 2, 3, 4, 6]) {
    const src = backing.subarray(viewStart);
    const arena = new PacketArena(64 * 1024);
    arena.bytes.fill(0xee);
    const spans: Array<[number, number, number]> = [];
    for (let k = 0; k < 40; k++) {
      const off = (k * 7) % 13;
      const len = [0, 1, 2, 3, 5, 20, 1399, 1400, 1401][k % 9];
      if (!arena.fits(len)) break;
      const at = arena.append(src, off, len);
      assert.equal(at % 8, 0, "aligned");
      spans.push([at, off, len]);
    }
    let end = 0;
    for (const [at, off, len] of spans) {
      assert.deepEqual(arena.bytes.subarray(at, at + len), src.subarray(off, off + len), `view at ${viewStart}, ${len} bytes from ${off}`);
      for (let i = end; i < at; i++) assert.equal(arena.bytes[i], 0xee, "nothing between packets");
      end = at + len;
    }
    assert.equal(arena.bytes[end], 0xee, "nothing after the last packet");
  }
});
