/**
 * WorkerCalls (src/server/worker-calls.ts) around a renegotiation, sans-I/O: our client engine and server engine in
 * memory (test/session/inproc-harness.ts), the server's call handed to a "worker" that is a real DataCall in this
 * thread (the pool's job — threads, steering — is test/io/workers/pool.test.ts's). After network-up the client sends
 * a CCP Configure-Request (RFC 1661 §3.2: in Opened it restarts negotiation; RFC 3078 §7.3: MPPE restarts from its
 * start keys). The call must come back to the control thread with the worker's exact GRE and MPPE state, renegotiate
 * there, carry IP both ways there, and go to a worker again, continuing the coherency counts and sequence numbers.
 * A worker that kept the call would decrypt the client's restarted MPPE with its old receiver and drop it.
 */
import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { LocalUsers } from "../../../src/aaa/local.js";
import { DataCall, type CallHandoff } from "../../../src/io/workers/data-call.js";
import type { DataPlaneWorkers, TakenBack } from "../../../src/io/workers/pool.js";
import { forwardedHeader, type ForwardedGre } from "../../../src/io/workers/protocol.js";
import { WorkerCalls } from "../../../src/server/worker-calls.js";
import { GreHeader, parseGreHeader } from "../../../src/wire/gre.js";
import { fakeIpPacket, seededRandom } from "../../support/random.js";
import { makeHarness, ofType, type Harness, type HarnessOptions } from "../../session/inproc-harness.js";

const users = new LocalUsers([{ user: "alice", password: "correct horse" }]);

/** The pool's interface as WorkerCalls uses it, with DataCalls in this thread. */
class InlinePool {
  readonly calls = new Map<number, DataCall>();
  readonly handOffs: CallHandoff[] = [];
  readonly takeBacks: TakenBack[] = [];
  /** IP the "worker" delivered (also in h.serverIpIn). */
  readonly workerIpIn: Uint8Array[] = [];
  /** Control frames the "worker" passed up, delivered after the packet that carried them (a message, in reality). */
  private readonly control: Array<[number, Uint8Array]> = [];
  readonly size = 1;
  constructor(private readonly h: Harness) {}
  ownerOf(id: number): number | undefined {
    return this.calls.has(id) ? 1 : undefined;
  }
  async handOff(c: CallHandoff): Promise<number> {
    const dc = new DataCall(
      c,
      (b, o, l) => this.h.injectGre("client", b.slice(o, o + l)),
      (b, o, l) => {
        this.h.serverIpIn.push(b.slice(o, o + l));
        this.workerIpIn.push(b.slice(o, o + l));
      },
      (f) => this.control.push([c.localCallId, f]),
    );
    this.calls.set(c.localCallId, dc);
    // As data-worker.ts's "add": the control thread's reordered packets go into the new channel first.
    for (const p of c.held ?? []) dc.receiveForwarded(this.h.clock.now, p);
    this.handOffs.push(c);
    return 1;
  }
  async takeBack(id: number, forward?: { onState: (t: TakenBack) => void }): Promise<TakenBack | undefined> {
    const dc = this.calls.get(id);
    if (dc === undefined) return undefined;
    this.calls.delete(id);
    const t: TakenBack = { stats: { callId: id, ...dc.stats, greLost: 0, greOutOfWindow: 0, greNextSendSeq: dc.channel.nextSendSeq }, state: dc.handBack() };
    this.takeBacks.push(t);
    forward?.onState(t);
    return t;
  }
  sendFrame(id: number, f: Uint8Array): boolean {
    const dc = this.calls.get(id);
    if (dc === undefined) return false;
    dc.sendFrame(this.h.clock.now, f);
    return true;
  }
  forwardGre(id: number, p: ForwardedGre): boolean {
    const dc = this.calls.get(id);
    dc?.receiveForwarded(this.h.clock.now, p);
    return dc !== undefined;
  }
  forwardIp(id: number, p: Uint8Array): boolean {
    return this.calls.get(id)?.sendIp(this.h.clock.now, p, 0, p.length) ?? false;
  }
  async stats(): Promise<unknown[]> {
    return [{ owner: 1, calls: [...this.calls].map(([callId, c]) => ({ callId, ...c.stats, greLost: 0, greOutOfWindow: 0, greNextSendSeq: c.channel.nextSendSeq })), gre: {} }];
  }
  async close(): Promise<void> {}
  takeControl(): Array<[number, Uint8Array]> {
    return this.control.splice(0);
  }
}

