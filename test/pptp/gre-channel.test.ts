import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/core/clock.js";
import { u32, put32 } from "../../src/wire/bytes.js";
import { unwrap } from "../../src/wire/result.js";
import { parseGreHeader, emitGreHeader, GreHeader, GRE_MAX_HEADER_LENGTH } from "../../src/wire/gre.js";
import { ADVERTISED_RECEIVE_WINDOW, GreChannel, REORDER_WINDOW_MAX, type GreChannelOptions } from "../../src/pptp/gre-channel.js";
import { CONFIRM_PACKETS, LONE_WAIT_FACTOR, LONE_WAIT_MIN_MS } from "../../src/pptp/receive-sequencer.js";
import { prng } from "./fixtures.js";

/** One side of a test link: its channel, what it put on the wire, and the payload tags it delivered. */
interface End {
  ch: GreChannel;
  sent: Uint8Array[];
  got: number[];
  /** The buffer object each delivery viewed, to check zero-copy. */
  views: Uint8Array[];
}

type Opts = Partial<Omit<GreChannelOptions, "transmit" | "deliver" | "localCallId" | "peerCallId">>;

function end(localCallId: number, peerCallId: number, o: Opts = {}): End {
  const e: End = { ch: undefined as unknown as GreChannel, sent: [], got: [], views: [] };
  e.ch = new GreChannel({
    localCallId,
    peerCallId,
    peerReceiveWindow: 64,
    ...o,
    // The channel reuses its transmit buffer: the "wire" must copy.
    transmit: (buf, off, len) => e.sent.push(buf.slice(off, off + len)),
    deliver: (buf, off, len) => {
      e.got.push(len >= 4 ? u32(buf, off) : -len);
      e.views.push(buf);
    },
  });
  return e;
}

function payload(tag: number, size = 8): Uint8Array {
  const p = new Uint8Array(size);
  put32(p, 0, tag);
  return p;
}

function header(pkt: Uint8Array): GreHeader {
  return unwrap(parseGreHeader(pkt, 0, pkt.length));
}

/** Sends tags from `from`, returning the packets (taken off its wire). */
function sendTags(now: number, from: End, tags: number[]): Uint8Array[] {
  for (const t of tags) assert.equal(from.ch.send(now, payload(t)), true, `send ${t}`);
  return from.sent.splice(0);
}

/** The acknowledgment number `from` sends now (on a data packet; earlier ack-only packets are cleared off its wire). */
function ackNow(now: number, from: End): number {
  from.sent.length = 0;
  const [p] = sendTags(now, from, [0x99]);
  return header(p).ack;
}

function deliver(now: number, to: End, pkts: Uint8Array[]): void {
  for (const p of pkts) to.ch.handlePacket(now, p, 0, p.length);
}

