/**
 * One PPTP session of the load generator: its own TCP connection, the project's client engine
 * (ClientConnection: SCCRQ → OCRQ, then LCP → MS-CHAPv2 → CCP MPPE-128 → IPCP on a PppLink), driven by the same
 * ConnectionRunner the real client uses, and its GRE through the generator's one shared raw socket (GreDemux).
 * No TUN: the IP datagrams the session receives go to `onIp`, and the generator writes its own with sendIp.
 * Keepalives run in the engine (PPTP Echo and LCP Echo, and the replies to the server's), as in `pptp-ts connect`.
 */
import * as net from "node:net";
import { randomPool } from "../../src/server/random-pool.js";
import { ClientConnection } from "../../src/session/client-connection.js";
import type { SessionEvent } from "../../src/session/connection.js";
import { ConnectionRunner } from "../../src/io/connection-runner.js";
import type { GreDemux } from "../../src/io/gre-demux.js";
import { parseIpv4 } from "../../src/wire/ipv4.js";
import type { GreHeader } from "../../src/wire/gre.js";

export interface SessionContext {
  readonly demux: GreDemux;
  /** Our Call ID for a new session (the generator's share of them), undefined when none is free. */
  readonly allocateCallId: () => number | undefined;
  /** The session is gone: its GRE registration and its Call ID are released. */
  readonly releaseCallId: (id: number) => void;
  readonly now: () => number;
  readonly server: string;
  readonly serverIp: number;
  readonly port: number;
  readonly local: string;
  readonly localIp: number;
  readonly user: string;
  readonly password: string;
  /** Setup finished: up, or failed with a reason. Called once per session. */
  readonly settled: (s: LoadSession) => void;
  /** An up session went down (not at our teardown). */
  readonly dropped: (s: LoadSession, reason: string) => void;
  /** The TCP connection is gone (after any of the above). */
  readonly gone: (s: LoadSession) => void;
  /** An IP datagram the server sent through the session, decrypted; valid during the call only. */
  readonly onIp: (s: LoadSession, buf: Uint8Array, off: number, len: number) => void;
}

/** As `pptp-ts connect` by default (src/config peer defaults): PPTP Echo every 60 s, LCP Echo every 30 s. */
const PPTP_ECHO_MS = 60_000;
const LCP_ECHO_MS = 30_000;
const LCP_ECHO_FAILURES = 4;
const MRU = 1400;

const noLogs = (): boolean => false;

/** Challenges and Magic-Numbers of every session from one kernel-filled block, as the server draws its own. */
const random = randomPool();

export type LoadSessionState = "connecting" | "negotiating" | "up" | "failed" | "down";

export class LoadSession {
  state: LoadSessionState = "connecting";
  readonly startedAt: number;
  upAt: number | undefined;
  /** Our tunnel address (IPCP), as uint32 and as text. */
  address = 0;
  addressText = "";
  mppe = "";
  failure: string | undefined;
  callId: number | undefined;
  runner: ConnectionRunner<ClientConnection> | undefined;
  private socket: net.Socket | undefined;
  private tearingDown = false;
  private isGone = false;
  /** The most precise reason the engine gave so far (a call-down's beats the control connection's close). */
  private reason: string | undefined;

  constructor(
    readonly index: number,
    private readonly ctx: SessionContext,
    /** Log in with a wrong password (the server must refuse with 691). */
    private readonly badPassword = false,
  ) {
    this.startedAt = ctx.now();
  }

  get gone(): boolean {
    return this.isGone;
  }

