/**
 * The shipped examples stay true: pptp-ts.conf documents every key at its default (and every [peer NAME] key in a
 * commented-out example that parses when uncommented), chap-secrets loads.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { configKeys, defaultConfig, keysWithoutDefault, parseConfig } from "../../src/config/config.js";
import { loadUsers } from "../../src/config/users-file.js";
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
      if (section === "peer") continue; // commented out: the next test
      const start = lines.indexOf(`[${section}]`);
      assert.ok(start >= 0, `[${section}] missing`);
      for (const k of keys) {
        // A key without a default ([radius] servers, secret...) is shown as a comment, ";key = example".
        const set = keysWithoutDefault().has(`${section}.${k}`) ? `;${k} =` : `${k} =`;
        const at = lines.findIndex((l, i) => i > start && l.startsWith(set));
        assert.ok(at > start, `${k} missing under [${section}]`);
        assert.ok(lines.slice(start, at).some((l) => l.startsWith(";")), `${k} has no comment above it`);
      }
    }
  });

  test("the commented-out [peer NAME] example explains every peer key in the line above it", () => {
    const lines = text.split("\n");
    const start = lines.indexOf("#[peer hq]");
    const end = lines.indexOf("#[peer branch]");
    assert.ok(start >= 0 && end > start, "the #[peer hq] and #[peer branch] examples");
    const peerKeys = configKeys().find((s) => s.section === "peer")?.keys ?? [];
    assert.ok(peerKeys.length > 20, "configKeys() lists the peer keys");
    for (const k of peerKeys) {
      const at = lines.findIndex((l, i) => i > start && i < end && l.startsWith(`#${k} =`));
      assert.ok(at > start, `#${k} missing under #[peer hq]`);
      assert.ok(lines[at - 1].startsWith(";"), `#${k} has no comment right above it`);
    }
  });

  test("uncommented, the example peers parse without errors or warnings", () => {
    const r = parseConfig(text.replace(/^#/gm, ""), path);
    assert.ok(r.ok, r.ok ? "" : r.errors.map(String).join("\n"));
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(
      r.config.peers.map((p) => [p.name, p.role, p.connect, p.remote, p.user, p.remoteAddress, p.routes]),
      [
        ["hq", "client", "persistent", "vpn.example.com", "branch", "172.16.0.1", [{ network: "10.0.0.0", prefix: 16 }]],
        ["branch", "server", "passive", undefined, "branch", "172.16.0.2", [{ network: "192.168.10.0", prefix: 24 }]],
      ],
    );
    assert.deepEqual({ ...r.config, peers: [] }, defaultConfig(dirname(path)), "the rest of the file is unchanged");
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
