/**
 * The networked PPTP server: TCP 1723 for control connections, one raw GRE socket and one TUN device shared by
 * every call. This file is the thin driver around the sans-I/O session layer (src/session): it moves bytes,
 * packets and time, routes GRE by Call ID (+ peer address) and IP by destination address, asks the AAA
 * backend, allocates addresses and enforces limits and timers.
 *
 *   GRE in:  raw socket batch → parse key (Call ID) → route check (peer address) → ServerConnection.handleGre
 *            → GreChannel → PppLink (MPPE decrypt) → TUN write
 *   IP in:   TUN batch → destination address → ServerConnection.sendIp → PppLink (MPPE encrypt) → GreChannel
 *            → raw socket send
 *
 * Nothing on those two paths allocates per packet; control traffic and events may.
 */
import { warmUp } from "./warm-up.js";
import { randomPool } from "./random-pool.js";
import * as net from "node:net";
import { performance } from "node:perf_hooks";
import { ServerConnection, type ServerPolicy } from "../session/server-connection.js";
import type { SessionEvent, LogCategory } from "../session/connection.js";
import type { SessionPolicy } from "../aaa/types.js";
import type { AccountingSink, AuthContext, Authenticator, SessionDirectory, SessionSelector, SessionSnapshot, TerminateCause } from "../aaa/types.js";
import { isUserName } from "../aaa/local.js";
import type { GreTransport, TunTransport, PacketBatch } from "../io/transport.js";
import { formatIpv4, parseIpv4 } from "../wire/ipv4.js";
import { controlLocalIp, GreDemux } from "../io/gre-demux.js";
import { ConnectionRunner } from "../io/connection-runner.js";
import { PrefixTable, formatPrefix } from "../io/prefix-table.js";
import type { SystemNetwork } from "../io/system-net.js";
import { formatAddressRange, rangesContain } from "../config/address-range.js";
import { resolveIpv4, type Resolver } from "../io/resolve.js";
import { Backoff } from "../session/backoff.js";
import { HeldPackets } from "../session/held-packets.js";
import { sessionLimitReason, sessionTimeExpiry } from "../session/session-timers.js";
import { authMethodLabel, type AuthMethod } from "../wire/ppp-protocols.js";
import type { ServerConfig } from "../config/config.js";
import type { PeerConfig } from "../config/peer-types.js";
import type { LinkAuthInfo, PppLinkConfig } from "../ppp/link.js";
import { Defences, type ConnectionClock } from "./defences.js";
import type { SessionTimeLimits } from "../session/session-timers.js";
import type { Ipv4Prefix } from "../config/peer-types.js";
import type { LinkRefusal } from "../ppp/link.js";
import type { IpcpOptionsConfig } from "../ppp/ipcp.js";
import { SessionIds } from "./session-ids.js";
import { ADVERTISED_RECEIVE_WINDOW } from "../pptp/gre-channel.js";
import type { LogContext, LogFields, SessionLog } from "./log.js";
import { NamedPools } from "./pools.js";
import type { PoolStatus } from "./pool.js";
import { selectorMatches, snapshotOf, userKey, type SessionRecord } from "./session-registry.js";
import { describePolicy, framedRoutes, planAddress, sessionLimits } from "./session-policy.js";
import { AccountingHooks, newAccountingState, type AccountingState } from "./accounting-hooks.js";
import { reportTunnel, tunnelStateWords, TunnelClock, type TunnelReport } from "../io/tunnel-report.js";
import { CaptureTap, type CaptureLimits, type CaptureSummary } from "../session/capture-tap.js";
import { WorkerCalls } from "./worker-calls.js";
import type { DataPlaneWorkers } from "../io/workers/pool.js";
import { forwardedHeader, type ForwardedGre } from "../io/workers/protocol.js";
import { GreHeader } from "../wire/gre.js";

/** Hands out client addresses (src/server/pool.ts implements it). */
export interface AddressAllocator {
  allocate(preferred?: string): string | undefined;
  /** Exactly this address (a static one from chap-secrets or RADIUS, inside the pool or not), or undefined if taken. */
  assign?(address: string): string | undefined;
  release(address: string): void;
  /** For `show pool`. */
  status?(): PoolStatus;
}

/** One pool as `pptp-ts show pool` reports it. */
export interface PoolReport extends Partial<PoolStatus> {
  readonly name: string;
  readonly ranges: string;
}

export interface ServerLogSink {
  enabled(category: LogCategory): boolean;
  log(category: LogCategory, message: string): void;
  /** The logger of one call (per-session debug filters, JSON fields); without it lines are text through log(). */
  session?(context: LogContext): SessionLog;
}

export interface PptpServerOptions {
  readonly settings: ServerConfig;
  readonly auth: Authenticator;
  readonly pool: AddressAllocator;
  /** The process's GRE socket, shared with dial-out peers (or a bare transport, wrapped here). */
  readonly gre: GreDemux | GreTransport;
  readonly tun: TunTransport;
  readonly log: ServerLogSink;
  /** Monotonic milliseconds; default performance.now. */
  readonly clock?: () => number;
  /**
   * Offered every accepted TCP connection first: returns true when another role in this process takes it (a
   * dial-out peer with `answer = yes` whose server calls us back). Default: none.
   */
  readonly divert?: (peerAddress: string, socket: net.Socket) => boolean;
  /** Name lookup for peers we dial (default: the system resolver). */
  readonly resolve?: Resolver;
  /**
   * Where a session's address lies outside the pool and every peer route (a static chap-secrets address, later a
   * RADIUS Framed-IP-Address), the kernel has no route for it into the TUN and replies would leave by another
   * route: with this set, such a session gets its own /32 route into `dev` while it is up. Default: none.
   */
  readonly hostRoutes?: { readonly net: SystemNetwork; readonly dev: string };
  /**
   * Where session accounting goes (src/server/accounting-hooks.ts says when): Accounting-On at listen, Start at
   * network-up, Interim-Update, Stop once per started session with its cause, Accounting-Off awaited in close().
   */
  readonly accounting?: AccountingSink;
  /** Wall-clock milliseconds since the epoch (session start times, session IDs); default Date.now. */
  readonly wallClock?: () => number;
  /**
   * `[server] workers` >= 2: the started data-plane workers (src/io/workers), whose onControl calls workerControl().
   * The server hands calls to them at network-up and closes them in close(). Default: none (one thread).
   */
  readonly dataPlane?: DataPlaneWorkers;
}