/** Our client and server in memory with stateless MPPE-128 (what runs on a worker), seeded. */
function mppeHarness(seed: number, serverSeed: number, clientSeed: number): HarnessOptions {
  return {
    auth: users,
    seed,
    serverLink: {
      random: seededRandom(serverSeed),
      lcp: { echoIntervalMs: 60_000 },
      authenticatePeer: { methods: ["mschap-v2"], hostName: "pptp-ts" },
      ccp: { policy: "require", strengths: [128], stateless: "prefer" },
    },
    clientLink: {
      random: seededRandom(clientSeed),
      lcp: { echoIntervalMs: 60_000 },
      authenticateSelf: { methods: ["mschap-v2"], userName: "alice", password: "correct horse" },
      ipcp: () => ({ role: "client", requestDns: false }),
      ccp: { policy: "require", strengths: [128], stateless: "prefer" },
    },
  };
}

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Both engines started, until the call is up at both ends: the server's Call ID and the client's. */
async function startCall(h: Harness): Promise<{ callId: number; clientCall: number }> {
  h.client.start(h.clock.now);
  h.server.start(h.clock.now);
  await h.settle(() => ofType(h.serverEvents, "network-up").length > 0 && ofType(h.clientEvents, "network-up").length > 0);
  return { callId: [...h.server.sessions.keys()][0], clientCall: h.client.currentCallId! };
}

/**
 * A call up between our client and server in memory, and WorkerCalls over `pool`. GRE reaches the control thread
 * (`toServer`), or with `steer` the call's worker once it has one (the steering entry); `hold(n)` has the client send
 * n datagrams and keeps their GRE packets off the wire for the test to deliver.
 */
async function callUp<P extends InlinePool>(seeds: readonly [number, number, number], makePool: (h: Harness) => P, steer: boolean) {
  const h = makeHarness(mppeHarness(...seeds));
  const pool = makePool(h);
  const logs: string[] = [];
  // The server's workerGre: a packet for the control thread's side of the call, through its connection.
  const toControl = (callId: number, p: ForwardedGre): void => {
    h.server.handleParsedGre(h.clock.now, forwardedHeader(p, callId, new GreHeader()), p.payload);
  };
  const wc = new WorkerCalls(pool as unknown as DataPlaneWorkers, (_c, m) => logs.push(m), 3_600_000, () => {}, () => h.clock.now, toControl);
  const ends = { peerIp: 0x0a630002, localIp: 0x0a630001, clientIp: 0xc0a8320a };
  const toServer = h.server.handleGre.bind(h.server);
  let captured: Uint8Array[] | undefined;
  const gh = new GreHeader();
  h.server.handleGre = (now, callId, buf, off, len) => {
    assert.ok(parseGreHeader(buf, off, len, gh).ok);
    if (captured !== undefined && gh.hasSeq) return (captured.push(buf.slice(off, off + len)), true);
    const dc = steer ? pool.calls.get(callId) : undefined;
    if (dc === undefined) return toServer(now, callId, buf, off, len);
    dc.receive(now, buf, gh);
    return true;
  };
  const { callId, clientCall } = await startCall(h);
  const hold = async (n: number, firstTag: number): Promise<{ up: Uint8Array[]; pkts: Uint8Array[] }> => {
    captured = [];
    const up = Array.from({ length: n }, (_, i) => fakeIpPacket(200, firstTag + i, "192.168.50.10", "10.1.1.1"));
    for (const d of up) h.client.sendIp(h.clock.now, clientCall, d, 0, d.length);
    await h.settle(() => captured!.length >= n, 100);
    const pkts = captured;
    captured = undefined;
    assert.equal(pkts.length, n);
    return { up, pkts };
  };
  return { h, pool, logs, wc, ends, toServer, callId, clientCall, hold, gh };
}

