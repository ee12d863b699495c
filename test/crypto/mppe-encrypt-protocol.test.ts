/**
 * MppeSender.encryptProtocol (src/crypto/mppe.ts): the protocol field and the datagram enciphered one after the
 * other straight from the source, without the staging copy PppLink.sendIp used to make, must give exactly what
 * encrypt() of the staged bytes gives — every header bit, every key change (stateless: each packet; stateful: the
 * flag packet 0xFF and a Reset-Request) — and a receiver must read it back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MppeReceiver, MppeSender, type MppeBits } from "../../src/crypto/mppe.js";
import { fromHex } from "../../src/wire/bytes.js";

const START = fromHex("8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB");

for (const bits of [40, 128] as MppeBits[]) {
  for (const stateless of [true, false]) {
    test(`MPPE-${bits} ${stateless ? "stateless" : "stateful"}: encryptProtocol equals encrypt of the staged field + datagram, 300 packets`, () => {
      const a = new MppeSender({ masterKey: START, bits, stateless });
      const b = new MppeSender({ masterKey: START, bits, stateless });
      const rx = new MppeReceiver({ masterKey: START, bits, stateless });
      const src = new Uint8Array(1500 + 7);
      for (let i = 0; i < 300; i++) {
        const len = (i * 37) % 1400; // 0 .. 1399 bytes, at an odd offset
        for (let j = 0; j < len; j++) src[7 + j] = (i * 13 + j * 7) & 0xff;
        if (i === 100) {
          a.resetRequest();
          b.resetRequest();
        }
        const staged = new Uint8Array(len + 2);
        staged[0] = 0x00;
        staged[1] = 0x21;
        staged.set(src.subarray(7, 7 + len), 2);
        const want = new Uint8Array(len + 4);
        assert.equal(a.encrypt(staged, 0, len + 2, want, 0), len + 4);
        const got = new Uint8Array(len + 4 + 5).fill(0xaa);
        assert.equal(b.encryptProtocol(0x0021, src, 7, len, got, 3), len + 4);
        assert.deepEqual(got.subarray(3, 3 + len + 4), want, `packet ${i}`);
        assert.equal(got[2], 0xaa);
        assert.equal(got[3 + len + 4], 0xaa, "nothing written past the packet");
        const plain = new Uint8Array(len + 2);
        assert.equal(rx.decrypt(got, 3, len + 4, plain, 0), len + 2);
        assert.deepEqual(plain, staged);
      }
    });
  }
}
