import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { parseIpv4 } from "../../src/wire/ipv4.js";
import { MEMORY_HEADROOM, MemoryGreNetwork, MemoryTun } from "../../src/io/memory.js";
import type { GreBatch, GreTransport, PacketBatch, TunTransport } from "../../src/io/transport.js";
import { unwrap } from "../../src/wire/result.js";
import { enhancedGre, packBatch, parseEnhancedGre } from "./packets.js";

const A = unwrap(parseIpv4("192.0.2.1"));
const B = unwrap(parseIpv4("192.0.2.2"));

interface Seen {
  src: number;
  dst: number;
  offset: number;
  bytes: number[];
}

function collect(batch: GreBatch, into: Seen[]): void {
  for (let i = 0; i < batch.count; i++) {
    const o = batch.offsets[i];
    into.push({
      src: batch.sources[i],
      dst: batch.destinations[i],
      offset: o,
      bytes: [...batch.data.subarray(o, o + batch.lengths[i])],
    });
  }
}

describe("MemoryGreNetwork / MemoryGreSocket", () => {
  test("packets reach the socket holding the destination address, with source/destination and copied bytes", () => {
    const net = new MemoryGreNetwork();
    const a: GreTransport = net.attach(A);
    const b: GreTransport = net.attach("192.0.2.2");
    const seen: Seen[] = [];
    b.onBatch((batch) => collect(batch, seen));

    const p = enhancedGre({ callId: 9, seq: 1 }, Uint8Array.of(1, 2, 3));
    assert.equal(a.send(p, 0, p.length, B), true);
    p[0] = 0xee; // the transport copied at send time, like the kernel does
    assert.equal(seen.length, 0, "nothing moves before deliver()");
    assert.equal(net.deliver(), 1);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].src, A);
    assert.equal(seen[0].dst, B);
    assert.equal(seen[0].offset % 4096, MEMORY_HEADROOM, "payload starts after the (simulated) IPv4 header");
    const g = parseEnhancedGre(Uint8Array.from(seen[0].bytes), 0, seen[0].bytes.length);
    assert.deepEqual([g?.callId, g?.seq, seen[0].bytes[0]], [9, 1, 0x30]);
    assert.deepEqual(b.stats().rxPackets, 1);
    assert.deepEqual([a.stats().txPackets, a.stats().txBytes], [1, p.length]);
  });

  test("sendBatch packets are delivered in receiver-sized batches, in order", () => {
    const net = new MemoryGreNetwork();
    const a = net.attach(A);
    const b = net.attach(B, { batchSize: 4 });
    const sizes: number[] = [];
    const seqs: number[] = [];
    b.onBatch((batch) => {
      sizes.push(batch.count);
      for (let i = 0; i < batch.count; i++) seqs.push(parseEnhancedGre(batch.data, batch.offsets[i], batch.lengths[i])?.seq ?? -1);
    });
    const packets = Array.from({ length: 10 }, (_, i) => enhancedGre({ callId: 1, seq: i }, new Uint8Array(i)));
    const packed = packBatch(packets);
    assert.equal(a.sendBatch(packed.buf, packed.offsets, packed.lengths, new Uint32Array(10).fill(B), 10), 10);
    net.deliver();
    assert.deepEqual(sizes, [4, 4, 2]);
    assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(b.stats().rxBatches, 3);
  });

  test("replies sent from a handler wait for the next round; settle() runs a request/response to the end", () => {
    const net = new MemoryGreNetwork();
    const a = net.attach(A);
    const b = net.attach(B);
    // b echoes everything back to its source; a counts echoes.
    b.onBatch((batch) => {
      for (let i = 0; i < batch.count; i++) b.send(batch.data, batch.offsets[i], batch.lengths[i], batch.sources[i]);
    });
    let echoes = 0;
    a.onBatch((batch) => (echoes += batch.count));
    const p = enhancedGre({ callId: 2 }, new Uint8Array(8));
    a.send(p, 0, p.length, B);
    a.send(p, 0, p.length, B);
    assert.equal(net.deliver(), 2);
    assert.equal(echoes, 0);
    assert.equal(net.pending, 2);
    assert.equal(net.settle(), 2);
    assert.equal(echoes, 2);
    assert.equal(net.pending, 0);
  });

  test("unknown destinations, dropIf, oversized packets and closed sockets", () => {
    const net = new MemoryGreNetwork();
    const a = net.attach(A);
    const b = net.attach(B, { slotSize: 64 });
    let got = 0;
    b.onBatch((batch) => (got += batch.count));
    const small = new Uint8Array(10);
    a.send(small, 0, 10, unwrap(parseIpv4("203.0.113.9")));
    net.deliver();
    assert.equal(net.undeliverable, 1);

    net.dropIf = (_src, _dst, bytes) => bytes[0] === 0xdd;
    a.send(Uint8Array.of(0xdd, 0, 0), 0, 3, B);
    a.send(new Uint8Array(64 - MEMORY_HEADROOM + 1), 0, 64 - MEMORY_HEADROOM + 1, B); // does not fit a slot
    a.send(small, 0, 10, B);
    net.deliver();
    assert.equal(got, 1, "only the small packet arrived");
    assert.equal(b.stats().rxDropped, 1);

    assert.throws(() => a.send(small, 5, 6, B), { name: "RangeError", message: /offset 5 \+ length 6 is past the end of a 10-byte buffer/ });
    b.close();
    a.send(small, 0, 10, B);
    net.deliver();
    assert.equal(net.undeliverable, 2, "a closed socket's address is free again");
    assert.throws(() => b.send(small, 0, 1, A), { code: "EBADF" });
    assert.throws(() => net.attach(A), /EADDRINUSE/);
  });
});

