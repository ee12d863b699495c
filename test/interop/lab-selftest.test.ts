/**
 * The interop lab itself works: stock peers talk to each other inside the qemu
 * guest, and the host-side `pre` path reaches the guest's client.
 *
 * Needs root, qemu and the packages in lab/host-packages.txt; skips (saying why)
 * only when those are missing. LAB_REQUIRE=1 turns that skip into a failure.
 * Costs here (TCG, 2 cores): ~90 s for the first image build, then 40–70 s for the
 * selftest and ~35 s for the client run. LAB_VERBOSE=1 streams the guest console.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { fields, guestStatus, labAvailable, parsePeer, peerCommand, resultsOf, runLab, type LabRun } from "./harness.js";
import { requireOrSkip } from "../support/prerequisites.js";

const avail = labAvailable();
const skip = avail.ok ? false : requireOrSkip("the interop lab (self-test)", avail.why ?? "?");

/** What to show when an assertion fails: the guest's results, run.sh's last lines, where the logs are. */
function summary(r: LabRun): string {
  const tail = r.host.trimEnd().split("\n").slice(-12).join("\n    ");
  return `exit=${r.exitCode} run=${r.runDir || "(none)"}\n  results:\n    ${r.results.join("\n    ")}\n  run.sh:\n    ${tail}`;
}

describe("interop lab (qemu guest with stock pppd, pptp-linux, pptpd)", () => {
  test("selftest: stock pptp client and stock pptpd agree on MS-CHAPv2 and MPPE-128", { skip, timeout: 40 * 60_000 }, async () => {
    assert.ok(avail.ok, `lab unavailable: ${avail.why ?? "?"}`);
    const r = await runLab({ scenario: "selftest", keys: { pings: 3, srvpings: 2 } });
    const s = summary(r);
    assert.equal(guestStatus(r.results), "PASS", s);
    assert.equal(r.ok, true, s);

    // client side: it authenticated with MS-CHAPv2 and pppd confirmed it; MPPE 128-bit is on
    assert.deepEqual(resultsOf(r.results, "auth"), ["auth MS-CHAPv2 ok client=1"], s);
    const mppe = resultsOf(r.results, "mppe");
    assert.equal(mppe.length, 1, s);
    assert.match(mppe[0], /^mppe 128-bit\b.* client=1$/, s);
    // server side (pptpd's pppd): it required MS-CHAPv2, sent CHAP Success, enabled MPPE-128
    const conn = resultsOf(r.results, "conn");
    assert.equal(conn.length, 1, s);
    const c = fields(conn[0]);
    assert.equal(c.auth, "MS-CHAPv2", s);
    assert.equal(c.authok, "yes", s);
    assert.match(c.mppe, /^128-bit/, s);
    // data went through the tunnel both ways, and the hangup was clean
    assert.match(resultsOf(r.results, "ping")[0] ?? "", /^ping ok 3\/3 /, s);
    assert.match(resultsOf(r.results, "srvping")[0] ?? "", /^srvping ok 2\/2 /, s);
    assert.match(resultsOf(r.results, "hangup")[0] ?? "", /^hangup ok /, s);
    assert.equal(r.events.filter((e) => e.startsWith("ip-up ")).length, 2, s);
    assert.match(r.ready ?? "", /^selftest tunnel-up clients=1 up=1 /, s);
  });

  test("client: a host-side `pre` listener on 10.99.0.1:1723 is what the guest's pptp dials", { skip, timeout: 40 * 60_000 }, async () => {
    assert.ok(avail.ok, `lab unavailable: ${avail.why ?? "?"}`);
    // the stand-in accepts and closes at once: pptp must give up, which the guest expects
    const r = await runLab({
      scenario: "client",
      keys: { expect: "fail", uptimeout: 20, pings: 0 },
      pre: peerCommand("close", "--port", "1723", "--host", "10.99.0.1"),
    });
    const s = `${summary(r)}\npre.log:\n${r.preLog}`;
    assert.equal(guestStatus(r.results), "PASS", s);
    assert.equal(r.ok, true, s);
    assert.deepEqual(resultsOf(r.results, "clients").map((l) => fields(l).up), ["0"], s);
    assert.equal(resultsOf(r.results, "pppd-failed").length, 1, s);
    assert.deepEqual(resultsOf(r.results, "expected-failure"), ["expected-failure ok client=1"], s);
    assert.equal(r.ready, undefined, s);
    const accepts = parsePeer(r.preLog).filter((p) => p.op === "accept");
    assert.ok(accepts.length >= 1, s);
    assert.ok(accepts.every((a) => a.from.startsWith("10.99.0.2:")), s);
  });
});
