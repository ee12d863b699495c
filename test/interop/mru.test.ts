/**
 * A peer with a small MRU, against stock Debian peers in the qemu lab (see server-stock-client.test.ts and
 * client-stock-server.test.ts for the set-up). pppd with `mru 1200` and MPPE takes datagrams of at most 1196
 * octets; Linux's ppp_async drops longer frames without a word, so without the peer-MRU check in
 * src/session/call.ts 1300-octet pings and oversized TCP segments vanish (a path-MTU black hole).
 *
 * 1. Our server ← stock pppd + pptp-linux with `mru 1200`: pings of 1300 octets with DF clear, set, and PMTU
 *    discovery both ways (DF set from the server side is answered with ICMP "fragmentation needed", mtu 1196),
 *    and 4 MiB of TCP each way with sha256 compared.
 * 2. The same client with ppp0's MTU raised to 1400 while its MRU stays 1200 (a router whose LAN hosts advertise
 *    a larger TCP MSS than its MRU takes): 4 MiB from the server side arrive intact through PMTU discovery on our
 *    ICMP messages.
 * 3. Our client → stock pptpd whose pppd has `mru 1200`: TUN MTU 1196; 1300-octet pings with and without DF both
 *    ways; 4 MiB each way; then with the TUN MTU raised to 1400 by hand, DF-clear pings still pass (we fragment)
 *    and DF-set ones are answered with ICMP mtu 1196 (from our code: nothing else on the path says it).
 *
 * Needs root and the lab (skips with the reason otherwise; LAB_REQUIRE=1 makes that a failure).
 */
import { test, describe, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, existsSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fields, guestStatus, labAvailable, parsePeer, peerCommand, resultsOf, runLab, LAB_DIR, ROOT, type LabRun } from "./harness.js";
import { requireOrSkip } from "../support/prerequisites.js";

const avail = labAvailable();
const skip = avail.ok ? false : requireOrSkip("the interop lab (MRU interop)", avail.why ?? "?");
const T = { skip, timeout: 20 * 60_000 };

const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const USER = "alice";
const PASS = "Secret-Pass-1";
const MB = 4;
/** 1272 octets of ICMP payload + 8 ICMP + 20 IP = a 1300-octet datagram. */
const PING = 1272;
const CLIENT_V2 = "refuse-pap refuse-eap refuse-chap refuse-mschap require-mppe-128";
/**
 * This worktree's guest /init on top of the image: the image in a shared LAB_CACHE is repacked by whichever
 * checkout built it last, and these tests need the `mru` and `upcmd` keys of this one.
 */
const OWN_INIT = ["--file", `/init=${join(LAB_DIR, "guest", "init")}`];

/** Our server's config in a fresh directory; returns the `pre` command (server, then the host's TCP sink). */
function serverPre(): string {
  const dir = mkdtempSync(join(tmpdir(), "pptpts-mru-"));
  writeFileSync(
    join(dir, "pptp-ts.conf"),
    [
      "[server]",
      "listen = 10.99.0.1",
      "tun-name = pptpts0",
      "[ppp]",
      "local-address = 192.168.50.1",
      "pool = 192.168.50.10-192.168.50.20",
      "auth = mschap-v2",
      "users = chap-secrets",
      "[mppe]",
      "policy = require",
      "strengths = 128",
      "[log]",
      "debug = events, errors",
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, "chap-secrets"), `${USER} * "${PASS}" *\n`);
  const server = `node ${CLI} server -c ${join(dir, "pptp-ts.conf")} 2>&1 | sed -u 's/^/[srv] /'`;
  return `${server} & ${peerCommand("recv", "--port", "5001", "--host", "0.0.0.0", "--count", "1", "--timeout", "300")}; wait`;
}

