/**
 * Parsing `ip -4 route get` output (src/io/system-net.ts parseRouteGet): the next hop, device and source
 * address the kernel would use. The texts are what iproute2 prints; no `ip` is run here.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { parseRouteGet } from "../../src/io/system-net.js";

describe("parseRouteGet", () => {
  test("a route through a gateway: via, dev and src", () => {
    assert.deepEqual(parseRouteGet("10.0.0.1 via 192.168.1.1 dev eth0 src 192.168.1.5 uid 0"), {
      via: "192.168.1.1",
      dev: "eth0",
      src: "192.168.1.5",
    });
  });

  test("the cache line and trailing newline ip prints after the route are ignored", () => {
    const text = "203.0.113.7 via 192.168.1.1 dev wlp2s0 src 192.168.1.5 uid 1000 \n    cache \n";
    assert.deepEqual(parseRouteGet(text), { via: "192.168.1.1", dev: "wlp2s0", src: "192.168.1.5" });
  });

  test("a directly connected destination has no via", () => {
    const r = parseRouteGet("10.99.0.2 dev labtap0 src 10.99.0.1 uid 0\n    cache\n");
    assert.deepEqual(r, { dev: "labtap0", src: "10.99.0.1" });
    assert.ok(r !== undefined && !("via" in r), "no via key at all, not via: undefined");
  });

  test("a local address goes through lo", () => {
    const r = parseRouteGet("local 127.0.0.1 dev lo table local src 127.0.0.1 uid 0 \n    cache <local> \n");
    assert.deepEqual(r, { dev: "lo", src: "127.0.0.1" });
  });

  test("a route without a preferred source address has no src", () => {
    const r = parseRouteGet("198.51.100.9 via 10.0.0.1 dev ppp0 uid 0");
    assert.deepEqual(r, { via: "10.0.0.1", dev: "ppp0" });
    assert.ok(r !== undefined && !("src" in r));
  });

  test("words are found by keyword, not by position, and extra whitespace does not matter", () => {
    assert.deepEqual(parseRouteGet("  10.1.1.1   from 0.0.0.0  src 10.0.0.2\tvia 10.0.0.1   dev  tun0  mark 0x5 uid 0  "), {
      via: "10.0.0.1",
      dev: "tun0",
      src: "10.0.0.2",
    });
  });

  test("text that is not a route yields undefined", () => {
    for (const text of [
      "",
      "   \n",
      "RTNETLINK answers: Network is unreachable",
      "unreachable 10.0.0.1 uid 0",
      "Error: any valid prefix is expected rather than \"nonsense\".",
      "10.0.0.1 via 192.168.1.1 dev", // dev without a device name
    ]) {
      assert.equal(parseRouteGet(text), undefined, JSON.stringify(text));
    }
  });
});
