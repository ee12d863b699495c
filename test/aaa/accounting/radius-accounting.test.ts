/**
 * RADIUS accounting judged by Debian's FreeRADIUS: the detail module writes what it received, and we read it back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { requireOrSkip } from "../../support/prerequisites.js";
import { freeradiusMissing, freeUdpPortPair, startFreeRadius } from "../../support/freeradius.js";
import { createRadiusAccounting } from "../../../src/io/radius-accounting.js";
import type { SessionSnapshot } from "../../../src/aaa/types.js";
import { readDetail } from "./detail.js";
import { runChild } from "../../support/child.js";

const skip = requireOrSkip("FreeRADIUS", freeradiusMissing());
const CHILD = fileURLToPath(new URL("./acct-child.js", import.meta.url));
const SECRET = "acct-test-secret";

const session: SessionSnapshot = {
  sessionId: "6E3A0001", callId: 7, user: "alice", peerAddress: "198.51.100.7", localAddress: "203.0.113.1",
  framedAddress: "192.168.50.10", startedAt: Date.now(), durationMs: 0, inOctets: 0, outOctets: 0, inPackets: 0, outPackets: 0,
  backend: "radius 127.0.0.1:1812", policy: { classes: [new TextEncoder().encode("tariff=gold")] },
};

test("Accounting-On, Start, Interim-Update, Stop and Accounting-Off land in FreeRADIUS' detail file as sent", { skip }, async () => {
  const fr = await startFreeRadius({ secret: SECRET, users: [] });
  const dir = mkdtempSync(join(tmpdir(), "acct-"));
  try {
    const acct = await createRadiusAccounting({
      servers: [{ host: fr.address, port: fr.acctPort, secret: new TextEncoder().encode(SECRET) }],
      spoolPath: join(dir, "acct.spool"), spoolMax: 100, timeoutMs: 500, retries: 2, nasIdentifier: "pptp-ts-test", nasIpAddress: "203.0.113.1",
    });
    acct.sink.accountingOn();
    acct.sink.start(session);
    acct.sink.interim({ ...session, durationMs: 61_500, inOctets: 123_456, outOctets: 654_321, inPackets: 100, outPackets: 200 });
    // 5 × 4 GiB + 7 in, 1 byte out: Gigawords 5 and 0 (RFC 2869 §5.1).
    acct.sink.stop({ ...session, durationMs: 3_600_000, inOctets: 5 * 2 ** 32 + 7, outOctets: 1, inPackets: 4_000_000, outPackets: 3 }, "admin-reset");
    await acct.sink.accountingOff();
    assert.equal(await acct.drained(5000), true);
    assert.deepEqual(acct.stats().delivered, 5);
    acct.close();
    const recs = readDetail(fr.radacctDir);
    assert.deepEqual(recs.map((r) => r["Acct-Status-Type"]), ["Accounting-On", "Start", "Interim-Update", "Stop", "Accounting-Off"]);
    const [on, start, interim, stop] = recs;
    assert.equal(on["NAS-Identifier"], "pptp-ts-test");
    assert.equal(on["Acct-Session-Id"], undefined);
    for (const r of [start, interim, stop]) {
      assert.equal(r["Acct-Session-Id"], "6E3A0001");
      assert.equal(r["User-Name"], "alice");
      assert.equal(r["NAS-IP-Address"], "203.0.113.1");
      assert.equal(r["NAS-Port"], "7");
      assert.equal(r["NAS-Port-Type"], "Virtual");
      assert.equal(r["Service-Type"], "Framed-User");
      assert.equal(r["Framed-Protocol"], "PPP");
      assert.equal(r["Framed-IP-Address"], "192.168.50.10");
      assert.equal(r["Calling-Station-Id"], "198.51.100.7");
      assert.equal(r["Called-Station-Id"], "203.0.113.1");
      assert.match(r["Tunnel-Type"], /PPTP/);
      assert.match(r["Tunnel-Medium-Type"], /IPv4/);
      assert.match(r["Tunnel-Client-Endpoint"], /198\.51\.100\.7/);
      assert.equal(r["Acct-Authentic"], "RADIUS");
      assert.match(r["Class"], /^0x7461726966663d676f6c64$/i);
      assert.equal(r["Acct-Delay-Time"], "0");
    }
    assert.equal(interim["Acct-Input-Octets"], "123456");
    assert.equal(interim["Acct-Output-Octets"], "654321");
    assert.equal(interim["Acct-Input-Packets"], "100");
    assert.equal(interim["Acct-Session-Time"], "61");
    assert.equal(stop["Acct-Input-Octets"], "7");
    assert.equal(stop["Acct-Input-Gigawords"], "5");
    assert.equal(stop["Acct-Output-Octets"], "1");
    assert.equal(stop["Acct-Output-Gigawords"], "0");
    assert.equal(stop["Acct-Session-Time"], "3600");
    assert.equal(stop["Acct-Terminate-Cause"], "Admin-Reset");
    assert.equal(start["Acct-Input-Octets"], undefined, "Start carries no counters");
  } finally {
    await fr.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a spool line that is JSON but not a record we write is skipped and named, not sent; the records around it are", { skip }, async () => {
  const fr = await startFreeRadius({ secret: SECRET, users: [] });
  const dir = mkdtempSync(join(tmpdir(), "acct-"));
  const spoolPath = join(dir, "acct.spool");
  const at = Date.now();
  // Line 2: an Acct-Status-Type we never send; line 3: a Framed-IP-Address that is not one.
  writeFileSync(spoolPath, [
    `R 1 ${at} {"status":7}`,
    `R 2 ${at} {"status":42,"sessionId":"6E3A0002"}`,
    `R 3 ${at} {"status":1,"sessionId":"6E3A0003","framed":"192.168.50.999"}`,
    `R 4 ${at} {"status":8}`,
    "",
  ].join("\n"));
  const log: string[] = [];
  let acct: Awaited<ReturnType<typeof createRadiusAccounting>> | undefined;
  try {
    acct = await createRadiusAccounting({
      servers: [{ host: fr.address, port: fr.acctPort, secret: new TextEncoder().encode(SECRET) }],
      spoolPath, spoolMax: 100, timeoutMs: 500, retries: 2, log: (l) => log.push(l),
    });
    assert.equal(await acct.drained(5000), true);
    assert.equal(acct.stats().delivered, 2);
    assert.equal(acct.stats().badLines, 2);
    assert.deepEqual(readDetail(fr.radacctDir).map((r) => r["Acct-Status-Type"]), ["Accounting-On", "Accounting-Off"]);
    for (const n of [2, 3]) assert.ok(log.some((l) => l.startsWith(`${spoolPath}:${n}: unreadable`)), log.join("\n"));
  } finally {
    acct?.close();
    await fr.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

const run = (args: string[]) => runChild(CHILD, args);

test("RADIUS down during sessions, pptp-ts killed with -9, restarted with RADIUS up: every record arrives once, in order, with its delay", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "acct-crash-"));
  const port = await freeUdpPortPair();
  const spool = join(dir, "acct.spool");
  let fr: Awaited<ReturnType<typeof startFreeRadius>> | undefined;
  try {
    // Nothing listens on the accounting port yet: every record stays in the spool.
    const first = run([spool, String(port + 1), SECRET, "4"]);
    await first.waitFor(/^ALL$/m, 20_000);
    await new Promise((r) => setTimeout(r, 1200));
    first.kill();
    await first.exited;
    fr = await startFreeRadius({ secret: SECRET, users: [], authPort: port });
    const second = run([spool, String(port + 1), SECRET, "drain"]);
    await second.waitFor(/^(DONE|STUCK)$/m, 30_000);
    assert.match(second.out(), /^DONE$/m);
    assert.equal(await second.exited, 0);
    const recs = readDetail(fr.radacctDir);
    const seen = recs.map((r) => `${r["Acct-Session-Id"]} ${r["Acct-Status-Type"]}`);
    const expected = [1, 2, 3, 4].flatMap((n) => [`crash-${n} Start`, `crash-${n} Interim-Update`, `crash-${n} Stop`]);
    assert.deepEqual(seen, expected);
    for (const r of recs) assert.ok(Number(r["Acct-Delay-Time"]) >= 1, `Acct-Delay-Time ${r["Acct-Delay-Time"]} counts from the event`);
    const stop4 = recs[11];
    assert.equal(stop4["Acct-Input-Octets"], "20000");
    assert.equal(stop4["Acct-Output-Octets"], "28000");
    assert.equal(stop4["Acct-Terminate-Cause"], "Lost-Carrier");
  } finally {
    await fr?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