  start(): void {
    const c = this.ctx;
    const socket = net.connect({ host: c.server, port: c.port, localAddress: c.local });
    this.socket = socket;
    const failed = (e: Error): void => {
      this.fail(`TCP connect: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
      socket.destroy();
      this.markGone();
    };
    socket.once("error", failed);
    socket.once("connect", () => {
      socket.off("error", failed);
      if (this.tearingDown) {
        socket.destroy();
        this.markGone();
        return;
      }
      this.begin(socket);
    });
  }

  private begin(socket: net.Socket): void {
    const c = this.ctx;
    const callId = c.allocateCallId();
    if (callId === undefined) {
      this.fail("no free Call ID in the generator");
      socket.destroy();
      this.markGone();
      return;
    }
    this.callId = callId;
    this.state = "negotiating";
    const conn = new ClientConnection({
      peerName: c.server,
      callId,
      control: { hostName: "pptp-ts-load", vendorString: "pptp-ts load generator", keepaliveIntervalMs: PPTP_ECHO_MS, keepaliveTimeoutMs: 60_000, keepaliveRetries: 2, receiveWindow: 64 },
      link: {
        random,
        lcp: { mru: MRU, echoIntervalMs: LCP_ECHO_MS, echoFailures: LCP_ECHO_FAILURES },
        authenticateSelf: { methods: ["mschap-v2"], userName: c.user, password: this.badPassword ? `${c.password}-wrong` : c.password },
        ipcp: () => ({ role: "client", requestDns: false, requestWins: false }),
        ccp: { policy: "require", strengths: [128], stateless: "prefer" },
      },
      sinksFor: () => ({
        greOut: (buf, off, len) => {
          c.demux.send(buf, off, len, c.serverIp, c.localIp);
        },
        ipOut: (buf, off, len) => c.onIp(this, buf, off, len),
      }),
    });
    // The generator reads no log line of its sessions (onEvent ignores "log"): none is formatted or queued —
    // describing every control message and PPP packet cost the generator about a tenth of its CPU per setup.
    conn.setLogFilter(noLogs);
    const runner = new ConnectionRunner({
      conn,
      socket,
      now: c.now,
      onEvent: (e) => this.onEvent(e),
      onGone: () => this.markGone(),
      onSocketError: (e) => (this.reason ??= `TCP: ${(e as NodeJS.ErrnoException).code ?? e.message}`),
    });
    this.runner = runner;
    // Before the call exists: the server's first LCP packet may overtake its Outgoing-Call-Reply.
    c.demux.register(
      callId,
      c.serverIp,
      { receive: (now: number, h: GreHeader, data: Uint8Array) => runner.receive(now, h, data), flush: () => runner.flush() },
      c.localIp,
    );
    runner.start();
  }

  /** Not up within the setup timeout: counted as failed in the phase it got to, and hung up. */
  timeOut(limitS: number): void {
    if (this.state !== "connecting" && this.state !== "negotiating") return;
    this.fail(`setup timeout (${limitS} s) ${this.phaseHint()}`);
    this.hangUp("setup timeout");
  }

  /** Our goodbye: LCP Terminate-Request, Call-Clear-Request, Stop-Control-Connection-Request, then TCP FIN. */
  hangUp(reason: string): void {
    this.tearingDown = true;
    const r = this.runner;
    if (r && !r.isGone) {
      r.conn.shutdown(this.ctx.now(), reason, "user-request");
      r.service();
      r.socket.end();
    } else if (!this.runner && this.socket && !this.socket.destroyed && this.socket.connecting) {
      this.socket.destroy();
      this.markGone();
    }
  }

  /** After the goodbye had its time: the socket goes now. */
  destroy(): void {
    if (this.runner) this.runner.destroy();
    else this.socket?.destroy();
    this.markGone();
  }

  private phaseHint(): string {
    const r = this.runner;
    if (!r) return "in TCP connect";
    const call = this.callId !== undefined ? r.conn.sessions.get(this.callId) : undefined;
    if (!call) return r.conn.control.state === "established" ? "waiting for the Outgoing-Call-Reply" : "in the control connection setup (SCCRQ)";
    const phase = call.link.phase;
    if (phase === "establish") return "in LCP";
    if (phase === "authenticate") return "in authentication (MS-CHAPv2)";
    if (phase === "network") return "in CCP/IPCP";
    return `in PPP phase ${phase}`;
  }

  private onEvent(e: SessionEvent): void {
    switch (e.type) {
      case "network-up": {
        if (this.state !== "negotiating") return;
        const a = parseIpv4(e.ipcp.localAddress);
        this.address = a.ok ? a.value : 0;
        this.addressText = e.ipcp.localAddress;
        this.mppe = e.mppe ? `${e.mppe.bits}-bit ${e.mppe.stateless ? "stateless" : "stateful"}` : "none";
        this.upAt = this.ctx.now();
        this.state = "up";
        this.ctx.settled(this);
        return;
      }
      case "call-down":
        this.reason = e.code !== undefined && !e.reason.includes(`(${e.code})`) ? `${e.reason} (error ${e.code})` : e.reason;
        this.ended();
        return;
      case "closed":
        this.reason ??= `control connection closed: ${e.reason}`;
        this.ended();
        return;
      default:
        return;
    }
  }

  private ended(): void {
    if (this.state === "up") {
      this.state = "down";
      if (!this.tearingDown) this.ctx.dropped(this, this.reason ?? "ended");
    } else if (this.state === "connecting" || this.state === "negotiating") {
      this.fail(this.reason ?? "ended before it was up");
    }
  }

  private fail(reason: string): void {
    if (this.state !== "connecting" && this.state !== "negotiating") return;
    this.state = "failed";
    this.failure = reason;
    this.ctx.settled(this);
  }

  private markGone(): void {
    if (this.isGone) return;
    this.isGone = true;
    if (this.callId !== undefined) this.ctx.releaseCallId(this.callId);
    // The socket closed under a session that was still being set up, without a word from the engine.
    if (this.state === "connecting" || this.state === "negotiating") this.fail(this.reason ?? "TCP connection closed during setup");
    else if (this.state === "up") this.ended();
    this.ctx.gone(this);
  }
}
