/**
 * Redial backoff (src/session/backoff.ts): the floor, doubling per failure, the ceiling, ±20 % jitter and reset.
 * The random source is injected so every wait is exact.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Backoff } from "../../src/session/backoff.js";

/** A random() that always returns `v`: 0 is the -20 % end of the jitter, 0.5 none, just below 1 the +20 % end. */
const fixed = (v: number) => () => v;

/** Plays back `values` in order (and fails the test if the backoff asks for more). */
function sequence(values: readonly number[]): () => number {
  let i = 0;
  return () => {
    assert.ok(i < values.length, `random() called ${i + 1} times, only ${values.length} values given`);
    return values[i++];
  };
}

describe("Backoff", () => {
  test("without jitter the first wait is the floor and each failure doubles it", () => {
    const b = new Backoff(1000, 60_000, fixed(0.5));
    assert.deepEqual(
      Array.from({ length: 6 }, () => b.next()),
      [1000, 2000, 4000, 8000, 16_000, 32_000],
    );
  });

  test("the wait is capped at the ceiling and stays there", () => {
    const b = new Backoff(1000, 10_000, fixed(0.5));
    const waits = Array.from({ length: 8 }, () => b.next());
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000]);
  });

  test("a ceiling that is not a power-of-two multiple of the floor is reached exactly", () => {
    const b = new Backoff(3000, 20_000, fixed(0.5));
    assert.deepEqual(Array.from({ length: 5 }, () => b.next()), [3000, 6000, 12_000, 20_000, 20_000]);
  });

  test("jitter moves the first wait by at most ±20 % of the floor", () => {
    assert.equal(new Backoff(1000, 60_000, fixed(0)).next(), 800);
    assert.equal(new Backoff(1000, 60_000, fixed(0.25)).next(), 900);
    assert.equal(new Backoff(1000, 60_000, fixed(0.75)).next(), 1100);
    const top = new Backoff(1000, 60_000, fixed(0.999_999)).next();
    assert.ok(top >= 1199 && top <= 1200, `upper end of the jitter: ${top}`);
  });

  test("jitter applies to every doubled wait, not only the first", () => {
    const b = new Backoff(1000, 60_000, sequence([0, 0.75, 0.25, 0.5]));
    assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [800, 2200, 3600, 8000]);
  });

  test("with jitter a capped wait never exceeds the ceiling but may fall 20 % below it", () => {
    const up = new Backoff(1000, 5000, fixed(0.999));
    const upWaits = Array.from({ length: 6 }, () => up.next());
    assert.ok(upWaits.every((w) => w <= 5000), `waits ${upWaits.join(", ")}`);
    assert.deepEqual(upWaits.slice(3), [5000, 5000, 5000]);

    const down = new Backoff(1000, 5000, fixed(0));
    const downWaits = Array.from({ length: 6 }, () => down.next());
    assert.deepEqual(downWaits, [800, 1600, 3200, 4000, 4000, 4000]);
  });

  test("many failures in a row do not overflow into Infinity or NaN", () => {
    const b = new Backoff(1000, 3_600_000, fixed(0.5));
    let last = 0;
    for (let i = 0; i < 2000; i++) last = b.next();
    assert.equal(last, 3_600_000);
    assert.equal(b.count, 2000);
  });

  test("count is the number of failures since the last reset", () => {
    const b = new Backoff(500, 8000, fixed(0.5));
    assert.equal(b.count, 0);
    b.next();
    b.next();
    b.next();
    assert.equal(b.count, 3);
    b.reset();
    assert.equal(b.count, 0);
    b.next();
    assert.equal(b.count, 1);
  });

  test("reset() starts again from the floor", () => {
    const b = new Backoff(1000, 60_000, fixed(0.5));
    b.next();
    b.next();
    b.next();
    assert.equal(b.next(), 8000);
    b.reset();
    assert.deepEqual([b.next(), b.next()], [1000, 2000]);
  });

  test("the default random source keeps every wait within the jitter bounds", () => {
    const b = new Backoff(1000, 4000);
    const expected = [1000, 2000, 4000, 4000, 4000];
    for (const base of expected) {
      const w = b.next();
      assert.ok(w >= base * 0.8 - 1 && w <= Math.min(4000, base * 1.2 + 1), `wait ${w} for base ${base}`);
    }
  });

  test("the constructor rejects bounds that make no sense", () => {
    for (const [min, max] of [
      [0, 1000],
      [-1, 1000],
      [2000, 1000],
      [Number.NaN, 1000],
      [1000, Number.NaN],
    ]) {
      assert.throws(() => new Backoff(min, max), RangeError, `min ${min} max ${max}`);
    }
    assert.throws(() => new Backoff(2000, 1000), /2000.*1000/, "the message shows the values seen");
  });

  test("equal floor and ceiling is allowed: a constant wait", () => {
    const b = new Backoff(5000, 5000, fixed(0.5));
    assert.deepEqual([b.next(), b.next(), b.next()], [5000, 5000, 5000]);
  });
});
