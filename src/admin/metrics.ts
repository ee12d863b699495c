/**
 * The Prometheus view of a running server: what the control socket's AdminTarget reports (stats(), poolStatus(),
 * tunnels(), peerStatus()), read once per scrape and written into prom-client metrics, plus prom-client's default
 * process metrics (RSS, heap, CPU, event-loop lag). Nothing is counted here: every value comes from the server's
 * own counters at scrape time, so the hot path pays nothing for metrics.
 *
 * Counters (`_total`) are the server's monotonic counts; gauges are what is true now. No label carries a session,
 * user or client address (unbounded cardinality): per-session numbers are `pptp-ts show sessions`' job. Label values
 * are bounded by the protocol (causes, error codes, drop reasons) or by the configuration (pools, peers, AAA servers).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { TERMINATE_CAUSE_CODE } from "../aaa/types.js";
import { VERSION } from "../version.js";
import { countTunnelStates, type AdminTarget, type PeerLine, type PoolLine, type TunnelStateCount } from "./commands.js";

/** The error numbers a Windows client shows for a failed PPTP session (README, "Failures in plain words"). */
export const CLIENT_ERROR_CODES: readonly number[] = [691, 732, 734, 742, 806];

/** ClientState (src/client/client.ts) values, each a sample of pptp_peer_state so a state change is a 0→1 edge. */
export const PEER_STATES: readonly string[] = ["idle", "waiting-for-traffic", "waiting-for-call", "connecting", "negotiating", "up", "retry-wait", "failed", "stopped"];

/** Everything one scrape reads from the server, each source asked once. */
export interface MetricsReading {
  readonly stats: Record<string, Record<string, number>>;
  readonly pools: readonly PoolLine[];
  /** Control connections by role and state (tunnelStates(), or counted from tunnels() for a target without it). */
  readonly tunnels?: readonly TunnelStateCount[];
  readonly peers?: readonly PeerLine[];
}

export function readTarget(t: AdminTarget): MetricsReading {
  return {
    stats: t.stats?.() ?? {},
    pools: t.poolStatus?.() ?? [],
    ...(t.tunnelStates ? { tunnels: t.tunnelStates() } : t.tunnels ? { tunnels: countTunnelStates(t.tunnels()) } : {}),
    ...(t.peerStatus ? { peers: t.peerStatus() } : {}),
  };
}

export interface MetricsOptions {
  /** prom-client's default process_* and nodejs_* metrics (default on; tests that only check the mapping turn it off). */
  readonly processMetrics?: boolean;
}

/** stats() topic "radius 10.0.0.5:1812" → backend "radius", server "10.0.0.5:1812". */
const AAA_TOPIC = /^(radius|tacacs) (.+)$/;

/** Keys of an AAA topic → the counter family that carries them. */
const AAA_COUNTERS: readonly (readonly [key: string, name: string, help: string])[] = [
  ["requests", "pptp_aaa_requests_total", "Requests sent to the AAA server (first transmissions)."],
  ["retransmissions", "pptp_aaa_retransmissions_total", "Retransmissions of requests to the AAA server."],
  ["responses", "pptp_aaa_responses_total", "Valid answers received from the AAA server."],
  ["timeouts", "pptp_aaa_timeouts_total", "Requests the AAA server left unanswered (all transmissions timed out)."],
  ["dropped", "pptp_aaa_dropped_replies_total", "Replies from the AAA server dropped: malformed, late, duplicated, forged or without Message-Authenticator."],
];

/** stats() topic "accounting-spool radius" → backend "radius" (src/aaa/accounting/spool.ts spoolStatsReport). */
const SPOOL_TOPIC = /^accounting-spool (radius|tacacs)$/;

/** Keys of a spool topic → the counter family that carries them ("pending" is the gauge below). */
const SPOOL_COUNTERS: readonly (readonly [key: string, name: string, help: string])[] = [
  ["delivered", "pptp_accounting_spool_delivered_total", "Accounting records the server acknowledged, taken off the spool."],
  ["dropped", "pptp_accounting_spool_dropped_total", "Interim-Update / watchdog records dropped from a full spool to make room (later records carry their totals)."],
  ["refused", "pptp_accounting_spool_refused_total", "Accounting records LOST: refused because the spool was full of records that must not be dropped."],
  ["retries", "pptp_accounting_spool_retries_total", "Deliveries of a spooled record that failed and were tried again."],
  ["bad-lines", "pptp_accounting_spool_bad_lines_total", "Spool file lines found unreadable at start (a torn last line after a crash, or damage)."],
  ["rejected", "pptp_accounting_spool_rejected_dropped_total", "Accounting records LOST: dropped after the server refused them (TACACS+ ERROR) accounting-error-limit times while it took the records behind them."],
];

/** prom-client default metrics that are gauges with a counter's `_total` suffix. */
const LINTED_DEFAULTS = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

type Labels = Record<string, string>;

