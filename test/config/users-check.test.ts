/** The users file against the configuration: mistakes named with file, line and fix at load time. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { loadUsers } from "../../src/config/users-file.js";
import { checkUsers, secretsModeWarning } from "../../src/config/users-check.js";
import { defaultConfig, parseConfig, type ServerConfig } from "../../src/config/config.js";

const F = "/etc/ppp/chap-secrets";
const config = defaultConfig("/etc/ppp"); // pool 192.168.50.10-254, local-address 192.168.50.1

function check(text: string, c: ServerConfig = config) {
  const r = loadUsers(text, F);
  if (!r.ok) assert.fail(r.errors.map(String).join("\n"));
  const out = checkUsers(r.users, r.lines, c, F);
  return { errors: out.errors.map(String), warnings: out.warnings };
}

function withPeers(extra: string): ServerConfig {
  const r = parseConfig(extra, "/etc/pptp-ts/pptp-ts.conf");
  if (!r.ok) assert.fail(r.errors.map(String).join("\n"));
  return r.config;
}

describe("users file against the config", () => {
  test("a clean file: no errors, no warnings", () => {
    assert.deepEqual(check("alice * pw1 *\nbob * pw2 *\n"), { errors: [], warnings: [] });
  });

  test("one user on several lines (two server columns, or a repeated line) may repeat its own address", () => {
    assert.deepEqual(check("alice pptp-ts pw1 10.9.0.5\nALICE vpn2 pw1 10.9.0.5\nalice pptp-ts pw1 10.9.0.5\n").errors, []);
  });

  test("two users with the same static address: an error on the second's line naming the first", () => {
    assert.deepEqual(check("# users\nalice * pw1 10.9.0.5\n\nbob * pw2 10.9.0.5\n").errors, [
      `${F}:4: user "bob": static address 10.9.0.5 is already user "alice"'s (line 2); only one of them could be online at a time — fix: give each user its own address, or "*" for one from the pool (192.168.50.10-192.168.50.254)`,
    ]);
  });

  test("a static address equal to local-address is an error", () => {
    assert.deepEqual(check("alice * pw1 *\nbob * pw2 192.168.50.1\n").errors, [
      `${F}:2: user "bob": static address 192.168.50.1 is the server's own tunnel address ([ppp] local-address) — fix: give "bob" another address, or "*" for one from the pool (192.168.50.10-192.168.50.254)`,
    ]);
  });

  test("a static address equal to a named peer's remote-address is an error", () => {
    const c = withPeers("[peer branch]\nrole = server\nuser = branch\npassword = x\nremote-address = 172.16.0.2\n");
    assert.match(check("bob * pw2 172.16.0.2\n", c).errors.join("\n"), /:1: user "bob": static address 172\.16\.0\.2 is the address of \[peer branch\] \(remote-address\)/);
  });

  test("outside every pool and peer route: a warning that says why it would not be reachable and how to route it", () => {
    const r = check("alice * pw1 10.5.5.5\n");
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, [
      `${F}:1: user "alice": static address 10.5.5.5 is outside the pool (192.168.50.10-192.168.50.254) and every [peer] route: while "alice" is online the server routes 10.5.5.5/32 into pptp0 itself — make sure 10.5.5.5 is not used elsewhere on this host's networks, or use an address in the pool`,
    ]);
  });

  test("inside a [peer] route: routed into the tunnel, no warning", () => {
    const c = withPeers("[peer branch]\nrole = server\nuser = branch\npassword = x\nroutes = 10.5.0.0/16\n");
    assert.deepEqual(check("alice * pw1 10.5.5.5\n", c).warnings, []);
  });

  test("inside the pool: routed into the tunnel, no warning (the shipped example does this)", () => {
    assert.deepEqual(check("alice * pw1 192.168.50.20\n"), { errors: [], warnings: [] });
  });

  test("an empty file is an error naming the file, unless [peer NAME] sections bring logins", () => {
    assert.deepEqual(check("# nobody yet\n\n").errors, [
      `${F}: holds no users, so nobody could log in — fix: add one line per user, e.g. "alice * \\"a long password\\" *" (or its hash from "pptp-ts hash-password alice PASSWORD"), or point [ppp] users at the right file`,
    ]);
    const c = withPeers("[peer branch]\nrole = server\nuser = branch\npassword = x\n");
    const r = check("", c);
    assert.deepEqual(r.errors, []);
    assert.match(r.warnings[0], /holds no users; only the \[peer NAME\] logins \(branch\) can connect/);
  });

  test("an empty file is only a warning for a server that just answers its dial-out peers' calls back", () => {
    const c = withPeers("[peer hq]\nrole = client\nremote = 10.0.0.1\nuser = branch\npassword = x\nconnect = passive\nanswer = yes\n");
    const r = check("", c);
    assert.deepEqual(r.errors, []);
    assert.match(r.warnings[0], /holds no users; this server only answers calls back from \[peer hq\] \(answer = yes\)/);
  });

  test("a secrets file readable by group or others is warned about, as ssh does", () => {
    assert.equal(secretsModeWarning(F, 0o100600), undefined);
    assert.equal(secretsModeWarning(F, 0o100700), undefined);
    assert.equal(secretsModeWarning(F, 0o100644), `${F}: permissions 0644: the secrets in it can be read by every user of this host — fix: "chmod 600 ${F}"`);
    assert.match(secretsModeWarning(F, 0o100640) ?? "", /can be read by its group/);
    assert.equal(secretsModeWarning(F, 0o100620), undefined, "group-writable but not readable: not a leak of the secrets");
  });
});
