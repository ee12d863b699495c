/** parseConfig: defaults, every key, every error path with its exact file:line, cross-checks and round trips. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import {
  configKeys,
  keysWithoutDefault,
  defaultConfig,
  describeConfig,
  formatConfig,
  parseConfig,
  type ConfigResult,
  type ServerConfig,
} from "../../src/config/config.js";
import type { ConfigError } from "../../src/config/config-error.js";

const FILE = "/etc/pptp-ts/pptp-ts.conf";

function parsed(text: string, file = FILE): { config: ServerConfig; warnings: string[] } {
  const r = parseConfig(text, file);
  if (!r.ok) assert.fail(`expected success, got:\n${r.errors.map(String).join("\n")}`);
  return r;
}

function failed(text: string, file = FILE): ConfigError[] {
  const r: ConfigResult = parseConfig(text, file);
  if (r.ok) assert.fail("expected errors, the config parsed");
  return r.errors;
}

/** The errors as their toString() lines. */
function errorLines(text: string, file = FILE): string[] {
  return failed(text, file).map(String);
}

describe("defaults", () => {
  test("an empty file gives defaultConfig() with the users file next to the config file", () => {
    const r = parsed("");
    assert.deepEqual(r.config, defaultConfig("/etc/pptp-ts"));
    assert.deepEqual(r.warnings, []);
  });

  test("a file with only comments and blank lines gives the defaults too", () => {
    const r = parsed("; comment\n# another\n\n   \n\t; indented comment\n");
    assert.deepEqual(r.config, defaultConfig("/etc/pptp-ts"));
  });

  test("the defaults are the documented ones", () => {
    const c = defaultConfig("/srv");
    assert.deepEqual(c.server, { enable: true, listen: "0.0.0.0", port: 1723, hostname: "pptp-ts", maxSessions: 100, maxSessionsPerPeer: 0, maxSessionsPerUser: 0, perUserPolicy: "deny", tunName: "pptp0", controlSocket: "/run/pptp-ts/pptp-ts.sock", workers: 1 });
    assert.equal(c.ppp.localAddress, "192.168.50.1");
    assert.deepEqual(c.ppp.pool, [{ first: "192.168.50.10", last: "192.168.50.254" }]);
    assert.deepEqual([c.ppp.dns, c.ppp.wins, c.ppp.mtu, c.ppp.mru], [[], [], 1400, 1400]);
    assert.deepEqual(c.ppp.auth, ["mschap-v2"]);
    assert.equal(c.ppp.users, "/srv/chap-secrets");
    assert.equal(c.ppp.caseSensitiveUsers, false);
    assert.deepEqual(c.mppe, { policy: "require", strengths: [128], stateless: "prefer" });
    assert.deepEqual(c.timers, {
      echoIntervalMs: 60000,
      echoTimeoutMs: 60000,
      echoRetries: 2,
      lcpEchoIntervalMs: 30000,
      lcpEchoFailures: 4,
      idleTimeoutMs: 0,
      sessionTimeoutMs: 0,
      controlReplyTimeoutMs: 60000,
    });
    assert.deepEqual(c.gre, { flowControl: "off", reorderTimeoutMs: 50, ackDelayMs: 100 });
    assert.deepEqual(c.log.debug, ["events", "errors"]);
    assert.deepEqual(c.peers, []);
  });

  test("defaultConfig() returns a fresh object each time", () => {
    const a = defaultConfig();
    (a.ppp.dns as string[]).push("10.0.0.1");
    assert.deepEqual(defaultConfig().ppp.dns, []);
  });

  test("the default users file is resolved against the working directory", () => {
    assert.equal(defaultConfig().ppp.users, resolve("chap-secrets"));
    assert.equal(parsed("", "pptp-ts.conf").config.ppp.users, resolve("chap-secrets"));
  });
});

