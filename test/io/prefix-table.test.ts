/**
 * Longest-prefix match over the networks behind LAN-to-LAN peers (src/io/prefix-table.ts).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { PrefixTable, prefixMask, formatPrefix } from "../../src/io/prefix-table.js";
import { parseIpv4 } from "../../src/wire/ipv4.js";
import { unwrap } from "../../src/wire/result.js";

const ip = (s: string) => unwrap(parseIpv4(s));
const p = (s: string) => {
  const [network, bits] = s.split("/");
  return { network, prefix: Number(bits) };
};

describe("prefixMask", () => {
  test("masks for the edges and a few lengths in between, as unsigned 32-bit numbers", () => {
    assert.equal(prefixMask(0), 0);
    assert.equal(prefixMask(1), 0x8000_0000);
    assert.equal(prefixMask(8), 0xff00_0000);
    assert.equal(prefixMask(16), 0xffff_0000);
    assert.equal(prefixMask(24), 0xffff_ff00);
    assert.equal(prefixMask(31), 0xffff_fffe);
    assert.equal(prefixMask(32), 0xffff_ffff);
  });

  test("every length has exactly `prefix` leading one bits and is never negative", () => {
    for (let n = 0; n <= 32; n++) {
      const m = prefixMask(n);
      assert.ok(Number.isInteger(m) && m >= 0 && m <= 0xffff_ffff, `mask /${n} is ${m}`);
      const ones = m.toString(2).replace(/0+$/, "");
      assert.equal(ones.length, n, `/${n}`);
      assert.ok(!ones.includes("0"), `/${n} ones are contiguous`);
    }
  });
});

describe("formatPrefix", () => {
  test("network/prefix", () => {
    assert.equal(formatPrefix({ network: "192.168.20.0", prefix: 24 }), "192.168.20.0/24");
    assert.equal(formatPrefix({ network: "0.0.0.0", prefix: 0 }), "0.0.0.0/0");
    assert.equal(formatPrefix({ network: "10.1.2.3", prefix: 32 }), "10.1.2.3/32");
  });
});

describe("PrefixTable", () => {
  test("the longest matching prefix wins, whatever order the entries were added in", () => {
    const prefixes = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32"];
    const orders = [
      [0, 1, 2, 3],
      [3, 2, 1, 0],
      [2, 0, 3, 1],
      [1, 3, 0, 2],
    ];
    for (const order of orders) {
      const t = new PrefixTable<string>();
      for (const i of order) t.add(p(prefixes[i]), prefixes[i]);
      const label = `order ${order.join(",")}`;
      assert.equal(t.lookup(ip("10.1.2.3")), "10.1.2.3/32", label);
      assert.equal(t.lookup(ip("10.1.2.4")), "10.1.2.0/24", label);
      assert.equal(t.lookup(ip("10.1.3.1")), "10.1.0.0/16", label);
      assert.equal(t.lookup(ip("10.200.0.1")), "10.0.0.0/8", label);
      assert.equal(t.lookup(ip("11.0.0.1")), undefined, label);
      assert.equal(t.size, 4);
    }
  });

  test("a /32 matches its one address only", () => {
    const t = new PrefixTable<number>();
    t.add(p("192.0.2.7/32"), 7);
    assert.equal(t.lookup(ip("192.0.2.7")), 7);
    assert.equal(t.lookup(ip("192.0.2.6")), undefined);
    assert.equal(t.lookup(ip("192.0.2.8")), undefined);
  });

  test("a /0 matches everything, and only when nothing longer does", () => {
    const t = new PrefixTable<string>();
    t.add(p("0.0.0.0/0"), "default");
    for (const a of ["0.0.0.0", "1.2.3.4", "127.0.0.1", "255.255.255.255", "128.0.0.0"]) assert.equal(t.lookup(ip(a)), "default", a);
    t.add(p("172.16.0.0/12"), "corp");
    assert.equal(t.lookup(ip("172.31.255.255")), "corp");
    assert.equal(t.lookup(ip("172.32.0.0")), "default");
  });

  test("addresses with the top bit set (above 2^31) match: no signed 32-bit surprises", () => {
    const t = new PrefixTable<string>();
    t.add(p("192.168.0.0/16"), "lan");
    t.add(p("128.0.0.0/1"), "upper-half");
    assert.equal(t.lookup(ip("192.168.77.1")), "lan");
    assert.equal(t.lookup(ip("200.1.1.1")), "upper-half");
    assert.equal(t.lookup(ip("127.255.255.255")), undefined);
  });

  test("host bits in the network are masked off when adding", () => {
    const t = new PrefixTable<string>();
    t.add({ network: "10.1.2.3", prefix: 16 }, "sloppy");
    assert.equal(t.lookup(ip("10.1.0.0")), "sloppy");
    assert.equal(t.lookup(ip("10.1.255.254")), "sloppy");
    assert.equal(t.lookup(ip("10.2.0.1")), undefined);
  });

  test("an unparsable network is refused, naming the prefix", () => {
    const t = new PrefixTable<string>();
    assert.throws(() => t.add({ network: "10.1.2", prefix: 24 }, "x"), { name: "TypeError", message: /10\.1\.2\/24/ });
    assert.equal(t.size, 0);
  });

  test("among equal prefixes the one added first wins", () => {
    const t = new PrefixTable<string>();
    t.add(p("10.9.0.0/16"), "first");
    t.add(p("10.9.0.0/16"), "second");
    assert.equal(t.lookup(ip("10.9.1.1")), "first");
    t.remove("first");
    assert.equal(t.lookup(ip("10.9.1.1")), "second");
  });

  test("remove(value) drops every entry holding that value and leaves the others", () => {
    const t = new PrefixTable<{ name: string }>();
    const branchA = { name: "a" };
    const branchB = { name: "b" };
    t.add(p("10.1.0.0/16"), branchA);
    t.add(p("10.2.0.0/16"), branchA);
    t.add(p("10.0.0.0/8"), branchB);
    t.add(p("10.1.5.0/24"), branchB);
    assert.equal(t.size, 4);
    t.remove(branchA);
    assert.equal(t.size, 2);
    assert.equal(t.lookup(ip("10.1.1.1")), branchB, "the /8 now covers what the /16 did");
    assert.equal(t.lookup(ip("10.2.1.1")), branchB);
    assert.equal(t.lookup(ip("10.1.5.9")), branchB);
    t.remove({ name: "b" }); // an equal-looking but different object removes nothing
    assert.equal(t.size, 2);
    t.remove(branchB);
    assert.equal(t.size, 0);
    assert.equal(t.lookup(ip("10.1.5.9")), undefined);
  });

  test("clear() empties the table and it can be filled again", () => {
    const t = new PrefixTable<number>();
    t.add(p("10.0.0.0/8"), 1);
    t.add(p("0.0.0.0/0"), 0);
    t.clear();
    assert.equal(t.size, 0);
    assert.equal(t.lookup(ip("10.0.0.1")), undefined);
    assert.equal(t.lookup(ip("8.8.8.8")), undefined);
    t.add(p("8.8.8.0/24"), 8);
    assert.equal(t.lookup(ip("8.8.8.8")), 8);
  });

  test("an empty table misses everything", () => {
    const t = new PrefixTable<string>();
    assert.equal(t.lookup(0), undefined);
    assert.equal(t.lookup(0xffff_ffff), undefined);
    assert.equal(t.size, 0);
  });
});
