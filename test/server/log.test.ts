/** Log line format, escaping of peer-supplied text, per-category switches and lazy message building. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_LOG_CATEGORIES,
  formatLogContext,
  formatLogLine,
  isLogCategory,
  Logger,
  LOG_CATEGORIES,
  type LogCategory,
} from "../../src/server/log.js";

const T = Date.UTC(2026, 10, 21, 13, 2, 13, 123);

function capture(categories?: LogCategory[]): { logger: Logger; lines: string[]; tick: () => void } {
  const lines: string[] = [];
  let now = T;
  const logger = new Logger({ sink: (l) => lines.push(l), clock: () => now, ...(categories ? { categories } : {}) });
  return { logger, lines, tick: () => (now += 1000) };
}

describe("formatLogLine", () => {
  test("the documented example", () => {
    assert.equal(
      formatLogLine(T, "events", "auth succeeded (MS-CHAPv2)", { call: 16384, user: "alice", peer: "10.99.0.2" }),
      "2026-11-21T13:02:13.123Z [events] call 16384 user=alice peer=10.99.0.2: auth succeeded (MS-CHAPv2)",
    );
  });

  test("no context: no colon", () => {
    assert.equal(formatLogLine(T, "errors", "listen failed: EADDRINUSE"), "2026-11-21T13:02:13.123Z [errors] listen failed: EADDRINUSE");
    assert.equal(formatLogLine(0, "events", "x", {}), "1970-01-01T00:00:00.000Z [events] x");
  });

  test("partial context keeps the field order call, user, peer", () => {
    assert.equal(formatLogContext({ peer: "192.0.2.1", call: 7 }), "call 7 peer=192.0.2.1");
    assert.equal(formatLogContext({ user: "bob" }), "user=bob");
    assert.equal(formatLogContext(undefined), "");
  });

  test("user names with spaces, '=', quotes or non-ASCII are written as JSON strings", () => {
    assert.equal(formatLogContext({ user: "Jane Doe" }), `user="Jane Doe"`);
    assert.equal(formatLogContext({ user: "a=b" }), `user="a=b"`);
    assert.equal(formatLogContext({ user: `x"y` }), `user="x\\"y"`);
    assert.equal(formatLogContext({ user: "ACME\\bob" }), `user="ACME\\\\bob"`);
    assert.equal(formatLogContext({ user: "jürgen" }), `user="jürgen"`);
    assert.equal(formatLogContext({ user: "" }), `user=""`);
  });

  test("a newline in a user name or message cannot start a forged log line", () => {
    const line = formatLogLine(T, "events", "bad\nline\r\t\x00\x7f\u2028end", { user: "eve\n2026-01-01T00:00:00.000Z [events] fake" });
    assert.equal(line.includes("\n"), false);
    assert.equal(
      line,
      `2026-11-21T13:02:13.123Z [events] user="eve\\n2026-01-01T00:00:00.000Z [events] fake": bad\\nline\\r\\t\\x00\\x7f\\u2028end`,
    );
  });
});

describe("Logger", () => {
  test("events and errors are on by default; packets and negotiation off", () => {
    const { logger, lines } = capture();
    assert.deepEqual(DEFAULT_LOG_CATEGORIES, ["events", "errors"]);
    assert.deepEqual(logger.categories(), ["events", "errors"]);
    for (const c of LOG_CATEGORIES) logger.log(c, `a ${c} line`);
    assert.deepEqual(lines, ["2026-11-21T13:02:13.123Z [events] a events line", "2026-11-21T13:02:13.123Z [errors] a errors line"]);
  });

  test("a disabled category never calls the message function", () => {
    const { logger, lines } = capture(["events"]);
    let built = 0;
    const msg = () => {
      built++;
      return "expensive";
    };
    logger.log("packets", msg);
    assert.equal(built, 0);
    assert.equal(logger.enabled("packets"), false);
    logger.log("events", msg);
    assert.equal(built, 1);
    assert.deepEqual(lines, ["2026-11-21T13:02:13.123Z [events] expensive"]);
  });

  test("categories switch at run time (debug command, SIGHUP)", () => {
    const { logger, lines, tick } = capture([]);
    logger.log("events", "dropped");
    logger.setEnabled("packets", true);
    logger.log("packets", "rx SCCRQ");
    tick();
    logger.setCategories(["negotiation"]);
    logger.log("packets", "dropped too");
    logger.log("negotiation", "LCP ConfReq mru 1400");
    assert.deepEqual(logger.categories(), ["negotiation"]);
    logger.setEnabled("negotiation", false);
    logger.log("negotiation", "dropped as well");
    assert.deepEqual(lines, ["2026-11-21T13:02:13.123Z [packets] rx SCCRQ", "2026-11-21T13:02:14.123Z [negotiation] LCP ConfReq mru 1400"]);
  });

  test("with(): a session logger adds its context and shares the switches", () => {
    const { logger, lines } = capture(["events"]);
    const call = logger.with({ call: 16384, peer: "10.99.0.2" });
    call.log("events", "call connected");
    const authed = call.with({ user: "alice" });
    authed.log("events", () => "auth succeeded");
    authed.log("packets", "hidden");
    logger.setEnabled("packets", true);
    assert.equal(authed.enabled("packets"), true);
    authed.log("packets", "now shown");
    assert.deepEqual(call.context, { call: 16384, peer: "10.99.0.2" }, "with() does not change the parent's context");
    assert.deepEqual(lines, [
      "2026-11-21T13:02:13.123Z [events] call 16384 peer=10.99.0.2: call connected",
      "2026-11-21T13:02:13.123Z [events] call 16384 user=alice peer=10.99.0.2: auth succeeded",
      "2026-11-21T13:02:13.123Z [packets] call 16384 user=alice peer=10.99.0.2: now shown",
    ]);
  });

  test("the default sink writes each line and a newline to stderr, the lines of one event-loop turn in one write", async (t) => {
    const written: string[] = [];
    t.mock.method(process.stderr, "write", (chunk: string) => {
      written.push(chunk);
      return true;
    });
    const log = new Logger({ clock: () => T });
    log.log("errors", "boom");
    log.log("events", "bang");
    assert.deepEqual(written, [], "nothing written before the turn ends");
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(written, ["2026-11-21T13:02:13.123Z [errors] boom\n2026-11-21T13:02:13.123Z [events] bang\n"]);
    log.log("errors", "again");
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(written.slice(1), ["2026-11-21T13:02:13.123Z [errors] again\n"]);
  });

  test("isLogCategory", () => {
    assert.deepEqual(["events", "errors", "packets", "negotiation", "debug", "Events"].map(isLogCategory), [true, true, true, true, false, false]);
  });
});
