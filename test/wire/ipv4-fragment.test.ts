/**
 * IPv4 fragmentation and ICMP "fragmentation needed" (src/wire/ipv4-fragment.ts): every fragment within the MTU,
 * offsets in 8-octet units, MF on all but the last, copied options only, valid header checksums, the payload
 * reassembling to the original; the ICMP message's fields (RFC 792 / RFC 1191) and the cases RFC 1812 forbids.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  Ipv4Fragmenter,
  icmpFragNeeded,
  internetChecksum,
  ipv4DontFragment,
  FRAG_MALFORMED,
  FRAG_MTU_TOO_SMALL,
  ICMP_FRAG_NEEDED_MAX,
} from "../../src/wire/ipv4-fragment.js";

interface PacketOpts {
  len: number;
  df?: boolean;
  mf?: boolean;
  fragOffset?: number;
  options?: number[];
  proto?: number;
  src?: number[];
  dst?: number[];
  payload0?: number;
}

/** A well-formed IPv4 datagram with a valid header checksum. */
function packet(o: PacketOpts): Uint8Array {
  const opts = o.options ?? [];
  const hl = 20 + opts.length;
  assert.equal(hl % 4, 0, "test bug: options must be padded");
  const p = new Uint8Array(o.len);
  p[0] = 0x40 | (hl >> 2);
  p[2] = o.len >> 8;
  p[3] = o.len & 0xff;
  p[4] = 0x12;
  p[5] = 0x34;
  const fo = ((o.fragOffset ?? 0) >> 3) | (o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0);
  p[6] = fo >> 8;
  p[7] = fo & 0xff;
  p[8] = 63;
  p[9] = o.proto ?? 17;
  p.set(o.src ?? [10, 0, 0, 9], 12);
  p.set(o.dst ?? [192, 168, 50, 10], 16);
  p.set(opts, 20);
  for (let i = hl; i < o.len; i++) p[i] = (i * 31 + 7) & 0xff;
  if (o.payload0 !== undefined) p[hl] = o.payload0;
  const c = internetChecksum(p, 0, hl);
  p[10] = c >> 8;
  p[11] = c & 0xff;
  return p;
}

function fragmentAll(p: Uint8Array, mtu: number, at = 0): Uint8Array[] {
  const f = new Ipv4Fragmenter();
  const src = new Uint8Array(at + p.length + 5);
  src.set(p, at);
  assert.equal(f.start(src, at, p.length, mtu), 0);
  const out: Uint8Array[] = [];
  const buf = new Uint8Array(mtu + 16);
  for (let n = f.next(buf, 3); n > 0; n = f.next(buf, 3)) out.push(buf.slice(3, 3 + n));
  return out;
}

const hlOf = (p: Uint8Array) => (p[0] & 0x0f) * 4;
const offOf = (p: Uint8Array) => (((p[6] << 8) | p[7]) & 0x1fff) * 8;
const mfOf = (p: Uint8Array) => (p[6] & 0x20) !== 0;
const u16 = (p: Uint8Array, i: number) => (p[i] << 8) | p[i + 1];

