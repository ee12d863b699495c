/**
 * The TUN offload code (native/tun_offload.c) on plain buffers, through the addon's test hooks: coalescing written
 * TCP segments into a GSO super-packet, cutting a TSO super-packet into segments, completing partial checksums,
 * and surviving malformed vnet headers. Every checksum is checked against the independent computation below.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { loadNative } from "../../src/io/native.js";

const VNET = 10;
const F_NEEDS_CSUM = 1;
const GSO_NONE = 0;
const GSO_TCPV4 = 1;
const GSO_UDP = 3;
const ACK = 0x10;
const PSH = 0x08;
const SYN = 0x02;
const FIN = 0x01;

/** RFC 1071, the plain way: 16-bit big-endian words, carries folded, complemented. */
function inetSum(parts: readonly Uint8Array[]): number {
  let sum = 0;
  for (const b of parts) {
    for (let i = 0; i < b.length; i += 2) sum += (b[i] << 8) | (i + 1 < b.length ? b[i + 1] : 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}
const checksum = (parts: readonly Uint8Array[]): number => ~inetSum(parts) & 0xffff;

function pseudo(ip: Uint8Array, proto: number, len: number): Uint8Array {
  return Uint8Array.of(...ip.subarray(12, 20), 0, proto, len >> 8, len & 0xff);
}

const ihlOf = (p: Uint8Array): number => (p[0] & 15) * 4;
const thlOf = (p: Uint8Array): number => (p[ihlOf(p) + 12] >> 4) * 4;
const u16 = (p: Uint8Array, at: number): number => (p[at] << 8) | p[at + 1];
const u32 = (p: Uint8Array, at: number): number => ((p[at] << 24) | (p[at + 1] << 16) | (p[at + 2] << 8) | p[at + 3]) >>> 0;

function ipChecksumOk(p: Uint8Array): boolean {
  return inetSum([p.subarray(0, ihlOf(p))]) === 0xffff;
}
function tcpChecksumOk(p: Uint8Array): boolean {
  const ihl = ihlOf(p);
  return inetSum([pseudo(p, 6, p.length - ihl), p.subarray(ihl)]) === 0xffff;
}

interface Seg {
  seq: number;
  ack?: number;
  flags?: number;
  payload: Uint8Array;
  id?: number;
  sport?: number;
  options?: Uint8Array;
}

/** A TCP/IPv4 packet 10.0.0.1 → 10.0.0.2 with correct checksums (computed with the functions above). */
function tcp(s: Seg): Uint8Array {
  const opts = s.options ?? new Uint8Array(0);
  const thl = 20 + opts.length;
  const p = new Uint8Array(20 + thl + s.payload.length);
  p.set([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
  p[2] = p.length >> 8;
  p[3] = p.length & 0xff;
  const id = s.id ?? 0x1234;
  p[4] = id >> 8;
  p[5] = id & 0xff;
  const t = p.subarray(20);
  const sport = s.sport ?? 40000;
  t.set([sport >> 8, sport & 0xff, 0x13, 0x89]);
  new DataView(t.buffer, t.byteOffset).setUint32(4, s.seq >>> 0);
  new DataView(t.buffer, t.byteOffset).setUint32(8, s.ack ?? 777);
  t[12] = (thl / 4) << 4;
  t[13] = s.flags ?? ACK;
  t[14] = 0x01;
  t[15] = 0xf5;
  t.set(opts, 20);
  t.set(s.payload, thl);
  const ic = checksum([p.subarray(0, 20)]);
  p[10] = ic >> 8;
  p[11] = ic & 0xff;
  const tc = checksum([pseudo(p, 6, t.length), t]);
  t[16] = tc >> 8;
  t[17] = tc & 0xff;
  return p;
}

function payload(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

/** Packets laid out in one buffer (odd offsets for some, to exercise unaligned loads), as writeBatch gets them. */
function batch(pkts: readonly Uint8Array[]): [Uint8Array, Uint32Array, Uint32Array, number] {
  const offsets = new Uint32Array(pkts.length);
  const lengths = new Uint32Array(pkts.length);
  let at = 3;
  for (let i = 0; i < pkts.length; i++) {
    offsets[i] = at;
    lengths[i] = pkts[i].length;
    at += pkts[i].length + (i % 3);
  }
  const buf = new Uint8Array(at);
  pkts.forEach((p, i) => buf.set(p, offsets[i]));
  return [buf, offsets, lengths, pkts.length];
}

interface Vnet {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}
function readVnet(b: Uint8Array): Vnet {
  const v = new DataView(b.buffer, b.byteOffset); // virtio-net legacy: host (little-endian here) order
  return { flags: b[0], gsoType: b[1], hdrLen: v.getUint16(2, true), gsoSize: v.getUint16(4, true), csumStart: v.getUint16(6, true), csumOffset: v.getUint16(8, true) };
}
function vnet(h: Partial<Vnet>): Uint8Array {
  const b = new Uint8Array(VNET);
  const v = new DataView(b.buffer);
  b[0] = h.flags ?? 0;
  b[1] = h.gsoType ?? GSO_NONE;
  v.setUint16(2, h.hdrLen ?? 0, true);
  v.setUint16(4, h.gsoSize ?? 0, true);
  v.setUint16(6, h.csumStart ?? 0, true);
  v.setUint16(8, h.csumOffset ?? 0, true);
  return b;
}
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

/** A flow's segments: `sizes` payload octets each, consecutive sequence numbers and IP ids. */
function flow(sizes: readonly number[], seq0 = 0xfffff000, extra: Partial<Seg> = {}): Uint8Array[] {
  let seq = seq0;
  return sizes.map((n, i) => {
    const p = tcp({ seq, payload: payload(n, i), id: 100 + i, ...extra });
    seq = (seq + n) >>> 0;
    return p;
  });
}

const off = loadNative().tunOffloadTest;

describe("TUN offloads: coalescing written TCP segments (GRO)", () => {
  test("in-order segments of one flow become one GSO super-packet whose segmentation gives them back byte for byte", () => {
    const ts = Uint8Array.of(1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 7); // NOP NOP timestamps: 12 option octets
    const sizes = [1388, 1388, 1388, 1388, 1388, 600];
    const pkts = flow(sizes, 0xfffff000, { options: ts }); // the sequence number wraps inside the run
    pkts[5] = tcp({ seq: u32(pkts[5], 24), payload: payload(600, 5), id: 105, options: ts, flags: ACK | PSH });
    const out = off.coalesce(...batch(pkts));
    assert.equal(out.length, 1, "one write for the six segments");
    const h = readVnet(out[0]);
    assert.deepEqual(h, { flags: F_NEEDS_CSUM, gsoType: GSO_TCPV4, hdrLen: 52, gsoSize: 1388, csumStart: 20, csumOffset: 16 });
    const sp = out[0].subarray(VNET);
    const total = 52 + sizes.reduce((a, b) => a + b, 0);
    assert.equal(sp.length, total);
    assert.equal(u16(sp, 2), total, "IP total length of the super-packet");
    assert.ok(ipChecksumOk(sp), "the super-packet's IP header checksum");
    // CHECKSUM_PARTIAL: the TCP field holds the (uncomplemented) pseudo-header sum, the kernel adds the rest.
    assert.equal(u16(sp, 36), inetSum([pseudo(sp, 6, total - 20)]));
    assert.equal(sp[33], ACK | PSH, "the last segment's PSH is kept");
    assert.deepEqual(sp.subarray(52), cat(...pkts.map((p) => p.subarray(52))), "payloads in order");

    // What the kernel does with it (segmentation) must give back the original packets, checksums included.
    const segs = off.receive(out[0], 1500);
    assert.ok(segs !== null);
    assert.equal(segs.length, 6);
    segs.forEach((s, i) => {
      assert.ok(ipChecksumOk(s) && tcpChecksumOk(s), `segment ${i}: checksums`);
      assert.deepEqual(s, pkts[i], `segment ${i}: byte for byte`);
    });
  });

  test("what may not be coalesced is written alone or ends the run: a bad checksum, a gap, another flow, SYN, a pure ACK, PSH, a short segment", () => {
    const a = flow([1000, 1000, 1000, 1000]);
    const corrupted = Uint8Array.from(a[2]);
    corrupted[500] ^= 0x40; // MPPE has no integrity check: only the TCP checksum catches this
    const runs = (pkts: Uint8Array[]): number[] => off.coalesce(...batch(pkts)).map((o) => (readVnet(o).gsoType === GSO_TCPV4 ? Math.round((o.length - VNET - 40) / 1000) : 1));
    assert.deepEqual(runs([a[0], a[1], corrupted, a[3]]), [2, 1, 1], "the corrupted segment goes alone (the kernel then drops it)");
    assert.deepEqual(runs([a[0], a[2], a[3]]), [1, 2], "a gap");
    assert.deepEqual(runs([a[0], a[1], tcp({ seq: u32(a[2], 24), payload: payload(1000, 2), sport: 40001 }), a[3]]), [2, 1, 1], "another flow");
    assert.deepEqual(runs([tcp({ seq: u32(a[0], 24), payload: payload(1000, 0), flags: SYN | ACK }), a[1], a[2]]), [1, 2], "SYN");
    assert.deepEqual(runs([a[0], a[1], tcp({ seq: u32(a[2], 24), payload: new Uint8Array(0) }), a[2]]), [2, 1, 1], "a pure ACK");
    assert.deepEqual(runs([a[0], tcp({ seq: u32(a[1], 24), payload: payload(1000, 1), flags: ACK | PSH }), a[2], a[3]]), [2, 2], "PSH ends a run");
    assert.deepEqual(runs([tcp({ seq: u32(a[0], 24), payload: payload(1000, 0), flags: ACK | FIN }), a[1]]), [1, 1], "FIN");
    const short = flow([1000, 400, 1000]);
    assert.deepEqual(runs(short).length, 2, "a shorter segment ends the run");
    const ack2 = tcp({ seq: u32(a[1], 24), payload: payload(1000, 1), ack: 778 });
    assert.deepEqual(runs([a[0], ack2]), [1, 1], "another ack number");
    const udp = Uint8Array.from(a[0]);
    udp[9] = 17;
    assert.deepEqual(runs([udp, a[1], a[2]]), [1, 2], "not TCP");
  });

  test("at most 64 segments and 65535 octets go in one super-packet", () => {
    const many = flow(new Array<number>(70).fill(500));
    const out = off.coalesce(...batch(many.slice(0, 64)));
    assert.equal(out.length, 1);
    const big = flow(new Array<number>(50).fill(1400));
    const sizes = off.coalesce(...batch(big)).map((o) => o.length - VNET);
    assert.ok(sizes.every((n) => n <= 65535), `${sizes}`);
    assert.equal(sizes.reduce((a, b) => a + b - 40, 0), 50 * 1400, "every payload octet written once");
  });
});

describe("TUN offloads: what a read delivers (TSO super-packets, partial checksums)", () => {
  test("a TSO super-packet with a partial checksum is cut into MTU-sized segments, each with its own right checksums", () => {
    // As the kernel hands it: one IP header for 60,000 octets, TCP checksum field = pseudo-header sum.
    const data = payload(60000, 9);
    const sp = tcp({ seq: 0x7ffffff0, payload: data, flags: ACK | PSH | FIN, id: 0xfff0 });
    const pc = inetSum([pseudo(sp, 6, sp.length - 20)]);
    sp[36] = pc >> 8;
    sp[37] = pc & 0xff;
    const segs = off.receive(cat(vnet({ flags: F_NEEDS_CSUM, gsoType: GSO_TCPV4, hdrLen: 40, gsoSize: 1360, csumStart: 20, csumOffset: 16 }), sp), 1460);
    assert.ok(segs !== null);
    assert.equal(segs.length, Math.ceil(60000 / 1360));
    let seq = 0x7ffffff0;
    const got: Uint8Array[] = [];
    segs.forEach((s, i) => {
      const last = i === segs.length - 1;
      assert.ok(ipChecksumOk(s), `segment ${i}: IP checksum`);
      assert.ok(tcpChecksumOk(s), `segment ${i}: TCP checksum`);
      assert.equal(u16(s, 2), s.length);
      assert.equal(s.length, 40 + (last ? 60000 - 1360 * (segs.length - 1) : 1360));
      assert.equal(u16(s, 4), (0xfff0 + i) & 0xffff, "IP ids count up (and wrap)");
      assert.equal(u32(s, 24), seq >>> 0);
      assert.equal(s[33], last ? ACK | PSH | FIN : ACK, "PSH and FIN only on the last");
      seq += s.length - 40;
      got.push(s.subarray(40));
    });
    assert.deepEqual(cat(...got), data);
  });

  test("a plain packet with a partial checksum (TCP or UDP) is completed; one without is passed as it is", () => {
    const p = tcp({ seq: 5, payload: payload(333, 1) }); // odd length: the padded last byte
    const want = Uint8Array.from(p);
    const pc = inetSum([pseudo(p, 6, p.length - 20)]);
    p[36] = pc >> 8;
    p[37] = pc & 0xff;
    assert.deepEqual(off.receive(cat(vnet({ flags: F_NEEDS_CSUM, csumStart: 20, csumOffset: 16 }), p), 1500), [want]);

    const udp = new Uint8Array(20 + 8 + 101);
    udp.set([0x45, 0, 0, udp.length, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0x00, 0x35, 0, 109]);
    udp.set(payload(101, 4), 28);
    const ups = inetSum([pseudo(udp, 17, 109)]);
    udp[26] = ups >> 8;
    udp[27] = ups & 0xff;
    const [done] = off.receive(cat(vnet({ flags: F_NEEDS_CSUM, csumStart: 20, csumOffset: 6 }), udp), 1500)!;
    assert.equal(inetSum([pseudo(done, 17, 109), done.subarray(20)]), 0xffff, "UDP checksum completed");

    assert.deepEqual(off.receive(cat(vnet({}), want), 1500), [want]);
  });

  test("malformed vnet headers and super-packets are dropped, never a crash", () => {
    const sp = tcp({ seq: 1, payload: payload(5000, 2) });
    const drop = (h: Partial<Vnet>, p: Uint8Array = sp, room = 1500): void => assert.equal(off.receive(cat(vnet(h), p), room), null, JSON.stringify(h));
    drop({ gsoType: GSO_TCPV4, gsoSize: 0 });
    drop({ gsoType: GSO_UDP, gsoSize: 1000 });
    drop({ gsoType: 4 /* TCPV6 */, gsoSize: 1000 });
    drop({ gsoType: GSO_TCPV4, gsoSize: 1000 }, sp.subarray(0, 30)); // not even a TCP header
    const notTcp = Uint8Array.from(sp);
    notTcp[9] = 17;
    drop({ gsoType: GSO_TCPV4, gsoSize: 1000 }, notTcp);
    drop({ gsoType: GSO_TCPV4, gsoSize: 4000 }, sp, 1500); // a segment that does not fit the slot
    const lying = Uint8Array.from(sp);
    lying[2] = 0x7f; // IP total length ≠ what was read
    drop({ gsoType: GSO_TCPV4, gsoSize: 1000 }, lying);
    drop({ flags: F_NEEDS_CSUM, csumStart: 20, csumOffset: 0xfff0 });
    drop({ flags: F_NEEDS_CSUM, csumStart: 0xffff, csumOffset: 0 });
    drop({ flags: F_NEEDS_CSUM, csumStart: 21, csumOffset: 16 });
    assert.equal(off.receive(new Uint8Array(5), 1500), null, "shorter than the header");

    // Random headers on random and real packets: whatever comes out, nothing throws and every segment fits.
    let x = 12345;
    const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8;
    for (let i = 0; i < 3000; i++) {
      const h = new Uint8Array(VNET).map(() => rnd() & 0xff);
      if (i % 2 === 0) h[1] = [GSO_NONE, GSO_TCPV4, GSO_TCPV4 | 0x80][rnd() % 3];
      const body = i % 3 === 0 ? new Uint8Array(rnd() % 3000).map(() => rnd() & 0xff) : sp.subarray(0, 40 + (rnd() % 5000));
      if (i % 3 !== 0) {
        body[2] = body.length >> 8; // a consistent length, so the cutting code is reached
        body[3] = body.length & 0xff;
      }
      const r = off.receive(cat(h, body), 1500);
      if (r !== null) for (const s of r) assert.ok(s.length <= 1500);
    }
  });
});
