import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { formatIpv4, ipv4Option, parseIpv4 } from "../../src/wire/ipv4.js";
import { unwrap } from "../../src/wire/result.js";

describe("IPv4 address numbers", () => {
  test("dotted quads map to host-order u32 and back", () => {
    assert.equal(unwrap(parseIpv4("10.0.0.1")), 0x0a000001);
    assert.equal(unwrap(parseIpv4("255.255.255.255")), 0xffffffff);
    assert.equal(unwrap(parseIpv4("0.0.0.0")), 0);
    assert.equal(unwrap(parseIpv4("192.168.200.7")), (192 << 24 >>> 0) + (168 << 16) + (200 << 8) + 7);
    for (const s of ["1.2.3.4", "172.16.254.1", "255.0.255.0", "8.8.4.4"]) assert.equal(formatIpv4(unwrap(parseIpv4(s))), s);
  });

  test("malformed text is an error value naming the part", () => {
    const cases: Array<[string, RegExp]> = [
      ["1.2.3", /must have 4 dot-separated parts, has 3/],
      ["1.2.3.4.5", /has 5/],
      ["256.0.0.1", /part "256"/],
      ["01.2.3.4", /part "01"/],
      ["a.b.c.d", /part "a"/],
      ["1..2.3", /part ""/],
      [" 1.2.3.4", /part " 1"/],
      ["1.2.3.4.", /has 5/],
      [".1.2.3", /part ""/],
      ["", /has 1/],
      ["1.2.3.04", /part "04"/],
      ["1.2.3.1000", /part "1000"/],
      ["1.2.3.4 ", /part "4 "/],
      ["1.2.+3.4", /part "\+3"/],
    ];
    for (const [text, why] of cases) {
      const r = parseIpv4(text);
      assert.equal(r.ok, false, text);
      if (!r.ok) {
        assert.equal(r.error.code, "bad-ipv4");
        assert.match(r.error.message, why);
      }
    }
  });

  test("options accept text or a u32 and name the option when wrong", () => {
    assert.equal(ipv4Option("peer", "10.1.2.3"), 0x0a010203);
    assert.equal(ipv4Option("peer", 0x0a010203), 0x0a010203);
    assert.throws(() => ipv4Option("peer", -1), { name: "TypeError", message: "peer must be an IPv4 address, got number -1" });
    assert.throws(() => ipv4Option("peer", 2 ** 32), TypeError);
    assert.throws(() => ipv4Option("address", "10.0.0"), { message: /^address: IPv4 address "10\.0\.0"/ });
  });
});
