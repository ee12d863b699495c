/**
 * The process-wide GRE demultiplexer (src/io/gre-demux.ts) over the in-memory GRE network: Call ID allocation,
 * delivery by Call ID and peer address (RFC 2637 §4.1), the drop counters, and one flush per endpoint per batch.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { controlLocalIp, GreDemux, MAX_CALL_ID, type GreEndpoint } from "../../src/io/gre-demux.js";
import { MemoryGreNetwork, type MemoryGreSocket } from "../../src/io/memory.js";
import { parseIpv4 } from "../../src/wire/ipv4.js";
import { emitGreHeader, GRE_MAX_HEADER_LENGTH, type GreHeader } from "../../src/wire/gre.js";
import { unwrap } from "../../src/wire/result.js";

const HOST = unwrap(parseIpv4("198.51.100.1"));
const PEER_A = unwrap(parseIpv4("203.0.113.10"));
const PEER_B = unwrap(parseIpv4("203.0.113.20"));
const STRANGER = unwrap(parseIpv4("203.0.113.99"));

/** An enhanced GRE data packet (or an ack-only one when payload is undefined) built with the codec under test elsewhere. */
function grePacket(callId: number, seq: number | undefined, payload?: Uint8Array, ack?: number): Uint8Array {
  const body = payload ?? new Uint8Array(0);
  const out = new Uint8Array(GRE_MAX_HEADER_LENGTH + body.length);
  const n = emitGreHeader(out, 0, callId, body.length, seq, ack);
  out.set(body, n);
  return out.subarray(0, n + body.length);
}

interface Received {
  now: number;
  callId: number;
  seq: number | undefined;
  ack: number | undefined;
  payload: number[];
}

/** A GreEndpoint that records what it gets; `log` (shared between endpoints) keeps the order of receive/flush. */
class Recorder implements GreEndpoint {
  readonly got: Received[] = [];
  flushes = 0;
  constructor(
    readonly name: string,
    private readonly log: string[] = [],
  ) {}
  receive(now: number, h: GreHeader, data: Uint8Array): void {
    this.got.push({
      now,
      callId: h.callId,
      seq: h.hasSeq ? h.seq : undefined,
      ack: h.hasAck ? h.ack : undefined,
      payload: [...data.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)],
    });
    this.log.push(`${this.name}:rx${h.callId}`);
  }
  flush(): void {
    this.flushes++;
    this.log.push(`${this.name}:flush`);
  }
}

interface Rig {
  net: MemoryGreNetwork;
  demux: GreDemux;
  a: MemoryGreSocket;
  b: MemoryGreSocket;
  stranger: MemoryGreSocket;
  clock: { now: number };
}

function rig(batchSize = 64): Rig {
  const net = new MemoryGreNetwork();
  const clock = { now: 5000 };
  const demux = new GreDemux(net.attach(HOST, { batchSize }), () => clock.now);
  return { net, demux, a: net.attach(PEER_A), b: net.attach(PEER_B), stranger: net.attach(STRANGER), clock };
}

function send(from: MemoryGreSocket, packet: Uint8Array): void {
  assert.equal(from.send(packet, 0, packet.length, HOST), true);
}

