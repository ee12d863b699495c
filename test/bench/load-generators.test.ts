/**
 * --generators K: the sessions, Call IDs and commands shared out over K generator processes, and their answers
 * merged back into the figures of one run (pure parts; the end-to-end K = 2 run is in test/runtime/load.test.ts).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { CallIdRange, callIdRanges, sessionsOf } from "../../bench/load/call-ids.js";
import { mergeRamps, mergeTeardowns, mergeTraffic } from "../../bench/load/merge.js";
import { shareCommand } from "../../bench/load/generator-group.js";
import { defaultGenerators, parseLoadOptions } from "../../bench/load/options.js";
import type { RampResult, ToGenerator, TrafficResult } from "../../bench/load/protocol.js";
import { quantile } from "../../bench/load/report.js";

describe("bench load --generators: sharing out", () => {
  test("Call ID ranges are disjoint and cover 1..65535", () => {
    for (const k of [1, 2, 3, 7, 16]) {
      const r = callIdRanges(k);
      assert.equal(r.length, k);
      assert.equal(r[0].first, 1);
      assert.equal(r[k - 1].last, 0xffff);
      for (let i = 1; i < k; i++) assert.equal(r[i].first, r[i - 1].last + 1, `k=${k}: range ${i} follows ${i - 1}`);
      for (const x of r) assert.ok(x.last - x.first + 1 >= Math.floor(0xffff / k));
    }
  });

  test("sessions round robin: every global index exactly once", () => {
    for (const [n, k] of [[1, 1], [5000, 2], [7, 3], [2, 4], [19000, 16]] as const) {
      let total = 0;
      for (let i = 0; i < k; i++) total += sessionsOf(n, k, i);
      assert.equal(total, n, `n=${n} k=${k}`);
      assert.ok(sessionsOf(n, k, 0) - sessionsOf(n, k, k - 1) <= 1, "shares differ by one at most");
    }
  });

  test("a ramp is split into shares whose bad passwords add up to the whole", () => {
    const c: ToGenerator = { cmd: "ramp", sessions: 1001, rate: 2000, concurrency: 999, setupTimeoutMs: 30_000, badPasswords: 17 };
    const k = 3;
    let sessions = 0;
    let rate = 0;
    let bad = 0;
    const seen = new Set<number>();
    for (let i = 0; i < k; i++) {
      const s = shareCommand(c, k, i);
      assert.ok(s.cmd === "ramp" && s.share);
      sessions += s.sessions;
      rate += s.rate;
      assert.ok(s.concurrency >= 333);
      // The generator's own rule (generator.ts): global index g is a bad one when floor(g·B/N) steps up.
      for (let j = 0; j < s.sessions; j++) {
        const g = s.share.first + s.share.stride * j;
        assert.ok(!seen.has(g));
        seen.add(g);
        if (Math.floor(((g + 1) * s.badPasswords) / s.share.total) > Math.floor((g * s.badPasswords) / s.share.total)) bad++;
      }
    }
    assert.equal(sessions, 1001);
    assert.equal(rate, 2000);
    assert.equal(seen.size, 1001);
    assert.equal(bad, 17);
    assert.deepEqual(shareCommand(c, 1, 0), c, "one generator gets the command as it is");
    const t = shareCommand({ cmd: "traffic", sessions: 5, durationMs: 1000, rate: 10, size: 100, target: "10.0.0.1" }, 2, 1);
    assert.ok(t.cmd === "traffic" && t.sessions === 2);
  });

  test("a Call ID range hands out its own IDs, reuses a released one last, and says when it is empty", () => {
    const r = new CallIdRange(100, 102);
    assert.deepEqual([r.allocate(), r.allocate(), r.allocate()], [100, 101, 102]);
    assert.equal(r.allocate(), undefined);
    r.release(101);
    r.release(7); // not ours: ignored
    assert.equal(r.allocate(), 101);
    assert.equal(r.allocate(), undefined);
    assert.throws(() => new CallIdRange(0, 5), RangeError);
  });

  test("--generators: default one per core but one, limits", () => {
    assert.equal(defaultGenerators(1), 1);
    assert.equal(defaultGenerators(2), 1);
    assert.equal(defaultGenerators(4), 3);
    assert.equal(defaultGenerators(64), 8);
    const o = parseLoadOptions(["--generators", "2"]);
    assert.ok(typeof o === "object" && o.generators === 2);
    assert.match(parseLoadOptions(["--generators", "0"]) as string, /--generators must be between 1 and 16/);
  });
});

describe("bench load --generators: merging", () => {
  const ramp = (over: Partial<RampResult>): RampResult => ({
    requested: 0, started: 0, up: 0, failures: {}, latenciesMs: [], elapsedMs: 0, startedAtMs: 0, settledAtMs: 0, cpuMs: 0, addresses: [], mppe: {}, aborted: false, ...over,
  });

  test("ramps: counts and CPU summed, latencies pooled, time from the first start to the last settled", () => {
    const a = ramp({ requested: 3, started: 3, up: 2, failures: { "authentication failed (691)": 1 }, latenciesMs: [10, 30], startedAtMs: 1000, settledAtMs: 1500, elapsedMs: 500, cpuMs: 40, addresses: ["10.0.0.1", "10.0.0.2"], mppe: { "128-bit stateless": 2 } });
    const b = ramp({ requested: 2, started: 2, up: 1, failures: { "authentication failed (691)": 1 }, latenciesMs: [20], startedAtMs: 1010, settledAtMs: 1800, elapsedMs: 790, cpuMs: 60, addresses: ["10.0.0.3"], mppe: { "128-bit stateless": 1 } });
    const m = mergeRamps([a, b]);
    assert.equal(m.requested, 5);
    assert.equal(m.up, 3);
    assert.deepEqual(m.failures, { "authentication failed (691)": 2 });
    assert.deepEqual(m.latenciesMs, [10, 20, 30]);
    assert.equal(quantile(m.latenciesMs, 0.5), 20);
    assert.equal(m.elapsedMs, 800);
    assert.equal(m.cpuMs, 100);
    assert.deepEqual(m.addresses, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    assert.deepEqual(m.mppe, { "128-bit stateless": 3 });
    assert.equal(mergeRamps([a]), a);
  });

  test("traffic and teardown: summed, round trips pooled before their percentiles", () => {
    const t = (rtts: number[], over: Partial<TrafficResult>): TrafficResult => ({ sessions: 1, sent: 10, notSent: 0, replies: rtts.length, bad: {}, rttMs: {}, rttSamplesMs: rtts, elapsedMs: 1000, cpuMs: 5, ...over });
    const m = mergeTraffic([t([1, 2, 3], { bad: { x: 1 } }), t([4, 5, 6, 7, 8, 9, 10], { bad: { x: 2 }, elapsedMs: 1200 })]);
    assert.equal(m.sent, 20);
    assert.equal(m.replies, 10);
    assert.deepEqual(m.bad, { x: 3 });
    assert.deepEqual(m.rttMs, { p50: 5, p90: 9, p99: 10, max: 10 });
    assert.equal(m.elapsedMs, 1200);
    assert.equal(m.cpuMs, 10);
    const d = mergeTeardowns([
      { up: 2, closedCleanly: 2, forced: 0, elapsedMs: 100, droppedEarlier: { a: 1 }, greDropped: 0 },
      { up: 3, closedCleanly: 2, forced: 1, elapsedMs: 300, droppedEarlier: { a: 1, b: 2 }, greDropped: 4 },
    ]);
    assert.deepEqual(d, { up: 5, closedCleanly: 4, forced: 1, elapsedMs: 300, droppedEarlier: { a: 2, b: 2 }, greDropped: 4 });
  });
});