/** One running call as `show sessions` prints it. */
export interface SessionInfo {
  readonly callId: number;
  /** The control connection's remote address. */
  readonly peer: string;
  /** The [peer NAME] this session is, when it is a named peer. */
  readonly peerName?: string;
  readonly user: string | undefined;
  readonly method: AuthMethod | undefined;
  readonly address: string | undefined;
  readonly mppe: string;
  readonly upSinceMs: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

type Runner = ConnectionRunner<ServerConnection>;

/** One control connection the server holds, accepted or dialled. */
interface ConnState {
  readonly runner: Runner;
  readonly peerName: string;
  readonly peerIp: number;
  /** Our end's address (uint32): its calls' GRE leaves from it and must arrive at it (multi-homed hosts). */
  readonly localIp: number;
  /** The named peer this connection belongs to from the start: we dialled it, or its address matched. */
  readonly peer: NamedPeer | undefined;
  /** We opened it (SCCRQ from us, to a named peer). */
  readonly originated: boolean;
  /** Accept time and calls held, for the start and no-call deadlines (src/server/defences.ts). */
  readonly clock: ConnectionClock;
  /** `show tunnels`: its number and when its state last changed. */
  readonly tunnel: TunnelClock;
  /** `clear tunnel`: why its calls are being ended; it stops (StopCCRQ) once the last one is gone. */
  clearing?: string;
}

/** The server's view of one call: the AAA record (session-registry.ts) plus routing and timers. */
interface CallRoute extends SessionRecord {
  readonly st: ConnState;
  addressInt?: number;
  /** The pool the address came from (released back to it), when it came from one. */
  allocator?: AddressAllocator;
  /** Counted against max-sessions-per-user (it passed the check). */
  counted: boolean;
  /** Session-Timeout / Idle-Timeout changed on the live session (CoA, changeTimeouts). */
  timeouts?: Partial<SessionTimeLimits>;
  /** Framed-Route prefixes routed to this call (and the ones added to the kernel, to remove at the end). */
  routes?: Ipv4Prefix[];
  kernelRoutes?: string[];
  readonly acct: AccountingState;
  /** The cause a disconnect() named: it stands whatever the link's goodbye looks like. */
  endCause?: TerminateCause;
  /** The named peer ([peer NAME], role server) this session is, once known (at connect or after authentication). */
  peer?: NamedPeer;
  startedAt: number;
  lastActivity: number;
  networkUp: boolean;
  /** The /32 this session was given into the TUN because nothing else routes its address (see hostRoutes). */
  hostRoute?: string;
  /** This call's lines (see ServerLogSink.session). */
  log?: SessionLog;
  /**
   * checkSessionTimers has nothing to do for this call before `checkAt` (its earliest idle, session or interim
   * deadline as of the last look), unless a limit changed since (`checkGen` behind the server's `timerGen`).
   */
  checkAt?: number;
  checkGen?: number;
}

/**
 * A `[peer NAME]` with role server: a specific peer with its own address, routes and timers, as opposed to an
 * anonymous dial-in. Its routes lead into the server's TUN device for as long as the server runs; packets for
 * them go to the peer's session while it is up, start a call (on-demand) or are dropped.
 */
interface NamedPeer {
  cfg: PeerConfig;
  /** The session of this peer, once it authenticated (or was matched) and until it ends. */
  callId: number | undefined;
  up: boolean;
  /** An outbound control connection is being set up (we dial the peer). */
  dialing: boolean;
  outbound: ConnState | undefined;
  readonly backoff: Backoff;
  retry: NodeJS.Timeout | undefined;
  /** Packets that triggered an on-demand dial, sent once the session is up. */
  readonly queue: HeldPackets;
  /** The peer's address as last resolved (or its literal address). */
  lastIp: number | undefined;
  failures: number;
}

/** Packets an on-demand dial holds while the tunnel comes up (pppd's demand mode holds some too). */
const DEMAND_QUEUE = 32;

/**
 * TCP 1723's accept queue. Node's default (511) fills when thousands of clients connect at once (issue 11's
 * ramp of 2,000 sessions/s, or every client of a restarted server redialling): the kernel then drops their
 * SYNs or handshake ACKs and they retry after 1 s, 3 s, ... The kernel caps it at net.core.somaxconn (4096
 * since Linux 5.4), so asking for more gains nothing there; an accepted but idle connection costs a socket.
 */
const LISTEN_BACKLOG = 4096;

export class PptpServer implements SessionDirectory {
  private readonly o: PptpServerOptions;
  private settings: ServerConfig;
  private auth: Authenticator;
  private readonly now: () => number;
  /** Challenges and Magic-Numbers of every call, from one kernel-filled block (random-pool.ts). */
  private readonly random = randomPool();
  private readonly tcp: net.Server;
  private readonly resolve: Resolver;
  private readonly conns = new Set<ConnState>();
  /**
   * The accepted connections holding no call (clock.idleSince set): the only ones checkSessionTimers' start- and
   * no-call-timeout pass looks at. Walking every connection once a second cost ~0.1 ms per 1,000 idle sessions.
   */
  private readonly callless = new Set<ConnState>();
  /** Call ID → route: GRE demultiplexing happens in the GreDemux; this is the server's view of each call. */
  private readonly calls = new Map<number, CallRoute>();
  /** The pending chain of route changes per host route (see hostRouteStep). */
  private readonly hostRouteOps = new Map<string, Promise<void>>();
  /** Client tunnel address (as uint32) → Call ID: TUN demultiplexing by destination. */
  private readonly byAddress = new Map<number, number>();
  /** Networks behind named peers → the peer (longest prefix wins). */
  private readonly lanRoutes = new PrefixTable<NamedPeer>();
  private readonly peers = new Map<string, NamedPeer>();
  private readonly perPeer = new Map<string, number>();
  /** Framed-Route networks behind dial-in sessions → their Call ID (longest prefix wins). */
  private readonly sessionRoutes = new PrefixTable<number>();
  /** Calls released (address, Call ID) whose call-down event is still to come: its log line and accounting Stop. */
  private readonly ending = new Map<number, CallRoute>();
  private readonly wall: () => number;
  private readonly sessionIds: SessionIds;
  private readonly namedPools: NamedPools;
  private readonly acct: AccountingHooks;
  private readonly gre: GreDemux;
  /** The data-plane workers' calls, when [server] workers >= 2. */
  private readonly workerCalls: WorkerCalls | undefined;
  /** Connection limits, the password-guessing guard and aggregated logging of per-packet problems. */
  readonly defences: Defences;
  private housekeeping: NodeJS.Timeout | undefined;
  /** Bumped when session limits may have changed (reload, CoA, a backend policy, a named peer): see CallRoute.checkAt. */
  private timerGen = 0;
  /**
   * The earliest CallRoute.checkAt of all calls as of the last pass of checkSessionTimers, with the timerGen and
   * callsUpSeq of then: until it, with no limit changed and no call come up, the pass has nothing to do and skips
   * the walk over every call (20,000 idle calls with no idle/session limit or interim accounting: no walk at all).
   */
  private callsCheckAt = -Infinity;
  private callsCheckGen = -1;
  private callsCheckSeq = -1;
  /** Bumped when a call reaches the network phase (its first check is due). */
  private callsUpSeq = 0;
  private closing = false;
  private listening = false;
  /** Control connections the open-file limit leaves room for (src/server/open-file-limit.ts); set at start. */
  private descriptorRoom = Infinity;
  private descriptorRefusals = 0;

  readonly counters = {
    tunNoRoute: 0,
    tunDropped: 0,
    callsRefused: 0,
    callsTotal: 0,
    demandDials: 0,
    /** Sessions that reached the network phase (IPCP up). */
    sessionsEstablished: 0,
  };
  /** Ended calls by Acct-Terminate-Cause, and by the error number the client was shown (691, 734, 742, ...). */
  private readonly downByCause = new Map<string, number>();
  private readonly downByClientError = new Map<number, number>();
  /** IP datagrams and octets of calls already released, so the traffic totals in stats() never go down. */
  private readonly endedTraffic = { ipIn: 0, ipOut: 0, bytesIn: 0, bytesOut: 0 };

  constructor(o: PptpServerOptions) {
    this.o = o;
    this.settings = o.settings;
    this.auth = o.auth;
    this.now = o.clock ?? (() => performance.now());
    this.wall = o.wallClock ?? Date.now;
    this.sessionIds = new SessionIds(this.wall());
    this.namedPools = new NamedPools(o.settings.pools ?? {});
    this.acct = new AccountingHooks(o.accounting, (what, e) => this.log("errors", `accounting ${what} failed: ${(e as Error).message}`));
    this.resolve = o.resolve ?? resolveIpv4;
    this.tcp = net.createServer((s) => this.accept(s));
    this.gre = o.gre instanceof GreDemux ? o.gre : new GreDemux(o.gre, this.now);
    this.workerCalls = o.dataPlane
      ? new WorkerCalls(o.dataPlane, (c, m) => this.log(c, m), undefined, (callId, why) => this.workerCallLost(callId, why), () => this.now(), (callId, p) => this.workerGre(callId, p))
      : undefined;
    this.defences = new Defences(o.settings, { now: this.now, log: (c, m) => this.log(c, m) });
    // Socket errors can repeat per packet too (a read error per batch): aggregated like the sessions' errors.
    this.gre.onError((e) => this.defences.sessionError("GRE socket", `GRE socket error: ${e.message}`));
    this.gre.onDrop((kind, source) => this.defences.greDrop(kind, source));
    o.tun.onBatch((b) => this.onTunBatch(b));
    o.tun.onError((e) => this.defences.sessionError("TUN", `TUN error: ${e.message}`));
    this.loadPeers(o.settings.peers ?? []);
  }

  /** GRE counters (malformed, unknown Call ID, wrong peer or local address) of the process's GRE socket. */
  get greCounters(): GreDemux["counters"] {
    return this.gre.counters;
  }

