/**
 * The networked PPTP client: one dial-out peer ([peer NAME], role client, or `pptp-ts connect` on the command
 * line). It dials the server (its name resolved again at every attempt), runs one call over the control
 * connection, and carries IP between its own TUN device and the tunnel:
 *
 *   TUN batch → ClientConnection.sendIp → PppLink (MPPE encrypt) → GreChannel → the process's GRE socket
 *   GRE (GreDemux, by our Call ID and the server's address) → ClientConnection → PppLink (decrypt) → TUN write
 *
 * Around it the operator's expectations of a VPN client: a host route to the server outside the tunnel (so the
 * tunnel never carries its own GRE), the negotiated address and MTU on the TUN device, split routes or a
 * default route (two /1 routes, leaving the real default in place for the host route's sake), keepalives both
 * ways (PPTP Echo and LCP Echo), redial with exponential backoff after a drop, dial-on-demand with an idle
 * timer, and failures in plain words ("authentication failed (691)", "server requires MPPE-128; this profile
 * allows none", "GRE is blocked").
 *
 * With `answer = yes` the same peer also takes the server's own control connection (the Yamaha FAQ's
 * server-initiated LAN-to-LAN call): the server sends SCCRQ, we place an Incoming-Call-Request.
 */
import * as net from "node:net";
import { performance } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import { ClientConnection } from "../session/client-connection.js";
import type { SessionEvent, LogCategory } from "../session/connection.js";
import { controlLocalIp, type GreDemux } from "../io/gre-demux.js";
import type { TunTransport, PacketBatch } from "../io/transport.js";
import { ConnectionRunner } from "../io/connection-runner.js";
import { formatIpv4, parseIpv4 } from "../wire/ipv4.js";
import { formatPrefix } from "../io/prefix-table.js";
import { HeldPackets } from "../session/held-packets.js";
import { sessionLimitReason, sessionTimeExpiry } from "../session/session-timers.js";
import { resolveIpv4, type Resolver } from "../io/resolve.js";
import { LinuxNetwork, type RouteInfo, type SystemNetwork } from "../io/system-net.js";
import type { GreHeader } from "../wire/gre.js";
import type { RandomSource } from "../core/clock.js";
import { authMethodLabel } from "../wire/ppp-protocols.js";
import type { PeerConfig } from "../config/peer-types.js";
import { Backoff } from "../session/backoff.js";
import { clientControlOptions, clientLinkConfig, tunnelMtu } from "./link-config.js";
import { reportTunnel, TunnelClock, type TunnelReport } from "../io/tunnel-report.js";

export type ClientState =
  /** Not started, or stopped by the operator. */
  | "idle"
  /** On-demand: routes are in place, the first packet for them dials. */
  | "waiting-for-traffic"
  /** answer-only: waiting for the server to call us. */
  | "waiting-for-call"
  | "connecting"
  /** TCP is up: control connection, call, LCP, authentication, CCP, IPCP. */
  | "negotiating"
  | "up"
  /** Between attempts (backoff). */
  | "retry-wait"
  /** Given up: max-failures reached, or a refusal in interactive use. */
  | "failed"
  | "stopped";

export interface ClientStatus {
  readonly peer: string;
  readonly state: ClientState;
  /** The server's address of the current or last attempt. */
  readonly server?: string;
  readonly localAddress?: string;
  readonly remoteAddress?: string;
  readonly dns?: readonly string[];
  readonly mtu?: number;
  readonly method?: string;
  readonly mppe?: string;
  /** Why the last attempt or session ended, in plain words, with the Windows error number when one applies. */
  readonly lastError?: string;
  readonly lastErrorCode?: number;
  /** Failed attempts in a row. */
  readonly failures: number;
  readonly upSinceMs?: number;
  /** Milliseconds until the next redial (retry-wait), or until on-demand traffic may dial again after a failure. */
  readonly nextRedialInMs?: number;
}

export interface ClientLogSink {
  enabled(category: LogCategory): boolean;
  log(category: LogCategory, message: string): void;
}