describe("GreChannel: sequencing and delivery", () => {
  test("in-order packets are delivered at once, sequence numbers start at 0, key carries the peer's Call ID", () => {
    const a = end(1, 2);
    const b = end(2, 1);
    const pkts = sendTags(0, a, [10, 11, 12]);
    assert.deepEqual(pkts.map((p) => header(p).seq), [0, 1, 2]);
    assert.deepEqual(pkts.map((p) => header(p).callId), [2, 2, 2]);
    assert.equal(header(pkts[0]).hasAck, false, "nothing received yet: no acknowledgment");
    deliver(0, b, pkts);
    assert.deepEqual(b.got, [10, 11, 12]);
    assert.equal(b.ch.stats.rx, 3);
    assert.equal(a.ch.stats.tx, 3);
  });

  test("in-order delivery is zero-copy: the view is the caller's buffer", () => {
    const a = end(1, 2);
    const b = end(2, 1);
    const [p] = sendTags(0, a, [1]);
    const rx = new Uint8Array(100);
    rx.set(p, 20);
    b.ch.handlePacket(0, rx, 20, p.length);
    assert.equal(b.views[0], rx);
  });

  test("acknowledgment rides on the next data packet (highest in-order sequence number)", () => {
    const a = end(1, 2);
    const b = end(2, 1);
    deliver(0, b, sendTags(0, a, [1, 2, 3]));
    const [reply] = sendTags(1, b, [100]);
    const h = header(reply);
    assert.equal(h.hasAck, true);
    assert.equal(h.ack, 2);
    assert.equal(h.headerLength, 16);
    deliver(1, a, [reply]);
    assert.equal(a.ch.outstanding, 0);
    assert.deepEqual(a.got, [100]);
    // Nothing new to acknowledge: the next packet carries no A bit.
    const [again] = sendTags(2, b, [101]);
    assert.equal(header(again).hasAck, false);
    assert.equal(header(again).headerLength, 12);
  });

  test("delayed acknowledgment: an ack-only packet when nothing is sent within ackDelayMs", () => {
    const clock = new FakeClock(1000);
    const a = end(1, 2);
    const b = end(2, 1, { ackDelayMs: 150 });
    deliver(clock.now, b, sendTags(clock.now, a, [7]));
    assert.equal(b.sent.length, 0, "not immediately");
    assert.equal(b.ch.pollTimeout(), 1150);
    b.ch.handleTimeout(clock.advance(100));
    assert.equal(b.sent.length, 0, "not before the deadline");
    b.ch.handleTimeout(clock.advance(50));
    assert.equal(b.sent.length, 1);
    const h = header(b.sent[0]);
    assert.equal(b.sent[0].length, 12);
    assert.equal(h.hasSeq, false);
    assert.equal(h.hasAck, true);
    assert.equal(h.ack, 0);
    assert.equal(h.callId, 1);
    assert.equal(b.ch.stats.txAckOnly, 1);
    assert.equal(b.ch.pollTimeout(), undefined);
    deliver(clock.now, a, b.sent.splice(0));
    assert.equal(a.ch.outstanding, 0);
    assert.equal(a.ch.stats.rxAckOnly, 1);
    assert.deepEqual(a.got, [], "an ack-only packet delivers nothing");
  });

  test("half a receive window of unacknowledged packets is acknowledged at once", () => {
    const a = end(1, 2);
    const b = end(2, 1, { receiveWindow: 8, ackDelayMs: 10_000 });
    deliver(0, b, sendTags(0, a, [1, 2, 3]));
    assert.equal(b.sent.length, 0);
    deliver(0, b, sendTags(0, a, [4]));
    assert.equal(b.sent.length, 1);
    assert.equal(header(b.sent[0]).ack, 3);
  });

  test("an advertised window past REORDER_WINDOW_MAX: acknowledged every half of what we hold, and no more held behind a gap", () => {
    const a = end(1, 2, { flowControl: "off" });
    const b = end(2, 1, { receiveWindow: ADVERTISED_RECEIVE_WINDOW, ackDelayMs: 10_000 });
    assert.ok(ADVERTISED_RECEIVE_WINDOW > REORDER_WINDOW_MAX);
    deliver(0, b, sendTags(0, a, Array.from({ length: REORDER_WINDOW_MAX / 2 }, (_, i) => i)));
    assert.equal(b.sent.length, 1, "an ack-only packet at half the reorder window, not at half the advertised one");
    // Sequence number 32 lost: the next REORDER_WINDOW_MAX - 1 wait behind the gap; one further ahead is outside.
    const ahead = sendTags(0, a, Array.from({ length: REORDER_WINDOW_MAX + 1 }, (_, i) => 100 + i));
    deliver(0, b, ahead.slice(1));
    assert.equal(b.ch.reorderPending, REORDER_WINDOW_MAX - 1);
    assert.equal(b.got.length, REORDER_WINDOW_MAX / 2);
  });

  test("reordered packets are delivered in order", () => {
    const a = end(1, 2);
    const b = end(2, 1);
    const p = sendTags(0, a, [0, 1, 2, 3, 4]);
    deliver(0, b, [p[0], p[2], p[3], p[1], p[4]]);
    assert.deepEqual(b.got, [0, 1, 2, 3, 4]);
    assert.equal(b.ch.stats.reordered, 2);
    assert.equal(b.ch.stats.lost, 0);
    assert.equal(b.ch.reorderPending, 0);
    assert.equal(b.views[2], b.views[3], "buffered packets come from the reorder buffer");
    assert.notEqual(b.views[2], p[2]);
  });

  test("a lost packet: the gap is skipped after reorderTimeoutMs and counted", () => {
    const clock = new FakeClock(0);
    const a = end(1, 2);
    const b = end(2, 1, { reorderTimeoutMs: 80, ackDelayMs: 1000 });
    const p = sendTags(0, a, [0, 1, 2, 3]);
    deliver(clock.now, b, [p[0], p[2], p[3]]);
    assert.deepEqual(b.got, [0]);
    assert.equal(b.ch.reorderPending, 2);
    assert.equal(b.ch.pollTimeout(), 80);
    b.ch.handleTimeout(clock.advance(79));
    assert.deepEqual(b.got, [0]);
    b.ch.handleTimeout(clock.advance(1));
    assert.deepEqual(b.got, [0, 2, 3]);
    assert.equal(b.ch.stats.lost, 1);
    // The acknowledgment covers everything given up on.
    const [reply] = sendTags(clock.now, b, [9]);
    assert.equal(header(reply).ack, 3);
    // The straggler arrives late: stale.
    deliver(clock.now, b, [p[1]]);
    assert.deepEqual(b.got, [0, 2, 3]);
    assert.equal(b.ch.stats.droppedStale, 1);
    assert.equal(b.ch.stats.droppedDuplicate, 0);
  });

  test("duplicates are dropped and counted, whether delivered or still buffered", () => {
    const a = end(1, 2);
    const b = end(2, 1);
    const p = sendTags(0, a, [0, 1, 2, 3]);
    deliver(0, b, [p[0], p[1], p[1], p[0], p[3], p[3]]);
    assert.deepEqual(b.got, [0, 1]);
    assert.equal(b.ch.stats.droppedDuplicate, 3);
    deliver(0, b, [p[2]]);
    assert.deepEqual(b.got, [0, 1, 2, 3]);
    assert.equal(b.ch.stats.droppedStale, 0);
  });

  test("a burst of loss longer than the window: consecutive packets beyond it re-synchronise, none is lost twice", () => {
    const a = end(1, 2);
    const b = end(2, 1, { receiveWindow: 4 });
    const p = sendTags(0, a, Array.from({ length: 14 }, (_, i) => i));
    deliver(0, b, [p[0], p[2], p[11], p[10]]);
    assert.deepEqual(b.got, [0], "one or two packets beyond the window move nothing yet");
    deliver(0, b, [p[12]]);
    assert.deepEqual(b.got, [0, 2, 10, 11, 12], "the third agreeing packet confirms: held ones are replayed in order");
    assert.equal(b.ch.stats.resyncs, 1);
    assert.equal(b.ch.stats.lost, 8, "1 and 3..9");
    assert.equal(b.ch.stats.droppedOutOfWindow, 0);
    deliver(0, b, [p[13]]);
    assert.deepEqual(b.got, [0, 2, 10, 11, 12, 13]);
    assert.equal(ackNow(0, b), 13);
  });

  test("the first packet sets the starting point (Cisco starts at 1)", () => {
    const a = end(1, 2, { initialSeq: 1 });
    const b = end(2, 1);
    deliver(0, b, sendTags(0, a, [5, 6]));
    assert.deepEqual(b.got, [5, 6]);
    assert.equal(b.ch.stats.lost, 0);
  });

  test("32-bit wrap: sequence and acknowledgment numbers roll over 0xffffffff", () => {
    const a = end(1, 2, { initialSeq: 0xfffffffd, peerReceiveWindow: 64 });
    const b = end(2, 1);
    const p = sendTags(0, a, [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(p.map((x) => header(x).seq), [0xfffffffd, 0xfffffffe, 0xffffffff, 0, 1, 2]);
    deliver(0, b, [p[0], p[3], p[2], p[1], p[5], p[4], p[4]]);
    assert.deepEqual(b.got, [0, 1, 2, 3, 4, 5]);
    assert.equal(b.ch.stats.droppedDuplicate, 1);
    const [reply] = sendTags(1, b, [99]);
    assert.equal(header(reply).ack, 2);
    deliver(1, a, [reply]);
    assert.equal(a.ch.outstanding, 0);
    assert.equal(a.ch.nextSendSeq, 3);
  });

  test("a demultiplexer can parse once and hand the header over", () => {
    const a = end(1, 2);
    const b = end(2, 1);
    const [p] = sendTags(0, a, [31]);
    const h = new GreHeader();
    const rx = new Uint8Array(64);
    rx.set(p, 20);
    unwrap(parseGreHeader(rx, 20, p.length, h));
    assert.equal(h.callId, 2, "the key names the channel");
    b.ch.handleParsedPacket(0, rx, h);
    assert.deepEqual(b.got, [31]);
    assert.equal(b.views[0], rx);
  });

  test("packets for another Call ID and malformed packets are refused and counted", () => {
    const a = end(1, 2);
    const b = end(3, 1);
    deliver(0, b, sendTags(0, a, [1]));
    assert.equal(b.ch.stats.rxInvalid, 1);
    assert.match(b.ch.stats.lastError, /Call ID 2/);
    b.ch.handlePacket(0, new Uint8Array([1, 2, 3]), 0, 3);
    assert.equal(b.ch.stats.rxInvalid, 2);
    assert.match(b.ch.stats.lastError, /^GRE: /);
    assert.deepEqual(b.got, []);
  });

  test("an acknowledgment for a packet never sent is ignored and counted", () => {
    const a = end(1, 2);
    const b = end(2, 1);
    sendTags(0, a, [1]);
    const bogus = new Uint8Array(12);
    // ack-only for sequence number 50, which a never sent
    bogus.set([0x20, 0x81, 0x88, 0x0b, 0, 0, 0, 1, 0, 0, 0, 50]);
    a.ch.handlePacket(0, bogus, 0, 12);
    assert.equal(a.ch.stats.badAcks, 1);
    assert.equal(a.ch.outstanding, 1);
    void b;
  });

  test("sendInPlace writes the header into the caller's headroom without copying", () => {
    const a = end(1, 2);
    const b = end(2, 1);
    deliver(0, a, sendTags(0, b, [42])); // so a has something to acknowledge
    let seen: { buf: Uint8Array; off: number; len: number } | undefined;
    const ch = new GreChannel({
      localCallId: 1,
      peerCallId: 2,
      peerReceiveWindow: 8,
      transmit: (buf, off, len) => (seen = { buf, off, len }),
      deliver: () => {},
    });
    const buf = new Uint8Array(GRE_MAX_HEADER_LENGTH + 10);
    put32(buf, GRE_MAX_HEADER_LENGTH, 0xcafef00d);
    assert.equal(ch.sendInPlace(0, buf, GRE_MAX_HEADER_LENGTH, 10), true);
    assert.ok(seen !== undefined);
    assert.equal(seen.buf, buf);
    assert.equal(seen.off, 4, "no ack to carry: 12-octet header");
    assert.equal(seen.len, 22);
    const h = unwrap(parseGreHeader(buf, seen.off, seen.len));
    assert.equal(h.payloadOffset, GRE_MAX_HEADER_LENGTH);
    assert.equal(u32(buf, h.payloadOffset), 0xcafef00d);
    assert.throws(() => ch.sendInPlace(0, buf, 8, 4), RangeError);
  });
});

describe("GreChannel: the peer's receive window (RFC 2637 §4.2)", () => {
  test("sliding: starts at half the peer's window and refuses beyond it", () => {
    const a = end(1, 2, { peerReceiveWindow: 4 });
    assert.equal(a.ch.sendWindow, 2);
    assert.equal(a.ch.send(0, payload(1)), true);
    assert.equal(a.ch.send(0, payload(2)), true);
    assert.equal(a.ch.canSend(), false);
    assert.equal(a.ch.send(0, payload(3)), false);
    assert.equal(a.ch.stats.windowFull, 1);
    assert.equal(a.sent.length, 2);
  });

  test("sliding: opens by one per acknowledged window, up to the peer's window", () => {
    const a = end(1, 2, { peerReceiveWindow: 4 });
    const b = end(2, 1, { ackDelayMs: 1 });
    const windows: number[] = [];
    for (let round = 0; round < 5; round++) {
      const t = round * 10;
      const n = a.ch.sendWindow;
      deliver(t, b, sendTags(t, a, Array.from({ length: n }, (_, i) => round * 100 + i)));
      b.ch.handleTimeout(t + 1);
      deliver(t + 2, a, b.sent.splice(0));
      windows.push(a.ch.sendWindow);
    }
    assert.deepEqual(windows, [3, 4, 4, 4, 4]);
    assert.equal(a.ch.peerWindow, 4);
  });

  test("acknowledgment time-out: window halves, outstanding packets are written off", () => {
    const clock = new FakeClock(0);
    const a = end(1, 2, { peerReceiveWindow: 16, minAckTimeoutMs: 300, maxAckTimeoutMs: 2000 });
    assert.equal(a.ch.sendWindow, 8);
    sendTags(clock.now, a, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(a.ch.canSend(), false);
    assert.equal(a.ch.pollTimeout(), 300);
    a.ch.handleTimeout(clock.advance(299));
    assert.equal(a.ch.stats.ackTimeouts, 0);
    a.ch.handleTimeout(clock.advance(1));
    assert.equal(a.ch.stats.ackTimeouts, 1);
    assert.equal(a.ch.sendWindow, 4);
    assert.equal(a.ch.outstanding, 0);
    assert.equal(a.ch.canSend(), true);
    // A late acknowledgment of a written-off packet changes nothing.
    const lateAck = new Uint8Array([0x20, 0x81, 0x88, 0x0b, 0, 0, 0, 1, 0, 0, 0, 3]);
    a.ch.handlePacket(clock.now, lateAck, 0, 12);
    assert.equal(a.ch.outstanding, 0);
    assert.equal(a.ch.stats.badAcks, 0);
  });

  test("the adaptive time-out follows measured round trips (RFC 2637 §4.4.1)", () => {
    const clock = new FakeClock(0);
    const a = end(1, 2, { peerReceiveWindow: 64, peerProcessingDelay: 10, minAckTimeoutMs: 100, maxAckTimeoutMs: 10_000 });
    assert.equal(a.ch.ackTimeout, 1000, "seeded from the peer's 1.0 s processing delay");
    const b = end(2, 1, { ackDelayMs: 1 });
    for (let i = 0; i < 40; i++) {
      deliver(clock.now, b, sendTags(clock.now, a, [i]));
      clock.advance(20);
      b.ch.handleTimeout(clock.now);
      deliver(clock.now, a, b.sent.splice(0));
    }
    assert.ok(a.ch.ackTimeout < 200, `ATO converged towards the 20 ms RTT, got ${a.ch.ackTimeout}`);
    assert.ok(a.ch.ackTimeout >= 100);
  });

  test("fixed: the full peer window from the start", () => {
    const a = end(1, 2, { peerReceiveWindow: 3, flowControl: "fixed" });
    assert.equal(a.ch.sendWindow, 3);
    sendTags(0, a, [1, 2, 3]);
    assert.equal(a.ch.send(0, payload(4)), false);
  });

  test("auto: sends freely while the peer acknowledges only on its data; sliding from its first acknowledgment-only packet", () => {
    const clock = new FakeClock(0);
    const a = end(1, 2, { peerReceiveWindow: 8, flowControl: "auto", minAckTimeoutMs: 300 });
    const b = end(2, 1, { ackDelayMs: 50 });
    assert.equal(a.ch.flowControl, "off");
    // A peer like the Linux kernel driver: its acknowledgments ride on its data only. Far past its window, nothing
    // is refused and no time-out is armed.
    const first = sendTags(clock.now, a, Array.from({ length: 40 }, (_, i) => i));
    deliver(clock.now, b, first);
    b.sent.length = 0; // b's own ack-only packet is not delivered yet
    deliver(clock.now, a, sendTags(clock.now, b, [1000])); // b's data, carrying its acknowledgment
    assert.equal(a.ch.stats.windowFull, 0);
    assert.equal(a.ch.outstanding, 0);
    const second = sendTags(clock.now, a, Array.from({ length: 20 }, (_, i) => 100 + i));
    assert.equal(a.ch.pollTimeout(), undefined, "no ack time-out while sending freely");
    assert.equal(a.ch.flowControl, "off");
    // Its first acknowledgment on its own (A set, S clear): from now on the sliding window, starting at half of 8.
    deliver(clock.advance(10), b, second);
    b.ch.handleTimeout(clock.advance(50));
    const ackOnly = b.sent.splice(0);
    assert.equal(ackOnly.length, 1);
    assert.equal(header(ackOnly[0]).hasSeq, false);
    deliver(clock.now, a, ackOnly);
    assert.equal(a.ch.flowControl, "sliding");
    assert.equal(a.ch.sendWindow, 4);
    sendTags(clock.now, a, [200, 201, 202, 203]);
    assert.equal(a.ch.send(clock.now, payload(204)), false);
    assert.equal(a.ch.stats.windowFull, 1);
    assert.notEqual(a.ch.pollTimeout(), undefined, "the ack time-out now runs");
  });

  test("auto with a peer window of 0 (none advertised): off for good", () => {
    const a = end(1, 2, { peerReceiveWindow: 0, flowControl: "auto" });
    const ackOnly = new Uint8Array(12);
    const n = emitGreHeader(ackOnly, 0, 1, 0, undefined, 0);
    a.ch.handlePacket(0, ackOnly, 0, n);
    assert.equal(a.ch.flowControl, "off");
    for (let i = 0; i < 200; i++) assert.equal(a.ch.send(0, payload(i)), true);
  });

  test("off, or a peer window of 0: never refuses", () => {
    for (const o of [{ peerReceiveWindow: 2, flowControl: "off" as const }, { peerReceiveWindow: 0 }]) {
      const a = end(1, 2, o);
      for (let i = 0; i < 1000; i++) assert.equal(a.ch.send(0, payload(i)), true);
      assert.equal(a.ch.pollTimeout(), undefined);
      assert.equal(a.ch.stats.windowFull, 0);
    }
  });
});

/** A GRE data packet as anyone who knows the Call ID could put on the wire, with any sequence/ack numbers. */
function forged(callId: number, seq: number | undefined, tag: number, ack?: number): Uint8Array {
  const body = seq === undefined ? new Uint8Array(0) : payload(tag);
  const out = new Uint8Array(GRE_MAX_HEADER_LENGTH + body.length);
  const n = emitGreHeader(out, 0, callId, body.length, seq, ack);
  out.set(body, n);
  return out.subarray(0, n + body.length);
}

describe("GreChannel: forged and stray sequence numbers (RFC 2637 §4.2.4, §4.3)", () => {
  for (const ahead of [0x50, 0x100, 0x40000000, 0x7fffffff]) {
    test(`one packet +0x${ahead.toString(16)} ahead is dropped and counted; genuine packets keep flowing`, () => {
      const a = end(1, 2);
      const b = end(2, 1); // receive window 64
      const p = sendTags(0, a, Array.from({ length: 10 }, (_, i) => i));
      deliver(0, b, p.slice(0, 5));
      deliver(0, b, [forged(2, 5 + ahead, 0xbad)]); // 5 is the next expected
      deliver(0, b, p.slice(5));
      assert.deepEqual(b.got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const s = b.ch.stats;
      assert.equal(s.droppedOutOfWindow, 1);
      assert.equal(s.lost, 0);
      assert.equal(s.droppedStale, 0);
      assert.equal(s.resyncs, 0);
      assert.equal(ackNow(0, b), 9, "we acknowledge the genuine stream, not the forged number");
    });
  }

  test("one packet far behind (beyond the history of seen numbers) is dropped and counted", () => {
    const a = end(1, 2, { initialSeq: 5000 });
    const b = end(2, 1);
    const p = sendTags(0, a, [0, 1, 2, 3]);
    deliver(0, b, [p[0], p[1], forged(2, 5001 - 0x40000000, 0xbad), p[2], p[3]]);
    assert.deepEqual(b.got, [0, 1, 2, 3]);
    assert.equal(b.ch.stats.droppedOutOfWindow, 1);
  });

  test("forged packets between genuine ones never confirm each other, even when they agree", () => {
    const a = end(1, 2);
    const b = end(2, 1);
    const p = sendTags(0, a, Array.from({ length: 20 }, (_, i) => i));
    const f = 0x1000;
    const pkts: Uint8Array[] = [];
    for (let i = 0; i < 10; i++) pkts.push(p[i], forged(2, f + i, 0xbad));
    deliver(0, b, pkts);
    // Then two forged in a row between genuine packets.
    deliver(0, b, [p[10], forged(2, f + 20, 0xbad), forged(2, f + 21, 0xbad), ...p.slice(11)]);
    assert.deepEqual(b.got, Array.from({ length: 20 }, (_, i) => i));
    assert.equal(b.ch.stats.droppedOutOfWindow, 12);
    assert.equal(b.ch.stats.resyncs, 0);
  });

  test("outside packets that disagree start again: scattered forged numbers never add up to a re-synchronisation", () => {
    const b = end(2, 1);
    deliver(0, b, [forged(2, 0, 0)]);
    for (let i = 1; i <= 12; i++) deliver(0, b, [forged(2, i * 0x1000, 0xbad)]);
    assert.deepEqual(b.got, [0]);
    assert.equal(b.ch.stats.resyncs, 0);
    assert.equal(b.ch.stats.droppedOutOfWindow, 11, "the last one is still held");
    deliver(0, b, [forged(2, 1, 1)]);
    assert.deepEqual(b.got, [0, 1]);
    assert.equal(b.ch.stats.droppedOutOfWindow, 12);
  });

  test("outside packets half the sequence space apart never agree (serial order is undefined there, RFC 1982 §3.2)", () => {
    const a = end(1, 2);
    const b = end(2, 1, { receiveWindow: 4 });
    const p = sendTags(0, a, Array.from({ length: 6 }, (_, i) => i));
    deliver(0, b, p.slice(0, 3));
    deliver(0, b, [forged(2, 0x80000010, 0xbad), forged(2, 0x10, 0xbad), forged(2, 0x11, 0xbad)]);
    assert.equal(b.ch.stats.resyncs, 0, "two of them agree, the first does not: no re-synchronisation");
    assert.equal(b.ch.stats.droppedOutOfWindow, 1);
    deliver(0, b, p.slice(3));
    assert.deepEqual(b.got, [0, 1, 2, 3, 4, 5]);
    assert.equal(b.ch.stats.droppedOutOfWindow, 3);
    assert.equal(b.ch.reorderPending, 0);
  });

  test("a forged first packet sets a wrong start: the genuine stream re-synchronises after three packets", () => {
    const a = end(1, 2);
    const b = end(2, 1);
    deliver(0, b, [forged(2, 0x40000000, 0xbad)]);
    deliver(0, b, sendTags(0, a, [0, 1, 2, 3]));
    assert.deepEqual(b.got, [0xbad, 0, 1, 2, 3]);
    assert.equal(b.ch.stats.resyncs, 1);
    assert.equal(ackNow(0, b), 3);
  });

  test("a lone forged packet inside the window, genuine packets flowing: it costs at most LONE_GAP_LIMIT of them, not a window", () => {
    const clock = new FakeClock(0);
    const a = end(1, 2, { flowControl: "off" });
    const b = end(2, 1, { reorderTimeoutMs: 50, ackDelayMs: 100_000 });
    const p = sendTags(0, a, Array.from({ length: 64 }, (_, i) => i));
    deliver(clock.now, b, [p[0], forged(2, 60, 0xbad)]);
    assert.equal(b.ch.reorderPending, 1);
    assert.equal(b.ch.pollTimeout(), LONE_WAIT_FACTOR * 50, "one packet's word alone: the long lone wait, not the reorder time-out");
    b.ch.handleTimeout(clock.advance(LONE_WAIT_FACTOR * 50 - 1));
    assert.deepEqual(b.got, [0]);
    // Genuine packets arrive in order more often than the lone wait, each restarting it: the gap behind the forged
    // packet closes until it is down to LONE_GAP_LIMIT (58 and 59), given up, and the forged one takes 60's place.
    for (let i = 1; i < 64; i++) {
      deliver(clock.now, b, [p[i]]);
      b.ch.handleTimeout(clock.advance(LONE_WAIT_FACTOR * 50 - 1));
    }
    const want = [...Array.from({ length: 58 }, (_, i) => i), 0xbad, 61, 62, 63];
    assert.deepEqual(b.got, want);
    assert.equal(b.ch.stats.lost, 2);
    assert.equal(b.ch.stats.resyncs, 0);
    assert.equal(b.ch.stats.loneSkips, 0, "the long wait never ran out");
  });

  test("a lone forged packet on an idle link is delivered after the long wait; the genuine packets it skipped come back and none is lost", () => {
    const clock = new FakeClock(0);
    const wait = LONE_WAIT_FACTOR * 50;
    const a = end(1, 2, { flowControl: "off" });
    const b = end(2, 1, { reorderTimeoutMs: 50, ackDelayMs: 100_000 });
    const p = sendTags(0, a, Array.from({ length: 200 }, (_, i) => i));
    deliver(clock.now, b, [p[0]]);
    let next = 1;
    const genuine: number[] = [0];
    const rounds = 10;
    // The attacker's best per lone wait on a quiet link: one forged packet at the far edge of the window.
    for (let r = 0; r < rounds; r++) {
      deliver(clock.now, b, [forged(2, next + 63, 0xbad0 + r)]);
      b.ch.handleTimeout(clock.advance(wait - 1));
      assert.equal(b.got.length, genuine.length + r, "nothing skipped before the long wait");
      b.ch.handleTimeout(clock.advance(1));
      assert.equal(b.got[b.got.length - 1], 0xbad0 + r, "the lone packet is delivered when its wait runs out");
      assert.equal(b.ch.stats.lost, 63, "and the gap behind it counted lost, for now");
      assert.equal(b.ch.stats.loneSkips, r + 1);
      // The genuine stream comes back behind it: held like outside packets, CONFIRM_PACKETS move us back.
      for (let k = 0; k < CONFIRM_PACKETS; k++) {
        deliver(clock.now, b, [p[next]]);
        genuine.push(next++);
        b.ch.handleTimeout(clock.advance(1000));
      }
      assert.equal(b.ch.stats.resyncs, r + 1);
      assert.equal(b.ch.stats.lost, 0, "the skipped numbers came round again: not lost");
    }
    deliver(clock.now, b, p.slice(next));
    while (next < 200) genuine.push(next++);
    assert.deepEqual(b.got.filter((t) => t < 0xbad0), genuine, "every genuine packet delivered, in order");
    assert.equal(b.got.length, 200 + rounds);
    assert.equal(b.ch.stats.lost, 0);
    assert.equal(b.ch.stats.droppedStale + b.ch.stats.droppedOutOfWindow + b.ch.stats.droppedDuplicate, 0);
    assert.equal(ackNow(clock.now, b), 199);
  });

  test("genuine loss: a small gap is skipped on one packet's word, a wide one once a second packet confirms", () => {
    const clock = new FakeClock(0);
    const a = end(1, 2);
    const b = end(2, 1, { reorderTimeoutMs: 50, ackDelayMs: 10_000 });
    const p = sendTags(0, a, Array.from({ length: 20 }, (_, i) => i));
    deliver(clock.now, b, [p[0], p[3]]); // 1..2 missing: LONE_GAP_LIMIT
    b.ch.handleTimeout(clock.advance(50));
    assert.deepEqual(b.got, [0, 3]);
    deliver(clock.now, b, [p[7]]); // 4..6 missing: one more than the limit
    b.ch.handleTimeout(clock.advance(LONE_WAIT_FACTOR * 50 - 100));
    assert.deepEqual(b.got, [0, 3], "one packet alone waits the long lone wait");
    deliver(clock.now, b, [p[8]]);
    assert.ok(b.ch.pollTimeout()! <= clock.now, "the gap is due: the first packet behind it has waited long enough");
    b.ch.handleTimeout(clock.now);
    assert.deepEqual(b.got, [0, 3, 7, 8]);
    assert.equal(b.ch.stats.lost, 5);
  });

  test("genuine loss on an idle link: the last packet of a burst, far past the gap, is delivered after the long wait", () => {
    const clock = new FakeClock(1000);
    const a = end(1, 2);
    const b = end(2, 1, { reorderTimeoutMs: 50, ackDelayMs: 100_000 });
    const p = sendTags(0, a, Array.from({ length: 10 }, (_, i) => i));
    deliver(clock.now, b, [p[0]]);
    clock.advance(20);
    deliver(clock.now, b, [p[6]]); // 1..5 lost; nothing else is sent
    assert.equal(b.ch.pollTimeout(), 1020 + LONE_WAIT_FACTOR * 50);
    b.ch.handleTimeout(clock.advance(LONE_WAIT_FACTOR * 50 - 1));
    assert.deepEqual(b.got, [0]);
    b.ch.handleTimeout(clock.advance(1));
    assert.deepEqual(b.got, [0, 6]);
    assert.equal(b.ch.stats.lost, 5);
    assert.equal(b.ch.stats.loneSkips, 1);
    assert.equal(b.ch.reorderPending, 0);
    assert.ok(b.ch.pollTimeout()! > clock.now + 1000, "no gap time-out left, only the delayed acknowledgment");
    assert.equal(ackNow(clock.now, b), 6);
    // A straggler from the skipped numbers is held, and dropped when the stream goes on in order.
    deliver(clock.now, b, [p[3], p[7]]);
    assert.deepEqual(b.got, [0, 6, 7]);
    assert.equal(b.ch.stats.droppedOutOfWindow, 1);
    assert.equal(b.ch.stats.lost, 5);
  });

  test("a reorder time-out of 0 still gives a lone packet the minimum lone wait", () => {
    const a = end(1, 2);
    const b = end(2, 1, { reorderTimeoutMs: 0, ackDelayMs: 100_000 });
    const p = sendTags(0, a, Array.from({ length: 10 }, (_, i) => i));
    deliver(0, b, [p[0], p[6]]);
    assert.equal(b.ch.pollTimeout(), LONE_WAIT_MIN_MS);
    b.ch.handleTimeout(LONE_WAIT_MIN_MS - 1);
    assert.deepEqual(b.got, [0]);
    b.ch.handleTimeout(LONE_WAIT_MIN_MS);
    assert.deepEqual(b.got, [0, 6]);
  });

  test("32-bit wrap: a burst of loss across 2^32 re-synchronises, a forged packet across it is dropped", () => {
    const a = end(1, 2, { initialSeq: 0xfffffff0, flowControl: "off" });
    const b = end(2, 1, { receiveWindow: 8 });
    const p = sendTags(0, a, Array.from({ length: 40 }, (_, i) => i));
    deliver(0, b, p.slice(0, 4));
    deliver(0, b, [forged(2, 0x10, 0xbad)]); // past the wrap, 0x1d ahead
    deliver(0, b, p.slice(4, 8));
    assert.deepEqual(b.got, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(b.ch.stats.droppedOutOfWindow, 1);
    // p[8..29] lost (0xfffffff8 .. 0x0d): p[30] = seq 0x0e onwards confirm the new position.
    deliver(0, b, p.slice(30, 33));
    assert.deepEqual(b.got, [0, 1, 2, 3, 4, 5, 6, 7, 30, 31, 32]);
    assert.equal(b.ch.stats.resyncs, 1);
    assert.equal(b.ch.stats.lost, 22);
    deliver(0, b, p.slice(33));
    assert.equal(b.got.length, 18);
    assert.equal(ackNow(0, b), 0x17);
  });

  for (const initialSeq of [0, 0xfffffffe]) {
    test(`a forged acknowledgment far ahead moves none of our send state (first sequence number 0x${initialSeq.toString(16)})`, () => {
      const a = end(1, 2, { peerReceiveWindow: 8, flowControl: "sliding", initialSeq });
      const b = end(2, 1);
      const p = sendTags(0, a, [1, 2, 3, 4]);
      assert.equal(a.ch.canSend(), false, "window 4 full");
      for (const ahead of [5, 0x100, 0x40000000, 0x7fffffff]) {
        deliver(1, a, [forged(1, undefined, 0, (initialSeq + ahead) >>> 0), forged(1, 0x5000 + ahead, 0xbad, (initialSeq + ahead) >>> 0)]);
      }
      // 2^31 - 1 ahead reads as behind in serial arithmetic (RFC 1982): an old acknowledgment, ignored, not counted.
      assert.equal(a.ch.stats.badAcks, 6);
      assert.equal(a.ch.outstanding, 4);
      assert.equal(a.ch.sendWindow, 4);
      assert.equal(a.ch.canSend(), false);
      assert.equal(a.ch.nextSendSeq, (initialSeq + 4) >>> 0);
      // The genuine acknowledgment still works.
      deliver(2, b, p);
      const [reply] = sendTags(2, b, [9]);
      deliver(3, a, [reply]);
      assert.equal(a.ch.outstanding, 0);
      assert.equal(a.ch.stats.badAcks, 6);
    });
  }
});

describe("GreChannel: randomized loss, duplication and reordering", () => {
  /**
   * Sends 600 packets 1-3 ms apart through a link that drops 5%, duplicates 5% and delays each by
   * 0-30 ms (so they arrive reordered), with a 50 ms reorder time-out.
   */
  function soak(seed: number, receiveWindow: number) {
    const rnd = prng(seed * 7919);
    const clock = new FakeClock(0);
    const a = end(1, 2, { flowControl: "off", initialSeq: 0xffffff00 + seed });
    const b = end(2, 1, { receiveWindow, reorderTimeoutMs: 50 });
    const inFlight: Array<{ at: number; pkt: Uint8Array }> = [];
    const dropped = new Set<number>();
    for (let i = 0; i < 600; i++) {
      const [pkt] = sendTags(clock.now, a, [i]);
      const r = rnd() % 100;
      if (r < 5) {
        dropped.add(i);
      } else {
        const delay = rnd() % 30;
        inFlight.push({ at: clock.now + delay, pkt });
        if (r < 10) inFlight.push({ at: clock.now + delay + (rnd() % 30), pkt });
      }
      clock.advance(1 + (rnd() % 3));
      inFlight.sort((x, y) => x.at - y.at);
      while (inFlight.length > 0 && inFlight[0].at <= clock.now) {
        const it = inFlight.shift() as { at: number; pkt: Uint8Array };
        b.ch.handlePacket(clock.now, it.pkt, 0, it.pkt.length);
      }
      const t = b.ch.pollTimeout();
      if (t !== undefined && t <= clock.now) b.ch.handleTimeout(clock.now);
    }
    for (const it of inFlight) b.ch.handlePacket(clock.now, it.pkt, 0, it.pkt.length);
    b.ch.handleTimeout(clock.advance(1000));
    return { b, dropped };
  }

  for (const seed of [1, 2, 3, 4, 5]) {
    test(`seed ${seed}: strictly in order, every sequence number delivered or counted lost`, () => {
      const { b, dropped } = soak(seed, 64);
      const got = b.got;
      for (let i = 1; i < got.length; i++) assert.ok(got[i] > got[i - 1], `order at ${i}: ${got[i - 1]} then ${got[i]}`);
      const s = b.ch.stats;
      const first = got[0];
      const last = got[got.length - 1];
      assert.equal(s.rx, got.length);
      assert.equal(s.rx + s.lost, last - first + 1);
      // With the window larger than the reordering depth, only packets really dropped are lost.
      const droppedInRange = [...dropped].filter((t) => t > first && t < last).length;
      assert.equal(s.lost, droppedInRange);
      assert.ok(s.reordered > 0, "some packets waited in the reorder buffer");
      assert.ok(s.droppedDuplicate > 0, "duplicates were dropped");
    });
  }

  test("a window smaller than the reordering depth still delivers strictly in order", () => {
    const { b } = soak(9, 8);
    const got = b.got;
    for (let i = 1; i < got.length; i++) assert.ok(got[i] > got[i - 1]);
    const s = b.ch.stats;
    assert.equal(s.rx + s.lost, got[got.length - 1] - got[0] + 1);
    assert.ok(s.droppedStale > 0, "packets that arrive after their gap was skipped are stale");
  });
});
