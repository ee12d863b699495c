/**
 * pptp-ts on a multi-homed host against Debian's stock peers in the qemu guest: each call's GRE must leave from
 * its control connection's local address, whatever source the kernel would pick for it.
 *
 * 1. Our server ← pppd + pptp-linux.
 * The host side of the lab's tap holds 10.99.0.1 and 10.99.0.3, and its route to the guest names 10.99.0.3 as the
 * preferred source; `pptp-ts server` listens on 0.0.0.0 with one unbound GRE socket and the guest dials 10.99.0.1.
 * pptp-linux connect()s its GRE socket to the address it dialled, so GRE that left from the route's preferred
 * source (10.99.0.3) would be dropped silently: the call connects and LCP times out. Each call's GRE must leave
 * from its control connection's local address; the capture proves none left from the other one.
 * 2. Our client → pptpd + pppd. The host holds both addresses again, and a policy rule sends GRE (IP protocol 47)
 * to a table whose route to the guest prefers 10.99.0.3, while TCP follows the main table (10.99.0.1). pptpd binds
 * and connects each call's GRE socket to the control connection's addresses, so our GRE must leave from
 * 10.99.0.1, the address our TCP connection uses.
 *
 * Needs root and the lab (skips with the reason otherwise; LAB_REQUIRE=1 makes that a failure). ~40 s under TCG.
 */