export interface TunOpenOptions {
  readonly name: string;
  readonly mtu: number;
  readonly address: string;
  readonly peer: string;
  /**
   * The largest MTU the device may be given later: the device stays open across reconnects and a later session
   * may negotiate a larger MTU than the first (up to the configured one), so receive buffers are sized for this.
   * A packet longer than its buffer would reach us cut short.
   */
  readonly maxMtu: number;
}

export interface PptpClientOptions {
  /** The peer: role client. */
  readonly peer: PeerConfig;
  readonly gre: GreDemux;
  /** Opens this peer's TUN device (TunDevice.open; a MemoryTun in tests). */
  readonly openTun: (o: TunOpenOptions) => TunTransport;
  readonly net?: SystemNetwork;
  readonly resolve?: Resolver;
  readonly log: ClientLogSink;
  readonly clock?: () => number;
  readonly random?: RandomSource;
  /** Our PPTP Host Name (RFC 2637 §2.1). */
  readonly hostName?: string;
  /** Local address for the TCP connection (and so for GRE): the [server] listen address when it is not 0.0.0.0. */
  readonly bindAddress?: string;
  /**
   * Interactive use (`pptp-ts connect` without --persist): a refusal that retrying cannot fix (authentication
   * failed, no common authentication method or encryption) ends the client at once instead of redialling.
   */
  readonly stopOnRefusal?: boolean;
  /** Every state change. */
  readonly onStatus?: (s: ClientStatus) => void;
  /** How long a connected call may hear no GRE at all before the client reports GRE blocked; default 15 s. */
  readonly greSilenceMs?: number;
}

/** pppd's demand-mode placeholders (10.64.64.64 ↔ 10.112.112.112), unique per peer by the last octet. */
const PLACEHOLDER_LOCAL = "10.64.64.";
const PLACEHOLDER_REMOTE = "10.112.112.";
let placeholders = 0;

/** Windows error numbers that retrying with the same settings cannot fix. */
const REFUSALS = new Set([691, 646, 647, 648, 649, 709, 742]);
/** Packets held while an on-demand dial is in progress. */
const DEMAND_QUEUE = 32;
/** A TCP connect that takes longer than this is abandoned (the seeds' routers use 10-20 s). */
const CONNECT_TIMEOUT_MS = 15_000;
/** A connected call that hears no GRE at all for this long has its GRE blocked somewhere (error 806). */
const GRE_SILENCE_MS = 15_000;

type Runner = ConnectionRunner<ClientConnection>;

export class PptpClient {
  readonly name: string;
  private readonly o: PptpClientOptions;
  private readonly peer: PeerConfig;
  private readonly now: () => number;
  private readonly net: SystemNetwork;
  private readonly resolve: Resolver;
  private readonly random: RandomSource;
  private readonly backoff: Backoff;
  private stateValue: ClientState = "idle";
  private status: Mutable<ClientStatus>;
  private runner: Runner | undefined;
  private callId: number | undefined;
  private serverIp: number | undefined;
  private tun: TunTransport | undefined;
  private tunAddress: { local: string; remote: string; mtu: number } | undefined;
  /** Routes we installed, to take away again: "cidr" → device. */
  private readonly installed = new Map<string, RouteInfo>();
  private hostRoute: string | undefined;
  /** On demand: the packets that made us dial, sent once the session is up. */
  private readonly queue = new HeldPackets(DEMAND_QUEUE);
  /** Packets from the server that arrived before the tunnel device was ready (see ipOut). */
  private readonly arrived = new HeldPackets(DEMAND_QUEUE);
  private retry: NodeJS.Timeout | undefined;
  /** When `retry` fires (for `show peers`). */
  private retryAt: number | undefined;
  /** The current control connection's number and state times (`show tunnels`). */
  private tunnelClock: TunnelClock | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private lastActivity = 0;
  private upSince = 0;
  private greSeen = false;
  private greWatch: NodeJS.Timeout | undefined;
  private endReason: { reason: string; code?: number } | undefined;
  private stopping = false;
  private doneResolve!: (s: ClientStatus) => void;
  /** Resolves when the client has stopped or given up, with its last status. */
  readonly done: Promise<ClientStatus>;
  readonly counters = { tunDropped: 0, attempts: 0, sessions: 0 };

