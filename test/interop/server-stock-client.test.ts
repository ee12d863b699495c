/**
 * Our server against Debian's stock client: pppd 2.4.9 + pptp-linux 1.10.0 in the qemu guest dial
 * `pptp-ts server`, which runs on the host side of the lab's tap (10.99.0.1) with a real raw GRE socket and TUN.
 *
 * Matrix: MS-CHAPv2 + MPPE-128 stateless (usepeerdns, pings of 56 and 1400 bytes both ways, a multi-megabyte
 * TCP transfer each way with sha256 compared, tshark decoding every packet we sent); MPPE-40; stateful MPPE;
 * MS-CHAPv1 + MPPE-128; CHAP-MD5 and PAP without MPPE; a wrong password (pppd exits 19); MPPE required against
 * a `nomppe` client (refused, and the log says why); two clients at once.
 *
 * Needs root and the lab (skips with the reason otherwise; LAB_REQUIRE=1 makes that a failure). Each case boots
 * the guest once: ~35–70 s under TCG.
 */
import { test, describe, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fields, guestStatus, labAvailable, parsePeer, peerCommand, resultsOf, runLab, tsharkVerdict, ROOT, type LabRun } from "./harness.js";
import { requireOrSkip } from "../support/prerequisites.js";

const avail = labAvailable();
const skip = avail.ok ? false : requireOrSkip("the interop lab (server interop)", avail.why ?? "?");
const T = { skip, timeout: 20 * 60_000 };

const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const USER = "alice";
const PASS = "Secret-Pass-1";

interface ServerCfg {
  auth: string;
  mppe: string;
  strengths?: string;
  stateless?: string;
}

/** Writes a config + chap-secrets into a fresh directory; returns the `pre` command that runs the server. */
function serverCommand(c: ServerCfg, extraPre = ""): string {
  const dir = mkdtempSync(join(tmpdir(), "pptpts-interop-"));
  writeFileSync(
    join(dir, "pptp-ts.conf"),
    [
      "[server]",
      "listen = 10.99.0.1",
      "tun-name = pptpts0",
      "max-sessions = 4",
      "[ppp]",
      "local-address = 192.168.50.1",
      "pool = 192.168.50.10-192.168.50.20",
      "dns = 10.99.0.53, 10.99.0.54",
      `auth = ${c.auth}`,
      "users = chap-secrets",
      "[mppe]",
      `policy = ${c.mppe}`,
      `strengths = ${c.strengths ?? "128, 56, 40"}`,
      `stateless = ${c.stateless ?? "prefer"}`,
      "[log]",
      "debug = events, errors, negotiation",
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, "chap-secrets"), `# client server secret addresses\n${USER} * "${PASS}" *\nbob * bobpw *\n`);
  const server = `node ${CLI} server -c ${join(dir, "pptp-ts.conf")} 2>&1 | sed -u 's/^/[srv] /'`;
  return extraPre ? `${server} & ${extraPre}; wait` : server;
}

function summary(r: LabRun): string {
  const tail = r.host.trimEnd().split("\n").slice(-15).join("\n    ");
  const srv = r.preLog.split("\n").filter((l) => l.includes("[srv]")).slice(-25).join("\n    ");
  return `exit=${r.exitCode} run=${r.runDir}\n  results:\n    ${r.results.join("\n    ")}\n  server log:\n    ${srv}\n  run.sh:\n    ${tail}`;
}

function srvLog(r: LabRun): string {
  return r.preLog
    .split("\n")
    .filter((l) => l.includes("[srv]"))
    .join("\n");
}

const CLIENT_V2 = "refuse-pap refuse-eap refuse-chap refuse-mschap";

