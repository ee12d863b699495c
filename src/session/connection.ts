/**
 * One PPTP control connection and its calls, composed and still sans-I/O: the control engine
 * (src/pptp/control.ts) plus a CallSession (GRE channel + PPP link) per established call. The driver — the
 * networked server/client in src/server and src/client, or an in-memory test — moves bytes and time:
 *
 *   handleBytes(now, chunk) / handleTransportClosed(now)   TCP in
 *   pollTransmit()                                          TCP out
 *   handleGre(now, callId, buf, off, len)                   a GRE packet whose key names one of our calls
 *   sendIp(now, callId, buf, off, len)                      an IP datagram routed to a call
 *   completeVerification(now, callId, result)               the AAA backend's answer to a "verify" event
 *   pollTimeout() / handleTimeout(now) / pollEvent()
 *
 * GRE and IP leave through the `greOut` / `ipOut` sinks given per call, so the data path stays a chain of calls.
 *
 * TCP before GRE. The peer learns our Call ID — the key of every GRE packet we send it (RFC 2637 §4.1) —
 * from our Outgoing-Call-Reply or Incoming-Call-Reply, and the call's window and connect details from
 * ICCN; a strict peer drops GRE for a call it has not seen answered, and then waits out a 3 s LCP restart
 * (RFC 1661 §4.6). So nothing of a call leaves on GRE before the control message that set it up
 * (OCRP/ICRP/ICCN) has been handed to the driver: a call started while that message still waits in
 * pollTransmit() keeps its GRE output (copied, a few packets) and releases it, in order, from inside the
 * next pollTransmit() call after the one that returned the message. The driver's contract — write each
 * chunk pollTransmit() returns before asking for the next, and ask until it returns undefined after every
 * input — then puts the reply on TCP before the call's first GRE packet, in every role and direction.
 *
 * ConnectionBase holds what the server and client roles share: running calls, tearing them down in every
 * direction (RFC 2637 §3: LCP down ⇒ clear the call; call cleared ⇒ PPP lower layer down; control connection
 * closed ⇒ every call down), timers and the event log.
 */
import type { PacketRoom } from "../core/packet-room.js";
import type { Millis } from "../core/clock.js";
import { ControlConnection, type ControlConnectionOptions, type MessageGate } from "../pptp/control.js";
import type { ControlEvent, CallInfo } from "../pptp/control-events.js";
import type { StopReasonName } from "../pptp/control-types.js";
import { describeControlMessage, ourCallId } from "../pptp/describe.js";
import { CallSession, type ByteSink, type CallSessionOptions } from "./call.js";
import type { PppLinkConfig, PppLinkEvent } from "../ppp/link.js";
import type { AuthRequest, AuthResult, TerminateCause } from "../aaa/types.js";
import { controlCloseCause } from "./terminate-cause.js";
import type { IpcpResult } from "../ppp/ipcp.js";
import type { CcpResult } from "../ppp/ccp.js";
import { authMethodLabel, type AuthMethod } from "../wire/ppp-protocols.js";
import type { GreHeader } from "../wire/gre.js";
import { HeldPackets } from "./held-packets.js";

import type { LogCategory } from "./log-category.js";
import { Fifo } from "../core/fifo.js";
import { SparseMap } from "../core/sparse-map.js";
export type { LogCategory };

export type SessionEvent =
  /** One line for the operator's log (the seeds' `debug vpdn events` kind). */
  | { readonly type: "log"; readonly category: LogCategory; readonly callId?: number; readonly message: string }
  /** Check these credentials and call completeVerification(now, callId, result). */
  | { readonly type: "verify"; readonly callId: number; readonly request: AuthRequest }
  /** A call reached the data phase: route GRE for `callId`, and IP for `ipcp.peerAddress` (server side). */
  | {
      readonly type: "network-up";
      readonly callId: number;
      readonly user: string | undefined;
      readonly method: AuthMethod | undefined;
      readonly ipcp: IpcpResult;
      readonly mppe: CcpResult | undefined;
    }
  /**
   * A call is gone; `code` is the Windows error the client would show, when one applies; `cause` is the real
   * reason as accounting records it (RFC 2866 §5.10 Acct-Terminate-Cause).
   */
  | { readonly type: "call-down"; readonly callId: number; readonly reason: string; readonly code?: number; readonly cause: TerminateCause }
  /** The control connection is over: write out pollTransmit(), then close TCP. */
  | { readonly type: "closed"; readonly reason: string };