  constructor(o: PptpClientOptions) {
    if (o.peer.role !== "client") throw new TypeError(`peer ${o.peer.name} has role ${o.peer.role}; PptpClient runs role client peers`);
    this.o = o;
    this.peer = o.peer;
    this.name = o.peer.name;
    this.now = o.clock ?? (() => performance.now());
    this.net = o.net ?? new LinuxNetwork();
    this.resolve = o.resolve ?? resolveIpv4;
    this.random = o.random ?? ((n: number) => new Uint8Array(randomBytes(n)));
    this.backoff = new Backoff(o.peer.timers.reconnectMinMs, o.peer.timers.reconnectMaxMs);
    this.status = { peer: o.peer.name, state: "idle", failures: 0 };
    this.done = new Promise((r) => (this.doneResolve = r));
  }

  get state(): ClientState {
    return this.stateValue;
  }

  snapshot(): ClientStatus {
    const now = this.now();
    return {
      ...this.status,
      ...(this.stateValue === "up" ? { upSinceMs: now - this.upSince } : {}),
      ...(this.retry !== undefined && this.retryAt !== undefined ? { nextRedialInMs: Math.max(0, Math.round(this.retryAt - now)) } : {}),
    };
  }

  /** The control connection to the server while there is one, for `show tunnels` / `show vpdn`. */
  tunnel(): TunnelReport | undefined {
    const r = this.runner;
    if (!r || r.isGone || !this.tunnelClock) return undefined;
    const extras = () => ({
      ...(this.peer.user !== undefined ? { user: this.peer.user } : {}),
      ...(this.status.localAddress !== undefined && this.stateValue === "up" ? { address: this.status.localAddress } : {}),
      ...(this.tun ? { interface: this.tun.name } : {}),
      ...(this.stateValue === "up" ? { since: this.upSince } : {}),
    });
    return reportTunnel({ clock: this.tunnelClock, role: "client", conn: r.conn, socket: r.socket, peerName: this.name, callExtras: extras }, this.now());
  }

  /**
   * `clear tunnel`: hang up the call (LCP Terminate-Request, Call-Clear-Request; the Stop-Control-Connection-Request
   * follows as the tunnel empties) with `reason`. The peer then redials as its `connect` mode says. False when
   * there is no control connection to clear.
   */
  clearTunnel(reason: string): boolean {
    const r = this.runner;
    if (!r || r.isGone || r.conn.isClosed) return false;
    this.info(`clear tunnel: ${reason}`);
    this.endReason = { reason };
    if (this.callId !== undefined && r.conn.sessions.has(this.callId)) r.conn.hangUp(this.now(), this.callId, reason, "admin-reset");
    else r.conn.shutdown(this.now(), reason, "admin-reset", "none");
    r.service();
    return true;
  }

  /** The server's address matches this peer (to hand it an inbound control connection, answer = yes). */
  matchesServer(address: string): boolean {
    const a = parseIpv4(address);
    if (!a.ok || !this.peer.answer) return false;
    if (this.serverIp !== undefined && this.serverIp === a.value) return true;
    return this.peer.remote === address;
  }

  async start(): Promise<void> {
    if (this.stateValue !== "idle") return;
    this.ticker = setInterval(() => this.checkSessionTimers(), 1000);
    this.ticker.unref?.();
    const p = this.peer;
    if (p.connect === "on-demand") {
      // The device and the routes exist before the tunnel does, so the first packet for them can dial.
      const k = (placeholders++ % 250) + 1;
      await this.configureTun(p.localAddress ?? PLACEHOLDER_LOCAL + k, p.remoteAddress ?? PLACEHOLDER_REMOTE + k, p.mtu);
      await this.installRoutes(true);
      this.setState("waiting-for-traffic");
      this.info(`on demand: waiting for traffic to ${p.routes.map(formatPrefix).join(", ") || "the default route"}`);
    } else if (p.connect === "persistent") {
      this.attempt("start");
    } else {
      this.setState("waiting-for-call");
      this.info(`waiting for ${p.remote ?? "the server"} to call (answer = yes)`);
    }
  }

