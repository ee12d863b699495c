/**
 * The operations commands (issue 10) against a running server holding a real session of Debian's stock client:
 * pppd 2.4.9 + pptp-linux 1.10.0 in the qemu guest dial `pptp-ts server` (local users file, MS-CHAPv2,
 * `[mppe] policy = require`, strengths 128) with `[server] control-socket` in this test's work directory and
 * `[metrics] listen = 127.0.0.1:9723` (the lab namespace's loopback, private to this run). One guest boot shows:
 *
 * 1. `show sessions --json`: exactly one session, user alice, the guest's tunnel address (from LAB-READY), MPPE
 *    128-bit, octets in and out > 0 (the guest's pings of 56 and 1400 bytes passed); the text table names the same.
 * 2. `show tunnels --json` / `show vpdn`: the guest's control connection from 10.99.0.2, established, one call,
 *    with the Host Name and Vendor String the stock pptp-linux put in its SCCRQ (RFC 2637 §2.1).
 * 3. Runtime debug per user: the server runs with `[log] debug = events, errors` (no negotiation for anyone), and
 *    `pre` switches `debug negotiation on user alice` over the control socket before the guest boots and dials. The
 *    guest's LCP/IPCP/CCP option decisions must then be in our log, every negotiation line tagged user=alice — the
 *    lines before authentication are held until the user is known, so none leak untagged.
 * 4. `/metrics`: two scrapes pass `promtool check metrics`; pptp_sessions{state="up"} is 1 and the traffic
 *    counters grow by at least the 3 echo requests/replies of a host → guest ping taken between the scrapes.
 * 5. `capture user alice -w FILE --count 4` while the host pings the guest's tunnel address: tshark reads the file
 *    as 2 echo requests from our tunnel address (192.168.50.1) to the guest's and 2 replies back, decrypted.
 * 6. `clear user alice`: "cleared 1 session: <the id of 1.>", the stock pppd's link ends in the guest by itself
 *    (a watcher in the guest prints LAB-WATCH end when ppp0 goes; pppd's exit status is not the guest's SIGTERM),
 *    our log says "administrative reset", and `show sessions` is then empty.
 *
 * The `with` script runs on the host side in the lab namespace once the guest's own pings are done (its watcher
 * has started); each command's output goes to a file in the work directory that the test reads afterwards.
 * Needs root, the lab, promtool and tshark (skips with the reason otherwise; LAB_REQUIRE=1 makes that a failure).
 * One guest boot: ~60-90 s under TCG.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { guestStatus, labAvailable, resultsOf, runLab, ROOT, type LabRun } from "./harness.js";
import { requireOrSkip } from "../support/prerequisites.js";

const PROMTOOL = "/usr/bin/promtool";
const TSHARK = "/usr/bin/tshark";
const avail = labAvailable();
const skip = !avail.ok
  ? requireOrSkip("the interop lab (operations interop)", avail.why ?? "?")
  : !existsSync(PROMTOOL)
    ? requireOrSkip("promtool (operations interop)", `${PROMTOOL} is missing (Debian package prometheus)`)
    : !existsSync(TSHARK)
      ? requireOrSkip("tshark (operations interop)", `${TSHARK} is missing (Debian package tshark)`)
      : false;

const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const USER = "alice";
const PASS = "Ops-Pass-3";
const SERVER_TUN = "192.168.50.1";
const METRICS = "127.0.0.1:9723";

/** The value of one sample line of a Prometheus exposition (`name{labels} value`), or undefined. */
function sample(text: string, series: string): number | undefined {
  for (const l of text.split("\n")) if (l.startsWith(series + " ")) return Number(l.slice(series.length + 1));
  return undefined;
}

