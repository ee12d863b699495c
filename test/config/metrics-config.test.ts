/** The [metrics] section: off by default, ADDRESS[:PORT] with port 9723, a plain path; errors name line and fix. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { parseConfig, defaultConfig, formatConfig } from "../../src/config/config.js";

const FILE = "/etc/pptp-ts/pptp-ts.conf";

function errorLines(text: string): string[] {
  const r = parseConfig(text, FILE);
  if (r.ok) assert.fail("expected errors, the config parsed");
  return r.errors.map(String);
}

describe("[metrics]", () => {
  test("off unless a listen address is given; path /metrics", () => {
    assert.deepEqual(defaultConfig().metrics, { listen: undefined, path: "/metrics" });
    const empty = parseConfig("[metrics]\nlisten =\n", FILE);
    assert.ok(empty.ok);
    assert.equal(empty.config.metrics.listen, undefined);
    assert.doesNotMatch(formatConfig(defaultConfig()), /^listen = .*9723/m);
  });

  test("ADDRESS:PORT, or ADDRESS with port 9723; written back as ADDRESS:PORT", () => {
    const r = parseConfig("[metrics]\nlisten = 127.0.0.1:9100\npath = /pptp/metrics\n", FILE);
    assert.ok(r.ok, r.ok ? "" : r.errors.map(String).join("\n"));
    assert.deepEqual(r.config.metrics, { listen: { address: "127.0.0.1", port: 9100 }, path: "/pptp/metrics" });
    const bare = parseConfig("[metrics]\nlisten = 0.0.0.0\n", FILE);
    assert.ok(bare.ok);
    assert.deepEqual(bare.config.metrics.listen, { address: "0.0.0.0", port: 9723 });
    assert.match(formatConfig(bare.config), /\[metrics\]\nlisten = 0\.0\.0\.0:9723\npath = \/metrics\n/);
  });

  test("a bad address, port or path names the line and the fix", () => {
    assert.deepEqual(errorLines("[metrics]\nlisten = localhost:9723\n"), [
      `${FILE}:2: [metrics] listen: "localhost:9723" is not an IPv4 ADDRESS:PORT — fix: write ADDRESS:PORT, e.g. "listen = 127.0.0.1:9723" (leave it empty for no metrics endpoint)`,
    ]);
    assert.match(errorLines("[metrics]\nlisten = 127.0.0.300:9723\n")[0], /:2: \[metrics\] listen: "127\.0\.0\.300" is not an IPv4 address — fix: write ADDRESS:PORT/);
    assert.match(errorLines("[metrics]\nlisten = 127.0.0.1:70000\n")[0], /:2: \[metrics\] listen: port 70000 is outside 1\.\.65535/);
    assert.match(errorLines("[metrics]\n\npath = metrics\n")[0], /:3: \[metrics\] path: "metrics" is not a plain URL path — fix: start with "\/"/);
    assert.match(errorLines("[metrics]\npath = /metrics?x=1\n")[0], /:2: \[metrics\] path: "\/metrics\?x=1" is not a plain URL path/);
    assert.match(errorLines("[metrics]\nlisen = 127.0.0.1\n")[0], /:2: .*lisen.*did you mean "listen"/);
  });
});