  /** Hang up (LCP Terminate-Request, Call-Clear, Stop-Control-Connection), take the routes away, close the TUN. */
  async stop(reason = "stopped by the operator"): Promise<ClientStatus> {
    if (this.stopping) return this.done;
    this.stopping = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    if (this.ticker) clearInterval(this.ticker);
    if (this.greWatch) clearTimeout(this.greWatch);
    const r = this.runner;
    if (r && !r.isGone) {
      this.info(`hanging up: ${reason}`);
      r.conn.shutdown(this.now(), reason);
      r.service();
      r.socket.end();
      // Wait for the server to close (it answers Stop-Control-Connection-Request), but not for ever.
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        r.socket.once("close", () => {
          clearTimeout(t);
          resolve();
        });
      });
      r.destroy();
    }
    await this.removeRoutes(true);
    this.tun?.close();
    this.tun = undefined;
    this.setState(this.stateValue === "failed" ? "failed" : "stopped");
    this.doneResolve(this.snapshot());
    return this.done;
  }

  /** An inbound control connection from our server (answer = yes): it sent SCCRQ, we place an Incoming-Call-Request. */
  adopt(socket: net.Socket): boolean {
    if (this.stopping || this.runner) return false;
    const addr = (socket.remoteAddress ?? "").replace(/^::ffff:/, "");
    const ip = parseIpv4(addr);
    if (!ip.ok) return false;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.info(`the server ${addr} called us: answering with an Incoming-Call-Request`);
    void this.ensureHostRoute(addr).then(() => undefined);
    this.begin(socket, addr, ip.value, "incoming");
    return true;
  }

  // --------------------------------------------------------------------------------------------- dialling

  private attempt(why: string): void {
    if (this.stopping || this.runner || this.stateValue === "connecting") return;
    const p = this.peer;
    if (p.remote === undefined) return;
    this.counters.attempts++;
    this.setState("connecting");
    this.info(`dialling ${p.remote}:${p.port} (${why})`);
    this.resolve(p.remote).then(
      async (addr) => {
        if (this.stopping) return;
        const ip = parseIpv4(addr);
        if (!ip.ok) return this.attemptFailed(`${p.remote} resolved to ${addr}, not an IPv4 address`);
        if (addr !== p.remote) this.info(`${p.remote} is ${addr}`);
        this.status.server = addr;
        try {
          await this.ensureHostRoute(addr);
        } catch (e) {
          this.warn(`no host route to the server: ${(e as Error).message}`);
        }
        const socket = net.connect({ host: addr, port: p.port, ...(this.o.bindAddress ? { localAddress: this.o.bindAddress } : {}) });
        socket.setTimeout(CONNECT_TIMEOUT_MS);
        const failed = (e: Error): void => {
          socket.destroy();
          this.attemptFailed(`cannot reach the server ${addr}:${p.port}: ${explainSocketError(e)}`);
        };
        const timedOut = (): void => failed(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`));
        socket.once("error", failed);
        socket.once("timeout", timedOut);
        socket.once("connect", () => {
          socket.off("error", failed);
          socket.off("timeout", timedOut);
          socket.setTimeout(0);
          if (this.stopping) {
            socket.destroy();
            return;
          }
          this.begin(socket, addr, ip.value, "outgoing");
        });
      },
      (e: unknown) => this.attemptFailed((e as Error).message),
    );
  }

  /** The TCP connection is up: run one control connection with one call on it. */
  private begin(socket: net.Socket, addr: string, ip: number, callType: "outgoing" | "incoming"): void {
    const callId = this.o.gre.allocateCallId();
    if (callId === undefined) {
      socket.destroy();
      this.attemptFailed("no free Call ID in this process");
      return;
    }
    this.callId = callId;
    this.serverIp = ip;
    this.tunnelClock = new TunnelClock(this.now());
    this.greSeen = false;
    this.arrived.clear();
    this.endReason = undefined;
    this.status.server = addr;
    this.setState("negotiating");
    // GRE leaves from the address our TCP connection uses and is accepted only there (and only from `ip`).
    const localIp = controlLocalIp(socket);
    const conn = new ClientConnection({
      peerName: addr,
      callType,
      callId,
      control: clientControlOptions(this.peer, this.o.hostName ?? "pptp-ts"),
      link: clientLinkConfig(this.peer, this.random),
      ...(this.peer.flowControl ? { gre: { flowControl: this.peer.flowControl } } : {}),
      sinksFor: () => ({
        greOut: (buf, off, len) => {
          this.o.gre.send(buf, off, len, ip, localIp);
        },
        ipOut: (buf, off, len) => {
          this.lastActivity = this.now();
          if (this.stateValue === "up" && this.tun) {
            if (!this.tun.write(buf, off, len)) this.counters.tunDropped++;
          } else if (!this.arrived.hold(buf, off, len)) {
            // Data can overtake our own "network up" (the server's first packets share a GRE batch with its
            // last IPCP/CCP packet, and the TUN is set up after the batch): a few are kept until it is.
            this.counters.tunDropped++;
          }
        },
      }),
    });
    const runner: Runner = new ConnectionRunner({
      conn,
      socket,
      now: this.now,
      onEvent: (e) => this.onSessionEvent(e),
      onGone: () => this.ended(runner),
      onSocketError: (e) => this.endReason ??= { reason: `control connection to ${addr}: ${explainSocketError(e)}` },
    });
    this.runner = runner;
    // Register before the call exists: the server's first LCP packet may overtake its reply on TCP.
    this.o.gre.register(callId, ip, {
      receive: (now: number, h: GreHeader, data: Uint8Array) => {
        this.greSeen = true;
        runner.receive(now, h, data);
      },
      flush: () => runner.flush(),
    }, localIp);
    runner.start();
    this.greWatch = setTimeout(() => this.checkGreArrives(runner), this.o.greSilenceMs ?? GRE_SILENCE_MS);
    this.greWatch.unref?.();
  }

  /**
   * The call is connected but not one GRE packet came back: GRE does not get through (the classic PPTP problem,
   * a firewall or NAT that passes TCP 1723 but not IP protocol 47). Say so now rather than after LCP's 30 s of
   * unanswered Configure-Requests (RFC 1661 §4.6), which would read as a PPP negotiation failure.
   */
  private checkGreArrives(runner: Runner): void {
    this.greWatch = undefined;
    if (this.runner !== runner || this.greSeen || this.stateValue === "up" || runner.conn.sessions.size === 0) return;
    const secs = Math.round((this.o.greSilenceMs ?? GRE_SILENCE_MS) / 1000);
    const stray = this.o.gre.lastWrongPeer;
    // GRE for our call did come, from another address: a multi-homed server answering from the wrong one.
    const why =
      stray.callId === this.callId
        ? `GRE for this call arrives from ${formatIpv4(stray.source)} instead: the server is multi-homed and sends GRE from another address than the one we dialled (dial that address, or fix the server)`
        : "GRE (IP protocol 47) is probably blocked by a firewall or NAT between us";
    this.endReason = {
      reason: `no PPP answer over GRE from ${this.status.server} within ${secs} s although the call is connected: ${why}`,
      code: 806,
    };
    runner.conn.shutdown(this.now(), "no GRE from the server");
    runner.service();
  }

  private onSessionEvent(e: SessionEvent): void {
    if (this.runner) this.tunnelClock?.observe(this.runner.conn.control.state, this.now());
    switch (e.type) {
      case "log":
        if (this.o.log.enabled(e.category)) this.o.log.log(e.category, `peer ${this.name}: ${e.message}`);
        return;
      case "verify":
        return; // we do not authenticate the server (pppd's noauth on the client side)
      case "network-up":
        void this.networkUp(e);
        return;
      case "call-down":
        if (this.endReason === undefined || this.endReason.code === undefined) {
          this.endReason = e.code !== undefined ? { reason: e.reason, code: e.code } : { reason: e.reason };
        }
        return;
      case "closed":
        this.endReason ??= { reason: `the server closed the control connection: ${e.reason}` };
        return;
    }
  }

  private async networkUp(e: Extract<SessionEvent, { type: "network-up" }>): Promise<void> {
    const r = this.runner;
    // Up already on this connection: the link renegotiated (RFC 1661 §3.2, a Configure-Request in Opened) and is
    // back. The device and routes are set again (the address may have changed); it is the same session for the
    // counters, the uptime and the log.
    const renegotiated = this.stateValue === "up";
    const session = r?.conn.sessions.get(e.callId);
    const local = e.ipcp.localAddress;
    const remote = e.ipcp.peerAddress ?? this.peer.remoteAddress ?? PLACEHOLDER_REMOTE + "1";
    const mtu = tunnelMtu(this.peer.mtu, session?.link.lcpInfo?.peerMru, e.mppe !== undefined, session?.link.lcpInfo?.localMru);
    const mppe = e.mppe ? `MPPE-${e.mppe.bits} ${e.mppe.stateless ? "stateless" : "stateful"}` : "no encryption";
    try {
      await this.configureTun(local, remote, mtu);
      await this.installRoutes(false);
    } catch (err) {
      this.warn(`cannot set up the tunnel device: ${(err as Error).message}`);
      this.endReason = { reason: `cannot set up the tunnel device: ${(err as Error).message}` };
      r?.conn.hangUp(this.now(), e.callId, "local TUN/route setup failed");
      r?.service();
      return;
    }
    if (this.runner !== r || this.stopping) return;
    this.status = {
      ...this.status,
      localAddress: local,
      remoteAddress: remote,
      dns: e.ipcp.dns,
      mtu,
      ...(e.method ? { method: authMethodLabel(e.method) } : {}),
      mppe,
      failures: 0,
    };
    delete this.status.lastError;
    delete this.status.lastErrorCode;
    this.backoff.reset();
    if (!renegotiated) {
      this.counters.sessions++;
      this.upSince = this.now();
    }
    this.lastActivity = this.now();
    this.setState("up");
    const routes = [...this.peer.routes.map(formatPrefix), ...(this.peer.defaultRoute ? ["default (0.0.0.0/1, 128.0.0.0/1)"] : [])];
    this.info(
      `${renegotiated ? "renegotiated with" : "connected to"} ${this.status.server}: address ${local}, server ${remote}, MTU ${mtu}, ${e.method ? authMethodLabel(e.method) : "no authentication"}, ${mppe}` +
        `${e.ipcp.dns.length ? `, DNS ${e.ipcp.dns.join(" ")}` : ""}${routes.length ? `, routes ${routes.join(", ")}` : ""}`,
    );
    for (const pkt of this.arrived.take()) if (!this.tun?.write(pkt, 0, pkt.length)) this.counters.tunDropped++;
    const q = this.queue.take();
    if (r && this.callId !== undefined) {
      for (const pkt of q) r.conn.sendIp(this.now(), this.callId, pkt, 0, pkt.length);
      if (q.length) r.service();
    }
  }

  /** The control connection is over (any reason): decide between redial, waiting and giving up. */
  private ended(runner: Runner): void {
    if (this.runner !== runner) return;
    this.runner = undefined;
    if (this.callId !== undefined) this.o.gre.release(this.callId);
    this.callId = undefined;
    const wasUp = this.stateValue === "up";
    if (this.greWatch) clearTimeout(this.greWatch);
    this.greWatch = undefined;
    const why = this.endReason ?? { reason: "the control connection closed" };
    this.status.lastError = why.code !== undefined && !why.reason.includes(`(${why.code})`) ? `${why.reason} (error ${why.code})` : why.reason;
    if (why.code !== undefined) this.status.lastErrorCode = why.code;
    else delete this.status.lastErrorCode;
    void this.removeRoutes(false).then(() => {
      if (this.stopping) return;
      if (wasUp) {
        this.info(`disconnected: ${this.status.lastError}`);
        this.afterDown(true, why);
      } else {
        this.attemptFailed(this.status.lastError!, why.code);
      }
    });
  }

  private attemptFailed(reason: string, code?: number): void {
    if (this.stopping) return;
    this.status.lastError = reason;
    if (code !== undefined) this.status.lastErrorCode = code;
    this.status.failures++;
    this.queue.clear();
    this.warn(`connection failed: ${reason}`);
    const refusal = code !== undefined && (REFUSALS.has(code) || (code === 732 && /^server /.test(reason)));
    if (refusal && this.o.stopOnRefusal) {
      this.giveUp(`the server refused us and retrying will not change that`);
      return;
    }
    if (this.peer.maxFailures > 0 && this.status.failures >= this.peer.maxFailures) {
      this.giveUp(`${this.status.failures} failed attempt${this.status.failures === 1 ? "" : "s"} in a row (max-failures ${this.peer.maxFailures})`);
      return;
    }
    this.afterDown(false, { reason, ...(code !== undefined ? { code } : {}) });
  }

  private afterDown(wasUp: boolean, why: { reason: string; code?: number }): void {
    const p = this.peer;
    if (p.connect === "on-demand") {
      // Back to waiting; the next packet dials, but not sooner than the backoff allows after a failure.
      this.setState("waiting-for-traffic");
      if (!wasUp) this.holdOff(this.backoff.next());
      return;
    }
    if (p.connect === "passive") {
      this.setState("waiting-for-call");
      return;
    }
    const wait = wasUp && why.code === undefined ? p.timers.reconnectMinMs : this.backoff.next();
    this.setState("retry-wait");
    this.info(`redialling in ${(wait / 1000).toFixed(1)} s`);
    this.retryAt = this.now() + wait;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.attempt(`retry after: ${why.reason}`);
    }, wait);
  }

  /** On-demand after a failure: packets are dropped (not dialled for) until the backoff has passed. */
  private holdOff(ms: number): void {
    this.retryAt = this.now() + ms;
    this.retry = setTimeout(() => (this.retry = undefined), ms);
    this.retry.unref?.();
  }

  private giveUp(why: string): void {
    this.warn(`giving up: ${why}. Last error: ${this.status.lastError}`);
    this.setState("failed");
    void this.stop(`giving up: ${why}`);
  }

  // --------------------------------------------------------------------------------------------- data plane

  private onTunBatch(b: PacketBatch): void {
    const r = this.runner;
    const callId = this.callId;
    if (this.stateValue === "up" && r && callId !== undefined) {
      const now = this.now();
      this.lastActivity = now;
      for (let i = 0; i < b.count; i++) if (!r.conn.sendIp(now, callId, b.data, b.offsets[i], b.lengths[i])) this.counters.tunDropped++;
      r.service();
      return;
    }
    if (this.peer.connect === "on-demand" && this.stateValue !== "failed" && !this.stopping) {
      for (let i = 0; i < b.count; i++) if (!this.queue.hold(b.data, b.offsets[i], b.lengths[i])) this.counters.tunDropped++;
      if (this.stateValue === "waiting-for-traffic" && this.retry === undefined) {
        const d = b.data;
        const off = b.offsets[0];
        const dst = b.lengths[0] >= 20 ? formatIpv4(((d[off + 16] << 24) | (d[off + 17] << 16) | (d[off + 18] << 8) | d[off + 19]) >>> 0) : "?";
        this.attempt(`traffic for ${dst}`);
      } else if (this.retry !== undefined) this.queue.clear();
      return;
    }
    this.counters.tunDropped += b.count;
  }

  /** The idle and session timers of a session that is up; runs once a second. Public so a test with a fake `clock` can run it. */
  checkSessionTimers(): void {
    if (this.stateValue !== "up" || !this.runner || this.callId === undefined) return;
    const now = this.now();
    const expiry = sessionTimeExpiry(this.peer.timers, now, this.lastActivity, this.upSince);
    if (!expiry) return;
    const reason =
      expiry.kind === "idle" ? `idle for ${Math.round(expiry.idleForMs / 1000)} s (idle-timeout)` : sessionLimitReason(expiry.limitMs);
    this.endReason = { reason };
    this.info(`hanging up: ${reason}`);
    this.runner.conn.hangUp(now, this.callId, reason);
    this.runner.service();
  }

  // --------------------------------------------------------------------------------------------- host plumbing

  private async configureTun(local: string, remote: string, mtu: number): Promise<void> {
    if (!this.tun) {
      this.tun = this.o.openTun({ name: this.peer.tunName, mtu, address: local, peer: remote, maxMtu: Math.max(mtu, this.peer.mtu) });
      this.tun.onBatch((b) => this.onTunBatch(b));
      this.tun.onError((e) => this.warn(`TUN ${this.peer.tunName}: ${e.message}`));
      this.tunAddress = { local, remote, mtu };
      return;
    }
    const was = this.tunAddress;
    if (was && was.local === local && was.remote === remote && was.mtu === mtu) return;
    await this.net.setLink(this.tun.name, { address: local, peer: remote, mtu, ...(was ? { previous: was.local } : {}) });
    this.tunAddress = { local, remote, mtu };
  }

  /** A /32 to the server through the path it has now, so that no tunnel route can capture our own GRE and TCP. */
  private async ensureHostRoute(server: string): Promise<void> {
    const cidr = `${server}/32`;
    if (this.hostRoute === cidr) return;
    if (this.hostRoute) await this.dropRoute(this.hostRoute);
    const path = await this.net.routeTo(server);
    if (this.tun && path.dev === this.tun.name) throw new Error(`the only route to ${server} leads into our own tunnel ${path.dev}`);
    await this.net.addRoute(cidr, path);
    this.installed.set(cidr, path);
    this.hostRoute = cidr;
    this.info(`host route ${cidr} ${path.via ? `via ${path.via} ` : ""}dev ${path.dev}`);
  }

  /** Routes into the tunnel. On-demand routes stay while the client runs; the default route only while up. */
  private async installRoutes(demandStart: boolean): Promise<void> {
    if (!this.tun) return;
    const dev = this.tun.name;
    for (const r of this.peer.routes) {
      const cidr = formatPrefix(r);
      if (this.installed.has(cidr)) continue;
      await this.net.addRoute(cidr, { dev });
      this.installed.set(cidr, { dev });
    }
    if (this.peer.defaultRoute && (!demandStart || this.peer.connect === "on-demand")) {
      for (const cidr of ["0.0.0.0/1", "128.0.0.0/1"]) {
        if (this.installed.has(cidr)) continue;
        await this.net.addRoute(cidr, { dev });
        this.installed.set(cidr, { dev });
      }
    }
  }

  /** After a session: take away what only a running session should have. `all` on stop. */
  private async removeRoutes(all: boolean): Promise<void> {
    const keep = !all && this.peer.connect === "on-demand";
    for (const cidr of [...this.installed.keys()]) {
      if (cidr === this.hostRoute && !all) continue;
      if (keep) continue;
      await this.dropRoute(cidr);
    }
    if (all) this.hostRoute = undefined;
  }

  private async dropRoute(cidr: string): Promise<void> {
    const r = this.installed.get(cidr);
    this.installed.delete(cidr);
    try {
      await this.net.deleteRoute(cidr, r?.dev);
    } catch (e) {
      this.warn(`could not remove route ${cidr}: ${(e as Error).message}`);
    }
  }

  // --------------------------------------------------------------------------------------------- status

  private setState(s: ClientState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.status.state = s;
    this.o.onStatus?.(this.snapshot());
  }

  private info(message: string): void {
    if (this.o.log.enabled("events")) this.o.log.log("events", `peer ${this.name}: ${message}`);
  }

  private warn(message: string): void {
    if (this.o.log.enabled("errors")) this.o.log.log("errors", `peer ${this.name}: ${message}`);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** ECONNREFUSED and friends, as an operator reads them. */
export function explainSocketError(e: Error): string {
  const code = (e as { code?: string }).code;
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused: nothing listens on the PPTP port there (is the server running? is TCP 1723 filtered with a reject?)";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `no route to the server (${code})`;
    case "ETIMEDOUT":
      return "connection timed out: TCP 1723 is filtered or the server is down";
    case "ECONNRESET":
      return "the server reset the connection";
    case "EPIPE":
      return "the server closed the connection";
    default:
      return e.message;
  }
}
