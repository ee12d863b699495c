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
import * as net from "node:net";
import { performance } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import { ServerConnection, type ServerPolicy } from "../session/server-connection.js";
import type { SessionEvent, LogCategory } from "../session/connection.js";
import type { Authenticator } from "../aaa/types.js";
import type { GreTransport, TunTransport, GreBatch, PacketBatch } from "../io/transport.js";
import { formatIpv4, parseIpv4 } from "../io/ipv4.js";
import { GreHeader, parseGreHeader } from "../wire/gre.js";
import type { AuthMethod } from "../ppp/protocols.js";
import type { ServerConfig } from "./config.js";
import type { LinkAuthInfo } from "../ppp/link.js";

/** Hands out client addresses (src/server/pool.ts implements it). */
export interface AddressAllocator {
  allocate(preferred?: string): string | undefined;
  /** Exactly this address (a static one from chap-secrets or RADIUS, inside the pool or not), or undefined if taken. */
  assign?(address: string): string | undefined;
  release(address: string): void;
}

export interface ServerLogSink {
  enabled(category: LogCategory): boolean;
  log(category: LogCategory, message: string): void;
}

export interface PptpServerOptions {
  readonly settings: ServerConfig;
  readonly auth: Authenticator;
  readonly pool: AddressAllocator;
  readonly gre: GreTransport;
  readonly tun: TunTransport;
  readonly log: ServerLogSink;
  /** Monotonic milliseconds; default performance.now. */
  readonly clock?: () => number;
}

/** One running call as `show sessions` prints it. */
export interface SessionInfo {
  readonly callId: number;
  readonly peer: string;
  readonly user: string | undefined;
  readonly method: AuthMethod | undefined;
  readonly address: string | undefined;
  readonly mppe: string;
  readonly upSinceMs: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

interface CallRoute {
  readonly conn: ServerConnection;
  readonly peerIp: number;
  readonly peerName: string;
  address?: string;
  addressInt?: number;
  user?: string;
  method?: AuthMethod;
  mppe?: string;
  startedAt: number;
  lastActivity: number;
  networkUp: boolean;
}

interface ConnState {
  readonly socket: net.Socket;
  readonly conn: ServerConnection;
  readonly peerName: string;
  readonly peerIp: number;
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
}

export const MAX_CALL_ID = 0xffff;

export class PptpServer {
  private readonly o: PptpServerOptions;
  private settings: ServerConfig;
  private auth: Authenticator;
  private readonly now: () => number;
  private readonly tcp: net.Server;
  private readonly conns = new Set<ConnState>();
  /** Call ID → route: GRE demultiplexing (RFC 2637 §4.1: the key carries the receiver's Call ID). */
  private readonly calls = new Map<number, CallRoute>();
  /** Client tunnel address (as uint32) → Call ID: TUN demultiplexing by destination. */
  private readonly byAddress = new Map<number, number>();
  private readonly perPeer = new Map<string, number>();
  private nextCallId = 1 + (randomBytes(2).readUInt16BE(0) % 0x7fff);
  private readonly greHeader = new GreHeader();
  private housekeeping: NodeJS.Timeout | undefined;
  private closing = false;

  readonly counters = {
    greUnknownCall: 0,
    greWrongPeer: 0,
    greMalformed: 0,
    tunNoRoute: 0,
    tunDropped: 0,
    callsRefused: 0,
    callsTotal: 0,
  };

  constructor(o: PptpServerOptions) {
    this.o = o;
    this.settings = o.settings;
    this.auth = o.auth;
    this.now = o.clock ?? (() => performance.now());
    this.tcp = net.createServer((s) => this.accept(s));
    o.gre.onBatch((b) => this.onGreBatch(b));
    o.gre.onError((e) => this.log("errors", `GRE socket error: ${e.message}`));
    o.tun.onBatch((b) => this.onTunBatch(b));
    o.tun.onError((e) => this.log("errors", `TUN error: ${e.message}`));
  }