describe("WorkerCalls: a peer renegotiates a call that runs on a worker", () => {
  test("CCP restart: the call comes back with its exact state, renegotiates, carries IP, and goes out again", async () => {
    const h = makeHarness(mppeHarness(5, 21, 23));
    const pool = new InlinePool(h);
    const logs: string[] = [];
    const wc = new WorkerCalls(pool as unknown as DataPlaneWorkers, (_c, m) => logs.push(m), 3_600_000, () => {}, () => h.clock.now);
    // The poll (every POLL_MS in the server) runs when the test says: `poll` is private, its timer an hour away.
    const poll = (): Promise<void> => (wc as unknown as { poll(): Promise<void> }).poll();
    const ends = { peerIp: 0x0a630002, localIp: 0x0a630001, clientIp: 0xc0a8320a };

    // The server's side of the wiring (server.ts): network-up hands off; GRE of a handed-off call goes to its
    // worker; the worker's control frames go to the link, then afterControl.
    const origPoll = h.server.pollEvent.bind(h.server);
    h.server.pollEvent = () => {
      const e = origPoll();
      if (e?.type === "network-up") {
        const s = h.server.sessions.get(e.callId);
        if (s) wc.handOff(e.callId, s, ends, () => {});
      }
      return e;
    };
    const origGre = h.server.handleGre.bind(h.server);
    const gh = new GreHeader();
    h.server.handleGre = (now, callId, buf, off, len) => {
      const dc = pool.calls.get(callId);
      if (dc === undefined) return origGre(now, callId, buf, off, len);
      assert.ok(parseGreHeader(buf, off, len, gh).ok);
      dc.receive(now, buf, gh);
      for (const [id, f] of pool.takeControl()) {
        h.server.sessions.get(id)?.receiveControlFrame(now, f);
        h.server.handleTimeout(now);
        wc.afterControl(id);
      }
      return true;
    };

    const { callId, clientCall } = await startCall(h);
    await tick();
    assert.equal(pool.ownerOf(callId), 1, `handed off at network-up: ${logs.join("\n")}`);

    let n = 0;
    /** k datagrams each way; returns how many arrived on each side. */
    const traffic = async (k: number): Promise<{ up: number; down: number }> => {
      h.serverIpIn.length = 0;
      h.clientIpIn.length = 0;
      for (let i = 0; i < k; i++, n++) {
        const up = fakeIpPacket(300, n, "192.168.50.10", "10.1.1.1");
        const down = fakeIpPacket(300, n + 5000, "10.1.1.1", "192.168.50.10");
        h.client.sendIp(h.clock.now, clientCall, up, 0, up.length);
        const dc = pool.calls.get(callId);
        if (dc !== undefined) dc.sendIp(h.clock.now, down, 0, down.length);
        else h.server.sendIp(h.clock.now, callId, down, 0, down.length);
      }
      await h.settle(() => false, 500);
      return { up: h.serverIpIn.length, down: h.clientIpIn.length };
    };

    assert.deepEqual(await traffic(6), { up: 6, down: 6 }, "IP both ways through the worker");

    // The client restarts CCP: a Configure-Request for stateless MPPE-128 (RFC 3078 §2.1: H and S bits).
    const ccpRequest = new Uint8Array([0xff, 0x03, 0x80, 0xfd, 0x01, 0x77, 0x00, 0x0a, 0x12, 0x06, 0x01, 0x00, 0x00, 0x40]);
    const clientSession = h.client.sessions.get(clientCall)!;
    clientSession.channel.send(h.clock.now, ccpRequest, 0, ccpRequest.length);
    await h.settle(() => false, 200);
    await tick();
    await h.settle(() => false, 5000);

    assert.equal(pool.takeBacks.length, 1, `taken back once: ${logs.join("\n")}`);
    const back = pool.takeBacks[0];
    // The worker's sequence state came back exactly: the handoff started at the control thread's number, the worker
    // sent 6 datagrams plus the control frames the link passed it (CCP Ack + Request).
    assert.ok(back.state, "state handed back");
    assert.equal(back.stats?.ipOut, 6);
    assert.equal(back.state.gre.nextSendSeq, pool.handOffs[0].initialSeq + 6 + back.stats!.controlOut);
    assert.equal(back.state.mppe?.send.count, 5, "the worker's sender stopped at count 5 (six packets from 0)");
    assert.ok(logs.some((l) => /the peer renegotiates/.test(l)), logs.join("\n"));
    assert.equal(pool.ownerOf(callId), undefined, "the call runs on the control thread while it renegotiates and until the next poll");

    // Renegotiated: MPPE restarted on both sides; IP flows on the control thread.
    assert.deepEqual(await traffic(4), { up: 4, down: 4 }, "IP both ways on the control thread after the CCP restart");

    // A CCP-only restart raises no new network-up: the next poll hands the call out again, with the link's state.
    await poll();
    assert.equal(pool.handOffs.length, 2, "handed off again");
    const again = pool.handOffs[1];
    assert.equal(again.mppe?.send?.count, 3, "the new worker's sender continues after the control thread's 4 packets (0..3)");
    assert.ok(again.gre !== undefined && again.gre.nextSendSeq > back.state.gre.nextSendSeq, "sequence numbers go on from the control thread's");
    assert.deepEqual(await traffic(5), { up: 5, down: 5 }, "IP both ways through the worker again");
    await wc.close();
  });
});