const FULL = `
[server]
listen = 10.0.0.1
port = 1724
hostname = vpn.example.com
max-sessions = 200
max-sessions-per-peer = 4
max-sessions-per-user = 2
per-user-policy = replace
tun-name = vpn%d
control-socket = run/ctl.sock
workers = 4

[ppp]
local-address = 10.8.1.1
pool = 10.8.0.0/24, 10.9.0.10-20, 10.9.1.5
dns = 10.8.1.1, 1.1.1.1
wins = 10.8.1.2
mtu = 1450
mru = 1460
auth = mschap-v2, mschap-v1, chap-md5
users = secrets/users.txt
case-sensitive-users = yes

[mppe]
policy = prefer
strengths = 40, 128, 56
stateless = require

[timers]
echo-interval = 2m
echo-timeout = 30s
echo-retries = 5
lcp-echo-interval = 10
lcp-echo-failures = 6
idle-timeout = 1.5h
session-timeout = 8h
control-reply-timeout = 45

[gre]
flow-control = sliding
reorder-timeout = 200ms
ack-delay = 0.25s

[log]
debug = packets, negotiation
format = json
output = syslog
syslog = 10.0.0.9:5514
syslog-facility = local3
packet-hex = yes

[limits]
max-connections = 500
max-connections-per-address = 8
connection-rate = 2
connection-burst = 4
start-timeout = 5
no-call-timeout = 1m
auth-window = 10m
auth-free-failures = 2
auth-delay = 500ms
auth-max-delay = 4
auth-max-failures-per-user = 5
auth-max-failures-per-address = 20
auth-lockout = 30m
log-interval = 30

[aaa]
auth = radius, local

[radius]
servers = 10.0.0.5, 10.0.0.6:1645
secret-file = radius-secret
timeout = 2
retries = 3
deadline = 20
dead-time = 2m
balance = round-robin
nas-identifier = vpn1
nas-ip-address = 10.0.0.1

[tacacs]
servers = 10.0.0.5, tacacs.example.com:4949
key-file = tacacs.key
timeout = 2
deadline = 8
single-connection = yes
authorization = no
spool = spool/tacacs.spool
spool-max = 5000
accounting-error-limit = 3
[pools]
office = 10.20.0.10-10.20.0.50, 10.20.1.0/28
Lab.2 = 10.21.0.1

[accounting]
enable = yes
servers = 10.0.0.5, radius2.example.com:1646
secret-file = secrets/acct
spool = spool/acct.spool
spool-max = 5000
timeout = 2
retries = 4
interim-interval = 10m

[das]
enable = yes
listen = 10.0.0.1
port = 3800
clients = 10.0.0.5, 10.0.1.0/24
secret = "das secret ;x"
require-message-authenticator = yes
replay-window = 60

[metrics]
listen = 10.0.0.1:9100
path = /pptp/metrics
`;

describe("every key", () => {
  test("a file setting every key to a non-default value", () => {
    const r = parsed(FULL);
    assert.deepEqual(r.config, {
      server: { enable: true, listen: "10.0.0.1", port: 1724, hostname: "vpn.example.com", maxSessions: 200, maxSessionsPerPeer: 4, maxSessionsPerUser: 2, perUserPolicy: "replace", tunName: "vpn%d", controlSocket: "/etc/pptp-ts/run/ctl.sock", workers: 4 },
      ppp: {
        localAddress: "10.8.1.1",
        pool: [
          { first: "10.8.0.1", last: "10.8.0.254" },
          { first: "10.9.0.10", last: "10.9.0.20" },
          { first: "10.9.1.5", last: "10.9.1.5" },
        ],
        dns: ["10.8.1.1", "1.1.1.1"],
        wins: ["10.8.1.2"],
        mtu: 1450,
        mru: 1460,
        auth: ["mschap-v2", "mschap-v1", "chap-md5"],
        users: "/etc/pptp-ts/secrets/users.txt",
        caseSensitiveUsers: true,
      },
      mppe: { policy: "prefer", strengths: [40, 128, 56], stateless: "require" },
      timers: {
        echoIntervalMs: 120000,
        echoTimeoutMs: 30000,
        echoRetries: 5,
        lcpEchoIntervalMs: 10000,
        lcpEchoFailures: 6,
        idleTimeoutMs: 5400000,
        sessionTimeoutMs: 28800000,
        controlReplyTimeoutMs: 45000,
      },
      gre: { flowControl: "sliding", reorderTimeoutMs: 200, ackDelayMs: 250 },
      log: { debug: ["packets", "negotiation"], format: "json", output: "syslog", syslog: { host: "10.0.0.9", port: 5514 }, syslogFacility: "local3", packetHex: true },
      limits: {
        maxConnections: 500,
        maxConnectionsPerAddress: 8,
        connectionRate: 2,
        connectionBurst: 4,
        startTimeoutMs: 5000,
        noCallTimeoutMs: 60000,
        authWindowMs: 600000,
        authFreeFailures: 2,
        authDelayMs: 500,
        authMaxDelayMs: 4000,
        authMaxFailuresPerUser: 5,
        authMaxFailuresPerAddress: 20,
        authLockoutMs: 1800000,
        logIntervalMs: 30000,
      },
      aaa: { auth: ["radius", "local"] },
      radius: {
        servers: [{ host: "10.0.0.5", port: 1812 }, { host: "10.0.0.6", port: 1645 }],
        secretFile: "/etc/pptp-ts/radius-secret",
        timeoutMs: 2000,
        retries: 3,
        deadlineMs: 20000,
        deadTimeMs: 120000,
        balance: "round-robin",
        nasIdentifier: "vpn1",
        nasIpAddress: "10.0.0.1",
      },
      tacacs: {
        servers: [{ host: "10.0.0.5", port: 49 }, { host: "tacacs.example.com", port: 4949 }],
        key: undefined,
        keyFile: "/etc/pptp-ts/tacacs.key",
        timeoutMs: 2000,
        deadlineMs: 8000,
        singleConnection: true,
        authorization: false,
        spool: "/etc/pptp-ts/spool/tacacs.spool",
        spoolMax: 5000,
        accountingErrorLimit: 3,
      },
      pools: {
        office: [
          { first: "10.20.0.10", last: "10.20.0.50" },
          { first: "10.20.1.1", last: "10.20.1.14" },
        ],
        "lab.2": [{ first: "10.21.0.1", last: "10.21.0.1" }],
      },
      accounting: {
        enable: true,
        servers: [{ host: "10.0.0.5", port: 1813 }, { host: "radius2.example.com", port: 1646 }],
        secret: "",
        secretFile: "/etc/pptp-ts/secrets/acct",
        spool: "/etc/pptp-ts/spool/acct.spool",
        spoolMax: 5000,
        timeoutMs: 2000,
        retries: 4,
        interimIntervalMs: 600000,
      },
      das: {
        enable: true,
        listen: "10.0.0.1",
        port: 3800,
        clients: ["10.0.0.5", "10.0.1.0/24"],
        secret: "das secret ;x",
        secretFile: "",
        requireMessageAuthenticator: true,
        replayWindowMs: 60000,
      },
      metrics: { listen: { address: "10.0.0.1", port: 9100 }, path: "/pptp/metrics" },
      peers: [],
    });
  });

  test("the FULL sample parses without warnings", () => {
    assert.deepEqual(parsed(FULL).warnings, []);
  });

  test("a CIDR pool counts as its host range: 10.8.0.1 would clash, 10.8.0.0 does not", () => {
    assert.equal(failed(FULL.replace("local-address = 10.8.1.1", "local-address = 10.8.0.1")).length, 1);
  });

  test("an absolute users path is kept as written", () => {
    assert.equal(parsed("[ppp]\nusers = /etc/ppp/chap-secrets\n").config.ppp.users, "/etc/ppp/chap-secrets");
  });

  test("section and key names are case-insensitive; word values too", () => {
    const c = parsed("[PPP]\nMTU = 1500\n[Mppe]\nPolicy = Prefer\n").config;
    assert.equal(c.ppp.mtu, 1500);
    assert.equal(c.mppe.policy, "prefer");
  });

  test("booleans accept yes/no, true/false, on/off, 1/0", () => {
    for (const [w, v] of [["yes", true], ["true", true], ["on", true], ["1", true], ["no", false], ["False", false], ["off", false], ["0", false]] as const) {
      assert.equal(parsed(`[ppp]\ncase-sensitive-users = ${w}\n`).config.ppp.caseSensitiveUsers, v, w);
    }
  });

  test("debug = all turns on every category; an empty value none", () => {
    assert.deepEqual(parsed("[log]\ndebug = all\n").config.log.debug, ["events", "errors", "packets", "negotiation"]);
    assert.deepEqual(parsed("[log]\ndebug =\n").config.log.debug, []);
  });

  test("an unknown debug category", () => {
    assert.deepEqual(errorLines("[log]\ndebug = events, verbose\n"), [
      `${FILE}:2: [log] debug: "verbose" is not one of events, errors, packets, negotiation — fix: use e.g. "debug = events, errors", or "debug = all"`,
    ]);
  });

  test("an empty dns line is the empty list", () => {
    assert.deepEqual(parsed("[ppp]\ndns =\nwins =   \n").config.ppp.dns, []);
  });
});

