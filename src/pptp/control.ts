/**
 * The PPTP control connection (RFC 2637 §3), sans-I/O, for either end.
 *
 * `role` says which product we are — "server" (the PAC, what Windows dials) or "client" (the PNS) —
 * and only sets defaults: who sends Start-Control-Connection-Request (the client, unless
 * `originate` says otherwise) and what we advertise. Calls can be started by either side in
 * either direction (OCRQ/OCRP, or ICRQ/ICRP/ICCN as LAN-to-LAN routers do), and each call
 * remembers whether we are its PNS or its PAC, which decides who clears it with
 * Call-Clear-Request and who reports with Call-Disconnect-Notify.
 *
 * The engine never reads a clock, starts a timer or touches a socket:
 *   - inputs:  start(now), handleBytes(now, chunk), handleTransportClosed(now), handleTimeout(now);
 *   - commands: answerStart, placeOutgoingCall, answerOutgoingCall, placeIncomingCall,
 *               answerIncomingCall, clearCall, setLinkInfo, sendWanErrorNotify, stop, abandon;
 *   - outputs: pollTransmit() (bytes for the TCP connection), pollEvent(), pollTimeout().
 * Accepting or refusing the peer's calls is always the owner's decision: the engine reports an
 * `outgoing-call-request` / `incoming-call-request` event and waits for the answer.
 *
 * Timers (RFC 2637 §3, §3.1.4, §3.2.1), all configurable: a reply not received within
 * `replyTimeoutMs` (60 s) closes the connection — waiting for SCCRQ/SCCRP/StopCCRP — or, for a call
 * stuck waiting for OCRP/ICRP/ICCN/CDN, fails the call and stops the whole control connection as
 * §3.2.1 asks. When established and nothing was received for `keepaliveIntervalMs` (60 s) an
 * Echo-Request goes out; no answer within `keepaliveTimeoutMs` (60 s, after `keepaliveRetries`
 * further attempts) closes the connection with "Keepalive failure". Any message received counts,
 * the peer's own Echo-Request included (§3.1.4: the request is sent when no control message was
 * received for the interval). Two ends that both echo at the same interval would still each send
 * theirs as the other's arrives; so the roles differ. The server role (`keepaliveYieldToPeer`)
 * gives a peer that echoes a tenth of an interval more before ours goes; the client role lets the
 * peer's Echo-Request prove it alive but not put its own off, so its requests keep their cadence
 * and a yielding server falls silent after the first. The dead-peer bound — interval + timeout ×
 * (retries + 1) after the last message — is the same either way: the first wait for an Echo-Reply
 * is shortened by what the yield added.
 *
 * Malformed input never throws: it yields a `protocol-error` event, a Stop-Control-Connection-Request
 * and a `closed` event (RFC 2637 §3: "the control connection should be closed").
 */
import {
  type ControlMessage,
  ControlStreamFramer,
  emitControlMessage,
  describeCode,
  describeResult,
  EchoResult,
  ECHO_RESULT_TEXT,
  GeneralError,
  PPTP_PROTOCOL_VERSION,
  START_RESULT_TEXT,
  StartResult,
  STOP_REASON_TEXT,
  STOP_RESULT_TEXT,
  StopReason,
  StopResult,
  Framing,
  Bearer,
  ECHO_REQUEST_LENGTH,
  ECHO_REPLY_LENGTH,
  peekEchoRequest,
  writeEchoReply,
} from "../wire/pptp-control.js";
import { type Result, ok, err } from "../wire/result.js";
import { CallControl, type CallHost } from "./call-control.js";
import type { CallInfo, ControlCloseKind, ControlEvent, PeerInfo } from "./control-events.js";
import {
  type ClearCallOptions,
  type ControlConnectionOptions,
  type ControlRole,
  type ControlState,
  type IncomingCallAnswer,
  type IncomingCallParams,
  type Msg,
  type OutgoingCallAnswer,
  type OutgoingCallParams,
  type StartAnswer,
  type StopReasonName,
  type WanErrorCounters,
  GENERAL_ERROR_CODE,
  START_REFUSAL_CODE,
  STOP_REASON_CODE,
  seconds,
} from "./control-types.js";
import { Fifo } from "../core/fifo.js";

