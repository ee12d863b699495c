/**
 * The AdminTarget → Prometheus mapping (src/admin/metrics.ts) from a fake server that has every part of the contract
 * (stats, pools, tunnels, peers), and the HTTP edge (src/io/metrics-http.ts): one path, GET only, a clear error
 * for an address that cannot be bound.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { PptpMetrics, CLIENT_ERROR_CODES } from "../../src/admin/metrics.js";
import type { AdminTarget, PeerLine, PoolLine, TunnelLine } from "../../src/admin/commands.js";
import { TERMINATE_CAUSE_CODE } from "../../src/aaa/types.js";
import { openMetricsHttp } from "../../src/io/metrics-http.js";
import { VERSION } from "../../src/version.js";
import { parseExposition, promtoolCheck, promtoolMissing } from "./metrics-support.js";
import { requireOrSkip } from "../support/prerequisites.js";

class FakeServer implements AdminTarget {
  stats_: Record<string, Record<string, number>> = {
    sessions: { up: 3, calls: 5, "calls-total": 40, established: 31, refused: 2, "control-connections": 6 },
    "ended-by-cause": { "user-request": 20, "lost-carrier": 4, "user-error": 3 },
    "client-errors": { "691": 2, "742": 1 },
    "gre-drops": { malformed: 7, unknownCall: 11, wrongPeer: 1, wrongLocalAddress: 0 },
    tun: { "no-route": 9, dropped: 2 },
    traffic: { "bytes-in": 123456, "bytes-out": 654321, "packets-in": 1000, "packets-out": 2000 },
    "radius 10.0.0.5:1812": { requests: 50, retransmissions: 4, responses: 46, timeouts: 4, dropped: 1 },
    "radius 10.0.0.6:1812": { requests: 4, retransmissions: 0, responses: 4, timeouts: 0, dropped: 0 },
    "accounting-spool radius": { pending: 3, accepted: 120, delivered: 117, dropped: 2, refused: 1, retries: 9, "bad-lines": 1 },
    "accounting-spool tacacs": { pending: 0, accepted: 40, delivered: 40, dropped: 0, refused: 0, retries: 0, "bad-lines": 0, rejected: 2 },
    "data-plane": { workers: 2, "calls-handed-off": 1, renegotiations: 3, "calls-lost-with-worker": 4, "worker-restarts": 1, "gre-forward-lost": 5, "worker-1-calls": 7, "worker-2-calls": 6 },
  };
  pools: PoolLine[] = [
    { name: "default", ranges: "192.168.50.10-192.168.50.254", size: 245, inUse: 3, free: 240, reserved: 2 },
    { name: "office", ranges: "10.20.0.10-10.20.0.50", size: 41, inUse: 0, free: 41, reserved: 0 },
  ];
  tunnelLines: TunnelLine[] = [
    { role: "server", remote: "198.51.100.7:50000", state: "established", calls: 2, callIds: [1, 2], uptimeMs: 1000 },
    { role: "server", remote: "198.51.100.8:50001", state: "established", calls: 1, callIds: [3], uptimeMs: 1000 },
    { role: "server", remote: "198.51.100.9:50002", state: "wait-sccrq", calls: 0, callIds: [], uptimeMs: 10 },
    { role: "client", remote: "203.0.113.1:1723", peerName: "hq", state: "established", calls: 1, callIds: [9], uptimeMs: 5000 },
  ];
  peerLines: PeerLine[] = [
    { name: "hq", state: "up", server: "203.0.113.1", failures: 0, upForMs: 5000 },
    { name: "branch", state: "retry-wait", failures: 3, lastError: "authentication failed (691)", lastErrorCode: 691, nextRedialInMs: 4000 },
  ];
  find() {
    return [];
  }
  disconnect() {
    return false;
  }
  changeTimeouts() {
    return false;
  }
  stats() {
    return this.stats_;
  }
  poolStatus() {
    return this.pools;
  }
  tunnels() {
    return this.tunnelLines;
  }
  peerStatus() {
    return this.peerLines;
  }
}

async function scrape(m: PptpMetrics) {
  const s = await m.scrape();
  return { ...parseExposition(s.body), text: s.body, contentType: s.contentType };
}

describe("metrics: the mapping from the admin contract", () => {
  test("every topic becomes the expected samples", async () => {
    const fake = new FakeServer();
    const e = await scrape(new PptpMetrics(() => fake, { processMetrics: false }));
    const v = (k: string) => {
      assert.ok(e.samples.has(k), `no sample ${k} in\n${e.text}`);
      return e.samples.get(k);
    };
    assert.equal(v(`pptp_build_info{version="${VERSION}"}`), 1);
    assert.equal(v('pptp_sessions{state="up"}'), 3);
    assert.equal(v('pptp_sessions{state="negotiating"}'), 2);
    assert.equal(v("pptp_calls_total"), 40);
    assert.equal(v("pptp_calls_refused_total"), 2);
    assert.equal(v("pptp_sessions_established_total"), 31);
    assert.equal(v('pptp_sessions_ended_total{cause="user-request"}'), 20);
    assert.equal(v('pptp_sessions_ended_total{cause="lost-carrier"}'), 4);
    assert.equal(v('pptp_sessions_ended_total{cause="user-error"}'), 3);
    // causes and client errors that never happened are there at 0, so the first one shows up in rate()
    assert.equal(v('pptp_sessions_ended_total{cause="idle-timeout"}'), 0);
    for (const c of Object.keys(TERMINATE_CAUSE_CODE)) assert.ok(e.samples.has(`pptp_sessions_ended_total{cause="${c}"}`), c);
    assert.equal(v('pptp_session_client_errors_total{code="691"}'), 2);
    assert.equal(v('pptp_session_client_errors_total{code="742"}'), 1);
    for (const c of CLIENT_ERROR_CODES) assert.ok(e.samples.has(`pptp_session_client_errors_total{code="${c}"}`), String(c));
    assert.equal(v('pptp_session_client_errors_total{code="806"}'), 0);
    assert.equal(v('pptp_traffic_bytes_total{direction="in"}'), 123456);
    assert.equal(v('pptp_traffic_bytes_total{direction="out"}'), 654321);
    assert.equal(v('pptp_traffic_packets_total{direction="in"}'), 1000);
    assert.equal(v('pptp_traffic_packets_total{direction="out"}'), 2000);
    assert.equal(v('pptp_gre_dropped_packets_total{reason="malformed"}'), 7);
    assert.equal(v('pptp_gre_dropped_packets_total{reason="unknown-call"}'), 11);
    assert.equal(v('pptp_gre_dropped_packets_total{reason="wrong-peer"}'), 1);
    assert.equal(v('pptp_gre_dropped_packets_total{reason="wrong-local-address"}'), 0);
    assert.equal(v('pptp_tun_dropped_packets_total{reason="no-route"}'), 9);
    assert.equal(v('pptp_tun_dropped_packets_total{reason="dropped"}'), 2);
    assert.equal(v('pptp_control_connections{role="server",state="established"}'), 2);
    assert.equal(v('pptp_control_connections{role="server",state="wait-sccrq"}'), 1);
    assert.equal(v('pptp_control_connections{role="client",state="established"}'), 1);
    assert.equal(v('pptp_pool_size_addresses{pool="default"}'), 245);
    assert.equal(v('pptp_pool_used_addresses{pool="default"}'), 3);
    assert.equal(v('pptp_pool_free_addresses{pool="default"}'), 240);
    assert.equal(v('pptp_pool_static_addresses{pool="default"}'), 2);
    assert.equal(v('pptp_pool_size_addresses{pool="office"}'), 41);
    assert.equal(v('pptp_peer_up{peer="hq"}'), 1);
    assert.equal(v('pptp_peer_up{peer="branch"}'), 0);
    assert.equal(v('pptp_peer_consecutive_failures{peer="branch"}'), 3);
    assert.equal(v('pptp_peer_state{peer="branch",state="retry-wait"}'), 1);
    assert.equal(v('pptp_peer_state{peer="branch",state="up"}'), 0);
    assert.equal(v('pptp_aaa_requests_total{backend="radius",server="10.0.0.5:1812"}'), 50);
    assert.equal(v('pptp_aaa_retransmissions_total{backend="radius",server="10.0.0.5:1812"}'), 4);
    assert.equal(v('pptp_aaa_responses_total{backend="radius",server="10.0.0.5:1812"}'), 46);
    assert.equal(v('pptp_aaa_timeouts_total{backend="radius",server="10.0.0.5:1812"}'), 4);
    assert.equal(v('pptp_aaa_dropped_replies_total{backend="radius",server="10.0.0.5:1812"}'), 1);
    assert.equal(v('pptp_aaa_requests_total{backend="radius",server="10.0.0.6:1812"}'), 4);
    // Each backend's accounting spool (show stats "accounting-spool radius" / "... tacacs"): what waits, and what was
    // delivered, dropped for room, refused (lost), retried and unreadable.
    assert.equal(v('pptp_accounting_spool_records{backend="radius"}'), 3);
    assert.equal(v('pptp_accounting_spool_delivered_total{backend="radius"}'), 117);
    assert.equal(v('pptp_accounting_spool_dropped_total{backend="radius"}'), 2);
    assert.equal(v('pptp_accounting_spool_refused_total{backend="radius"}'), 1);
    assert.equal(v('pptp_accounting_spool_retries_total{backend="radius"}'), 9);
    assert.equal(v('pptp_accounting_spool_bad_lines_total{backend="radius"}'), 1);
    assert.equal(v('pptp_accounting_spool_records{backend="tacacs"}'), 0);
    assert.equal(v('pptp_accounting_spool_delivered_total{backend="tacacs"}'), 40);
    // Records a TACACS+ server refused (ERROR) accounting-error-limit times while it took the ones behind: LOST.
    assert.equal(v('pptp_accounting_spool_rejected_dropped_total{backend="tacacs"}'), 2);
    // The data-plane workers (show stats "data-plane"): how many, calls on each, and what a hand-off or a dying
    // worker cost.
    assert.equal(v("pptp_dataplane_workers"), 2);
    assert.equal(v('pptp_dataplane_calls{worker="1"}'), 7);
    assert.equal(v('pptp_dataplane_calls{worker="2"}'), 6);
    assert.equal(v("pptp_dataplane_calls_handing_off"), 1);
    assert.equal(v("pptp_dataplane_renegotiations_total"), 3);
    assert.equal(v("pptp_dataplane_calls_lost_total"), 4);
    assert.equal(v("pptp_dataplane_worker_restarts_total"), 1);
    assert.equal(v("pptp_dataplane_gre_forward_lost_total"), 5);
    assert.match(e.contentType, /^text\/plain; version=0\.0\.4/);
  });

  test("types, units and help: counters end in _total, every family has HELP, no per-session or per-user label", async () => {
    const e = await scrape(new PptpMetrics(() => new FakeServer(), { processMetrics: false }));
    const pptp = [...e.types.keys()].filter((n) => n.startsWith("pptp_"));
    assert.ok(pptp.length >= 20, pptp.join(" "));
    for (const n of pptp) {
      assert.ok((e.help.get(n) ?? "").length > 10, `${n} has a HELP text`);
      assert.equal(e.types.get(n) === "counter", n.endsWith("_total"), `${n}: a counter ends in _total and only a counter does`);
    }
    for (const n of ["pptp_traffic_bytes_total", "pptp_calls_total", "pptp_sessions_ended_total", "pptp_gre_dropped_packets_total", "pptp_aaa_timeouts_total"]) assert.equal(e.types.get(n), "counter", n);
    for (const n of ["pptp_sessions", "pptp_pool_used_addresses", "pptp_peer_up", "pptp_control_connections"]) assert.equal(e.types.get(n), "gauge", n);
    for (const k of e.samples.keys()) assert.doesNotMatch(k, /(session_id|user|call_id|address)=/, k);
  });

  test("values follow the server between scrapes; label sets that went away (a pool, a peer) go", async () => {
    const fake = new FakeServer();
    const m = new PptpMetrics(() => fake, { processMetrics: false });
    await scrape(m);
    fake.stats_ = { ...fake.stats_, sessions: { ...fake.stats_.sessions, up: 1, calls: 1, "calls-total": 41 }, traffic: { "bytes-in": 200000, "bytes-out": 700000, "packets-in": 1100, "packets-out": 2100 } };
    fake.pools = fake.pools.slice(0, 1);
    fake.peerLines = [{ name: "hq", state: "retry-wait", failures: 1 }];
    const e = await scrape(m);
    assert.equal(e.samples.get('pptp_sessions{state="up"}'), 1);
    assert.equal(e.samples.get('pptp_sessions{state="negotiating"}'), 0);
    assert.equal(e.samples.get("pptp_calls_total"), 41);
    assert.equal(e.samples.get('pptp_traffic_bytes_total{direction="in"}'), 200000);
    assert.ok(!e.samples.has('pptp_pool_size_addresses{pool="office"}'));
    assert.ok(!e.samples.has('pptp_peer_up{peer="branch"}'));
    assert.equal(e.samples.get('pptp_peer_up{peer="hq"}'), 0);
  });

  test("control connections come from tunnelStates() when the target has it: no tunnel report is built per scrape", async () => {
    const fake = new FakeServer();
    const counted: AdminTarget = {
      ...Object.fromEntries(["find", "disconnect", "changeTimeouts", "stats", "poolStatus"].map((k) => [k, (fake as unknown as Record<string, () => unknown>)[k].bind(fake)])),
      tunnels: () => assert.fail("a scrape must not list every control connection"),
      tunnelStates: () => [
        { role: "server", state: "established", n: 19_000 },
        { role: "server", state: "wait-sccrq", n: 3 },
      ],
    } as unknown as AdminTarget;
    const e = await scrape(new PptpMetrics(() => counted, { processMetrics: false }));
    assert.equal(e.samples.get('pptp_control_connections{role="server",state="established"}'), 19_000);
    assert.equal(e.samples.get('pptp_control_connections{role="server",state="wait-sccrq"}'), 3);
  });

  test("a server without tunnels() or peerStatus(): control connections from stats, no peers; no target yet: zeros", async () => {
    const fake = new FakeServer();
    const bare: AdminTarget = { find: () => [], disconnect: () => false, changeTimeouts: () => false, stats: () => fake.stats_, poolStatus: () => fake.pools };
    const e = await scrape(new PptpMetrics(() => bare, { processMetrics: false }));
    assert.equal(e.samples.get('pptp_control_connections{role="server",state="unknown"}'), 6);
    assert.ok(![...e.samples.keys()].some((k) => k.startsWith("pptp_peer_")));
    const none = await scrape(new PptpMetrics(() => undefined, { processMetrics: false }));
    assert.equal(none.samples.get('pptp_sessions{state="up"}'), 0);
    assert.equal(none.samples.get("pptp_calls_total"), 0);
  });

  test("process metrics from prom-client: RSS, heap, CPU, event-loop lag", async () => {
    const e = await scrape(new PptpMetrics(() => new FakeServer()));
    for (const n of ["process_resident_memory_bytes", "process_cpu_seconds_total", "nodejs_heap_size_used_bytes", "nodejs_eventloop_lag_seconds"]) assert.ok(e.samples.has(n), n);
    assert.ok((e.samples.get("process_resident_memory_bytes") ?? 0) > 1_000_000);
  });

  test("promtool check metrics accepts the output", { skip: requireOrSkip("promtool", promtoolMissing()) }, async () => {
    const e = await scrape(new PptpMetrics(() => new FakeServer()));
    const r = promtoolCheck(e.text);
    assert.equal(r.status, 0, r.output);
    assert.equal(r.output.trim(), "", "no lint findings");
  });
});

async function get(port: number, path: string, method = "GET"): Promise<{ status: number; type: string; body: string }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: r.status, type: r.headers.get("content-type") ?? "", body: await r.text() };
}

describe("metrics: the HTTP endpoint", () => {
  test("GET on the path only: 404 elsewhere, 405 for other methods, 500 when the scrape fails", async () => {
    let fail = false;
    const errors: string[] = [];
    const h = await openMetricsHttp({
      address: "127.0.0.1",
      port: 0,
      path: "/metrics",
      scrape: async () => {
        if (fail) throw new Error("boom");
        return { contentType: "text/plain; version=0.0.4; charset=utf-8", body: "pptp_up 1\n" };
      },
      onError: (e) => errors.push(e.message),
    });
    try {
      const port = h.address.port;
      assert.deepEqual(await get(port, "/metrics"), { status: 200, type: "text/plain; version=0.0.4; charset=utf-8", body: "pptp_up 1\n" });
      assert.equal((await get(port, "/metrics?x=1")).status, 200);
      for (const p of ["/", "/metrics/", "/metricsx", "/debug", "/METRICS"]) assert.equal((await get(port, p)).status, 404, p);
      assert.equal((await get(port, "/metrics", "POST")).status, 405);
      assert.equal((await get(port, "/metrics", "HEAD")).status, 405);
      fail = true;
      assert.equal((await get(port, "/metrics")).status, 500);
      assert.deepEqual(errors, ["boom"]);
    } finally {
      await h.close();
    }
  });

  test("an address that cannot be bound is an error naming the address and why", async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const scrape = async () => ({ contentType: "text/plain", body: "" });
      await assert.rejects(openMetricsHttp({ address: "127.0.0.1", port, path: "/metrics", scrape }), new RegExp(`^Error: \\[metrics\\] listen: cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use$`));
      await assert.rejects(openMetricsHttp({ address: "192.0.2.77", port: 9723, path: "/metrics", scrape }), /cannot listen on 192\.0\.2\.77:9723: no interface has that address/);
    } finally {
      busy.close();
    }
  });
});
