/**
 * `pptp-ts connect` command line → configuration (src/cli/connect-command.ts parseConnectArgs): the options become
 * one role-client [peer] section checked by the config parser, and its errors come back naming the option.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConnectArgs, type ConnectArgs } from "../../src/cli/connect-command.js";
import type { PeerConfig } from "../../src/config/peer-types.js";

const NO_ENV: NodeJS.ProcessEnv = {};
const MINIMAL = ["vpn.example.com", "--user", "alice", "--password", "s3cret"];

let dir = "";
before(() => {
  dir = mkdtempSync(join(tmpdir(), "pptp-ts-connect-args-"));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeTemp(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function parsed(argv: readonly string[], env: NodeJS.ProcessEnv = NO_ENV): ConnectArgs {
  const r = parseConnectArgs(argv, env);
  if (typeof r === "string") assert.fail(`expected a configuration, got the error: ${r}`);
  return r;
}

function onlyPeer(argv: readonly string[], env: NodeJS.ProcessEnv = NO_ENV): PeerConfig {
  const r = parsed(argv, env);
  assert.equal(r.config.peers.length, 1);
  return r.config.peers[0];
}

function failure(argv: readonly string[], env: NodeJS.ProcessEnv = NO_ENV): string {
  const r = parseConnectArgs(argv, env);
  if (typeof r !== "string") assert.fail(`expected an error, got a configuration for ${JSON.stringify(r.config.peers.map((p) => p.name))}`);
  return r;
}

describe("parseConnectArgs: a command line becomes one client peer", () => {
  test("the minimal command line: server disabled, one client peer with remote, user and password", () => {
    const r = parsed(MINIMAL);
    assert.equal(r.config.server.enable, false);
    assert.equal(r.persist, false);
    assert.equal(r.peers, undefined, "no peer selection: the one peer runs");
    assert.equal(r.debug, undefined);
    const p = onlyPeer(MINIMAL);
    assert.deepEqual(
      [p.name, p.role, p.remote, p.user, p.password, p.connect, p.port, p.routes, p.defaultRoute, p.tunName],
      ["vpn", "client", "vpn.example.com", "alice", "s3cret", "persistent", 1723, [], false, "pt-vpn"],
    );
  });

  test("options may be written --option=value", () => {
    const p = onlyPeer(["--user=bob", "--password=pw", "192.0.2.10", "--port=1724", "--route=10.0.0.0/8"]);
    assert.deepEqual([p.user, p.password, p.remote, p.port, p.routes], ["bob", "pw", "192.0.2.10", 1724, [{ network: "10.0.0.0", prefix: 8 }]]);
  });

  test("--route may repeat; each becomes a route of the peer, in order", () => {
    const p = onlyPeer([...MINIMAL, "--route", "10.0.0.0/8", "--route", "192.168.20.0/24", "--route", "172.16.5.1"]);
    assert.deepEqual(p.routes, [
      { network: "10.0.0.0", prefix: 8 },
      { network: "192.168.20.0", prefix: 24 },
      { network: "172.16.5.1", prefix: 32 },
    ]);
    assert.equal(p.defaultRoute, false);
  });

  test("--on-demand dials on traffic for the routes", () => {
    const p = onlyPeer([...MINIMAL, "--route", "10.0.0.0/8", "--on-demand", "--idle-timeout", "300"]);
    assert.equal(p.connect, "on-demand");
    assert.equal(p.timers.idleTimeoutMs, 300_000);
  });

  test("--default-route sends everything into the tunnel", () => {
    const p = onlyPeer([...MINIMAL, "--default-route"]);
    assert.equal(p.defaultRoute, true);
    assert.deepEqual(p.routes, []);
    assert.equal(onlyPeer([...MINIMAL, "--default-route", "--on-demand"]).connect, "on-demand", "on-demand with a default route is fine");
  });

  test("without --persist the client gives up after 5 failures in a row", () => {
    const r = parsed(MINIMAL);
    assert.equal(r.persist, false);
    assert.equal(r.config.peers[0].maxFailures, 5);
  });

  test("--persist never gives up: persist set and max-failures 0", () => {
    const r = parsed([...MINIMAL, "--persist"]);
    assert.equal(r.persist, true);
    assert.equal(r.config.peers[0].maxFailures, 0);
  });

  test("an explicit --max-failures wins, with or without --persist", () => {
    assert.equal(onlyPeer([...MINIMAL, "--max-failures", "12"]).maxFailures, 12);
    const r = parsed([...MINIMAL, "--persist", "--max-failures", "3"]);
    assert.deepEqual([r.persist, r.config.peers[0].maxFailures], [true, 3]);
  });

  test("value options reach the peer's settings", () => {
    const p = onlyPeer([
      ...MINIMAL,
      "--name", "hq",
      "--auth", "mschap-v1,mschap-v2",
      "--mppe", "prefer",
      "--mppe-strengths", "128,40",
      "--mppe-stateless", "deny",
      "--reconnect-delay", "2",
      "--reconnect-max-delay", "90",
      "--mtu", "1300",
      "--local-address", "172.16.0.9",
      "--tun-name", "vpn0",
    ]);
    assert.equal(p.name, "hq");
    assert.deepEqual(p.auth, ["mschap-v1", "mschap-v2"]);
    assert.deepEqual(p.mppe, { policy: "prefer", strengths: [128, 40], stateless: "deny" });
    assert.deepEqual([p.timers.reconnectMinMs, p.timers.reconnectMaxMs], [2000, 90_000]);
    assert.deepEqual([p.mtu, p.localAddress, p.tunName], [1300, "172.16.0.9", "vpn0"]);
  });

  test("--debug selects log categories", () => {
    assert.deepEqual(parsed([...MINIMAL, "--debug", "events,negotiation"]).debug, ["events", "negotiation"]);
    assert.match(failure([...MINIMAL, "--debug", "events,chatter"]), /--debug .*"events,chatter"/);
  });
});

describe("parseConnectArgs: the password", () => {
  test("--password-file: the first line of the file", () => {
    const f = writeTemp("pw-lf", "from-file\nsecond line is ignored\n");
    assert.equal(onlyPeer(["vpn.example.com", "--user", "alice", "--password-file", f]).password, "from-file");
    const crlf = writeTemp("pw-crlf", "windows\r\n");
    assert.equal(onlyPeer(["vpn.example.com", "--user", "alice", "--password-file", crlf]).password, "windows");
  });

  test("--password-file with an empty first line or no such file is an error naming the option and the file", () => {
    const empty = writeTemp("pw-empty", "\nsecret on the second line\n");
    assert.match(failure(["vpn.example.com", "--user", "alice", "--password-file", empty]), /^--password-file .*pw-empty: the first line is empty/);
    const missing = join(dir, "does-not-exist");
    assert.match(failure(["vpn.example.com", "--user", "alice", "--password-file", missing]), /--password-file .*does-not-exist/);
  });

  test("env PPTP_PASSWORD when no password option is given; an option wins over it", () => {
    const env = { PPTP_PASSWORD: "from-env" };
    assert.equal(onlyPeer(["vpn.example.com", "--user", "alice"], env).password, "from-env");
    assert.equal(onlyPeer(MINIMAL, env).password, "s3cret");
    const f = writeTemp("pw-wins", "file-wins\n");
    assert.equal(onlyPeer(["vpn.example.com", "--user", "alice", "--password-file", f], env).password, "file-wins");
  });

  test("no password at all: the error names every way to give one", () => {
    const e = failure(["vpn.example.com", "--user", "alice"]);
    assert.match(e, /^--password-file \(or --password, or env PPTP_PASSWORD\): missing/);
  });

  test("a password with characters the config syntax treats specially arrives unchanged", () => {
    for (const pw of ['pa"ss', 'end"', "semi ; colon", "hash # sign", "  padded  ", "='\\"]) {
      assert.equal(onlyPeer(["vpn.example.com", "--user", "alice", "--password", pw]).password, pw, JSON.stringify(pw));
    }
    const f = writeTemp("pw-quote", 'q"uote\n');
    assert.equal(onlyPeer(["vpn.example.com", "--user", "alice", "--password-file", f]).password, 'q"uote');
    assert.equal(onlyPeer(["vpn.example.com", "--user", "alice"], { PPTP_PASSWORD: 'e"nv' }).password, 'e"nv');
  });

  test("a password the config syntax cannot carry is refused, naming where it came from but not showing it", () => {
    const e = failure(["vpn.example.com", "--user", "alice", "--password", 'x" ;y-secret']);
    assert.match(e, /^--password: .*double quote/);
    assert.ok(!e.includes("y-secret"), `the password leaked into the message: ${e}`);
    assert.match(failure(["vpn.example.com", "--user", "alice"], { PPTP_PASSWORD: "two\nlines" }), /^PPTP_PASSWORD: .*line break/);
  });
});

describe("parseConnectArgs: errors name the option", () => {
  test("a bad --mppe policy", () => {
    const e = failure([...MINIMAL, "--mppe", "maybe"]);
    assert.match(e, /^--mppe: "maybe" is not one of require, prefer, allow, deny/);
    assert.match(e, /fix: use e\.g\. --mppe require$/);
  });

  test("a --route with host bits set suggests the network", () => {
    const e = failure([...MINIMAL, "--route", "10.0.0.0/8", "--route", "10.1.2.3/8"]);
    assert.match(e, /^--route: "10\.1\.2\.3\/8" has host bits set/);
    assert.match(e, /did you mean 10\.0\.0\.0\/8\?/);
  });

  test("a bad --port, --mtu and a bad SERVER each name their origin", () => {
    assert.match(failure([...MINIMAL, "--port", "99999"]), /^--port: 99999 is outside 1\.\.65535 — fix: use e\.g\. --port 1723$/);
    assert.match(failure([...MINIMAL, "--mtu", "12"]), /^--mtu: /);
    assert.match(failure(["bad host!", "--user", "alice", "--password", "x"]), /^SERVER: "bad host!"/);
  });

  test("fixes suggest options that exist on this command line", () => {
    // --on-demand with nothing routed: the config parser's fix speaks of "routes = ..." and "default-route = yes".
    const e = failure([...MINIMAL, "--on-demand"]);
    assert.match(e, /^--on-demand: /);
    assert.match(e, /--route 192\.168\.20\.0\/24/);
    assert.match(e, /--default-route\b/);
    assert.doesNotMatch(e, /--routes|--default-route yes|--connect/);
  });

  test("a bad --name is reported once, against --name, without a follow-on error about [server]", () => {
    const e = failure([...MINIMAL, "--name", "bad name!"]);
    assert.match(e, /^--name: peer name "bad name!"/);
    assert.match(e, /--name bad-name/);
    assert.equal(e.split("\n").length, 1, e);
    assert.doesNotMatch(e, /\[server\]|--enable/);
  });

  test("an option given twice", () => {
    assert.match(failure([...MINIMAL, "--user", "bob"]), /^--user given twice/);
  });

  test("a value option at the end of the line without its value", () => {
    assert.match(failure([...MINIMAL, "--mppe"]), /^--mppe needs a value/);
    assert.match(failure([...MINIMAL, "--route"]), /^--route needs a network/);
  });

  test("no server", () => {
    assert.match(failure(["--user", "alice", "--password", "x"]), /which server\?/);
  });

  test("two servers", () => {
    assert.equal(failure(["a.example.com", "b.example.com", "--user", "alice", "--password", "x"]), "one server only (got a.example.com, b.example.com)");
  });

  test("an unknown option", () => {
    assert.equal(failure([...MINIMAL, "--frobnicate"]), 'unknown option "--frobnicate"');
    assert.equal(failure([...MINIMAL, "-x"]), 'unknown option "-x"');
  });
});

describe("parseConnectArgs: -c FILE", () => {
  const CONFIG = [
    "[server]",
    "enable = no",
    "",
    "[peer hq]",
    "role = client",
    "remote = vpn.example.com",
    "user = branch",
    "password = pa55word",
    "",
    "[peer lab]",
    "role = client",
    "remote = 192.0.2.1",
    "user = tester",
    "password = other",
    "",
  ].join("\n");

  test("a file with client peers: its configuration, all peers by default", () => {
    const f = writeTemp("clients.conf", CONFIG);
    const r = parsed(["-c", f]);
    assert.deepEqual(r.config.peers.map((p) => [p.name, p.role, p.user]), [["hq", "client", "branch"], ["lab", "client", "tester"]]);
    assert.equal(r.peers, undefined);
    assert.equal(r.persist, false);
  });

  test("named peers after -c FILE select which to connect; --persist and --debug still apply", () => {
    const f = writeTemp("clients2.conf", CONFIG);
    const r = parsed(["--config", f, "lab", "--persist", "-d", "errors"]);
    assert.deepEqual(r.peers, ["lab"]);
    assert.equal(r.persist, true);
    assert.deepEqual(r.debug, ["errors"]);
  });

  test("peer options together with -c FILE are refused", () => {
    const f = writeTemp("clients3.conf", CONFIG);
    assert.match(failure(["-c", f, "--user", "x"]), /with -c FILE .*--user are not allowed/);
    assert.match(failure(["-c", f, "--route", "10.0.0.0/8"]), /with -c FILE .*--route are not allowed/);
    assert.match(failure(["-c", f, "--on-demand"]), /with -c FILE .*--on-demand are not allowed/);
  });

  test("a file without a client peer is refused, naming the file", () => {
    const f = writeTemp("server-only.conf", ["[server]", "enable = yes", "", "[peer branch]", "role = server", "user = branch", "password = x", "routes = 192.168.20.0/24", ""].join("\n"));
    assert.equal(failure(["-c", f]), `${f}: no [peer NAME] with role = client to connect`);
  });

  test("a file with errors: the config errors, with file and line", () => {
    const f = writeTemp("broken.conf", ["[peer hq]", "role = client", "remote = vpn.example.com", "user = u", "password = p", "mppe = sometimes", ""].join("\n"));
    assert.match(failure(["-c", f]), new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:6: \\[peer hq\\] mppe: "sometimes"`));
  });

  test("a missing file and a missing file name", () => {
    assert.match(failure(["-c", join(dir, "nope.conf")]), /cannot read config file .*nope\.conf/);
    assert.equal(failure(["-c"]), "-c needs a file name");
  });
});