describe("WorkerCalls: packets out of order at the moment of the hand-off", () => {
  test("what waits in the control thread's reorder buffer, and GRE it still reads, come out of the worker in order, once, acknowledged", async () => {
    const { h, pool, logs, wc, ends, toServer, callId, clientCall, hold, gh } = await callUp([7, 31, 33], (x) => new InlinePool(x), true);
    const steered = (pkt: Uint8Array): void => {
      assert.ok(parseGreHeader(pkt, 0, pkt.length, gh).ok);
      pool.calls.get(gh.callId)!.receive(h.clock.now, pkt, gh);
    };

    // Eight datagrams from the client, held on the wire.
    const { up, pkts } = await hold(8, 700);
    const seqOf = (p: Uint8Array): number => (assert.ok(parseGreHeader(p, 0, p.length, gh).ok), gh.seq);

    // The control thread gets 0, 2 and 3: 2 and 3 wait in its reorder buffer behind 1.
    for (const k of [0, 2, 3]) toServer(h.clock.now, callId, pkts[k], 0, pkts[k].length);
    assert.deepEqual(h.serverIpIn, [up[0]]);
    const session = h.server.sessions.get(callId)!;
    assert.ok(wc.handOff(callId, session, ends, () => {}), logs.join("\n"));
    const rxAtHandOff = session.channel.stats.rx;
    await tick();
    assert.equal(pool.ownerOf(callId), 1);
    assert.equal(pool.handOffs[0].gre?.rxExpected, seqOf(pkts[1]), "receiving continues at the gap");

    // 5 was queued on the control thread's socket before the steering entry took effect; 1, 4, 6, 7 go to the worker.
    toServer(h.clock.now, callId, pkts[5], 0, pkts[5].length);
    for (const k of [1, 4, 6, 7]) steered(pkts[k]);

    // No time has passed: nothing was waited out or given up on.
    assert.deepEqual(h.serverIpIn, up, "all eight, in order, none twice");
    assert.deepEqual(pool.workerIpIn, up.slice(1), "1..7 from the worker");
    const dc = pool.calls.get(callId)!;
    assert.equal(dc.channel.stats.lost, 0);
    assert.equal(dc.channel.stats.droppedDuplicate, 0);
    assert.deepEqual(pool.handOffs[0].held?.map((p) => p.seq), [seqOf(pkts[2]), seqOf(pkts[3])], "the held packets go with the state");

    // Later: the control thread's channel delivers nothing more (nothing was left in it), and the worker's
    // acknowledgment reaches the client up to the last packet (RFC 2637 §4.4).
    // A second later (past every reorder and acknowledgment delay), both sides' timers served; the worker's is
    // what data-worker.ts serves every tick.
    h.clock.now += 1000;
    h.server.handleTimeout(h.clock.now);
    const due = dc.pollTimeout();
    assert.ok(due !== undefined && due <= h.clock.now, "the worker's acknowledgment is due");
    dc.handleTimeout(h.clock.now);
    await h.settle(() => false, 100);
    assert.equal(h.serverIpIn.length, 8, "no duplicate from the control thread's side");
    assert.equal(session.channel.stats.rx, rxAtHandOff, "the control thread's channel received nothing after the hand-off");
    assert.equal(h.client.sessions.get(clientCall)!.channel.dataState().acked, seqOf(pkts[7]), "acknowledged through the last");
    await wc.close();
  });
});

/**
 * A worker that refuses the call (its "add" failed: a full TUN queue, a demux error) answers after one MessagePort
 * round trip; GRE the control thread read in that window went to it with `forwardGre` and the worker, which has no
 * call for it, drops it. The call carries on, on the control thread: those packets must reach it there.
 */
class RefusingPool extends InlinePool {
  /** GRE the control thread forwarded: posted to the worker, which has no call for it and drops it. */
  readonly forwarded: ForwardedGre[] = [];
  private refuse: (() => void) | undefined;
  override async handOff(c: CallHandoff): Promise<number> {
    this.handOffs.push(c);
    await new Promise<void>((r) => (this.refuse = r));
    throw new Error("cannot add the call: TUN queue closed");
  }
  override forwardGre(_id: number, p: ForwardedGre): boolean {
    this.forwarded.push(p);
    return true;
  }
  answer(): void {
    this.refuse?.();
  }
}