describe("syntax", () => {
  test("trailing comments after whitespace; '#' and ';' inside a value are kept", () => {
    const c = parsed("[server]\nhostname = vpn#1 ; our name\nport = 1723 # standard\n[ppp]\nusers = a;b.txt\n").config;
    assert.equal(c.server.hostname, "vpn#1");
    assert.equal(c.server.port, 1723);
    assert.equal(c.ppp.users, "/etc/pptp-ts/a;b.txt");
  });

  test("a double-quoted value keeps ' ;' and may be followed by a comment", () => {
    const c = parsed('[ppp]\nusers = "my users ; file"   ; comment\n').config;
    assert.equal(c.ppp.users, "/etc/pptp-ts/my users ; file");
  });

  test("CRLF line endings, a BOM and spaces around '=' and in headers", () => {
    const c = parsed("\uFEFF[ server ]\r\n  port=1800  \r\n[ppp]\r\nmtu   =   1300\r\n").config;
    assert.equal(c.server.port, 1800);
    assert.equal(c.ppp.mtu, 1300);
  });

  test("a header may carry a comment", () => {
    assert.equal(parsed("[server] ; main\nport = 99\n").config.server.port, 99);
  });

  test("a section may appear twice; its keys still count once", () => {
    const c = parsed("[server]\nport = 1\n[ppp]\nmtu = 1500\n[server]\nhostname = x\n").config;
    assert.deepEqual([c.server.port, c.server.hostname, c.ppp.mtu], [1, "x", 1500]);
    assert.deepEqual(errorLines("[server]\nport = 1\n[ppp]\n[server]\nport = 2\n"), [
      `${FILE}:5: [server] port: set again (first set on line 2) — fix: keep one "port" line`,
    ]);
  });

  test("the documented example error, character for character", () => {
    const text = "[server]\nport = 1723\n\n\n\n\n\n\n\n\n[mppe]\nstrengths = 129\n";
    assert.deepEqual(errorLines(text, "pptp-ts.conf"), [
      `pptp-ts.conf:12: [mppe] strengths: "129" is not one of 40, 56, 128 — fix: use e.g. "strengths = 128"`,
    ]);
  });

  test("ConfigError fields", () => {
    const [e] = failed("[ppp]\nmtu = big\n");
    assert.equal(e.file, FILE);
    assert.equal(e.line, 2);
    assert.equal(e.message, `[ppp] mtu: "big" is not a whole number`);
    assert.equal(e.fix, `use e.g. "mtu = 1400"`);
  });

  test("all errors are reported, in line order, not just the first", () => {
    const text = [
      "[server]", //            1
      "port = 0", //            2
      "hostname = a b", //      3
      "[ppp]", //               4
      "mtu = 575", //           5
      "mru = 1501", //          6
      "dns = 1.2.3.4, x", //    7
      "[mppe]", //              8
      "policy = sometimes", //  9
      "strengths = 129, 7", // 10
    ].join("\n");
    assert.deepEqual(errorLines(text), [
      `${FILE}:2: [server] port: 0 is outside 1..65535 — fix: use e.g. "port = 1723"`,
      `${FILE}:3: [server] hostname: "a b" has characters other than printable ASCII without spaces and quotes — fix: use e.g. "hostname = vpn.example.com"`,
      `${FILE}:5: [ppp] mtu: 575 is outside 576..1500 — fix: use e.g. "mtu = 1400"`,
      `${FILE}:6: [ppp] mru: 1501 is outside 576..1500 — fix: use e.g. "mru = 1400"`,
      `${FILE}:7: [ppp] dns: "x" is not an IPv4 address — fix: use e.g. "dns = 192.168.50.1, 8.8.8.8"`,
      `${FILE}:9: [mppe] policy: "sometimes" is not one of require, prefer, allow, deny — fix: use e.g. "policy = require"`,
      `${FILE}:10: [mppe] strengths: "129" is not one of 40, 56, 128 — fix: use e.g. "strengths = 128"`,
      `${FILE}:10: [mppe] strengths: "7" is not one of 40, 56, 128 — fix: use e.g. "strengths = 128"`,
    ]);
  });

  test("mtu and mru bounds 576 and 1500 are accepted", () => {
    const c = parsed("[ppp]\nmtu = 576\nmru = 1500\n").config;
    assert.deepEqual([c.ppp.mtu, c.ppp.mru], [576, 1500]);
  });

  test("unknown section: did you mean, and its keys are not reported again", () => {
    assert.deepEqual(errorLines("[mpe]\npolicy = require\nbogus = 1\n[ppp]\nmtu = 1500\n"), [
      `${FILE}:1: [mpe]: unknown section — fix: did you mean [mppe]? sections are [server], [ppp], [mppe], [timers], [gre], [log], [limits], [aaa], [radius], [tacacs], [pools], [accounting], [das], [metrics], [peer NAME]`,
    ]);
  });

  test("unknown section far from any name lists the sections", () => {
    assert.deepEqual(errorLines("[snmp]\n"), [
      `${FILE}:1: [snmp]: unknown section — fix: sections are [server], [ppp], [mppe], [timers], [gre], [log], [limits], [aaa], [radius], [tacacs], [pools], [accounting], [das], [metrics], [peer NAME]`,
    ]);
  });

  test("unknown key: did you mean, from the edit distance", () => {
    assert.deepEqual(errorLines("[mppe]\nstrenghts = 128\n[server]\nmax_sessions = 5\n[ppp]\npol = 10.0.0.1\n"), [
      `${FILE}:2: [mppe] strenghts: unknown key — fix: did you mean "strengths"? [mppe] keys are policy, strengths, stateless`,
      `${FILE}:4: [server] max_sessions: unknown key — fix: did you mean "max-sessions"? [server] keys are enable, listen, port, hostname, max-sessions, max-sessions-per-peer, max-sessions-per-user, per-user-policy, tun-name, control-socket, workers`,
      `${FILE}:6: [ppp] pol: unknown key — fix: did you mean "pool"? [ppp] keys are local-address, pool, dns, wins, mtu, mru, auth, users, case-sensitive-users`,
    ]);
  });

  test("[pools]: every key is a pool name; bad names, bad ranges and overlaps are errors", () => {
    const bad = errorLines("[pools]\nbad/name = 10.1.0.1\nok = 10.1.0.5-10.1.0.1\n");
    assert.equal(bad[0], `${FILE}:2: [pools] bad/name: "bad/name" is not a pool name (1-64 letters, digits, '.', '_' or '-', starting with a letter or digit) — fix: rename it, e.g. "bad-name = 10.1.0.1"`);
    assert.match(bad[1], /^\/etc\/pptp-ts\/pptp-ts.conf:3: \[pools\] ok: /);
    assert.equal(bad.length, 2);
    assert.deepEqual(errorLines("[pools]\na = 10.1.0.1-10.1.0.9\nb = 10.1.0.9\n"), [
      `${FILE}:2: [pools] a: 10.1.0.1-10.1.0.9 overlaps pool "b" 10.1.0.9 — fix: give each pool its own addresses`,
    ]);
    assert.deepEqual(errorLines("[pools]\na = 192.168.50.200-192.168.50.210\n"), [
      `${FILE}:2: [pools] a: 192.168.50.200-192.168.50.210 overlaps [ppp] pool 192.168.50.10-192.168.50.254 — fix: give each pool its own addresses`,
    ]);
    assert.deepEqual(errorLines("[accounting]\ninterim-interval = 30\n"), [
      `${FILE}:2: [accounting] interim-interval: "30" is less than 60 s (RFC 2869 §5.16) — fix: use 0 (off) or e.g. "interim-interval = 5m"`,
    ]);
    assert.deepEqual(errorLines("[server]\nper-user-policy = kick\n").length, 1);
  });

  test("[server] workers outside 1..64: file, line and fix", () => {
    const r = parseConfig("[server]\nworkers = 0\n", FILE);
    assert.ok(!r.ok);
    assert.deepEqual(r.errors.map(String), [`${FILE}:2: [server] workers: 0 is outside 1..64 — fix: use e.g. "workers = 2"`]);
  });

  test("unknown key with nothing close lists the section's keys", () => {
    assert.deepEqual(errorLines("[gre]\nwindow = 64\n"), [
      `${FILE}:2: [gre] window: unknown key — fix: [gre] keys are flow-control, reorder-timeout, ack-delay`,
    ]);
  });

  test("a key in the wrong section names its section", () => {
    assert.deepEqual(errorLines("[server]\nmtu = 1400\n"), [
      `${FILE}:2: [server] mtu: unknown key in [server] — fix: "mtu" belongs in [ppp]: move the line under [ppp]`,
    ]);
  });

  test("a key before any section", () => {
    assert.deepEqual(errorLines("port = 1723\nnonsense = 1\n[server]\n"), [
      `${FILE}:1: "port" is outside any section — fix: put it under [server]`,
      `${FILE}:2: "nonsense" is outside any section — fix: put keys under a section header such as [server]`,
    ]);
  });

  test("lines that are neither key = value, section nor comment", () => {
    assert.deepEqual(errorLines("[server]\nport 1723\n= 5\n[ppp\n"), [
      `${FILE}:2: "port 1723" is not "key = value", a [section] or a comment — fix: write "key = value", or start a comment with ';' or '#'`,
      `${FILE}:3: "= 5" has no key before '=' — fix: write "key = value"`,
      `${FILE}:4: "[ppp" is not a section header — fix: write it as "[name]", e.g. "[ppp]"`,
    ]);
  });

  test("an unclosed or trailing-garbage quote", () => {
    assert.deepEqual(errorLines('[ppp]\nusers = "abc\nmtu = "1400" x\n'), [
      `${FILE}:2: [ppp] users: value "abc has no closing quote — fix: write the value in double quotes with nothing after it but a comment`,
      `${FILE}:3: [ppp] mtu: text "x" follows the quoted value — fix: write the value in double quotes with nothing after it but a comment`,
    ]);
  });

  test("a duplicate key is an error even when both values are good", () => {
    assert.deepEqual(errorLines("[ppp]\nmtu = 1400\nmru = 1400\nMTU = 1300\n"), [
      `${FILE}:4: [ppp] mtu: set again (first set on line 2) — fix: keep one "mtu" line`,
    ]);
  });
});