export type * from "./control-types.js";

function hexVersion(v: number): string {
  return "0x" + v.toString(16).padStart(4, "0");
}

/** RFC 2637 §3.1.3: of two peers whose SCCRQs collided, the one with the higher IPv4 address wins. */
export function winsCollision(localIp: number, peerIp: number): boolean {
  return localIp >>> 0 > peerIp >>> 0;
}

/**
 * Echo-Replies are cut from a shared slab, as Node's Buffer pool does: 20 octets each, never reused, the slab
 * freed when its last reply has been written. A view of a large buffer is one small object; a fresh 20-octet
 * array would be one, plus an ArrayBuffer made the moment the socket layer asks for its `.buffer`.
 */
const REPLY_SLAB_OCTETS = 8192;
let replySlab = new Uint8Array(REPLY_SLAB_OCTETS);
let replySlabUsed = 0;
function replyBuffer(): Uint8Array {
  if (replySlabUsed + ECHO_REPLY_LENGTH > REPLY_SLAB_OCTETS) {
    replySlab = new Uint8Array(REPLY_SLAB_OCTETS);
    replySlabUsed = 0;
  }
  const b = replySlab.subarray(replySlabUsed, replySlabUsed + ECHO_REPLY_LENGTH);
  replySlabUsed += ECHO_REPLY_LENGTH;
  return b;
}

/** Whether the owner reads `message` events now (its `packets` log); asked per keepalive (see setMessageGate). */
export interface MessageGate {
  controlMessagesWanted(): boolean;
}

export class ControlConnection {
  readonly role: ControlRole;
  readonly originator: boolean;
  private stateValue: ControlState = "idle";
  private peerInfo: PeerInfo | undefined;

  private readonly o: ControlConnectionOptions;
  private readonly replyTimeout: number;
  private readonly keepaliveInterval: number;
  private readonly keepaliveTimeout: number;
  private readonly keepaliveRetries: number;
  /** A tenth of the interval with keepaliveYieldToPeer, else -1 (see the file comment). */
  private readonly keepaliveYield: number;
  private readonly framer: ControlStreamFramer;
  private readonly calls: CallControl;
  private readonly tx = new Fifo<Uint8Array>();
  private readonly events = new Fifo<ControlEvent>();

  /** Deadline of the connection-level wait (SCCRQ, SCCRP, StopCCRP). */
  private ctlDeadline: number | undefined;
  private lastRx = 0;
  /** When the peer's last Echo-Request came, if it sends any. */
  private peerEchoAt: number | undefined;
  /** What our next Echo-Request counts from: lastRx, but without the yield, not moved by the peer's Echo-Requests. */
  private quietSince = 0;
  /** When we sent our last Echo-Request (answered or not). */
  private lastEchoAt = 0;
  private echoId = 0;
  /** When the outstanding Echo-Request was sent, or undefined when none is outstanding. */
  private echoSentAt: number | undefined;
  private echoMissed = 0;
  /** Why we sent Stop-Control-Connection-Request, reported when the connection closes. */
  private stopCause = "";

  /**
   * What CallControl reaches back through: methods on one shared prototype, so a connection holds one small object
   * here instead of five closures and their context (issue 11: memory per session).
   */
  private static readonly CallHostOf = class implements CallHost {
    constructor(private readonly c: ControlConnection) {}
    isEstablished(): boolean {
      return this.c.stateValue === "established";
    }
    send(m: ControlMessage): void {
      this.c.send(m);
    }
    emit(e: ControlEvent): void {
      this.c.events.push(e);
    }
    warn(reason: string): void {
      this.c.warn(reason);
    }
    stopConnection(now: number, why: string): void {
      this.c.sendStop(now, StopReason.None, why);
    }
  };

