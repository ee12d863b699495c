/**
 * Runtime `pptp-ts debug` against a real server (loopback TCP, in-memory GRE/TUN) with two of our clients: with
 * `debug negotiation on user alice` asked over a real control socket, the log shows alice's option decisions —
 * from her first LCP Configure-Request on — and none of bob's; `packets` for her session shows decoded PPP and PPTP.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { answerAdmin, type AdminTarget } from "../../src/admin/commands.js";
import { applyDebug } from "../../src/admin/debug.js";
import { openControlSocket, controlRequest } from "../../src/io/control-socket.js";
import { Logger } from "../../src/server/log.js";
import { parseDebugArgs } from "../../src/cli/debug-command.js";
import { rig, dial, waitFor, settings } from "../runtime/server-rig.js";

describe("pptp-ts debug on a running server", () => {
  test("negotiation on for user alice: alice's option decisions, nobody else's; then packets for her session", async () => {
    const lines: string[] = [];
    const logger = new Logger({ categories: ["events", "errors"], sink: (l) => lines.push(l), format: "json" });
    const r = await rig(settings, undefined, { log: logger });
    const path = join(mkdtempSync(join(tmpdir(), "pptpts-dbg-")), "ctl.sock");
    const target: AdminTarget = {
      find: (sel) => r.server.find(sel),
      disconnect: (id, cause, reason) => r.server.disconnect(id, cause, reason),
      changeTimeouts: (id, c) => r.server.changeTimeouts(id, c),
      debug: (req) => applyDebug(logger, req, r.server),
    };
    const sock = await openControlSocket(path, async (req) => answerAdmin(target, req));
    const ask = async (...argv: string[]) => {
      const p = parseDebugArgs([...argv, "--socket", path]);
      assert.ok(typeof p === "object", String(p));
      return (await controlRequest(p.socket, p.request)) as { ok: boolean; debug?: { changed?: string; filters: unknown[] }; error?: string };
    };
    try {
      const on = await ask("negotiation", "on", "user", "alice");
      assert.equal(on.ok, true);
      assert.equal(on.debug?.changed, "negotiation on for user alice");
      const alice = dial(r, "127.0.0.2", "alice", "pw1");
      const bob = dial(r, "127.0.0.3", "bob", "pw2");
      await waitFor(() => alice.up() && bob.up() && r.server.sessionCount === 2, 8000);
      const records = lines.map((l) => JSON.parse(l) as { category: string; user?: string; call?: number; session?: string; msg: string });
      const neg = records.filter((o) => o.category === "negotiation");
      assert.ok(neg.length >= 5, `alice's negotiation is logged (${neg.length} lines)`);
      assert.deepEqual([...new Set(neg.map((o) => o.user))], ["alice"], "only alice's lines");
      assert.ok(neg.some((o) => /^LCP: peer asks <mru \d+> .*<magic 0x[0-9a-f]+>.* \(id \d+\): all acceptable, Configure-Ack$/.test(o.msg)), "her LCP request and our answer, held until she authenticated");
      assert.ok(neg.some((o) => /^LCP: we ask .*<auth chap MS-v2>/.test(o.msg)), "what we asked of her");
      assert.ok(neg.some((o) => /^IPCP: peer asks <addr 0.0.0.0>.*Configure-Nak, we want <addr 192.168.50.1\d>/.test(o.msg)), "her IPCP address decision");
      assert.ok(neg.some((o) => /^CCP: peer asks <mppe .*>/.test(o.msg)), "her CCP decision");
      assert.ok(records.some((o) => o.category === "events" && o.user === "bob"), "bob's events still show");
      const aliceSession = r.server.find({ user: "alice" })[0].sessionId;
      assert.equal(neg.every((o) => o.session === aliceSession), true);

      // packets for alice's session only: an LCP echo exchange is decoded as pppd would.
      const pk = await ask("packets", "on", "session", aliceSession.toLowerCase());
      assert.equal(pk.ok, true, pk.error);
      const before = lines.length;
      const bobSession = r.server.find({ user: "bob" })[0].sessionId;
      assert.deepEqual(await ask("packets", "on", "session", "FFFFFFFFFFFFFFFF"), { ok: false, error: "no session FFFFFFFFFFFFFFFF (pptp-ts show sessions lists them)" });
      assert.ok(r.server.disconnect(aliceSession, "admin-reset", "test"));
      assert.ok(r.server.disconnect(bobSession, "admin-reset", "test"));
      await waitFor(() => r.server.sessionCount === 0, 8000);
      const after = lines.slice(before).map((l) => JSON.parse(l) as { category: string; user?: string; msg: string; durationS?: number });
      const packets = after.filter((o) => o.category === "packets");
      assert.ok(packets.some((o) => /^sent \[LCP TermReq id=0x[0-9a-f]+ "test"\]$/.test(o.msg)), JSON.stringify(packets.map((o) => o.msg)));
      assert.ok(packets.some((o) => /^sent \[CDN call=\d+ result=3 \(Admin Shutdown\)/.test(o.msg) || /^rcvd \[LCP TermAck/.test(o.msg)));
      assert.deepEqual([...new Set(packets.map((o) => o.user))], ["alice"]);
      const down = after.filter((o) => o.category === "events" && /session down: .*; cause admin-reset/.test(o.msg));
      assert.equal(down.length, 2);
      assert.ok(down.every((o) => typeof o.durationS === "number"), "session down carries its totals as fields");

      const off = await ask("negotiation", "off", "user", "alice");
      assert.equal(off.ok, true);
      assert.deepEqual(off.debug?.filters, [{ category: "packets", session: aliceSession }]);
    } finally {
      sock.close();
      await r.stop();
    }
  });
});
