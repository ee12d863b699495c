/**
 * A real scrape of a running server with sessions (the server driver on loopback TCP, in-memory GRE/TUN, our own
 * client engine dialling it): `promtool check metrics` passes on it, the counters move with the packets pushed
 * through, agree with `show stats` over the control socket, and do not go down when a session ends.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PptpMetrics } from "../../src/admin/metrics.js";
import { answerAdmin } from "../../src/admin/commands.js";
import { openControlSocket, controlRequest } from "../../src/io/control-socket.js";
import { openMetricsHttp } from "../../src/io/metrics-http.js";
import { rig, dial, waitFor, settings } from "../runtime/server-rig.js";
import { fakeIpPacket } from "../support/random.js";
import { AddressPool } from "../../src/server/pool.js";
import { requireOrSkip } from "../support/prerequisites.js";
import { parseExposition, promtoolCheck, promtoolMissing } from "./metrics-support.js";

type Stats = Record<string, Record<string, number>>;

describe("metrics of a running server", () => {
  test("promtool passes a real scrape; counters move with traffic, match show stats, and survive the session's end", { skip: requireOrSkip("promtool", promtoolMissing()), timeout: 30_000 }, async () => {
    const pool = new AddressPool(settings.ppp.pool);
    const r = await rig(settings, undefined, { pool });
    const dir = mkdtempSync(join(tmpdir(), "pptpts-metrics-"));
    const sockPath = join(dir, "ctl.sock");
    const sock = await openControlSocket(sockPath, async (req) => answerAdmin(r.server, req));
    const metrics = new PptpMetrics(() => r.server);
    const http = await openMetricsHttp({ address: "127.0.0.1", port: 0, path: "/metrics", scrape: () => metrics.scrape() });
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${http.address.port}/metrics`);
      assert.equal(res.status, 200);
      const text = await res.text();
      return { text, ...parseExposition(text) };
    };
    const showStats = async () => ((await controlRequest(sockPath, { cmd: "show-stats" })) as { ok: true; stats: Stats }).stats;
    try {
      const before = await scrape();
      assert.equal(before.samples.get('pptp_traffic_bytes_total{direction="in"}'), 0);

      const alice = dial(r, "127.0.0.2", "alice", "pw1");
      const bob = dial(r, "127.0.0.3", "bob", "pw2");
      await waitFor(() => alice.up() && bob.up() && r.server.sessionCount === 2, 8000);
      // a few packets each way through alice's session: 3 × 300 octets in, 2 × 1000 out
      const addr = r.server.sessions().find((x) => x.user === "alice")!.address!;
      for (let i = 0; i < 3; i++) {
        const up = fakeIpPacket(300, 10 + i, addr, "10.1.1.1");
        assert.ok(alice.client.sendIp(alice.now(), alice.client.currentCallId!, up, 0, up.length));
      }
      await waitFor(() => r.tun.written.length >= 3);
      for (let i = 0; i < 2; i++) r.tun.inject(fakeIpPacket(1000, 20 + i, "10.1.1.1", addr));
      await waitFor(() => alice.ipIn.length >= 2);

      const live = await scrape();
      const check = promtoolCheck(live.text);
      assert.equal(check.status, 0, check.output);
      const v = (e: typeof live, k: string) => {
        assert.ok(e.samples.has(k), `no ${k} in\n${e.text}`);
        return e.samples.get(k)!;
      };
      assert.equal(v(live, 'pptp_sessions{state="up"}'), 2);
      assert.equal(v(live, "pptp_sessions_established_total"), 2);
      assert.equal(v(live, "pptp_calls_total"), 2);
      assert.equal(v(live, 'pptp_traffic_packets_total{direction="in"}'), 3);
      assert.equal(v(live, 'pptp_traffic_bytes_total{direction="in"}'), 900);
      assert.equal(v(live, 'pptp_traffic_packets_total{direction="out"}'), 2);
      assert.equal(v(live, 'pptp_traffic_bytes_total{direction="out"}'), 2000);
      assert.equal(v(live, 'pptp_pool_used_addresses{pool="default"}'), 2);
      assert.equal(v(live, 'pptp_pool_size_addresses{pool="default"}'), pool.size);
      assert.equal(v(live, 'pptp_pool_free_addresses{pool="default"}'), pool.size - 2);
      assert.ok(v(live, "process_resident_memory_bytes") > 0);

      // the same numbers as `pptp-ts show stats`
      const st = await showStats();
      assert.equal(v(live, 'pptp_sessions{state="up"}'), st.sessions.up);
      assert.equal(v(live, "pptp_calls_total"), st.sessions["calls-total"]);
      assert.equal(v(live, "pptp_sessions_established_total"), st.sessions.established);
      assert.equal(v(live, "pptp_calls_refused_total"), st.sessions.refused);
      assert.equal(v(live, 'pptp_traffic_bytes_total{direction="in"}'), st.traffic["bytes-in"]);
      assert.equal(v(live, 'pptp_traffic_bytes_total{direction="out"}'), st.traffic["bytes-out"]);
      for (const [reason, n] of Object.entries(st["gre-drops"])) assert.equal(v(live, `pptp_gre_dropped_packets_total{reason="${reason.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}"}`), n, reason);
      assert.equal(v(live, 'pptp_tun_dropped_packets_total{reason="no-route"}'), st.tun["no-route"]);

      // alice is cleared: her session's traffic stays in the totals, the end is counted by its cause
      assert.deepEqual(await controlRequest(sockPath, { cmd: "clear", select: { user: "alice" } }), { ok: true, cleared: [r.server.find({ user: "alice" })[0].sessionId] });
      await waitFor(() => alice.down() !== undefined && r.server.sessionCount === 1, 8000);
      await waitFor(() => (r.server.stats()["ended-by-cause"]["admin-reset"] ?? 0) === 1, 8000);
      const after = await scrape();
      assert.equal(promtoolCheck(after.text).status, 0);
      assert.equal(v(after, 'pptp_sessions{state="up"}'), 1);
      assert.equal(v(after, 'pptp_pool_used_addresses{pool="default"}'), 1);
      assert.equal(v(after, 'pptp_sessions_ended_total{cause="admin-reset"}'), 1);
      for (const k of ['pptp_traffic_bytes_total{direction="in"}', 'pptp_traffic_bytes_total{direction="out"}', 'pptp_traffic_packets_total{direction="in"}', 'pptp_traffic_packets_total{direction="out"}']) {
        assert.ok(v(after, k) >= v(live, k), `${k} went down from ${v(live, k)} to ${v(after, k)} when the session ended`);
      }
      assert.equal(v(after, 'pptp_traffic_bytes_total{direction="in"}'), 900);
      const st2 = await showStats();
      assert.equal(v(after, 'pptp_traffic_bytes_total{direction="out"}'), st2.traffic["bytes-out"]);
      console.log(after.text.split("\n").filter((l) => /^pptp_(sessions|traffic|calls_total|gre_dropped|pool_)/.test(l)).join("\n"));
      bob.hangUp();
    } finally {
      await http.close();
      sock.close();
      await r.stop();
    }
  });
});