  constructor(options: ControlConnectionOptions) {
    this.o = options;
    this.role = options.role;
    this.originator = options.originate ?? options.role === "client";
    this.replyTimeout = options.replyTimeoutMs ?? 60_000;
    this.keepaliveInterval = options.keepaliveIntervalMs ?? 60_000;
    this.keepaliveTimeout = options.keepaliveTimeoutMs ?? 60_000;
    this.keepaliveRetries = options.keepaliveRetries ?? 0;
    this.keepaliveYield = (options.keepaliveYieldToPeer ?? options.role === "server") ? this.keepaliveInterval / 10 : -1;
    this.framer = new ControlStreamFramer(options.parse ?? {});
    this.calls = new CallControl(
      new ControlConnection.CallHostOf(this),
      {
        callReplyTimeoutMs: options.callReplyTimeoutMs ?? this.replyTimeout,
        receiveWindow: options.receiveWindow ?? 64,
        firstCallId: options.firstCallId ?? 1,
      },
    );
  }

  // ------------------------------------------------------------------ getters

  get state(): ControlState {
    return this.stateValue;
  }

  /** How the connection ended (for accounting causes), once it has. */
  get closeKind(): ControlCloseKind | undefined {
    return this.closeKindValue;
  }
  private closeKindValue: ControlCloseKind | undefined;

  get isClosed(): boolean {
    return this.stateValue === "closed";
  }

  /** What the peer told us in its SCCRQ/SCCRP, once received. */
  get peer(): PeerInfo | undefined {
    return this.peerInfo;
  }

  /** Calls on this connection (requests awaiting the owner's answer are not calls yet). */
  listCalls(): CallInfo[] {
    return this.calls.list();
  }

  getCall(callId: number): CallInfo | undefined {
    return this.calls.get(callId);
  }

  // ------------------------------------------------------------------ polls

  pollTransmit(): Uint8Array | undefined {
    return this.tx.shift();
  }

  pollEvent(): ControlEvent | undefined {
    return this.events.shift();
  }

  pollTimeout(): number | undefined {
    let t = this.ctlDeadline;
    if (this.stateValue === "established") {
      const k = this.keepaliveDeadline();
      if (k !== undefined && (t === undefined || k < t)) t = k;
      const c = this.calls.nextDeadline();
      if (c !== undefined && (t === undefined || c < t)) t = c;
    }
    return t;
  }

  /**
   * Who decides whether `message` events are made (default: none, always made). When the gate says no, a
   * well-formed Echo-Request at the front of a read is answered in place — no message record, no events, the
   * reply written into a shared slab — which is all an idle connection receives (issue 11: idle cost).
   */
  setMessageGate(gate: MessageGate | undefined): void {
    this.gate = gate;
  }
  private gate: MessageGate | undefined;

  // ------------------------------------------------------------------ inputs

  /** The TCP connection is up: the originator sends SCCRQ, the receiver starts waiting for one. */
  start(now: number): void {
    if (this.stateValue !== "idle") return;
    this.lastRx = now;
    this.quietSince = now;
    if (this.originator) {
      this.send({
        type: "SCCRQ",
        protocolVersion: PPTP_PROTOCOL_VERSION,
        framingCapabilities: this.o.framingCapabilities ?? Framing.Either,
        bearerCapabilities: this.o.bearerCapabilities ?? Bearer.Either,
        maximumChannels: this.o.maximumChannels ?? (this.role === "client" ? 0 : 0xffff),
        firmwareRevision: this.o.firmwareRevision ?? 0,
        hostName: this.o.hostName ?? "",
        vendorString: this.o.vendorString ?? "pptp-ts",
      });
      this.stateValue = "wait-ctl-reply";
    } else {
      this.stateValue = "wait-ctl-request";
    }
    this.ctlDeadline = now + this.replyTimeout;
  }

