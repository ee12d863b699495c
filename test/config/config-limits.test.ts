/** The [limits] section: values, defaults, and the cross-checks that name the line and the fix. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { parseConfig, defaultConfig, effectiveMaxConnections, formatConfig } from "../../src/config/config.js";

const FILE = "/etc/pptp-ts/pptp-ts.conf";

function errorLines(text: string): string[] {
  const r = parseConfig(text, FILE);
  if (r.ok) assert.fail("expected errors, the config parsed");
  return r.errors.map(String);
}

function warnings(text: string): string[] {
  const r = parseConfig(text, FILE);
  if (!r.ok) assert.fail(r.errors.map(String).join("\n"));
  return r.warnings;
}

describe("[limits]", () => {
  test("defaults: 16 connections per address, 5 new per second, SCCRQ within 10 s, a call within 30 s, lockout after 10 failures", () => {
    const l = defaultConfig().limits;
    assert.equal(l.maxConnectionsPerAddress, 16);
    assert.equal(l.connectionRate, 5);
    assert.equal(l.startTimeoutMs, 10_000);
    assert.equal(l.noCallTimeoutMs, 30_000);
    assert.equal(l.authMaxFailuresPerUser, 10);
    assert.equal(effectiveMaxConnections(defaultConfig()), 200, "twice max-sessions (100)");
    assert.equal(effectiveMaxConnections({ ...defaultConfig(), server: { ...defaultConfig().server, maxSessions: 10 } }), 100, "at least 100");
  });

  test("bad values name the line and the key", () => {
    assert.deepEqual(errorLines("[limits]\nstart-timeout = soon\nmax-connections-per-address = -1\n"), [
      `${FILE}:2: [limits] start-timeout: "soon" is not a duration — fix: write seconds ("60"), or a number with ms, s, m or h ("50ms", "2m")`,
      `${FILE}:3: [limits] max-connections-per-address: "-1" is not a whole number — fix: use e.g. "max-connections-per-address = 16"`,
    ]);
  });

  test("max-connections below max-sessions is an error on its line", () => {
    assert.deepEqual(errorLines("[server]\nmax-sessions = 300\n[limits]\nmax-connections = 200\n"), [
      `${FILE}:4: [limits] max-connections: 200 is less than [server] max-sessions (300); every session needs a control connection — fix: set "max-connections = 600" or more (room for connections that are still starting)`,
    ]);
  });

  test("per-address limit below max-sessions-per-peer, and auth-delay above auth-max-delay, are errors", () => {
    const e = errorLines("[server]\nmax-sessions-per-peer = 20\n[limits]\nmax-connections-per-address = 10\nauth-delay = 10\nauth-max-delay = 5\n");
    assert.equal(e.length, 2);
    assert.match(e[0], /:4: \[limits\] max-connections-per-address: 10 is less than \[server\] max-sessions-per-peer \(20\)/);
    assert.match(e[1], /:5: \[limits\] auth-delay: 10s is longer than auth-max-delay \(5s\)/);
  });

  test("a delay longer than a client waits for an answer is a warning", () => {
    assert.match(warnings("[limits]\nauth-max-delay = 30\n").join("\n"), /:2: \[limits\] auth-max-delay: 30s may outlast a client's authentication timeout/);
  });

  test("formatConfig writes the section back", () => {
    const text = formatConfig(defaultConfig("/etc/pptp-ts"));
    assert.match(text, /\[limits\]\nmax-connections = 0\n/);
    const r = parseConfig(text, FILE);
    assert.ok(r.ok);
    assert.deepEqual(r.config.limits, defaultConfig().limits);
  });
});
