/**
 * RADIUS end to end with Debian's stock client: pppd 2.4.9 + pptp-linux 1.10.0 in the qemu guest dial
 * `pptp-ts server` configured with `[aaa] auth = radius`, `[mppe] policy = require`, `[accounting] enable = yes`
 * and `[das] enable = yes`, against a real FreeRADIUS 3.2 (Debian's) that this test configures. One guest boot
 * proves three things:
 *
 * 1. Authentication and keys from RADIUS: FreeRADIUS checks the MS-CHAPv2 response (our server holds no password)
 *    and sends MS-MPPE-Send-Key / MS-MPPE-Recv-Key (RFC 2548 §2.4.2-3); the client's MPPE-128 must come up and
 *    pings of 56 and 1400 bytes must pass through it. pppd derives its MPPE keys itself from the password, so
 *    traffic passing in both directions proves that the keys RADIUS sent are the ones our server encrypts with.
 * 2. Accounting: FreeRADIUS's detail file holds a Start and a Stop with the same Acct-Session-Id, and the Stop's
 *    Acct-Input-Octets/-Packets (from the client, RFC 2866 §5.3/5.8) and Acct-Output-Octets/-Packets equal what the
 *    guest's ppp0 counted: its tx (what it sent) and rx. See "Counters" below for the one subtraction.
 * 3. Disconnect (RFC 5176): radclient first sends a Disconnect-Request from 10.99.0.9, an address of the lab host
 *    that is NOT in `[das] clients` (radclient's Packet-Src-IP-Address binds its socket to it): no reply, the
 *    session goes on (a host ping through the tunnel still passes, ppp0 stays). Then a Disconnect-Request naming the
 *    Acct-Session-Id of the Start record, from 10.99.0.1 (the only allowed client): Disconnect-ACK, the stock
 *    pppd's link ends while the guest is still holding it (pppd exits on its own, not by the guest's SIGTERM), our
 *    log says admin-reset, and the Stop record carries Acct-Terminate-Cause = Admin-Reset.
 *
 * Where FreeRADIUS runs: inside the lab's network namespace, started by the `pre` command just before our server,
 * listening on that namespace's loopback (127.0.0.1:1812/1813, fixed ports are safe: the namespace is private to
 * this run). The namespace only exists while run.sh runs (run.sh creates it and refuses one it did not create),
 * so the test cannot start FreeRADIUS there beforehand with startFreeRadius(); it writes the configuration with
 * prepareFreeRadius() instead and `pre` runs `freeradius -f` in the namespace, waits for "Ready to process
 * requests", then execs `pptp-ts server`; both are in `pre`'s process group, which run.sh stops at the end.
 * radclient runs in `with`, also in the namespace, and sends to 10.99.0.1:3799.
 *
 * Counters: ppp_generic counts every frame that passes the ppp unit, NCP frames included (only LCP goes through the
 * channel, uncounted), while RADIUS accounting counts IP datagrams only. So the guest reads ppp0's counters once
 * when ip-up has run (`upcmd`, before any data: the IPCP/CCP negotiation is in that base), then every 50 ms until
 * ppp0 disappears (`clientcmd`, which blocks until the Disconnect ends the link; it prints each change). `with`
 * waits until no new reading appears for 1.5 s after its ping and notes which reading is the last before it sends
 * the Disconnect-Request. Stop's octets and packets must equal that reading minus the base, exactly, both ways.
 * The end of the link adds frames ppp0 counts and accounting rightly does not: our IPCP and CCP Terminate-Requests
 * (RFC 1661 §5.5; 4 octets + the reason "Disconnect-Request from 10.99.0.1" = 37 each, seen as +2 rx frames /
 * 74 octets) and possibly pppd's Terminate-Acks; the test bounds that goodbye to two small frames each way.
 *
 * Needs root, the lab, FreeRADIUS and radclient (skips with the reason otherwise; LAB_REQUIRE=1 makes that a
 * failure). One guest boot: ~60-90 s under TCG.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { guestStatus, labAvailable, resultsOf, runLab, shellQuote, ROOT, type LabRun } from "./harness.js";
import { requireOrSkip } from "../support/prerequisites.js";
import { freeradiusMissing, prepareFreeRadius, type PreparedFreeRadius } from "../support/freeradius.js";

const RADCLIENT = "/usr/bin/radclient";
const avail = labAvailable();
const frMissing = freeradiusMissing();
const skip = !avail.ok
  ? requireOrSkip("the interop lab (RADIUS interop)", avail.why ?? "?")
  : frMissing !== undefined
    ? requireOrSkip("FreeRADIUS (RADIUS interop)", frMissing)
    : !existsSync(RADCLIENT)
      ? requireOrSkip("radclient (RADIUS interop)", `${RADCLIENT} is missing (Debian package freeradius-utils)`)
      : false;

const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const USER = "alice";
const PASS = "Radius-Pass-7";
const RADIUS_SECRET = "radius-secret-lab";
const DAS_SECRET = "das-secret-lab";
const HOST = "10.99.0.1"; // the lab host's address: the only [das] client
const STRANGER = "10.99.0.9"; // a second host address, not in [das] clients

/** One record of a FreeRADIUS detail file: its attributes, values unquoted. */
type DetailRecord = Record<string, string>;