export interface CallSinks {
  readonly greOut: ByteSink;
  readonly ipOut: ByteSink;
  /** Room in the queues behind greOut / ipOut, for packets built in place (CallSessionOptions). */
  readonly greRoom?: PacketRoom | undefined;
  readonly ipRoom?: PacketRoom | undefined;
}

export interface ConnectionBaseOptions {
  /** The peer's address, for log lines. */
  readonly peerName: string;
  readonly control: ControlConnectionOptions;
  /** Where a call's GRE and IP go. Called once per call when it is set up. */
  readonly sinksFor: (callId: number) => CallSinks;
  /** Close the whole control connection when its last call ends (a remote-access client's connection). Default true. */
  readonly stopWhenIdle?: boolean;
  /** GRE channel tuning for every call (flow control, reorder and ack delays). */
  readonly gre?: CallSessionOptions["gre"];
}

/** A Stop-Control-Connection-Request after the last call: the reason we give the peer, for the log. */
const STOP_AFTER_LAST_CALL = "last call ended";
/** How long a call whose PPP link ended stays before it is cleared on the control connection (see "down"). */
const CALL_CLEAR_LINGER_MS = 250;
/** GRE packets kept per call that is not connected yet (see stashEarly). */
const EARLY_GRE_LIMIT = 8;
/** GRE packets a new call may send before its reply is handed out on TCP (its LCP Configure-Request, an ack). */
const GATED_GRE_LIMIT = 8;

/** A new call's GRE output, held until the control chunk numbered `mark` has been handed to the driver. */
interface GreGate {
  readonly mark: number;
  readonly held: HeldPackets;
  readonly out: ByteSink;
  open: boolean;
}

export abstract class ConnectionBase implements MessageGate {
  readonly control: ControlConnection;
  protected readonly calls = new Map<number, CallSession>();
  protected readonly events = new Fifo<SessionEvent>();
  protected readonly peerName: string;
  private readonly sinksFor: (callId: number) => CallSinks;
  private readonly stopWhenIdle: boolean;
  private readonly gre: CallSessionOptions["gre"];
  private closedSent = false;

  constructor(o: ConnectionBaseOptions) {
    this.peerName = o.peerName;
    this.sinksFor = o.sinksFor;
    this.stopWhenIdle = o.stopWhenIdle ?? true;
    this.gre = o.gre;
    this.control = new ControlConnection(o.control);
  }

  get isClosed(): boolean {
    return this.closedSent;
  }

  /**
   * Which log lines the driver will keep (its log settings, asked each time: per-session debug changes at run
   * time); lines of other categories are neither formatted nor queued — the `packets` lines of every control
   * message and LCP frame would otherwise be built for each keepalive of every call. Default: all.
   */
  setLogFilter(f: (category: LogCategory, callId: number | undefined) => boolean): void {
    this.logFilter = f;
    // The control engine's `message` events only feed the `packets` lines: it answers keepalives without them
    // while those are not read (control.ts setMessageGate).
    this.control.setMessageGate(this);
  }

  /** MessageGate (control.ts): an Echo-Request or Echo-Reply has no Call ID, so the connection-wide setting. */
  controlMessagesWanted(): boolean {
    return this.logs("packets", undefined);
  }
  private logFilter: ((category: LogCategory, callId: number | undefined) => boolean) | undefined;

  protected logs(category: LogCategory, callId?: number): boolean {
    const f = this.logFilter;
    return f === undefined || f(category, callId);
  }

