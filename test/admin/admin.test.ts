/**
 * The control socket and `show sessions` / `clear`: requests checked field by field, the table an operator reads,
 * and a real server with a real client (in-memory GRE/TUN, loopback TCP) shown and cleared over a real socket.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, statSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as net from "node:net";
import { answerAdmin, parseAdminRequest } from "../../src/admin/commands.js";
import { sessionTable, poolTable, statsText, formatBytes, formatDuration } from "../../src/admin/session-table.js";
import { openControlSocket, controlRequest } from "../../src/io/control-socket.js";
import type { SessionDirectory, SessionSnapshot } from "../../src/aaa/types.js";
import { rig, dial, waitFor, settings } from "../runtime/server-rig.js";
import { AddressPool } from "../../src/server/pool.js";
import { fakeIpPacket } from "../support/random.js";

function snap(id: string, user: string, addr: string): SessionSnapshot {
  return {
    sessionId: id,
    callId: 7,
    user,
    method: "mschap-v2",
    mppe: "128-bit stateless",
    peerAddress: "198.51.100.7",
    localAddress: "203.0.113.1",
    framedAddress: addr,
    startedAt: 0,
    durationMs: 3_723_000,
    inOctets: 1536,
    outOctets: 5 * 1024 * 1024,
    inPackets: 12,
    outPackets: 3400,
    idleMs: 61_000,
    peerCallId: 40,
    ...(user === "alice" ? { peerName: "branch" } : {}),
  };
}

class FakeDirectory implements SessionDirectory {
  sessions = [snap("00000001000000AA", "alice", "10.0.0.10"), snap("00000001000000AB", "bob", "10.0.0.11")];
  cleared: string[] = [];
  find(sel: { sessionId?: string; user?: string; framedAddress?: string }) {
    return this.sessions.filter(
      (s) => (sel.sessionId === undefined || s.sessionId === sel.sessionId) && (sel.user === undefined || s.user === sel.user) && (sel.framedAddress === undefined || s.framedAddress === sel.framedAddress),
    );
  }
  disconnect(id: string) {
    this.cleared.push(id);
    return true;
  }
  changeTimeouts() {
    return false;
  }
}

describe("admin requests", () => {
  test("malformed requests get a clear error and never reach the server", async () => {
    assert.equal(parseAdminRequest(null), "a request is a JSON object");
    assert.equal(parseAdminRequest({ cmd: "reboot" }), 'unknown command "reboot"');
    assert.equal(parseAdminRequest({ cmd: "clear" }), 'clear needs a session ID, a user, an address or "all"');
    assert.equal(parseAdminRequest({ cmd: "show-sessions", select: { framedAddress: "10.0.0.300" } }), '"10.0.0.300" is not an IPv4 address');
    assert.equal(parseAdminRequest({ cmd: "show-sessions", select: { callId: "3" } }), 'unknown selector "callId" (use sessionId, user or framedAddress)');
    const d = new FakeDirectory();
    assert.deepEqual(await answerAdmin(d, { cmd: "clear", select: { user: "" } }), { ok: false, error: "select.user must be a non-empty string" });
    assert.deepEqual(d.cleared, []);
  });

  test("show selects, clear ends exactly the matching sessions, an unknown user is an error", async () => {
    const d = new FakeDirectory();
    const shown = await answerAdmin(d, { cmd: "show-sessions", select: { user: "bob" } });
    assert.ok(shown.ok && "sessions" in shown);
    assert.deepEqual(shown.sessions.map((s) => s.user), ["bob"]);
    assert.deepEqual(await answerAdmin(d, { cmd: "clear", select: { framedAddress: "10.0.0.10" } }), { ok: true, cleared: ["00000001000000AA"] });
    assert.deepEqual(await answerAdmin(d, { cmd: "clear", select: { user: "carol" } }), { ok: false, error: "no session matches user carol" });
    assert.deepEqual(await answerAdmin(d, { cmd: "clear", all: true }), { ok: true, cleared: ["00000001000000AA", "00000001000000AB"] });
  });

  test("the session table: aligned columns, readable sizes and times", () => {
    assert.equal(formatDuration(3_723_000), "01:02:03");
    assert.equal(formatDuration(90_061_000), "1d 01:01:01");
    assert.equal(formatBytes(512), "512 B");
    assert.equal(formatBytes(5 * 1024 * 1024), "5.0 MiB");
    const t = sessionTable(new FakeDirectory().sessions).split("\n");
    assert.match(t[0], /^SESSION\s+CALL\/PEER\s+USER\s+CLIENT\s+ADDRESS\s+AUTH\s+MPPE\s+UPTIME\s+IDLE\s+IN\s+OUT\s+PKTS IN\/OUT\s+NAMED PEER$/);
    assert.match(t[1], /^00000001000000AA\s+7\/40\s+alice\s+198\.51\.100\.7\s+10\.0\.0\.10\s+MS-CHAPv2\s+128-bit stateless\s+01:02:03\s+00:01:01\s+1\.5 KiB\s+5\.0 MiB\s+12\/3400\s+branch$/);
    assert.match(t[2], /\s12\/3400\s+-$/, "no named peer: a dash");
    assert.equal(t[1].indexOf("198.51"), t[2].indexOf("198.51"), "columns line up");
    assert.equal(t[3], "2 sessions");
    assert.equal(
      poolTable([{ name: "default", ranges: "10.0.0.10-10.0.0.254", size: 245, inUse: 12, free: 231, reserved: 2 }, { name: "office", ranges: "10.1.0.1-10.1.0.9" }]),
      "POOL     SIZE  USED  FREE  STATIC  RANGES\ndefault  245   12    231   2       10.0.0.10-10.0.0.254\noffice   -     -     -     -       10.1.0.1-10.1.0.9\n",
    );
    assert.equal(statsText({ sessions: { up: 3, "calls-total": 17 }, "client-errors": {} }), "sessions:\n  up           3\n  calls-total  17\nclient-errors:\n  none\n");
  });
});

describe("control socket", () => {
  test("answers one JSON line per request, mode 0660; a stale file is replaced; a live one refuses a second instance", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pptpts-ctl-"));
    const path = join(dir, "run", "ctl.sock");
    const d = new FakeDirectory();
    const a = await openControlSocket(path, async (req) => answerAdmin(d, req));
    try {
      assert.equal(statSync(path).mode & 0o777, 0o660);
      const r = (await controlRequest(path, { cmd: "show-sessions" })) as { ok: boolean; sessions: unknown[] };
      assert.equal(r.sessions.length, 2);
      assert.deepEqual(await controlRequest(path, { cmd: "nope" }), { ok: false, error: 'unknown command "nope"' });
      // garbage on the socket: an error line, and the connection still answers afterwards
      const raw = await new Promise<string>((resolve) => {
        const c = net.connect(path);
        let got = "";
        c.on("data", (b) => {
          got += b.toString();
          if (got.split("\n").length > 2) {
            c.end();
            resolve(got);
          }
        });
        c.write("{not json\n" + JSON.stringify({ cmd: "show-sessions", select: { user: "alice" } }) + "\n");
      });
      const [first, second] = raw.trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(first, { ok: false, error: "not a JSON request" });
      assert.equal(second.sessions.length, 1);
      await assert.rejects(openControlSocket(path, async () => ({})), /another pptp-ts is running: its control socket .* answers/);
    } finally {
      a.close();
    }
    assert.ok(!existsSync(path), "removed at close");
    writeFileSync(path, ""); // a stale file (a regular file stands in for a socket nobody answers)
    const b = await openControlSocket(path, async (req) => answerAdmin(d, req));
    b.close();
    await assert.rejects(controlRequest(path, { cmd: "show-sessions" }), /no pptp-ts server is running with control socket/);
  });

  test("a real server: show lists the client's session with its counters; clear user ends exactly that session", async () => {
    const pool = new AddressPool(settings.ppp.pool);
    pool.reserve(["192.168.50.20"]);
    const r = await rig(settings, undefined, { pool });
    const dir = mkdtempSync(join(tmpdir(), "pptpts-ctl-"));
    const path = join(dir, "ctl.sock");
    const sock = await openControlSocket(path, async (req) => answerAdmin(r.server, req));
    try {
      const alice = dial(r, "127.0.0.2", "alice", "pw1");
      const bob = dial(r, "127.0.0.3", "bob", "pw2");
      await waitFor(() => alice.up() && bob.up() && r.server.sessionCount === 2, 8000);
      const addr = r.server.sessions().find((x) => x.user === "alice")!.address!;
      const up = fakeIpPacket(300, 1, addr, "10.1.1.1");
      assert.ok(alice.client.sendIp(alice.now(), alice.client.currentCallId!, up, 0, up.length));
      await waitFor(() => r.tun.written.length > 0);
      r.tun.inject(fakeIpPacket(1000, 2, "10.1.1.1", addr));
      await waitFor(() => alice.ipIn.length > 0);
      const all = (await controlRequest(path, { cmd: "show-sessions" })) as { ok: true; sessions: SessionSnapshot[] };
      assert.equal(all.sessions.length, 2);
      console.log(sessionTable(all.sessions));
      const shown = (await controlRequest(path, { cmd: "show-sessions", select: { user: "alice" } })) as { ok: true; sessions: SessionSnapshot[] };
      assert.equal(shown.sessions.length, 1);
      assert.equal(shown.sessions[0].user, "alice");
      assert.equal(shown.sessions[0].peerAddress, "127.0.0.2");
      assert.equal(shown.sessions[0].mppe, "128-bit stateless");
      assert.match(shown.sessions[0].sessionId, /^[0-9A-F]{16}$/);
      assert.equal(shown.sessions[0].peerCallId, alice.client.currentCallId, "the client's own Call ID");
      assert.ok(typeof shown.sessions[0].idleMs === "number" && shown.sessions[0].idleMs <= shown.sessions[0].durationMs, "idle time since alice last sent");
      assert.deepEqual([shown.sessions[0].inPackets, shown.sessions[0].inOctets, shown.sessions[0].outPackets, shown.sessions[0].outOctets], [1, 300, 1, 1000]);
      const cleared = (await controlRequest(path, { cmd: "clear", select: { user: "alice" } })) as { ok: true; cleared: string[] };
      assert.deepEqual(cleared.cleared, [shown.sessions[0].sessionId]);
      await waitFor(() => alice.down() !== undefined && r.server.sessionCount === 1, 8000);
      assert.ok(bob.up(), "bob's session is untouched");
      assert.match(r.lines.join("\n"), /user=alice .*administrative reset \(pptp-ts clear\)/);
      const pools = (await controlRequest(path, { cmd: "show-pool" })) as { ok: true; pools: { name: string; ranges: string; size: number; inUse: number; free: number; reserved: number }[] };
      const size = pool.size;
      assert.deepEqual(pools.pools[0], { name: "default", ranges: settings.ppp.pool.map((x) => `${x.first}-${x.last}`).join(", "), size, inUse: 1, free: size - 2, reserved: 1 });
      console.log(poolTable(pools.pools));
      const st = (await controlRequest(path, { cmd: "show-stats" })) as { ok: true; stats: Record<string, Record<string, number>> };
      assert.equal(st.stats.sessions.up, 1);
      assert.equal(st.stats.sessions.established, 2);
      assert.deepEqual(st.stats["ended-by-cause"], { "admin-reset": 1 });
      assert.equal(st.stats["gre-drops"].malformed, 0);
      console.log(statsText(st.stats));
      bob.hangUp();
    } finally {
      sock.close();
      await r.stop();
    }
  });
});
