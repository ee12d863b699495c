/** [peer NAME] sections and [server] enable: every key, defaults, header and key errors, cross-checks, round trip, words. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  configKeys,
  defaultConfig,
  defaultPeerTunName,
  describeConfig,
  describePeer,
  formatConfig,
  parseConfig,
  type ServerConfig,
} from "../../src/config/config.js";
import type { ConfigError } from "../../src/config/config-error.js";
import type { PeerConfig } from "../../src/config/peer-types.js";

const FILE = "/etc/pptp-ts/pptp-ts.conf";

function parsed(text: string): { config: ServerConfig; warnings: string[] } {
  const r = parseConfig(text, FILE);
  if (!r.ok) assert.fail(`expected success, got:\n${r.errors.map(String).join("\n")}`);
  return r;
}

function failed(text: string): ConfigError[] {
  const r = parseConfig(text, FILE);
  if (r.ok) assert.fail("expected errors, the config parsed");
  return r.errors;
}

function errorLines(text: string): string[] {
  return failed(text).map(String);
}

/** Lines joined; a trailing newline like a real file. */
function file(...lines: string[]): string {
  return lines.join("\n") + "\n";
}

/** The keys a client peer cannot do without, for tests about something else. */
const CLIENT = ["role = client", "remote = vpn.example.com", "user = branch", "password = pa55word"];

const FULL_CLIENT = file(
  "[peer hq]", //                              1
  "role = client", //                          2
  "connect = on-demand", //                    3
  "answer = yes", //                           4
  "remote = 203.0.113.7", //                   5
  "port = 1724", //                            6
  "user = ACME\\branch", //                    7
  'password = "s3cret ; with semicolon"', //  8
  "auth = mschap-v1, mschap-v2", //           9
  "mppe = prefer", //                         10
  "mppe-strengths = 40, 128", //              11
  "mppe-stateless = deny", //                 12
  "local-address = 172.16.0.2", //           13
  "remote-address = 172.16.0.1", //          14
  "routes = 10.0.0.0/16, 10.9.9.9", //       15
  "default-route = yes", //                  16
  "mtu = 1300", //                           17
  "mru = 1310", //                           18
  "tun-name = hq0", //                       19
  "echo-interval = 2m", //                   20
  "lcp-echo-interval = 10", //               21
  "lcp-echo-failures = 6", //                22
  "idle-timeout = 15m", //                   23
  "session-timeout = 8h", //                 24
  "reconnect-delay = 500ms", //              25
  "reconnect-max-delay = 5m", //             26
  "max-failures = 20", //                    27
  "flow-control = fixed", //                 28
);

const FULL_CLIENT_PEER: PeerConfig = {
  name: "hq",
  line: 1,
  role: "client",
  connect: "on-demand",
  answer: true,
  remote: "203.0.113.7",
  port: 1724,
  user: "ACME\\branch",
  password: "s3cret ; with semicolon",
  auth: ["mschap-v1", "mschap-v2"],
  mppe: { policy: "prefer", strengths: [40, 128], stateless: "deny" },
  localAddress: "172.16.0.2",
  remoteAddress: "172.16.0.1",
  routes: [
    { network: "10.0.0.0", prefix: 16 },
    { network: "10.9.9.9", prefix: 32 },
  ],
  defaultRoute: true,
  mtu: 1300,
  mru: 1310,
  tunName: "hq0",
  timers: {
    echoIntervalMs: 120_000,
    lcpEchoIntervalMs: 10_000,
    lcpEchoFailures: 6,
    idleTimeoutMs: 900_000,
    sessionTimeoutMs: 28_800_000,
    reconnectMinMs: 500,
    reconnectMaxMs: 300_000,
  },
  maxFailures: 20,
  flowControl: "fixed",
};

const FULL_SERVER = file(
  "[peer branch]", //                  1
  "role = server", //                  2
  "connect = persistent", //           3
  "remote = branch.example.com", //    4
  "user = branch", //                  5
  "auth = mschap-v2, chap-md5", //     6
  "mppe = allow", //                   7
  "local-address = 172.16.1.1", //     8
  "remote-address = 172.16.1.2", //    9
  "routes = 192.168.10.0/24", //      10
);