  /** Running calls (for `show sessions`, routing, tests). */
  get sessions(): ReadonlyMap<number, CallSession> {
    return this.calls;
  }

  // --------------------------------------------------------------------------------------------- inputs

  handleBytes(now: Millis, chunk: Uint8Array): void {
    this.control.handleBytes(now, chunk);
    this.pump(now);
  }

  handleTransportClosed(now: Millis): void {
    this.control.handleTransportClosed(now);
    this.pump(now);
  }

  handleGre(now: Millis, callId: number, buf: Uint8Array, off: number, len: number): boolean {
    const c = this.calls.get(callId);
    if (!c) return this.stashEarly(callId, buf, off, len);
    c.handleGre(now, buf, off, len);
    this.drainCall(now, c);
    return true;
  }

  /** A GRE packet already parsed into `h` by the driver's demultiplexer (routed on h.callId). */
  handleParsedGre(now: Millis, h: GreHeader, buf: Uint8Array): boolean {
    const c = this.calls.get(h.callId);
    if (!c) return this.stashEarly(h.callId, buf, h.payloadOffset - h.headerLength, h.headerLength + h.payloadLength);
    c.handleParsedGre(now, buf, h);
    this.drainCall(now, c);
    return true;
  }

  sendIp(now: Millis, callId: number, buf: Uint8Array, off: number, len: number): boolean {
    const c = this.calls.get(callId);
    return c ? c.sendIp(now, buf, off, len) : false;
  }

  completeVerification(now: Millis, callId: number, result: AuthResult): void {
    const c = this.calls.get(callId);
    if (!c) return; // the call went away while the backend was thinking
    c.completeVerification(now, result);
    this.drainCall(now, c);
  }

  /**
   * Hang up one call: LCP Terminate first, then the PPTP call is cleared when the link reports down. `cause` is
   * what accounting records (default admin-reset).
   */
  hangUp(now: Millis, callId: number, reason: string, cause: TerminateCause = "admin-reset"): void {
    const c = this.calls.get(callId);
    if (!c) return;
    c.close(now, reason, undefined, cause);
    this.drainCall(now, c);
  }

  /** Hang up every call and stop the control connection (admin clear, shutdown). */
  /**
   * `stop` is the StopCCRQ Reason (RFC 2637 §2.3): "local-shutdown" when we are going away, "none" (a general
   * request to clear the control connection) when an operator clears one tunnel and we stay up.
   */
  shutdown(now: Millis, reason: string, cause: TerminateCause = "nas-reboot", stop: StopReasonName = "local-shutdown"): void {
    for (const [id, c] of this.calls) {
      c.close(now, reason, undefined, cause);
      this.drainCall(now, c);
      if (this.calls.has(id)) {
        // Do not wait for the peer's Terminate-Ack on shutdown: clear the PPTP call now.
        this.endCall(now, id, reason, undefined, true, cause);
      }
    }
    this.control.stop(now, stop, reason);
    this.pump(now);
  }

  handleTimeout(now: Millis): void {
    const t = this.control.pollTimeout();
    if (t !== undefined && t <= now) this.control.handleTimeout(now);
    if (this.lingering.size > 0) for (const [id, l] of [...this.lingering]) if (l.at <= now) this.endCall(now, id, l.reason, l.code, true, l.cause);
    // Not copied (this runs at every deadline of every connection): a Map iteration skips entries deleted on the
    // way (endCall) and visits ones added (none: calls start on control messages, not here).
    for (const c of this.calls.values()) {
      const ct = c.pollTimeout();
      if (ct !== undefined && ct <= now) {
        c.handleTimeout(now);
        this.drainCall(now, c);
      }
    }
    this.pump(now);
  }

  // --------------------------------------------------------------------------------------------- outputs

