/**
 * Our client against Debian's stock server: pptpd 1.4.0 + pppd 2.4.9 in the qemu guest (10.99.0.2), dialled by
 * `pptp-ts connect` on the host side of the lab's tap (netns pptplab, 10.99.0.1) with a real raw GRE socket, a
 * TUN device and the host's routing table.
 *
 * 1. pptpd with `require-mschap-v2 require-mppe-128`: first a wrong password (we give up at once with
 *    "authentication failed (691)", exit 1), then the right one: tunnel up with MPPE-128 on both sides, the host
 *    route to the server and a split route installed, pings of 56 and 1400 bytes both ways, 4 MiB of TCP each
 *    way with sha256 compared, tshark decoding every packet we sent, a clean hang-up on SIGTERM (exit 0, routes
 *    gone, pppd sees LCP Terminate-Request).
 * 2. pptpd offering only MPPE-40: our default profile (128 only) refuses with "server offers only MPPE-40; this
 *    profile requires MPPE-128", `--mppe deny` with "server requires MPPE-40; this profile allows none", and a
 *    profile that allows 40 connects with MPPE-40, passes traffic, and with --default-route sends everything
 *    else into the tunnel while the server stays reachable outside it.
 *
 * Needs root and the lab (skips with the reason otherwise; LAB_REQUIRE=1 makes that a failure).
 */
import { test, describe, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, existsSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fields, greRunAhead, guestStatus, labAvailable, parsePeer, peerCommand, resultsOf, runLab, tsharkVerdict, ROOT, type LabRun } from "./harness.js";
import { requireOrSkip } from "../support/prerequisites.js";

const avail = labAvailable();
const skip = avail.ok ? false : requireOrSkip("the interop lab (client interop)", avail.why ?? "?");
const T = { skip, timeout: 20 * 60_000 };

const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const USER = "alice";
const PASS = "Secret-Pass-1";
const SERVER = "10.99.0.2";
const LOCALIP = "192.168.50.1";

/** A directory with the password files and the `with` script; returns the command that runs it. */
function withScript(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), "pptpts-client-"));
  writeFileSync(join(dir, "pw"), `${PASS}\n`);
  writeFileSync(join(dir, "badpw"), "not-the-password\n");
  const script = join(dir, "with.sh");
  writeFileSync(
    script,
    [
      "#!/bin/bash",
      "set -u",
      `D=${dir}`,
      // a plain command (not a shell function) so that `$CONNECT ... & PID=$!` is the node process itself
      `CONNECT="node ${CLI} connect ${SERVER} --user ${USER}"`,
      // wait_up LOG PID: until the client logs "connected to", or gives up, or 90 s pass
      'wait_up() { for i in $(seq 180); do grep -q "connected to" "$1" && return 0; kill -0 "$2" 2>/dev/null || return 1; sleep 0.5; done; return 1; }',
      // wait_echos N: until this namespace has received N ICMP echo requests (the server's pings through the
      // tunnel; /proc/net/snmp is per namespace) or 60 s pass — so we do not hang up before the guest's pptpd side,
      // slow under TCG, has pinged us.
      'wait_echos() { for i in $(seq 120); do n=$(awk \'/^Icmp:/{if(!h){for(i=1;i<=NF;i++)if($i=="InEchos")c=i;h=1}else print $c}\' /proc/net/snmp); [ "${n:-0}" -ge "$1" ] && return 0; sleep 0.5; done; echo "only ${n:-0} echo requests from the server"; return 1; }',
      // peer_ready: until the server's end of the tunnel answers one small ping (30 s at most). Our client is up at
      // pppd's last IPCP Configure-Ack, but pppd gives ppp0 its address and brings it up only after its ip-pre-up
      // script has run (ipcp_up), seconds later under TCG: the lab's captures show the first 1400-octet pings
      // reaching pptpctrl (GRE acknowledged) and never answered for up to 2.3 s, with VJ Acked or Rejected alike.
      'peer_ready() { for i in $(seq 30); do ping -c 1 -W 1 -s 56 "$1" >/dev/null 2>&1 && return 0; done; echo "no answer from $1 for 30 s"; return 1; }',
      body,
    ].join("\n"),
  );
  chmodSync(script, 0o755);
  return `bash ${script}`;
}