describe("Ipv4Fragmenter", () => {
  test("1300 octets for an MTU of 1196: two fragments, within the MTU, 8-octet offsets, MF, checksums, payload intact", () => {
    const p = packet({ len: 1300 });
    const frags = fragmentAll(p, 1196);
    assert.equal(frags.length, 2);
    assert.deepEqual(
      frags.map((f) => f.length),
      [20 + 1176, 20 + 104],
    );
    for (const f of frags) {
      assert.ok(f.length <= 1196);
      assert.equal(u16(f, 2), f.length, "Total Length");
      assert.equal(internetChecksum(f, 0, hlOf(f)), 0, "header checksum verifies");
      assert.equal(u16(f, 4), 0x1234, "Identification kept");
      assert.equal(f[9], 17);
      assert.deepEqual([...f.subarray(12, 20)], [...p.subarray(12, 20)]);
    }
    assert.deepEqual([offOf(frags[0]), mfOf(frags[0])], [0, true]);
    assert.deepEqual([offOf(frags[1]), mfOf(frags[1])], [1176, false]);
    assert.equal((frags[0].length - 20) % 8, 0);
    const data = new Uint8Array(1280);
    for (const f of frags) data.set(f.subarray(hlOf(f)), offOf(f));
    assert.deepEqual(data, p.subarray(20));
  });

  test("large datagram, small MTU: many fragments, reassembly equals the original", () => {
    const p = packet({ len: 4000 });
    const frags = fragmentAll(p, 576);
    assert.equal(frags.length, Math.ceil(3980 / 552));
    const data = new Uint8Array(3980);
    let covered = 0;
    frags.forEach((f, i) => {
      assert.ok(f.length <= 576);
      assert.equal(mfOf(f), i < frags.length - 1);
      data.set(f.subarray(20), offOf(f));
      covered += f.length - 20;
    });
    assert.equal(covered, 3980);
    assert.deepEqual(data, p.subarray(20));
  });

  test("options: all in the first fragment; later ones carry only the copied ones, padded", () => {
    // Record Route (7, not copied, 11 octets), NOP, Security-like copied option 0x82 len 4, padding to 36.
    const rr = [7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0];
    const copied = [0x82, 4, 0xaa, 0xbb];
    const opts = [...rr, 1, ...copied];
    while (opts.length % 4) opts.push(0);
    const p = packet({ len: 1000, options: opts });
    const frags = fragmentAll(p, 400);
    assert.equal(hlOf(frags[0]), 20 + opts.length);
    assert.deepEqual([...frags[0].subarray(20, hlOf(frags[0]))], opts);
    for (const f of frags.slice(1)) {
      assert.equal(hlOf(f), 24);
      assert.deepEqual([...f.subarray(20, 24)], copied);
      assert.equal(internetChecksum(f, 0, 24), 0);
    }
    const payload = 1000 - 20 - opts.length;
    const data = new Uint8Array(payload);
    for (const f of frags) data.set(f.subarray(hlOf(f)), offOf(f));
    assert.deepEqual(data, p.subarray(20 + opts.length));
  });

  test("a fragment is fragmented again: offsets continue from its own, and MF stays on when it had MF", () => {
    const mid = packet({ len: 1300, fragOffset: 2960, mf: true });
    const frags = fragmentAll(mid, 700);
    assert.equal(offOf(frags[0]), 2960);
    assert.ok(frags.every((f) => mfOf(f)), "every piece of a middle fragment has MF");
    const last = packet({ len: 1300, fragOffset: 2960, mf: false });
    const lf = fragmentAll(last, 700);
    assert.equal(mfOf(lf.at(-1)!), false);
    assert.equal(offOf(lf[1]), 2960 + 680);
  });

  test("a datagram that fits comes out as one identical fragment", () => {
    const p = packet({ len: 600 });
    const frags = fragmentAll(p, 1196);
    assert.equal(frags.length, 1);
    assert.deepEqual(frags[0], p);
  });

  test("malformed input and too small an MTU are refused, and next() then yields nothing", () => {
    const f = new Ipv4Fragmenter();
    const buf = new Uint8Array(2000);
    const good = packet({ len: 1300 });
    const bad = (mutate: (p: Uint8Array) => void, len = good.length) => {
      const p = good.slice();
      mutate(p);
      return f.start(p, 0, len, 576);
    };
    assert.equal(bad(() => undefined, 10), FRAG_MALFORMED, "shorter than a header");
    assert.equal(bad((p) => (p[0] = 0x65)), FRAG_MALFORMED, "IPv6 version");
    assert.equal(bad((p) => (p[0] = 0x44)), FRAG_MALFORMED, "IHL 4");
    assert.equal(bad((p) => (p[3] ^= 1)), FRAG_MALFORMED, "Total Length disagrees");
    // A late fragment whose data would end past offset 65535: splitting it would spill into the flag bits.
    assert.equal(bad((p) => ((p[6] = 0x1f), (p[7] = 0xff))), FRAG_MALFORMED, "offset 65528 + 1280 octets of data");
    assert.equal(f.next(buf, 0), 0);
    const withOpt = packet({ len: 1000, options: [0x83, 9, 0, 0] }); // option overruns the header
    assert.equal(f.start(withOpt, 0, withOpt.length, 576), FRAG_MALFORMED);
    const zeroLen = packet({ len: 1000, options: [0x83, 0, 0, 0] });
    assert.equal(f.start(zeroLen, 0, zeroLen.length, 576), FRAG_MALFORMED);
    assert.equal(f.start(good, 0, good.length, 27), FRAG_MTU_TOO_SMALL);
    assert.equal(f.next(buf, 0), 0);
  });

  test("random datagrams and MTUs: never over the MTU, always reassembling exactly", () => {
    let x = 12345;
    const rnd = (n: number) => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x % n;
    };
    for (let k = 0; k < 300; k++) {
      const len = 21 + rnd(3000);
      const mtu = 68 + rnd(1500);
      const p = packet({ len });
      const frags = fragmentAll(p, mtu);
      const data = new Uint8Array(len - 20);
      let covered = 0;
      for (const f of frags) {
        assert.ok(f.length <= mtu, `len ${len} mtu ${mtu}`);
        data.set(f.subarray(20), offOf(f));
        covered += f.length - 20;
      }
      assert.equal(covered, len - 20);
      assert.deepEqual(data, p.subarray(20));
    }
  });
});