  /**
   * The next chunk for TCP. Write it before calling again: a call's held GRE (see "TCP before GRE") is released
   * from inside the call after the one that returned its reply.
   */
  pollTransmit(): Uint8Array | undefined {
    this.pullControlTx();
    if (this.gates.size > 0) this.openGates();
    const b = this.tx.shift();
    if (b !== undefined) this.txHanded++;
    return b;
  }

  pollEvent(): SessionEvent | undefined {
    return this.events.shift();
  }

  pollTimeout(): Millis | undefined {
    let t = this.control.pollTimeout();
    if (this.lingering.size > 0) for (const l of this.lingering.values()) if (t === undefined || l.at < t) t = l.at;
    for (const c of this.calls.values()) {
      const ct = c.pollTimeout();
      if (ct !== undefined && (t === undefined || ct < t)) t = ct;
    }
    return t;
  }

  // --------------------------------------------------------------------------------------------- for the roles

  /** How a Windows error number is introduced in this role's log lines ("client sees error 691"). */
  protected abstract readonly windowsErrorPhrase: string;
  protected abstract onControlEvent(now: Millis, e: ControlEvent): void;
  protected abstract linkConfigFor(call: CallInfo): PppLinkConfig;
  /** A call ended (either way); the role releases what it held for it (address, call ID). */
  protected abstract callEnded(callId: number): void;

  protected log(category: LogCategory, message: string, callId?: number): void {
    if (!this.logs(category, callId)) return;
    this.events.push(callId === undefined ? { type: "log", category, message } : { type: "log", category, callId, message });
  }

  protected startCall(now: Millis, call: CallInfo): void {
    const sinks = this.sinksFor(call.callId);
    // The control engine queued the call's OCRP/ICRP/ICCN before it reported the call connected.
    this.pullControlTx();
    let greOut = sinks.greOut;
    if (this.txQueued > this.txHanded) {
      const gate: GreGate = { mark: this.txQueued, held: new HeldPackets(GATED_GRE_LIMIT), out: sinks.greOut, open: false };
      this.gates.set(call.callId, gate);
      greOut = (buf, off, len) => {
        if (gate.open) gate.out(buf, off, len);
        else gate.held.hold(buf, off, len); // beyond the limit: dropped, as the network might (PPP restarts)
      };
    }
    const session = new CallSession({
      localCallId: call.callId,
      peerCallId: call.peerCallId,
      peerReceiveWindow: call.peerReceiveWindow,
      peerProcessingDelay: call.peerProcessingDelay,
      receiveWindow: call.receiveWindow,
      link: this.withLogFilter(this.linkConfigFor(call), call.callId),
      greOut,
      ipOut: sinks.ipOut,
      greRoom: sinks.greRoom,
      ipRoom: sinks.ipRoom,
      ...(this.gre ? { gre: this.gre } : {}),
    });
    this.calls.set(call.callId, session);
    session.start(now);
    const early = this.early.get(call.callId);
    this.early.delete(call.callId);
    for (const p of early?.take() ?? []) session.handleGre(now, p, 0, p.length);
    this.drainCall(now, session);
  }

  private withLogFilter(link: PppLinkConfig, callId: number): PppLinkConfig {
    return this.logFilter === undefined ? link : { ...link, logEnabled: (category) => this.logs(category, callId) };
  }

  /**
   * GRE for a call the control connection is still setting up: the peer may send its first LCP packet right
   * after its Outgoing-Call-Reply (or ICRP), and the raw socket can deliver it before TCP delivers the reply.
   * Dropping it would cost a 3 s LCP restart (RFC 1661 §4.6), so a few are kept (copied) for startCall.
   */
  private stashEarly(callId: number, buf: Uint8Array, off: number, len: number): boolean {
    if (this.control.getCall(callId) === undefined) return false;
    let q = this.early.get(callId);
    if (!q) this.early.set(callId, (q = new HeldPackets(EARLY_GRE_LIMIT)));
    return q.hold(buf, off, len);
  }
  private readonly early = new SparseMap<number, HeldPackets>();
  /** TCP chunks taken from the control engine, waiting for pollTransmit(); how many were queued and handed out. */
  private readonly tx = new Fifo<Uint8Array>();
  private txQueued = 0;
  private txHanded = 0;
  /** New calls whose GRE waits for their reply to be handed out (see "TCP before GRE"). */
  private readonly gates = new SparseMap<number, GreGate>();