describe("GreDemux Call ID allocation", () => {
  test("IDs are in 1..65535, distinct while held, and never one that is registered", () => {
    const { demux } = rig();
    const first = demux.allocateCallId();
    assert.ok(first !== undefined && first >= 1 && first <= MAX_CALL_ID, `first ID ${first}`);
    // Register the next few IDs the cursor would reach (as a call set up with an ID chosen elsewhere would).
    const taken = new Set<number>();
    for (let k = 1; k <= 5; k++) {
      const id = ((first - 1 + k) % MAX_CALL_ID) + 1;
      demux.register(id, PEER_A, new Recorder("x"));
      taken.add(id);
    }
    const seen = new Set<number>([first]);
    for (let i = 0; i < 200; i++) {
      const id = demux.allocateCallId();
      assert.ok(id !== undefined);
      assert.ok(id >= 1 && id <= MAX_CALL_ID, `ID ${id} out of range`);
      assert.ok(!taken.has(id), `ID ${id} is registered to a call`);
      assert.ok(!seen.has(id), `ID ${id} handed out twice`);
      seen.add(id);
    }
  });

  test("a reserved ID (allocated, not yet registered) is not handed out again until released", () => {
    const { demux } = rig();
    const ids = new Set<number>();
    let reserved: number | undefined;
    for (let i = 0; i < MAX_CALL_ID; i++) {
      const id = demux.allocateCallId();
      assert.ok(id !== undefined, `allocation ${i + 1} failed`);
      assert.ok(!ids.has(id), `ID ${id} handed out twice`);
      ids.add(id);
      if (i === 0) reserved = id;
    }
    assert.equal(ids.size, MAX_CALL_ID);
    assert.ok(!ids.has(0), "0 is never a Call ID here");
    assert.equal(demux.allocateCallId(), undefined, "all 65535 reserved");
    assert.equal(demux.activeCalls, 0, "reserving is not registering");
    demux.release(reserved!);
    assert.equal(demux.allocateCallId(), reserved, "the one released ID is the only one free");
    assert.equal(demux.allocateCallId(), undefined);
  });

  test("returns undefined when all 65535 IDs are registered, and finds the one freed by release()", () => {
    const { demux } = rig();
    const ep = new Recorder("x");
    for (let id = 1; id <= MAX_CALL_ID; id++) demux.register(id, PEER_A, ep);
    assert.equal(demux.activeCalls, MAX_CALL_ID);
    assert.equal(demux.allocateCallId(), undefined);
    demux.release(31337);
    assert.equal(demux.activeCalls, MAX_CALL_ID - 1);
    assert.equal(demux.allocateCallId(), 31337);
    assert.equal(demux.allocateCallId(), undefined, "31337 is reserved now");
  });

  test("a mix of reserved and registered IDs fills the space too", () => {
    const { demux } = rig();
    const ep = new Recorder("x");
    for (let id = 2; id <= MAX_CALL_ID; id += 2) demux.register(id, PEER_A, ep);
    const got = new Set<number>();
    for (let n = 0; n <= MAX_CALL_ID; n++) {
      const id = demux.allocateCallId();
      if (id === undefined) break;
      assert.equal(id % 2, 1, `ID ${id} is registered`);
      assert.ok(!got.has(id));
      got.add(id);
    }
    assert.equal(got.size, (MAX_CALL_ID + 1) / 2, "every odd ID was handed out once");
  });

  test("the search wraps around from 65535 to 1", () => {
    const { demux } = rig();
    const ep = new Recorder("x");
    const s = demux.allocateCallId()!;
    demux.release(s);
    if (s === MAX_CALL_ID) {
      // The cursor already wrapped past 65535; the next free ID it meets is 1.
      assert.equal(demux.allocateCallId(), 1);
      return;
    }
    // The cursor now points past s (>= 2). Only ID 1 is free: reaching it needs the wrap past 65535.
    for (let id = 2; id <= MAX_CALL_ID; id++) demux.register(id, PEER_A, ep);
    assert.equal(demux.allocateCallId(), 1);
  });

  test("the search looks at every ID: the one free ID just behind the cursor is found", () => {
    const { demux } = rig();
    const ep = new Recorder("x");
    const s = demux.allocateCallId()!;
    demux.release(s);
    // The cursor is one past s; s is the last ID a full turn reaches.
    for (let id = 1; id <= MAX_CALL_ID; id++) if (id !== s) demux.register(id, PEER_A, ep);
    assert.equal(demux.allocateCallId(), s);
    assert.equal(demux.allocateCallId(), undefined);
  });

  test("consecutive allocations move on rather than reuse a just-released ID", () => {
    const { demux } = rig();
    const a = demux.allocateCallId()!;
    demux.release(a);
    const b = demux.allocateCallId()!;
    assert.notEqual(b, a);
    assert.equal(b, a === MAX_CALL_ID ? 1 : a + 1);
  });

  test("filling the whole space hands out each ID once, each the one after the last (no rescan: linear time)", () => {
    // How long this takes is measured by `npm run bench` (bench/call-ids.ts); here, the property that makes it
    // fast: the cursor moves on, so with nothing in the way every allocation is the next ID, found at once.
    const { demux } = rig();
    // Count the IDs the search looks at (the registered-call map is consulted once per candidate).
    const calls = (demux as unknown as { calls: Map<number, unknown> }).calls;
    let looked = 0;
    const has = calls.has.bind(calls);
    calls.has = (id: number) => (looked++, has(id));
    const ids: number[] = [];
    while (ids.length < 1000) ids.push(demux.allocateCallId()!);
    assert.equal(looked, 1000, "one candidate per allocation");
    while (ids.length < MAX_CALL_ID) ids.push(demux.allocateCallId()!);
    assert.equal(new Set(ids).size, MAX_CALL_ID);
    for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1] === MAX_CALL_ID ? 1 : ids[i - 1] + 1, `allocation ${i}`);
    assert.equal(looked, MAX_CALL_ID, "one candidate per allocation");
    assert.equal(demux.allocateCallId(), undefined);
  });
});

