/**
 * DataCall (src/io/workers/data-call.ts), sans-I/O: a worker's half of a call carries IP both ways through the
 * call's own MPPE and GRE state, continues the control thread's GRE sequence, and hands every other frame back.
 */
import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { DataCall, type CallHandoff } from "../../../src/io/workers/data-call.js";
import { GreHeader, parseGreHeader } from "../../../src/wire/gre.js";
import { FakePeer, testKeys } from "../../../bench/workers/peer.js";
import { installMppeNative } from "../../../src/crypto/mppe-native.js";
import type { MppeReceiver, MppeSender } from "../../../src/crypto/mppe.js";
import { findAddonPath, loadNativeFrom } from "../../../src/io/native.js";
import { TestRoom } from "../../session/inproc-harness.js";

const LOCAL = 4000;
const PEER = 77;

function handoff(over: Partial<CallHandoff> = {}): CallHandoff {
  const k = testKeys(LOCAL);
  return {
    localCallId: LOCAL,
    peerCallId: PEER,
    peerIp: 0x0a000002,
    localIp: 0x0a000001,
    clientIp: 0xc0a8320a,
    peerReceiveWindow: 64,
    initialSeq: 41,
    sendFlags: { acfc: false, pfc: false },
    mppe: { sendKey: k.serverSend, recvKey: k.serverRecv, bits: 128, stateless: true },
    maxIpOut: 1396,
    ...over,
  };
}

function datagram(n: number, fill: number): Uint8Array {
  const d = new Uint8Array(n).fill(fill);
  d[0] = 0x45;
  d[2] = n >> 8; // Total Length: MPPE plaintext is accepted only as a consistent IPv4 header
  d[3] = n & 0xff;
  return d;
}

function rig(h: CallHandoff = handoff(), rooms?: { gre: TestRoom; ip: TestRoom }) {
  const gre: Uint8Array[] = [];
  const ip: Uint8Array[] = [];
  const control: Uint8Array[] = [];
  const call = new DataCall(
    h,
    (b, o, l) => {
      rooms?.gre.take(b, o, l);
      gre.push(b.slice(o, o + l));
    },
    (b, o, l) => {
      rooms?.ip.take(b, o, l);
      ip.push(b.slice(o, o + l));
    },
    (f) => control.push(f),
    rooms?.gre,
    rooms?.ip,
  );
  const peer = new FakePeer(LOCAL, PEER, h.mppe ? testKeys(LOCAL) : undefined);
  const deliver = (pkt: Uint8Array, now = 0): void => {
    const gh = new GreHeader();
    assert.ok(parseGreHeader(pkt, 0, pkt.length, gh).ok);
    call.receive(now, pkt, gh);
  };
  return { call, peer, gre, ip, control, deliver };
}