  /** Starts listening; resolves once TCP is bound. Persistent named peers are dialled from then on. */
  async listen(): Promise<net.AddressInfo> {
    await this.warmUp();
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(new Error(`cannot listen on ${this.settings.server.listen}:${this.settings.server.port}: ${e.message}`));
      this.tcp.once("error", onError);
      this.tcp.listen({ port: this.settings.server.port, host: this.settings.server.listen, backlog: LISTEN_BACKLOG }, () => {
        this.tcp.off("error", onError);
        this.tcp.on("error", (e) => this.log("errors", `listener: ${e.message}`));
        this.housekeeping = setInterval(() => this.checkSessionTimers(), 1000);
        this.housekeeping.unref?.();
        const a = this.tcp.address() as net.AddressInfo;
        this.log("events", `listening on ${a.address}:${a.port} (TCP control, GRE on the same address)`);
        this.listening = true;
        this.acct.on();
        for (const p of this.peers.values()) if (p.cfg.connect === "persistent") this.dial(p, "persistent peer");
        resolve(a);
      });
    });
  }

  /** One in-memory session with the configured PPP settings before the first client's (src/server/warm-up.ts). */
  private async warmUp(): Promise<void> {
    const r = await warmUp(this.linkConfig(this.settings, undefined));
    if (r.ok) this.log("events", `warm-up: an in-memory ${r.method} session (MPPE ${r.mppe}) came up and carried data in ${r.ms.toFixed(0)} ms`);
    else this.log("errors", `warm-up: an in-memory ${r.method} session with the configured [ppp]/[mppe] settings failed (${r.reason}); clients will likely fail the same way`);
  }

  /** New settings and users for new sessions; running sessions keep what they negotiated (SIGHUP). */
  reload(settings: ServerConfig, auth: Authenticator): void {
    this.settings = settings;
    this.timerGen++; // [timers] and [accounting] apply to running sessions' next check
    this.auth = auth;
    this.loadPeers(settings.peers ?? []);
    this.namedPools.configure(settings.pools ?? {});
    this.defences.configure(settings);
    this.log("events", "configuration reloaded; established sessions keep their settings");
  }

  get sessionCount(): number {
    return this.calls.size;
  }

  /** The networks behind named peers, for the host's routing table (they all lead into the server's TUN). */
  peerRoutes(): string[] {
    const out: string[] = [];
    for (const p of this.peers.values()) for (const r of p.cfg.routes) out.push(formatPrefix(r));
    return out;
  }

  /** Counters for `show stats` (and metrics): one record per topic, each a name → count. */
  stats(): Record<string, Record<string, number>> {
    let up = 0;
    for (const r of this.calls.values()) if (r.networkUp) up++;
    return {
      sessions: { up, calls: this.calls.size, "calls-total": this.counters.callsTotal, established: this.counters.sessionsEstablished, refused: this.counters.callsRefused, "control-connections": this.conns.size },
      "ended-by-cause": Object.fromEntries(this.downByCause),
      "client-errors": Object.fromEntries([...this.downByClientError].map(([k, v]) => [String(k), v])),
      "gre-drops": { ...this.gre.counters },
      tun: { "no-route": this.counters.tunNoRoute, dropped: this.counters.tunDropped },
      traffic: this.trafficTotals(),
      ...(this.workerCalls ? { "data-plane": this.workerCalls.stats() } : {}),
    };
  }

  /** The data-plane workers' statistics (calls on each, GRE counters); [] with one thread. */
  workerStats(): ReturnType<WorkerCalls["workerStats"]> {
    return this.workerCalls?.workerStats() ?? Promise.resolve([]);
  }

  /** A PPP control frame a data-plane worker received for one of its calls: to the call's PppLink. */
  workerControl(callId: number, frame: Uint8Array): void {
    const r = this.calls.get(callId);
    const session = r?.st.runner.conn.sessions.get(callId);
    if (r === undefined || session === undefined) return;
    const now = this.now();
    session.receiveControlFrame(now, frame);
    // The link's events (a Terminate, CCP down) are handed on by the connection's timeout path, due now.
    r.st.runner.conn.handleTimeout(now);
    r.st.runner.service();
    // A Configure-Request after network-up restarts negotiation (RFC 1661 §3.2): the call comes back here.
    this.workerCalls?.afterControl(callId);
  }

  /** A GRE packet of a call coming back from its worker that the worker still read (pool.ts takeBack `forward`). */
  workerGre(callId: number, p: ForwardedGre): void {
    const r = this.calls.get(callId);
    if (r === undefined) return;
    r.st.runner.receive(this.now(), forwardedHeader(p, callId, new GreHeader()), p.payload);
    r.st.runner.flush();
  }

  /** A data-plane worker died: the pool says which calls it held (src/io/workers/pool.ts onWorkerLost). */
  workerLost(owner: number, callIds: readonly number[], reason: string): void {
    this.workerCalls?.lost(owner, callIds, reason);
  }

  /** Admin `restart-worker`: stop data-plane worker N as a crash would; its calls are closed, a new one starts. */
  async restartWorker(worker: number): Promise<{ ok: boolean; message: string }> {
    if (this.workerCalls === undefined) return { ok: false, message: "this server runs no data-plane workers ([server] workers = 1)" };
    const pool = this.workerCalls.pool;
    try {
      await pool.killWorker(worker);
      await pool.settled();
    } catch (e) {
      return { ok: false, message: (e as Error).message };
    }
    return { ok: true, message: `data-plane worker ${worker} stopped and started again; its calls were closed (NAS-Error)` };
  }

  /** The pool started a new worker in place of a dead one (or could not). */
  workerRestarted(owner: number, error?: string): void {
    this.workerCalls?.restarted(owner, error);
  }

  /** A call whose worker died ends: LCP Terminate, then the PPTP call is cleared; accounting says NAS-Error. */
  private workerCallLost(callId: number, why: string): void {
    const r = this.calls.get(callId);
    if (r === undefined) return;
    r.st.runner.conn.hangUp(this.now(), callId, why, "nas-error");
    r.st.runner.service();
  }

  /** IP traffic through every session since start, in = from the clients: ended calls plus the live ones. */
  private trafficTotals(): Record<string, number> {
    const t = { ...this.endedTraffic };
    for (const r of this.calls.values()) {
      const c = r.counters;
      if (c === undefined) continue;
      t.bytesIn += c.bytesIn;
      t.bytesOut += c.bytesOut;
      t.ipIn += c.ipIn;
      t.ipOut += c.ipOut;
    }
    return { "bytes-in": t.bytesIn, "bytes-out": t.bytesOut, "packets-in": t.ipIn, "packets-out": t.ipOut };
  }

  /** The default pool ([ppp] pool) and every named pool ([pools]): size, in use, free, kept for static users. */
  poolStatus(): PoolReport[] {
    const out: PoolReport[] = [{ name: "default", ranges: this.settings.ppp.pool.map(formatAddressRange).join(", "), ...(this.o.pool.status?.() ?? {}) }];
    for (const e of this.namedPools.entries()) out.push({ name: e.name, ranges: e.ranges, ...e.pool.status() });
    return out;
  }

  sessions(): SessionInfo[] {
    const now = this.now();
    const out: SessionInfo[] = [];
    for (const [callId, r] of this.calls) {
      const s = r.st.runner.conn.sessions.get(callId);
      out.push({
        callId,
        peer: r.st.peerName,
        ...(r.peer ? { peerName: r.peer.cfg.name } : {}),
        user: r.user,
        method: r.method,
        address: r.address,
        mppe: r.mppe ?? "none",
        upSinceMs: now - r.startedAt,
        bytesIn: s?.link.stats.bytesIn ?? 0,
        bytesOut: s?.link.stats.bytesOut ?? 0,
      });
    }
    return out;
  }

  /** Administrative clear of one session (by Call ID, user name, client address or peer name). Returns how many were cleared. */
  clear(what: string, reason = "administratively cleared"): number {
    let n = 0;
    for (const [callId, r] of [...this.calls]) {
      if (String(callId) === what || r.user === what || r.address === what || r.peer?.cfg.name === what) {
        r.st.runner.conn.hangUp(this.now(), callId, reason);
        r.st.runner.service();
        n++;
      }
    }
    return n;
  }

  /** Hang up everyone (LCP Terminate, CDN, StopCCRQ), close the listener and the data plane. */
  async close(reason = "server shutting down"): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.log("events", `shutting down: ${reason}`);
    if (this.housekeeping) clearInterval(this.housekeeping);
    for (const p of this.peers.values()) if (p.retry) clearTimeout(p.retry);
    // Stop accepting now; the close callback only fires once every connection is gone, so it is awaited last.
    const listenerClosed = this.listening ? new Promise<void>((r) => this.tcp.close(() => r())) : Promise.resolve();
    for (const st of [...this.conns]) {
      st.runner.conn.shutdown(this.now(), reason);
      st.runner.service();
      st.runner.socket.end();
    }
    // Give the kernel a moment to flush the Stop-Control-Connection-Requests before the sockets go.
    await new Promise((r) => setTimeout(r, 200));
    for (const st of [...this.conns]) st.runner.destroy();
    // Every started session gets its Stop: those whose call-down never came (the socket was cut) end here.
    for (const [callId, r] of [...this.calls, ...this.ending]) this.accountStop(callId, r, "nas-reboot");
    await this.acct.off();
    await listenerClosed;
    await this.workerCalls?.close();
    this.gre.close();
    this.o.tun.close();
  }

  // ------------------------------------------------------------------------------------------ control connections

  private accept(socket: net.Socket): void {
    const peerName = (socket.remoteAddress ?? "?").replace(/^::ffff:/, "");
    if (this.closing) {
      socket.destroy();
      return;
    }
    // At the open-file limit less its reserve: refused, so the control socket (`pptp-ts show`) still gets a descriptor.
    if (this.conns.size >= this.descriptorRoom) {
      if (this.descriptorRefusals++ === 0) this.log("errors", `refusing control connections: ${this.descriptorRoom} are open, all the open-file limit leaves room for (see "open files" at start); further refusals are not logged`);
      socket.resetAndDestroy();
      return;
    }
    const ip = parseIpv4(peerName);
    const peerIp = ip.ok ? ip.value : 0;
    // Over a connection limit: close at once, before reading anything (no SCCRQ, so no SCCRP result code to send).
    if (!this.defences.admit(peerIp, peerName).ok) {
      socket.resetAndDestroy();
      return;
    }
    socket.once("close", () => this.defences.release(peerIp, peerName));
    if (this.o.divert?.(peerName, socket)) return;
    this.log("events", `TCP connection from ${peerName}:${socket.remotePort}`);
    // A named peer known by its address gets its own settings from the first packet on.
    const peer = [...this.peers.values()].find((p) => p.lastIp !== undefined && p.lastIp === peerIp);
    this.run(socket, peerName, peerIp, peer, false);
  }

  /** Wraps a TCP connection (accepted, or dialled to a named peer) in a ServerConnection and runs it. */
  private run(socket: net.Socket, peerName: string, peerIp: number, peer: NamedPeer | undefined, originate: boolean): ConnState {
    const s = this.settings;
    const echo = peer?.cfg.timers.echoIntervalMs ?? s.timers.echoIntervalMs;
    // The policy needs the ConnState (to register calls) and the ConnState holds the runner built with the
    // policy: the holder object breaks the cycle; `runner` is set right below, before any event can arrive.
    const localIp = controlLocalIp(socket);
    const clock: ConnectionClock = { acceptedAt: this.now(), calls: 0, idleSince: this.now(), expiring: false };
    const st = { peerName, peerIp, localIp, peer, originated: originate, clock, tunnel: new TunnelClock(this.now()) } as { -readonly [K in keyof ConnState]: ConnState[K] };
    const conn = new ServerConnection({
      peerName,
      originate,
      control: {
        hostName: s.server.hostname,
        vendorString: "pptp-ts",
        keepaliveIntervalMs: echo,
        keepaliveTimeoutMs: s.timers.echoTimeoutMs,
        keepaliveRetries: s.timers.echoRetries,
        replyTimeoutMs: s.timers.controlReplyTimeoutMs,
        receiveWindow: ADVERTISED_RECEIVE_WINDOW,
        // RFC 2637 §2.2: Maximum Channels, "the total number of individual PPP sessions this PAC can support".
        maximumChannels: Math.min(0xffff, s.server.maxSessions),
      },
      policy: this.policyFor(st as ConnState, s),
      gre: { flowControl: s.gre.flowControl, reorderTimeoutMs: s.gre.reorderTimeoutMs, ackDelayMs: s.gre.ackDelayMs },
      sinksFor: (callId) => {
        // The call's record, looked up at its first datagram rather than per datagram (sinks are made per call).
        let rec: CallRoute | undefined;
        return {
        greRoom: this.gre.packetRoom, ipRoom: this.o.tun.packetRoom,
        greOut: (buf, off, len) => {
          this.gre.send(buf, off, len, peerIp, localIp);
        },
        ipOut: (buf, off, len) => {
          const r = (rec ??= this.calls.get(callId));
          if (r) r.lastActivity = this.now();
          if (!this.o.tun.write(buf, off, len)) this.counters.tunDropped++;
        },
        };
      },
    });
    conn.setLogFilter((category, callId) => this.logWanted(category, callId));
    st.runner = new ConnectionRunner({
      conn,
      socket,
      now: this.now,
      onEvent: (e) => this.onSessionEvent(st as ConnState, e),
      onGone: () => {
        this.conns.delete(st as ConnState);
        this.callless.delete(st as ConnState);
        if (peer && peer.outbound === st) this.outboundGone(peer);
      },
      onSocketError: (e) => this.log("errors", `control connection ${peerName}: ${e.message}`),
    });
    this.conns.add(st as ConnState);
    if (!originate) this.callless.add(st as ConnState);
    st.runner.start();
    return st as ConnState;
  }

  /** At most `n` control connections at once: what the open-file limit leaves after the server's own descriptors. */
  limitConnectionsTo(n: number): void {
    this.descriptorRoom = n;
    this.descriptorRefusals = 0;
  }

  private policyFor(st: ConnState, s: ServerConfig): ServerPolicy {
    return {
      admitCall: (peerName) => {
        const settings = this.settings;
        if (this.closing) return { refuse: "general-error", reason: "server is shutting down" };
        if (st.clearing !== undefined) return { refuse: "general-error", reason: `the tunnel is being cleared (${st.clearing})` };
        if (this.calls.size >= settings.server.maxSessions) {
          this.counters.callsRefused++;
          return { refuse: "busy", reason: `maximum of ${settings.server.maxSessions} sessions reached (max-sessions)` };
        }
        const mine = this.perPeer.get(peerName) ?? 0;
        if (settings.server.maxSessionsPerPeer > 0 && mine >= settings.server.maxSessionsPerPeer) {
          this.counters.callsRefused++;
          return { refuse: "busy", reason: `${peerName} already has ${mine} sessions (max-sessions-per-peer ${settings.server.maxSessionsPerPeer})` };
        }
        const callId = this.gre.allocateCallId();
        if (callId === undefined) return { refuse: "busy", reason: "no free Call ID" };
        const now = this.now();
        const sessionId = this.sessionIds.next();
        const log = this.o.log.session?.({ call: callId, peer: st.peerName, session: sessionId });
        this.calls.set(callId, {
          st,
          sessionId,
          ...(log ? { log } : {}),
          callId,
          peerAddress: st.peerName,
          localAddress: formatIpv4(st.localIp),
          startedAt: now,
          lastActivity: now,
          networkUp: false,
          counted: false,
          acct: newAccountingState(),
          ...(st.peer ? { peer: st.peer } : {}),
        });
        this.gre.register(callId, st.peerIp, st.runner, st.localIp);
        this.perPeer.set(peerName, mine + 1);
        st.clock.calls++;
        st.clock.idleSince = undefined;
        this.callless.delete(st);
        this.counters.callsTotal++;
        return { callId };
      },
      releaseCall: (callId) => this.releaseCall(callId),
      linkConfig: () => this.linkConfig(s, st.peer?.cfg),
      ipcpFor: (callId, auth: LinkAuthInfo) => this.ipcpFor(s, st, callId, auth),
    };
  }

  /** PPP settings of a new call: the named peer's when it is known at connect time, else the [ppp]/[mppe] ones. */
  private linkConfig(s: ServerConfig, p: PeerConfig | undefined): Omit<PppLinkConfig, "ipcp" | "role"> {
    return {
      random: this.random,
      lcp: { mru: p?.mru ?? s.ppp.mru, echoIntervalMs: p?.timers.lcpEchoIntervalMs ?? s.timers.lcpEchoIntervalMs, echoFailures: p?.timers.lcpEchoFailures ?? s.timers.lcpEchoFailures },
      authenticatePeer: { methods: p?.auth ?? s.ppp.auth, hostName: s.server.hostname },
      ccp: p ? { policy: p.mppe.policy, strengths: p.mppe.strengths, stateless: p.mppe.stateless } : { policy: s.mppe.policy, strengths: s.mppe.strengths, stateless: s.mppe.stateless },
      ...(s.log.packetHex ? { packetHex: true } : {}),
    };
  }

  /** The peer's tunnel addresses once it authenticated: a named peer's own, a static one, or one from the pool. */
  private ipcpFor(s: ServerConfig, st: ConnState, callId: number, auth: LinkAuthInfo): IpcpOptionsConfig | string | LinkRefusal {
    const route = this.calls.get(callId);
    let named = st.peer;
    // A connection matched to a peer by its address alone is that peer only if it logs in as the peer's user:
    // anyone else from the same address (behind the same NAT) is an ordinary dial-in user.
    if (named && !st.originated && named.cfg.user !== undefined && (auth.user === undefined || !sameUser(named.cfg.user, auth.user, s))) named = undefined;
    named ??= this.peerByUser(auth.user);
    if (named) {
      // A specific peer that has a fixed address may only come from there (the seeds' "tunnel endpoint address").
      if (!st.peer && named.lastIp !== undefined && named.lastIp !== st.peerIp && parseIpv4(named.cfg.remote ?? "").ok) {
        return `user ${auth.user} is peer "${named.cfg.name}", which must connect from ${named.cfg.remote}, not ${st.peerName}`;
      }
      if (named.cfg.user !== undefined && auth.user !== undefined && !sameUser(named.cfg.user, auth.user, s)) {
        return `peer "${named.cfg.name}" must authenticate as ${named.cfg.user}, not ${auth.user}`;
      }
      const old = named.callId;
      if (old !== undefined && old !== callId && this.calls.has(old)) {
        // The peer reconnected (it rebooted, or its old path died before our keepalives noticed): keep the new one.
        const r = this.calls.get(old)!;
        this.log("events", `peer ${named.cfg.name}: new session (call ${callId}) replaces call ${old}`);
        r.st.runner.conn.hangUp(this.now(), old, "replaced by a new session of the same peer");
        r.st.runner.service();
      }
      named.callId = callId;
      if (route) route.peer = named;
    } else if (route) delete route.peer;
    this.timerGen++; // a named peer's [timers] apply
    // One session per user (max-sessions-per-user): decided now, after authentication and before an address is
    // taken, so a refused session holds nothing and a replaced one's static address is free for its successor.
    if (!named && route && auth.user !== undefined) {
      const refusal = this.perUserCheck(callId, route, auth.user, s);
      if (refusal) return refusal;
    }
    // A static address ([peer] remote-address, chap-secrets 4th column, RADIUS Framed-IP-Address) is the user's,
    // in the pool or not; if someone else holds it the call is refused rather than silently given another address.
    const plan = planAddress(route?.policy, named?.cfg.remoteAddress, auth.addresses);
    if ("refuse" in plan) return { refuse: plan.refuse, cause: "user-error" };
    let allocator: AddressAllocator = this.o.pool;
    let address: string | undefined;
    if (plan.kind === "static") {
      // An address inside a named pool is taken from that pool, so the pool cannot hand it to someone else.
      allocator = this.namedPools.holding(plan.address) ?? this.o.pool;
      address = allocator.assign ? allocator.assign(plan.address) : allocator.allocate(plan.address);
      if (!address) return `static address ${plan.address} of ${auth.user ?? "the peer"} is already in use (it comes from ${plan.source})`;
    } else {
      if (plan.pool !== undefined) {
        const named = this.namedPools.get(plan.pool);
        if (!named) {
          const known = this.namedPools.names;
          return { refuse: `the authentication backend named pool "${plan.pool}", which the config does not have (${known.length ? `[pools] has ${known.join(", ")}` : "no [pools] are configured"})`, cause: "nas-request" };
        }
        allocator = named;
      }
      address = allocator.allocate();
      if (!address) return { refuse: `address pool exhausted: no address for ${auth.user ?? "the peer"} (${plan.source})`, cause: "nas-request" };
    }
    if (route) {
      route.address = address;
      route.allocator = allocator;
      const a = parseIpv4(address);
      if (a.ok) route.addressInt = a.value;
      route.counted = true;
    } else allocator.release(address);
    return { role: "server" as const, localAddress: named?.cfg.localAddress ?? s.ppp.localAddress, peerAddress: address, dns: s.ppp.dns, wins: s.ppp.wins };
  }

  private peerByUser(user: string | undefined): NamedPeer | undefined {
    if (user === undefined) return undefined;
    for (const p of this.peers.values()) if (p.cfg.user !== undefined && sameUser(p.cfg.user, user, this.settings)) return p;
    return undefined;
  }

  /** A session whose address neither the pool nor a peer route leads into the TUN gets a /32 there (see hostRoutes). */
  private addHostRouteIfNeeded(callId: number, r: CallRoute): void {
    const hr = this.o.hostRoutes;
    if (!hr || r.address === undefined || r.addressInt === undefined || r.hostRoute !== undefined) return;
    if (rangesContain(this.settings.ppp.pool, r.address) || this.lanRoutes.lookup(r.addressInt) !== undefined) return;
    const cidr = `${r.address}/32`;
    r.hostRoute = cidr;
    this.hostRouteStep(cidr, () =>
      hr.net.addRoute(cidr, { dev: hr.dev }).then(
        () => this.log("events", `call ${callId}: host route ${cidr} dev ${hr.dev} (the address lies outside the pool)`),
        (err: unknown) => this.log("errors", `call ${callId}: could not add host route ${cidr} dev ${hr.dev}: ${(err as Error).message}; replies to it may leave by another route`),
      ),
    );
  }

  /**
   * Route changes for one /32 run one after another: a session that ends at once, or the same static address
   * back a moment later, must not have its delete overtake the add (or the next session's add).
   */
  private hostRouteStep(cidr: string, step: () => Promise<void>): void {
    const next = (this.hostRouteOps.get(cidr) ?? Promise.resolve()).then(step);
    this.hostRouteOps.set(cidr, next);
    void next.then(() => {
      if (this.hostRouteOps.get(cidr) === next) this.hostRouteOps.delete(cidr);
    });
  }

  private releaseCall(callId: number): void {
    const r = this.calls.get(callId);
    if (!r) return;
    this.calls.delete(callId);
    if (r.counters !== undefined) {
      this.endedTraffic.bytesIn += r.counters.bytesIn;
      this.endedTraffic.bytesOut += r.counters.bytesOut;
      this.endedTraffic.ipIn += r.counters.ipIn;
      this.endedTraffic.ipOut += r.counters.ipOut;
    }
    // A call that got as far as a user name ends with a call-down event (log line, accounting Stop); one refused
    // or failed before (call-failed) has none to wait for.
    if (r.user !== undefined) this.ending.set(callId, r);
    this.gre.release(callId);
    this.detachAddress(callId, r);
    if (r.hostRoute && this.o.hostRoutes) {
      const { net: sys, dev } = this.o.hostRoutes;
      const cidr = r.hostRoute;
      this.hostRouteStep(cidr, async () => {
        // The same address may be online again by now (a quick reconnect): its route stays.
        for (const other of this.calls.values()) if (other.hostRoute === cidr) return;
        await sys.deleteRoute(cidr, dev).then(
          () => this.log("events", `call ${callId}: host route ${cidr} dev ${dev} removed`),
          (err: unknown) => this.log("errors", `call ${callId}: could not remove host route ${cidr} dev ${dev}: ${(err as Error).message}`),
        );
      });
    }
    const c = r.st.clock;
    if (c.calls > 0 && --c.calls === 0) {
      c.idleSince = this.now();
      if (!r.st.originated && this.conns.has(r.st)) this.callless.add(r.st);
    }
    const n = (this.perPeer.get(r.st.peerName) ?? 1) - 1;
    if (n <= 0) this.perPeer.delete(r.st.peerName);
    else this.perPeer.set(r.st.peerName, n);
    const p = r.peer;
    if (p && p.callId === callId) {
      p.callId = undefined;
      p.up = false;
      p.queue.clear();
      this.log("events", `peer ${p.cfg.name}: down${p.cfg.routes.length ? `; ${p.cfg.routes.map(formatPrefix).join(", ")} ${p.cfg.connect === "on-demand" ? "wait for traffic to dial again" : "unreachable until it is back"}` : ""}`);
      if (p.cfg.connect === "persistent" && !this.closing && p.outbound === undefined) this.scheduleDial(p, "session ended");
    }
  }

  /** Whether onSessionEvent writes a line of `category` about `callId`: the engines format only those (same test). */
  private logWanted(category: LogCategory, callId: number | undefined): boolean {
    const r = callId !== undefined ? (this.calls.get(callId) ?? this.ending.get(callId)) : undefined;
    if (r?.log !== undefined && category !== "errors") return r.log.enabled(category);
    return this.o.log.enabled(category);
  }

  private onSessionEvent(st: ConnState, e: SessionEvent): void {
    st.tunnel.observe(st.runner.conn.control.state, this.now());
    switch (e.type) {
      case "log": {
        const r = e.callId !== undefined ? (this.calls.get(e.callId) ?? this.ending.get(e.callId)) : undefined;
        if (r?.log !== undefined && e.category !== "errors") {
          // The call's own logger: global switches, then the per-session filters of `pptp-ts debug`.
          if (r.log.enabled(e.category)) r.log.log(e.category, e.message);
          return;
        }
        if (!this.o.log.enabled(e.category)) return;
        const who = e.callId !== undefined ? `call ${e.callId}${r?.user ? ` user=${r.user}` : ""} peer=${st.peerName}: ` : "";
        // Errors can repeat per packet (malformed frames, bad sequence): the first is logged, repeats are counted.
        if (e.category === "errors") this.defences.sessionError(st.peerName, who + e.message);
        else this.o.log.log(e.category, who + e.message);
        return;
      }
      case "verify": {
        const callId = e.callId;
        const user = e.request.user;
        const route = this.calls.get(callId);
        if (route) {
          route.user = user;
          route.log?.identify(user);
        }
        const auth = this.auth;
        const ctx: AuthContext | undefined = route && { sessionId: route.sessionId, callId, peerAddress: route.peerAddress, localAddress: route.localAddress };
        this.defences.verify(e.request, st.peerName, (req) => auth.verify(req, ctx)).then(
          (result) => {
            if (!result.ok) this.log("events", `call ${callId} peer=${st.peerName}: ${user}: ${result.message}`);
            else this.takePolicy(callId, st, user, result.session, result.backend);
            st.runner.conn.completeVerification(this.now(), callId, result);
            st.runner.service();
          },
          (err: unknown) => {
            this.log("errors", `call ${callId}: authentication backend failed: ${(err as Error).message}`);
            st.runner.conn.completeVerification(this.now(), callId, { ok: false, code: 691, message: "authentication backend error" });
            st.runner.service();
          },
        );
        return;
      }
      case "network-up": {
        const r = this.calls.get(e.callId);
        if (!r) return;
        r.networkUp = true;
        this.callsUpSeq++;
        // A renegotiation (RFC 1661 §3.2: a Configure-Request in Opened; the link raises network-up again once
        // it is back) continues the session that is up: it is not a new one for the counters, the log or
        // accounting (its Start went at the first network-up; RFC 2866 §5.1: one Start per session).
        const renegotiated = r.upAt !== undefined;
        if (!renegotiated) this.counters.sessionsEstablished++;
        r.user = e.user;
        if (e.user !== undefined) r.log?.identify(e.user);
        r.method = e.method;
        r.mppe = e.mppe ? `${e.mppe.bits}-bit ${e.mppe.stateless ? "stateless" : "stateful"}` : "none";
        if (r.addressInt !== undefined) this.byAddress.set(r.addressInt, e.callId);
        this.addHostRouteIfNeeded(e.callId, r);
        // The peer's MRU bounds every datagram we send it (CallSession fragments or answers ICMP above it): say it.
        const link = st.runner.conn.sessions.get(e.callId)?.link;
        if (r.upAt === undefined) {
          r.upAt = this.now();
          r.startedWall = this.wall();
          // The link's own counters, read when a snapshot is taken: nothing is copied per packet.
          if (link) r.counters = link.stats;
          this.addFramedRoutes(e.callId, r);
          this.acct.start(r.acct, r.upAt, () => this.snapshot(r));
        }
        this.callLine(
          e.callId,
          r,
          st,
          "events",
          `${renegotiated ? "session renegotiated" : "session up"}: address ${e.ipcp.peerAddress}, ${e.method ? authMethodLabel(e.method) : "no authentication"}, MPPE ${r.mppe}` +
            (link ? `, peer MRU ${link.lcpInfo?.peerMru ?? 1500} (datagrams up to ${link.maxIpOut} octets)` : ""),
        );
        if (r.peer && r.peer.callId === e.callId && !renegotiated) this.peerUp(r.peer, r);
        if (this.workerCalls && link && r.addressInt !== undefined) {
          const session = st.runner.conn.sessions.get(e.callId);
          if (session) this.workerCalls.handOff(e.callId, session, { peerIp: st.peerIp, localIp: st.localIp, clientIp: r.addressInt }, () => (r.lastActivity = this.now()));
        }
        return;
      }
      case "call-down": {
        // A call on a data-plane worker comes back first, so its end is accounted with the worker's last counters.
        if (this.workerCalls?.onWorker(e.callId)) {
          void this.workerCalls.takeBack(e.callId).then(() => this.onSessionEvent(st, e));
          return;
        }
        this.releaseCall(e.callId);
        const r = this.ending.get(e.callId);
        this.ending.delete(e.callId);
        const cause = r?.endCause ?? e.cause;
        this.downByCause.set(cause, (this.downByCause.get(cause) ?? 0) + 1);
        if (e.code !== undefined) this.downByClientError.set(e.code, (this.downByClientError.get(e.code) ?? 0) + 1);
        const totals = r?.upAt !== undefined ? this.snapshot(r) : undefined;
        this.callLine(
          e.callId,
          r,
          st,
          "events",
          `session down: ${e.reason}${e.code !== undefined ? ` (client sees error ${e.code})` : ""}; cause ${cause}` + (totals ? `, ${sessionTotals(totals)}` : ""),
          { reason: e.reason, cause, ...(e.code !== undefined ? { clientError: e.code } : {}), ...(totals ? totalsFields(totals) : {}) },
        );
        if (r) this.accountStop(e.callId, r, cause);
        this.stopIfCleared(st);
        return;
      }
      case "closed":
        return;
    }
  }

  // ------------------------------------------------------------------------------------------ AAA: sessions

  /** What the backend said about the session (AuthResult.session): kept for the address, routes and timers. */
  private takePolicy(callId: number, st: ConnState, user: string, policy: SessionPolicy | undefined, backend: string | undefined): void {
    const r = this.calls.get(callId);
    if (!r) return;
    if (backend !== undefined) r.backend = backend;
    if (!policy) return;
    r.policy = policy;
    this.timerGen++;
    const text = describePolicy(policy);
    if (text) this.log("events", `call ${callId} user=${user} peer=${st.peerName}: ${backend ?? "the backend"} says: ${text}`);
  }

  /**
   * max-sessions-per-user: with "deny" the new session is refused (the link ends with LCP Terminate-Request; the
   * client shows 734, as for any refusal after authentication); with "replace" the user's oldest sessions are
   * cleared (Admin-Reset) and their addresses freed at once, so the newcomer may take the same static address.
   */
  private perUserCheck(callId: number, route: CallRoute, user: string, s: ServerConfig): LinkRefusal | undefined {
    const max = s.server.maxSessionsPerUser ?? 0;
    if (max <= 0) return undefined;
    const cs = s.ppp.caseSensitiveUsers;
    const key = userKey(user, cs);
    const others = [...this.calls].filter(([id, r]) => id !== callId && r.counted && r.user !== undefined && userKey(r.user, cs) === key);
    if (others.length < max) return undefined;
    if ((s.server.perUserPolicy ?? "deny") === "deny") {
      const why = `user ${user} already has ${others.length} session${others.length === 1 ? "" : "s"} (call ${others.map(([id]) => id).join(", ")}); max-sessions-per-user ${max}, per-user-policy deny`;
      this.log("events", `call ${callId} peer=${route.st.peerName}: refused: ${why}`);
      return { refuse: why, cause: "user-error" };
    }
    // Oldest first: the ones started earliest make room.
    const victims = others.sort((a, b) => a[1].startedAt - b[1].startedAt).slice(0, others.length - max + 1);
    for (const [id, old] of victims) {
      this.log("events", `call ${callId} user=${user}: replaces call ${id} (max-sessions-per-user ${max}, per-user-policy replace)`);
      old.counted = false;
      this.detachAddress(id, old);
      this.endSession(id, old, "admin-reset", `replaced by a new session of ${user} (call ${callId})`);
    }
    return undefined;
  }

  /** The session's address and Framed-Routes go back now (its call may linger a moment longer). */
  private detachAddress(callId: number, r: CallRoute): void {
    if (r.addressInt !== undefined && this.byAddress.get(r.addressInt) === callId) this.byAddress.delete(r.addressInt);
    // Released once, to the pool it came from: a replaced session is detached before its call ends.
    if (r.address && r.allocator) r.allocator.release(r.address);
    r.allocator = undefined;
    r.addressInt = undefined;
    // The address stays on the record for the log line and the accounting Stop (Framed-IP-Address).
    this.removeFramedRoutes(callId, r);
  }

  /** LCP Terminate-Request, then CDN (and StopCCRQ when the client's tunnel empties, as it sends): a proper end. */
  private endSession(callId: number, r: CallRoute, cause: TerminateCause, reason: string): void {
    r.endCause ??= cause;
    r.st.runner.conn.hangUp(this.now(), callId, reason, cause);
    r.st.runner.service();
  }

  /** Framed-Route (RFC 2865 §5.22): the client's networks route into our TUN and to this call while it is up. */
  private addFramedRoutes(callId: number, r: CallRoute): void {
    const { routes, refused } = framedRoutes(r.policy);
    if (refused.length) this.log("events", `call ${callId}: Framed-Route ignored: ${refused.join("; ")}`);
    const taken: Ipv4Prefix[] = [];
    for (const p of routes) {
      const a = parseIpv4(p.network);
      const owner = a.ok ? (this.sessionRoutes.lookup(a.value) ?? undefined) : undefined;
      // The same network behind another live session: the first keeps it (two owners cannot both receive it).
      if (owner !== undefined && this.calls.get(owner)?.routes?.some((q) => q.network === p.network && q.prefix === p.prefix)) {
        this.log("events", `call ${callId}: Framed-Route ${formatPrefix(p)} ignored: call ${owner} already routes it`);
        continue;
      }
      this.sessionRoutes.add(p, callId);
      taken.push(p);
    }
    if (taken.length === 0) return;
    r.routes = taken;
    this.log("events", `call ${callId}: routes ${taken.map(formatPrefix).join(", ")} lead to this session`);
    const hr = this.o.hostRoutes;
    if (!hr) return;
    r.kernelRoutes = taken.map(formatPrefix);
    for (const cidr of r.kernelRoutes) {
      this.hostRouteStep(cidr, () =>
        hr.net.addRoute(cidr, { dev: hr.dev }).then(
          () => this.log("events", `call ${callId}: route ${cidr} dev ${hr.dev} (Framed-Route)`),
          (err: unknown) => this.log("errors", `call ${callId}: could not add route ${cidr} dev ${hr.dev}: ${(err as Error).message}`),
        ),
      );
    }
  }

  private removeFramedRoutes(callId: number, r: CallRoute): void {
    if (!r.routes) return;
    this.sessionRoutes.remove(callId);
    r.routes = undefined;
    const hr = this.o.hostRoutes;
    const cidrs = r.kernelRoutes ?? [];
    r.kernelRoutes = undefined;
    if (!hr) return;
    for (const cidr of cidrs) {
      this.hostRouteStep(cidr, () =>
        hr.net.deleteRoute(cidr, hr.dev).then(
          () => this.log("events", `call ${callId}: route ${cidr} dev ${hr.dev} removed`),
          (err: unknown) => this.log("errors", `call ${callId}: could not remove route ${cidr} dev ${hr.dev}: ${(err as Error).message}`),
        ),
      );
    }
  }

  /** The session's time limits: the backend's over the peer's or [timers]', then any live change (CoA). */
  private limitsOf(r: CallRoute): SessionTimeLimits {
    return sessionLimits(r.peer?.cfg.timers ?? this.settings.timers, r.policy, r.timeouts);
  }

  private snapshot(r: CallRoute): SessionSnapshot {
    const now = this.now();
    const peerCallId = r.st.runner.conn.sessions.get(r.callId)?.peerCallId;
    return {
      ...snapshotOf(r, now, this.wall()),
      ...(r.upAt !== undefined ? { idleMs: Math.max(0, now - Math.max(r.lastActivity, r.upAt)) } : {}),
      ...(peerCallId !== undefined ? { peerCallId } : {}),
      ...(r.peer !== undefined ? { peerName: r.peer.cfg.name } : {}),
    };
  }

  private accountStop(callId: number, r: CallRoute, cause: TerminateCause): void {
    this.ending.delete(callId);
    this.acct.stop(r.acct, cause, () => this.snapshot(r));
  }

  // ------------------------------------------------------------------------------------------ SessionDirectory

  /** Sessions that match (RFC 5176 §3: every field given must match; user names as max-sessions-per-user compares them). */
  find(sel: SessionSelector): readonly SessionSnapshot[] {
    return [...this.eachSession(sel)];
  }

  /**
   * find(), one snapshot as it is pulled (`pptp-ts show sessions` takes a bounded piece per turn): the walk is over
   * the live map, so a call that ends before it is reached is not listed and one that comes up may be.
   */
  *eachSession(sel: SessionSelector): Generator<SessionSnapshot> {
    for (const r of this.calls.values()) if (selectorMatches(sel, r, this.settings.ppp.caseSensitiveUsers)) yield this.snapshot(r);
  }

  /**
   * `pptp-ts clear`: ends each matching session as disconnect() does, as it is pulled (the control socket pulls a
   * bounded piece per turn); yields its Session ID. Which sessions is decided now, by Session ID: one that comes up
   * while the pieces are written is not cleared, whatever it matches (the live map would hand it to the walk).
   */
  clearEach(sel: SessionSelector, cause: TerminateCause, reason: string): Iterable<string> {
    const chosen: Array<readonly [number, string]> = [];
    for (const [callId, r] of this.calls) if (selectorMatches(sel, r, this.settings.ppp.caseSensitiveUsers)) chosen.push([callId, r.sessionId]);
    return this.endChosen(chosen, cause, reason);
  }

  /** Ends the chosen sessions still present, one per pull (a Call ID now held by another session is not it). */
  private *endChosen(chosen: ReadonlyArray<readonly [number, string]>, cause: TerminateCause, reason: string, st?: ConnState): Generator<string> {
    for (const [callId, sessionId] of chosen) {
      const r = this.calls.get(callId);
      if (r === undefined || r.sessionId !== sessionId || (st !== undefined && r.st !== st)) continue;
      this.log("events", `call ${callId}${r.user ? ` user=${r.user}` : ""} peer=${r.st.peerName}: disconnect (${cause}): ${reason}`);
      this.endSession(callId, r, cause, reason);
      yield sessionId;
    }
  }

  /** Ends a session properly (LCP Terminate-Request, CDN, accounting Stop with `cause`), logged with `reason`. */
  disconnect(sessionId: string, cause: TerminateCause, reason: string): boolean {
    for (const [callId, r] of this.calls) {
      if (r.sessionId !== sessionId) continue;
      this.log("events", `call ${callId}${r.user ? ` user=${r.user}` : ""} peer=${r.st.peerName}: disconnect (${cause}): ${reason}`);
      this.endSession(callId, r, cause, reason);
      return true;
    }
    return false;
  }

  /** New Session-Timeout / Idle-Timeout for a live session (0 = none); the limits count from the same start. */
  changeTimeouts(sessionId: string, change: { readonly sessionTimeoutMs?: number; readonly idleTimeoutMs?: number }): boolean {
    for (const [callId, r] of this.calls) {
      if (r.sessionId !== sessionId) continue;
      r.timeouts = { ...r.timeouts, ...change };
      this.timerGen++;
      const l = this.limitsOf(r);
      this.log("events", `call ${callId}${r.user ? ` user=${r.user}` : ""}: timeouts changed: session ${l.sessionTimeoutMs / 1000} s, idle ${l.idleTimeoutMs / 1000} s (0 = none)`);
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------------------------------------ tunnels (show/clear)

  /** Every control connection for `show tunnels` / `show vpdn`, those with no call yet too. */
  tunnels(): TunnelReport[] {
    return [...this.eachTunnel()];
  }

  /** tunnels() counted by state, without a report per connection (metrics scrapes). */
  tunnelStates(): { role: "server"; state: string; n: number }[] {
    const n = new Map<string, number>();
    for (const st of this.conns) {
      const state = tunnelStateWords(st.runner.conn.control.state);
      n.set(state, (n.get(state) ?? 0) + 1);
    }
    return [...n].map(([state, count]) => ({ role: "server", state, n: count }));
  }

  /** tunnels(), one control connection as it is pulled (`show tunnels` / `show vpdn` take a bounded piece per turn). */
  *eachTunnel(): Generator<TunnelReport> {
    for (const st of this.conns) yield this.tunnelReport(st, this.now());
  }

  private tunnelReport(st: ConnState, now: number): TunnelReport {
    // The named peer a dial-in connection turned out to be: from its own calls (looking through every call of the
    // server for each connection made the listing quadratic: minutes at 20,000).
    const name = this.tunnelPeerName(st);
    const callExtras = (callId: number) => {
      const r = this.calls.get(callId);
      return r && { ...(r.user !== undefined ? { user: r.user } : {}), ...(r.address !== undefined ? { address: r.address } : {}), interface: this.o.tun.name, since: r.upAt ?? r.startedAt };
    };
    return reportTunnel({ clock: st.tunnel, role: "server", conn: st.runner.conn, socket: st.runner.socket, ...(name !== undefined ? { peerName: name } : {}), callExtras }, now);
  }

  /** The named peer a connection is or turned out to be (from its own calls: every call of the server would be quadratic). */
  private tunnelPeerName(st: ConnState): string | undefined {
    let name = st.peer?.cfg.name;
    if (name === undefined) for (const callId of st.runner.conn.sessions.keys()) if ((name = this.calls.get(callId)?.peer?.cfg.name) !== undefined) break;
    return name;
  }

  /**
   * `clear tunnel PEER` (its address, or a [peer NAME]): every call on those control connections ends properly —
   * LCP Terminate-Request, Call-Disconnect-Notify, accounting Stop with Admin-Reset — and the connection sends
   * Stop-Control-Connection-Request once its last call is gone (RFC 2637 §3.1.1). Returns them as they were.
   */
  clearTunnel(peer: string, reason: string): TunnelReport[] {
    const c = this.clearTunnelEach(peer, reason);
    for (const _ of c.calls);
    return c.tunnels;
  }

  /**
   * clearTunnel, its calls ended as they are pulled (the control socket pulls a bounded piece per turn: a tunnel
   * carrying thousands of calls no longer ends them all in one turn); yields their Session IDs. Now: the matching
   * connections are chosen and marked (a clearing connection admits no new call), and their calls are noted by
   * Session ID; a connection with none stops at once. Reports are built for the matching connections only.
   */
  clearTunnelEach(peer: string, reason: string): { tunnels: TunnelReport[]; calls: Iterable<string> } {
    const now = this.now();
    const hits: ConnState[] = [];
    const tunnels: TunnelReport[] = [];
    for (const st of this.conns) {
      const addr = (st.runner.socket.remoteAddress ?? "?").replace(/^::ffff:/, "");
      if (addr !== peer && this.tunnelPeerName(st) !== peer) continue;
      tunnels.push(this.tunnelReport(st, now));
      if (!st.runner.conn.isClosed) hits.push(st);
    }
    const chosen: Array<{ st: ConnState; calls: Array<readonly [number, string]> }> = [];
    for (const st of hits) {
      st.clearing = reason;
      this.log("events", `control connection ${st.peerName}: clear tunnel (${st.runner.conn.sessions.size} call(s)): ${reason}`);
      const calls: Array<readonly [number, string]> = [];
      for (const callId of st.runner.conn.sessions.keys()) {
        const r = this.calls.get(callId);
        if (r !== undefined && r.st === st) calls.push([callId, r.sessionId]);
      }
      if (calls.length === 0) {
        this.stopIfCleared(st);
        st.runner.service();
      } else chosen.push({ st, calls });
    }
    const self = this;
    function* each(): Generator<string> {
      for (const { st, calls } of chosen) {
        yield* self.endChosen(calls, "admin-reset", reason, st);
        self.stopIfCleared(st);
        st.runner.service();
      }
    }
    return { tunnels, calls: each() };
  }

  /** A tunnel being cleared whose last call is gone: Stop-Control-Connection-Request (a bare one just closes). */
  private stopIfCleared(st: ConnState): void {
    if (st.clearing === undefined || st.runner.conn.sessions.size > 0 || st.runner.conn.isClosed) return;
    st.runner.conn.shutdown(this.now(), st.clearing, "admin-reset", "none");
    st.tunnel.observe(st.runner.conn.control.state, this.now());
  }

  /**
   * `pptp-ts capture`: taps one session's data path (src/session/capture-tap.ts) until a limit, stop() (the reader
   * left) or the session's end; one capture per session at a time. Started and ended in the log: an operator reads
   * a user's traffic. A string says why not.
   */
  startCapture(sessionId: string, limits: CaptureLimits, sink: (record: Uint8Array) => boolean, onEnd: (s: CaptureSummary) => void): { stop(): void } | string {
    for (const [callId, r] of this.calls) {
      if (r.sessionId !== sessionId) continue;
      const call = r.st.runner.conn.sessions.get(callId);
      if (!call) return `session ${sessionId} has no data path yet`;
      if (call.capture !== undefined) return `session ${sessionId} is already being captured`;
      const who = `call ${callId}${r.user ? ` user=${r.user}` : ""}`;
      let timer: NodeJS.Timeout | undefined;
      const tap: CaptureTap = new CaptureTap({
        now: this.now(),
        wallMs: this.wall(),
        limits,
        sink,
        onEnd: (sum) => {
          if (call.capture === tap) call.capture = undefined;
          clearTimeout(timer);
          this.log("events", `${who}: capture ended (${sum.reason}): ${sum.packets} packets, ${sum.bytes} bytes, ${sum.dropped} dropped`);
          onEnd(sum);
        },
      });
      call.capture = tap;
      // --seconds. Node's timers may fire a little before performance.now() reaches the deadline: re-armed until due.
      const arm = (): void => {
        const due = tap.pollTimeout();
        if (due === undefined) return;
        timer = setTimeout(() => {
          tap.handleTimeout(this.now());
          arm();
        }, Math.max(1, Math.ceil(due - this.now()))).unref();
      };
      arm();
      this.log("events", `${who}: capture started (pptp-ts capture${limits.control ? " --control" : ""})`);
      return { stop: () => tap.stop("stopped") };
    }
    return `no session ${sessionId}`;
  }

  // ------------------------------------------------------------------------------------------ named peers

  private loadPeers(list: readonly PeerConfig[]): void {
    const keep = new Map(this.peers);
    this.peers.clear();
    this.lanRoutes.clear();
    for (const cfg of list) {
      if (cfg.role !== "server") continue;
      const old = keep.get(cfg.name);
      const p: NamedPeer = old ?? {
        cfg,
        callId: undefined,
        up: false,
        dialing: false,
        outbound: undefined,
        backoff: new Backoff(cfg.timers.reconnectMinMs, cfg.timers.reconnectMaxMs),
        retry: undefined,
        queue: new HeldPackets(DEMAND_QUEUE),
        lastIp: undefined,
        failures: 0,
      };
      p.cfg = cfg;
      const lit = cfg.remote !== undefined ? parseIpv4(cfg.remote) : undefined;
      if (lit?.ok) p.lastIp = lit.value;
      this.peers.set(cfg.name, p);
      for (const r of cfg.routes) this.lanRoutes.add(r, p);
      // Host names are resolved now (and again at every dial) so an inbound connection can be matched to them.
      if (cfg.remote !== undefined && !lit?.ok) {
        this.resolve(cfg.remote).then(
          (a) => {
            const v = parseIpv4(a);
            if (v.ok) p.lastIp = v.value;
          },
          (e: unknown) => this.log("errors", `peer ${cfg.name}: ${(e as Error).message}`),
        );
      }
    }
  }

  private peerUp(p: NamedPeer, r: CallRoute): void {
    p.up = true;
    p.failures = 0;
    p.backoff.reset();
    this.log("events", `peer ${p.cfg.name}: up, address ${r.address ?? "?"}${p.cfg.routes.length ? `, routes ${p.cfg.routes.map(formatPrefix).join(", ")}` : ""}`);
    const q = p.queue.take();
    const conn = r.st.runner.conn;
    for (const pkt of q) conn.sendIp(this.now(), p.callId!, pkt, 0, pkt.length);
    if (q.length) r.st.runner.service();
  }

  /** Open a control connection to a named peer; it answers SCCRP and places an Incoming-Call-Request. */
  private dial(p: NamedPeer, why: string): void {
    if (this.closing || p.dialing || p.outbound || p.callId !== undefined || p.cfg.remote === undefined) return;
    p.dialing = true;
    if (p.retry) clearTimeout(p.retry);
    p.retry = undefined;
    const remote = p.cfg.remote;
    this.log("events", `peer ${p.cfg.name}: dialling ${remote}:${p.cfg.port} (${why})`);
    this.resolve(remote).then(
      (addr) => {
        const ip = parseIpv4(addr);
        if (!ip.ok || this.closing) {
          p.dialing = false;
          return;
        }
        p.lastIp = ip.value;
        const listen = this.settings.server.listen;
        const socket = net.connect({ host: addr, port: p.cfg.port, ...(listen !== "0.0.0.0" ? { localAddress: listen } : {}) });
        const failed = (e: Error): void => {
          p.dialing = false;
          this.dialFailed(p, `cannot reach ${remote} (${addr}:${p.cfg.port}): ${e.message}`);
        };
        socket.once("error", failed);
        socket.once("connect", () => {
          socket.off("error", failed);
          p.dialing = false;
          p.outbound = this.run(socket, addr, ip.value, p, true);
        });
      },
      (e: unknown) => {
        p.dialing = false;
        this.dialFailed(p, (e as Error).message);
      },
    );
  }

  /** Our control connection to the peer ended; a session it carried was released already. */
  private outboundGone(p: NamedPeer): void {
    p.outbound = undefined;
    if (p.up || p.callId !== undefined) return;
    this.dialFailed(p, "the control connection ended before a session came up");
  }

  private dialFailed(p: NamedPeer, reason: string): void {
    p.failures++;
    p.queue.clear();
    this.log("events", `peer ${p.cfg.name}: ${reason}`);
    if (p.cfg.maxFailures > 0 && p.failures >= p.cfg.maxFailures && p.cfg.connect === "persistent") {
      this.log("events", `peer ${p.cfg.name}: giving up after ${p.failures} failed attempts (max-failures)`);
      return;
    }
    if (p.cfg.connect === "persistent") this.scheduleDial(p, reason);
  }

  private scheduleDial(p: NamedPeer, why: string): void {
    if (this.closing || p.retry) return;
    const wait = p.backoff.next();
    this.log("events", `peer ${p.cfg.name}: redialling in ${(wait / 1000).toFixed(1)} s`);
    p.retry = setTimeout(() => {
      p.retry = undefined;
      this.dial(p, `retry after: ${why}`);
    }, wait);
    p.retry.unref?.();
  }

  // ------------------------------------------------------------------------------------------ data plane

  private onTunBatch(b: PacketBatch): void {
    const now = this.now();
    const d = b.data;
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i];
      const len = b.lengths[i];
      if (len < 20 || d[off] >> 4 !== 4) {
        this.counters.tunNoRoute++;
        continue;
      }
      const dst = ((d[off + 16] << 24) | (d[off + 17] << 16) | (d[off + 18] << 8) | d[off + 19]) >>> 0;
      let callId = this.byAddress.get(dst);
      if (callId === undefined && this.sessionRoutes.size > 0) callId = this.sessionRoutes.lookup(dst);
      if (callId === undefined) {
        const p = this.lanRoutes.size > 0 ? this.lanRoutes.lookup(dst) : undefined;
        if (p === undefined) {
          this.counters.tunNoRoute++;
          continue;
        }
        if (!p.up || p.callId === undefined) {
          this.demand(p, d, off, len, dst);
          continue;
        }
        callId = p.callId;
      }
      const r = this.calls.get(callId);
      if (!r) {
        this.counters.tunNoRoute++;
        continue;
      }
      r.lastActivity = now;
      if (this.workerCalls?.onWorker(callId)) {
        if (!this.workerCalls.forwardIp(callId, d, off, len)) this.counters.tunDropped++;
        continue;
      }
      if (!r.st.runner.conn.sendIp(now, callId, d, off, len)) this.counters.tunDropped++;
    }
  }

  /** Traffic for a named peer whose tunnel is down: dial it (on-demand) and hold a few packets, or drop. */
  private demand(p: NamedPeer, d: Uint8Array, off: number, len: number, dst: number): void {
    if (p.cfg.connect !== "on-demand" || p.cfg.remote === undefined) {
      this.counters.tunNoRoute++;
      return;
    }
    if (!p.queue.hold(d, off, len)) this.counters.tunDropped++;
    if (!p.dialing && !p.outbound && p.callId === undefined) {
      this.counters.demandDials++;
      this.dial(p, `traffic for ${formatIpv4(dst)}`);
    }
  }

  /**
   * Idle and session timers of every session that is up; the server runs this once a second (RFC 2637 leaves them
   * to the implementation; Cisco's "Tunnel disconnect timer"). Public so a test with a fake `clock` can run it.
   */
  checkSessionTimers(): void {
    const now = this.now();
    this.defences.flush();
    // A connection holding a call was started (calls are placed only once established, and it never goes back):
    // neither start- nor no-call-timeout applies, so its engine is not even looked at (20,000 idle connections).
    for (const st of this.callless) if (st.clock.idleSince !== undefined) this.enforceDeadlines(st);
    // Once a second over every call: only a comparison for each call with nothing due, and no walk at all while
    // the earliest deadline of the last walk is ahead (see callsCheckAt).
    const gen = this.timerGen;
    const seq = this.callsUpSeq;
    if (gen === this.callsCheckGen && seq === this.callsCheckSeq && now < this.callsCheckAt) return;
    let next = Infinity;
    for (const r of this.calls.values()) {
      if (!r.networkUp) continue;
      if (r.checkGen === gen && now < r.checkAt!) {
        if (r.checkAt! < next) next = r.checkAt!;
        continue;
      }
      const callId = r.callId;
      const interval = r.policy?.interimIntervalMs ?? this.settings.accounting?.interimIntervalMs ?? 0;
      this.acct.interimIfDue(r.acct, now, interval, () => this.snapshot(r));
      const limits = this.limitsOf(r);
      const expiry = sessionTimeExpiry(limits, now, r.lastActivity, r.startedAt);
      if (!expiry) {
        r.checkGen = gen;
        r.checkAt = nextSessionCheck(limits, now, r.lastActivity, r.startedAt, interval > 0 ? (r.acct.started ? r.acct.lastInterimAt + interval : now + 1000) : Infinity);
        if (r.checkAt < next) next = r.checkAt;
        continue;
      }
      next = now; // hung up: looked at again next second, as before, until it is gone
      const reason =
        expiry.kind === "idle"
          ? `idle for ${Math.round(expiry.idleForMs / 1000)} s: Tunnel disconnect timer timeout`
          : sessionLimitReason(expiry.limitMs);
      r.st.runner.conn.hangUp(now, callId, reason, expiry.kind === "idle" ? "idle-timeout" : "session-timeout");
      r.st.runner.service();
    }
    this.callsCheckGen = gen;
    this.callsCheckSeq = seq;
    this.callsCheckAt = next;
  }

  /** A control connection that has not completed SCCRQ in time, or holds no call for too long, is ended. */
  private enforceDeadlines(st: ConnState): void {
    const state = st.runner.conn.control.state;
    const started = state !== "idle" && state !== "wait-ctl-request" && state !== "wait-ctl-answer";
    // Started and holding a call: neither start-timeout nor no-call-timeout can apply (ConnectionLimits.expired).
    if (started && st.clock.idleSince === undefined) return;
    const why = this.defences.overstayed(st.clock, started, st.peerName);
    if (why === undefined) return;
    if (!started) {
      // Nothing was agreed, so there is nothing to say in PPTP: close TCP.
      st.runner.destroy();
      return;
    }
    // RFC 2637 §2.3: Stop-Control-Connection-Request, Reason 1 (None: general request to clear); then close
    // without waiting the full reply timeout for a peer that may never answer.
    st.runner.conn.control.stop(this.now(), "none", why);
    st.runner.service();
    setTimeout(() => {
      if (!st.runner.isGone) st.runner.destroy();
    }, 2000).unref?.();
  }

  private log(category: LogCategory, message: string): void {
    if (this.o.log.enabled(category)) this.o.log.log(category, message);
  }

  /** A line about one call: through its own logger when there is one (filters, JSON fields), else as text. */
  private callLine(callId: number, r: CallRoute | undefined, st: ConnState, category: LogCategory, message: string, fields?: LogFields): void {
    if (r?.log !== undefined) {
      if (r.log.enabled(category)) r.log.log(category, message, fields);
      return;
    }
    this.log(category, `call ${callId}${r?.user ? ` user=${r.user}` : ""} peer=${st.peerName}: ${message}`);
  }
}