describe("[peer NAME]: every key", () => {
  test("a client peer setting every key to a non-default value", () => {
    const r = parsed(FULL_CLIENT);
    assert.deepEqual(r.config.peers, [FULL_CLIENT_PEER]);
    assert.deepEqual(r.warnings, []);
  });

  test("a server peer", () => {
    const r = parsed(FULL_SERVER);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.config.peers, [
      {
        name: "branch",
        line: 1,
        role: "server",
        connect: "persistent",
        answer: false,
        remote: "branch.example.com",
        port: 1723,
        user: "branch",
        password: undefined,
        auth: ["mschap-v2", "chap-md5"],
        mppe: { policy: "allow", strengths: [128], stateless: "prefer" },
        localAddress: "172.16.1.1",
        remoteAddress: "172.16.1.2",
        routes: [{ network: "192.168.10.0", prefix: 24 }],
        defaultRoute: false,
        mtu: 1400,
        mru: 1400,
        tunName: "pt-branch",
        timers: {
          echoIntervalMs: 60_000,
          lcpEchoIntervalMs: 30_000,
          lcpEchoFailures: 4,
          idleTimeoutMs: 0,
          sessionTimeoutMs: 0,
          reconnectMinMs: 1000,
          reconnectMaxMs: 60_000,
        },
        maxFailures: 0,
        flowControl: undefined,
      },
    ]);
  });

  test("peers come in file order, between other sections, each with its header line", () => {
    const c = parsed(file("[peer b]", ...CLIENT, "[ppp]", "mtu = 1500", "[peer a]", "role = server", "user = a", "[server]", "port = 99")).config;
    assert.deepEqual(
      c.peers.map((p) => [p.name, p.line, p.role]),
      [
        ["b", 1, "client"],
        ["a", 8, "server"],
      ],
    );
    assert.equal(c.ppp.mtu, 1500);
    assert.equal(c.server.port, 99);
  });

  test("header and key names are case-insensitive; the name keeps its case", () => {
    const [p] = parsed(file("[ PEER  Head-Office.1 ] ; comment", "ROLE = Client", "Remote = VPN.example.com", "USER = b", "Password = x")).config.peers;
    assert.deepEqual([p.name, p.role, p.remote, p.tunName], ["Head-Office.1", "client", "VPN.example.com", "pt-Head-Office."]);
  });

  test("remote: an address or a host name; digits and dots must make an address", () => {
    assert.equal(parsed(file("[peer a]", "role = client", "remote = 198.51.100.9", "user = u", "password = p")).config.peers[0].remote, "198.51.100.9");
    assert.deepEqual(errorLines(file("[peer a]", "role = client", "remote = 10.0.0.300", "user = u", "password = p")), [
      `${FILE}:3: [peer a] remote: "10.0.0.300" is not an IPv4 address — fix: use e.g. "remote = vpn.example.com"`,
    ]);
    assert.deepEqual(errorLines(file("[peer a]", "role = client", "remote = vpn example", "user = u", "password = p")), [
      `${FILE}:3: [peer a] remote: "vpn example" has characters other than printable ASCII without spaces and quotes — fix: use e.g. "remote = vpn.example.com"`,
    ]);
  });

  test("routes: a bare address is a /32, an empty value none, a repeat is dropped with a warning", () => {
    assert.deepEqual(parsed(file("[peer a]", ...CLIENT, "routes = 192.0.2.1")).config.peers[0].routes, [{ network: "192.0.2.1", prefix: 32 }]);
    assert.deepEqual(parsed(file("[peer a]", ...CLIENT, "routes =")).config.peers[0].routes, []);
    const r = parsed(file("[peer a]", ...CLIENT, "routes = 10.1.0.0/16, 10.1.0.0/16"));
    assert.deepEqual(r.config.peers[0].routes, [{ network: "10.1.0.0", prefix: 16 }]);
    assert.deepEqual(r.warnings, [`${FILE}:6: [peer a] routes: "10.1.0.0/16" is listed twice; the repeat is ignored`]);
  });

  test("routes: at most 64", () => {
    const routes = (n: number) => Array.from({ length: n }, (_, i) => `10.${i}.0.0/16`).join(", ");
    assert.equal(parsed(file("[peer a]", ...CLIENT, `routes = ${routes(64)}`)).config.peers[0].routes.length, 64);
    assert.deepEqual(errorLines(file("[peer a]", ...CLIENT, `routes = ${routes(65)}`)), [
      `${FILE}:6: [peer a] routes: 65 routes given, at most 64 allowed — fix: use e.g. "routes = 192.168.20.0/24, 10.1.0.0/16"`,
    ]);
  });

  test("routes: host bits set names the network as the fix; /0, bad prefixes and addresses", () => {
    const fix = `write networks as "192.168.20.0/24", or a single address`;
    assert.deepEqual(errorLines(file("[peer a]", ...CLIENT, "routes = 192.168.20.1/24, 0.0.0.0/0, 10.0.0.0/33, x/8, 10.0.0.0/")), [
      `${FILE}:6: [peer a] routes: "192.168.20.1/24" has host bits set — fix: did you mean 192.168.20.0/24?`,
      `${FILE}:6: [peer a] routes: "0.0.0.0/0" is every address — fix: use "default-route = yes" instead (role client): it keeps the route to the peer itself outside the tunnel`,
      `${FILE}:6: [peer a] routes: "10.0.0.0/33": prefix length "33" is not 0..32 — fix: ${fix}`,
      `${FILE}:6: [peer a] routes: "x" is not an IPv4 address — fix: ${fix}`,
      `${FILE}:6: [peer a] routes: "10.0.0.0/": prefix length "" is not 0..32 — fix: ${fix}`,
    ]);
    assert.deepEqual(errorLines(file("[peer a]", ...CLIENT, "routes = 172.16.5.4/12")), [
      `${FILE}:6: [peer a] routes: "172.16.5.4/12" has host bits set — fix: did you mean 172.16.0.0/12?`,
    ]);
  });

  test("value errors name the peer, the key and its example", () => {
    assert.deepEqual(
      errorLines(
        file("[peer a]", ...CLIENT, "connect = always", "mtu = 1501", "reconnect-delay = 50ms", "reconnect-max-delay = 2h", "max-failures = 1001", "tun-name = a-very-long-name0", "lcp-echo-failures = 0", "password ="),
      ),
      [
        `${FILE}:6: [peer a] connect: "always" is not one of persistent, on-demand, passive — fix: use e.g. "connect = persistent"`,
        `${FILE}:7: [peer a] mtu: 1501 is outside 576..1500 — fix: use e.g. "mtu = 1400"`,
        `${FILE}:8: [peer a] reconnect-delay: "50ms" is outside 100ms..1h — fix: use e.g. "reconnect-delay = 1"`,
        `${FILE}:9: [peer a] reconnect-max-delay: "2h" is outside 100ms..1h — fix: use e.g. "reconnect-max-delay = 60"`,
        `${FILE}:10: [peer a] max-failures: 1001 is outside 0..1000 — fix: use e.g. "max-failures = 0"`,
        `${FILE}:11: [peer a] tun-name: "a-very-long-name0" is 17 characters, Linux allows at most 15 — fix: use e.g. "tun-name = pt-branch"`,
        `${FILE}:12: [peer a] lcp-echo-failures: 0 is outside 1..100 — fix: use e.g. "lcp-echo-failures = 4"`,
        `${FILE}:13: [peer a] password: set again (first set on line 5) — fix: keep one "password" line`,
      ],
    );
  });

  test("a key set twice in one peer is an error, the same key in two peers is not", () => {
    assert.deepEqual(errorLines(file("[peer a]", ...CLIENT, "[peer b]", ...CLIENT, "[peer a2]", ...CLIENT, "mtu = 1400", "MTU = 1300")), [
      `${FILE}:17: [peer a2] mtu: set again (first set on line 16) — fix: keep one "mtu" line`,
    ]);
  });
});