  /** Bytes read from the TCP connection, in any chunking. */
  handleBytes(now: number, chunk: Uint8Array): void {
    if (this.stateValue === "closed") return;
    if (this.stateValue === "idle") this.start(now);
    if (this.gate !== undefined && this.framer.buffered === 0 && !this.framer.failed) {
      // The keepalive path: whole Echo-Requests at the front of the read, nothing half-framed before them. Any
      // other octets (a malformed Echo-Request included) go through the framer and parser as before.
      let off = 0;
      while (chunk.length - off >= ECHO_REQUEST_LENGTH && !this.gate.controlMessagesWanted()) {
        const id = peekEchoRequest(chunk, off);
        if (id < 0) break;
        off += ECHO_REQUEST_LENGTH;
        this.noteReceived(now, true);
        this.answerEcho(id);
      }
      if (off === chunk.length) return;
      if (off > 0) chunk = chunk.subarray(off);
    }
    this.framer.push(chunk);
    for (;;) {
      if (this.isClosed) return;
      const r = this.framer.next();
      if (r === undefined) return;
      if (!r.ok) {
        this.protocolError(r.error.code, `Malformed control message from peer: ${r.error.message}`);
        return;
      }
      this.noteReceived(now, r.value.type === "EchoRQ");
      this.events.push({ type: "message", direction: "rcvd", message: r.value });
      this.dispatch(now, r.value);
    }
  }

  /** A message arrived: any one proves the peer alive, whatever answers our Echo-Request. */
  private noteReceived(now: number, echoRequest: boolean): void {
    this.lastRx = now;
    this.echoSentAt = undefined;
    this.echoMissed = 0;
    if (!echoRequest) this.quietSince = now;
    else if (this.keepaliveYield >= 0) {
      this.quietSince = now;
      this.peerEchoAt = now;
    }
  }

  /** RFC 2637 §2.17: the reply carries the request's Identifier; Result 1 (OK) only once established. */
  private answerEcho(identifier: number): void {
    const up = this.stateValue === "established";
    const b = replyBuffer();
    writeEchoReply(b, 0, identifier, up ? EchoResult.Ok : EchoResult.GeneralError, up ? GeneralError.None : GeneralError.NotConnected);
    this.tx.push(b);
  }

  /** The TCP connection ended (FIN, reset or error). */
  handleTransportClosed(now: number): void {
    void now;
    if (this.stateValue === "closed") return;
    if (this.stateValue === "wait-stop-reply") {
      this.close(`${this.stopCause}; the peer closed TCP without a Stop-Control-Connection-Reply`, false, "local");
    } else {
      this.close("TCP connection closed by peer", true, "transport-closed");
    }
  }

  handleTimeout(now: number): void {
    const s = this.stateValue;
    if (s === "closed" || s === "idle") return;
    if (this.ctlDeadline !== undefined && now >= this.ctlDeadline) {
      this.ctlDeadline = undefined;
      if (s === "wait-ctl-request") {
        this.close(`No Start-Control-Connection-Request from peer within ${seconds(this.replyTimeout)}`, false, "local");
      } else if (s === "wait-ctl-reply") {
        this.close(`Control connection reply timeout: no Start-Control-Connection-Reply within ${seconds(this.replyTimeout)}`, false, "local");
      } else if (s === "wait-stop-reply") {
        this.close(`${this.stopCause}; no Stop-Control-Connection-Reply within ${seconds(this.replyTimeout)}`, false, "local");
      }
      return;
    }
    if (s !== "established") return;
    if (this.calls.handleTimeout(now)) return;
    this.keepaliveTick(now);
  }

  // ------------------------------------------------------------------ commands

  /** Answer a `start-request` (only with autoAcceptStart: false). */
  answerStart(now: number, answer: StartAnswer): Result<void> {
    if (this.stateValue !== "wait-ctl-answer") {
      return err("bad-state", `answerStart: no Start-Control-Connection-Request is waiting (state ${this.stateValue})`);
    }
    if (answer.accept) {
      this.acceptStart(now);
    } else {
      const resultCode = START_REFUSAL_CODE[answer.result];
      const errorCode = GENERAL_ERROR_CODE[answer.error ?? "none"];
      this.sendStartReply(resultCode, errorCode);
      this.close(`We refused the control connection: ${describeResult(START_RESULT_TEXT, resultCode, errorCode)}`, false, "local");
    }
    return ok(undefined);
  }

  /** Sends an Outgoing-Call-Request (we are the call's PNS); returns our Call ID. */
  placeOutgoingCall(now: number, p: OutgoingCallParams = {}): Result<number> {
    return this.calls.placeOutgoingCall(now, p);
  }