describe("value types", () => {
  test("durations: bare seconds and ms/s/m/h units", () => {
    const cases: [string, number][] = [["90", 90000], ["90s", 90000], ["1.5s", 1500], ["2m", 120000], ["1h", 3600000], ["0", 0], ["250ms", 250], ["3 M", 180000]];
    for (const [text, ms] of cases) {
      assert.equal(parsed(`[timers]\nidle-timeout = ${text}\n`).config.timers.idleTimeoutMs, ms, text);
    }
  });

  test("bad and out-of-range durations", () => {
    assert.deepEqual(errorLines("[timers]\necho-timeout = 5x\necho-interval = 2d\ncontrol-reply-timeout = 0\n[gre]\nack-delay = 6s\n"), [
      `${FILE}:2: [timers] echo-timeout: "5x" is not a duration — fix: write seconds ("60"), or a number with ms, s, m or h ("50ms", "2m")`,
      `${FILE}:3: [timers] echo-interval: "2d" is not a duration — fix: write seconds ("60"), or a number with ms, s, m or h ("50ms", "2m")`,
      `${FILE}:4: [timers] control-reply-timeout: "0" is outside 1s..10m — fix: use e.g. "control-reply-timeout = 60"`,
      `${FILE}:6: [gre] ack-delay: "6s" is outside 0s..5s — fix: use e.g. "ack-delay = 100ms"`,
    ]);
  });

  test("whole numbers only for counts", () => {
    assert.deepEqual(errorLines("[timers]\necho-retries = -1\nlcp-echo-failures = 0\n[server]\nmax-sessions = 1.5\n"), [
      `${FILE}:2: [timers] echo-retries: "-1" is not a whole number — fix: use e.g. "echo-retries = 2"`,
      `${FILE}:3: [timers] lcp-echo-failures: 0 is outside 1..100 — fix: use e.g. "lcp-echo-failures = 4"`,
      `${FILE}:5: [server] max-sessions: "1.5" is not a whole number — fix: use e.g. "max-sessions = 100"`,
    ]);
  });

  test("auth keeps the written order and rejects unknown methods", () => {
    assert.deepEqual(parsed("[ppp]\nauth = pap, mschap-v2\n[mppe]\npolicy = prefer\n").config.ppp.auth, ["pap", "mschap-v2"]);
    assert.deepEqual(errorLines("[ppp]\nauth = mschapv2\n"), [
      `${FILE}:2: [ppp] auth: "mschapv2" is not one of mschap-v2, mschap-v1, chap-md5, pap — fix: use e.g. "auth = mschap-v2"`,
    ]);
    assert.deepEqual(errorLines("[ppp]\nauth =\n"), [`${FILE}:2: [ppp] auth: needs at least one of the methods — fix: use e.g. "auth = mschap-v2"`]);
  });

  test("list items repeated are dropped with a warning", () => {
    const r = parsed("[ppp]\nauth = mschap-v2, mschap-v2\n");
    assert.deepEqual(r.config.ppp.auth, ["mschap-v2"]);
    assert.deepEqual(r.warnings, [`${FILE}:2: [ppp] auth: "mschap-v2" is listed twice; the repeat is ignored`]);
  });

  test("dns: at most two, no empty items, no loopback/multicast", () => {
    assert.deepEqual(errorLines("[ppp]\ndns = 1.1.1.1, 8.8.8.8, 9.9.9.9\nwins = 1.1.1.1,,2.2.2.2\n"), [
      `${FILE}:2: [ppp] dns: 3 addresses given, at most 2 allowed — fix: use e.g. "dns = 192.168.50.1, 8.8.8.8"`,
      `${FILE}:3: [ppp] wins: "1.1.1.1,,2.2.2.2" has an empty item — fix: separate items with single commas`,
    ]);
    assert.deepEqual(errorLines("[ppp]\ndns = 127.0.0.53\nwins = 239.1.1.1\nlocal-address = 0.0.0.0\n"), [
      `${FILE}:2: [ppp] dns: 127.0.0.53 is in 127.0.0.0/8 (loopback), not a usable host address — fix: use e.g. "dns = 192.168.50.1, 8.8.8.8"`,
      `${FILE}:3: [ppp] wins: 239.1.1.1 is in 224.0.0.0/3 (multicast, reserved and broadcast), not a usable host address — fix: use e.g. "wins = 192.168.50.2"`,
      `${FILE}:4: [ppp] local-address: 0.0.0.0 is in 0.0.0.0/8 ("this network", RFC 1122), not a usable host address — fix: use e.g. "local-address = 192.168.50.1"`,
    ]);
  });

  test("listen may be 0.0.0.0 but must be IPv4", () => {
    assert.equal(parsed("[server]\nlisten = 192.0.2.1\n").config.server.listen, "192.0.2.1");
    assert.deepEqual(errorLines("[server]\nlisten = ::\n"), [`${FILE}:2: [server] listen: "::" is not an IPv4 address — fix: use e.g. "listen = 0.0.0.0"`]);
  });

  test("hostname: at most 64 characters (the PPTP Host Name field)", () => {
    assert.equal(parsed(`[server]\nhostname = ${"h".repeat(64)}\n`).config.server.hostname.length, 64);
    assert.deepEqual(errorLines(`[server]\nhostname = ${"h".repeat(65)}\n`), [
      `${FILE}:2: [server] hostname: "${"h".repeat(65)}" is 65 characters, the PPTP Host Name field holds 64 (RFC 2637 §2.1) — fix: use e.g. "hostname = vpn.example.com"`,
    ]);
  });

  test("tun-name: Linux interface name rules", () => {
    assert.equal(parsed("[server]\ntun-name = ppp-vpn.0\n").config.server.tunName, "ppp-vpn.0");
    assert.deepEqual(errorLines("[server]\ntun-name = a/b\n"), [
      `${FILE}:2: [server] tun-name: "a/b" may only hold letters, digits, '_', '.', '-' and one "%d" — fix: use e.g. "tun-name = pptp0"`,
    ]);
    assert.deepEqual(errorLines("[server]\ntun-name = abcdefghijklmnop\n"), [
      `${FILE}:2: [server] tun-name: "abcdefghijklmnop" is 16 characters, Linux allows at most 15 — fix: use e.g. "tun-name = pptp0"`,
    ]);
    assert.deepEqual(errorLines("[server]\ntun-name = t%d%d\n"), [
      `${FILE}:2: [server] tun-name: "t%d%d": '%' is only allowed once, as "%d" — fix: use e.g. "tun-name = pptp0"`,
    ]);
  });

  test("pool forms: ranges, last-octet ranges, CIDR blocks, single addresses", () => {
    const c = parsed("[ppp]\nlocal-address = 172.16.0.1\npool = 10.0.0.0/30, 10.0.1.10-10.0.1.12, 10.0.2.7-9, 10.0.3.4, 10.0.4.0/31\n").config;
    assert.deepEqual(c.ppp.pool, [
      { first: "10.0.0.1", last: "10.0.0.2" },
      { first: "10.0.1.10", last: "10.0.1.12" },
      { first: "10.0.2.7", last: "10.0.2.9" },
      { first: "10.0.3.4", last: "10.0.3.4" },
      { first: "10.0.4.0", last: "10.0.4.1" },
    ]);
  });

  test("pool errors: syntax, reversed, host bits, special blocks, overlap, size, empty", () => {
    const fix = `write ranges as "10.0.0.10-10.0.0.200", "10.0.0.10-200" or "10.0.0.0/24"`;
    assert.deepEqual(errorLines("[ppp]\npool = 10.0.0.x-5, 10.0.0.9-10.0.0.1, 10.0.0.5/24, 10.0.0.0/33\n"), [
      `${FILE}:2: [ppp] pool: range "10.0.0.x-5": start "10.0.0.x" is not an IPv4 address — fix: ${fix}`,
      `${FILE}:2: [ppp] pool: range "10.0.0.9-10.0.0.1" ends (10.0.0.1) before it starts (10.0.0.9) — fix: ${fix}`,
      `${FILE}:2: [ppp] pool: CIDR block "10.0.0.5/24" has host bits set; the block starting there is 10.0.0.0/24 — fix: ${fix}`,
      `${FILE}:2: [ppp] pool: CIDR block "10.0.0.0/33": prefix length "33" is not 0..32 — fix: ${fix}`,
    ]);
    assert.deepEqual(errorLines("[ppp]\npool = 126.255.255.250-127.0.0.3\n"), [
      `${FILE}:2: [ppp] pool: "126.255.255.250-127.0.0.3" reaches into 127.0.0.0/8 (loopback) — fix: use private addresses, e.g. "192.168.50.10-192.168.50.254"`,
    ]);
    assert.deepEqual(errorLines("[ppp]\npool = 10.0.0.0/24, 10.0.0.200-10.0.1.5\n"), [
      `${FILE}:2: [ppp] pool: ranges 10.0.0.1-10.0.0.254 and 10.0.0.200-10.0.1.5 overlap — fix: list each address once, at most 65536 in all`,
    ]);
    assert.deepEqual(errorLines("[ppp]\npool = 10.0.0.0/15\n"), [
      `${FILE}:2: [ppp] pool: the pool holds 131070 addresses, at most 65536 (a /16) are supported — fix: list each address once, at most 65536 in all`,
    ]);
    assert.deepEqual(errorLines("[ppp]\npool =\n"), [
      `${FILE}:2: [ppp] pool: needs at least one of the ranges — fix: use e.g. "pool = 192.168.50.10-192.168.50.254"`,
    ]);
  });

  test("a /16 pool is accepted: 65534 host addresses", () => {
    const r = parsed("[ppp]\nlocal-address = 10.1.0.1\npool = 10.0.0.0/16\n[server]\nmax-sessions = 65534\n");
    assert.deepEqual(r.warnings, []);
    assert.match(describeConfig(r.config)[0], /pool 10\.0\.0\.1-10\.0\.255\.254 \(65534 addresses\)/);
  });
});

