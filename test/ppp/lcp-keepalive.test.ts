/**
 * LCP keepalive when frames arrive (lcp.ts, "Keepalive"): an Echo-Request goes out only after an interval with
 * nothing from the peer (RFC 1661 §5.8 leaves the when to us; pppd's lcp-echo-adaptive), the server role yields to
 * a peer that echoes itself, and a dead peer is still found within (echoFailures + 1) intervals of its last frame.
 * FakeClock-style: `now` is handed in, nothing sleeps.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LcpEngine, type LcpConfig, type LcpEvent } from "../../src/ppp/lcp.js";
import { unwrap } from "../../src/wire/result.js";
import { parseLcpPacket, type LcpPacket } from "../../src/wire/ppp-cp.js";
import { fromHex } from "../../src/wire/bytes.js";
import { pump, seededRandom } from "./fsm-harness.js";

const I = 10_000;

function engine(config: Partial<LcpConfig>, seed: number): LcpEngine {
  return new LcpEngine({ random: seededRandom(seed), echoIntervalMs: I, echoFailures: 4, ...config });
}

function drain(e: LcpEngine): { packets: LcpPacket[]; events: LcpEvent[] } {
  const packets: LcpPacket[] = [];
  for (let p = e.pollTransmit(); p; p = e.pollTransmit()) packets.push(unwrap(parseLcpPacket(p)));
  const events: LcpEvent[] = [];
  for (let ev = e.pollEvent(); ev; ev = e.pollEvent()) events.push(ev);
  return { packets, events };
}

/** Two engines negotiated to Opened at time 0, their negotiation output drained. */
function opened(aCfg: Partial<LcpConfig>, bCfg: Partial<LcpConfig>) {
  const clock = { now: 0 };
  const a = engine(aCfg, 31);
  const b = engine(bCfg, 32);
  for (const e of [a, b]) {
    e.open(0);
    e.lowerUp(0);
  }
  pump(a, b, clock, { until: () => a.isOpened && b.isOpened, maxMs: 1000 });
  assert.ok(a.isOpened && b.isOpened);
  assert.equal(clock.now, 0);
  drain(a);
  drain(b);
  return { a, b, clock };
}

/** The peer's Echo-Request as `a` receives it (the peer's magic, as negotiated). */
function peerEcho(a: LcpEngine, id: number): Uint8Array {
  return fromHex(`09${id.toString(16).padStart(2, "0")}0008${a.result!.peerMagic.toString(16).padStart(8, "0")}`);
}

/** Runs `a` alone on its own timer until `until`, calling `input(now)` at the times listed; returns when it sent its Echo-Requests. */
function runAlone(a: LcpEngine, until: number, inputs: Array<[number, (now: number) => void]>) {
  const echoAt: number[] = [];
  const replies: number[] = [];
  let timeoutAt: number | undefined;
  let now = 0;
  const queue = [...inputs];
  while (now <= until && timeoutAt === undefined) {
    const t = a.pollTimeout();
    const nextInput = queue.length > 0 ? queue[0][0] : Infinity;
    const next = Math.min(t ?? Infinity, nextInput);
    if (next === Infinity || next > until) break;
    now = Math.max(now, next);
    if (nextInput === now) queue.shift()![1](now);
    else a.handleTimeout(now);
    const { packets, events } = drain(a);
    for (const p of packets) {
      if (p.kind === "echo-request") echoAt.push(now);
      if (p.kind === "echo-reply") replies.push(now);
    }
    if (events.some((e) => e.type === "echo-timeout")) timeoutAt = now;
  }
  return { echoAt, replies, timeoutAt };
}