  private pullControlTx(): void {
    for (let b = this.control.pollTransmit(); b; b = this.control.pollTransmit()) {
      this.tx.push(b);
      this.txQueued++;
    }
  }

  /** Releases, in order, the GRE of every call whose reply has been handed out in an earlier pollTransmit(). */
  private openGates(): void {
    for (const [id, g] of this.gates) {
      if (g.mark > this.txHanded) continue;
      this.gates.delete(id);
      for (const p of g.held.take()) g.out(p, 0, p.length);
      g.open = true;
    }
  }
  /** Calls whose link is down, to be cleared at `at` (see onLinkEvent "down"). */
  private readonly lingering = new SparseMap<number, { at: Millis; reason: string; code?: number; cause: TerminateCause }>();

  protected pump(now: Millis): void {
    for (let e = this.control.pollEvent(); e; e = this.control.pollEvent()) {
      switch (e.type) {
        case "call-cleared":
          this.log("events", `call ${e.callId} cleared ${e.byPeer ? "by peer" : "locally"}: ${e.reason}`, e.callId);
          // The peer's Call-Clear-Request/CDN is its goodbye; otherwise the control connection went (or we cleared).
          this.endCall(now, e.callId, e.reason, undefined, false, e.byPeer && !this.control.isClosed ? "user-request" : controlCloseCause(this.control.closeKind));
          break;
        case "closed":
          this.log("events", `control connection with ${this.peerName} closed: ${e.reason}`);
          for (const id of [...this.calls.keys()]) this.endCall(now, id, `control connection closed: ${e.reason}`, undefined, false, controlCloseCause(e.kind));
          this.early.clear();
          if (!this.closedSent) {
            this.closedSent = true;
            this.events.push({ type: "closed", reason: e.reason });
          }
          break;
        case "protocol-error":
          this.log("errors", `malformed control message from ${this.peerName}: ${e.reason}`);
          break;
        case "warning":
          this.log("errors", `${this.peerName}: ${e.reason}`);
          break;
        case "set-link-info":
          this.log("negotiation", `SLI call ${e.callId}: send ACCM 0x${e.sendAccm.toString(16)} receive ACCM 0x${e.receiveAccm.toString(16)}`, e.callId);
          break;
        case "wan-error":
          this.log("errors", `WEN call ${e.callId}: crc ${e.crcErrors} framing ${e.framingErrors} overruns ${e.hardwareOverruns}/${e.bufferOverruns} timeouts ${e.timeoutErrors}`, e.callId);
          break;
        case "message": {
          // The `packets` log: a few messages per call, but an echo a minute on every connection; made only when read.
          const callId = ourCallId(e.direction, e.message);
          if (this.logs("packets", callId)) this.log("packets", `${e.direction} ${describeControlMessage(e.message)}`, callId);
          break;
        }
        default:
          this.onControlEvent(now, e);
      }
    }
  }

  private drainCall(now: Millis, c: CallSession): void {
    for (let e = c.pollEvent(); e; e = c.pollEvent()) this.onLinkEvent(now, c, e);
    this.pump(now);
  }