  /** Answers an `outgoing-call-request`: accept (we become the call's PAC; returns our Call ID) or refuse. */
  answerOutgoingCall(now: number, peerCallId: number, answer: OutgoingCallAnswer): Result<number | undefined> {
    return this.calls.answerOutgoingCall(now, peerCallId, answer);
  }

  /** Sends an Incoming-Call-Request (we are the call's PAC); returns our Call ID. */
  placeIncomingCall(now: number, p: IncomingCallParams = {}): Result<number> {
    return this.calls.placeIncomingCall(now, p);
  }

  /** Answers an `incoming-call-request`: accept (we become the call's PNS; returns our Call ID) or refuse. */
  answerIncomingCall(now: number, peerCallId: number, answer: IncomingCallAnswer): Result<number | undefined> {
    return this.calls.answerIncomingCall(now, peerCallId, answer);
  }

  /**
   * Ends a call. As its PNS we send Call-Clear-Request and report `call-cleared` when the PAC's
   * Call-Disconnect-Notify arrives; as its PAC we send Call-Disconnect-Notify and report at once.
   * A call the peer has not answered yet is abandoned (`call-failed`).
   */
  clearCall(now: number, callId: number, opts: ClearCallOptions = {}): Result<void> {
    return this.calls.clearCall(now, callId, opts);
  }

  /** Sends Set-Link-Info (RFC 2637 §2.15) for an established call. */
  setLinkInfo(now: number, callId: number, sendAccm: number, receiveAccm: number): Result<void> {
    return this.calls.setLinkInfo(now, callId, sendAccm, receiveAccm);
  }

  /** Sends WAN-Error-Notify (RFC 2637 §2.14) for a call. */
  sendWanErrorNotify(now: number, callId: number, counters: WanErrorCounters): Result<void> {
    return this.calls.sendWanErrorNotify(now, callId, counters);
  }

  /**
   * Local termination (RFC 2637 §3.1.1): sends Stop-Control-Connection-Request, clears every call
   * and waits for the reply. Before the connection is established there is nothing to stop and it
   * simply closes.
   */
  stop(now: number, reason: StopReasonName = "none", why?: string): void {
    const s = this.stateValue;
    if (s === "closed" || s === "wait-stop-reply") return;
    const code = STOP_REASON_CODE[reason];
    const cause = why ?? `Control connection stopped by us: ${describeCode(STOP_REASON_TEXT, code)}`;
    if (s === "idle" || s === "wait-ctl-request" || s === "wait-ctl-answer") {
      this.close(cause, false, "local");
      return;
    }
    this.sendStop(now, code, cause);
  }

  /**
   * Closes without sending anything more and drops what was not yet polled: for the loser of a
   * SCCRQ collision on the connection it opened, and for the winner on the connection the loser
   * opened (RFC 2637 §3.1.3: no further messages on it), or any owner-side abort.
   */
  abandon(now: number, reason: string): void {
    void now;
    if (this.stateValue === "closed") return;
    this.tx.clear();
    this.close(reason, false, "local");
  }

  // ------------------------------------------------------------------ message handling

  private dispatch(now: number, m: ControlMessage): void {
    switch (m.type) {
      case "SCCRQ":
        return this.onStartRequest(now, m);
      case "SCCRP":
        return this.onStartReply(now, m);
      case "StopCCRQ": {
        this.send({ type: "StopCCRP", resultCode: StopResult.Ok, errorCode: GeneralError.None });
        this.close(`Peer stopped the control connection: ${describeCode(STOP_REASON_TEXT, m.reason)}`, true, "peer-stop");
        return;
      }
      case "StopCCRP":
        if (this.stateValue === "wait-stop-reply") {
          const r = m.resultCode === StopResult.Ok ? "" : ` (peer answered ${describeResult(STOP_RESULT_TEXT, m.resultCode, m.errorCode)})`;
          this.close(this.stopCause + r, false, "local");
        } else {
          this.warn(`Unexpected Stop-Control-Connection-Reply in state ${this.stateValue} ignored`);
        }
        return;
      case "EchoRQ": {
        const up = this.stateValue === "established";
        this.send({
          type: "EchoRP",
          identifier: m.identifier,
          resultCode: up ? EchoResult.Ok : EchoResult.GeneralError,
          errorCode: up ? GeneralError.None : GeneralError.NotConnected,
        });
        return;
      }
      case "EchoRP":
        if (m.resultCode !== EchoResult.Ok) {
          this.warn(`Peer answered our Echo-Request with ${describeResult(ECHO_RESULT_TEXT, m.resultCode, m.errorCode)}`);
        }
        return;
      default:
        break;
    }
    if (this.stateValue === "wait-stop-reply" && (m.type === "CDN" || m.type === "CCRQ")) {
      // We sent Stop-Control-Connection-Request and the peer is still clearing its calls (pptpd and our own
      // server send Call-Disconnect-Notify first): the calls are over either way, nothing to answer.
      return;
    }
    if (this.stateValue !== "established") {
      this.calls.notConnected(m);
      return;
    }
    this.calls.handle(m);
  }