/** show stats "data-plane" (src/server/worker-calls.ts stats()): its counts → counter families. */
const DATAPLANE_COUNTERS: ReadonlyArray<readonly [string, string, string]> = [
  ["worker-restarts", "pptp_dataplane_worker_restarts_total", "Data-plane workers that exited and were started again."],
  ["calls-lost-with-worker", "pptp_dataplane_calls_lost_total", "Calls closed because the data-plane worker carrying them exited."],
  ["renegotiations", "pptp_dataplane_renegotiations_total", "Calls brought back from a worker to the control thread because the peer renegotiated PPP (LCP, IPCP or CCP)."],
  ["gre-forward-lost", "pptp_dataplane_gre_forward_lost_total", "GRE packets the control thread forwarded during a hand-off that reached neither the worker nor the call."],
];
/** "worker-2-calls" → worker "2". */
const DATAPLANE_WORKER_CALLS = /^worker-(\d+)-calls$/;

export class PptpMetrics {
  readonly registry = new Registry();
  private readonly counters = new Map<string, Counter<string>>();
  private readonly gauges = new Map<string, Gauge<string>>();

  /** `target` is asked at every scrape; undefined (the server not running yet, or a client-only process): zeros. */
  constructor(private readonly target: () => AdminTarget | undefined, o: MetricsOptions = {}) {
    const c = (name: string, help: string, labelNames: string[] = []) => this.counters.set(name, new Counter({ name, help, labelNames, registers: [this.registry] }));
    const g = (name: string, help: string, labelNames: string[] = []) => this.gauges.set(name, new Gauge({ name, help, labelNames, registers: [this.registry] }));
    g("pptp_build_info", "pptp-ts version running (always 1).", ["version"]);
    g("pptp_sessions", "Calls now, by state: negotiating (PPP not yet in the network phase) or up (IPCP open).", ["state"]);
    c("pptp_calls_total", "Calls admitted since start (each Outgoing- or Incoming-Call-Request given a Call ID).");
    c("pptp_calls_refused_total", "Calls refused at admission (max-sessions, max-sessions-per-peer).");
    c("pptp_sessions_established_total", "Sessions that reached the network phase (IPCP open) since start.");
    c("pptp_sessions_ended_total", "Sessions ended, by Acct-Terminate-Cause (RFC 2866 section 5.10).", ["cause"]);
    c("pptp_session_client_errors_total", "Sessions that ended with an error shown to the client, by Windows error number (691 credentials, 732 no common auth protocol, 734 PPP negotiation, 742 encryption, 806 GRE blocked).", ["code"]);
    c("pptp_traffic_bytes_total", "IP octets through all sessions since start, ended ones included; in = from the clients, out = to them.", ["direction"]);
    c("pptp_traffic_packets_total", "IP datagrams through all sessions since start, ended ones included; in = from the clients, out = to them.", ["direction"]);
    c("pptp_gre_dropped_packets_total", "GRE packets dropped by the demultiplexer, by reason.", ["reason"]);
    c("pptp_tun_dropped_packets_total", "Packets from the TUN device not delivered: no session for the address (no-route) or refused/queue full (dropped).", ["reason"]);
    g("pptp_control_connections", "PPTP control connections (TCP 1723) now, calls or not, by role (server: dialled us; client: we dialled) and state.", ["role", "state"]);
    g("pptp_pool_size_addresses", "Addresses in the pool.", ["pool"]);
    g("pptp_pool_used_addresses", "Addresses of the pool held by sessions.", ["pool"]);
    g("pptp_pool_free_addresses", "Addresses of the pool free for anyone.", ["pool"]);
    g("pptp_pool_static_addresses", "Addresses of the pool kept for users and peers that are assigned them.", ["pool"]);
    g("pptp_peer_up", "1 when the named peer's session is up, else 0.", ["peer"]);
    g("pptp_peer_state", "The named peer's state: 1 for the current one, 0 for the others.", ["peer", "state"]);
    g("pptp_peer_consecutive_failures", "Failed attempts of the named peer in a row (0 after a success).", ["peer"]);
    for (const [, name, help] of AAA_COUNTERS) c(name, help, ["backend", "server"]);
    g("pptp_accounting_spool_records", "Accounting records in the spool waiting for the server to acknowledge them.", ["backend"]);
    for (const [, name, help] of SPOOL_COUNTERS) c(name, help, ["backend"]);
    g("pptp_dataplane_workers", "Data-plane worker threads running calls' GRE and TUN path ([server] workers); 0 without workers.");
    g("pptp_dataplane_calls", "Calls on each data-plane worker at its last poll.", ["worker"]);
    g("pptp_dataplane_calls_handing_off", "Calls being handed to a data-plane worker or back to the control thread now.");
    for (const [, name, help] of DATAPLANE_COUNTERS) c(name, help);
    if (o.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // These three are gauges named like counters, which `promtool check metrics` rejects; the same counts per
      // handle/request/resource type stay (nodejs_active_handles etc.), so nothing is lost by leaving them out.
      for (const n of LINTED_DEFAULTS) this.registry.removeSingleMetric(n);
    }
  }

