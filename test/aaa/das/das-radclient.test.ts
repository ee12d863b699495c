/**
 * The DAS judged by Debian's radclient (freeradius-utils): Disconnect and CoA requests as a real DAC sends them.
 * A request from a source not on the allow-list is sent from 127.0.0.2 (radclient's Packet-Src-IP-Address).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { requireOrSkip } from "../../support/prerequisites.js";
import { startDasServer, type DasServer } from "../../../src/io/das-udp.js";
import { FakeDirectory, snapshot } from "./fake-directory.js";

const missing = spawnSync("radclient", ["-v"]).error === undefined ? undefined : "radclient is not installed (Debian package freeradius-utils)";
const skip = requireOrSkip("radclient", missing);
const SECRET = "das-secret-1";

/**
 * Three tries by default, as a real DAC retransmits over UDP (RFC 5176 §2.3; the DAS answers a retransmission from
 * its cache without acting twice): one radclient run in CI once saw "No reply" for a request the DAS serves.
 */
function radclient(port: number, cmd: "disconnect" | "coa", input: string, secret = SECRET, tries = 3): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn("radclient", ["-x", "-r", String(tries), "-t", "0.5", `127.0.0.1:${port}`, cmd, secret]);
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("exit", (code) => resolve({ code, out }));
    p.stdin.end(input);
  });
}

async function withDas(dir: FakeDirectory, fn: (das: DasServer, logs: string[]) => Promise<void>): Promise<void> {
  const logs: string[] = [];
  const das = await startDasServer({
    listen: "127.0.0.1", port: 0, secret: new TextEncoder().encode(SECRET), clients: ["127.0.0.1"], directory: dir,
    nasIdentifier: "pptp-ts", nasIpAddresses: ["203.0.113.1"], log: (l) => logs.push(l),
  });
  try {
    await fn(das, logs);
  } finally {
    await das.close();
  }
}

test("radclient Disconnect-Request by Acct-Session-Id ends that session with Admin-Reset and gets Disconnect-ACK", { skip }, async () => {
  const dir = new FakeDirectory([snapshot("S1", "alice", "192.168.50.10"), snapshot("S2", "bob", "192.168.50.11")]);
  await withDas(dir, async (das) => {
    const r = await radclient(das.port, "disconnect", `Acct-Session-Id = "S1"\nNAS-Identifier = "pptp-ts"\nEvent-Timestamp = ${Math.floor(Date.now() / 1000)}\n`);
    assert.match(r.out, /Received Disconnect-ACK/);
    assert.equal(r.code, 0);
    assert.deepEqual(dir.disconnected.map((d) => [d.sessionId, d.cause]), [["S1", "admin-reset"]]);
    assert.match(dir.disconnected[0].reason, /Disconnect-Request from 127\.0\.0\.1/);
    assert.deepEqual(dir.sessions.map((s) => s.sessionId), ["S2"]);
  });
});

test("radclient Disconnect-Request by User-Name and Framed-IP-Address: both must match", { skip }, async () => {
  const dir = new FakeDirectory([snapshot("S1", "alice", "192.168.50.10"), snapshot("S2", "alice", "192.168.50.11")]);
  await withDas(dir, async (das, logs) => {
    const r = await radclient(das.port, "disconnect", `User-Name = "alice"\nFramed-IP-Address = 192.168.50.11\n`);
    assert.match(r.out, /Received Disconnect-ACK/, `DAS log: ${logs.join(" | ")}`);
    assert.deepEqual(dir.disconnected.map((d) => d.sessionId), ["S2"]);
  });
});

test("radclient Disconnect-Request for an unknown session gets Disconnect-NAK with Error-Cause 503", { skip }, async () => {
  const dir = new FakeDirectory([snapshot("S1", "alice", "192.168.50.10")]);
  await withDas(dir, async (das) => {
    const r = await radclient(das.port, "disconnect", `Acct-Session-Id = "NOPE"\n`);
    assert.match(r.out, /Received Disconnect-NAK/);
    assert.match(r.out, /Error-Cause = Session-Context-Not-Found/);
    assert.equal(dir.disconnected.length, 0);
  });
});

test("radclient Disconnect-Request naming another NAS gets NAK 403; an unsupported attribute NAK 401", { skip }, async () => {
  const dir = new FakeDirectory([snapshot("S1", "alice", "192.168.50.10")]);
  await withDas(dir, async (das) => {
    let r = await radclient(das.port, "disconnect", `Acct-Session-Id = "S1"\nNAS-IP-Address = 10.9.9.9\n`);
    assert.match(r.out, /Error-Cause = NAS-Identification-Mismatch/);
    r = await radclient(das.port, "disconnect", `Acct-Session-Id = "S1"\nFramed-MTU = 1400\n`);
    assert.match(r.out, /Error-Cause = Unsupported-Attribute/);
    assert.equal(dir.disconnected.length, 0);
  });
});

test("a request from a source not on the allow-list is ignored, counted and logged", { skip }, async () => {
  const dir = new FakeDirectory([snapshot("S1", "alice", "192.168.50.10")]);
  await withDas(dir, async (das, logs) => {
    const r = await radclient(das.port, "disconnect", `Acct-Session-Id = "S1"\nPacket-Src-IP-Address = 127.0.0.2\n`, SECRET, 3);
    assert.match(r.out, /No reply from server/);
    assert.equal(dir.disconnected.length, 0);
    assert.equal(das.counters().notAllowed, 3, "the request and radclient's two retries");
    assert.equal(logs.filter((l) => /127\.0\.0\.2, which is not in \[das\] clients/.test(l)).length, 1, "rate-limited: one line");
  });
});

test("a request with the wrong shared secret is ignored and the log says to check the secret", { skip }, async () => {
  const dir = new FakeDirectory([snapshot("S1", "alice", "192.168.50.10")]);
  await withDas(dir, async (das, logs) => {
    const r = await radclient(das.port, "disconnect", `Acct-Session-Id = "S1"\n`, "not-the-secret", 1);
    assert.match(r.out, /No reply from server/);
    assert.equal(dir.disconnected.length, 0);
    assert.ok(das.counters().badAuthenticator >= 1);
    assert.ok(logs.some((l) => /check the shared secret/.test(l)));
  });
});

test("radclient CoA-Request changes Session-Timeout and Idle-Timeout of the live session and gets CoA-ACK", { skip }, async () => {
  const dir = new FakeDirectory([snapshot("S1", "alice", "192.168.50.10"), snapshot("S2", "bob", "192.168.50.11")]);
  await withDas(dir, async (das) => {
    let r = await radclient(das.port, "coa", `User-Name = "bob"\nSession-Timeout = 600\nIdle-Timeout = 120\n`);
    assert.match(r.out, /Received CoA-ACK/);
    assert.deepEqual(dir.changed, [{ sessionId: "S2", sessionTimeoutMs: 600_000, idleTimeoutMs: 120_000 }]);
    r = await radclient(das.port, "coa", `User-Name = "bob"\nService-Type = Authorize-Only\n`);
    assert.match(r.out, /Received CoA-NAK/);
    assert.match(r.out, /Error-Cause = Unsupported-Service/);
    r = await radclient(das.port, "coa", `User-Name = "bob"\nFramed-IP-Address = 192.168.50.99\nSession-Timeout = 5\n`);
    assert.match(r.out, /Error-Cause = Session-Context-Not-Found/);
    assert.equal(dir.changed.length, 1);
  });
});