  private onStartRequest(now: number, m: Msg<"SCCRQ">): void {
    const s = this.stateValue;
    if (s === "established") {
      // RFC 2637 §2.2 Result Code 3: the channel already exists; keep ours.
      this.sendStartReply(StartResult.AlreadyExists, GeneralError.None);
      this.warn("Peer sent a second Start-Control-Connection-Request; answered 3 (Command channel already exists)");
      return;
    }
    if (s !== "wait-ctl-request") {
      this.warn(`Unexpected Start-Control-Connection-Request in state ${s} ignored`);
      return;
    }
    this.peerInfo = peerInfoOf(m);
    this.ctlDeadline = undefined;
    if (m.protocolVersion < PPTP_PROTOCOL_VERSION) {
      // RFC 2637 §3.1.2: an earlier version we cannot support gets a reply with an error, then close.
      this.sendStartReply(StartResult.UnsupportedVersion, GeneralError.None);
      this.close(
        `Peer's protocol version ${hexVersion(m.protocolVersion)} is not supported (we speak ${hexVersion(PPTP_PROTOCOL_VERSION)})`,
        false, "protocol-error",
      );
      return;
    }
    if (this.o.autoAcceptStart === false) {
      this.stateValue = "wait-ctl-answer";
      this.events.push({ type: "start-request", peer: this.peerInfo });
      return;
    }
    this.acceptStart(now);
  }

  private acceptStart(now: number): void {
    this.sendStartReply(StartResult.Success, GeneralError.None);
    this.becomeEstablished(now);
  }

  private sendStartReply(resultCode: number, errorCode: number): void {
    this.send({
      type: "SCCRP",
      protocolVersion: PPTP_PROTOCOL_VERSION,
      resultCode,
      errorCode,
      framingCapabilities: this.o.framingCapabilities ?? Framing.Either,
      bearerCapabilities: this.o.bearerCapabilities ?? Bearer.Either,
      maximumChannels: this.o.maximumChannels ?? (this.role === "client" ? 0 : 0xffff),
      firmwareRevision: this.o.firmwareRevision ?? 0,
      hostName: this.o.hostName ?? "",
      vendorString: this.o.vendorString ?? "pptp-ts",
    });
  }

  private onStartReply(now: number, m: Msg<"SCCRP">): void {
    if (this.stateValue !== "wait-ctl-reply") {
      this.warn(`Unexpected Start-Control-Connection-Reply in state ${this.stateValue} ignored`);
      return;
    }
    this.peerInfo = peerInfoOf(m);
    this.ctlDeadline = undefined;
    if (m.resultCode !== StartResult.Success) {
      this.close(`Peer refused the control connection: ${describeResult(START_RESULT_TEXT, m.resultCode, m.errorCode)}`, true, "peer-stop");
      return;
    }
    if (m.protocolVersion < PPTP_PROTOCOL_VERSION) {
      // RFC 2637 §3.1.1: an earlier version we cannot support -> Stop-Control-Connection-Request.
      this.sendStop(
        now,
        StopReason.StopProtocol,
        `Peer's protocol version ${hexVersion(m.protocolVersion)} is not supported (we speak ${hexVersion(PPTP_PROTOCOL_VERSION)})`,
      );
      return;
    }
    this.becomeEstablished(now);
  }