describe("DataCall: one call's data path on a worker", () => {
  test("encrypted IP from the peer comes out decrypted, in order", () => {
    const r = rig();
    const a = datagram(100, 1);
    const b = datagram(1300, 2);
    r.deliver(r.peer.ip(a));
    r.deliver(r.peer.ip(b));
    assert.deepEqual(r.ip, [a, b]);
    assert.equal(r.call.stats.ipIn, 2);
    assert.equal(r.call.stats.bytesIn, 1400);
  });

  test("IP to the peer is encrypted and continues the control thread's GRE sequence; control frames share it", () => {
    const r = rig();
    const a = datagram(200, 3);
    assert.ok(r.call.sendIp(0, a, 0, a.length));
    const lcpEchoReply = new Uint8Array([0xff, 0x03, 0xc0, 0x21, 0x0a, 0x01, 0x00, 0x08, 1, 2, 3, 4]);
    r.call.sendFrame(0, lcpEchoReply);
    assert.equal(r.gre.length, 2);
    const first = r.peer.read(r.gre[0], 0, r.gre[0].length)!;
    const second = r.peer.read(r.gre[1], 0, r.gre[1].length)!;
    assert.equal(first.callId, PEER);
    assert.equal(first.seq, 41, "the first packet the worker sends carries the control thread's next sequence number");
    assert.equal(first.protocol, 0x0021);
    assert.deepEqual(first.payload, a);
    assert.equal(second.seq, 42);
    assert.equal(second.protocol, 0xc021);
  });

  test("control frames from the peer go to the control thread; clear IP on an encrypted call is dropped", () => {
    const r = rig();
    const echo = new Uint8Array([0xff, 0x03, 0xc0, 0x21, 0x09, 0x07, 0x00, 0x08, 0, 0, 0, 0]);
    r.deliver(r.peer.frame(echo));
    r.deliver(r.peer.frame(new Uint8Array([0xff, 0x03, 0x00, 0x21, 0x45, 0, 0, 20])));
    assert.deepEqual(r.control, [echo]);
    assert.equal(r.ip.length, 0);
    assert.equal(r.call.stats.droppedClear, 1);
  });

  test("a datagram over the peer's MRU: fragments without DF, ICMP fragmentation-needed with DF (as session/call.ts)", () => {
    const r = rig(handoff({ mppe: undefined, maxIpOut: 500 }));
    const big = datagram(801, 0);
    assert.equal(r.call.sendIp(0, big, 0, big.length), true);
    assert.equal(r.call.stats.fragmented, 1);
    assert.equal(r.gre.length, 2, "two fragments");
    for (const g of r.gre) assert.ok(g.length <= 500 + 32, "each fragment fits the MRU");
    const df = datagram(801, 0);
    df[6] = 0x40; // Don't Fragment
    df[12] = 10; // a source to answer
    assert.equal(r.call.sendIp(0, df, 0, df.length), false);
    assert.equal(r.call.stats.droppedTooBig, 1);
    assert.equal(r.gre.length, 2, "nothing sent");
    assert.equal(r.ip.length, 1, "ICMP back into the TUN");
    assert.equal(r.ip[0][9], 1, "ICMP");
    assert.deepEqual([r.ip[0][20], r.ip[0][21], (r.ip[0][26] << 8) | r.ip[0][27]], [3, 4, 500], "type 3 code 4, next-hop MTU 500");
    r.gre.length = 0;
    r.ip.length = 0;
    const d = datagram(500, 9);
    assert.ok(r.call.sendIp(0, d, 0, d.length));
    assert.deepEqual(r.peer.read(r.gre[0], 0, r.gre[0].length)!.payload, d);
    r.deliver(r.peer.ip(d));
    assert.deepEqual(r.ip, [d]);
  });

  test("malformed frames and undecryptable MPPE are counted and dropped, never thrown", () => {
    const r = rig();
    r.deliver(r.peer.frame(new Uint8Array([0xff, 0x03]))); // a PPP header cut short
    r.deliver(r.peer.frame(new Uint8Array([0xff, 0x03, 0x00, 0xfd, 0x90, 0x00]))); // MPPE header, nothing after it
    r.deliver(r.peer.frame(new Uint8Array([0xff, 0x03, 0x00, 0xfd, 0x90, 0x01, 1, 2, 3, 4, 5, 6, 7, 8]))); // wrong key stream
    assert.equal(r.ip.length, 0);
    assert.equal(r.control.length, 0);
    assert.equal(r.call.stats.droppedMalformed, 1);
    assert.equal(r.call.stats.droppedMppe, 2);
    // The call still works afterwards (the MPPE engine decides which coherency counts it still takes: the later ones).
    const d = datagram(60, 4);
    for (let i = 0; i < 3; i++) r.deliver(r.peer.ip(d));
    assert.ok(r.ip.length >= 1);
    assert.deepEqual(r.ip.at(-1), d);
  });

  test("built in the queues' rooms (core/packet-room.ts): the same datagrams and GRE as without, lost, duplicate, late and replayed packets leave nothing taken", () => {
    const peer = new FakePeer(LOCAL, PEER, testKeys(LOCAL));
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) {
      // 100: an MPPE packet with an old coherency count (a replay), which MPPE drops after GRE passed it on.
      if (i === 100) sent.push(peer.frame(new Uint8Array([0xff, 0x03, 0x00, 0xfd, 0x90, 0x01, 1, 2, 3, 4, 5, 6, 7, 8])));
      else sent.push(peer.ip(datagram(20 + ((i * 389) % 1377), i)));
    }
    // One lost (50), one duplicated (60), one late (70 after 72), as the wire delivers them.
    const order: number[] = [];
    for (let i = 0; i < 200; i++) {
      if (i === 50 || i === 70) continue;
      order.push(i);
      if (i === 60) order.push(60);
      if (i === 72) order.push(70);
    }
    const plain = rig();
    const rooms = { gre: new TestRoom(), ip: new TestRoom() };
    const roomy = rig(handoff(), rooms);
    for (const i of order) {
      plain.deliver(sent[i]);
      roomy.deliver(sent[i]);
    }
    for (let i = 0; i < 100; i++) {
      const d = datagram(1396 - ((i * 211) % 1376), 0x40 + i);
      assert.equal(roomy.call.sendIp(0, d, 0, d.length), plain.call.sendIp(0, d, 0, d.length));
    }
    assert.ok(plain.ip.length >= 196, `delivered ${plain.ip.length}`);
    assert.deepEqual(roomy.ip, plain.ip);
    assert.deepEqual(roomy.gre, plain.gre);
    assert.deepEqual(roomy.call.stats, plain.call.stats);
    assert.deepEqual(rooms.ip.counts.inPlace, plain.ip.length);
    assert.equal(roomy.call.stats.droppedMppe, 1);
    assert.equal(rooms.ip.counts.rooms, rooms.ip.counts.inPlace + 1, "the replayed packet asked for a room too, and left it untaken");
    assert.deepEqual([rooms.ip.counts.copied, rooms.ip.counts.outside], [0, 0]);
    assert.deepEqual(rooms.gre.counts, { rooms: 100, inPlace: 100, copied: plain.gre.length - 100, outside: 0 });
  });

  test("stateful MPPE is not taken", () => {
    const h = handoff();
    assert.throws(() => rig({ ...h, mppe: { ...h.mppe!, stateless: false as true } }), /only stateless MPPE/);
  });

  test("clear IP from anywhere in a batch buffer, and from another buffer after it, goes out byte for byte", () => {
    const r = rig(handoff({ mppe: undefined }));
    const batchA = new Uint8Array(4096);
    const a = datagram(300, 0x11);
    batchA.set(a, 1000);
    const batchB = new Uint8Array(2048);
    const b = datagram(200, 0x22);
    batchB.set(b, 7);
    assert.ok(r.call.sendIp(0, batchA, 1000, a.length));
    assert.ok(r.call.sendIp(0, batchB, 7, b.length));
    assert.ok(r.call.sendIp(0, batchA, 1000, a.length));
    const got = r.gre.map((g) => r.peer.read(g, 0, g.length)!.payload);
    assert.deepEqual(got, [a, b, a]);
  });

  test("handBack: a new DataCall from the state carries on the GRE sequence and the MPPE counts exactly", () => {
    const r = rig();
    for (let i = 0; i < 3; i++) {
      const d = datagram(100, i);
      assert.ok(r.call.sendIp(0, d, 0, d.length));
      r.deliver(r.peer.ip(datagram(120, i)));
    }
    const state = r.call.handBack();
    assert.equal(state.gre.nextSendSeq, 44, "41 + three sent");
    assert.equal(state.gre.rxExpected, 3, "the peer's next sequence number");
    assert.deepEqual([state.mppe?.send.count, state.mppe?.recv.count], [2, 2]);
    const h = handoff();
    const gre: Uint8Array[] = [];
    const ip: Uint8Array[] = [];
    const next = new DataCall({ ...h, gre: state.gre, mppe: { ...h.mppe!, send: state.mppe!.send, recv: state.mppe!.recv } }, (b, o, l) => gre.push(b.slice(o, o + l)), (b, o, l) => ip.push(b.slice(o, o + l)), () => {});
    const d = datagram(150, 7);
    assert.ok(next.sendIp(0, d, 0, d.length));
    for (const g of r.gre) r.peer.read(g, 0, g.length);
    const seen = r.peer.read(gre[0], 0, gre[0].length)!;
    assert.equal(seen.seq, 44);
    assert.deepEqual(seen.payload, d, "the peer's receiver (at count 2) decrypts count 3: no count reused");
    // The peer's next packet is taken at once: the receive sequence (expected 3) came along.
    const gh = new GreHeader();
    const fresh = r.peer.ip(datagram(90, 8));
    assert.ok(parseGreHeader(fresh, 0, fresh.length, gh).ok);
    next.receive(0, fresh, gh);
    assert.equal(ip.length, 1);
    assert.deepEqual(ip[0], datagram(90, 8));
  });

  test("handBack: packets waiting behind a gap in the reorder buffer come with the state, still encrypted, and reach the next receiver in order", () => {
    const r = rig();
    const h = handoff();
    // The peer's packets 0..4: IP, IP, IP, IP, then an LCP Configure-Request (a renegotiation's next frame).
    const lcpConfReq = new Uint8Array([0xff, 0x03, 0xc0, 0x21, 0x01, 0x07, 0x00, 0x04]);
    const pkts = [r.peer.ip(datagram(100, 10)), r.peer.ip(datagram(101, 11)), r.peer.ip(datagram(102, 12)), r.peer.ip(datagram(103, 13)), r.peer.frame(lcpConfReq)];
    r.deliver(pkts[0]);
    for (const k of [2, 3, 4]) r.deliver(pkts[k]); // 1 is late: 2, 3 and 4 wait behind the gap
    assert.equal(r.ip.length, 1);
    const state = r.call.handBack();
    assert.equal(state.gre.rxExpected, 1, "the gap is still open");
    assert.deepEqual(state.held?.map((p) => p.seq), [2, 3, 4]);
    // They moved, not copied: the worker's channel does not deliver them at its gap time-out any more.
    r.call.handleTimeout(10_000);
    assert.equal(r.ip.length, 1);
    assert.equal(r.control.length, 0);
    // The control thread's side continues from the state, takes the held packets first (pool.ts → onGre), then the late one.
    const ip: Uint8Array[] = [];
    const control: Uint8Array[] = [];
    const next = new DataCall({ ...h, gre: state.gre, mppe: { ...h.mppe!, send: state.mppe!.send, recv: state.mppe!.recv } }, () => {}, (b, o, l) => ip.push(b.slice(o, o + l)), (f) => control.push(f));
    for (const p of state.held!) {
      const gh = new GreHeader();
      gh.callId = LOCAL;
      gh.hasSeq = p.hasSeq;
      gh.seq = p.seq;
      gh.payloadOffset = 0;
      gh.payloadLength = p.payload.length;
      next.receive(0, p.payload, gh);
    }
    assert.equal(ip.length, 0, "still behind the gap");
    const gh = new GreHeader();
    assert.ok(parseGreHeader(pkts[1], 0, pkts[1].length, gh).ok);
    next.receive(0, pkts[1], gh);
    assert.deepEqual(ip, [datagram(101, 11), datagram(102, 12), datagram(103, 13)], "decrypted with the handed-back MPPE state, in order");
    assert.deepEqual(control, [lcpConfReq], "the renegotiation's frame is not lost");
  });

  test("with the C cipher installed (a worker that loaded the addon): a TypeScript peer both ways, and the hand-back continues in TypeScript", () => {
    const native = loadNativeFrom(findAddonPath()).mppe;
    assert.ok(native !== undefined, "the addon has no mppe object: rebuild it");
    installMppeNative(native);
    let r: ReturnType<typeof rig>;
    try {
      r = rig();
    } finally {
      installMppeNative(undefined);
    }
    const mppeOf = (c: DataCall): { sender: MppeSender; receiver: MppeReceiver } => c as unknown as { sender: MppeSender; receiver: MppeReceiver };
    assert.equal(mppeOf(r.call).sender.isNative, true);
    assert.equal(mppeOf(r.call).receiver.isNative, true);
    const peer = new FakePeer(LOCAL, PEER, testKeys(LOCAL)); // TypeScript: installed again only for the rig above
    for (let i = 0; i < 40; i++) {
      const up = datagram(60 + i * 30, i);
      r.deliver(peer.ip(up));
      const down = datagram(1300 - i * 20, 100 + i);
      assert.ok(r.call.sendIp(0, down, 0, down.length));
      const g = r.gre[r.gre.length - 1];
      assert.deepEqual(peer.read(g, 0, g.length)?.payload, down, `packet ${i} down`);
    }
    assert.equal(r.ip.length, 40);
    for (let i = 0; i < 40; i++) assert.deepEqual(r.ip[i], datagram(60 + i * 30, i), `packet ${i} up`);
    const state = r.call.handBack();
    const h = handoff();
    const gre: Uint8Array[] = [];
    const ip: Uint8Array[] = [];
    const next = new DataCall({ ...h, gre: state.gre, mppe: { ...h.mppe!, send: state.mppe!.send, recv: state.mppe!.recv } }, (b, o, l) => gre.push(b.slice(o, o + l)), (b, o, l) => ip.push(b.slice(o, o + l)), () => {});
    assert.equal(mppeOf(next).sender.isNative, false);
    const d = datagram(150, 7);
    assert.ok(next.sendIp(0, d, 0, d.length));
    assert.deepEqual(peer.read(gre[0], 0, gre[0].length)?.payload, d, "count 40 after the C sender's 0..39");
    const gh = new GreHeader();
    const fresh = peer.ip(datagram(90, 8));
    assert.ok(parseGreHeader(fresh, 0, fresh.length, gh).ok);
    next.receive(0, fresh, gh);
    assert.deepEqual(ip, [datagram(90, 8)]);
  });
});
