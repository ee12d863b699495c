import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/core/clock.js";
import { sessionLimitReason, sessionTimeExpiry } from "../../src/session/session-timers.js";

test("idle limit: counts from the last data, fires at the limit and not a millisecond before", () => {
  const clock = new FakeClock(5_000);
  const upSince = clock.now;
  let last = clock.now;
  const limits = { idleTimeoutMs: 1000, sessionTimeoutMs: 0 };
  clock.advance(900);
  last = clock.now; // data moved
  clock.advance(999);
  assert.equal(sessionTimeExpiry(limits, clock.now, last, upSince), undefined);
  clock.advance(1);
  assert.deepEqual(sessionTimeExpiry(limits, clock.now, last, upSince), { kind: "idle", idleForMs: 1000 });
});

test("session limit: counts from network-up whatever the traffic; off when 0", () => {
  const limits = { idleTimeoutMs: 0, sessionTimeoutMs: 3_600_000 };
  assert.equal(sessionTimeExpiry(limits, 3_599_999, 3_599_999, 0), undefined);
  assert.deepEqual(sessionTimeExpiry(limits, 3_600_000, 3_600_000, 0), { kind: "session", limitMs: 3_600_000 });
  assert.equal(sessionTimeExpiry({ idleTimeoutMs: 0, sessionTimeoutMs: 0 }, 1e12, 0, 0), undefined);
  assert.equal(sessionLimitReason(3_600_000), "session time limit of 3600 s reached");
});

test("both run out: the idle limit is named", () => {
  assert.deepEqual(sessionTimeExpiry({ idleTimeoutMs: 10, sessionTimeoutMs: 10 }, 100, 0, 0), { kind: "idle", idleForMs: 100 });
});