/** A bash script for `with`; `$L` is the client's tunnel address from LAB_READY. Sections start with "=== NAME". */
function script(lines: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "pptpts-mru-with-"));
  writeFileSync(join(dir, "pw"), `${PASS}\n`);
  const file = join(dir, "with.sh");
  writeFileSync(
    file,
    [
      "#!/bin/bash",
      "set -u",
      `D=${dir}`,
      `L=$(echo "\${LAB_READY:-}" | sed -n 's/.* local=\\([0-9.]*\\).*/\\1/p')`,
      'wait_up() { for i in $(seq 180); do grep -q "connected to" "$1" && return 0; kill -0 "$2" 2>/dev/null || return 1; sleep 0.5; done; return 1; }',
      ...lines,
    ].join("\n"),
  );
  chmodSync(file, 0o755);
  return `bash ${file}`;
}

function section(log: string, name: string): string {
  const start = log.indexOf(`=== ${name}\n`);
  if (start < 0) return "";
  const rest = log.slice(start + name.length + 5);
  const end = rest.indexOf("\n=== ");
  return end < 0 ? rest : rest.slice(0, end);
}

/** `ping` said how many replies came back. */
function received(out: string): number {
  return Number(/(\d+) received/.exec(out)?.[1] ?? -1);
}

function summary(r: LabRun): string {
  const tail = r.host.trimEnd().split("\n").slice(-12).join("\n    ");
  const srv = r.preLog.split("\n").filter((l) => l.includes("[srv]")).slice(-20).join("\n    ");
  return `exit=${r.exitCode} run=${r.runDir}\n  results:\n    ${r.results.join("\n    ")}\n  with:\n    ${r.withLog.split("\n").slice(-60).join("\n    ")}\n  server log:\n    ${srv}\n  run.sh:\n    ${tail}`;
}

/** The guest's xfer lines against the host peer's sha256, each way that ran. */
function checkTransfers(r: LabRun, s: string, dirs: Array<"up" | "down">): string[] {
  const peer = parsePeer(r.preLog + "\n" + r.withLog);
  const out: string[] = [];
  for (const dir of dirs) {
    const line = resultsOf(r.results, "xfer").find((l) => l.includes(`dir=${dir}`));
    assert.ok(line, `xfer ${dir}: ${s}`);
    // up: the guest sent, our side received (recv); down: our side sent (send)
    const p = peer.find((x) => x.op === (dir === "up" ? "recv" : "send"));
    assert.ok(p, `${s}\npeer: ${JSON.stringify(peer)}`);
    assert.equal(fields(line).sha256, p.sha256, `sha256 ${dir}: ${s}`);
    assert.equal(Number(fields(line).bytes), MB * 1024 * 1024, s);
    out.push(`${dir} ${fields(line).mbps} Mbit/s`);
  }
  return out;
}

