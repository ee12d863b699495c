/**
 * `[log] format = json`, the per-session debug filters (with the lines held until a call's user is known), the
 * `pptp-ts debug` request and its effect on a Logger, the syslog datagram, and the [log] config keys.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { Logger, MAX_HELD_LINES, formatJsonLine, type LogCategory } from "../../src/server/log.js";
import { parseAdminRequest, answerAdmin, type AdminTarget } from "../../src/admin/commands.js";
import { applyDebug, debugText } from "../../src/admin/debug.js";
import { formatSyslog, openSyslogSink } from "../../src/io/syslog.js";
import { parseConfig, formatConfig, defaultConfig } from "../../src/config/config.js";
import { parseDebugArgs } from "../../src/cli/debug-command.js";

const T = Date.UTC(2026, 10, 21, 13, 2, 13, 123);

function capture(categories: LogCategory[] = ["events", "errors"], format: "text" | "json" = "text") {
  const lines: string[] = [];
  const cats: LogCategory[] = [];
  const logger = new Logger({ sink: (l, c) => (lines.push(l), cats.push(c)), clock: () => T, categories, format });
  return { logger, lines, cats };
}

describe("format = json", () => {
  test("one JSON object a line: time, level by category, session fields, msg, extra fields", () => {
    const { logger, lines } = capture(["events", "errors", "negotiation"], "json");
    const call = logger.session({ call: 16384, peer: "10.99.0.2", session: "6B14EF2F531EFA1F" });
    call.log("negotiation", "LCP: ConfReq acked");
    call.identify("alice");
    call.log("events", "session down: peer hung up", { durationS: 12, inOctets: 3400 });
    logger.log("errors", "listen failed");
    assert.equal(lines.length, 3);
    const o = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(o[0], { time: "2026-11-21T13:02:13.123Z", level: "debug", category: "negotiation", session: "6B14EF2F531EFA1F", call: 16384, peer: "10.99.0.2", msg: "LCP: ConfReq acked" });
    assert.deepEqual(o[1], {
      time: "2026-11-21T13:02:13.123Z",
      level: "info",
      category: "events",
      session: "6B14EF2F531EFA1F",
      call: 16384,
      user: "alice",
      peer: "10.99.0.2",
      msg: "session down: peer hung up",
      durationS: 12,
      inOctets: 3400,
    });
    assert.deepEqual(o[2], { time: "2026-11-21T13:02:13.123Z", level: "error", category: "errors", msg: "listen failed" });
  });

  test("a peer's newline or line separator stays inside its string; extra fields cannot replace the reserved ones", () => {
    const line = formatJsonLine(T, "events", "a\nb\u2028c", { user: "eve\n{\"level\":\"error\"}" }, { level: "forged", msg: "forged", n: 1 });
    assert.equal(line.includes("\n") || line.includes("\u2028"), false);
    const o = JSON.parse(line) as Record<string, unknown>;
    assert.equal(o.user, 'eve\n{"level":"error"}');
    assert.equal(o.msg, "a\nb\u2028c");
    assert.equal(o.level, "info");
    assert.equal(o.n, 1);
  });

  test("the format switches at run time (reload)", () => {
    const { logger, lines } = capture(["events"]);
    logger.log("events", "as text");
    logger.setFormat("json");
    logger.log("events", "as json");
    assert.equal(lines[0], "2026-11-21T13:02:13.123Z [events] as text");
    assert.equal((JSON.parse(lines[1]) as { msg: string }).msg, "as json");
  });
});

describe("per-session debug filters", () => {
  test("a user filter shows only that user's lines, a session filter only that session's", () => {
    const { logger, lines } = capture(["events"]);
    const alice = logger.session({ call: 1, peer: "10.0.0.1", session: "A1" });
    const bob = logger.session({ call: 2, peer: "10.0.0.2", session: "B2" });
    alice.identify("alice");
    bob.identify("bob");
    logger.addFilter({ category: "negotiation", user: "ALICE" });
    assert.equal(alice.enabled("negotiation"), true);
    assert.equal(bob.enabled("negotiation"), false);
    assert.equal(logger.enabled("negotiation"), false, "not on for everyone");
    alice.log("negotiation", "alice's LCP");
    bob.log("negotiation", "bob's LCP");
    logger.log("negotiation", "no session");
    logger.addFilter({ category: "packets", session: "B2" });
    alice.log("packets", "alice's packet");
    bob.log("packets", "bob's packet");
    assert.deepEqual(lines, [
      "2026-11-21T13:02:13.123Z [negotiation] call 1 user=alice peer=10.0.0.1: alice's LCP",
      "2026-11-21T13:02:13.123Z [packets] call 2 user=bob peer=10.0.0.2: bob's packet",
    ]);
  });

  test("a disabled category with no filter builds no message", () => {
    const { logger } = capture(["events"]);
    const s = logger.session({ call: 1 });
    let built = 0;
    s.log("packets", () => String(++built));
    assert.equal(built, 0);
    assert.equal(s.enabled("packets"), false);
  });

  test("lines before the user is known are held, then written for the filtered user and dropped for others", () => {
    const { logger, lines } = capture(["events"]);
    logger.addFilter({ category: "negotiation", user: "alice" });
    const a = logger.session({ call: 1, peer: "p1" });
    const b = logger.session({ call: 2, peer: "p2" });
    assert.equal(a.enabled("negotiation"), true, "it may be alice: build the line");
    a.log("negotiation", "LCP ConfReq");
    b.log("negotiation", "LCP ConfReq");
    assert.deepEqual(lines, []);
    b.identify("bob");
    a.identify("ACME\\alice");
    a.log("negotiation", "IPCP up");
    b.log("negotiation", "IPCP up");
    assert.deepEqual(lines, [
      `2026-11-21T13:02:13.123Z [negotiation] call 1 user="ACME\\\\alice" peer=p1: LCP ConfReq`,
      `2026-11-21T13:02:13.123Z [negotiation] call 1 user="ACME\\\\alice" peer=p1: IPCP up`,
    ]);
  });

  test("held lines are bounded, and the line that replaces the dropped ones says how many", () => {
    const { logger, lines } = capture([]);
    logger.addFilter({ category: "packets", user: "alice" });
    const a = logger.session({ call: 1 });
    for (let i = 0; i < MAX_HELD_LINES + 5; i++) a.log("packets", `p${i}`);
    a.identify("alice");
    assert.equal(lines.length, MAX_HELD_LINES + 1);
    assert.match(lines[0], /\(5 earlier lines of this call not kept\)$/);
    assert.match(lines[1], /: p5$/);
  });

  test("setCategories (SIGHUP) resets the global switches and keeps the filters", () => {
    const { logger } = capture(["events"]);
    logger.setEnabled("packets", true);
    logger.addFilter({ category: "negotiation", user: "alice" });
    logger.setCategories(["events", "errors"]);
    assert.deepEqual(logger.debugState(), { categories: ["events", "errors"], filters: [{ category: "negotiation", user: "alice" }] });
  });
});

describe("pptp-ts debug", () => {
  test("requests are checked field by field", () => {
    assert.deepEqual(parseAdminRequest({ cmd: "debug" }), { cmd: "debug" });
    assert.deepEqual(parseAdminRequest({ cmd: "debug", category: "negotiation", on: true, user: "alice" }), { cmd: "debug", categories: ["negotiation"], on: true, user: "alice" });
    assert.deepEqual(parseAdminRequest({ cmd: "debug", category: "all", on: false }), { cmd: "debug", categories: ["events", "errors", "packets", "negotiation"], on: false });
    assert.equal(parseAdminRequest({ cmd: "debug", category: "packet", on: true }), 'debug: unknown category "packet" (events, errors, packets, negotiation or all)');
    assert.equal(parseAdminRequest({ cmd: "debug", category: "packets" }), "debug: on must be true or false");
    assert.equal(parseAdminRequest({ cmd: "debug", category: "packets", on: true, user: "a", sessionId: "B" }), "debug: give a user or a session, not both");
    assert.equal(parseAdminRequest({ cmd: "debug", on: true }), "debug: a category is needed to switch");
  });

  test("on/off for everyone, for a user, for a session that exists; off drops the filters", async () => {
    const logger = new Logger({ categories: ["events"], sink: () => {} });
    const target: AdminTarget = {
      find: (sel) => (sel.sessionId === "00AB" ? [{ sessionId: "00AB" } as never] : []),
      disconnect: () => false,
      changeTimeouts: () => false,
      debug: (req) => applyDebug(logger, req, target),
    };
    const ask = (r: object) => answerAdmin(target, { cmd: "debug", ...r });
    assert.deepEqual(await ask({ category: "negotiation", on: true, user: "alice" }), {
      ok: true,
      debug: { categories: ["events"], filters: [{ category: "negotiation", user: "alice" }], changed: "negotiation on for user alice" },
    });
    assert.deepEqual(await ask({ category: "packets", on: true, sessionId: "00ab" }), {
      ok: true,
      debug: { categories: ["events"], filters: [{ category: "packets", session: "00AB" }, { category: "negotiation", user: "alice" }], changed: "packets on for session 00AB" },
    });
    assert.deepEqual(await ask({ category: "packets", on: true, sessionId: "FFFF" }), { ok: false, error: "no session FFFF (pptp-ts show sessions lists them)" });
    assert.deepEqual(await ask({ category: "negotiation", on: false, user: "bob" }), { ok: false, error: "negotiation was not on for user bob" });
    await ask({ category: "packets", on: true });
    assert.equal(logger.enabled("packets"), true);
    await ask({ category: "packets", on: false });
    assert.equal(logger.enabled("packets"), false);
    const shown = await ask({});
    assert.deepEqual(shown, { ok: true, debug: { categories: ["events"], filters: [{ category: "negotiation", user: "alice" }] } });
    assert.ok(shown.ok && "debug" in shown);
    assert.equal(debugText(shown.debug), "on for everyone: events\nnegotiation on for user alice\n");
  });

  test("the command line", () => {
    assert.deepEqual(parseDebugArgs(["negotiation", "on", "user", "alice", "--socket", "/tmp/s"]), { request: { cmd: "debug", category: "negotiation", on: true, user: "alice" }, json: false, socket: "/tmp/s" });
    assert.deepEqual(parseDebugArgs([]), { request: { cmd: "debug" }, json: false, socket: "/run/pptp-ts/pptp-ts.sock" });
    assert.equal(parseDebugArgs(["packets", "maybe"]), 'expected "packets on" or "packets off"');
    assert.equal(parseDebugArgs(["packets", "on", "peer", "x"]), 'unknown filter "peer": use user NAME or session ID');
    assert.equal(parseDebugArgs(["packets", "on", "user"]), 'expected "user NAME" or "session ID" after "on" (got "user")');
  });
});

describe("syslog", () => {
  test("RFC 5424: PRI from facility and category, version 1, time, host, app, pid", () => {
    const b = formatSyslog(3, "errors", T, "vpn 1", 42, "2026... [errors] boom");
    assert.equal(b.toString(), "<27>1 2026-11-21T13:02:13.123Z vpn1 pptp-ts 42 - - 2026... [errors] boom");
    assert.equal(formatSyslog(16, "negotiation", T, "", 1, "x").toString().slice(0, 8), "<135>1 2");
    assert.equal(formatSyslog(3, "events", T, "h", 1, "x").toString().slice(0, 6), "<30>1 ");
  });

  test("a long line is cut on a character boundary", () => {
    for (const max of [100, 101]) {
      const b = formatSyslog(3, "events", T, "h", 1, "é".repeat(3000), max);
      assert.ok(b.length <= max);
      assert.ok(b.toString().endsWith("..."));
      assert.equal(b.toString().includes("\ufffd"), false, `cut at ${max}`);
    }
  });

  test("lines arrive as UDP datagrams", async () => {
    const rx = dgram.createSocket("udp4");
    await new Promise<void>((r) => rx.bind(0, "127.0.0.1", r));
    const got = new Promise<string>((r) => rx.once("message", (m) => r(m.toString())));
    const sink = openSyslogSink({ host: "127.0.0.1", port: rx.address().port }, 3, () => T);
    new Logger({ sink: sink.write, clock: () => T, format: "json" }).log("events", "hello");
    const msg = await got;
    rx.close();
    sink.close();
    assert.match(msg, /^<30>1 2026-11-21T13:02:13.123Z \S+ pptp-ts \d+ - - \{"time":"2026-11-21T13:02:13.123Z","level":"info","category":"events","msg":"hello"\}$/);
  });
});

describe("[log] keys", () => {
  const FILE = "/etc/pptp-ts/pptp-ts.conf";
  test("defaults and a round trip", () => {
    const d = defaultConfig("/etc/pptp-ts").log;
    assert.deepEqual(d, { debug: ["events", "errors"], format: "text", output: "stderr", syslog: { host: "127.0.0.1", port: 514 }, syslogFacility: "daemon", packetHex: false });
    const r = parseConfig("[log]\nformat = JSON\noutput = syslog\nsyslog = 192.0.2.7\nsyslog-facility = local7\npacket-hex = yes\n", FILE);
    assert.ok(r.ok);
    assert.deepEqual(r.config.log, { debug: ["events", "errors"], format: "json", output: "syslog", syslog: { host: "192.0.2.7", port: 514 }, syslogFacility: "local7", packetHex: true });
    const again = parseConfig(formatConfig(r.config), FILE);
    assert.ok(again.ok);
    assert.deepEqual(again.config.log, r.config.log);
  });

  test("bad values and misspelt keys: file, line, fix", () => {
    const r = parseConfig("[log]\nformat = xml\noutput = journal\nsyslog = loghost:514\nsyslog-facility = local9\npacket_hex = yes\n", FILE);
    assert.ok(!r.ok);
    assert.deepEqual(r.errors.map(String), [
      `${FILE}:2: [log] format: "xml" is not one of text, json — fix: use e.g. "format = json"`,
      `${FILE}:3: [log] output: "journal" is not one of stderr, syslog — fix: use e.g. "output = syslog"`,
      `${FILE}:4: [log] syslog: "loghost" is not an IPv4 address — fix: use e.g. "syslog = 127.0.0.1:514" (UDP; an IPv4 address, not a name)`,
      `${FILE}:5: [log] syslog-facility: "local9" is not one of user, daemon, auth, authpriv, local0, local1, local2, local3, local4, local5, local6, local7 — fix: use e.g. "syslog-facility = local0"`,
      `${FILE}:6: [log] packet_hex: unknown key — fix: did you mean "packet-hex"? [log] keys are debug, format, output, syslog, syslog-facility, packet-hex`,
    ]);
  });
});

describe("the server's log setup ([log] at start and on SIGHUP)", () => {
  test("a reload switches format and output: stderr text, then syslog JSON", { timeout: 5000 }, async (t) => {
    const { LogSetup } = await import("../../src/cli/log-setup.js");
    const written: string[] = [];
    t.mock.method(process.stderr, "write", (chunk: string) => (written.push(chunk), true));
    const base = defaultConfig("/etc/pptp-ts").log;
    const setup = new LogSetup(base, ["events"]);
    setup.logger.log("events", "first");
    const rx = dgram.createSocket("udp4");
    await new Promise<void>((r) => rx.bind(0, "127.0.0.1", r));
    const got = new Promise<string>((r) => rx.on("message", (m) => (m.toString().includes("second") ? r(m.toString()) : undefined)));
    setup.reload({ ...base, format: "json", output: "syslog", syslog: { host: "127.0.0.1", port: rx.address().port }, syslogFacility: "local0" }, ["events", "negotiation"]);
    setup.logger.log("negotiation", "second");
    const msg = await got;
    rx.close();
    setup.close();
    assert.match(written[0], /\[events\] first\n$/);
    assert.equal(written.length, 1, "nothing more on stderr once syslog took over");
    assert.match(msg, /^<135>1 \S+ \S+ pptp-ts \d+ - - \{.*"category":"negotiation","msg":"second"\}$/);
  });
});