describe("[peer NAME]: defaults", () => {
  test("a minimal client peer", () => {
    const [p] = parsed(file("", "[peer hq]", ...CLIENT)).config.peers;
    assert.deepEqual(p, {
      name: "hq",
      line: 2,
      role: "client",
      connect: "persistent",
      answer: false,
      remote: "vpn.example.com",
      port: 1723,
      user: "branch",
      password: "pa55word",
      auth: ["mschap-v2"],
      mppe: { policy: "require", strengths: [128], stateless: "prefer" },
      localAddress: undefined,
      remoteAddress: undefined,
      routes: [],
      defaultRoute: false,
      mtu: 1400,
      mru: 1400,
      tunName: "pt-hq",
      timers: {
        echoIntervalMs: 60_000,
        lcpEchoIntervalMs: 30_000,
        lcpEchoFailures: 4,
        idleTimeoutMs: 0,
        sessionTimeoutMs: 0,
        reconnectMinMs: 1000,
        reconnectMaxMs: 60_000,
      },
      maxFailures: 0,
      flowControl: "auto",
    });
  });

  test("a minimal server peer is passive, has no remote, and the same timers", () => {
    const [p] = parsed(file("[peer shop]", "role = server", "user = shop")).config.peers;
    assert.deepEqual(
      [p.connect, p.answer, p.remote, p.password, p.remoteAddress, p.tunName, p.port, p.maxFailures],
      ["passive", false, undefined, undefined, undefined, "pt-shop", 1723, 0],
    );
    assert.deepEqual(p.timers, parsed(file("[peer x]", ...CLIENT)).config.peers[0].timers);
  });

  test("peers are fresh objects: two peers do not share their lists", () => {
    const c = parsed(file("[peer a]", ...CLIENT, "[peer b]", ...CLIENT, "tun-name = pt-b2")).config;
    assert.notEqual(c.peers[0].auth, c.peers[1].auth);
    assert.notEqual(c.peers[0].mppe, c.peers[1].mppe);
    assert.notEqual(c.peers[0].timers, c.peers[1].timers);
  });

  test("the default TUN name: pt- + the name, cut to 15 characters, odd characters made '-'", () => {
    assert.equal(defaultPeerTunName("hq"), "pt-hq");
    assert.equal(defaultPeerTunName("head-office-north"), "pt-head-office-");
    assert.equal(defaultPeerTunName("a b+c"), "pt-a-b-c");
    assert.equal(parsed(file("[peer 0123456789abcdefghij]", ...CLIENT)).config.peers[0].tunName, "pt-0123456789ab");
  });

  test("[server] enable: yes by default, no with a client peer", () => {
    assert.equal(defaultConfig().server.enable, true);
    assert.deepEqual(defaultConfig().peers, []);
    const r = parsed(file("[server]", "enable = no", "[peer hq]", ...CLIENT));
    assert.equal(r.config.server.enable, false);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(errorLines("[server]\nenable = maybe\n"), [`${FILE}:2: [server] enable: "maybe" is not yes or no — fix: use e.g. "enable = yes"`]);
  });

  test("configKeys() lists the peer keys as section \"peer\"", () => {
    const peer = configKeys().find((s) => s.section === "peer");
    assert.ok(peer !== undefined);
    assert.equal(peer.keys[0], "role");
    for (const k of ["remote", "routes", "default-route", "tun-name", "reconnect-delay", "reconnect-max-delay", "max-failures"]) assert.ok(peer.keys.includes(k), k);
    assert.equal(configKeys().find((s) => s.section === "server")?.keys[0], "enable");
  });
});