/**
 * The earliest time a session's idle or session limit can run out, or its interim update fall due: before it,
 * checkSessionTimers skips the call. Data moves `lastActivity` later, so the idle one may come early: the check
 * then finds nothing and computes the next.
 */
function nextSessionCheck(l: SessionTimeLimits, now: number, lastActivity: number, upSince: number, interimAt: number): number {
  let t = interimAt;
  if (l.idleTimeoutMs > 0 && lastActivity + l.idleTimeoutMs < t) t = lastActivity + l.idleTimeoutMs;
  if (l.sessionTimeoutMs > 0 && upSince + l.sessionTimeoutMs < t) t = upSince + l.sessionTimeoutMs;
  return t > now ? t : now + 1000;
}

/** The "session down" totals as JSON fields (the text line has them in its message). */
function totalsFields(s: SessionSnapshot): LogFields {
  return { durationS: Math.round(s.durationMs / 1000), inOctets: s.inOctets, inPackets: s.inPackets, outOctets: s.outOctets, outPackets: s.outPackets };
}

/** "12 s, in 3400 octets / 20 packets, out 5600 octets / 21 packets": the totals of the "session down" line. */
function sessionTotals(s: SessionSnapshot): string {
  return `${Math.round(s.durationMs / 1000)} s, in ${s.inOctets} octets / ${s.inPackets} packets, out ${s.outOctets} octets / ${s.outPackets} packets`;
}

/** The peer logged in as the named peer's `configured` user (DOMAIN\user included, as LocalUsers matches it). */
function sameUser(configured: string, asSent: string, s: ServerConfig): boolean {
  return isUserName(configured, asSent, s.ppp.caseSensitiveUsers);
}

export { formatIpv4 };