  private becomeEstablished(now: number): void {
    this.stateValue = "established";
    this.ctlDeadline = undefined;
    this.lastRx = now;
    this.quietSince = now;
    this.events.push({ type: "established", peer: this.peerInfo as PeerInfo, protocolVersion: PPTP_PROTOCOL_VERSION });
  }

  // ------------------------------------------------------------------ timers

  private keepaliveDeadline(): number | undefined {
    const i = this.keepaliveInterval;
    if (i <= 0) return undefined;
    if (this.echoSentAt !== undefined) {
      // Never later than the bound without a yield: interval + timeout × (unanswered requests) after the last message.
      const wait = this.echoSentAt + this.keepaliveTimeout;
      const bound = this.lastRx + i + (this.echoMissed + 1) * this.keepaliveTimeout;
      return wait < bound ? wait : bound;
    }
    // Never sooner than an interval after our own last request either (see quietSince).
    const d = (this.quietSince > this.lastEchoAt ? this.quietSince : this.lastEchoAt) + i;
    if (this.keepaliveYield < 0 || this.peerEchoAt === undefined) return d;
    const y = this.peerEchoAt + i + this.keepaliveYield;
    return y > d ? y : d;
  }

  private keepaliveTick(now: number): void {
    const d = this.keepaliveDeadline();
    if (d === undefined || now < d) return;
    if (this.echoSentAt !== undefined) {
      if (this.echoMissed >= this.keepaliveRetries) {
        this.close(
          `Keepalive failure: no Echo-Reply from peer within ${seconds(this.keepaliveTimeout)}` +
            (this.keepaliveRetries > 0 ? ` (${this.keepaliveRetries + 1} Echo-Requests unanswered)` : ""),
          false, "keepalive",
        );
        return;
      }
      this.echoMissed++;
    }
    this.echoId = (this.echoId + 1) >>> 0;
    this.echoSentAt = now;
    this.lastEchoAt = now;
    this.send({ type: "EchoRQ", identifier: this.echoId });
  }

  // ------------------------------------------------------------------ helpers

  private send(m: ControlMessage): void {
    this.tx.push(emitControlMessage(m));
    this.events.push({ type: "message", direction: "sent", message: m });
  }

  private warn(reason: string): void {
    this.events.push({ type: "warning", reason });
  }

  private sendStop(now: number, code: number, cause: string): void {
    this.send({ type: "StopCCRQ", reason: code });
    this.stopCause = cause;
    // RFC 2637 §2.3: stopping the control connection implicitly clears all its calls.
    this.calls.dropAllCalls(`Control connection stopping: ${cause}`);
    this.stateValue = "wait-stop-reply";
    this.ctlDeadline = now + this.replyTimeout;
  }

  private protocolError(code: string, reason: string): void {
    this.events.push({ type: "protocol-error", code, reason });
    // RFC 2637 §3: close on a malformed message. A StopCCRQ tells a well-meaning peer why; we do
    // not wait for its reply, the stream may be unreadable.
    if (this.stateValue === "established" || this.stateValue === "wait-ctl-reply" || this.stateValue === "wait-stop-reply") {
      this.send({ type: "StopCCRQ", reason: StopReason.None });
    }
    this.close(reason, true, "protocol-error");
  }

  private close(reason: string, byPeer: boolean, kind: ControlCloseKind): void {
    if (this.stateValue === "closed") return;
    // Set before the calls are dropped: their call-cleared events are read with it (src/session/connection.ts).
    this.closeKindValue = kind;
    this.calls.dropAllCalls(`Control connection closed: ${reason}`);
    this.stateValue = "closed";
    this.ctlDeadline = undefined;
    this.echoSentAt = undefined;
    this.events.push({ type: "closed", reason, byPeer, kind });
  }

}

function peerInfoOf(m: Msg<"SCCRQ" | "SCCRP">): PeerInfo {
  return {
    protocolVersion: m.protocolVersion,
    framingCapabilities: m.framingCapabilities,
    bearerCapabilities: m.bearerCapabilities,
    maximumChannels: m.maximumChannels,
    firmwareRevision: m.firmwareRevision,
    hostName: m.hostName,
    vendorString: m.vendorString,
  };
}
