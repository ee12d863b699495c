/**
 * Our server with `[server] workers = 2` against Debian's stock client (pppd 2.4.9 + pptp-linux in the qemu guest,
 * as server-stock-client.test.ts): MS-CHAPv2 + MPPE-128 stateless, so the call moves to a data-plane worker at
 * network-up; pings of 56 and 1400 bytes both ways and a TCP transfer each way with sha256 compared must go through
 * the worker exactly as through the single thread, and pppd's LCP echoes (its default lcp-echo-interval) too.
 * Needs root and the lab (skips with the reason otherwise; LAB_REQUIRE=1 makes that a failure).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fields, guestStatus, labAvailable, parsePeer, peerCommand, resultsOf, runLab, ROOT } from "./harness.js";
import { requireOrSkip } from "../support/prerequisites.js";

const avail = labAvailable();
const skip = avail.ok ? false : requireOrSkip("the interop lab (server with workers)", avail.why ?? "?");
const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const USER = "alice";
const PASS = "Secret-Pass-1";

describe("pptp-ts server (workers = 2) ← stock pppd + pptp-linux client", () => {
  test("MS-CHAPv2 + MPPE-128 stateless on a data-plane worker: pings 56/1400 both ways, 2 MB each way intact", { skip, timeout: 20 * 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "pptpts-interop-workers-"));
    writeFileSync(
      join(dir, "pptp-ts.conf"),
      ["[server]", "listen = 10.99.0.1", "tun-name = pptpts0", "max-sessions = 4", "workers = 2", "[ppp]", "local-address = 192.168.50.1", "pool = 192.168.50.10-192.168.50.20", "auth = mschap-v2", "users = chap-secrets", "[mppe]", "policy = require", "strengths = 128", "stateless = prefer", "[log]", "debug = events, errors", ""].join("\n"),
    );
    writeFileSync(join(dir, "chap-secrets"), `${USER} * "${PASS}" *\n`);
    const server = `node ${CLI} server -c ${join(dir, "pptp-ts.conf")} 2>&1 | sed -u 's/^/[srv] /'`;
    const mb = 2;
    const r = await runLab({
      scenario: "client",
      keys: {
        user: USER,
        pass: PASS,
        pppopts: "refuse-pap refuse-eap refuse-chap refuse-mschap require-mppe-128",
        pings: 3,
        pingsizes: "56,1400",
        xfer_mb: mb,
        xfer_dirs: "up,down",
        hold: 30,
        expect_auth: "MS-CHAPv2",
        expect_mppe: "128-bit",
      },
      pre: `${server} & ${peerCommand("recv", "--port", "5001", "--host", "0.0.0.0", "--count", "1", "--timeout", "300")}; wait`,
      with: `ping -c 3 -s 1400 -W 5 $(echo "$LAB_READY" | sed -n 's/.* local=\\([0-9.]*\\).*/\\1/p') && ${peerCommand("send", "--to", "ready:local", "--port", "5001", "--mb", String(mb), "--timeout", "300")}`,
    });
    const srv = r.preLog.split("\n").filter((l) => l.includes("[srv]")).join("\n");
    const s = `exit=${r.exitCode} run=${r.runDir}\n${r.results.join("\n")}\n${srv.split("\n").slice(-30).join("\n")}`;
    assert.equal(guestStatus(r.results), "PASS", s);
    assert.equal(r.ok, true, s);
    assert.match(srv, /data plane: 2 worker threads/, s);
    assert.match(srv, /data path on worker [12]/, s);
    assert.doesNotMatch(srv, /data-plane worker \d+:/, s);
    for (const size of ["56", "1400"]) assert.ok(resultsOf(r.results, "ping").some((l) => l.startsWith("ping ok 3/3") && l.includes(`size=${size} `)), `guest ping ${size}: ${s}`);
    assert.match(r.withLog, /3 packets transmitted, 3 received/, s);
    const peer = parsePeer(r.preLog + "\n" + r.withLog);
    const up = resultsOf(r.results, "xfer").find((l) => l.includes("dir=up"));
    const down = resultsOf(r.results, "xfer").find((l) => l.includes("dir=down"));
    assert.ok(up && down, s);
    assert.equal(fields(up).sha256, peer.find((p) => p.op === "recv")?.sha256, s);
    assert.equal(fields(down).sha256, peer.find((p) => p.op === "send")?.sha256, s);
    // The session lasted its hold time: pppd's LCP echoes were answered through the worker.
    assert.match(srv, /session down/, s);
    console.log(`through a worker: up ${fields(up).mbps} Mbit/s, down ${fields(down).mbps} Mbit/s (TCG guest)`);
  });
});