describe("cross-checks", () => {
  test("local-address inside the pool, reported on the local-address line", () => {
    assert.deepEqual(errorLines("[ppp]\npool = 10.0.0.0/24\nlocal-address = 10.0.0.1\n"), [
      `${FILE}:3: [ppp] local-address: 10.0.0.1 is inside the pool (10.0.0.1-10.0.0.254), so a peer could be given the server's own address — fix: choose a local-address outside the pool, or start the pool after it`,
    ]);
  });

  test("local-address left at its default but the pool moved over it: reported on the pool line", () => {
    const [e] = failed("[ppp]\n\npool = 192.168.50.1-20\n");
    assert.equal(e.line, 3);
    assert.match(e.message, /^\[ppp\] local-address: 192\.168\.50\.1 is inside the pool \(192\.168\.50\.1-192\.168\.50\.20\)/);
  });

  test("the network address of a CIDR pool is not in the pool, so it may be the local address", () => {
    assert.equal(parsed("[ppp]\nlocal-address = 10.0.0.0\npool = 10.0.0.0/24\n[server]\nmax-sessions = 10\n").config.ppp.localAddress, "10.0.0.0");
  });

  test("no cross-check on a key that already failed", () => {
    // The pool is bad, so the local-address check must not run against the default pool or report twice.
    assert.deepEqual(failed("[ppp]\nlocal-address = 192.168.50.20\npool = nonsense\n").map((e) => e.line), [3]);
  });

  test("a pool smaller than max-sessions is a warning, not an error", () => {
    const r = parsed("[server]\nmax-sessions = 50\n[ppp]\npool = 192.168.50.10-19\n");
    assert.deepEqual(r.warnings, [
      `${FILE}:4: [ppp] pool: holds 10 addresses but [server] max-sessions is 50; sessions beyond 10 will be refused for lack of an address`,
    ]);
  });

  test("a pool exactly max-sessions large gives no warning", () => {
    assert.deepEqual(parsed("[server]\nmax-sessions = 10\n[ppp]\npool = 192.168.50.10-19\n").warnings, []);
  });

  test("max-sessions-per-peer above max-sessions is a warning", () => {
    assert.deepEqual(parsed("[server]\nmax-sessions = 5\nmax-sessions-per-peer = 6\n").warnings, [
      `${FILE}:3: [server] max-sessions-per-peer: 6 is more than max-sessions (5) and has no effect`,
    ]);
  });

  test("MPPE required but only PAP/CHAP-MD5 allowed: an error naming the reason", () => {
    assert.deepEqual(errorLines("[ppp]\nauth = chap-md5, pap\n"), [
      `${FILE}:2: [mppe] policy: "require" needs MS-CHAP keys (RFC 3079), but [ppp] auth allows only chap-md5, pap, which give none — fix: add mschap-v2 to [ppp] auth (e.g. "auth = mschap-v2"), or set "policy = deny" to run unencrypted`,
    ]);
    // With the policy written in the file, the error points at the policy line.
    assert.equal(failed("[mppe]\npolicy = require\n[ppp]\nauth = pap\n")[0].line, 2);
  });

  test("MPPE required with a mix of methods: a warning about the keyless ones", () => {
    const r = parsed("[ppp]\nauth = mschap-v2, pap\n");
    assert.deepEqual(r.warnings, [
      `${FILE}:2: [ppp] auth: pap give no MPPE keys; with [mppe] policy = require, peers that authenticate that way will be disconnected`,
    ]);
  });

  test("PAP alone is fine when MPPE is not required", () => {
    for (const policy of ["prefer", "allow", "deny"]) {
      const r = parsed(`[ppp]\nauth = pap\n[mppe]\npolicy = ${policy}\n`);
      assert.deepEqual(r.config.ppp.auth, ["pap"]);
      assert.deepEqual(r.warnings, []);
    }
  });

  test("a DNS server inside the pool is a warning", () => {
    assert.deepEqual(parsed("[ppp]\ndns = 192.168.50.100\n").warnings, [
      `${FILE}:2: [ppp] dns: 192.168.50.100 is inside the pool, so a peer may be given that address`,
    ]);
  });
});

