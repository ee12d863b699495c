/** The [accounting] and [das] sections: defaults, errors with line and fix, secrets never echoed. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { parseConfig, defaultConfig, formatConfig } from "../../src/config/config.js";

const FILE = "/etc/pptp-ts/pptp-ts.conf";

function errorLines(text: string): string[] {
  const r = parseConfig(text, FILE);
  if (r.ok) assert.fail("expected errors, the config parsed");
  return r.errors.map(String);
}

describe("[accounting] and [das]", () => {
  test("defaults: both off, spool under /var/lib/pptp-ts, DAS on 0.0.0.0:3799 with a 300 s replay window", () => {
    const c = defaultConfig();
    assert.equal(c.accounting.enable, false);
    assert.equal(c.accounting.spool, "/var/lib/pptp-ts/accounting.spool");
    assert.deepEqual(c.accounting.servers, []);
    assert.deepEqual([c.das.enable, c.das.listen, c.das.port, c.das.replayWindowMs], [false, "0.0.0.0", 3799, 300_000]);
  });

  test("servers default to port 1813; a relative spool is resolved against the config file", () => {
    const r = parseConfig("[accounting]\nenable = yes\nservers = 10.0.0.5, acct.example.com:1646\nspool = spool/a\n", FILE);
    assert.ok(r.ok);
    assert.deepEqual(r.config.accounting.servers, [{ host: "10.0.0.5", port: 1813 }, { host: "acct.example.com", port: 1646 }]);
    assert.equal(r.config.accounting.spool, "/etc/pptp-ts/spool/a");
  });

  test("a DAS without clients or secret, a bad client, and a secret given twice name the line and the fix", () => {
    assert.deepEqual(errorLines("[das]\nenable = yes\n"), [
      `${FILE}:2: [das] clients: is empty, so every Disconnect/CoA request would be ignored — fix: list the RADIUS servers that may send them, e.g. "clients = 10.0.0.5"`,
      `${FILE}:2: [das] secret: missing: Disconnect/CoA requests are checked with the shared secret the RADIUS server uses for them — fix: add "secret-file = /etc/pptp-ts/das-secret" (a file readable by root only holding the secret) or "secret = ..."`,
    ]);
    assert.match(errorLines("[das]\nclients = 10.0.0.300\n")[0], /:2: \[das\] clients: "10\.0\.0\.300" is not an IPv4 address or prefix — fix: list the RADIUS servers/);
    assert.match(errorLines("[accounting]\nsecret = topsecret1\nsecret-file = /x\n")[0], /:3: \[accounting\] secret-file: and secret are both set/);
    assert.match(errorLines("[accounting]\nservers = 10.0.0.5:99999\n")[0], /:2: \[accounting\] servers: port 99999 is outside 1\.\.65535/);
  });

  test("secrets never appear in errors or in formatConfig", () => {
    const text = `[das]\nenable = yes\nclients = 10.0.0.5\nsecret = "hunter2 ;x\n[accounting]\nsecret = ${"s".repeat(129)}\n`;
    const errs = errorLines(text).join("\n");
    assert.ok(!errs.includes("hunter2") && !errs.includes("sss"), errs);
    const r = parseConfig("[das]\nenable = yes\nclients = 10.0.0.5\nsecret = hunter2\n[accounting]\nsecret = acctpw99\n", FILE);
    assert.ok(r.ok);
    assert.equal(r.config.das.secret, "hunter2");
    const out = formatConfig(r.config);
    assert.ok(!out.includes("hunter2") && !out.includes("acctpw99"));
  });
});
