/** AddressPool: range syntax, allocation order, exhaustion, least-recently-released reuse, static assignments. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { AddressPool } from "../../src/server/pool.js";
import {
  checkPoolRanges,
  formatAddressRange,
  parseAddressRange,
  rangeSize,
  rangesContain,
  type AddressRange,
} from "../../src/config/address-range.js";
import { unwrap } from "../../src/wire/result.js";
import { seededRandom, testRuns, testSeed, withSeed } from "../support/random.js";

function range(text: string): AddressRange {
  return unwrap(parseAddressRange(text));
}

function pool(...texts: string[]): AddressPool {
  return new AddressPool(texts.map(range));
}

function errorOf(text: string): string {
  const r = parseAddressRange(text);
  assert.equal(r.ok, false, text);
  return r.ok ? "" : r.error.message;
}

describe("parseAddressRange", () => {
  test("full range, last-octet range, single address", () => {
    assert.deepEqual(range("10.0.0.10-10.0.0.200"), { first: "10.0.0.10", last: "10.0.0.200" });
    assert.deepEqual(range(" 10.0.0.10 - 10.0.1.3 "), { first: "10.0.0.10", last: "10.0.1.3" });
    assert.deepEqual(range("10.0.0.10-200"), { first: "10.0.0.10", last: "10.0.0.200" });
    assert.deepEqual(range("10.0.0.7"), { first: "10.0.0.7", last: "10.0.0.7" });
  });

  test("CIDR: network and broadcast left out, except /31 and /32", () => {
    assert.deepEqual(range("192.168.1.0/24"), { first: "192.168.1.1", last: "192.168.1.254" });
    assert.deepEqual(range("10.0.0.0/16"), { first: "10.0.0.1", last: "10.0.255.254" });
    assert.deepEqual(range("10.0.0.4/30"), { first: "10.0.0.5", last: "10.0.0.6" });
    assert.deepEqual(range("10.0.0.4/31"), { first: "10.0.0.4", last: "10.0.0.5" });
    assert.deepEqual(range("10.0.0.4/32"), { first: "10.0.0.4", last: "10.0.0.4" });
  });

  test("errors name the part that is wrong", () => {
    assert.equal(errorOf("10.0.0.300"), `"10.0.0.300" is not an address, a range a-b or a CIDR block a/n`);
    assert.equal(errorOf("10.0.0.5-3"), `range "10.0.0.5-3" ends (10.0.0.3) before it starts (10.0.0.5)`);
    assert.equal(errorOf("10.0.0.5-256"), `range "10.0.0.5-256": end "256" is not an IPv4 address or a last octet 0..255`);
    assert.equal(errorOf("x-10.0.0.1"), `range "x-10.0.0.1": start "x" is not an IPv4 address`);
    assert.equal(errorOf("10.0.0.1/24"), `CIDR block "10.0.0.1/24" has host bits set; the block starting there is 10.0.0.0/24`);
    assert.equal(errorOf("10.0.0.0/x"), `CIDR block "10.0.0.0/x": prefix length "x" is not 0..32`);
    assert.equal(errorOf("10.0.0/8"), `CIDR block "10.0.0/8": "10.0.0" is not an IPv4 address`);
  });

  test("rangeSize, formatAddressRange, rangesContain", () => {
    assert.equal(rangeSize(range("10.0.0.0/24")), 254);
    assert.equal(formatAddressRange(range("10.0.0.7")), "10.0.0.7");
    assert.equal(formatAddressRange(range("10.0.0.7-9")), "10.0.0.7-10.0.0.9");
    const rs = [range("10.0.0.7-9"), range("10.0.1.0/30")];
    assert.deepEqual(["10.0.0.6", "10.0.0.7", "10.0.0.9", "10.0.0.10", "10.0.1.0", "10.0.1.1", "bogus"].map((a) => rangesContain(rs, a)), [
      false, true, true, false, false, true, false,
    ]);
  });

  test("checkPoolRanges: overlap, empty and oversize pools", () => {
    assert.deepEqual(checkPoolRanges([range("10.0.0.1-10"), range("10.0.1.1-10")]), { ok: true, value: 20 });
    const overlap = checkPoolRanges([range("10.0.0.5-20"), range("10.0.0.1-5")]);
    assert.equal(overlap.ok ? "" : overlap.error.message, "ranges 10.0.0.1-10.0.0.5 and 10.0.0.5-10.0.0.20 overlap");
    const empty = checkPoolRanges([]);
    assert.equal(empty.ok ? "" : empty.error.code, "empty-pool");
    const big = checkPoolRanges([range("10.0.0.0/16"), range("10.1.0.0-10.1.0.2")]);
    assert.equal(big.ok ? "" : big.error.message, "the pool holds 65537 addresses, at most 65536 (a /16) are supported");
    const bad = checkPoolRanges([{ first: "10.0.0.1", last: "nope" }]);
    assert.equal(bad.ok ? "" : bad.error.code, "bad-range");
  });
});

describe("AddressPool", () => {
  test("hands out addresses in ascending order, across ranges, until exhausted", () => {
    const p = pool("10.0.1.1-2", "10.0.0.250-10.0.0.251");
    assert.equal(p.size, 4);
    assert.equal(p.available, 4);
    assert.deepEqual([p.allocate(), p.allocate(), p.allocate(), p.allocate()], ["10.0.0.250", "10.0.0.251", "10.0.1.1", "10.0.1.2"]);
    assert.equal(p.allocate(), undefined);
    assert.equal(p.available, 0);
    assert.equal(p.inUse, 4);
  });

  test("a released address goes to the back of the queue: least recently released first", () => {
    const p = pool("10.0.0.1-4");
    const [a, b] = [p.allocate(), p.allocate()];
    assert.deepEqual([a, b], ["10.0.0.1", "10.0.0.2"]);
    assert.equal(p.release("10.0.0.2"), true);
    assert.equal(p.release("10.0.0.1"), true);
    // Never-used addresses first, then .2 (released before .1), then .1.
    assert.deepEqual([p.allocate(), p.allocate(), p.allocate(), p.allocate(), p.allocate()], ["10.0.0.3", "10.0.0.4", "10.0.0.2", "10.0.0.1", undefined]);
  });

  test("a reconnecting client gets its old address back when it asks for it", () => {
    const p = pool("10.0.0.1-3");
    const mine = p.allocate();
    p.allocate();
    p.release(mine!);
    assert.equal(p.allocate(mine), "10.0.0.1");
  });

  test("preferred: honoured when in the pool and free, otherwise the next free address", () => {
    const p = pool("10.0.0.1-4");
    assert.equal(p.allocate("10.0.0.3"), "10.0.0.3");
    assert.equal(p.allocate("10.0.0.3"), "10.0.0.1", "in use: falls back");
    assert.equal(p.allocate("172.16.0.1"), "10.0.0.2", "outside the pool: a preference never leaves the pool");
    assert.equal(p.isInUse("172.16.0.1"), false);
    assert.equal(p.allocate("garbage"), "10.0.0.4", "unparsable: no preference");
    assert.equal(p.allocate("10.0.0.2"), undefined, "exhausted");
  });

  test("preferred taken from the middle of the free queue keeps the queue intact", () => {
    const p = pool("10.0.0.1-5");
    assert.equal(p.allocate("10.0.0.3"), "10.0.0.3");
    assert.equal(p.allocate("10.0.0.5"), "10.0.0.5");
    assert.equal(p.allocate("10.0.0.1"), "10.0.0.1");
    assert.deepEqual([p.allocate(), p.allocate(), p.allocate()], ["10.0.0.2", "10.0.0.4", undefined]);
  });

  test("assign: exactly the address, in the pool or outside it, or undefined when held", () => {
    const p = pool("10.0.0.1-2");
    assert.equal(p.assign("10.0.0.2"), "10.0.0.2");
    assert.equal(p.assign("10.0.0.2"), undefined);
    assert.equal(p.assign("192.168.7.7"), "192.168.7.7");
    assert.equal(p.assign("192.168.7.7"), undefined);
    assert.equal(p.assign("not-an-ip"), undefined);
    assert.equal(p.inUse, 2);
    assert.equal(p.available, 1);
    assert.equal(p.isInUse("192.168.7.7"), true);
    assert.equal(p.contains("192.168.7.7"), false);
    assert.equal(p.release("192.168.7.7"), true);
    assert.equal(p.isInUse("192.168.7.7"), false);
    assert.equal(p.inUse, 1);
    assert.equal(p.allocate(), "10.0.0.1");
    assert.equal(p.allocate(), undefined, "10.0.0.2 is assigned, so the pool is exhausted");
  });

  test("release: double release and unknown addresses return false and change nothing", () => {
    const p = pool("10.0.0.1-3");
    const a = p.allocate()!;
    assert.equal(p.release(a), true);
    assert.equal(p.release(a), false);
    assert.equal(p.release("10.0.0.3"), false, "never allocated");
    assert.equal(p.release("10.9.9.9"), false, "outside, not assigned");
    assert.equal(p.release("junk"), false);
    assert.equal(p.available, 3);
    assert.equal(p.inUse, 0);
    // The free queue is still a proper queue: three distinct addresses come out.
    assert.equal(new Set([p.allocate(), p.allocate(), p.allocate()]).size, 3);
    assert.equal(p.allocate(), undefined);
  });

  test("contains and isInUse", () => {
    const p = pool("10.0.0.0/30");
    assert.deepEqual(["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "x"].map((a) => p.contains(a)), [false, true, true, false, false]);
    p.allocate();
    assert.deepEqual([p.isInUse("10.0.0.1"), p.isInUse("10.0.0.2"), p.isInUse("x")], [true, false, false]);
  });

  test("the constructor refuses overlapping ranges", () => {
    assert.throws(() => pool("10.0.0.1-10", "10.0.0.10-20"), {
      name: "RangeError",
      message: "address pool: ranges 10.0.0.1-10.0.0.10 and 10.0.0.10-10.0.0.20 overlap",
    });
  });

  test("a /16: every address handed out exactly once, then reused in release order", () => {
    const p = pool("10.0.0.0/16");
    assert.equal(p.size, 65534);
    const seen = new Set<string>();
    for (let i = 0; i < p.size; i++) seen.add(p.allocate()!);
    assert.equal(seen.size, 65534);
    assert.equal(p.allocate(), undefined);
    assert.ok(seen.has("10.0.0.1") && seen.has("10.0.255.254") && !seen.has("10.0.0.0") && !seen.has("10.0.255.255"));
    const order = ["10.0.128.7", "10.0.0.1", "10.0.255.254"];
    for (const a of order) assert.equal(p.release(a), true);
    assert.deepEqual([p.allocate(), p.allocate(), p.allocate(), p.allocate()], [...order, undefined]);
  });

  test("against a reference model: random allocate/assign/release keep the queue order", () => {
    const seed = testSeed("pool:model", 7);
    withSeed("pool reference model", seed, () => referenceModel(seed, testRuns(5000)));
  });
  function referenceModel(seed: number, steps: number): void {
    const rnd = seededRandom(seed);
    const p = pool("10.0.0.1-6", "10.0.1.1-6");
    const all = [1, 2, 3, 4, 5, 6].map((i) => `10.0.0.${i}`).concat([1, 2, 3, 4, 5, 6].map((i) => `10.0.1.${i}`));
    let free = all.slice();
    const held = new Set<string>();
    for (let step = 0; step < steps; step++) {
      const [op, pick] = rnd(2);
      const target = all[pick % all.length];
      if (op % 3 === 0) {
        const expected = !held.has(target) ? target : free[0];
        const got = p.allocate(target);
        assert.equal(got, expected, `step ${step}: allocate(${target})`);
        if (got !== undefined) {
          free = free.filter((a) => a !== got);
          held.add(got);
        }
      } else if (op % 3 === 1) {
        const got = p.allocate();
        assert.equal(got, free[0], `step ${step}: allocate()`);
        if (got !== undefined) {
          free.shift();
          held.add(got);
        }
      } else {
        const got = p.release(target);
        assert.equal(got, held.has(target), `step ${step}: release(${target})`);
        if (got) {
          held.delete(target);
          free.push(target);
        }
      }
      assert.equal(p.available, free.length);
      assert.equal(p.inUse, held.size);
    }
  }
});

describe("AddressPool: addresses reserved for static users", () => {
  test("allocate() never hands a reserved address to someone else, even when asked for it; assign() gives it", () => {
    const p = pool("10.0.0.1-10.0.0.4");
    assert.equal(p.reserve(["10.0.0.2", "10.9.9.9", "not an address"]), 1);
    assert.equal(p.available, 3);
    assert.equal(p.inUse, 0, "a reserved address nobody holds is not in use");
    assert.equal(p.allocate("10.0.0.2"), "10.0.0.1", "a dynamic user asking for the static address gets another");
    assert.deepEqual([p.allocate(), p.allocate(), p.allocate()], ["10.0.0.3", "10.0.0.4", undefined]);
    assert.equal(p.assign("10.0.0.2"), "10.0.0.2", "the static user still gets it");
    assert.equal(p.assign("10.0.0.2"), undefined, "but only once at a time");
    assert.ok(p.release("10.0.0.2"));
    assert.equal(p.available, 0, "a released reserved address does not join the free queue");
    assert.equal(p.assign("10.0.0.2"), "10.0.0.2");
  });

  test("a new reservation set (a reload) frees the old ones and reserves the new, in use or not", () => {
    const p = pool("10.0.0.1-10.0.0.3");
    p.reserve(["10.0.0.1"]);
    assert.equal(p.allocate(), "10.0.0.2");
    assert.equal(p.reserve(["10.0.0.2", "10.0.0.3"]), 2, "10.0.0.2 is in use: it is reserved from its release on");
    assert.equal(p.allocate(), "10.0.0.1", "the old reservation is free again");
    assert.equal(p.allocate(), undefined);
    p.release("10.0.0.2");
    assert.equal(p.allocate(), undefined, "10.0.0.2 came back reserved");
    p.reserve([]);
    assert.equal(p.available, 2);
    assert.equal(p.inUse, 1);
  });
});