describe("[peer NAME]: headers", () => {
  test("no name, a bad name, a duplicate (case-insensitive); their keys are not reported", () => {
    assert.deepEqual(errorLines(file("[peer]", "bogus = 1", "[peer bad name!]", "role = nonsense", "[peer a]", ...CLIENT, "[peer A]", "mtu = 5")), [
      `${FILE}:1: [peer]: a peer section needs a name — fix: write "[peer NAME]", e.g. "[peer branch]"; NAME is 1-32 letters, digits, '-', '_' or '.'`,
      `${FILE}:3: [peer bad name!]: peer name "bad name!" is not 1-32 letters, digits, '-', '_' or '.' — fix: rename the section, e.g. "[peer bad-name]"`,
      `${FILE}:10: [peer A]: peer "a" is already defined on line 5 (peer names are case-insensitive) — fix: give each [peer NAME] section its own name, or merge the two sections`,
    ]);
  });

  test("a name of 32 characters is fine, 33 is not", () => {
    assert.equal(parsed(file(`[peer ${"n".repeat(32)}]`, ...CLIENT)).config.peers[0].name.length, 32);
    assert.deepEqual(errorLines(file(`[peer ${"n".repeat(33)}]`)), [
      `${FILE}:1: [peer ${"n".repeat(33)}]: peer name "${"n".repeat(33)}" is not 1-32 letters, digits, '-', '_' or '.' — fix: rename the section, e.g. "[peer ${"n".repeat(32)}]"`,
    ]);
  });

  test("did you mean [peer NAME]; other sections take no name", () => {
    const known = "sections are [server], [ppp], [mppe], [timers], [gre], [log], [limits], [aaa], [radius], [tacacs], [pools], [accounting], [das], [metrics], [peer NAME]";
    assert.deepEqual(errorLines(file("[per hq]", "[peers]", "[ppp main]")), [
      `${FILE}:1: [per hq]: unknown section — fix: did you mean [peer hq]? ${known}`,
      `${FILE}:2: [peers]: unknown section — fix: did you mean [peer NAME]? ${known}`,
      `${FILE}:3: [ppp main]: [ppp] takes no name — fix: write "[ppp]"; only [peer NAME] sections have a name`,
    ]);
  });
});

describe("[peer NAME]: keys in the wrong place", () => {
  test("unknown keys in a peer: did you mean, or the section they belong in", () => {
    const lines = errorLines(file("[peer a]", ...CLIENT, "remtoe = x", "users = x", "pool = 10.0.0.0/24", "nonsense = 1"));
    assert.equal(lines[0], `${FILE}:6: [peer a] remtoe: unknown key — fix: did you mean "remote"? [peer NAME] keys are ${configKeys().find((s) => s.section === "peer")?.keys.join(", ")}`);
    assert.equal(lines[1], `${FILE}:7: [peer a] users: unknown key in a [peer NAME] section — fix: did you mean "user"? ("users" belongs in [ppp])`);
    assert.equal(lines[2], `${FILE}:8: [peer a] pool: unknown key in a [peer NAME] section — fix: "pool" belongs in [ppp]: move the line under [ppp]`);
    assert.match(lines[3], /^\S+:9: \[peer a\] nonsense: unknown key — fix: \[peer NAME\] keys are role, connect, /);
    assert.equal(lines.length, 4);
  });

  test("a peer key elsewhere belongs in a [peer NAME] section", () => {
    assert.deepEqual(errorLines(file("remote = 1.2.3.4", "[server]", "remote = 1.2.3.4", "[ppp]", "routes = 10.0.0.0/8", "[timers]", "reconnect-delay = 5")), [
      `${FILE}:1: "remote" is outside any section — fix: put it under a [peer NAME] section, e.g. "[peer branch]"`,
      `${FILE}:3: [server] remote: unknown key in [server] — fix: "remote" belongs in a [peer NAME] section: move the line under one, e.g. under "[peer branch]"`,
      `${FILE}:5: [ppp] routes: unknown key in [ppp] — fix: "routes" belongs in a [peer NAME] section: move the line under one, e.g. under "[peer branch]"`,
      `${FILE}:7: [timers] reconnect-delay: unknown key in [timers] — fix: "reconnect-delay" belongs in a [peer NAME] section: move the line under one, e.g. under "[peer branch]"`,
    ]);
  });

  test("a key of a [section] that is also a peer key keeps pointing at the [section]", () => {
    assert.deepEqual(errorLines("[server]\nmtu = 1400\n"), [
      `${FILE}:2: [server] mtu: unknown key in [server] — fix: "mtu" belongs in [ppp]: move the line under [ppp]`,
    ]);
  });

  test("a section name written as a key", () => {
    assert.deepEqual(errorLines("[server]\nmppe = require\n"), [
      `${FILE}:2: [server] mppe: unknown key in [server] — fix: [mppe] is a section: write "[mppe]" on a line of its own with its keys below it`,
    ]);
  });
});