describe("pptp-ts server ← stock pppd + pptp-linux client", { concurrency: false }, () => {
  before(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is not built: run npm run build`);
  });

  test("MS-CHAPv2 + MPPE-128 stateless: DNS, pings 56/1400 both ways, 4 MB each way intact, tshark decodes it all", T, async () => {
    const mb = 4;
    const r = await runLab({
      scenario: "client",
      pcap: true,
      keys: {
        user: USER,
        pass: PASS,
        pppopts: `${CLIENT_V2} require-mppe-128 usepeerdns`,
        pings: 3,
        pingsizes: "56,1400",
        xfer_mb: mb,
        xfer_dirs: "up,down",
        hold: 30,
        expect_auth: "MS-CHAPv2",
        expect_mppe: "128-bit",
        clientcmd: "cat /etc/ppp/resolv.conf; ip -o link show ppp0",
      },
      pre: serverCommand({ auth: "mschap-v2", mppe: "require" }, peerCommand("recv", "--port", "5001", "--host", "0.0.0.0", "--count", "1", "--timeout", "300")),
      with: `ping -c 3 -s 1400 -W 5 $(echo "$LAB_READY" | sed -n 's/.* local=\\([0-9.]*\\).*/\\1/p') && ping -c 3 -s 56 -W 5 $(echo "$LAB_READY" | sed -n 's/.* local=\\([0-9.]*\\).*/\\1/p') && ${peerCommand("send", "--to", "ready:local", "--port", "5001", "--mb", String(mb), "--timeout", "300")}`,
    });
    const s = summary(r);
    assert.equal(guestStatus(r.results), "PASS", s);
    assert.equal(r.ok, true, s);
    assert.deepEqual(resultsOf(r.results, "auth"), ["auth MS-CHAPv2 ok client=1"], s);
    assert.match(resultsOf(r.results, "mppe")[0] ?? "", /^mppe 128-bit stateless/, s);
    for (const size of ["56", "1400"]) {
      assert.ok(resultsOf(r.results, "ping").some((l) => l.startsWith("ping ok 3/3") && l.includes(`size=${size} `)), `guest ping ${size}: ${s}`);
    }
    // the host pinged the client's tunnel address (both sizes) through the tunnel
    assert.match(r.withLog, /3 packets transmitted, 3 received/, s);
    // usepeerdns: pppd wrote the servers we configured
    assert.match(r.console, /nameserver 10\.99\.0\.53/, s);
    assert.match(r.console, /nameserver 10\.99\.0\.54/, s);
    const mtu = /ppp0: .* mtu (\d+)/.exec(r.console);
    assert.ok(mtu, s);
    console.log(`client ppp0 MTU with MPPE-128: ${mtu[1]}`);
    // the TCP transfers: the guest's sha256 equals the host's, each way
    const peer = parsePeer(r.preLog + "\n" + r.withLog);
    const up = resultsOf(r.results, "xfer").find((l) => l.includes("dir=up"));
    const down = resultsOf(r.results, "xfer").find((l) => l.includes("dir=down"));
    assert.ok(up && down, s);
    const recv = peer.find((p) => p.op === "recv");
    const sent = peer.find((p) => p.op === "send");
    assert.ok(recv && sent, `${s}\npeer: ${JSON.stringify(peer)}`);
    assert.equal(fields(up).sha256, recv.sha256, s);
    assert.equal(Number(fields(up).bytes), mb * 1024 * 1024, s);
    assert.equal(fields(down).sha256, sent.sha256, s);
    console.log(`TCP through the tunnel: up ${fields(up).mbps} Mbit/s, down ${fields(down).mbps} Mbit/s (TCG guest)`);
    // our log tells the story in an operator's words
    const log = srvLog(r);
    assert.match(log, /SCCRQ received from 10\.99\.0\.2/, s);
    assert.match(log, /OCRQ from 10\.99\.0\.2: peer call id/, s);
    assert.match(log, /auth succeeded for user alice with MS-CHAPv2/, s);
    assert.match(log, /MPPE 128-bit stateless/, s);
    assert.match(log, /session up: address 192\.168\.50\.1\d/, s);
    assert.match(log, /session down/, s);
    // Wireshark's dissectors decode every packet we sent, with no malformed or warning-level expert info
    const pcap = join(r.runDir, "tap.pcap");
    assert.ok(existsSync(pcap), s);
    const ts = tsharkVerdict(pcap, "10.99.0.1");
    const total = ts.total;
    assert.ok(total > 1000, `only ${total} PPTP/GRE packets from us in the capture`);
    assert.ok(ts.count("pptp") >= 3, "control messages decoded as PPTP");
    assert.ok(ts.count("chap") >= 2, "CHAP decoded inside GRE/PPP");
    assert.equal(ts.bad, 0, `tshark flagged ${ts.bad} of ${total} packets we sent:\n${ts.detail}`);
    console.log(`tshark: ${total} PPTP/GRE packets from pptp-ts decoded, none malformed or with warnings`);
  });

  const quick = [
    { name: "MPPE-40 (client requires 40-bit)", cfg: { auth: "mschap-v2", mppe: "require" }, pppopts: `${CLIENT_V2} require-mppe-40`, auth: "MS-CHAPv2", mppe: /^mppe 40-bit/, log: /MPPE 40-bit/ },
    // pppd with mppe-stateful still tries stateless first: the server must refuse stateless (H bit) to get stateful.
    { name: "stateful MPPE-128 (mppe-stateful)", cfg: { auth: "mschap-v2", mppe: "require", stateless: "deny" }, pppopts: `${CLIENT_V2} require-mppe-128 mppe-stateful`, auth: "MS-CHAPv2", mppe: /^mppe 128-bit stateful/, log: /MPPE 128-bit stateful/ },
    { name: "MS-CHAPv1 + MPPE-128", cfg: { auth: "mschap-v1", mppe: "require" }, pppopts: "refuse-pap refuse-eap refuse-chap refuse-mschap-v2 require-mppe-128", auth: "MS-CHAPv1", mppe: /^mppe 128-bit/, log: /auth succeeded for user alice with MS-CHAPv1/ },
    { name: "CHAP-MD5 without MPPE", cfg: { auth: "chap-md5", mppe: "deny" }, pppopts: "refuse-pap refuse-eap refuse-mschap refuse-mschap-v2 nomppe", auth: "CHAP-MD5", mppe: /^mppe none/, log: /auth succeeded for user alice with CHAP-MD5/ },
    { name: "PAP without MPPE", cfg: { auth: "pap", mppe: "deny" }, pppopts: "refuse-chap refuse-eap refuse-mschap refuse-mschap-v2 nomppe", auth: "PAP", mppe: /^mppe none/, log: /auth succeeded for user alice with PAP/ },
  ];
  for (const q of quick) {
    test(q.name, T, async () => {
      const r = await runLab({
        scenario: "client",
        keys: { user: USER, pass: PASS, pppopts: q.pppopts, pings: 2, pingsizes: "56,1400", expect_auth: q.auth, expect_mppe: "" },
        pre: serverCommand(q.cfg),
      });
      const s = summary(r);
      assert.equal(guestStatus(r.results), "PASS", s);
      assert.match(resultsOf(r.results, "auth")[0] ?? "", new RegExp(`^auth ${q.auth} ok`), s);
      assert.match(resultsOf(r.results, "mppe")[0] ?? "", q.mppe, s);
      assert.equal(resultsOf(r.results, "ping").filter((l) => l.startsWith("ping ok 2/2")).length, 2, s);
      assert.match(srvLog(r), q.log, s);
    });
  }

  test("wrong password: pppd exits with its authentication-failed status (19) and we log why", T, async () => {
    const r = await runLab({
      scenario: "client",
      keys: { user: USER, pass: "not-the-password", pppopts: `${CLIENT_V2} require-mppe-128`, expect: "fail", uptimeout: 30, pings: 0 },
      pre: serverCommand({ auth: "mschap-v2", mppe: "require" }),
    });
    const s = summary(r);
    assert.equal(guestStatus(r.results), "PASS", s);
    assert.deepEqual(resultsOf(r.results, "pppd-failed"), ["pppd-failed exit=19 client=1"], s);
    assert.match(srvLog(r), /auth failed for user alice with MS-CHAPv2: error 691/, s);
    assert.match(srvLog(r), /client sees error 691/, s);
  });

  test("MPPE required, client says nomppe: refused, and the log explains it", T, async () => {
    const r = await runLab({
      scenario: "client",
      keys: { user: USER, pass: PASS, pppopts: `${CLIENT_V2} nomppe`, expect: "fail", uptimeout: 40, pings: 0 },
      pre: serverCommand({ auth: "mschap-v2", mppe: "require" }),
    });
    const s = summary(r);
    assert.equal(guestStatus(r.results), "PASS", s);
    assert.equal(resultsOf(r.results, "expected-failure").length, 1, s);
    assert.match(srvLog(r), /MPPE/, s);
    assert.match(srvLog(r), /client sees error 742/, s);
  });

  test("two clients at once get different addresses and both pass traffic", T, async () => {
    const r = await runLab({
      scenario: "client",
      keys: { user: USER, pass: PASS, clients: 2, pppopts: `${CLIENT_V2} require-mppe-128`, pings: 2, pingsizes: "56,1400" },
      pre: serverCommand({ auth: "mschap-v2", mppe: "require" }),
    });
    const s = summary(r);
    assert.equal(guestStatus(r.results), "PASS", s);
    assert.equal(resultsOf(r.results, "auth").filter((l) => l.startsWith("auth MS-CHAPv2 ok")).length, 2, s);
    assert.equal(resultsOf(r.results, "ping").filter((l) => l.startsWith("ping ok 2/2")).length, 4, s);
    const local = /local=([0-9.]+),([0-9.]+)/.exec(r.ready ?? "");
    assert.ok(local && local[1] !== local[2], `distinct tunnel addresses: ${r.ready}\n${s}`);
    assert.equal((srvLog(r).match(/session up:/g) ?? []).length, 2, s);
  });
});