describe("WorkerCalls: the worker refuses the call", () => {
  test("GRE read while the refusal was on its way, and the reordered packets, reach the call on the control thread, in order", async () => {
    const { h, pool, logs, wc, ends, toServer, callId, clientCall, hold } = await callUp([9, 41, 43], (x) => new RefusingPool(x), false);
    const { up, pkts } = await hold(8, 900);

    // 0, 2, 3 before the hand-off (2 and 3 wait behind 1); 1, 4..7 read by the control thread while the "add" is
    // unanswered: all forwarded to the worker.
    for (const k of [0, 2, 3]) toServer(h.clock.now, callId, pkts[k], 0, pkts[k].length);
    assert.deepEqual(h.serverIpIn, [up[0]]);
    const session = h.server.sessions.get(callId)!;
    assert.ok(wc.handOff(callId, session, ends, () => {}), logs.join("\n"));
    for (const k of [1, 4, 5, 6, 7]) toServer(h.clock.now, callId, pkts[k], 0, pkts[k].length);
    assert.equal(pool.forwarded.length, 5, "forwarded to the worker while its answer was on the way");
    assert.deepEqual(h.serverIpIn, [up[0]], "nothing delivered here meanwhile");

    pool.answer();
    await tick();
    assert.ok(logs.some((l) => /the call's data stays on the control thread/.test(l)), logs.join("\n"));
    assert.deepEqual(h.serverIpIn, up, "all eight, in order, none twice, on the control thread");
    assert.equal(session.channel.stats.lost, 0);
    assert.equal(wc.stats()["gre-forward-lost"], 0);

    // The call goes on here: later GRE reaches the channel directly.
    const more = fakeIpPacket(200, 999, "192.168.50.10", "10.1.1.1");
    h.client.sendIp(h.clock.now, clientCall, more, 0, more.length);
    await h.settle(() => h.serverIpIn.length >= 9, 100);
    assert.deepEqual(h.serverIpIn.at(-1), more);
    assert.equal(pool.forwarded.length, 5, "nothing more forwarded after the refusal");
    await wc.close();
  });
});

/**
 * A pool that refuses to forward a call's GRE until its worker has taken the call. pool.ts records the owner before
 * it asks, so it refuses only when the worker went away meanwhile; whatever the reason, GRE the control thread read
 * while the answer was on its way must reach the worker once it takes the call, or be counted lost. Before, a
 * refused forward was kept for a refusal of the call only, and on acceptance it vanished uncounted.
 */
class LateAcceptingPool extends InlinePool {
  private accept: (() => void) | undefined;
  refusedForwards = 0;
  override async handOff(c: CallHandoff): Promise<number> {
    await new Promise<void>((r) => (this.accept = r));
    return super.handOff(c);
  }
  override forwardGre(id: number, p: ForwardedGre): boolean {
    const ok = super.forwardGre(id, p);
    if (!ok) this.refusedForwards++;
    return ok;
  }
  answer(): void {
    this.accept?.();
  }
}

describe("WorkerCalls: the worker takes the call late", () => {
  test("GRE the pool could not forward before the answer reaches the worker after it, in order, none lost", async () => {
    const { h, pool, logs, wc, ends, toServer, callId, hold } = await callUp([11, 51, 53], (x) => new LateAcceptingPool(x), true);
    const { up, pkts } = await hold(8, 1100);
    // 0, 2, 3 before the hand-off (2 and 3 wait behind 1, and go with the state); 1, 4..7 read while it is unanswered.
    for (const k of [0, 2, 3]) toServer(h.clock.now, callId, pkts[k], 0, pkts[k].length);
    const session = h.server.sessions.get(callId)!;
    assert.ok(wc.handOff(callId, session, ends, () => {}), logs.join("\n"));
    for (const k of [1, 4, 5, 6, 7]) toServer(h.clock.now, callId, pkts[k], 0, pkts[k].length);
    assert.equal(pool.refusedForwards, 5, "no steering entry yet: the pool refused each forward");
    assert.deepEqual(h.serverIpIn, [up[0]]);

    pool.answer();
    await tick();
    assert.equal(pool.ownerOf(callId), 1);
    assert.deepEqual(h.serverIpIn, up, "all eight, in order, none twice");
    assert.deepEqual(pool.workerIpIn, up.slice(1), "1..7 from the worker");
    assert.equal(pool.calls.get(callId)!.channel.stats.lost, 0);
    assert.equal(wc.stats()["gre-forward-lost"], 0);
    await wc.close();
  });
});
