/**
 * PPTP control keepalive between two ends that both echo (control.ts, "Timers"): any received message — the peer's
 * Echo-Request included — resets our wait (RFC 2637 §3.1.4), the server role yields to a peer that echoes, and a
 * silent peer is still found interval + timeout × (retries + 1) after its last message. Time is handed in.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { unwrap } from "../../src/wire/result.js";
import { emitControlMessage, parseControlMessage, type ControlMessage } from "../../src/wire/pptp-control.js";
import { ControlConnection, type ControlConnectionOptions } from "../../src/pptp/control.js";

const MIN = 60_000;

interface End {
  readonly name: string;
  readonly cc: ControlConnection;
  readonly sent: Array<{ at: number; type: ControlMessage["type"] }>;
}

function end(name: string, o: ControlConnectionOptions): End {
  return { name, cc: new ControlConnection(o), sent: [] };
}

/** Runs two ends over a link with `delay` ms each way until `until`; every transmitted message is logged with its time. */
function run(a: End, b: End, until: number, delay: number, start = 0): void {
  const inFlight: Array<{ at: number; to: End; buf: Uint8Array }> = [];
  const flush = (from: End, to: End, now: number): void => {
    for (let buf = from.cc.pollTransmit(); buf; buf = from.cc.pollTransmit()) {
      from.sent.push({ at: now, type: unwrap(parseControlMessage(buf)).type });
      inFlight.push({ at: now + delay, to, buf });
    }
  };
  let now = start;
  a.cc.start(now);
  b.cc.start(now);
  flush(a, b, now);
  flush(b, a, now);
  for (let guard = 0; guard < 100_000; guard++) {
    const ta = a.cc.pollTimeout() ?? Infinity;
    const tb = b.cc.pollTimeout() ?? Infinity;
    const tm = inFlight.length > 0 ? inFlight[0].at : Infinity;
    now = Math.min(ta, tb, tm);
    if (now > until) return;
    if (tm === now) {
      const m = inFlight.shift()!;
      m.to.cc.handleBytes(now, m.buf);
    } else if (ta === now) a.cc.handleTimeout(now);
    else b.cc.handleTimeout(now);
    flush(a, b, now);
    flush(b, a, now);
    for (let e = a.cc.pollEvent(); e; e = a.cc.pollEvent());
    for (let e = b.cc.pollEvent(); e; e = b.cc.pollEvent());
  }
  throw new Error("no end");
}

const echoes = (e: End): number[] => e.sent.filter((m) => m.type === "EchoRQ").map((m) => m.at);

/** A server fed by a scripted peer: EchoRQ at the given times (after SCCRQ at 0); returns what it sent and when it closed. */
function scripted(peerEchoes: number[], until: number, extra: Partial<ControlConnectionOptions> = {}) {
  const s = end("s", { role: "server", ...extra });
  s.cc.start(0);
  s.cc.handleBytes(0, emitControlMessage({ type: "SCCRQ", protocolVersion: 0x100, framingCapabilities: 3, bearerCapabilities: 3, maximumChannels: 0, firmwareRevision: 0, hostName: "peer", vendorString: "peer" }));
  let closedAt: number | undefined;
  const queue = [...peerEchoes];
  let now = 0;
  for (let id = 1; closedAt === undefined; id++) {
    for (let b = s.cc.pollTransmit(); b; b = s.cc.pollTransmit()) s.sent.push({ at: now, type: unwrap(parseControlMessage(b)).type });
    for (let e = s.cc.pollEvent(); e; e = s.cc.pollEvent()) if (e.type === "closed") closedAt = now;
    const t = s.cc.pollTimeout() ?? Infinity;
    const q = queue.length > 0 ? queue[0] : Infinity;
    now = Math.min(t, q);
    if (now > until || now === Infinity) break;
    if (q === now) s.cc.handleBytes(now, emitControlMessage({ type: "EchoRQ", identifier: queue.shift()! & 0xffff }));
    else s.cc.handleTimeout(now);
  }
  return { s, closedAt };
}

describe("PPTP keepalive: only one end echoes, a dead peer is found as fast as before", () => {
  test("our client and our server, both echoing every 60 s over a 2 ms link: after the first round only the client sends", () => {
    const c = end("c", { role: "client" });
    const s = end("s", { role: "server" });
    run(c, s, 30 * MIN, 2);
    assert.ok(c.cc.state === "established" && s.cc.state === "established");
    const late = (xs: number[]) => xs.filter((t) => t > 2 * MIN);
    assert.deepEqual(late(echoes(s)), [], `server Echo-Requests at ${echoes(s).join(", ")}`);
    assert.ok(late(echoes(c)).length >= 27, `client sent ${echoes(c).length} Echo-Requests`);
    assert.equal(s.sent.filter((m) => m.type === "EchoRP").length, echoes(c).length, "each answered");
  });

  test("a peer that echoes every 60 s (give or take) keeps the server silent", () => {
    const times: number[] = [];
    for (let k = 1; k <= 20; k++) times.push(k * MIN - 1500 + (k % 4) * 900);
    const { s, closedAt } = scripted(times, 21 * MIN);
    assert.deepEqual(echoes(s), []);
    assert.equal(s.sent.filter((m) => m.type === "EchoRP").length, 20);
    assert.equal(closedAt, undefined);
  });

  test("the client keeps its cadence while the server echoes first: a yielding server then falls silent", () => {
    // Each round the server's timer runs out first (its last message came earlier): before, the client's wait was
    // reset by the server's request every time and only the server ever echoed.
    const c = end("c", { role: "client", keepaliveIntervalMs: MIN });
    const s = end("s", { role: "server", keepaliveIntervalMs: MIN - 50 });
    run(c, s, 20 * MIN, 2);
    assert.ok(echoes(c).length >= 19, `client: ${echoes(c).join(", ")}`);
    assert.ok(echoes(s).length <= 1, `server: ${echoes(s).join(", ")}`);
  });

  test("the echoing peer dies: the server probes after its yield, and closes interval + timeout after the last message", () => {
    const last = 5 * MIN - 300;
    const times = [1, 2, 3, 4, 5].map((k) => k * MIN - 300);
    const { s, closedAt } = scripted(times, 20 * MIN);
    assert.deepEqual(echoes(s), [last + MIN + MIN / 10]);
    assert.equal(closedAt, last + 2 * MIN);
  });

  test("with retries: the yield is taken from the first wait only; every later request keeps its full timeout", () => {
    const last = 3 * 10_000 - 300;
    const times = [1, 2, 3].map((k) => k * 10_000 - 300);
    const { s, closedAt } = scripted(times, 20 * MIN, { keepaliveIntervalMs: 10_000, keepaliveTimeoutMs: 5_000, keepaliveRetries: 2 });
    assert.deepEqual(echoes(s), [last + 11_000, last + 15_000, last + 20_000]);
    assert.equal(closedAt, last + 25_000);
  });

  test("a peer that never echoes: Echo-Request after exactly 60 s of silence and the verdict 60 s later, yielding or not", () => {
    for (const keepaliveYieldToPeer of [true, false]) {
      const { s, closedAt } = scripted([], 10 * MIN, { keepaliveYieldToPeer });
      assert.deepEqual(echoes(s), [MIN], `yield ${keepaliveYieldToPeer}`);
      assert.equal(closedAt, 2 * MIN, `yield ${keepaliveYieldToPeer}`);
    }
  });
});