function summary(r: LabRun): string {
  const tail = r.host.trimEnd().split("\n").slice(-12).join("\n    ");
  return `exit=${r.exitCode} run=${r.runDir}\n  results:\n    ${r.results.join("\n    ")}\n  with:\n    ${r.withLog.split("\n").slice(-80).join("\n    ")}\n  run.sh:\n    ${tail}`;
}

/** The text between "=== NAME" and the next "===" line of the with log. */
function section(log: string, name: string): string {
  const start = log.indexOf(`=== ${name}\n`);
  if (start < 0) return "";
  const rest = log.slice(start + name.length + 5);
  const end = rest.indexOf("\n=== ");
  return end < 0 ? rest : rest.slice(0, end);
}

describe("pptp-ts connect → stock pptpd + pppd", { concurrency: false }, () => {
  before(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is not built: run npm run build`);
  });

  test("require-mschap-v2 require-mppe-128: wrong password refused (691); then up, routes, pings, 4 MiB each way, tshark, clean hang-up", T, async () => {
    const mb = 4;
    const recv = peerCommand("recv", "--port", "5001", "--host", "0.0.0.0", "--count", "1", "--timeout", "300");
    const send = peerCommand("send", "--to", LOCALIP, "--port", "5001", "--mb", String(mb), "--timeout", "300");
    const r = await runLab({
      scenario: "server",
      pcap: true,
      timeoutS: 600,
      // pptpd_debug=0: pptpd would otherwise syslog every GRE packet to the emulated serial console, and the
      // transfer would measure that instead of the tunnel.
      keys: { user: USER, pass: PASS, srvopts: "require-mschap-v2 require-mppe-128", srvpings: 3, pingsizes: "56,1400", xfer_mb: mb, xfer_dirs: "up,down", exit_after: 1, duration: 400, pptpd_debug: 0 },
      with: withScript(
        [
          "echo '=== wrong password'",
          "$CONNECT --password-file $D/badpw --debug events,errors 2>&1; echo \"exit=$?\"",
          `${recv} > $D/recv.log 2>&1 & RECV=$!`,
          "$CONNECT --password-file $D/pw --route 10.77.0.0/16 --debug events,errors,negotiation > $D/cli.log 2>&1 & CLIP=$!",
          "wait_up $D/cli.log $CLIP || { echo '=== client log'; cat $D/cli.log; exit 1; }",
          "echo '=== while up'; ip -4 route show; ip -o -4 addr show dev pt-vpn; ip -o link show dev pt-vpn",
          `echo '=== pings'; peer_ready ${LOCALIP} && ping -c 3 -s 1400 -W 5 ${LOCALIP} && ping -c 3 -s 56 -W 5 ${LOCALIP}; echo "ping-exit=$?"`,
          `echo '=== transfer'; ${send}; wait $RECV; cat $D/recv.log`,
          // SIGTERM: a non-interactive shell starts background jobs with SIGINT ignored (POSIX)
          "sleep 2; kill -TERM $CLIP; wait $CLIP; echo \"client-exit=$?\"",
          "echo '=== after'; ip -4 route show; ip -o link show dev pt-vpn 2>&1 | head -1",
          "echo '=== client log'; cat $D/cli.log",
        ].join("\n"),
      ),
    });
    const s = summary(r);
    const log = r.withLog;
    // 1. the wrong password: one attempt, the reason, exit status 1
    const wrong = section(log, "wrong password");
    assert.match(wrong, /authentication failed \(691\)/, s);
    assert.match(wrong, /exit=1/, s);
    assert.doesNotMatch(wrong, /redialling/, `no redial after a refusal: ${s}`);
    // 2. the tunnel: address, MTU, routes
    const up = section(log, "while up");
    assert.match(up, /10\.99\.0\.2 dev \S+/, `host route to the server outside the tunnel: ${s}`);
    assert.match(up, /10\.77\.0\.0\/16 dev pt-vpn/, `split route: ${s}`);
    assert.match(up, /inet 192\.168\.50\.1\d peer 192\.168\.50\.1\/32/, s);
    const mtu = /pt-vpn: .* mtu (\d+)/.exec(up);
    assert.ok(mtu, s);
    const clientLog = section(log, "client log");
    assert.match(clientLog, /connected to 10\.99\.0\.2: address 192\.168\.50\.1\d, server 192\.168\.50\.1, MTU \d+, MS-CHAPv2, MPPE-128 stateless/, s);
    // 3. pings both ways: ours to the server's end, the guest's to ours
    assert.match(section(log, "pings"), /ping-exit=0/, s);
    assert.ok(resultsOf(r.results, "srvping").some((l) => l.startsWith("srvping ok 3/3") && l.includes("size=1400")), `guest pings: ${s}`);
    // 4. TCP both ways, checksums equal on both ends
    const peer = parsePeer(log);
    const upx = resultsOf(r.results, "xfer").find((l) => l.includes("dir=up"));
    const downx = resultsOf(r.results, "xfer").find((l) => l.includes("dir=down"));
    assert.ok(upx && downx, s);
    const sent = peer.find((p) => p.op === "send");
    const got = peer.find((p) => p.op === "recv");
    assert.ok(sent && got, `${s}\npeer: ${JSON.stringify(peer)}`);
    assert.equal(fields(upx).sha256, sent.sha256, s);
    assert.equal(Number(fields(upx).bytes), mb * 1024 * 1024, s);
    assert.equal(fields(downx).sha256, got.sha256, s);
    console.log(`client→pptpd TCP through the tunnel: up ${fields(upx).mbps} Mbit/s (client→server), down ${fields(downx).mbps} Mbit/s (TCG guest), pt-vpn MTU ${mtu[1]}`);
    // 5. the server's view: MS-CHAPv2 and MPPE 128-bit
    const conn = resultsOf(r.results, "conn").find((l) => /authok=yes/.test(l));
    assert.ok(conn, s);
    assert.match(conn, /auth=MS-CHAPv2/, s);
    assert.match(conn, /mppe="[^"]*128/, s);
    // 6. clean hang-up: exit 0, routes gone, device gone
    assert.match(log, /client-exit=0/, s);
    const after = section(log, "after");
    assert.doesNotMatch(after, /10\.77\.0\.0\/16/, s);
    assert.doesNotMatch(after, /10\.99\.0\.2 dev/, s);
    assert.match(after, /does not exist|Cannot find device/, s);
    assert.match(clientLog, /hanging up: received SIGTERM/, s);
    assert.equal(guestStatus(r.results), "PASS", s);
    // 7. tshark decodes every PPTP/GRE packet we sent with no malformed or warning-level expert info
    const pcap = join(r.runDir, "tap.pcap");
    assert.ok(existsSync(pcap), s);
    const ts = tsharkVerdict(pcap, "10.99.0.1");
    const total = ts.total;
    assert.ok(total > 1000, `only ${total} PPTP/GRE packets from us in the capture`);
    assert.ok(ts.count("pptp.control_message_type") >= 4, "SCCRQ, OCRQ, CCRQ, StopCCRQ decoded as PPTP");
    assert.ok(ts.count("chap") >= 2, "CHAP responses decoded inside GRE/PPP");
    assert.equal(ts.bad, 0, `tshark flagged ${ts.bad} of ${total} packets we sent:\n${ts.detail}`);
    console.log(`tshark: ${total} PPTP/GRE packets from pptp-ts connect decoded, none malformed or with warnings`);
    // 8. our sending kept within pptpd's receive window (flow-control = sliding, the client's default): sending
    //    freely, the upload outran pptpd (seen 131 packets ahead of its window of 64), lost whole bursts between
    //    pptpd and pppd, and took 13-19 s here, once over 50 s, instead of under 2
    const ahead = greRunAhead(pcap, "10.99.0.1", "10.99.0.2");
    // pptpd puts our OCRQ's window back in its OCRP: asking for more than 64 (its own figure) made it answer that,
    // and we ran 101 packets ahead at 3.3 Mbit/s
    assert.equal(ahead.peerWindow, 64, `pptpd's receive window in its OCRP (ours mirrored): ${JSON.stringify(ahead)}`);
    assert.ok(ahead.dataPackets > 2000, `GRE data packets from us: ${JSON.stringify(ahead)}`);
    assert.ok(ahead.maxOutstanding <= ahead.peerWindow, `we ran ${ahead.maxOutstanding} packets ahead of pptpd's acknowledgments, past its window of ${ahead.peerWindow}`);
    console.log(`GRE flow control: at most ${ahead.maxOutstanding} of ${ahead.dataPackets} data packets unacknowledged, pptpd's window ${ahead.peerWindow}`);
  });

  test("pptpd offering only MPPE-40: refused in plain words unless the profile allows 40, then up with MPPE-40 and a default route", T, async () => {
    const r = await runLab({
      scenario: "server",
      timeoutS: 600,
      keys: { user: USER, pass: PASS, srvopts: "require-mschap-v2 require-mppe-40", srvpings: 2, pingsizes: "56,1400", exit_after: 1, duration: 300 },
      with: withScript(
        [
          "echo '=== default profile'",
          "$CONNECT --password-file $D/pw 2>&1; echo \"exit=$?\"",
          "echo '=== mppe deny'",
          "$CONNECT --password-file $D/pw --mppe deny 2>&1; echo \"exit=$?\"",
          "$CONNECT --password-file $D/pw --mppe-strengths 128,40 --default-route > $D/cli.log 2>&1 & CLIP=$!",
          "wait_up $D/cli.log $CLIP || { echo '=== client log'; cat $D/cli.log; exit 1; }",
          // the default route leads into the tunnel, while the server itself stays reachable outside it
          "echo '=== default route'; ip -4 route show; ip -4 route get 198.51.100.7; ip -4 route get 10.99.0.2",
          `echo '=== pings'; peer_ready ${LOCALIP} && ping -c 3 -s 1300 -W 5 ${LOCALIP}; echo "ping-exit=$?"`,
          "wait_echos 4; kill -TERM $CLIP; wait $CLIP; echo \"client-exit=$?\"", // 2 pings × 2 sizes from the guest
          "echo '=== after'; ip -4 route show",
          "echo '=== client log'; cat $D/cli.log",
        ].join("\n"),
      ),
    });
    const s = summary(r);
    const def = section(r.withLog, "default profile");
    assert.match(def, /server offers only MPPE-40; this profile requires MPPE-128/, s);
    assert.match(def, /exit=1/, s);
    const deny = section(r.withLog, "mppe deny");
    assert.match(deny, /server requires MPPE-40; this profile allows none/, s);
    assert.match(deny, /exit=1/, s);
    assert.match(section(r.withLog, "client log"), /connected to 10\.99\.0\.2: .*MPPE-40 stateless/, s);
    assert.match(section(r.withLog, "pings"), /ping-exit=0/, s);
    const dflt = section(r.withLog, "default route");
    assert.match(dflt, /0\.0\.0\.0\/1 dev pt-vpn/, s);
    assert.match(dflt, /128\.0\.0\.0\/1 dev pt-vpn/, s);
    assert.match(dflt, /198\.51\.100\.7 dev pt-vpn/, `everything else goes into the tunnel: ${s}`);
    assert.match(dflt, /10\.99\.0\.2 dev labtap\S*/, `the server stays outside it: ${s}`);
    assert.match(r.withLog, /client-exit=0/, s);
    assert.doesNotMatch(section(r.withLog, "after"), /pt-vpn|0\.0\.0\.0\/1/, `routes removed at exit: ${s}`);
    const conn = resultsOf(r.results, "conn").find((l) => /authok=yes/.test(l) && /bytes_rcvd=[1-9]/.test(l));
    assert.ok(conn, s);
    assert.match(conn, /mppe="[^"]*40/, s);
    assert.equal(guestStatus(r.results), "PASS", s);
  });
});
