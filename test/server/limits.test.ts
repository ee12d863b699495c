/** The sans-I/O defences under a fake clock: connection limits, the password-guessing guard, the log aggregator. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/core/clock.js";
import { ConnectionLimits, sourceKey, type ConnectionLimitsConfig } from "../../src/server/connection-limits.js";
import { Defences } from "../../src/server/defences.js";
import { defaultConfig } from "../../src/config/config.js";
import { AuthGuard, type AuthGuardConfig } from "../../src/server/auth-guard.js";
import { LogAggregator, OTHER_SOURCES } from "../../src/server/log-aggregator.js";

const LIMITS: ConnectionLimitsConfig = {
  maxConnections: 10,
  maxConnectionsPerAddress: 3,
  connectionRate: 2,
  connectionBurst: 4,
  startTimeoutMs: 10_000,
  noCallTimeoutMs: 30_000,
};
const A = 0x0a000009;
const B = 0x0a00000a;

describe("ConnectionLimits", () => {
  test("per-address limit: the fourth connection from one address is refused, another address still gets in", () => {
    const c = new FakeClock(0);
    const l = new ConnectionLimits(LIMITS);
    for (let i = 0; i < 3; i++) assert.ok(l.admit(c.now, A).ok);
    const r = l.admit(c.now, A);
    assert.ok(!r.ok && r.refusal === "max-connections-per-address");
    assert.ok(l.admit(c.now, B).ok);
    l.release(A);
    c.advance(1000);
    assert.ok(l.admit(c.now, A).ok, "a slot freed by a closed connection is usable again");
    assert.equal(l.openFrom(A), 3);
  });

  test("rate: a burst of 4, then 2 per second; refused attempts do not use up tokens", () => {
    const c = new FakeClock(0);
    const l = new ConnectionLimits({ ...LIMITS, maxConnectionsPerAddress: 0 });
    for (let i = 0; i < 4; i++) {
      assert.ok(l.admit(c.now, A).ok);
      l.release(A);
    }
    for (let i = 0; i < 50; i++) {
      const r = l.admit(c.now, A);
      assert.ok(!r.ok && r.refusal === "connection-rate");
    }
    c.advance(500);
    assert.ok(l.admit(c.now, A).ok, "one token after half a second at 2/s");
    assert.ok(!l.admit(c.now, A).ok);
  });

  test("total limit across addresses", () => {
    const l = new ConnectionLimits({ ...LIMITS, maxConnections: 2, connectionRate: 0 });
    assert.ok(l.admit(0, A).ok);
    assert.ok(l.admit(0, B).ok);
    const r = l.admit(0, B + 1);
    assert.ok(!r.ok && r.refusal === "max-connections");
    assert.equal(l.open, 2);
  });

  test("deadlines: no SCCRQ within start-timeout; established without a call for no-call-timeout", () => {
    const l = new ConnectionLimits(LIMITS);
    assert.equal(l.expired(9_999, 0, false, undefined), undefined);
    assert.match(l.expired(10_000, 0, false, undefined) ?? "", /no complete Start-Control-Connection-Request within 10 s \(start-timeout\)/);
    assert.equal(l.expired(100_000, 0, true, undefined), undefined, "a connection holding a call never expires");
    assert.equal(l.expired(39_999, 0, true, 10_000), undefined);
    assert.match(l.expired(40_000, 0, true, 10_000) ?? "", /no call placed for 30 s \(no-call-timeout\)/);
    const off = new ConnectionLimits({ ...LIMITS, startTimeoutMs: 0, noCallTimeoutMs: 0 });
    assert.equal(off.expired(1e9, 0, false, undefined), undefined);
    assert.equal(off.expired(1e9, 0, true, 0), undefined);
  });

  test("per-address state is bounded: idle addresses are forgotten first", () => {
    const l = new ConnectionLimits({ ...LIMITS, maxConnections: 1e6, connectionRate: 1, connectionBurst: 1 }, 100);
    assert.ok(l.admit(0, A).ok); // held open: never forgotten
    for (let i = 0; i < 1000; i++) {
      l.admit(0, 0x0b000000 + i);
      l.release(0x0b000000 + i);
    }
    assert.equal(l.openFrom(A), 1);
    assert.ok(!l.admit(0, A).ok, "A's bucket is remembered (empty), not reset by the churn");
  });

  test("peers that are not IPv4 are counted by their own address, not all in one bucket", () => {
    const c = new FakeClock(0);
    const l = new ConnectionLimits(LIMITS);
    const v6a = sourceKey(0, "2001:db8::1");
    const v6b = sourceKey(0, "2001:db8::2");
    assert.equal(sourceKey(A, "10.0.0.9"), A, "IPv4 keeps its numeric key");
    assert.equal(v6a, "2001:db8::1");
    for (let i = 0; i < 3; i++) assert.ok(l.admit(c.now, v6a).ok);
    const r = l.admit(c.now, v6a);
    assert.ok(!r.ok && r.refusal === "max-connections-per-address");
    for (let i = 0; i < 3; i++) assert.ok(l.admit(c.now, v6b).ok, "another IPv6 address has its own per-address limit");
    assert.equal(l.openFrom(v6a), 3);
    assert.equal(l.openFrom(v6b), 3);
    l.release(v6a);
    assert.equal(l.openFrom(v6a), 2);
    assert.equal(l.open, 5);
    // The rate bucket is per address too: v6a's refusals leave v6b's tokens alone.
    const rate = new ConnectionLimits({ ...LIMITS, maxConnectionsPerAddress: 0, connectionBurst: 2, connectionRate: 1 });
    for (let i = 0; i < 2; i++) assert.ok(rate.admit(c.now, v6a).ok);
    assert.ok(!rate.admit(c.now, v6a).ok);
    assert.ok(rate.admit(c.now, v6b).ok);
  });

  test("Defences: a peer that is not IPv4 is admitted and released under its textual address", () => {
    const cfg = defaultConfig();
    const settings = { ...cfg, limits: { ...cfg.limits, maxConnectionsPerAddress: 2, connectionRate: 0 } };
    const d = new Defences(settings, { now: () => 0, log: () => {} });
    assert.ok(d.admit(0, "2001:db8::1").ok);
    assert.ok(d.admit(0, "2001:db8::1").ok);
    assert.ok(!d.admit(0, "2001:db8::1").ok, "the third from the same IPv6 address is over the per-address limit");
    assert.ok(d.admit(0, "2001:db8::2").ok, "a different IPv6 address is not");
    d.release(0, "2001:db8::1");
    assert.ok(d.admit(0, "2001:db8::1").ok, "released by name, its slot is free again");
    assert.ok(d.admit(A, "10.0.0.9").ok);
    d.release(A);
    assert.equal(d.counters.connectionsRefused, 1);
  });
});

const GUARD: AuthGuardConfig = {
  windowMs: 60_000,
  freeFailures: 2,
  delayMs: 1000,
  maxDelayMs: 8000,
  maxFailuresPerUser: 6,
  maxFailuresPerAddress: 20,
  lockoutMs: 120_000,
};

describe("AuthGuard", () => {
  test("growing delay after the free failures, then lockout; a locked attempt looks like the worst failure", () => {
    const c = new FakeClock(0);
    const g = new AuthGuard(GUARD);
    const delays = [];
    for (let i = 0; i < 6; i++) {
      assert.equal(g.check(c.now, "alice", "10.0.0.9").locked, false);
      delays.push(g.failed(c.now, "alice", "10.0.0.9").delayMs);
      c.advance(100);
    }
    assert.deepEqual(delays, [0, 0, 1000, 2000, 4000, 8000]);
    const v = g.check(c.now, "alice", "10.0.0.77");
    assert.ok(v.locked, "locked by name, from any address");
    assert.equal(v.delayMs, 8000, "answered after the same delay as the last failure");
    assert.match(v.why, /user name locked out for 120 s more/);
    assert.equal(g.check(c.now, "bob", "10.0.0.77").locked, false, "other names are not affected");
  });

  test("the lockout starts once and is logged once", () => {
    const g = new AuthGuard(GUARD);
    const outcomes = Array.from({ length: 8 }, () => g.failed(0, "alice", "a"));
    const starts = outcomes.filter((o) => o.lockedOut !== undefined);
    assert.equal(starts.length, 1);
    assert.match(starts[0].lockedOut!, /user name locked out for 120 s after 6 failures/);
    assert.equal(outcomes[7].userFailures, 8, "attempts while locked are still counted");
  });

  test("after the lockout the right password works, and a success clears the name's count", () => {
    const c = new FakeClock(0);
    const g = new AuthGuard(GUARD);
    for (let i = 0; i < 6; i++) g.failed(c.now, "alice", "x");
    assert.ok(g.check(c.now, "alice", "x").locked);
    c.advance(119_999);
    assert.ok(g.check(c.now, "alice", "x").locked);
    c.advance(1);
    assert.equal(g.check(c.now, "alice", "x").locked, false);
    g.succeeded("alice");
    assert.equal(g.failed(c.now, "alice", "y").delayMs, 0, "a fresh count for the name");
  });

  test("failures outside the window are forgotten", () => {
    const c = new FakeClock(0);
    const g = new AuthGuard({ ...GUARD, maxFailuresPerAddress: 0 });
    for (let i = 0; i < 5; i++) g.failed(c.now, "alice", "x");
    c.advance(60_000);
    assert.equal(g.failed(c.now, "alice", "x").userFailures, 1);
  });

  test("per-address lockout across many names, and the address count survives a success", () => {
    const g = new AuthGuard({ ...GUARD, maxFailuresPerAddress: 5, maxFailuresPerUser: 0 });
    for (let i = 0; i < 4; i++) g.failed(0, `u${i}`, "10.0.0.9");
    g.succeeded("mallory");
    const o = g.failed(0, "u9", "10.0.0.9");
    assert.match(o.lockedOut ?? "", /address locked out/);
    const v = g.check(1, "anyone", "10.0.0.9");
    assert.ok(v.locked && /address locked out/.test(v.why));
  });

  test("bounded memory: at most maxTracked names", () => {
    const g = new AuthGuard(GUARD, 50);
    for (let i = 0; i < 10_000; i++) g.failed(0, `user${i}`, `10.0.${i >> 8}.${i & 255}`);
    // The newest names are still tracked, the oldest forgotten.
    assert.equal(g.failed(0, "user9999", "z").userFailures, 2);
    assert.equal(g.failed(0, "user0", "z").userFailures, 1);
  });

  test("a full table never forgets a lockout: churning through made-up names and addresses unlocks nothing", () => {
    const c = new FakeClock(0);
    const g = new AuthGuard(GUARD, 50);
    for (let i = 0; i < 6; i++) g.failed(c.now, "alice", "10.0.0.1"); // alice locked by name
    const byAddress = new AuthGuard({ ...GUARD, maxFailuresPerUser: 0 }, 50);
    for (let i = 0; i < 20; i++) byAddress.failed(c.now, `v${i}`, "10.6.6.6"); // the address locked
    c.advance(1000);
    for (let i = 0; i < 10_000; i++) {
      g.failed(c.now, `user${i}`, `10.1.${i >> 8}.${i & 255}`);
      byAddress.failed(c.now, `user${i}`, `10.1.${i >> 8}.${i & 255}`);
    }
    const v = g.check(c.now, "alice", "10.9.9.9");
    assert.ok(v.locked && /user name locked out/.test(v.why), "alice is still locked out by name");
    const w = byAddress.check(c.now, "anyone", "10.6.6.6");
    assert.ok(w.locked && /address locked out/.test(w.why), "the address is still locked out");
    // The churn itself was tracked: the newest made-up names still count.
    assert.equal(g.failed(c.now, "user9999", "10.2.0.1").userFailures, 2);
  });

  test("a table full of lockouts tracks no new names, and the address limits still apply to them", () => {
    const c = new FakeClock(0);
    const g = new AuthGuard(GUARD, 5);
    for (let u = 0; u < 5; u++) for (let i = 0; i < 6; i++) g.failed(c.now, `locked${u}`, `10.0.0.${u}`);
    for (let u = 0; u < 5; u++) assert.ok(g.check(c.now, `locked${u}`, "10.9.9.9").locked);
    const outcomes = Array.from({ length: 20 }, () => g.failed(c.now, "eve", "10.6.6.6"));
    assert.deepEqual(new Set(outcomes.map((o) => o.userFailures)), new Set([1]), "eve is not remembered per name");
    assert.deepEqual(outcomes.map((o) => o.addressFailures), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.match(outcomes[19].lockedOut ?? "", /^address locked out for 120 s after 20 failures$/);
    assert.ok(g.check(c.now, "eve", "10.6.6.6").locked, "the address lockout applies");
    assert.equal(g.check(c.now, "eve", "10.7.7.7").locked, false);
    for (let u = 0; u < 5; u++) assert.ok(g.check(c.now, `locked${u}`, "10.9.9.9").locked, "no lockout was forgotten for eve");
    // Once the lockouts end, names are tracked again.
    c.advance(GUARD.lockoutMs);
    g.failed(c.now, "eve", "10.7.7.7");
    assert.equal(g.failed(c.now, "eve", "10.7.7.7").userFailures, 2);
  });
});

describe("LogAggregator", () => {
  const kinds = {
    unknown: { summary: (n: string, src: string, s: number) => `dropped ${n} GRE packets for unknown calls from ${src} in the last ${s} s` },
    frame: { immediate: true, summary: (n: string, src: string, s: number) => `${n} more malformed frames from ${src} in the last ${s} s` },
  };

  test("a flood of 35,112 packets is one line per source per interval", () => {
    const c = new FakeClock(0);
    const lines: string[] = [];
    const agg = new LogAggregator(kinds, { intervalMs: 10_000, emit: (l) => lines.push(l) });
    for (let i = 0; i < 35_112; i++) {
      agg.note(c.now, "unknown", 0x0a000009);
      if (i % 1000 === 0) {
        c.advance(200);
        agg.flush(c.now);
      }
    }
    assert.deepEqual(lines, [], "nothing before the interval is over");
    c.advance(10_000 - c.now);
    agg.flush(c.now);
    assert.deepEqual(lines, ["dropped 35,112 GRE packets for unknown calls from 10.0.0.9 in the last 10 s"]);
    assert.equal(agg.keys, 0, "a quiet source is forgotten");
  });

  test("an immediate kind logs its first event at once, the repeats in the summary", () => {
    const lines: string[] = [];
    const agg = new LogAggregator(kinds, { intervalMs: 10_000, emit: (l) => lines.push(l) });
    agg.note(0, "frame", "10.0.0.2", 1, () => "malformed PPP frame: too short");
    agg.note(1, "frame", "10.0.0.2", 1, () => "never built");
    agg.note(2, "frame", "10.0.0.2", 1, () => "never built");
    agg.flush(10_000);
    assert.deepEqual(lines, ["malformed PPP frame: too short", "2 more malformed frames from 10.0.0.2 in the last 10 s"]);
    agg.note(20_000, "frame", "10.0.0.2", 1, () => "once");
    agg.flush(30_000);
    assert.deepEqual(lines.slice(2), ["once"], "a single event gives no summary");
  });

  test("keys are bounded: spoofed sources beyond maxKeys are lumped together", () => {
    const lines: string[] = [];
    const agg = new LogAggregator(kinds, { intervalMs: 1000, maxKeys: 10, emit: (l) => lines.push(l) });
    for (let i = 0; i < 100_000; i++) agg.note(0, "unknown", i);
    assert.equal(agg.keys, 11);
    agg.flush(1000);
    assert.equal(lines.length, 11);
    assert.ok(lines.includes(`dropped 99,990 GRE packets for unknown calls from ${OTHER_SOURCES} in the last 1 s`));
  });
});