describe("peer MRU 1200 on the data path (stock pppd in the lab)", { concurrency: false }, () => {
  before(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is not built: run npm run build`);
  });

  test("our server ← pppd `mru 1200`: 1300-octet pings with and without DF both ways, ICMP mtu 1196, 4 MiB each way intact", T, async () => {
    const r = await runLab({
      scenario: "client",
      runArgs: OWN_INIT,
      keys: {
        user: USER,
        pass: PASS,
        pppopts: CLIENT_V2,
        mru: 1200,
        pings: 3,
        // the lab pings with -W, which after a first reply waits only twice the RTT for the last one: under TCG a
        // late last reply counts as lost. Without the fix no 1300-octet reply comes back at all.
        minping: 2,
        pingsizes: `56,${PING}`,
        xfer_mb: MB,
        xfer_dirs: "up,down",
        hold: 60,
        expect_mppe: "128-bit",
        // from the client: DF set is refused by its own kernel (ppp0 MTU 1196), DF clear is fragmented by it
        clientcmd: `ip -o link show $LAB_IFACE; echo '--- df'; ping -n -M do -s ${PING} -c 2 -W 2 $LAB_REMOTE; echo '--- nodf'; ping -n -M dont -s ${PING} -c 3 -w 20 $LAB_REMOTE`,
      },
      pre: serverPre(),
      with: script([
        `echo '=== nodf'; ping -n -M dont -s ${PING} -c 3 -w 20 $L`,
        `echo '=== df'; ping -n -M do -s ${PING} -c 3 -w 8 $L`,
        `echo '=== pmtud'; ping -n -M want -s ${PING} -c 3 -w 20 $L; ip -4 route get $L`,
        `echo '=== send'; ${peerCommand("send", "--to", "ready:local", "--port", "5001", "--mb", String(MB), "--timeout", "300")}`,
      ]),
    });
    const s = summary(r);
    assert.equal(guestStatus(r.results), "PASS", s);
    assert.match(r.console, /ppp0: .* mtu 1196/, `pppd's ppp0: min(MRU 1200, ours 1400) less MPPE's 4: ${s}`);
    assert.match(r.preLog, /session up: .*peer MRU 1200 \(datagrams up to 1196 octets\)/, s);
    // client → server, both sizes (the 1300-octet replies come back to it in our fragments)
    for (const size of ["56", String(PING)]) {
      assert.ok(resultsOf(r.results, "ping").some((l) => /^ping ok [23]\/3/.test(l) && l.includes(`size=${size} `)), `guest ping ${size}: ${s}`);
    }
    assert.match(r.console, /\[clientcmd c1\] .*mtu=1196/, `the client's own kernel refuses DF at 1196: ${s}`);
    assert.match(r.console, /\[clientcmd c1\] 3 packets transmitted, 3 received/, `client DF-clear 1300: ${s}`);
    // server → client
    assert.equal(received(section(r.withLog, "nodf")), 3, `DF clear, fragmented by us: ${s}`);
    const df = section(r.withLog, "df");
    assert.equal(received(df), 0, s);
    assert.match(df, /Frag needed and DF set \(mtu = 1196\)/, `our ICMP reached the sender: ${s}`);
    const pmtud = section(r.withLog, "pmtud");
    assert.equal(received(pmtud), 3, `after the ICMP the sender fragments itself: ${s}`);
    assert.match(pmtud, /mtu 1196/, `the kernel cached the path MTU we told it: ${s}`);
    console.log(`MRU 1200 server role, TCP: ${checkTransfers(r, s, ["up", "down"]).join(", ")}`);
  });

  test("our server ← pppd `mru 1200` whose ppp0 MTU is 1400: 4 MiB from the server side arrive through PMTU discovery", T, async () => {
    const r = await runLab({
      scenario: "client",
      runArgs: OWN_INIT,
      keys: {
        user: USER,
        pass: PASS,
        pppopts: CLIENT_V2,
        mru: 1200,
        // its TCP now advertises MSS 1360 while its MRU still takes 1196-octet datagrams only
        upcmd: "ip link set dev $LAB_IFACE mtu 1400 && ip -o link show $LAB_IFACE",
        pings: 3,
        minping: 2,
        pingsizes: `${PING}`,
        xfer_mb: MB,
        xfer_dirs: "down",
        hold: 60,
      },
      pre: serverPre(),
      with: script([`echo '=== send'; ${peerCommand("send", "--to", "ready:local", "--port", "5001", "--mb", String(MB), "--timeout", "150")}`, "ip -4 route get $L"]),
    });
    const s = summary(r);
    assert.match(r.console, /\[upcmd c1\] .*mtu 1400/, s);
    assert.match(r.preLog, /session up: .*peer MRU 1200 \(datagrams up to 1196 octets\)/, s);
    assert.ok(resultsOf(r.results, "ping").some((l) => /^ping ok [23]\/3/.test(l)), `guest ping ${PING} with DF: ${s}`);
    assert.equal(guestStatus(r.results), "PASS", s);
    assert.match(r.withLog, /mtu 1196/, `the host's TCP learnt the path MTU from our ICMP: ${s}`);
    console.log(`MRU 1200 with MSS 1360, TCP: ${checkTransfers(r, s, ["down"]).join(", ")}`);
  });

  test("our client → pptpd with `mru 1200`: TUN MTU 1196, 1300-octet pings both ways, 4 MiB each way; raised TUN MTU still safe", T, async () => {
    const send = peerCommand("send", "--to", "192.168.50.1", "--port", "5001", "--mb", String(MB), "--timeout", "300");
    const recv = peerCommand("recv", "--port", "5001", "--host", "0.0.0.0", "--count", "1", "--timeout", "300");
    const r = await runLab({
      scenario: "server",
      runArgs: OWN_INIT,
      timeoutS: 600,
      keys: { user: USER, pass: PASS, srvopts: "require-mschap-v2 require-mppe-128", mru: 1200, srvpings: 3, minping: 2, pingsizes: `56,${PING}`, xfer_mb: MB, xfer_dirs: "up,down", exit_after: 1, duration: 400, pptpd_debug: 0 },
      with: script([
        `${recv} > $D/recv.log 2>&1 & RECV=$!`,
        `node ${CLI} connect 10.99.0.2 --user ${USER} --password-file $D/pw --debug events,errors > $D/cli.log 2>&1 & CLIP=$!`,
        "wait_up $D/cli.log $CLIP || { echo '=== client log'; cat $D/cli.log; exit 1; }",
        "echo '=== link'; ip -o link show dev pt-vpn",
        `echo '=== nodf'; ping -n -M dont -s ${PING} -c 3 -w 20 192.168.50.1`,
        `echo '=== df'; ping -n -M do -s ${PING} -c 2 -w 6 192.168.50.1`,
        `echo '=== transfer'; ${send}; wait $RECV; cat $D/recv.log`,
        // an operator raises the MTU: the kernel no longer keeps datagrams within the server's MRU, our code must
        "ip link set dev pt-vpn mtu 1400",
        `echo '=== raised nodf'; ping -n -M dont -s ${PING} -c 3 -w 20 192.168.50.1`,
        `echo '=== raised df'; ping -n -M do -s ${PING} -c 2 -w 6 192.168.50.1`,
        "sleep 1; kill -TERM $CLIP; wait $CLIP; echo \"client-exit=$?\"",
        "echo '=== client log'; cat $D/cli.log",
      ]),
    });
    const s = summary(r);
    const log = r.withLog;
    assert.match(section(log, "link"), /pt-vpn: .* mtu 1196/, `TUN MTU: the server's MRU less MPPE: ${s}`);
    assert.match(section(log, "client log"), /LCP up: MRU 1400\/1200/, `pptpd's pppd asked for MRU 1200: ${s}`);
    assert.match(section(log, "client log"), /connected to 10\.99\.0\.2: .*MTU 1196/, s);
    assert.equal(received(section(log, "nodf")), 3, s);
    assert.match(section(log, "df"), /mtu ?= ?1196/, `our kernel refuses DF at the TUN MTU: ${s}`);
    assert.ok(resultsOf(r.results, "srvping").some((l) => /^srvping ok [23]\/3/.test(l) && l.includes(`size=${PING}`)), `pptpd side pings 1300: ${s}`);
    const peer = parsePeer(log);
    const up = resultsOf(r.results, "xfer").find((l) => l.includes("dir=up"));
    const down = resultsOf(r.results, "xfer").find((l) => l.includes("dir=down"));
    assert.ok(up && down, s);
    assert.equal(fields(up).sha256, peer.find((p) => p.op === "send")?.sha256, s);
    assert.equal(fields(down).sha256, peer.find((p) => p.op === "recv")?.sha256, s);
    assert.equal(Number(fields(up).bytes), MB * 1024 * 1024, s);
    // with the MTU raised, only our peer-MRU check stands between 1300-octet datagrams and pptpd's pppd
    assert.equal(received(section(log, "raised nodf")), 3, `DF clear, fragmented by us: ${s}`);
    const rdf = section(log, "raised df");
    assert.equal(received(rdf), 0, s);
    assert.match(rdf, /Frag needed and DF set \(mtu = 1196\)/, `our ICMP: ${s}`);
    assert.match(log, /client-exit=0/, s);
    assert.equal(guestStatus(r.results), "PASS", s);
    console.log(`MRU 1200 client role, TCP: up ${fields(up).mbps} Mbit/s, down ${fields(down).mbps} Mbit/s`);
  });
});
