/** [tacacs]: values, errors with file:line that never show the key, the profile checks, and reading the key file. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig, formatConfig, parseConfig } from "../../src/config/config.js";
import { checkTacacsProfile, defaultTacacsConfig, type TacacsCheckInput } from "../../src/config/tacacs-config.js";
import { tacacsKeyOf } from "../../src/io/tacacs.js";

const FILE = "/etc/pptp-ts/pptp-ts.conf";

describe("[tacacs] section", () => {
  test("servers with and without ports, key-file against the config's directory, durations, flags", () => {
    const r = parseConfig("[tacacs]\nservers = 10.0.0.5, tac.example.com:4949\nkey-file = keys/tac.key\ntimeout = 2\ndeadline = 10\nsingle-connection = yes\nauthorization = no\nspool = spool/tac.spool\nspool-max = 500\naccounting-error-limit = 0\n", FILE);
    assert.ok(r.ok, r.ok ? "" : r.errors.join("\n"));
    assert.deepEqual(r.config.tacacs, {
      servers: [{ host: "10.0.0.5", port: 49 }, { host: "tac.example.com", port: 4949 }],
      key: undefined,
      keyFile: "/etc/pptp-ts/keys/tac.key",
      timeoutMs: 2000,
      deadlineMs: 10_000,
      singleConnection: true,
      authorization: false,
      spool: "/etc/pptp-ts/spool/tac.spool",
      spoolMax: 500,
      accountingErrorLimit: 0,
    });
    assert.deepEqual(defaultConfig().tacacs, defaultTacacsConfig());
    assert.equal(defaultTacacsConfig().spool, "/var/lib/pptp-ts/tacacs-accounting.spool");
  });

  test("bad values are reported at their line with a fix", () => {
    const r = parseConfig("[tacacs]\nservers = 10.0.0.5:0, 10.0.0.300\ntimeout = soon\n", FILE);
    assert.ok(!r.ok);
    assert.deepEqual(r.errors.map(String), [
      `${FILE}:2: [tacacs] servers: "10.0.0.5:0": port 0 is outside 1..65535 — fix: write HOST or HOST:PORT, e.g. "10.0.0.5:49"`,
      `${FILE}:2: [tacacs] servers: "10.0.0.300" is not an IPv4 address — fix: use e.g. "servers = 10.0.0.5, 10.0.0.6:49"`,
      `${FILE}:3: [tacacs] timeout: "soon" is not a duration — fix: write seconds ("60"), or a number with ms, s, m or h ("50ms", "2m")`,
    ]);
  });

  test("the key is never echoed: not in errors, not by formatConfig", () => {
    const secret = "hunter2-very-secret";
    const bad = parseConfig(`[tacacs]\nkey = "${secret}\nkey-file = /k\n`, FILE);
    assert.ok(!bad.ok);
    assert.ok(!bad.errors.join("\n").includes(secret));
    const both = parseConfig(`[tacacs]\nkey = ${secret}\nkey-file = /k\n`, FILE);
    assert.ok(!both.ok);
    assert.deepEqual(both.errors.map(String), [`${FILE}:3: [tacacs] key-file: key is set as well — fix: keep one of "key = ..." and "key-file = PATH"`]);
    const ok = parseConfig(`[tacacs]\nservers = 10.0.0.5\nkey = ${secret}\n`, FILE);
    assert.ok(ok.ok);
    assert.equal(ok.config.tacacs.key, secret);
    const text = formatConfig(ok.config);
    assert.ok(!text.includes(secret), "formatConfig leaves the key out");
    assert.match(text, /\[tacacs\]\nservers = 10\.0\.0\.5:49\nkey = \nkey-file = \n/);
  });

  test("accounting spool: RADIUS and TACACS+ may not share a file (error at the line, with the fix); a bad spool-max names its line", () => {
    const base = "[aaa]\nauth = tacacs\n[mppe]\npolicy = allow\n[ppp]\nauth = chap-md5\n[tacacs]\nservers = 10.0.0.5\nkey = k\n";
    const shared = parseConfig(base + "spool = /var/lib/pptp-ts/accounting.spool\n[accounting]\nenable = yes\nservers = 10.0.0.5\nsecret = s\n", FILE);
    assert.ok(!shared.ok);
    assert.deepEqual(shared.errors.map(String), [
      `${FILE}:10: [tacacs] spool: /var/lib/pptp-ts/accounting.spool is also [accounting] spool; RADIUS and TACACS+ accounting each need their own file, or one backend's outage would hold the other's records — fix: set "spool = /var/lib/pptp-ts/tacacs-accounting.spool" under [tacacs] (or another file of its own)`,
    ]);
    // The defaults differ, and with RADIUS accounting off the [accounting] spool is never opened.
    assert.ok(parseConfig(base + "[accounting]\nenable = yes\nservers = 10.0.0.5\nsecret = s\n", FILE).ok);
    assert.ok(parseConfig(base + "spool = /var/lib/pptp-ts/accounting.spool\n", FILE).ok);
    const small = parseConfig("[tacacs]\nspool-max = 3\n", FILE);
    assert.ok(!small.ok);
    assert.match(String(small.errors[0]), /^\/etc\/pptp-ts\/pptp-ts\.conf:2: \[tacacs\] spool-max: .* — fix: /);
  });

  test("a deadline shorter than the per-server timeout is warned about", () => {
    const r = parseConfig("[tacacs]\ntimeout = 10\ndeadline = 5\n", FILE);
    assert.ok(r.ok);
    assert.deepEqual(r.warnings, [`${FILE}:3: [tacacs] deadline: 5000 ms is shorter than timeout (10000 ms), so a slow first server leaves no time for the next`]);
  });
});

describe("checkTacacsProfile: what TACACS+ cannot do", () => {
  const lines: Record<string, number> = { "aaa.auth": 4, "mppe.policy": 9, "ppp.auth": 7, "tacacs.servers": 12 };
  const input = (o: Partial<TacacsCheckInput>): TacacsCheckInput => ({
    fileName: FILE,
    tacacs: { ...defaultTacacsConfig(), servers: [{ host: "10.0.0.5", port: 49 }], keyFile: "/etc/pptp-ts/tacacs.key" },
    backends: ["tacacs"],
    auth: ["chap-md5"],
    mppePolicy: "deny",
    lineOf: (...ids) => ids.map((id) => lines[id]).find((l) => l !== undefined) ?? 0,
    usable: () => true,
    ...o,
  });

  test("MPPE required with TACACS+ alone: an error that says why and how to fix it", () => {
    const r = checkTacacsProfile(input({ mppePolicy: "require" }));
    assert.equal(r.errors.length, 1);
    const e = String(r.errors[0]);
    assert.match(e, /^\/etc\/pptp-ts\/pptp-ts\.conf:9: \[mppe\] policy: "require" with tacacs as the only authentication backend: TACACS\+ cannot deliver MPPE keys: RFC 8907 has no attribute for key material/);
    assert.match(e, /local secret or from RADIUS MS-MPPE-Send-Key\/MS-MPPE-Recv-Key/);
    assert.match(e, / — fix: set "policy = allow" or "policy = deny" under \[mppe\]/);
  });

  test("MPPE required with other backends too: a warning only", () => {
    const r = checkTacacsProfile(input({ mppePolicy: "require", backends: ["radius", "tacacs"] }));
    assert.deepEqual(r.errors, []);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0], /:9: \[mppe\] policy: "require", but users that tacacs authenticates will be disconnected/);
  });

  test("only MS-CHAPv2 with TACACS+ alone is an error; alongside other methods a warning", () => {
    const only = checkTacacsProfile(input({ auth: ["mschap-v2"] }));
    assert.equal(only.errors.length, 1);
    assert.match(String(only.errors[0]), /:7: \[ppp\] auth: only mschap-v2, with tacacs as the only backend: .*authenticator response \(RFC 2759 §5\).*RFC 8907 has no field for/);
    const mixed = checkTacacsProfile(input({ auth: ["mschap-v2", "chap-md5"] }));
    assert.deepEqual(mixed.errors, []);
    assert.equal(mixed.warnings.length, 1);
  });

  test("tacacs in the chain needs servers and a key", () => {
    const r = checkTacacsProfile(input({ tacacs: defaultTacacsConfig() }));
    assert.deepEqual(r.errors.map(String), [
      `${FILE}:4: [aaa] auth: names tacacs but [tacacs] servers is empty — fix: add e.g. "servers = 10.0.0.5" under [tacacs]`,
      `${FILE}:12: [tacacs] key: missing; without a key every password would cross the network in clear (RFC 8907 §4.5) — fix: add "key-file = /etc/pptp-ts/tacacs.key" (the key on its first line) or key = "..." under [tacacs], the same key as the server's`,
    ]);
  });

  test("nothing to say when tacacs is not in the chain, or the profile is fine", () => {
    assert.deepEqual(checkTacacsProfile(input({ backends: ["radius"], mppePolicy: "require", auth: ["mschap-v2"] })), { errors: [], warnings: [] });
    assert.deepEqual(checkTacacsProfile(input({})), { errors: [], warnings: [] });
  });
});

describe("tacacsKeyOf", () => {
  test("reads the first line of key-file, and names the file (never the key) when it cannot", () => {
    const dir = mkdtempSync(join(tmpdir(), "tackey-"));
    try {
      const f = join(dir, "k");
      writeFileSync(f, "  the key  \r\nsecond line\n");
      assert.equal(tacacsKeyOf({ ...defaultTacacsConfig(), keyFile: f }), "the key");
      assert.equal(tacacsKeyOf({ ...defaultTacacsConfig(), key: "inline" }), "inline");
      assert.throws(() => tacacsKeyOf({ ...defaultTacacsConfig(), keyFile: join(dir, "missing") }), /key-file .*missing: cannot be read \(ENOENT\)/);
      writeFileSync(f, "\nkey on line two\n");
      assert.throws(() => tacacsKeyOf({ ...defaultTacacsConfig(), keyFile: f }), (e: Error) => /first line is empty/.test(e.message) && !e.message.includes("line two"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