  /** The text a Prometheus server scrapes, with the values of this moment. */
  async scrape(): Promise<{ readonly contentType: string; readonly body: string }> {
    const t = this.target();
    this.update(t === undefined ? { stats: {}, pools: [] } : readTarget(t));
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Writes one reading into the metrics (every label set is rebuilt: a pool or peer removed by a reload goes). */
  update(r: MetricsReading): void {
    for (const m of this.counters.values()) m.reset();
    for (const m of this.gauges.values()) m.reset();
    const s = r.stats;
    this.set("pptp_build_info", { version: VERSION }, 1);

    const sessions = s.sessions ?? {};
    const up = sessions.up ?? 0;
    this.set("pptp_sessions", { state: "up" }, up);
    this.set("pptp_sessions", { state: "negotiating" }, Math.max(0, (sessions.calls ?? up) - up));
    this.count("pptp_calls_total", {}, sessions["calls-total"]);
    this.count("pptp_calls_refused_total", {}, sessions.refused);
    this.count("pptp_sessions_established_total", {}, sessions.established);

    // Every cause and client error is present from the start (at 0), so rate() and increase() see the first one.
    const ended = s["ended-by-cause"] ?? {};
    for (const cause of new Set([...Object.keys(TERMINATE_CAUSE_CODE), ...Object.keys(ended)])) this.count("pptp_sessions_ended_total", { cause }, ended[cause] ?? 0);
    const errors = s["client-errors"] ?? {};
    for (const code of new Set([...CLIENT_ERROR_CODES.map(String), ...Object.keys(errors)])) this.count("pptp_session_client_errors_total", { code }, errors[code] ?? 0);

    const traffic = s.traffic ?? {};
    for (const direction of ["in", "out"]) {
      this.count("pptp_traffic_bytes_total", { direction }, traffic[`bytes-${direction}`] ?? 0);
      this.count("pptp_traffic_packets_total", { direction }, traffic[`packets-${direction}`] ?? 0);
    }
    for (const [k, v] of Object.entries(s["gre-drops"] ?? {})) this.count("pptp_gre_dropped_packets_total", { reason: kebab(k) }, v);
    for (const [k, v] of Object.entries(s.tun ?? {})) this.count("pptp_tun_dropped_packets_total", { reason: kebab(k) }, v);

    for (const [topic, counts] of Object.entries(s)) {
      const m = AAA_TOPIC.exec(topic);
      if (m !== null) {
        for (const [key, name] of AAA_COUNTERS) if (counts[key] !== undefined) this.count(name, { backend: m[1], server: m[2] }, counts[key]);
        continue;
      }
      const sp = SPOOL_TOPIC.exec(topic);
      if (sp === null) continue;
      this.set("pptp_accounting_spool_records", { backend: sp[1] }, counts.pending);
      for (const [key, name] of SPOOL_COUNTERS) this.count(name, { backend: sp[1] }, counts[key]);
    }

    const dp = s["data-plane"];
    if (dp !== undefined) {
      this.set("pptp_dataplane_workers", {}, dp.workers);
      this.set("pptp_dataplane_calls_handing_off", {}, dp["calls-handed-off"]);
      for (const [k, v] of Object.entries(dp)) {
        const w = DATAPLANE_WORKER_CALLS.exec(k);
        if (w !== null) this.set("pptp_dataplane_calls", { worker: w[1] }, v);
      }
      for (const [key, name] of DATAPLANE_COUNTERS) this.count(name, {}, dp[key]);
    }

    if (r.tunnels !== undefined) {
      for (const e of r.tunnels) this.set("pptp_control_connections", { role: e.role, state: e.state }, e.n);
    } else if (sessions["control-connections"] !== undefined) {
      // A server without tunnels() only knows how many it accepted, not their states.
      this.set("pptp_control_connections", { role: "server", state: "unknown" }, sessions["control-connections"]);
    }

    for (const p of r.pools) {
      const pool = p.name;
      if (p.size !== undefined) this.set("pptp_pool_size_addresses", { pool }, p.size);
      if (p.inUse !== undefined) this.set("pptp_pool_used_addresses", { pool }, p.inUse);
      if (p.free !== undefined) this.set("pptp_pool_free_addresses", { pool }, p.free);
      if (p.reserved !== undefined) this.set("pptp_pool_static_addresses", { pool }, p.reserved);
    }

    for (const p of r.peers ?? []) {
      this.set("pptp_peer_up", { peer: p.name }, p.state === "up" ? 1 : 0);
      this.set("pptp_peer_consecutive_failures", { peer: p.name }, p.failures);
      for (const state of new Set([...PEER_STATES, p.state])) this.set("pptp_peer_state", { peer: p.name, state }, state === p.state ? 1 : 0);
    }
  }

  private set(name: string, labels: Labels, v: number | undefined): void {
    if (v === undefined || !Number.isFinite(v)) return;
    this.gauges.get(name)!.set(labels, v);
  }

  /** A counter takes the server's own count (reset() cleared it just before). */
  private count(name: string, labels: Labels, v: number | undefined): void {
    if (v === undefined || !Number.isFinite(v) || v < 0) return;
    this.counters.get(name)!.inc(labels, v);
  }
}

/** "unknownCall" → "unknown-call": label values in the same style as the stats keys and the config. */
function kebab(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