  private onLinkEvent(now: Millis, c: CallSession, e: PppLinkEvent): void {
    const id = c.localCallId;
    switch (e.type) {
      case "verify":
        this.events.push({ type: "verify", callId: id, request: e.request });
        return;
      case "lcp-up":
        this.log(
          "events",
          `LCP up: MRU ${e.result.localMru}/${e.result.peerMru}, auth ${e.result.authenticatePeer ?? e.result.authenticateToPeer ?? "none"}`,
          id,
        );
        return;
      case "authenticated":
        this.log("events", e.direction === "peer" ? `auth succeeded for user ${e.user} with ${authMethodLabel(e.method)}` : `authenticated to peer as ${e.user} with ${authMethodLabel(e.method)}`, id);
        return;
      case "auth-failed":
        this.log("events", `auth failed for user ${e.user ?? "(none)"} with ${authMethodLabel(e.method)}: error ${e.code}: ${e.message}`, id);
        return;
      case "mppe-up":
        this.log("events", `MPPE ${e.result.bits}-bit ${e.result.stateless ? "stateless" : "stateful"}`, id);
        return;
      case "ipcp-up":
        this.log("events", `IPCP up: local ${e.result.localAddress} peer ${e.result.peerAddress ?? "?"}${e.result.dns.length ? ` dns ${e.result.dns.join(",")}` : ""}`, id);
        return;
      case "network-up": {
        const auth = c.link.auth;
        this.events.push({ type: "network-up", callId: id, user: auth.user, method: auth.method, ipcp: e.ipcp, mppe: e.mppe });
        return;
      }
      case "down":
        this.log("events", `session down: ${e.reason}${e.code !== undefined ? ` (${this.windowsErrorPhrase} ${e.code})` : ""}`, id);
        // The PPTP call is cleared a moment later, not at once: our last LCP packet (the Terminate-Ack of the
        // peer's own Terminate-Request) travels on GRE while the Call-Clear/CDN goes on TCP, and a stock
        // pptp-linux that sees the call cleared first hangs up pppd's pty before pppd has finished LCP — pppd
        // then exits "Modem hangup" instead of with the reason (e.g. 19, authentication failed).
        this.lingering.set(id, { at: now + CALL_CLEAR_LINGER_MS, reason: e.reason, ...(e.code !== undefined ? { code: e.code } : {}), cause: e.cause ?? "port-error" });
        return;
      case "log":
        this.log(e.category, e.message, id);
        return;
      case "phase":
        this.log("negotiation", `phase ${e.phase}`, id);
        return;
    }
  }

  /** Remove a call; `clearPptp` also ends it on the control connection (CCRQ or CDN, by our side of the call). */
  private endCall(now: Millis, callId: number, reason: string, code: number | undefined, clearPptp: boolean, cause: TerminateCause): void {
    this.early.delete(callId);
    this.gates.delete(callId);
    const lingering = this.lingering.get(callId);
    if (lingering) {
      // The link had already ended (and said why) when the call or control connection went: its reason stands.
      this.lingering.delete(callId);
      reason = lingering.reason;
      code = lingering.code;
      cause = lingering.cause;
    }
    const c = this.calls.get(callId);
    if (!c) return;
    this.calls.delete(callId);
    c.capture?.stop("session-ended");
    if (!c.link.isFinished) {
      c.lowerDown(now);
      for (let e = c.pollEvent(); e; e = c.pollEvent()) {
        if (e.type === "log") this.log(e.category, e.message, callId);
        // The PPP link knew why first (e.g. the peer's Terminate-Request and its text, an auth failure); the
        // Call-Disconnect-Notify that follows says only "admin shutdown".
        else if (e.type === "down" && !clearPptp && e.reason !== "the PPTP call went away") {
          reason = e.reason;
          code ??= e.code;
          // A cause the link had noted before the call went (an echo failure under way) is the real one.
          if (e.cause !== undefined) cause = e.cause;
        }
      }
    }
    if (clearPptp && this.control.getCall(callId)) this.control.clearCall(now, callId, { result: "admin-shutdown", callStatistics: reason.slice(0, 128) });
    this.events.push(code === undefined ? { type: "call-down", callId, reason, cause } : { type: "call-down", callId, reason, code, cause });
    this.callEnded(callId);
    if (this.stopWhenIdle && this.calls.size === 0 && !this.control.isClosed && this.control.state === "established") {
      this.control.stop(now, "none", STOP_AFTER_LAST_CALL);
    }
  }
}