describe("icmpFragNeeded", () => {
  test("type 3 code 4, next-hop MTU, addresses swapped, original header and data quoted, checksums valid", () => {
    const p = packet({ len: 1300, df: true, src: [10, 0, 0, 9], dst: [192, 168, 50, 10] });
    assert.equal(ipv4DontFragment(p, 0), true);
    const out = new Uint8Array(ICMP_FRAG_NEEDED_MAX + 8);
    const n = icmpFragNeeded(p, 0, p.length, 1196, out, 4);
    const m = out.subarray(4, 4 + n);
    assert.equal(n, 576, "as much as fits in 576 octets (RFC 1812 §4.3.2.3)");
    assert.equal(m[0], 0x45);
    assert.equal(u16(m, 2), n);
    assert.equal(m[9], 1, "ICMP");
    assert.equal(internetChecksum(m, 0, 20), 0);
    assert.deepEqual([...m.subarray(12, 16)], [192, 168, 50, 10], "from the datagram's destination");
    assert.deepEqual([...m.subarray(16, 20)], [10, 0, 0, 9], "to its source");
    assert.deepEqual([m[20], m[21]], [3, 4]);
    assert.equal(u16(m, 26), 1196, "next-hop MTU (RFC 1191 §4)");
    assert.equal(internetChecksum(m, 20, n - 20), 0, "ICMP checksum verifies");
    assert.deepEqual(m.subarray(28), p.subarray(0, n - 28));
  });

  test("a short datagram is quoted whole", () => {
    const p = packet({ len: 100, df: true });
    const out = new Uint8Array(600);
    assert.equal(icmpFragNeeded(p, 0, 100, 572, out, 0), 128);
  });

  test("no ICMP error about an ICMP error, a later fragment, multicast or odd sources, or garbage (RFC 1812 §4.3.2.7)", () => {
    const out = new Uint8Array(600);
    const none = (o: Partial<PacketOpts>) => icmpFragNeeded(packet({ len: 1300, df: true, ...o }), 0, 1300, 1196, out, 0);
    assert.equal(none({ proto: 1, payload0: 3 }), 0, "Destination Unreachable");
    assert.equal(none({ proto: 1, payload0: 11 }), 0, "Time Exceeded");
    assert.ok(none({ proto: 1, payload0: 8 }) > 0, "an Echo Request may be answered");
    assert.equal(none({ fragOffset: 1480 }), 0, "not the first fragment");
    assert.equal(none({ src: [0, 0, 0, 0] }), 0);
    assert.equal(none({ src: [127, 0, 0, 1] }), 0);
    assert.equal(none({ src: [224, 0, 0, 5] }), 0);
    assert.equal(none({ src: [255, 255, 255, 255] }), 0);
    assert.equal(none({ dst: [239, 1, 2, 3] }), 0);
    assert.equal(none({ dst: [255, 255, 255, 255] }), 0);
    assert.equal(icmpFragNeeded(new Uint8Array(10), 0, 10, 1196, out, 0), 0);
    const v6 = packet({ len: 1300, df: true });
    v6[0] = 0x60;
    assert.equal(icmpFragNeeded(v6, 0, 1300, 1196, out, 0), 0);
  });
});