describe("[peer NAME]: cross-checks", () => {
  test("role missing: reported on the header line", () => {
    assert.deepEqual(errorLines(file("", "[peer a]", "remote = x.example", "user = u", "password = p")), [
      `${FILE}:2: [peer a] role: missing; every peer needs a role — fix: add "role = client" (this end dials the peer and authenticates to it) or "role = server" (the peer authenticates to us)`,
    ]);
  });

  test("a bad role is reported once, as a value error", () => {
    assert.deepEqual(errorLines(file("[peer a]", "role = master")), [`${FILE}:2: [peer a] role: "master" is not one of client, server — fix: use e.g. "role = client"`]);
  });

  test("role client: remote, user and password are required", () => {
    assert.deepEqual(errorLines(file("[peer hq]", "role = client")), [
      `${FILE}:1: [peer hq] remote: missing; role client dials the peer, which needs its address — fix: add e.g. "remote = vpn.example.com" (an IPv4 address or a host name)`,
      `${FILE}:1: [peer hq] user: missing; user and password are what this end sends to authenticate — fix: add e.g. "user = hq"`,
      `${FILE}:1: [peer hq] password: missing; user and password are what this end sends to authenticate — fix: add "password = ...", in double quotes if it holds " ;" or " #"`,
    ]);
  });

  test("a key with a bad value is not reported missing as well", () => {
    assert.deepEqual(failed(file("[peer hq]", "role = client", "remote = 1.2.3", "user = u", "password = p")).map((e) => e.line), [3]);
  });

  test("role client, on-demand: needs routes or default-route", () => {
    assert.deepEqual(errorLines(file("[peer hq]", ...CLIENT, "connect = on-demand")), [
      `${FILE}:6: [peer hq] connect: "on-demand" dials when traffic for the peer appears, but nothing is routed to it (no routes, default-route = no) — fix: add the networks behind the peer, e.g. "routes = 192.168.20.0/24", or "default-route = yes", or use "connect = persistent"`,
    ]);
    assert.equal(parsed(file("[peer hq]", ...CLIENT, "connect = on-demand", "routes = 10.0.0.0/8")).config.peers[0].connect, "on-demand");
    assert.equal(parsed(file("[peer hq]", ...CLIENT, "connect = on-demand", "default-route = yes")).config.peers[0].defaultRoute, true);
  });

  test("role client, passive: only with answer = yes", () => {
    assert.deepEqual(errorLines(file("[peer hq]", ...CLIENT, "connect = passive")), [
      `${FILE}:6: [peer hq] connect: "passive" never dials, and without "answer = yes" this end never takes the peer's calls either, so the tunnel can never come up — fix: set "answer = yes" to take the peer's calls, or use "connect = persistent"`,
    ]);
    const [p] = parsed(file("[peer hq]", ...CLIENT, "connect = passive", "answer = yes")).config.peers;
    assert.deepEqual([p.connect, p.answer], ["passive", true]);
  });

  test("role server: user required; remote when it connects; no answer, no default-route; on-demand needs routes", () => {
    assert.deepEqual(errorLines(file("[peer shop]", "role = server", "connect = on-demand", "answer = yes", "default-route = yes")), [
      `${FILE}:1: [peer shop] user: missing; role server needs the name the peer logs in with — fix: add e.g. "user = shop" (its password: "password = ..." here, or the users file)`,
      `${FILE}:3: [peer shop] remote: missing; with "connect = on-demand" this end opens the control connection to the peer, which needs its address — fix: add e.g. "remote = branch.example.com", or use "connect = passive" to wait for the peer's call`,
      `${FILE}:4: [peer shop] answer: "yes" is for role client (take the peer's control connection and place the call on it); a role server peer's calls are always answered — fix: remove the "answer" line`,
      `${FILE}:5: [peer shop] default-route: "yes" is for role client (send all of this host's traffic through the peer); a role server peer is routed only the networks behind it — fix: remove it and list the peer's networks, e.g. "routes = 192.168.20.0/24"`,
      `${FILE}:3: [peer shop] connect: "on-demand" connects when traffic for the peer's networks appears, but it has no routes — fix: add the networks behind the peer, e.g. "routes = 192.168.20.0/24", or use "connect = persistent"`,
    ]);
    assert.deepEqual(errorLines(file("[peer shop]", "role = server", "user = shop", "connect = persistent")), [
      `${FILE}:4: [peer shop] remote: missing; with "connect = persistent" this end opens the control connection to the peer, which needs its address — fix: add e.g. "remote = branch.example.com", or use "connect = passive" to wait for the peer's call`,
    ]);
    assert.equal(parsed(file("[peer shop]", "role = server", "user = shop", "answer = no")).config.peers[0].answer, false);
  });

  test("flow-control: role client only, default auto; a role server peer's calls follow [gre] flow-control", () => {
    assert.equal(parsed(file("[peer hq]", ...CLIENT)).config.peers[0].flowControl, "auto");
    assert.equal(parsed(file("[peer hq]", ...CLIENT, "flow-control = off")).config.peers[0].flowControl, "off");
    assert.deepEqual(errorLines(file("[peer shop]", "role = server", "user = shop", "flow-control = off")), [
      `${FILE}:4: [peer shop] flow-control: is for role client (how this end paces its GRE by the server's receive window); a role server peer's calls follow [gre] flow-control — fix: remove the "flow-control" line, or set [gre] flow-control for every call this server answers`,
    ]);
    assert.equal(failed(file("[peer hq]", ...CLIENT, "flow-control = slow"))[0].line, 6);
  });

  test("mppe = require with only PAP/CHAP-MD5: on the mppe line, else the auth line; a mix is a warning", () => {
    const fix = `add mschap-v2 to auth (e.g. "auth = mschap-v2"), or set "mppe = deny" to run unencrypted`;
    assert.deepEqual(errorLines(file("[peer hq]", ...CLIENT, "auth = pap, chap-md5")), [
      `${FILE}:6: [peer hq] mppe: "require" needs MS-CHAP keys (RFC 3079), but auth allows only pap, chap-md5, which give none — fix: ${fix}`,
    ]);
    assert.equal(failed(file("[peer hq]", ...CLIENT, "auth = pap", "mppe = require"))[0].line, 7);
    assert.deepEqual(parsed(file("[peer hq]", ...CLIENT, "auth = mschap-v2, pap")).warnings, [
      `${FILE}:6: [peer hq] auth: pap give no MPPE keys; with mppe = require, the tunnel is dropped when one of them is used`,
    ]);
    assert.deepEqual(parsed(file("[peer hq]", ...CLIENT, "auth = pap", "mppe = deny")).warnings, []);
  });

  test("remote-address equal to local-address; a server peer's default local-address is [ppp]'s", () => {
    const fix = `give the ends different addresses, e.g. "local-address = 172.16.0.1" and "remote-address = 172.16.0.2"`;
    assert.deepEqual(errorLines(file("[peer hq]", ...CLIENT, "remote-address = 10.1.1.1", "local-address = 10.1.1.1")), [
      `${FILE}:6: [peer hq] remote-address: 10.1.1.1 is also local-address; the two ends of a tunnel need different addresses (RFC 1332 §3.3) — fix: ${fix}`,
    ]);
    assert.deepEqual(errorLines(file("[peer shop]", "role = server", "user = shop", "remote-address = 192.168.50.1")), [
      `${FILE}:4: [peer shop] remote-address: 192.168.50.1 is also [ppp] local-address, this end of the tunnel; the two ends of a tunnel need different addresses (RFC 1332 §3.3) — fix: ${fix}`,
    ]);
    // A client peer has no default local-address: the peer assigns one.
    assert.equal(parsed(file("[peer hq]", ...CLIENT, "remote-address = 192.168.50.1")).config.peers[0].remoteAddress, "192.168.50.1");
  });

  test("role server remote-address inside the [ppp] pool: a warning", () => {
    assert.deepEqual(parsed(file("[peer shop]", "role = server", "user = shop", "remote-address = 192.168.50.77")).warnings, [
      `${FILE}:4: [peer shop] remote-address: 192.168.50.77 is inside the [ppp] pool (192.168.50.10-192.168.50.254); a dial-in client may be given it, and then the peer cannot connect`,
    ]);
  });

  test("two client peers on one TUN name, set or defaulted; the [server] TUN name", () => {
    assert.deepEqual(errorLines(file("[peer a]", ...CLIENT, "tun-name = tun7", "[peer b]", ...CLIENT, "tun-name = tun7")), [
      `${FILE}:12: [peer b] tun-name: "tun7" is also the TUN device of [peer a] (line 1) — fix: give one of them another name, e.g. "tun-name = tun71"`,
    ]);
    assert.deepEqual(errorLines(file("[peer head-office-1]", ...CLIENT, "[peer head-office-2]", ...CLIENT)), [
      `${FILE}:6: [peer head-office-2] tun-name: "pt-head-office-" (the default: "pt-" + the peer's name, cut to 15 characters) is also the TUN device of [peer head-office-1] (line 1) — fix: give one of them another name, e.g. "tun-name = pt-head-office1"`,
    ]);
    assert.deepEqual(errorLines(file("[peer a]", ...CLIENT, "tun-name = pptp0")), [
      `${FILE}:6: [peer a] tun-name: "pptp0" is also [server] tun-name, the dial-in sessions' TUN device — fix: give the peer its own device, e.g. "tun-name = pptp01"`,
    ]);
    // With the server off its TUN device is not created; server peers use the server's device, not their own.
    assert.equal(parsed(file("[server]", "enable = no", "[peer a]", ...CLIENT, "tun-name = pptp0")).config.peers[0].tunName, "pptp0");
    assert.equal(parsed(file("[peer a]", "role = server", "user = a", "tun-name = x", "[peer b]", "role = server", "user = b", "tun-name = x")).config.peers.length, 2);
  });

  test("two server peers with one user; case follows [ppp] case-sensitive-users", () => {
    assert.deepEqual(errorLines(file("[peer a]", "role = server", "user = Shop", "[peer b]", "role = server", "user = shop")), [
      `${FILE}:6: [peer b] user: "shop" is also the user of [peer a] (line 1); a login could not tell the two apart — fix: give each role server peer its own user name`,
    ]);
    assert.equal(parsed(file("[ppp]", "case-sensitive-users = yes", "[peer a]", "role = server", "user = Shop", "[peer b]", "role = server", "user = shop")).config.peers.length, 2);
    // A client peer's user is the name it sends elsewhere: the same name as a server peer's is fine.
    assert.equal(parsed(file("[peer a]", "role = server", "user = branch", "[peer b]", ...CLIENT)).config.peers.length, 2);
  });

  test("reconnect-delay longer than reconnect-max-delay", () => {
    assert.deepEqual(errorLines(file("[peer hq]", ...CLIENT, "reconnect-max-delay = 10", "reconnect-delay = 30")), [
      `${FILE}:7: [peer hq] reconnect-delay: 30s is longer than reconnect-max-delay (10s); the wait starts at reconnect-delay and doubles up to reconnect-max-delay — fix: make reconnect-delay at most reconnect-max-delay, e.g. "reconnect-delay = 1" and "reconnect-max-delay = 60"`,
    ]);
    assert.equal(failed(file("[peer hq]", ...CLIENT, "reconnect-max-delay = 500ms"))[0].line, 6, "only the max set: its line");
    assert.equal(parsed(file("[peer hq]", ...CLIENT, "reconnect-delay = 10", "reconnect-max-delay = 10")).config.peers[0].timers.reconnectMinMs, 10_000);
  });

  test("overlapping routes between peers, two default routes, a route over the pool: warnings", () => {
    const r = parsed(
      file("[peer a]", ...CLIENT, "routes = 10.0.0.0/8", "default-route = yes", "[peer b]", "role = server", "user = b", "routes = 10.20.0.0/16, 192.168.50.0/28", "[peer c]", ...CLIENT, "tun-name = c", "default-route = yes"),
    );
    assert.deepEqual(r.warnings, [
      `${FILE}:11: [peer b] routes: 192.168.50.0/28 overlaps the [ppp] pool (192.168.50.10-192.168.50.254); dial-in clients given those addresses would be routed to the peer instead`,
      `${FILE}:11: [peer b] routes: 10.20.0.0/16 overlaps 10.0.0.0/8 of [peer a] (line 1); traffic for the overlap goes into only one of the tunnels`,
      `${FILE}:18: [peer c] default-route: [peer a] (line 1) has default-route = yes too; all traffic can go into only one tunnel`,
    ]);
    assert.deepEqual(parsed(file("[peer a]", ...CLIENT, "routes = 10.0.0.0/16", "[peer b]", ...CLIENT, "routes = 10.1.0.0/16")).warnings, []);
  });

  test("[server] enable = no needs a client peer", () => {
    const message = `[server] enable: "no" with no role client peer: nothing would run — fix: add a [peer NAME] section with "role = client" (and its remote, user, password), or set "enable = yes"`;
    assert.deepEqual(errorLines(file("[server]", "enable = no")), [`${FILE}:2: ${message}`]);
    assert.deepEqual(errorLines(file("[server]", "", "enable = off", "[peer a]", "role = server", "user = a")), [`${FILE}:3: ${message}`]);
    // A peer without a usable role is already an error; whether it was meant as a client is unknown.
    assert.deepEqual(failed(file("[server]", "enable = no", "[peer a]", "role = clint")).map((e) => e.line), [4]);
  });

  test("with the server off, the [ppp] pool and users file are not checked against the peers", () => {
    const r = parsed(file("[server]", "enable = no", "[peer hq]", ...CLIENT, "routes = 192.168.50.0/24"));
    assert.deepEqual(r.warnings, []);
  });
});