describe("LCP keepalive: only one side echoes, a dead peer is found as fast as before", () => {
  test("two ends that both echo: the yielding one (server role) falls silent after the first round", () => {
    const { a, b, clock } = opened({ echoYieldToPeer: true }, {});
    const sent = pump(a, b, clock, { until: () => clock.now >= 20 * I, maxMs: 20 * I });
    const kinds = (ps: Uint8Array[]) => ps.map((p) => unwrap(parseLcpPacket(p)).kind);
    const aEchoes = kinds(sent.a).filter((k) => k === "echo-request").length;
    const bEchoes = kinds(sent.b).filter((k) => k === "echo-request").length;
    // At most the first round (both deadlines fall together before either has heard the other) is doubled.
    assert.ok(aEchoes <= 1, `the yielding end sent ${aEchoes} Echo-Requests`);
    assert.ok(bEchoes >= 19, `the other end sent ${bEchoes} Echo-Requests`);
    assert.equal(kinds(sent.a).filter((k) => k === "echo-reply").length, bEchoes, "every one answered");
    assert.ok(a.isOpened && b.isOpened);
  });

  test("a peer that echoes every interval keeps a yielding end silent; it only answers", () => {
    const { a } = opened({ echoYieldToPeer: true }, {});
    const inputs: Array<[number, (now: number) => void]> = [];
    // The peer opened a little before us (its echoes come just before our interval would end); from then on its
    // requests come at its own interval, whatever lateness our timer or its own adds (up to the tenth yielded).
    for (let k = 1; k <= 30; k++) inputs.push([k * I - 500 + (k % 3) * 300, (now) => a.handlePacket(now, peerEcho(a, k))]);
    const r = runAlone(a, 30 * I + 100, inputs);
    assert.deepEqual(r.echoAt, []);
    assert.equal(r.replies.length, 30);
    assert.equal(r.timeoutAt, undefined);
  });

  test("the non-yielding end (client role) keeps its cadence while the peer echoes: the peer's requests do not put ours off", () => {
    const { a } = opened({}, {});
    const inputs: Array<[number, (now: number) => void]> = [];
    for (let k = 1; k <= 10; k++) inputs.push([k * I - 500, (now) => a.handlePacket(now, peerEcho(a, k))]);
    const r = runAlone(a, 10 * I + 100, inputs);
    // Unanswered (runAlone answers nothing), but each peer request proves the peer alive: no verdict, and ours go on.
    assert.deepEqual(r.echoAt, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((k) => k * I));
    assert.equal(r.replies.length, 10);
    assert.equal(r.timeoutAt, undefined);
  });

  test("frames from the peer (data) keep our Echo-Requests silent; the first goes an interval after the last frame", () => {
    const { a } = opened({}, {});
    const inputs: Array<[number, (now: number) => void]> = [];
    for (let t = 3_000; t <= 100_000; t += 3_000) inputs.push([t, (now) => a.notePeerActivity(now)]);
    const r = runAlone(a, 200_000, inputs);
    // Last frame at 99 000: Echo-Requests at +1, +2, +3, +4 intervals, the link given up at +5.
    assert.deepEqual(r.echoAt, [109_000, 119_000, 129_000, 139_000]);
    assert.equal(r.timeoutAt, 149_000);
  });

  test("a yielding end whose echoing peer dies: (failures + 1) intervals after its last frame, as before", () => {
    const { a } = opened({ echoYieldToPeer: true }, {});
    const last = 5 * I - 766;
    const inputs: Array<[number, (now: number) => void]> = [];
    for (let k = 1; k <= 5; k++) inputs.push([k * I - 766, (now) => a.handlePacket(now, peerEcho(a, k))]);
    const r = runAlone(a, 20 * I, inputs);
    // Silent while the peer echoed; then a tenth of an interval of yield before the first of four unanswered
    // requests, the rest on the interval, and the verdict at last + 5 intervals: the yield is not added to it.
    assert.deepEqual(r.echoAt, [last + I + I / 10, last + 2 * I, last + 3 * I, last + 4 * I]);
    assert.equal(r.timeoutAt, last + 5 * I);
    assert.equal(a.state, "closing");
  });

  test("a peer that never echoes and answers ours: a request every interval, yielding or not (stock behaviour)", () => {
    for (const yieldToPeer of [false, true]) {
      const { a, b, clock } = opened({ echoYieldToPeer: yieldToPeer }, { echoIntervalMs: 0 });
      const echoAt: number[] = [];
      // pump delivers instantly: each request is answered at the time it is sent.
      pump(a, b, clock, {
        until: () => clock.now >= 10 * I,
        maxMs: 10 * I,
        lose: (from, p) => {
          if (from === "a" && unwrap(parseLcpPacket(p)).kind === "echo-request") echoAt.push(clock.now);
          return false;
        },
      });
      assert.deepEqual(echoAt, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((k) => k * I), `yield ${yieldToPeer}`);
    }
  });

  test("a peer that answers nothing: requests at 1..failures intervals, the verdict one interval later (stock schedule)", () => {
    for (const yieldToPeer of [false, true]) {
      const { a } = opened({ echoYieldToPeer: yieldToPeer }, {});
      const r = runAlone(a, 10 * I, []);
      assert.deepEqual(r.echoAt, [I, 2 * I, 3 * I, 4 * I], `yield ${yieldToPeer}`);
      assert.equal(r.timeoutAt, 5 * I, `yield ${yieldToPeer}`);
    }
  });
});