function parseDetail(text: string): DetailRecord[] {
  const out: DetailRecord[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const rec: DetailRecord = {};
    for (const line of block.split("\n")) {
      const m = /^\s+([A-Za-z0-9-]+) = (.*)$/.exec(line);
      if (m !== null) rec[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
    }
    if (Object.keys(rec).length > 0) out.push(rec);
  }
  return out;
}

function detailText(fr: PreparedFreeRadius): string {
  const dir = join(fr.radacctDir, "127.0.0.1");
  if (!existsSync(dir)) return "";
  return readdirSync(dir)
    .filter((f) => f.startsWith("detail-"))
    .sort()
    .map((f) => readFileSync(join(dir, f), "utf8"))
    .join("\n");
}

/** "tx_bytes tx_packets rx_bytes rx_packets" of a LAB-PPP0 line. */
function counters(line: string | undefined): { txB: number; txP: number; rxB: number; rxP: number } | undefined {
  const m = line === undefined ? null : /(\d+) (\d+) (\d+) (\d+)\s*$/.exec(line);
  return m === null ? undefined : { txB: Number(m[1]), txP: Number(m[2]), rxB: Number(m[3]), rxP: Number(m[4]) };
}

describe("pptp-ts server with RADIUS (FreeRADIUS 3.2) ↔ stock pppd + pptp-linux", { concurrency: false }, () => {
  let work = "";
  let fr: PreparedFreeRadius | undefined;
  before(() => {
    if (skip !== false) return;
    if (!existsSync(CLI)) throw new Error(`${CLI} is not built: run npm run build`);
    work = mkdtempSync(join(tmpdir(), "pptpts-radius-lab-"));
  });
  after(() => {
    if (process.env.KEEP_FREERADIUS_DIR === "1") return;
    if (fr !== undefined) rmSync(fr.dir, { recursive: true, force: true });
    if (work !== "") rmSync(work, { recursive: true, force: true });
  });

  test("MS-CHAPv2 + MPPE-128 keyed by RADIUS, accounting Start/Stop = ppp0 counters, Disconnect only from [das] clients", { skip, timeout: 10 * 60_000 }, async () => {
    fr = prepareFreeRadius({ secret: RADIUS_SECRET, authPort: 1812, address: "127.0.0.1", users: [{ name: USER, password: PASS }] });
    const detailGlob = `${join(fr.radacctDir, "127.0.0.1")}/detail-*`;
    const conf = join(work, "pptp-ts.conf");
    writeFileSync(
      conf,
      [
        "[server]",
        "listen = 10.99.0.1",
        "tun-name = pptpts0",
        "[ppp]",
        "local-address = 192.168.50.1",
        "pool = 192.168.50.10-192.168.50.20",
        "auth = mschap-v2",
        "[mppe]",
        "policy = require",
        "strengths = 128",
        "[aaa]",
        "auth = radius",
        "[radius]",
        `servers = 127.0.0.1:${fr.authPort}`,
        `secret = "${RADIUS_SECRET}"`,
        "timeout = 2",
        "[accounting]",
        "enable = yes",
        `servers = 127.0.0.1:${fr.acctPort}`,
        `spool = ${join(work, "spool", "accounting.spool")}`,
        "[das]",
        "enable = yes",
        "listen = 0.0.0.0",
        "port = 3799",
        `clients = ${HOST}`,
        `secret = "${DAS_SECRET}"`,
        "[log]",
        "debug = events, errors",
        "",
      ].join("\n"),
    );
    const frLog = join(work, "freeradius.log");
    const pre = [
      `(${fr.argv.map(shellQuote).join(" ")} > ${frLog} 2>&1 &)`,
      `for i in $(seq 200); do grep -q 'Ready to process requests' ${frLog} && break; sleep 0.1; done`,
      `sed 's/^/[radius] /' ${frLog}`,
      `node ${CLI} server -c ${conf} 2>&1 | sed -u 's/^/[srv] /'`,
    ].join("; ");

    // The `with` script: the checks of 3., in order, and waiting for the records 2. needs.
    const rc = (what: string, attrs: string, target: string) =>
      `printf '%s\\n' ${attrs} | ${RADCLIENT} -d ${fr!.dir} -x -r 1 -t 4 ${target}:3799 disconnect ${DAS_SECRET} > ${work}/${what}.out 2>&1; echo "${what}-exit=$?"; sed 's/^/[${what}] /' ${work}/${what}.out`;
    const script = join(work, "with.sh");
    writeFileSync(
      script,
      [
        "#!/bin/bash",
        "set -u",
        'CON="$LAB_RUN_DIR/console.log"',
        'LOCAL=$(echo "$LAB_READY" | sed -n \'s/.* local=\\([0-9.]*\\).*/\\1/p\')',
        // the guest's pings are done and its watcher runs: the counters it prints from now on include what follows
        'for i in $(seq 1200); do grep -aq "^LAB-WATCH start" "$CON" && break; sleep 0.1; done',
        'grep -aq "^LAB-WATCH start" "$CON" && echo "watch-started" || { echo "watcher never started"; exit 1; }',
        `ip addr add ${STRANGER}/24 dev "$LAB_TAP"`,
        rc("stranger", `'User-Name = "${USER}"' 'Packet-Src-IP-Address = ${STRANGER}'`, HOST),
        "ping -c 3 -W 5 -w 30 $LOCAL; echo \"host-ping-exit=$?\"",
        // after the ping's 2 s the guest's watcher would have seen ppp0 go had the request ended the session
        'grep -aq "^LAB-WATCH end" "$CON" && echo "stranger-ended-session" || echo "after-stranger: ppp0 still up"',
        `SID=$(sed -n 's/^\\s*Acct-Session-Id = "\\(.*\\)"$/\\1/p' ${detailGlob} 2>/dev/null | head -1)`,
        'echo "start-session-id=$SID"',
        // let the watcher print the state after the host's ping (no new line for 1.5 s), and say which line that is
        'prev=-1; for i in $(seq 40); do n=$(grep -ac "^LAB-PPP0 now" "$CON"); [ "$n" = "$prev" ] && break; prev=$n; sleep 1.5; done',
        'echo "ppp0-lines-before-disconnect=$n"',
        rc("allowed", `"Acct-Session-Id = \\"$SID\\""`, HOST),
        // the link ends in the guest, and the Stop reaches FreeRADIUS, before run.sh stops `pre`
        'for i in $(seq 300); do grep -aq "^LAB-WATCH end" "$CON" && break; sleep 0.1; done',
        'grep -aq "^LAB-WATCH end" "$CON" && echo "guest-link-ended" || echo "guest link still up"',
        `for i in $(seq 300); do grep -q 'Acct-Status-Type = Stop' ${detailGlob} 2>/dev/null && break; sleep 0.1; done`,
        `grep -q 'Acct-Status-Type = Stop' ${detailGlob} 2>/dev/null && echo "stop-recorded" || echo "no Stop record"`,
        "exit 0",
      ].join("\n"),
    );
    chmodSync(script, 0o755);

    const stats = "/sys/class/net/$LAB_IFACE/statistics";
    const read = `$(cat ${stats}/tx_bytes ${stats}/tx_packets ${stats}/rx_bytes ${stats}/rx_packets 2>/dev/null | tr '\\n' ' ')`;
    const r: LabRun = await runLab({
      scenario: "client",
      netns: process.env.LAB_NETNS,
      keys: {
        user: USER,
        pass: PASS,
        server: HOST,
        pppopts: "refuse-pap refuse-eap refuse-chap refuse-mschap require-mppe-128",
        expect_auth: "MS-CHAPv2",
        expect_mppe: "128-bit",
        pings: 3,
        pingsizes: "56,1400",
        uptimeout: 40,
        hold: 150,
        // straight to the console: the guest pipes these commands' stdout through sed
        upcmd: `echo "LAB-PPP0 base ${read}" > /dev/console`,
        clientcmd:
          `echo "LAB-WATCH start" > /dev/console; last=""; ` +
          `for i in $(seq 3000); do [ -d ${stats} ] || break; c="${read}"; ` +
          `[[ "$c" =~ ^[0-9]+\\ [0-9]+\\ [0-9]+\\ [0-9]+\\ $ ]] && [ "$c" != "$last" ] && { last=$c; echo "LAB-PPP0 now $c" > /dev/console; }; sleep 0.05; done; ` +
          // pppd exits on its own only after pptp has the Call-Disconnect-Notify (250 ms after the Terminate-Ack):
          // wait for that, or the guest's SIGTERM right after this command races it (exit status 5 either way).
          `for i in $(seq 100); do grep -qsx pppd /proc/[0-9]*/comm || break; sleep 0.1; done; ` +

          `echo "LAB-WATCH end last=$last" > /dev/console`,
      },
      pre,
      with: `bash ${script}`,
    });
    const detail = detailText(fr);
    const s =
      `exit=${r.exitCode} run=${r.runDir}\n  results:\n    ${r.results.join("\n    ")}\n  with:\n    ${r.withLog.split("\n").join("\n    ")}` +
      `\n  pre log (tail):\n    ${r.preLog.split("\n").slice(-40).join("\n    ")}\n  detail:\n${detail}`;

    // 1. RADIUS authenticated, keyed MPPE-128, traffic passed.
    assert.equal(guestStatus(r.results), "PASS", s);
    assert.equal(r.ok, true, s);
    assert.deepEqual(resultsOf(r.results, "auth"), ["auth MS-CHAPv2 ok client=1"], s);
    assert.ok(resultsOf(r.results, "mppe").some((l) => l.includes("128-bit")), s);
    assert.equal(resultsOf(r.results, "ping").filter((l) => l.startsWith("ping ok 3/3")).length, 2, s);
    assert.match(r.preLog, /\[srv\] .*authentication: RADIUS 127\.0\.0\.1:1812/, s);
    assert.match(r.preLog, /\[srv\] .*accounting: RADIUS, spooled in/, s);

    // 3a. The request from outside [das] clients: no reply, logged, session untouched (host ping passes after it).
    assert.match(r.withLog, /stranger-exit=1/, s);
    assert.match(r.withLog, /No reply from server/, s);
    assert.doesNotMatch(r.withLog, /\[stranger\] .*Received Disconnect/, s);
    assert.match(r.preLog, new RegExp(`DAS: ignored a request from ${STRANGER.replace(/\./g, "\\.")}, which is not in \\[das\\] clients`), s);
    assert.match(r.withLog, /after-stranger: ppp0 still up/, s);
    assert.match(r.withLog, /host-ping-exit=0/, s);
    // 3b. The allowed one: ACK, the stock client's link ends by itself, our log says admin reset.
    assert.match(r.withLog, /allowed-exit=0/, s);
    assert.match(r.withLog, /\[allowed\] .*Received Disconnect-ACK/, s);
    assert.match(r.withLog, /guest-link-ended/, s);
    assert.match(r.preLog, /DAS: Disconnect-Request from 10\.99\.0\.1: disconnected .* → Disconnect-ACK/, s);
    assert.match(r.preLog, /disconnect \(admin-reset\)/, s);
    const hang = resultsOf(r.results, "hangup");
    assert.equal(hang.length, 1, s);
    // pppd had already exited when the guest's hold ended: its status is not 5 (EXIT_USER_REQUEST, the SIGTERM)
    assert.match(hang[0], /^hangup ok pppd-exit=(\d+)/, s);
    assert.notEqual(/pppd-exit=(\d+)/.exec(hang[0])?.[1], "5", `pppd was ended by the guest, not by the Disconnect\n${s}`);

    // 2. Accounting: Start and Stop of one session, octets and packets = ppp0's counters.
    assert.match(r.withLog, /stop-recorded/, s);
    const recs = parseDetail(detail).filter((x) => x["User-Name"] === USER);
    const starts = recs.filter((x) => x["Acct-Status-Type"] === "Start");
    const stops = recs.filter((x) => x["Acct-Status-Type"] === "Stop");
    assert.equal(starts.length, 1, s);
    assert.equal(stops.length, 1, s);
    const sid = starts[0]["Acct-Session-Id"];
    assert.ok(sid !== undefined && sid !== "", s);
    assert.equal(stops[0]["Acct-Session-Id"], sid, s);
    assert.match(r.withLog, new RegExp(`start-session-id=${sid.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`), s);
    assert.equal(stops[0]["Acct-Terminate-Cause"], "Admin-Reset", s);
    const con = r.console.split("\n");
    const base = counters(con.find((l) => l.startsWith("LAB-PPP0 base ")));
    const nows = con.filter((l) => l.startsWith("LAB-PPP0 now "));
    const nBefore = Number(/ppp0-lines-before-disconnect=(\d+)/.exec(r.withLog)?.[1] ?? "0");
    const last = counters(nows[nBefore - 1]); // right before the Disconnect-Request
    const end = counters(nows.at(-1)); // when ppp0 went away
    assert.ok(base !== undefined && last !== undefined && end !== undefined, `no ppp0 counters from the guest\n${s}`);
    const acct = {
      inO: Number(stops[0]["Acct-Input-Octets"]),
      inP: Number(stops[0]["Acct-Input-Packets"]),
      outO: Number(stops[0]["Acct-Output-Octets"]),
      outP: Number(stops[0]["Acct-Output-Packets"]),
    };
    const ppp0 = { inO: last.txB - base.txB, inP: last.txP - base.txP, outO: last.rxB - base.rxB, outP: last.rxP - base.rxP };
    console.log(
      `accounting Stop ${sid}: in ${acct.inO} B / ${acct.inP} pkts, out ${acct.outO} B / ${acct.outP} pkts; ` +
        `guest ppp0 since ip-up: tx ${ppp0.inO} B / ${ppp0.inP} pkts, rx ${ppp0.outO} B / ${ppp0.outP} pkts ` +
        `(raw at ip-up: tx ${base.txB}/${base.txP}, rx ${base.rxB}/${base.rxP}; before the Disconnect: tx ${last.txB}/${last.txP}, rx ${last.rxB}/${last.rxP}; ` +
        `at the end: tx ${end.txB}/${end.txP}, rx ${end.rxB}/${end.rxP})`,
    );
    // Between the Disconnect-Request and ppp0's end only the goodbye passed: our IPCP and CCP Terminate-Requests
    // (4 octets + the reason text each; LCP's goes through the channel, uncounted) and at most pppd's two
    // Terminate-Acks — control frames, not IP datagrams, so not in the accounting.
    const byeRx = { B: end.rxB - last.rxB, P: end.rxP - last.rxP };
    const byeTx = { B: end.txB - last.txB, P: end.txP - last.txP };
    assert.ok(byeRx.P <= 2 && byeTx.P <= 2 && byeRx.B <= byeRx.P * 64 && byeTx.B <= byeTx.P * 64, `more than the NCP goodbye after the Disconnect: rx ${JSON.stringify(byeRx)} tx ${JSON.stringify(byeTx)}\n${s}`);
    // the client sent at least its 3 + 3 echo requests (84 and 1428 octets as IP datagrams) and 3 echo replies
    assert.ok(acct.inO >= 3 * 1428 + 6 * 84 && acct.inP >= 9, s);
    assert.deepEqual(acct, ppp0, `accounting vs the guest's ppp0 counters\n${s}`);
  });
});