describe("[peer NAME]: formatConfig round trip", () => {
  const withoutLines = (c: ServerConfig) => ({ ...c, peers: c.peers.map((p) => ({ ...p, line: 0 })) });

  test("a client and a server peer, the server off, a password that needs quotes", () => {
    const text = FULL_CLIENT.replace('password = "s3cret ; with semicolon"', 'password = "  spaced #1 ; x"') + "\n" + FULL_SERVER + "[server]\nenable = no\n";
    const c = parsed(text).config;
    assert.equal(c.peers[0].password, "  spaced #1 ; x");
    assert.equal(c.server.enable, false);
    const again = parsed(formatConfig(c)).config;
    assert.deepEqual(withoutLines(again), withoutLines(c));
    assert.deepEqual(again.peers.map((p) => p.name), ["hq", "branch"]);
  });

  test("defaults written out parse back the same; absent values are left out", () => {
    const c = parsed(file("[peer shop]", "role = server", "user = shop")).config;
    const text = formatConfig(c);
    assert.ok(text.includes("\n[peer shop]\nrole = server\nconnect = passive\nanswer = no\nport = 1723\nuser = shop\nauth = mschap-v2\n"), text);
    const peer = text.slice(text.indexOf("[peer shop]"));
    for (const absent of ["remote =", "password =", "local-address =", "remote-address ="]) assert.ok(!peer.includes(`\n${absent}`), absent);
    assert.deepEqual(withoutLines(parsed(text).config), withoutLines(c));
  });

  test("every peer key is written once per peer", () => {
    const text = formatConfig(parsed(FULL_CLIENT).config);
    const peerKeys = configKeys().find((s) => s.section === "peer")?.keys ?? [];
    const body = text.slice(text.indexOf("[peer hq]")).split("\n");
    for (const k of peerKeys) assert.equal(body.filter((l) => l.startsWith(`${k} = `)).length, 1, k);
  });
});

