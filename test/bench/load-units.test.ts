/**
 * The load generator's pure parts: option checking, percentiles and the report line format, the /proc parsers,
 * and the ICMP echo it pushes through sessions (built, then checked as the server's kernel would answer it).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { parseLoadOptions } from "../../bench/load/options.js";
import { formatFigure, quantile } from "../../bench/load/report.js";
import { parseStatCpuTicks, parseStatusKb } from "../../bench/load/proc-stats.js";
import { buildEcho, parseEchoReply } from "../../bench/load/icmp.js";
import { internetChecksum } from "../../src/wire/ipv4-fragment.js";

describe("bench load: options", () => {
  test("defaults, values, and refusals that name the option", () => {
    const d = parseLoadOptions([]);
    assert.ok(typeof d === "object");
    assert.equal(d.sessions, 100);
    assert.equal(d.idleS, 60);
    const o = parseLoadOptions(["--sessions", "500", "--rate=250", "--traffic", "3", "--json"]);
    assert.ok(typeof o === "object");
    assert.equal(o.sessions, 500);
    assert.equal(o.rate, 250);
    assert.equal(o.traffic, 3);
    assert.equal(o.json, true);
    assert.equal(parseLoadOptions(["--help"]), "help");
    assert.match(parseLoadOptions(["--sessions", "30001"]) as string, /--sessions must be between 1 and 30000/);
    assert.match(parseLoadOptions(["--sessions", "2.5"]) as string, /whole number/);
    assert.match(parseLoadOptions(["--rate"]) as string, /--rate needs a number/);
    assert.match(parseLoadOptions(["--traffic", "5", "--sessions", "4"]) as string, /more than --sessions/);
    assert.match(parseLoadOptions(["--frobnicate"]) as string, /unknown option "--frobnicate"/);
    const p = parseLoadOptions(["--server-idle-prof", "/tmp/prof", "--server-cpu-prof", "/tmp/whole"]);
    assert.ok(typeof p === "object");
    assert.equal(p.serverIdleProf, "/tmp/prof");
    assert.equal(p.serverCpuProf, "/tmp/whole");
    assert.equal((d as { serverIdleProf: string }).serverIdleProf, "", "no idle profile by default");
    assert.equal((d as { serverCpuProf?: string }).serverCpuProf, undefined, "no whole-process profile by default");
    assert.match(parseLoadOptions(["--server-idle-prof"]) as string, /needs a directory/);
    assert.match(parseLoadOptions(["--server-cpu-prof"]) as string, /needs a directory/);
  });

  test("--quick and --full profiles; an explicit option wins wherever it stands", () => {
    const q = parseLoadOptions(["--quick"]);
    assert.ok(typeof q === "object");
    assert.deepEqual([q.sessions, q.idleS, q.traffic], [200, 5, 2]);
    const f = parseLoadOptions(["--sessions", "5000", "--full"]);
    assert.ok(typeof f === "object");
    assert.deepEqual([f.sessions, f.rate, f.idleS, f.traffic], [5000, 2000, 60, 100]);
    assert.match(parseLoadOptions(["--quick", "--full"]) as string, /choose one profile/);
    const small = parseLoadOptions(["--full", "--sessions", "50"]);
    assert.ok(typeof small === "object");
    assert.equal(small.traffic, 50, "the profile's 100 traffic sessions shrink to the 50 there are");
  });
});

describe("bench load: report", () => {
  test("nearest-rank quantiles", () => {
    const s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    assert.equal(quantile(s, 0.5), 5);
    assert.equal(quantile(s, 0.9), 9);
    assert.equal(quantile(s, 0.99), 10);
    assert.equal(quantile(s, 1), 10);
    assert.equal(quantile([42], 0.5), 42);
    assert.equal(quantile([], 0.5), undefined);
  });

  test("lines read NAME: value unit (ratio R to BASELINE; goal G; note)", () => {
    assert.equal(formatFigure({ name: "load.sessions_up", value: 19, unit: "sessions", ratio: { value: 0.95, to: "load.sessions_requested" } }), "load.sessions_up: 19 sessions (ratio 0.950 to load.sessions_requested)");
    assert.equal(formatFigure({ name: "load.rss_per_session", value: 64.23, unit: "KB", goal: "≤ 20 KB" }), "load.rss_per_session: 64.23 KB (goal ≤ 20 KB)");
    assert.equal(formatFigure({ name: "load.setup_latency_p50", value: 12.3456, unit: "ms" }), "load.setup_latency_p50: 12.35 ms");
    assert.equal(formatFigure({ name: "load.server_exit", value: "exit code 0", unit: "" }), "load.server_exit: exit code 0");
  });
});

describe("bench load: /proc", () => {
  test("utime + stime counted from the last parenthesis, VmRSS in bytes", () => {
    // A command name with spaces and a parenthesis must not shift the fields.
    const stat = "1234 (node (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 11 0 555 1000 200";
    assert.equal(parseStatCpuTicks(stat), 325);
    assert.equal(parseStatusKb("Name:\tnode\nVmRSS:\t   61234 kB\nVmHWM:\t 70000 kB\n", "VmRSS"), 61234 * 1024);
    assert.equal(parseStatusKb("Name:\tnode\n", "VmRSS"), undefined);
  });
});

describe("bench load: ICMP echo", () => {
  const us = 0x0ae8000a; // 10.232.0.10
  const server = 0x0ae80001; // 10.232.0.1

  /** What the server's kernel sends back: addresses swapped, type 0, checksum fixed (RFC 792). */
  function answer(req: Uint8Array): Uint8Array {
    const r = req.slice();
    r.set(req.subarray(16, 20), 12);
    r.set(req.subarray(12, 16), 16);
    r[20] = 0;
    r[22] = r[23] = 0;
    const c = internetChecksum(r, 20, r.length - 20);
    r[22] = c >> 8;
    r[23] = c & 0xff;
    return r;
  }

  test("a request with valid checksums; its reply is recognised with the session's id, sequence and send time", () => {
    const buf = new Uint8Array(200);
    const n = buildEcho(buf, 100, us, server, 7, 513, 12345.5);
    assert.equal(n, 100);
    assert.equal(internetChecksum(buf, 0, 20), 0, "IP header checksum");
    assert.equal(internetChecksum(buf, 20, 80), 0, "ICMP checksum");
    assert.equal(buf[20], 8, "echo request");
    const reply = answer(buf.subarray(0, 100));
    assert.deepEqual(parseEchoReply(reply, 0, 100, server, us), { ok: true, ident: 7, seq: 513, sentAt: 12345.5 });
    // At an offset inside a larger buffer, as the engine hands it over.
    const big = new Uint8Array(300);
    big.set(reply, 50);
    assert.deepEqual(parseEchoReply(big, 50, 100, server, us), { ok: true, ident: 7, seq: 513, sentAt: 12345.5 });
  });

  test("the smallest echo (no room for the send time) still round-trips", () => {
    const buf = new Uint8Array(28);
    buildEcho(buf, 28, us, server, 1, 2, 99);
    assert.deepEqual(parseEchoReply(answer(buf), 0, 28, server, us), { ok: true, ident: 1, seq: 2, sentAt: undefined });
  });

  test("anything else is refused with the reason", () => {
    const buf = new Uint8Array(100);
    buildEcho(buf, 100, us, server, 7, 1, 0);
    assert.equal((parseEchoReply(buf, 0, 100, server, us) as { why: string }).why, "unexpected addresses", "our own request");
    const reply = answer(buf);
    assert.match((parseEchoReply(reply, 0, 100, server, us + 1) as { why: string }).why, /addresses/);
    const corrupt = reply.slice();
    corrupt[90] ^= 0xff;
    assert.match((parseEchoReply(corrupt, 0, 100, server, us) as { why: string }).why, /checksum|payload/);
    const udp = reply.slice();
    udp[9] = 17;
    assert.match((parseEchoReply(udp, 0, 100, server, us) as { why: string }).why, /protocol 17/);
    assert.match((parseEchoReply(reply, 0, 10, server, us) as { why: string }).why, /not an IPv4/);
  });
});