import { test, describe, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { guestStatus, labAvailable, resultsOf, runLab, ROOT, type LabRun } from "./harness.js";
import { requireOrSkip } from "../support/prerequisites.js";

const avail = labAvailable();
const skip = avail.ok ? false : requireOrSkip("the interop lab (multi-homed server interop)", avail.why ?? "?");

const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const DIALLED = "10.99.0.1"; // the lab's host address: what the guest dials
const OTHER = "10.99.0.3"; // a second address on the same tap, the route's preferred source toward the guest
const GUEST = "10.99.0.2";

/** The `pre` hook: the second address, the route preferring it, then our server on 0.0.0.0. */
function preCommand(): string {
  const dir = mkdtempSync(join(tmpdir(), "pptpts-multihome-"));
  writeFileSync(
    join(dir, "pptp-ts.conf"),
    [
      "[server]",
      "listen = 0.0.0.0",
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
  writeFileSync(join(dir, "chap-secrets"), `alice * "Secret-Pass-1" *\n`);
  return [
    `ip addr add ${OTHER}/24 dev "$LAB_TAP"`,
    `ip route replace ${GUEST}/32 dev "$LAB_TAP" src ${OTHER}`,
    `echo "route-to-guest: $(ip -o route get ${GUEST})"`,
    `node ${CLI} server -c ${join(dir, "pptp-ts.conf")} 2>&1 | sed -u 's/^/[srv] /'`,
  ].join(" && ");
}

function summary(r: LabRun): string {
  const tail = r.host.trimEnd().split("\n").slice(-15).join("\n    ");
  const pre = r.preLog.split("\n").slice(-30).join("\n    ");
  return `exit=${r.exitCode} run=${r.runDir}\n  results:\n    ${r.results.join("\n    ")}\n  pre log:\n    ${pre}\n  run.sh:\n    ${tail}`;
}

/** GRE packets in the capture from `src`. */
function greFrom(pcap: string, src: string): number {
  const out = execFileSync("tcpdump", ["-nn", "-r", pcap, `ip proto 47 and src host ${src}`], { stdio: ["ignore", "pipe", "ignore"] }).toString();
  return out.split("\n").filter((l) => l.trim() !== "").length;
}

describe("pptp-ts on a multi-homed host ↔ stock pptp-linux / pptpd", { concurrency: false }, () => {
  before(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is not built: run npm run build`);
  });

  test("listen 0.0.0.0, route to the client prefers the other address: GRE leaves from the dialled one, the call comes up, pings pass", { skip, timeout: 10 * 60_000 }, async () => {
    const r = await runLab({
      scenario: "client",
      pcap: true,
      keys: {
        user: "alice",
        pass: "Secret-Pass-1",
        server: DIALLED,
        pppopts: "refuse-pap refuse-eap refuse-chap refuse-mschap require-mppe-128",
        pings: 2,
        pingsizes: "56,1400",
        uptimeout: 40,
        // keep the tunnel until the host's pings below end (run.sh releases the hold): without it the guest hangs
        // up after its own pings and a slow host ping under TCG meets a closed tunnel
        hold: 60,
      },
      pre: preCommand(),
      // -w: until 3 replies or 30 s — the first echo may meet the guest before its ppp0 is fully up (TCG).
      with: `ping -c 3 -W 5 -w 30 $(echo "$LAB_READY" | sed -n 's/.* local=\\([0-9.]*\\).*/\\1/p')`,
    });
    const s = summary(r);
    // The set-up really makes the kernel prefer the other address toward the guest.
    assert.match(r.preLog, new RegExp(`route-to-guest: ${GUEST} dev \\S+ src ${OTHER.replace(/\./g, "\\.")}`), s);
    assert.equal(guestStatus(r.results), "PASS", s);
    assert.equal(r.ok, true, s);
    assert.deepEqual(resultsOf(r.results, "auth"), ["auth MS-CHAPv2 ok client=1"], s);
    assert.equal(resultsOf(r.results, "ping").filter((l) => l.startsWith("ping ok 2/2")).length, 2, s);
    assert.match(r.withLog, /transmitted, 3 received/, s);
    assert.match(r.preLog, /SCCRQ received from 10\.99\.0\.2/, s);
    const pcap = join(r.runDir, "tap.pcap");
    assert.ok(existsSync(pcap), s);
    const fromDialled = greFrom(pcap, DIALLED);
    const fromOther = greFrom(pcap, OTHER);
    assert.ok(fromDialled > 20, `GRE from ${DIALLED}: ${fromDialled}\n${s}`);
    assert.equal(fromOther, 0, `GRE left from the other address ${OTHER}\n${s}`);
    console.log(`GRE from the dialled ${DIALLED}: ${fromDialled} packets; from the route's preferred ${OTHER}: ${fromOther}`);
  });

  test("client: a policy rule routes GRE from the other address; our GRE still leaves from our TCP connection's address and the call comes up", { skip, timeout: 10 * 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "pptpts-multihome-client-"));
    writeFileSync(join(dir, "pw"), "Secret-Pass-1\n");
    const script = join(dir, "with.sh");
    writeFileSync(
      script,
      [
        "#!/bin/bash",
        "set -u",
        `ip addr add ${OTHER}/24 dev "$LAB_TAP"`,
        "ip rule add ipproto 47 lookup 100 pref 100",
        `ip route add ${GUEST}/32 dev "$LAB_TAP" src ${OTHER} table 100`,
        // `ip route get` cannot ask for protocol 47, so show the rule and its table instead.
        `echo "gre-rule: $(ip rule show pref 100) / $(ip route show table 100)"`,
        `echo "tcp-route: $(ip -o route get ${GUEST} ipproto 6)"`,
        `node ${CLI} connect ${GUEST} --user alice --password-file ${dir}/pw --debug events,errors > ${dir}/cli.log 2>&1 & CLIP=$!`,
        'for i in $(seq 120); do grep -q "connected to" ' + `${dir}/cli.log && break; kill -0 $CLIP 2>/dev/null || break; sleep 0.5; done`,
        "ping -c 3 -W 5 -w 30 192.168.50.1; echo \"ping-exit=$?\"",
        "sleep 15 # the guest pings our end of each new session (srvpings): hang up after that",
        "kill -TERM $CLIP; wait $CLIP; echo \"client-exit=$?\"",
        `echo '=== client log'; cat ${dir}/cli.log`,
      ].join("\n"),
    );
    chmodSync(script, 0o755);
    const r = await runLab({
      scenario: "server",
      pcap: true,
      keys: { user: "alice", pass: "Secret-Pass-1", srvopts: "require-mschap-v2 require-mppe-128", srvpings: 2, pingsizes: "56", exit_after: 1, duration: 120, pptpd_debug: 0 },
      with: `bash ${script}`,
    });
    const s = `${summary(r)}\n  with:\n    ${r.withLog.split("\n").slice(-40).join("\n    ")}`;
    // The set-up: GRE toward the guest would leave from the other address, TCP from the dialled one.
    assert.match(r.withLog, new RegExp(`gre-rule: 100:\\s+from all ipproto gre lookup 100 / ${GUEST} dev \\S+ scope link src ${OTHER.replace(/\./g, "\\.")}`), s);
    assert.match(r.withLog, new RegExp(`tcp-route: ${GUEST} .*src ${DIALLED.replace(/\./g, "\\.")}`), s);
    assert.match(r.withLog, /connected to 10\.99\.0\.2: address 192\.168\.50\.\d+/, s);
    assert.match(r.withLog, /ping-exit=0/, s);
    assert.ok(resultsOf(r.results, "srvping").some((l) => l.startsWith("srvping ok 2/2")), `guest pings: ${s}`);
    const pcap = join(r.runDir, "tap.pcap");
    assert.ok(existsSync(pcap), s);
    const fromDialled = greFrom(pcap, DIALLED);
    const fromOther = greFrom(pcap, OTHER);
    assert.ok(fromDialled > 20, `GRE from ${DIALLED}: ${fromDialled}\n${s}`);
    assert.equal(fromOther, 0, `GRE left from the other address ${OTHER}\n${s}`);
    console.log(`client GRE from its TCP address ${DIALLED}: ${fromDialled} packets; from the policy route's ${OTHER}: ${fromOther}`);
  });
});