describe("formatConfig round trip", () => {
  test("defaults", () => {
    const c = defaultConfig("/etc/pptp-ts");
    const r = parsed(formatConfig(c));
    assert.deepEqual(r.config, c);
    assert.deepEqual(r.warnings, []);
  });

  test("every key non-default, including sub-second durations and a quoted path", () => {
    const base = parsed(FULL).config;
    const c: ServerConfig = {
      ...base,
      ppp: { ...base.ppp, users: "/srv/my users ;x/secrets" },
      gre: { flowControl: "fixed", reorderTimeoutMs: 1234, ackDelayMs: 0 },
      // An inline secret is never written back: the round trip keeps a secret file instead.
      das: { ...base.das, secret: "", secretFile: "/etc/pptp-ts/das-secret" },
    };
    assert.deepEqual(parsed(formatConfig(c), "/elsewhere/other.conf").config, c);
  });

  test("formatConfig writes every documented key once", () => {
    const text = formatConfig(defaultConfig());
    for (const { section, keys } of configKeys()) {
      if (section === "peer") continue; // no peers by default; config-peers.test.ts writes them
      assert.ok(text.includes(`[${section}]\n`), section);
      for (const k of keys) {
        if (keysWithoutDefault().has(`${section}.${k}`)) continue; // unset by default: not written
        const body: string = text.slice(text.indexOf(`[${section}]\n`)).split("\n[")[0]; // [ppp] and [aaa] both have "auth"
        assert.equal(body.split("\n").filter((l: string) => l.startsWith(`${k} = `)).length, 1, `[${section}] ${k}`);
      }
    }
  });
});