  /** Starts listening; resolves once TCP is bound. */
  listen(): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(new Error(`cannot listen on ${this.settings.server.listen}:${this.settings.server.port}: ${e.message}`));
      this.tcp.once("error", onError);
      this.tcp.listen(this.settings.server.port, this.settings.server.listen, () => {
        this.tcp.off("error", onError);
        this.tcp.on("error", (e) => this.log("errors", `listener: ${e.message}`));
        this.housekeeping = setInterval(() => this.tick(), 1000);
        this.housekeeping.unref?.();
        const a = this.tcp.address() as net.AddressInfo;
        this.log("events", `listening on ${a.address}:${a.port} (TCP control, GRE on the same address)`);
        resolve(a);
      });
    });
  }

  /** New settings and users for new sessions; running sessions keep what they negotiated (SIGHUP). */
  reload(settings: ServerConfig, auth: Authenticator): void {
    this.settings = settings;
    this.auth = auth;
    this.log("events", "configuration reloaded; established sessions keep their settings");
  }

  get sessionCount(): number {
    return this.calls.size;
  }

  sessions(): SessionInfo[] {
    const now = this.now();
    const out: SessionInfo[] = [];
    for (const [callId, r] of this.calls) {
      const s = r.conn.sessions.get(callId);
      out.push({
        callId,
        peer: r.peerName,
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

  /** Administrative clear of one session (by Call ID, user name or client address). Returns how many were cleared. */
  clear(what: string, reason = "administratively cleared"): number {
    let n = 0;
    for (const [callId, r] of [...this.calls]) {
      if (String(callId) === what || r.user === what || r.address === what) {
        const st = this.stateOf(r.conn);
        r.conn.hangUp(this.now(), callId, reason);
        if (st) this.service(st);
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
    // Stop accepting now; the close callback only fires once every connection is gone, so it is awaited last.
    const listenerClosed = new Promise<void>((r) => this.tcp.close(() => r()));
    for (const st of [...this.conns]) {
      st.conn.shutdown(this.now(), reason);
      this.service(st);
      st.socket.end();
    }
    // Give the kernel a moment to flush the Stop-Control-Connection-Requests before the sockets go.
    await new Promise((r) => setTimeout(r, 200));
    for (const st of [...this.conns]) st.socket.destroy();
    await listenerClosed;
    this.o.gre.close();
    this.o.tun.close();
  }

  // ------------------------------------------------------------------------------------------ control connections

  private accept(socket: net.Socket): void {
    const peerName = (socket.remoteAddress ?? "?").replace(/^::ffff:/, "");
    if (this.closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const s = this.settings;
    const peerIp = parseIpv4(peerName);
    const peerIpInt = peerIp.ok ? peerIp.value : 0;
    // The policy needs the connection (to register routes) and the connection needs the policy: the holder
    // object breaks the cycle; `conn` is set right below, before any event can reach the policy.
    const st = { socket, peerName, peerIp: peerIpInt, timer: undefined, timerAt: Infinity } as unknown as ConnState & { conn: ServerConnection };
    st.conn = new ServerConnection({
      peerName,
      control: {
        hostName: s.server.hostname,
        vendorString: "pptp-ts",
        keepaliveIntervalMs: s.timers.echoIntervalMs,
        keepaliveTimeoutMs: s.timers.echoTimeoutMs,
        keepaliveRetries: s.timers.echoRetries,
        replyTimeoutMs: s.timers.controlReplyTimeoutMs,
        receiveWindow: 64,
      },
      policy: this.policyFor(st, s),
      gre: { flowControl: s.gre.flowControl, reorderTimeoutMs: s.gre.reorderTimeoutMs, ackDelayMs: s.gre.ackDelayMs },
      sinksFor: (callId) => ({
        greOut: (buf, off, len) => {
          this.o.gre.send(buf, off, len, peerIpInt);
        },
        ipOut: (buf, off, len) => {
          const r = this.calls.get(callId);
          if (r) r.lastActivity = this.now();
          if (!this.o.tun.write(buf, off, len)) this.counters.tunDropped++;
        },
      }),
    });
    const conn = st.conn;
    this.conns.add(st);
    this.stByConn.set(conn, st);
    this.log("events", `TCP connection from ${peerName}:${socket.remotePort}`);
    conn.start(this.now());
    socket.on("data", (chunk: Buffer) => {
      conn.handleBytes(this.now(), chunk);
      this.service(st);
    });
    socket.on("error", (e) => this.log("errors", `control connection ${peerName}: ${e.message}`));
    socket.on("close", () => {
      if (!conn.isClosed) {
        conn.handleTransportClosed(this.now());
        this.service(st);
      }
      if (st.timer) clearTimeout(st.timer);
      this.conns.delete(st);
      this.stByConn.delete(conn);
    });
    this.service(st);
  }

  private policyFor(st: ConnState, s: ServerConfig): ServerPolicy {
    return {
      admitCall: (peerName) => {
        const settings = this.settings;
        if (this.closing) return { refuse: "general-error", reason: "server is shutting down" };
        if (this.calls.size >= settings.server.maxSessions) {
          this.counters.callsRefused++;
          return { refuse: "busy", reason: `maximum of ${settings.server.maxSessions} sessions reached (max-sessions)` };
        }
        const mine = this.perPeer.get(peerName) ?? 0;
        if (settings.server.maxSessionsPerPeer > 0 && mine >= settings.server.maxSessionsPerPeer) {
          this.counters.callsRefused++;
          return { refuse: "busy", reason: `${peerName} already has ${mine} sessions (max-sessions-per-peer ${settings.server.maxSessionsPerPeer})` };
        }
        const callId = this.allocateCallId();
        if (callId === undefined) return { refuse: "busy", reason: "no free Call ID" };
        const now = this.now();
        this.calls.set(callId, { conn: st.conn, peerIp: st.peerIp, peerName, startedAt: now, lastActivity: now, networkUp: false });
        this.perPeer.set(peerName, mine + 1);
        this.counters.callsTotal++;
        return { callId };
      },
      releaseCall: (callId) => this.releaseCall(callId),
      linkConfig: () => ({
        random: (n: number) => new Uint8Array(randomBytes(n)),
        lcp: { mru: s.ppp.mru, echoIntervalMs: s.timers.lcpEchoIntervalMs, echoFailures: s.timers.lcpEchoFailures },
        authenticatePeer: { methods: s.ppp.auth, hostName: s.server.hostname },
        ccp: { policy: s.mppe.policy, strengths: s.mppe.strengths, stateless: s.mppe.stateless },
      }),
      ipcpFor: (callId, auth: LinkAuthInfo) => {
        const route = this.calls.get(callId);
        // A static address (chap-secrets 4th column, RADIUS Framed-IP-Address) is the user's, in the pool or not;
        // if someone else holds it the call is refused rather than silently given another address.
        const fixed = auth.addresses?.find((a) => parseIpv4(a).ok);
        const address = fixed !== undefined && this.o.pool.assign ? this.o.pool.assign(fixed) : this.o.pool.allocate(fixed);
        if (!address) {
          return fixed !== undefined && this.o.pool.assign
            ? `static address ${fixed} of ${auth.user ?? "the peer"} is already in use`
            : `address pool exhausted: no address for ${auth.user ?? "the peer"}`;
        }
        if (route) {
          route.address = address;
          const a = parseIpv4(address);
          if (a.ok) route.addressInt = a.value;
        }
        return { role: "server", localAddress: s.ppp.localAddress, peerAddress: address, dns: s.ppp.dns, wins: s.ppp.wins };
      },
    };
  }

  private allocateCallId(): number | undefined {
    for (let i = 0; i < MAX_CALL_ID; i++) {
      const id = this.nextCallId;
      this.nextCallId = this.nextCallId >= MAX_CALL_ID ? 1 : this.nextCallId + 1;
      if (!this.calls.has(id)) return id;
    }
    return undefined;
  }
  private releaseCall(callId: number): void {
    const r = this.calls.get(callId);
    if (!r) return;
    this.calls.delete(callId);
    if (r.addressInt !== undefined && this.byAddress.get(r.addressInt) === callId) this.byAddress.delete(r.addressInt);
    if (r.address) this.o.pool.release(r.address);
    const n = (this.perPeer.get(r.peerName) ?? 1) - 1;
    if (n <= 0) this.perPeer.delete(r.peerName);
    else this.perPeer.set(r.peerName, n);
  }

  /** After any input to a connection: write its TCP output, act on its events, re-arm its timer. */
  private service(st: ConnState): void {
    const { conn, socket } = st;
    for (let e = conn.pollEvent(); e; e = conn.pollEvent()) this.onSessionEvent(st, e);
    for (let b = conn.pollTransmit(); b; b = conn.pollTransmit()) if (!socket.destroyed) socket.write(b);
    if (conn.isClosed) {
      if (st.timer) clearTimeout(st.timer);
      st.timer = undefined;
      if (!socket.destroyed) socket.end();
      return;
    }
    this.armTimer(st);
  }

  /**
   * One timer per connection, re-armed only when the connection's earliest deadline moved earlier. A deadline
   * that moved later simply lets the timer fire early, find nothing due and re-arm — so the per-packet path
   * (which pushes the GRE ack deadline around) rarely touches the timer.
   */
  private armTimer(st: ConnState): void {
    const t = st.conn.pollTimeout();
    if (t === undefined) return;
    if (st.timer && t >= st.timerAt) return;
    if (st.timer) clearTimeout(st.timer);
    st.timerAt = t;
    st.timer = setTimeout(() => {
      st.timer = undefined;
      st.timerAt = Infinity;
      st.conn.handleTimeout(this.now());
      this.service(st);
    }, Math.max(0, Math.ceil(t - this.now())));
  }

  private onSessionEvent(st: ConnState, e: SessionEvent): void {
    switch (e.type) {
      case "log": {
        if (!this.o.log.enabled(e.category)) return;
        const r = e.callId !== undefined ? this.calls.get(e.callId) : undefined;
        const who = e.callId !== undefined ? `call ${e.callId}${r?.user ? ` user=${r.user}` : ""} peer=${st.peerName}: ` : "";
        this.o.log.log(e.category, who + e.message);
        return;
      }
      case "verify": {
        const callId = e.callId;
        const user = e.request.user;
        const route = this.calls.get(callId);
        if (route) route.user = user;
        this.auth.verify(e.request).then(
          (result) => {
            if (!result.ok) this.log("events", `call ${callId} peer=${st.peerName}: ${user}: ${result.message}`);
            st.conn.completeVerification(this.now(), callId, result);
            this.service(st);
          },
          (err: unknown) => {
            this.log("errors", `call ${callId}: authentication backend failed: ${(err as Error).message}`);
            st.conn.completeVerification(this.now(), callId, { ok: false, code: 691, message: "authentication backend error" });
            this.service(st);
          },
        );
        return;
      }
      case "network-up": {
        const r = this.calls.get(e.callId);
        if (!r) return;
        r.networkUp = true;
        r.user = e.user;
        r.method = e.method;
        r.mppe = e.mppe ? `${e.mppe.bits}-bit ${e.mppe.stateless ? "stateless" : "stateful"}` : "none";
        if (r.addressInt !== undefined) this.byAddress.set(r.addressInt, e.callId);
        this.log(
          "events",
          `call ${e.callId} user=${e.user ?? "-"} peer=${st.peerName}: session up: address ${e.ipcp.peerAddress}, ${e.method ?? "no auth"}, MPPE ${r.mppe}`,
        );
        return;
      }
      case "call-down":
        this.log("events", `call ${e.callId} peer=${st.peerName}: session down: ${e.reason}${e.code !== undefined ? ` (client sees error ${e.code})` : ""}`);
        this.releaseCall(e.callId);
        return;
      case "closed":
        return;
    }
  }

  private stateOf(conn: ServerConnection): ConnState | undefined {
    return this.stByConn.get(conn);
  }
  private readonly stByConn = new Map<ServerConnection, ConnState>();

  // ------------------------------------------------------------------------------------------ data plane

  private onGreBatch(b: GreBatch): void {
    const now = this.now();
    const h = this.greHeader;
    const touched = this.touched;
    touched.length = 0;
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i];
      const len = b.lengths[i];
      if (!parseGreHeader(b.data, off, len, h).ok) {
        this.counters.greMalformed++;
        continue;
      }
      const r = this.calls.get(h.callId);
      if (!r) {
        this.counters.greUnknownCall++;
        continue;
      }
      // RFC 2637 §4.1: the Call ID alone is not proof; GRE must come from the peer of that control connection.
      if (r.peerIp !== b.sources[i]) {
        this.counters.greWrongPeer++;
        continue;
      }
      r.conn.handleParsedGre(now, h, b.data);
      if (touched.indexOf(r.conn) < 0) touched.push(r.conn);
    }
    for (const c of touched) {
      const st = this.stateOf(c);
      if (st) this.service(st);
    }
  }
  private readonly touched: ServerConnection[] = [];

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
      const callId = this.byAddress.get(dst);
      const r = callId === undefined ? undefined : this.calls.get(callId);
      if (callId === undefined || !r) {
        this.counters.tunNoRoute++;
        continue;
      }
      r.lastActivity = now;
      if (!r.conn.sendIp(now, callId, d, off, len)) this.counters.tunDropped++;
    }
  }

  /** Once a second: idle and session timers (RFC 2637 leaves them to the implementation; Cisco's "Tunnel disconnect timer"). */
  private tick(): void {
    const now = this.now();
    const { idleTimeoutMs, sessionTimeoutMs } = this.settings.timers;
    if (idleTimeoutMs <= 0 && sessionTimeoutMs <= 0) return;
    for (const [callId, r] of [...this.calls]) {
      if (!r.networkUp) continue;
      let reason: string | undefined;
      if (idleTimeoutMs > 0 && now - r.lastActivity >= idleTimeoutMs) reason = `idle for ${Math.round((now - r.lastActivity) / 1000)} s: Tunnel disconnect timer timeout`;
      else if (sessionTimeoutMs > 0 && now - r.startedAt >= sessionTimeoutMs) reason = `session time limit of ${Math.round(sessionTimeoutMs / 1000)} s reached`;
      if (!reason) continue;
      const st = this.stateOf(r.conn);
      r.conn.hangUp(now, callId, reason);
      if (st) this.service(st);
    }
  }

  private log(category: LogCategory, message: string): void {
    if (this.o.log.enabled(category)) this.o.log.log(category, message);
  }
}

export { formatIpv4 };
