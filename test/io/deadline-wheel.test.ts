/**
 * DeadlineWheel (src/io/deadline-wheel.ts): far deadlines of many connections on one interval. Driven by hand:
 * a fake clock and a fake setInterval, so every test says exactly when a deadline fires.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { DeadlineWheel, NOT_IN_WHEEL, type WheelEntry } from "../../src/io/deadline-wheel.js";

function rig(slots = 16, tickMs = 100) {
  let t = 0;
  let running = 0;
  let starts = 0;
  const w = new DeadlineWheel({
    now: () => t,
    tickMs,
    slots,
    setInterval: () => {
      running++;
      starts++;
      return running;
    },
    clearInterval: () => {
      running--;
    },
  });
  const fired: Array<[string, number]> = [];
  const entry = (name: string, onFire?: (now: number) => void): WheelEntry => ({
    wheelAt: Infinity,
    wheelSlot: NOT_IN_WHEEL,
    wheelIndex: 0,
    wheelFire(now) {
      fired.push([name, now]);
      onFire?.(now);
    },
  });
  /** Advance the clock in steps of one tick, walking the wheel as the interval would. */
  const advanceTo = (to: number): void => {
    while (t + tickMs <= to) {
      t += tickMs;
      if (running > 0) w.tick(t);
    }
    t = to;
  };
  return { w, fired, entry, advanceTo, running: () => running, starts: () => starts, now: () => t };
}

describe("DeadlineWheel", () => {
  test("a deadline fires at the first tick at or after it, never before", () => {
    const r = rig();
    const a = r.entry("a");
    r.w.schedule(a, 1_250);
    r.advanceTo(1_200);
    assert.deepEqual(r.fired, []);
    r.advanceTo(1_300);
    assert.deepEqual(r.fired, [["a", 1_300]]);
    assert.equal(a.wheelSlot, NOT_IN_WHEEL);
    assert.equal(r.w.size, 0);
  });

  test("a deadline beyond one turn of the wheel waits for its own turn", () => {
    const r = rig(16, 100); // one turn = 1.6 s
    const a = r.entry("a");
    r.w.schedule(a, 5_000);
    r.advanceTo(4_900);
    assert.deepEqual(r.fired, [], "visited three times before, not due");
    r.advanceTo(5_000);
    assert.deepEqual(r.fired, [["a", 5_000]]);
  });

  test("schedule moves an entry, cancel takes it out; the interval runs only while the wheel holds something", () => {
    const r = rig();
    const a = r.entry("a");
    const b = r.entry("b");
    r.w.schedule(a, 1_000);
    r.w.schedule(b, 1_000);
    assert.equal(r.running(), 1);
    r.w.schedule(a, 3_000); // moved later
    r.w.cancel(b);
    assert.equal(r.w.size, 1);
    r.advanceTo(2_900);
    assert.deepEqual(r.fired, []);
    r.advanceTo(3_000);
    assert.deepEqual(r.fired, [["a", 3_000]]);
    assert.equal(r.running(), 0, "stopped once empty");
    r.w.schedule(b, 3_500);
    assert.equal(r.running(), 1);
    assert.equal(r.starts(), 2);
    r.advanceTo(3_500);
    assert.deepEqual(r.fired.map((f) => f[0]), ["a", "b"]);
  });

  test("cancel and schedule back and forth keep one interval; an empty wheel stops at its next tick", () => {
    // A busy session's deadline goes near (cancelled here) and far (filed again) every few packets: that must not
    // clear and restart the interval each time (bench/README, "The anchor, session 9").
    const r = rig();
    const a = r.entry("a");
    for (let i = 0; i < 100; i++) {
      r.w.schedule(a, 30_000);
      r.w.cancel(a);
    }
    assert.equal(r.starts(), 1, "one setInterval for all hundred moves");
    assert.equal(r.running(), 1, "still running right after the last cancel");
    r.advanceTo(100);
    assert.equal(r.running(), 0, "stopped by the first walk that found the wheel empty");
    assert.deepEqual(r.fired, [], "a cancelled entry never fires");
    r.w.schedule(a, 200);
    assert.equal(r.starts(), 2);
    r.advanceTo(200);
    assert.deepEqual(r.fired, [["a", 200]]);
  });

  test("many entries in one slot: every due one fires once, the others stay", () => {
    const r = rig(4, 100);
    const es = Array.from({ length: 50 }, (_, i) => r.entry(`e${i}`));
    // Same slot (tick 10 and tick 14 share slot 2 of 4), half due at 1 s, half a turn later.
    es.forEach((e, i) => r.w.schedule(e, i % 2 === 0 ? 1_000 : 1_400));
    r.advanceTo(1_000);
    assert.equal(r.fired.length, 25);
    assert.ok(r.fired.every(([n]) => Number(n.slice(1)) % 2 === 0));
    r.advanceTo(1_400);
    assert.equal(r.fired.length, 50);
    assert.equal(new Set(r.fired.map((f) => f[0])).size, 50);
  });

  test("a handler may cancel another due entry (it does not fire) or file itself again", () => {
    const r = rig();
    const b = r.entry("b");
    const a = r.entry("a", (now) => {
      r.w.cancel(b);
      r.w.schedule(a, now + 2_000);
    });
    r.w.schedule(a, 1_000);
    r.w.schedule(b, 1_000);
    r.advanceTo(1_000);
    // Which of the two comes first in the slot is the wheel's business; whichever fires first, b must not fire
    // after a cancelled it.
    const names = r.fired.map((f) => f[0]);
    assert.ok(names[0] === "a" || (names[0] === "b" && names[1] === "a"), names.join());
    if (names[0] === "a") assert.deepEqual(names, ["a"]);
    r.advanceTo(3_000);
    assert.equal(r.fired.filter((f) => f[0] === "a").length, 2, "a filed itself again and fired again");
  });

  test("a deadline already past fires at the next tick; a stalled loop fires everything overdue at once", () => {
    const r = rig(8, 100);
    const a = r.entry("a");
    r.advanceTo(10_000);
    r.w.schedule(a, 9_000);
    r.advanceTo(10_100);
    assert.deepEqual(r.fired, [["a", 10_100]]);
    const es = Array.from({ length: 8 }, (_, i) => r.entry(`s${i}`));
    es.forEach((e, i) => r.w.schedule(e, 10_200 + i * 100));
    r.w.tick(20_000); // the loop was stuck for ten seconds
    assert.equal(r.fired.length, 9);
  });

  test("slots must be a power of two", () => {
    assert.throws(() => new DeadlineWheel({ now: () => 0, slots: 10 }), RangeError);
  });
});