describe("GreDemux delivery", () => {
  test("a packet for a registered Call ID from its peer reaches that endpoint with header, payload and time", () => {
    const r = rig();
    const ep = new Recorder("a");
    const id = r.demux.allocateCallId()!;
    r.demux.register(id, PEER_A, ep);
    assert.equal(r.demux.activeCalls, 1);
    send(r.a, grePacket(id, 7, Uint8Array.of(0xff, 0x03, 0x00, 0x21, 0x45), 3));
    send(r.a, grePacket(id, undefined, undefined, 8)); // acknowledgment only
    r.clock.now = 6000;
    assert.equal(r.net.deliver(), 2);
    assert.deepEqual(ep.got, [
      { now: 6000, callId: id, seq: 7, ack: 3, payload: [0xff, 0x03, 0x00, 0x21, 0x45] },
      { now: 6000, callId: id, seq: undefined, ack: 8, payload: [] },
    ]);
    assert.equal(ep.flushes, 1);
    assert.deepEqual(r.demux.counters, { malformed: 0, unknownCall: 0, wrongPeer: 0, wrongLocalAddress: 0 });
  });

  test("each call's packets go to its own endpoint", () => {
    const r = rig();
    const ea = new Recorder("a");
    const eb = new Recorder("b");
    r.demux.register(100, PEER_A, ea);
    r.demux.register(200, PEER_B, eb);
    send(r.a, grePacket(100, 1, Uint8Array.of(0xaa)));
    send(r.b, grePacket(200, 1, Uint8Array.of(0xbb)));
    send(r.a, grePacket(100, 2, Uint8Array.of(0xac)));
    r.net.deliver();
    assert.deepEqual(ea.got.map((g) => [g.callId, g.seq, g.payload[0]]), [[100, 1, 0xaa], [100, 2, 0xac]]);
    assert.deepEqual(eb.got.map((g) => [g.callId, g.seq, g.payload[0]]), [[200, 1, 0xbb]]);
  });

  test("a registered Call ID from any other address is dropped and counted as wrongPeer", () => {
    const r = rig();
    const ea = new Recorder("a");
    const eb = new Recorder("b");
    r.demux.register(100, PEER_A, ea);
    r.demux.register(200, PEER_B, eb);
    send(r.stranger, grePacket(100, 1, Uint8Array.of(1)));
    send(r.b, grePacket(100, 2, Uint8Array.of(2))); // B is a peer, but not of call 100
    send(r.a, grePacket(200, 3, Uint8Array.of(3))); // nor is A of call 200
    r.net.deliver();
    assert.equal(ea.got.length, 0);
    assert.equal(eb.got.length, 0);
    assert.equal(ea.flushes + eb.flushes, 0, "an endpoint that received nothing is not flushed");
    assert.deepEqual(r.demux.counters, { malformed: 0, unknownCall: 0, wrongPeer: 3, wrongLocalAddress: 0 });
  });

  test("a Call ID nobody holds is counted as unknownCall", () => {
    const r = rig();
    const ea = new Recorder("a");
    r.demux.register(100, PEER_A, ea);
    send(r.a, grePacket(101, 1, Uint8Array.of(1)));
    send(r.a, grePacket(0, 1, Uint8Array.of(1)));
    const reserved = r.demux.allocateCallId()!;
    send(r.a, grePacket(reserved, 1, Uint8Array.of(1))); // reserved but not registered: no endpoint yet
    r.net.deliver();
    assert.equal(ea.got.length, 0);
    assert.deepEqual(r.demux.counters, { malformed: 0, unknownCall: 3, wrongPeer: 0, wrongLocalAddress: 0 });
  });

  test("malformed packets are counted and do not disturb the good ones in the same batch", () => {
    const r = rig();
    const ea = new Recorder("a");
    r.demux.register(100, PEER_A, ea);
    const good = grePacket(100, 1, Uint8Array.of(9, 9));
    const wrongVersion = good.slice();
    wrongVersion[1] = (wrongVersion[1] & ~0x07) | 0; // RFC 1701 GRE, not enhanced GRE
    const wrongProtocol = good.slice();
    wrongProtocol[2] = 0x08; // 0x0800 (IPv4), not 0x880B
    wrongProtocol[3] = 0x00;
    const truncated = good.subarray(0, 6);
    const lyingLength = good.slice();
    lyingLength[5] = 200; // Payload Length past the end of the packet
    for (const bad of [wrongVersion, good, wrongProtocol, truncated, lyingLength]) send(r.a, bad);
    r.net.deliver();
    assert.deepEqual(ea.got.map((g) => g.payload), [[9, 9]]);
    assert.equal(ea.flushes, 1);
    assert.deepEqual(r.demux.counters, { malformed: 4, unknownCall: 0, wrongPeer: 0, wrongLocalAddress: 0 });
  });

  test("flush() runs once per endpoint per batch, after all of the batch's packets were received", () => {
    const r = rig();
    const log: string[] = [];
    const ea = new Recorder("a", log);
    const eb = new Recorder("b", log);
    const idle = new Recorder("idle", log);
    // Two calls on one endpoint (one control connection with two calls) and one on another.
    r.demux.register(10, PEER_A, ea);
    r.demux.register(11, PEER_A, ea);
    r.demux.register(20, PEER_B, eb);
    r.demux.register(30, PEER_B, idle);
    send(r.a, grePacket(10, 1, Uint8Array.of(1)));
    send(r.b, grePacket(20, 1, Uint8Array.of(2)));
    send(r.a, grePacket(11, 1, Uint8Array.of(3)));
    send(r.a, grePacket(10, 2, Uint8Array.of(4)));
    send(r.b, grePacket(20, 2, Uint8Array.of(5)));
    assert.equal(r.net.deliver(), 5);
    assert.deepEqual(log, ["a:rx10", "b:rx20", "a:rx11", "a:rx10", "b:rx20", "a:flush", "b:flush"]);
    assert.equal(idle.flushes, 0);

    // The next batch flushes again (the list of touched endpoints does not leak between batches).
    log.length = 0;
    send(r.b, grePacket(20, 3, Uint8Array.of(6)));
    r.net.deliver();
    assert.deepEqual(log, ["b:rx20", "b:flush"]);
    assert.deepEqual([ea.flushes, eb.flushes, idle.flushes], [1, 2, 0]);
  });

  test("with small receive batches, each batch flushes the endpoints it touched", () => {
    const r = rig(2);
    const log: string[] = [];
    const ea = new Recorder("a", log);
    const eb = new Recorder("b", log);
    r.demux.register(10, PEER_A, ea);
    r.demux.register(20, PEER_B, eb);
    send(r.a, grePacket(10, 1, Uint8Array.of(1)));
    send(r.a, grePacket(10, 2, Uint8Array.of(1)));
    send(r.b, grePacket(20, 1, Uint8Array.of(1)));
    send(r.a, grePacket(10, 3, Uint8Array.of(1)));
    send(r.b, grePacket(20, 2, Uint8Array.of(1)));
    r.net.deliver();
    assert.deepEqual(log, [
      "a:rx10", "a:rx10", "a:flush", // batch 1
      "b:rx20", "a:rx10", "b:flush", "a:flush", // batch 2
      "b:rx20", "b:flush", // batch 3
    ]);
    assert.deepEqual([ea.got.map((g) => g.seq), ea.flushes, eb.flushes], [[1, 2, 3], 2, 2]);
  });

  test("a batch of only drops flushes nobody", () => {
    const r = rig();
    const ea = new Recorder("a");
    r.demux.register(10, PEER_A, ea);
    send(r.stranger, grePacket(10, 1, Uint8Array.of(1)));
    send(r.a, grePacket(99, 1, Uint8Array.of(1)));
    send(r.a, new Uint8Array(3));
    r.net.deliver();
    assert.equal(ea.flushes, 0);
    assert.deepEqual(r.demux.counters, { malformed: 1, unknownCall: 1, wrongPeer: 1, wrongLocalAddress: 0 });
  });

  test("release() stops delivery: later packets for the ID are unknown", () => {
    const r = rig();
    const ea = new Recorder("a");
    const id = r.demux.allocateCallId()!;
    r.demux.register(id, PEER_A, ea);
    send(r.a, grePacket(id, 1, Uint8Array.of(1)));
    r.net.deliver();
    assert.equal(ea.got.length, 1);
    r.demux.release(id);
    assert.equal(r.demux.activeCalls, 0);
    send(r.a, grePacket(id, 2, Uint8Array.of(2)));
    r.net.deliver();
    assert.equal(ea.got.length, 1, "nothing after release");
    assert.equal(ea.flushes, 1);
    assert.equal(r.demux.counters.unknownCall, 1);
  });

  test("register() replaces the peer and endpoint of an ID; the old peer's packets then count as wrongPeer", () => {
    const r = rig();
    const first = new Recorder("first");
    const second = new Recorder("second");
    r.demux.register(42, PEER_A, first);
    r.demux.register(42, PEER_B, second);
    assert.equal(r.demux.activeCalls, 1);
    send(r.a, grePacket(42, 1, Uint8Array.of(1)));
    send(r.b, grePacket(42, 2, Uint8Array.of(2)));
    r.net.deliver();
    assert.equal(first.got.length, 0);
    assert.deepEqual(second.got.map((g) => g.seq), [2]);
    assert.equal(r.demux.counters.wrongPeer, 1);
  });

  test("send() goes out through the shared transport to the given address", () => {
    const r = rig();
    const seen: { src: number; callId: number }[] = [];
    r.b.onBatch((batch) => {
      for (let i = 0; i < batch.count; i++) {
        const o = batch.offsets[i];
        seen.push({ src: batch.sources[i], callId: (batch.data[o + 6] << 8) | batch.data[o + 7] });
      }
    });
    const pkt = grePacket(0x1234, 1, Uint8Array.of(1, 2, 3));
    const framed = new Uint8Array(pkt.length + 4);
    framed.set(pkt, 4);
    assert.equal(r.demux.send(framed, 4, pkt.length, PEER_B), true);
    r.net.deliver();
    assert.deepEqual(seen, [{ src: HOST, callId: 0x1234 }]);
  });

  test("close() closes the transport: packets to the host are no longer delivered", () => {
    const r = rig();
    const ea = new Recorder("a");
    r.demux.register(10, PEER_A, ea);
    r.demux.close();
    send(r.a, grePacket(10, 1, Uint8Array.of(1)));
    r.net.deliver();
    assert.equal(ea.got.length, 0);
    assert.equal(r.net.undeliverable, 1);
  });
});