describe("[peer NAME]: describeConfig", () => {
  test("one line per peer, in plain words, never the password", () => {
    const c = parsed(file("[peer hq]", ...CLIENT, "routes = 192.168.10.0/24, 10.1.0.0/16", "[peer shop]", "role = server", "user = shop", "password = hunter2", "remote-address = 172.16.1.2", "routes = 192.168.30.0/24")).config;
    const lines = describeConfig(c);
    assert.deepEqual(lines.slice(-2), [
      `peer hq: client, dials vpn.example.com:1723 persistent, as user "branch", MS-CHAPv2, MPPE require 128-bit, routes 192.168.10.0/24 10.1.0.0/16, tunnel pt-hq, redial after 1s doubling to 1m`,
      `peer shop: server, user "shop" logs in, waits for its calls, gets 172.16.1.2, MS-CHAPv2, MPPE require 128-bit, routes 192.168.30.0/24`,
    ]);
    assert.equal(lines.length, describeConfig(defaultConfig()).length + 2);
    assert.ok(!lines.join("\n").includes("hunter2") && !lines.join("\n").includes("pa55word"));
  });

  test("every choice of a full client peer shows", () => {
    assert.equal(
      describePeer(FULL_CLIENT_PEER),
      `peer hq: client, dials 203.0.113.7:1724 on demand, answers its calls, as user "ACME\\branch", expects 172.16.0.1 at the far end, asks for 172.16.0.2, MS-CHAPv1/MS-CHAPv2, MPPE prefer 40-bit/128-bit, default route, routes 10.0.0.0/16 10.9.9.9/32, tunnel hq0, redial after 500ms doubling to 5m, gives up after 20 failures in a row, idle timeout 15m, session timeout 8h`,
    );
  });

  test("a server peer that connects; MPPE off; no routes", () => {
    const p: PeerConfig = { ...FULL_CLIENT_PEER, role: "server", connect: "persistent", answer: false, defaultRoute: false, routes: [], mppe: { policy: "deny", strengths: [128], stateless: "prefer" }, localAddress: undefined, remoteAddress: undefined, maxFailures: 0, timers: { ...FULL_CLIENT_PEER.timers, idleTimeoutMs: 0, sessionTimeoutMs: 0 } };
    assert.equal(
      describePeer(p),
      `peer hq: server, user "ACME\\branch" logs in, connects to 203.0.113.7:1724 persistent and waits for its call, gets a pool address, MS-CHAPv1/MS-CHAPv2, MPPE off, no routes, redial after 500ms doubling to 5m`,
    );
  });

  test("with the server off the summary says so and the server's own sections are left out", () => {
    const lines = describeConfig(parsed(file("[server]", "enable = no", "[peer hq]", ...CLIENT)).config);
    assert.deepEqual(lines.slice(0, 2), ["server off (enable = no); peers hq", "log: events, errors"]);
    assert.equal(lines.length, 3);
    assert.match(lines[2], /^peer hq: client, dials vpn\.example\.com:1723 persistent/);
  });
});