describe("describeConfig", () => {
  test("defaults: a one-line summary first, then one line per area", () => {
    const lines = describeConfig(defaultConfig("/etc/pptp-ts"));
    assert.deepEqual(lines, [
      "listening on 0.0.0.0:1723, pool 192.168.50.10-192.168.50.254 (245 addresses), local address 192.168.50.1, auth MS-CHAPv2, MPPE require (128-bit)",
      `server: host name "pptp-ts", at most 100 sessions, unlimited per peer address, TUN device pptp0`,
      "ppp: mtu 1400, mru 1400, dns none, wins none",
      "users: /etc/pptp-ts/chap-secrets (user names case-insensitive)",
      "mppe: policy require, strengths 128, stateless prefer",
      "timers: control echo every 1m (timeout 1m, 2 retries), LCP echo every 30s (4 failures), idle timeout off, session timeout off, control reply timeout 1m",
      "gre: flow control off, reorder timeout 50ms, ack delay 100ms",
      "limits: 200 control connections, 16 per address, 5/s per address (burst 20), SCCRQ within 10s, a call within 30s; " +
        "logins: 3 free failures per 15m, then 1s delay growing to 8s, lockout 15m after 10 failures per user or 30 per address",
      "log: events, errors",
    ]);
  });

  test("non-defaults show up", () => {
    const lines = describeConfig(parsed(FULL).config);
    assert.equal(
      lines[0],
      "listening on 10.0.0.1:1724, pool 10.8.0.1-10.8.0.254, 10.9.0.10-10.9.0.20, 10.9.1.5 (266 addresses), local address 10.8.1.1, auth MS-CHAPv2, MS-CHAPv1, CHAP-MD5, MPPE prefer (40-bit, 128-bit, 56-bit)",
    );
    assert.ok(lines.includes(`server: host name "vpn.example.com", at most 200 sessions, at most 4 per peer address, TUN device vpn%d, 4 data-plane worker threads`));
    assert.ok(lines.some((l) => l.includes("idle timeout 90m") && l.includes("session timeout 8h")));
    const deny = describeConfig({ ...defaultConfig(), mppe: { policy: "deny", strengths: [128], stateless: "prefer" } });
    assert.match(deny[0], /, MPPE off$/);
  });
});