describe("MemoryGreSocket with several local addresses (a multi-homed host)", () => {
  const VIP = unwrap(parseIpv4("192.0.2.7"));
  const C = unwrap(parseIpv4("192.0.2.3"));

  test("GRE to any of its addresses arrives, each packet saying which address it was sent to", () => {
    const net = new MemoryGreNetwork();
    const host = net.attach(A, { aliases: ["192.0.2.7"] });
    const peer = net.attach(B);
    const seen: Seen[] = [];
    host.onBatch((batch) => collect(batch, seen));
    const p = enhancedGre({ callId: 3 }, new Uint8Array(4));
    peer.send(p, 0, p.length, VIP);
    peer.send(p, 0, p.length, A);
    assert.equal(net.deliver(), 2);
    assert.deepEqual(seen.map((x) => [x.src, x.dst]), [[B, VIP], [B, A]]);
    assert.deepEqual(host.addresses, [A, VIP]);
  });

  test("a send names its source among them; without one it leaves from the main address; a foreign source fails", () => {
    const net = new MemoryGreNetwork();
    const host = net.attach(A, { aliases: [VIP] });
    const peer = net.attach(B);
    const seen: Seen[] = [];
    peer.onBatch((batch) => collect(batch, seen));
    const p = enhancedGre({ callId: 3 }, new Uint8Array(4));
    assert.equal(host.send(p, 0, p.length, B, VIP), true);
    assert.equal(host.send(p, 0, p.length, B), true);
    assert.equal(host.send(p, 0, p.length, B, 0), true);
    assert.equal(host.send(p, 0, p.length, B, C), false, "192.0.2.3 is not an address of this host");
    const packed = packBatch([p, p, p]);
    assert.equal(host.sendBatch(packed.buf, packed.offsets, packed.lengths, new Uint32Array(3).fill(B), 3, Uint32Array.of(VIP, C, 0)), 2);
    net.deliver();
    assert.deepEqual(seen.map((x) => x.src), [VIP, A, A, VIP, A]);
    const st = host.stats();
    assert.deepEqual([st.txPackets, st.txErrors, st.lastTxError], [5, 2, "ENETUNREACH"]);
    assert.throws(() => host.sendBatch(packed.buf, packed.offsets, packed.lengths, new Uint32Array(3).fill(B), 3, Uint32Array.of(VIP)), {
      name: "RangeError",
      message: /srcAddresses \(1\)/,
    });
  });

  test("every address is taken while attached and freed by close()", () => {
    const net = new MemoryGreNetwork();
    const host = net.attach(A, { aliases: [VIP] });
    assert.throws(() => net.attach(VIP), /EADDRINUSE/);
    assert.throws(() => net.attach(C, { aliases: [C] }), /EADDRINUSE/);
    host.close();
    const again = net.attach(VIP);
    assert.deepEqual(again.addresses, [VIP]);
  });
});

describe("MemoryTun", () => {
  test("injected packets arrive as batches; written packets are kept as copies", () => {
    const tun: TunTransport & MemoryTun = new MemoryTun("mt0", 1400, { batchSize: 2 });
    const sizes: number[] = [];
    const firstBytes: number[] = [];
    tun.onBatch((b: PacketBatch) => {
      sizes.push(b.count);
      for (let i = 0; i < b.count; i++) firstBytes.push(b.data[b.offsets[i]]);
    });
    tun.inject(Uint8Array.of(0x45, 1));
    tun.inject(Uint8Array.of(0x46, 2));
    tun.inject(Uint8Array.of(0x60, 3));
    assert.equal(tun.pending, 3);
    assert.equal(tun.deliver(), 3);
    assert.deepEqual(sizes, [2, 1]);
    assert.deepEqual(firstBytes, [0x45, 0x46, 0x60]);

    const buf = Uint8Array.of(9, 8, 7, 6, 5, 4);
    assert.equal(tun.write(buf, 1, 2), true);
    assert.equal(tun.writeBatch(buf, Uint32Array.of(0, 4), Uint32Array.of(1, 2), 2), 2);
    buf.fill(0);
    assert.deepEqual(tun.takeWritten().map((p) => [...p]), [[8, 7], [9], [5, 4]]);
    assert.equal(tun.written.length, 0);
    assert.deepEqual([tun.stats().txPackets, tun.stats().txBytes, tun.stats().rxPackets], [3, 5, 3]);
    assert.throws(() => tun.writeBatch(buf, Uint32Array.of(0), Uint32Array.of(1), 2), RangeError);
    tun.close();
    assert.throws(() => tun.write(buf, 0, 1), { code: "EBADF" });
  });
});