describe("GreDemux on a multi-homed host (one socket, several local addresses)", () => {
  const MAIN = unwrap(parseIpv4("198.51.100.1"));
  const VIP = unwrap(parseIpv4("198.51.100.7"));

  function homed() {
    const net = new MemoryGreNetwork();
    const demux = new GreDemux(net.attach(MAIN, { aliases: [VIP] }), () => 1);
    return { net, demux, a: net.attach(PEER_A) };
  }

  test("a call tied to one local address gets GRE sent to it; the same call's GRE sent to another is dropped and counted", () => {
    const r = homed();
    const ea = new Recorder("a");
    r.demux.register(100, PEER_A, ea, VIP);
    const p1 = grePacket(100, 1, Uint8Array.of(1));
    const p2 = grePacket(100, 2, Uint8Array.of(2));
    const p3 = grePacket(100, 3, Uint8Array.of(3));
    assert.equal(r.a.send(p1, 0, p1.length, VIP), true);
    assert.equal(r.a.send(p2, 0, p2.length, MAIN), true); // right peer, right Call ID, the host's other address
    assert.equal(r.a.send(p3, 0, p3.length, VIP), true);
    r.net.deliver();
    assert.deepEqual(ea.got.map((g) => g.seq), [1, 3]);
    assert.deepEqual(r.demux.counters, { malformed: 0, unknownCall: 0, wrongPeer: 0, wrongLocalAddress: 1 });
  });

  test("a call registered without a local address (0) accepts GRE at any of the host's addresses", () => {
    const r = homed();
    const ea = new Recorder("a");
    r.demux.register(100, PEER_A, ea);
    const p1 = grePacket(100, 1, Uint8Array.of(1));
    const p2 = grePacket(100, 2, Uint8Array.of(2));
    r.a.send(p1, 0, p1.length, VIP);
    r.a.send(p2, 0, p2.length, MAIN);
    r.net.deliver();
    assert.deepEqual(ea.got.map((g) => g.seq), [1, 2]);
    assert.equal(r.demux.counters.wrongLocalAddress, 0);
  });

  test("send() with a source leaves from that address; without one from the address routing prefers", () => {
    const r = homed();
    const seen: [number, number][] = [];
    r.a.onBatch((b) => {
      for (let i = 0; i < b.count; i++) seen.push([b.sources[i], b.destinations[i]]);
    });
    const pkt = grePacket(7, 1, Uint8Array.of(1));
    assert.equal(r.demux.send(pkt, 0, pkt.length, PEER_A, VIP), true);
    assert.equal(r.demux.send(pkt, 0, pkt.length, PEER_A), true);
    r.net.deliver();
    assert.deepEqual(seen, [[VIP, PEER_A], [MAIN, PEER_A]]);
  });
});

describe("controlLocalIp", () => {
  test("the IPv4 local address of a TCP socket (IPv4-mapped too), 0 when there is none", () => {
    assert.equal(controlLocalIp({ localAddress: "10.99.0.1" }), unwrap(parseIpv4("10.99.0.1")));
    assert.equal(controlLocalIp({ localAddress: "::ffff:10.99.0.3" }), unwrap(parseIpv4("10.99.0.3")));
    assert.equal(controlLocalIp({ localAddress: "::1" }), 0);
    assert.equal(controlLocalIp({ localAddress: undefined }), 0);
    assert.equal(controlLocalIp({}), 0);
  });
});

describe("GreDemux lastWrongPeer", () => {
  test("remembers the Call ID and source of the last packet dropped as wrongPeer, without allocating a new record", () => {
    const r = rig();
    r.demux.register(100, PEER_A, new Recorder("a"));
    const record = r.demux.lastWrongPeer;
    assert.deepEqual({ ...record }, { callId: -1, source: 0 });
    send(r.stranger, grePacket(100, 1, Uint8Array.of(1)));
    r.net.deliver();
    assert.equal(r.demux.lastWrongPeer, record);
    assert.deepEqual({ ...record }, { callId: 100, source: STRANGER });
  });
});