describe("operations commands against a stock pppd + pptp-linux session", { concurrency: false }, () => {
  let work = "";
  before(() => {
    if (skip !== false) return;
    if (!existsSync(CLI)) throw new Error(`${CLI} is not built: run npm run build`);
    work = mkdtempSync(join(tmpdir(), "pptpts-ops-lab-"));
  });
  after(() => {
    if (work !== "" && process.env.KEEP_OPS_DIR !== "1") rmSync(work, { recursive: true, force: true });
  });

  test("show sessions/tunnels/vpdn, per-user debug, /metrics, capture and clear user on a real session", { skip, timeout: 10 * 60_000 }, async () => {
    const conf = join(work, "pptp-ts.conf");
    const sock = join(work, "ctl.sock");
    writeFileSync(
      conf,
      [
        "[server]",
        "listen = 10.99.0.1",
        "tun-name = pptpts0",
        `control-socket = ${sock}`,
        "[ppp]",
        `local-address = ${SERVER_TUN}`,
        "pool = 192.168.50.10-192.168.50.20",
        "auth = mschap-v2",
        "users = chap-secrets",
        "[mppe]",
        "policy = require",
        "strengths = 128",
        "[metrics]",
        `listen = ${METRICS}`,
        "[log]",
        "debug = events, errors",
        "",
      ].join("\n"),
    );
    writeFileSync(join(work, "chap-secrets"), `${USER} * "${PASS}" *\n`, { mode: 0o600 });
    const cli = `node ${CLI}`;
    const W = work;
    // The server, then (once its socket exists, long before the guest has booted) the per-user debug switch.
    const pre = [
      `${cli} server -c ${conf} 2>&1 | sed -u 's/^/[srv] /' &`,
      `for i in $(seq 200); do [ -S ${sock} ] && break; sleep 0.1; done`,
      `${cli} debug negotiation on user ${USER} -c ${conf} > ${W}/debug-set.out 2>&1; echo "debug-set-exit=$?" >> ${W}/debug-set.out`,
      `${cli} debug -c ${conf} > ${W}/debug-list.out 2>&1`,
      `echo "[pre] debug switched before the guest dialled"`,
      "wait",
    ].join("\n");

    const scrape = (name: string) =>
      `node -e 'fetch("http://${METRICS}/metrics").then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(String(e)); process.exit(1); })' > ${W}/${name}.prom; ` +
      `${PROMTOOL} check metrics < ${W}/${name}.prom > ${W}/${name}.promtool 2>&1; echo "promtool-${name}-exit=$?"`;
    const script = join(work, "with.sh");
    writeFileSync(
      script,
      [
        "#!/bin/bash",
        "set -u",
        'CON="$LAB_RUN_DIR/console.log"',
        'LOCAL=$(echo "$LAB_READY" | sed -n \'s/.* local=\\([0-9.]*\\).*/\\1/p\')',
        'echo "guest-address=$LOCAL"',
        // the subcommand first, then the config file that names the control socket
        `C() { ${cli} "$@" -c ${conf}; }`,
        // the guest's own pings are done and its watcher runs
        'for i in $(seq 1200); do grep -aq "^LAB-WATCH start" "$CON" && break; sleep 0.1; done',
        'grep -aq "^LAB-WATCH start" "$CON" && echo "watch-started" || { echo "watcher never started"; exit 1; }',
        // 1. sessions
        `C show sessions --json > ${W}/sessions.json 2>&1; echo "show-sessions-json-exit=$?"`,
        `C show sessions > ${W}/sessions.txt 2>&1; echo "show-sessions-exit=$?"; cat ${W}/sessions.txt`,
        // 2. tunnels
        `C show tunnels --json > ${W}/tunnels.json 2>&1; echo "show-tunnels-json-exit=$?"`,
        `C show tunnels > ${W}/tunnels.txt 2>&1; echo "show-tunnels-exit=$?"; cat ${W}/tunnels.txt`,
        `C show vpdn > ${W}/vpdn.txt 2>&1; echo "show-vpdn-exit=$?"; cat ${W}/vpdn.txt`,
        // 4. two scrapes around a host → guest ping
        scrape("scrape1"),
        'ping -c 3 -i 0.3 -W 5 "$LOCAL" > /dev/null; echo "metrics-ping-exit=$?"',
        "sleep 0.5",
        scrape("scrape2"),
        // 5. capture (ready once it says "capturing"), then the ping it records
        `C capture user ${USER} -w ${W}/alice.pcap --count 4 --seconds 30 > ${W}/capture.out 2>&1 &`,
        "CAP=$!",
        `for i in $(seq 100); do grep -q capturing ${W}/capture.out && break; sleep 0.1; done`,
        'ping -c 4 -i 0.5 -W 5 "$LOCAL" > /dev/null; echo "capture-ping-exit=$?"',
        'wait $CAP; echo "capture-exit=$?"',
        `cat ${W}/capture.out`,
        `${TSHARK} -r ${W}/alice.pcap -T fields -e ip.src -e ip.dst -e icmp.type > ${W}/tshark.txt 2> ${W}/tshark.err; echo "tshark-exit=$?"; cat ${W}/tshark.txt`,
        // 6. clear: the guest's link ends, then nothing is listed
        `C clear user ${USER} > ${W}/clear.out 2>&1; echo "clear-exit=$?"; cat ${W}/clear.out`,
        'for i in $(seq 300); do grep -aq "^LAB-WATCH end" "$CON" && break; sleep 0.1; done',
        'grep -aq "^LAB-WATCH end" "$CON" && echo "guest-link-ended" || echo "guest link still up"',
        `C show sessions --json > ${W}/sessions-after.json 2>&1; echo "show-after-exit=$?"`,
        "exit 0",
      ].join("\n"),
    );
    chmodSync(script, 0o755);

    const r: LabRun = await runLab({
      scenario: "client",
      netns: process.env.LAB_NETNS,
      keys: {
        user: USER,
        pass: PASS,
        server: "10.99.0.1",
        pppopts: "refuse-pap refuse-eap refuse-chap refuse-mschap require-mppe-128",
        expect_auth: "MS-CHAPv2",
        expect_mppe: "128-bit",
        pings: 3,
        pingsizes: "56,1400",
        uptimeout: 40,
        hold: 150,
        // blocks until ppp0 is gone, so the guest holds the link until `clear` ends it (or the hold runs out)
        clientcmd:
          `echo "LAB-WATCH start" > /dev/console; ` +
          `for i in $(seq 3000); do [ -d /sys/class/net/$LAB_IFACE ] || break; sleep 0.05; done; ` +
          // ppp0 goes at LCP down; pppd itself exits once pptp has the Call-Disconnect-Notify (our server sends it
          // 250 ms after the Terminate-Ack). Give it that time, or the guest's SIGTERM right after this command
          // races it and makes the exit status 5 whoever ended the link.
          `for i in $(seq 100); do grep -qsx pppd /proc/[0-9]*/comm || break; sleep 0.1; done; ` +
          `echo "LAB-WATCH end" > /dev/console`,
      },
      pre,
      with: `bash ${script}`,
    });
    const out = (name: string): string => (existsSync(join(work, name)) ? readFileSync(join(work, name), "utf8") : "");
    const srv = r.preLog
      .split("\n")
      .filter((l) => l.startsWith("[srv] "))
      .join("\n");
    const s =
      `exit=${r.exitCode} run=${r.runDir}\n  results:\n    ${r.results.join("\n    ")}\n  with:\n    ${r.withLog.split("\n").join("\n    ")}` +
      `\n  pre log (tail):\n    ${r.preLog.split("\n").slice(-40).join("\n    ")}`;

    // The stock client came up with MS-CHAPv2 + MPPE-128 and its pings passed.
    assert.equal(guestStatus(r.results), "PASS", s);
    assert.equal(r.ok, true, s);
    assert.deepEqual(resultsOf(r.results, "auth"), ["auth MS-CHAPv2 ok client=1"], s);
    assert.ok(resultsOf(r.results, "mppe").some((l) => l.includes("128-bit")), s);
    assert.equal(resultsOf(r.results, "ping").filter((l) => l.startsWith("ping ok 3/3")).length, 2, s);
    const guest = /guest-address=(\d+\.\d+\.\d+\.\d+)/.exec(r.withLog)?.[1];
    assert.ok(guest !== undefined && guest.startsWith("192.168.50."), s);

    // 1. show sessions
    assert.match(r.withLog, /show-sessions-json-exit=0/, s);
    const sessions = JSON.parse(out("sessions.json")) as Array<Record<string, unknown>>;
    assert.equal(sessions.length, 1, `${out("sessions.json")}\n${s}`);
    const sess = sessions[0];
    assert.equal(sess.user, USER, s);
    assert.equal(sess.framedAddress, guest, s);
    assert.equal(sess.peerAddress, "10.99.0.2", s);
    assert.match(String(sess.mppe), /^128-bit/, s);
    assert.ok(Number(sess.inOctets) > 0 && Number(sess.outOctets) > 0 && Number(sess.inPackets) >= 6 && Number(sess.outPackets) >= 6, `${JSON.stringify(sess)}\n${s}`);
    const sid = String(sess.sessionId);
    const table = out("sessions.txt");
    console.log(`show sessions with the stock client:\n${table}`);
    assert.match(r.withLog, /show-sessions-exit=0/, s);
    const row = table.split("\n").find((l) => l.startsWith(sid));
    assert.ok(row !== undefined, s);
    assert.match(row, new RegExp(`\\s${USER}\\s+10\\.99\\.0\\.2\\s+${guest.replace(/\./g, "\\.")}\\s+MS-CHAPv2\\s+128-bit`), s);
    assert.match(table, /^1 session$/m, s);

    // 2. show tunnels / vpdn: the stock client's control connection, its SCCRQ's Host Name and Vendor
    assert.match(r.withLog, /show-tunnels-json-exit=0/, s);
    const tunnels = JSON.parse(out("tunnels.json")) as Array<Record<string, unknown>>;
    assert.equal(tunnels.length, 1, `${out("tunnels.json")}\n${s}`);
    const tun = tunnels[0];
    assert.equal(tun.role, "server", s);
    assert.match(String(tun.remote), /^10\.99\.0\.2:\d+$/, s);
    assert.equal(tun.state, "established", s);
    assert.equal(tun.calls, 1, s);
    assert.deepEqual(tun.callIds, [sess.callId], s);
    const host = String(tun.hostName ?? "");
    const vendor = String(tun.vendor ?? "");
    // pptp-linux 1.10.0 sends Host Name "local" and Vendor "cananian" (its PPTP_HOSTNAME / PPTP_VENDOR)
    assert.deepEqual([host, vendor], ["local", "cananian"], `Host Name / Vendor from pptp-linux's SCCRQ: ${JSON.stringify(tun)}\n${s}`);
    console.log(`show tunnels:\n${out("tunnels.txt")}\nshow vpdn:\n${out("vpdn.txt")}`);
    assert.match(out("tunnels.txt"), new RegExp(`10\\.99\\.0\\.2:\\d+\\s.*established\\s+${host}\\s+${vendor}\\s+1\\s+${String(sess.callId)}\\s`), s);
    const vpdn = out("vpdn.txt");
    assert.match(vpdn, /total tunnels 1, sessions 1/, s);
    assert.match(vpdn, new RegExp(`^${String(sess.callId)}\\s+\\d+\\s+\\d+\\s+\\S+\\s+${USER}\\s+up\\s+\\S+\\s+${guest.replace(/\./g, "\\.")}\\s`, "m"), s);

    // 3. debug negotiation for alice, switched on before she dialled; nobody has it globally
    assert.match(out("debug-set.out"), /debug-set-exit=0/, `${out("debug-set.out")}\n${s}`);
    assert.match(out("debug-list.out"), new RegExp(`negotiation on for user ${USER}`), `${out("debug-list.out")}\n${s}`);
    assert.ok(r.preLog.indexOf("[pre] debug switched") < r.preLog.indexOf("SCCRQ received"), `the switch came after the guest dialled\n${s}`);
    const neg = srv.split("\n").filter((l) => l.includes("[negotiation]"));
    for (const proto of ["LCP", "IPCP", "CCP"]) assert.ok(neg.some((l) => l.includes(`: ${proto}:`)), `no ${proto} negotiation lines for ${USER}\n${neg.join("\n")}\n${s}`);
    assert.deepEqual(neg.filter((l) => !l.includes(` user=${USER} `)), [], `negotiation lines not tagged user=${USER}\n${s}`);
    console.log(`${neg.length} negotiation lines for ${USER}, e.g.\n  ${neg.filter((l) => l.includes("IPCP")).slice(0, 2).join("\n  ")}`);

    // 4. /metrics: valid for promtool, counters moved with the ping between the scrapes
    assert.match(r.withLog, /promtool-scrape1-exit=0/, `${out("scrape1.promtool")}\n${s}`);
    assert.match(r.withLog, /promtool-scrape2-exit=0/, `${out("scrape2.promtool")}\n${s}`);
    assert.match(r.withLog, /metrics-ping-exit=0/, s);
    const m1 = out("scrape1.prom");
    const m2 = out("scrape2.prom");
    assert.equal(sample(m2, 'pptp_sessions{state="up"}'), 1, m2);
    for (const [series, least] of [
      ['pptp_traffic_packets_total{direction="in"}', 3],
      ['pptp_traffic_packets_total{direction="out"}', 3],
      ['pptp_traffic_bytes_total{direction="in"}', 3 * 84],
      ['pptp_traffic_bytes_total{direction="out"}', 3 * 84],
    ] as const) {
      const a = sample(m1, series);
      const b = sample(m2, series);
      assert.ok(a !== undefined && b !== undefined && b - a >= least, `${series}: ${a} → ${b}, expected +${least} or more\n${s}`);
      console.log(`${series}: ${a} → ${b}`);
    }

    // 5. capture: the host's ping, decrypted, as tshark reads it
    assert.match(r.withLog, /capture-ping-exit=0/, s);
    assert.match(r.withLog, /capture-exit=0/, `${out("capture.out")}\n${s}`);
    assert.match(out("capture.out"), new RegExp(`capturing session ${sid} \\(user ${USER}, ${guest.replace(/\./g, "\\.")}\\)`), s);
    assert.match(out("capture.out"), /: 4 packets, \d+ bytes written; 0 dropped/, s);
    assert.match(r.withLog, /tshark-exit=0/, s);
    const pkts = out("tshark.txt").trim().split("\n");
    assert.deepEqual(pkts, [`${SERVER_TUN}\t${guest}\t8`, `${guest}\t${SERVER_TUN}\t0`, `${SERVER_TUN}\t${guest}\t8`, `${guest}\t${SERVER_TUN}\t0`], `${out("tshark.txt")}\n${s}`);
    console.log(`capture of alice read by tshark:\n  ${pkts.join("\n  ")}`);

    // 6. clear user: exactly her session, the stock pppd's link ends by itself, our log says why
    assert.match(r.withLog, /clear-exit=0/, s);
    assert.equal(out("clear.out").trim(), `cleared 1 session: ${sid}`, s);
    assert.match(r.withLog, /guest-link-ended/, s);
    assert.match(r.console, /^LAB-WATCH end/m, s);
    assert.match(srv, /administrative reset/, s);
    assert.deepEqual(JSON.parse(out("sessions-after.json")), [], `${out("sessions-after.json")}\n${s}`);
    const hang = resultsOf(r.results, "hangup");
    assert.equal(hang.length, 1, s);
    // pppd had exited before the guest's hold ended: its status is not 5 (EXIT_USER_REQUEST, the guest's SIGTERM)
    assert.match(hang[0], /^hangup ok pppd-exit=(\d+)/, s);
    assert.notEqual(/pppd-exit=(\d+)/.exec(hang[0])?.[1], "5", `pppd was ended by the guest, not by clear\n${s}`);
  });
});
