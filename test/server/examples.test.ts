/** The shipped examples stay true: pptp-ts.conf documents every key at its default, chap-secrets loads. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { configKeys, defaultConfig, parseConfig } from "../../src/server/config.js";
import { loadUsers } from "../../src/server/users-file.js";
import { ntPasswordHash } from "../../src/crypto/mschap.js";

// Compiled to dist/test/server/, so the repository root is three levels up.
const EXAMPLES = fileURLToPath(new URL("../../../examples/", import.meta.url));

describe("examples/pptp-ts.conf", () => {
  const path = EXAMPLES + "pptp-ts.conf";
  const text = readFileSync(path, "utf8");

  test("parses, without warnings, to exactly the defaults", () => {
    const r = parseConfig(text, path);
    assert.ok(r.ok, r.ok ? "" : r.errors.map(String).join("\n"));
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.config, defaultConfig(dirname(path)));
  });

  test("sets every key, each under a comment", () => {
    const lines = text.split("\n");
    for (const { section, keys } of configKeys()) {
      const start = lines.indexOf(`[${section}]`);
      assert.ok(start >= 0, `[${section}] missing`);
      for (const k of keys) {
        const at = lines.findIndex((l, i) => i > start && l.startsWith(`${k} =`));
        assert.ok(at > start, `${k} missing under [${section}]`);
        assert.ok(lines.slice(start, at).some((l) => l.startsWith(";")), `${k} has no comment above it`);
      }
    }
  });
});

describe("examples/chap-secrets", () => {
  test("loads the four documented users", () => {
    const r = loadUsers(readFileSync(EXAMPLES + "chap-secrets", "utf8"), "chap-secrets");
    assert.ok(r.ok, r.ok ? "" : r.errors.map(String).join("\n"));
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(
      r.users.map((u) => [u.user, u.server, u.password, u.addresses]),
      [
        ["alice", "*", "correct horse battery staple", undefined],
        ["bob", "pptp-ts", undefined, ["192.168.50.20"]],
        ["ACME\\carol", "*", "s3cret-Pa55", undefined],
        ["dave", "*", `it's a "quoted" one`, ["192.168.50.21"]],
      ],
    );
    assert.deepEqual(r.users[1].ntHash, ntPasswordHash("password"));
  });
});
