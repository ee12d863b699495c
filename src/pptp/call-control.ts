/**
 * The calls of a PPTP control connection (RFC 2637 §3.2): placing, answering and clearing outgoing
 * (OCRQ/OCRP) and incoming (ICRQ/ICRP/ICCN) calls, Call-Clear-Request / Call-Disconnect-Notify,
 * Set-Link-Info and WAN-Error-Notify, and the per-call reply timers (§3.2.1).
 *
 * Part of the control connection engine (control.ts), which owns the connection state and hands
 * call messages here once established; this class reaches back only through `CallHost`.
 */
import {
  type ControlMessage,
  controlKindName,
  describeResult,
  DISCONNECT_RESULT_TEXT,
  DisconnectResult,
  GeneralError,
  INCOMING_CALL_RESULT_TEXT,
  IncomingCallResult,
  OUTGOING_CALL_RESULT_TEXT,
  OutgoingCallResult,
  Framing,
  Bearer,
} from "../wire/pptp-control.js";
import { type Result, ok, err } from "../wire/result.js";
import { type Call, CallTable, callInfo } from "./calls.js";
import type { CallInfo, ControlEvent } from "./control-events.js";
import {
  type ClearCallOptions,
  type IncomingCallAnswer,
  type IncomingCallParams,
  type Msg,
  type OutgoingCallAnswer,
  type OutgoingCallParams,
  type WanErrorCounters,
  DISCONNECT_CODE,
  GENERAL_ERROR_CODE,
  INCOMING_REFUSAL_CODE,
  OUTGOING_REFUSAL_CODE,
  seconds,
} from "./control-types.js";

/** What the call layer needs from the control connection. */
export interface CallHost {
  isEstablished(): boolean;
  send(m: ControlMessage): void;
  emit(e: ControlEvent): void;
  warn(reason: string): void;
  /** Stop the whole control connection (a call timed out, RFC 2637 §3.2.1). */
  stopConnection(now: number, why: string): void;
}

export interface CallControlOptions {
  readonly callReplyTimeoutMs: number;
  readonly receiveWindow: number;
  readonly firstCallId: number;
}

export class CallControl {
  private readonly calls: CallTable;
  private readonly callReplyTimeout: number;
  private readonly receiveWindow: number;
  private serial = 0;

  constructor(
    private readonly host: CallHost,
    o: CallControlOptions,
  ) {
    this.calls = new CallTable(o.firstCallId);
    this.callReplyTimeout = o.callReplyTimeoutMs;
    this.receiveWindow = o.receiveWindow;
  }

  list(): CallInfo[] {
    return this.calls.all().map(callInfo);
  }

  get(callId: number): CallInfo | undefined {
    const c = this.calls.get(callId);
    return c === undefined ? undefined : callInfo(c);
  }

  /** Earliest call deadline, if any call is waiting for a reply. */
  nextDeadline(): number | undefined {
    let t: number | undefined;
    // Not all(): asked after every input of every connection; no array for the answer (issue 11).
    for (const c of this.calls.values()) if (c.deadline !== undefined && (t === undefined || c.deadline < t)) t = c.deadline;
    return t;
  }

  /** Handles the first expired call deadline; returns true when one fired. */
  handleTimeout(now: number): boolean {
    for (const c of this.calls.values()) {
      if (c.deadline !== undefined && now >= c.deadline) {
        this.callTimedOut(now, c);
        return true;
      }
    }
    return false;
  }

  /** Routes a call-management message of an established connection. */
  handle(m: ControlMessage): void {
    switch (m.type) {
      case "OCRQ":
        return this.onOutgoingCallRequest(m);
      case "OCRP":
        return this.onOutgoingCallReply(m);
      case "ICRQ":
        return this.onIncomingCallRequest(m);
      case "ICRP":
        return this.onIncomingCallReply(m);
      case "ICCN":
        return this.onIncomingCallConnected(m);
      case "CCRQ":
        return this.onCallClearRequest(m);
      case "CDN":
        return this.onCallDisconnectNotify(m);
      case "WEN": {
        const c = this.calls.get(m.peerCallId);
        if (c === undefined) return this.host.warn(`WAN-Error-Notify for unknown Call ID ${m.peerCallId} ignored`);
        this.host.emit({
          type: "wan-error",
          callId: c.callId,
          crcErrors: m.crcErrors,
          framingErrors: m.framingErrors,
          hardwareOverruns: m.hardwareOverruns,
          bufferOverruns: m.bufferOverruns,
          timeoutErrors: m.timeoutErrors,
          alignmentErrors: m.alignmentErrors,
        });
        return;
      }
      case "SLI": {
        const c = this.calls.get(m.peerCallId);
        if (c === undefined) return this.host.warn(`Set-Link-Info for unknown Call ID ${m.peerCallId} ignored`);
        this.host.emit({ type: "set-link-info", callId: c.callId, sendAccm: m.sendAccm, receiveAccm: m.receiveAccm });
        return;
      }
      default:
        this.host.warn(`${controlKindName(m.type)} is not a call message; ignored`);
    }
  }

  /** Sends an Outgoing-Call-Request (we are the call's PNS); returns our Call ID. */
  placeOutgoingCall(now: number, p: OutgoingCallParams = {}): Result<number> {
    const id = this.pickCallId("placeOutgoingCall", p.callId);
    if (!id.ok) return id;
    const callId = id.value;
    const serial = p.callSerialNumber ?? this.nextSerial();
    const window = p.packetRecvWindowSize ?? this.receiveWindow;
    const phone = p.phoneNumber ?? "";
    this.host.send({
      type: "OCRQ",
      callId,
      callSerialNumber: serial,
      minimumBps: p.minimumBps ?? 300,
      maximumBps: p.maximumBps ?? 100_000_000,
      bearerType: p.bearerType ?? Bearer.Either,
      framingType: p.framingType ?? Framing.Either,
      packetRecvWindowSize: window,
      packetProcessingDelay: p.packetProcessingDelay ?? 0,
      phoneNumberLength: Math.min(phone.length, 64),
      phoneNumber: phone,
      subaddress: p.subaddress ?? "",
    });
    this.calls.add({
      callId,
      peerCallId: 0,
      peerKnown: false,
      direction: "outgoing",
      side: "pns",
      state: "wait-reply",
      callSerialNumber: serial,
      peerReceiveWindow: 0,
      peerProcessingDelay: 0,
      receiveWindow: window,
      processingDelay: p.packetProcessingDelay ?? 0,
      connectSpeed: 0,
      framingType: p.framingType ?? Framing.Either,
      deadline: now + this.callReplyTimeout,
    });
    return ok(callId);
  }

  /** Answers an `outgoing-call-request`: accept (we become the call's PAC; returns our Call ID) or refuse. */
  answerOutgoingCall(now: number, peerCallId: number, answer: OutgoingCallAnswer): Result<number | undefined> {
    void now;
    const req = this.calls.takeRequest(peerCallId);
    if (req === undefined || req.direction !== "outgoing") {
      if (req !== undefined) this.calls.addRequest(req);
      return err("no-request", `answerOutgoingCall: no Outgoing-Call-Request from peer Call ID ${peerCallId} is waiting`);
    }
    if (!answer.accept) {
      const resultCode = OUTGOING_REFUSAL_CODE[answer.result];
      this.host.send({
        type: "OCRP",
        callId: 0,
        peerCallId,
        resultCode,
        errorCode: GENERAL_ERROR_CODE[answer.error ?? "none"],
        causeCode: answer.causeCode ?? 0,
        connectSpeed: 0,
        packetRecvWindowSize: 0,
        packetProcessingDelay: 0,
        physicalChannelId: 0,
      });
      return ok(undefined);
    }
    const id = this.pickCallId("answerOutgoingCall", answer.callId);
    if (!id.ok) {
      this.calls.addRequest(req);
      return id;
    }
    const callId = id.value;
    const window = answer.packetRecvWindowSize ?? this.receiveWindow;
    const speed = answer.connectSpeed ?? req.requestedSpeed;
    const delay = answer.packetProcessingDelay ?? 0;
    this.host.send({
      type: "OCRP",
      callId,
      peerCallId,
      resultCode: OutgoingCallResult.Connected,
      errorCode: GeneralError.None,
      causeCode: 0,
      connectSpeed: speed,
      packetRecvWindowSize: window,
      packetProcessingDelay: delay,
      physicalChannelId: answer.physicalChannelId ?? 0,
    });
    const call: Call = {
      callId,
      peerCallId,
      peerKnown: true,
      direction: "outgoing",
      side: "pac",
      state: "established",
      callSerialNumber: req.callSerialNumber,
      peerReceiveWindow: req.peerReceiveWindow,
      peerProcessingDelay: req.peerProcessingDelay,
      receiveWindow: window,
      processingDelay: delay,
      connectSpeed: speed,
      framingType: req.framingType,
      deadline: undefined,
    };
    this.calls.add(call);
    this.host.emit({ type: "call-connected", call: callInfo(call) });
    return ok(callId);
  }

  /** Sends an Incoming-Call-Request (we are the call's PAC); returns our Call ID. */
  placeIncomingCall(now: number, p: IncomingCallParams = {}): Result<number> {
    const id = this.pickCallId("placeIncomingCall", p.callId);
    if (!id.ok) return id;
    const callId = id.value;
    const serial = p.callSerialNumber ?? this.nextSerial();
    const dialed = p.dialedNumber ?? "";
    const dialing = p.dialingNumber ?? "";
    this.host.send({
      type: "ICRQ",
      callId,
      callSerialNumber: serial,
      callBearerType: p.callBearerType ?? Bearer.Digital,
      physicalChannelId: p.physicalChannelId ?? 0,
      dialedNumberLength: Math.min(dialed.length, 64),
      dialingNumberLength: Math.min(dialing.length, 64),
      dialedNumber: dialed,
      dialingNumber: dialing,
      subaddress: p.subaddress ?? "",
    });
    this.calls.add({
      callId,
      peerCallId: 0,
      peerKnown: false,
      direction: "incoming",
      side: "pac",
      state: "wait-reply",
      callSerialNumber: serial,
      peerReceiveWindow: 0,
      peerProcessingDelay: 0,
      receiveWindow: p.packetRecvWindowSize ?? this.receiveWindow,
      processingDelay: p.packetTransmitDelay ?? 0,
      connectSpeed: p.connectSpeed ?? 100_000_000,
      framingType: p.framingType ?? Framing.Sync,
      deadline: now + this.callReplyTimeout,
    });
    return ok(callId);
  }

  /** Answers an `incoming-call-request`: accept (we become the call's PNS; returns our Call ID) or refuse. */
  answerIncomingCall(now: number, peerCallId: number, answer: IncomingCallAnswer): Result<number | undefined> {
    const req = this.calls.takeRequest(peerCallId);
    if (req === undefined || req.direction !== "incoming") {
      if (req !== undefined) this.calls.addRequest(req);
      return err("no-request", `answerIncomingCall: no Incoming-Call-Request from peer Call ID ${peerCallId} is waiting`);
    }
    if (!answer.accept) {
      this.host.send({
        type: "ICRP",
        callId: 0,
        peerCallId,
        resultCode: INCOMING_REFUSAL_CODE[answer.result],
        errorCode: GENERAL_ERROR_CODE[answer.error ?? "none"],
        packetRecvWindowSize: 0,
        packetTransmitDelay: 0,
      });
      return ok(undefined);
    }
    const id = this.pickCallId("answerIncomingCall", answer.callId);
    if (!id.ok) {
      this.calls.addRequest(req);
      return id;
    }
    const callId = id.value;
    const window = answer.packetRecvWindowSize ?? this.receiveWindow;
    const delay = answer.packetTransmitDelay ?? 0;
    this.host.send({
      type: "ICRP",
      callId,
      peerCallId,
      resultCode: IncomingCallResult.Connect,
      errorCode: GeneralError.None,
      packetRecvWindowSize: window,
      packetTransmitDelay: delay,
    });
    this.calls.add({
      callId,
      peerCallId,
      peerKnown: true,
      direction: "incoming",
      side: "pns",
      state: "wait-connect",
      callSerialNumber: req.callSerialNumber,
      peerReceiveWindow: 0,
      peerProcessingDelay: 0,
      receiveWindow: window,
      processingDelay: delay,
      connectSpeed: 0,
      framingType: 0,
      deadline: now + this.callReplyTimeout,
    });
    return ok(callId);
  }

  /**
   * Ends a call. As its PNS we send Call-Clear-Request and report `call-cleared` when the PAC's
   * Call-Disconnect-Notify arrives; as its PAC we send Call-Disconnect-Notify and report at once.
   * A call the peer has not answered yet is abandoned (`call-failed`).
   */
  clearCall(now: number, callId: number, opts: ClearCallOptions = {}): Result<void> {
    const c = this.calls.get(callId);
    if (c === undefined) return err("no-call", `clearCall: no call with Call ID ${callId}`);
    if (c.state === "wait-disconnect") return ok(undefined);
    if (c.side === "pns") {
      this.host.send({ type: "CCRQ", callId: c.callId });
      if (c.state === "wait-reply") {
        this.calls.remove(c.callId);
        this.failCall(c, "Call abandoned by us before the peer replied (Call-Clear-Request sent)", 0, 0, 0);
      } else {
        c.state = "wait-disconnect";
        c.deadline = now + this.callReplyTimeout;
      }
      return ok(undefined);
    }
    const resultCode = DISCONNECT_CODE[opts.result ?? "admin-shutdown"];
    const errorCode = GENERAL_ERROR_CODE[opts.error ?? "none"];
    const causeCode = opts.causeCode ?? 0;
    const callStatistics = opts.callStatistics ?? "";
    this.host.send({ type: "CDN", callId: c.callId, resultCode, errorCode, causeCode, callStatistics });
    this.calls.remove(c.callId);
    const why = `Call disconnected by us: ${describeResult(DISCONNECT_RESULT_TEXT, resultCode, errorCode)}`;
    if (c.state === "established") this.clearedCall(c, false, why, resultCode, errorCode, causeCode, callStatistics);
    else this.failCall(c, why, resultCode, errorCode, causeCode);
    return ok(undefined);
  }

  /** Sends Set-Link-Info (RFC 2637 §2.15) for an established call. */
  setLinkInfo(now: number, callId: number, sendAccm: number, receiveAccm: number): Result<void> {
    void now;
    const c = this.calls.get(callId);
    if (c === undefined || !c.peerKnown) return err("no-call", `setLinkInfo: no call with Call ID ${callId} whose peer Call ID is known`);
    this.host.send({ type: "SLI", peerCallId: c.peerCallId, sendAccm: sendAccm >>> 0, receiveAccm: receiveAccm >>> 0 });
    return ok(undefined);
  }

  /** Sends WAN-Error-Notify (RFC 2637 §2.14) for a call. */
  sendWanErrorNotify(now: number, callId: number, counters: WanErrorCounters): Result<void> {
    void now;
    const c = this.calls.get(callId);
    if (c === undefined || !c.peerKnown) return err("no-call", `sendWanErrorNotify: no call with Call ID ${callId} whose peer Call ID is known`);
    this.host.send({ type: "WEN", peerCallId: c.peerCallId, ...counters });
    return ok(undefined);
  }


  /** A call message before the control connection is established: RFC 2637 §2.16 General Error 1. */
  notConnected(m: ControlMessage): void {
    const why = `${controlKindName(m.type)} received before the control connection was established`;
    if (m.type === "OCRQ") {
      this.host.send({
        type: "OCRP",
        callId: 0,
        peerCallId: m.callId,
        resultCode: OutgoingCallResult.GeneralError,
        errorCode: GeneralError.NotConnected,
        causeCode: 0,
        connectSpeed: 0,
        packetRecvWindowSize: 0,
        packetProcessingDelay: 0,
        physicalChannelId: 0,
      });
      this.host.warn(`${why}; refused with General Error 1 (Not-Connected)`);
    } else if (m.type === "ICRQ") {
      this.host.send({
        type: "ICRP",
        callId: 0,
        peerCallId: m.callId,
        resultCode: IncomingCallResult.GeneralError,
        errorCode: GeneralError.NotConnected,
        packetRecvWindowSize: 0,
        packetTransmitDelay: 0,
      });
      this.host.warn(`${why}; refused with General Error 1 (Not-Connected)`);
    } else {
      this.host.warn(`${why}; ignored`);
    }
  }

  private peerCallIdInUse(peerCallId: number): boolean {
    return this.calls.hasRequest(peerCallId) || this.calls.byPeer(peerCallId) !== undefined;
  }

  onOutgoingCallRequest(m: Msg<"OCRQ">): void {
    if (this.peerCallIdInUse(m.callId)) {
      this.host.send({
        type: "OCRP",
        callId: 0,
        peerCallId: m.callId,
        resultCode: OutgoingCallResult.GeneralError,
        errorCode: GeneralError.BadCallId,
        causeCode: 0,
        connectSpeed: 0,
        packetRecvWindowSize: 0,
        packetProcessingDelay: 0,
        physicalChannelId: 0,
      });
      this.host.warn(`Outgoing-Call-Request reuses the peer's Call ID ${m.callId} of a live call; refused with General Error 5 (Bad-Call ID)`);
      return;
    }
    this.calls.addRequest({
      direction: "outgoing",
      peerCallId: m.callId,
      callSerialNumber: m.callSerialNumber,
      peerReceiveWindow: m.packetRecvWindowSize,
      peerProcessingDelay: m.packetProcessingDelay,
      requestedSpeed: m.maximumBps,
      framingType: m.framingType,
    });
    this.host.emit({
      type: "outgoing-call-request",
      peerCallId: m.callId,
      callSerialNumber: m.callSerialNumber,
      minimumBps: m.minimumBps,
      maximumBps: m.maximumBps,
      bearerType: m.bearerType,
      framingType: m.framingType,
      packetRecvWindowSize: m.packetRecvWindowSize,
      packetProcessingDelay: m.packetProcessingDelay,
      phoneNumber: m.phoneNumber,
      subaddress: m.subaddress,
    });
  }

  onOutgoingCallReply(m: Msg<"OCRP">): void {
    const c = this.calls.get(m.peerCallId);
    if (c === undefined || c.direction !== "outgoing" || c.side !== "pns" || c.state !== "wait-reply") {
      this.host.warn(`Outgoing-Call-Reply for Call ID ${m.peerCallId}, which is not waiting for one, ignored`);
      return;
    }
    if (m.resultCode !== OutgoingCallResult.Connected) {
      this.calls.remove(c.callId);
      c.peerCallId = m.callId;
      this.failCall(
        c,
        `Outgoing call refused by peer: ${describeResult(OUTGOING_CALL_RESULT_TEXT, m.resultCode, m.errorCode)}${m.causeCode !== 0 ? `, cause code ${m.causeCode}` : ""}`,
        m.resultCode,
        m.errorCode,
        m.causeCode,
      );
      return;
    }
    c.peerCallId = m.callId;
    c.peerKnown = true;
    c.peerReceiveWindow = m.packetRecvWindowSize;
    c.peerProcessingDelay = m.packetProcessingDelay;
    c.connectSpeed = m.connectSpeed;
    c.state = "established";
    c.deadline = undefined;
    this.host.emit({ type: "call-connected", call: callInfo(c) });
  }

  onIncomingCallRequest(m: Msg<"ICRQ">): void {
    if (this.peerCallIdInUse(m.callId)) {
      this.host.send({
        type: "ICRP",
        callId: 0,
        peerCallId: m.callId,
        resultCode: IncomingCallResult.GeneralError,
        errorCode: GeneralError.BadCallId,
        packetRecvWindowSize: 0,
        packetTransmitDelay: 0,
      });
      this.host.warn(`Incoming-Call-Request reuses the peer's Call ID ${m.callId} of a live call; refused with General Error 5 (Bad-Call ID)`);
      return;
    }
    this.calls.addRequest({
      direction: "incoming",
      peerCallId: m.callId,
      callSerialNumber: m.callSerialNumber,
      peerReceiveWindow: 0,
      peerProcessingDelay: 0,
      requestedSpeed: 0,
      framingType: 0,
    });
    this.host.emit({
      type: "incoming-call-request",
      peerCallId: m.callId,
      callSerialNumber: m.callSerialNumber,
      callBearerType: m.callBearerType,
      physicalChannelId: m.physicalChannelId,
      dialedNumber: m.dialedNumber,
      dialingNumber: m.dialingNumber,
      subaddress: m.subaddress,
    });
  }

  onIncomingCallReply(m: Msg<"ICRP">): void {
    const c = this.calls.get(m.peerCallId);
    if (c === undefined || c.direction !== "incoming" || c.side !== "pac" || c.state !== "wait-reply") {
      this.host.warn(`Incoming-Call-Reply for Call ID ${m.peerCallId}, which is not waiting for one, ignored`);
      return;
    }
    if (m.resultCode !== IncomingCallResult.Connect) {
      this.calls.remove(c.callId);
      c.peerCallId = m.callId;
      this.failCall(c, `Incoming call refused by peer: ${describeResult(INCOMING_CALL_RESULT_TEXT, m.resultCode, m.errorCode)}`, m.resultCode, m.errorCode, 0);
      return;
    }
    c.peerCallId = m.callId;
    c.peerKnown = true;
    c.peerReceiveWindow = m.packetRecvWindowSize;
    c.peerProcessingDelay = m.packetTransmitDelay;
    // RFC 2637 §3.2.3.1: the PAC answers the call and confirms with Incoming-Call-Connected.
    this.host.send({
      type: "ICCN",
      peerCallId: m.callId,
      connectSpeed: c.connectSpeed,
      packetRecvWindowSize: c.receiveWindow,
      packetTransmitDelay: c.processingDelay,
      framingType: c.framingType,
    });
    c.state = "established";
    c.deadline = undefined;
    this.host.emit({ type: "call-connected", call: callInfo(c) });
  }

  onIncomingCallConnected(m: Msg<"ICCN">): void {
    const c = this.calls.get(m.peerCallId);
    if (c === undefined || c.direction !== "incoming" || c.side !== "pns" || c.state !== "wait-connect") {
      this.host.warn(`Incoming-Call-Connected for Call ID ${m.peerCallId}, which is not waiting for one, ignored`);
      return;
    }
    c.peerReceiveWindow = m.packetRecvWindowSize;
    c.peerProcessingDelay = m.packetTransmitDelay;
    c.connectSpeed = m.connectSpeed;
    c.framingType = m.framingType;
    c.state = "established";
    c.deadline = undefined;
    this.host.emit({ type: "call-connected", call: callInfo(c) });
  }

  onCallClearRequest(m: Msg<"CCRQ">): void {
    // The Call ID in a CCRQ is the sender's own (RFC 2637 §2.12), i.e. our peer Call ID.
    const c = this.calls.byPeer(m.callId);
    if (c !== undefined) {
      this.host.send({
        type: "CDN",
        callId: c.callId,
        resultCode: DisconnectResult.Request,
        errorCode: GeneralError.None,
        causeCode: 0,
        callStatistics: "",
      });
      this.calls.remove(c.callId);
      const why = "Call cleared by peer (Call-Clear-Request)";
      if (c.state === "established" || c.state === "wait-disconnect") this.clearedCall(c, true, why, DisconnectResult.Request, 0, 0, "");
      else this.failCall(c, why, DisconnectResult.Request, 0, 0);
      return;
    }
    const req = this.calls.takeRequest(m.callId);
    if (req !== undefined) {
      // Withdrawn before the owner answered; we never gave it a Call ID, so the notify carries 0.
      this.host.send({ type: "CDN", callId: 0, resultCode: DisconnectResult.Request, errorCode: GeneralError.None, causeCode: 0, callStatistics: "" });
      this.host.emit({
        type: "call-failed",
        callId: undefined,
        peerCallId: req.peerCallId,
        direction: req.direction,
        reason: "Peer withdrew its call request before we answered (Call-Clear-Request)",
        resultCode: DisconnectResult.Request,
        errorCode: 0,
        causeCode: 0,
      });
      return;
    }
    this.host.warn(`Call-Clear-Request for unknown peer Call ID ${m.callId} ignored`);
  }

  onCallDisconnectNotify(m: Msg<"CDN">): void {
    // The Call ID in a CDN is the sender's own (RFC 2637 §2.13), i.e. our peer Call ID.
    const c = this.calls.byPeer(m.callId);
    if (c === undefined) {
      this.host.warn(`Call-Disconnect-Notify for unknown peer Call ID ${m.callId} ignored (${describeResult(DISCONNECT_RESULT_TEXT, m.resultCode, m.errorCode)})`);
      return;
    }
    this.calls.remove(c.callId);
    const what = describeResult(DISCONNECT_RESULT_TEXT, m.resultCode, m.errorCode) + (m.causeCode !== 0 ? `, cause code ${m.causeCode}` : "");
    if (c.state === "wait-disconnect") {
      this.clearedCall(c, false, `Call cleared by us; peer confirmed: ${what}`, m.resultCode, m.errorCode, m.causeCode, m.callStatistics);
    } else if (c.state === "established") {
      this.clearedCall(c, true, `Call disconnected by peer: ${what}`, m.resultCode, m.errorCode, m.causeCode, m.callStatistics);
    } else {
      this.failCall(c, `Call failed before it was connected: ${what}`, m.resultCode, m.errorCode, m.causeCode);
    }
  }


  private callTimedOut(now: number, c: Call): void {
    const waited =
      c.state === "wait-reply"
        ? c.direction === "outgoing"
          ? "Outgoing-Call-Reply"
          : "Incoming-Call-Reply"
        : c.state === "wait-connect"
          ? "Incoming-Call-Connected"
          : "Call-Disconnect-Notify";
    const why = `Call timeout: no ${waited} for Call ID ${c.callId} within ${seconds(this.callReplyTimeout)}`;
    this.calls.remove(c.callId);
    if (c.state === "wait-disconnect") this.clearedCall(c, false, why, 0, 0, 0, "");
    else this.failCall(c, why, 0, 0, 0);
    // RFC 2637 §3.2.1: a call stuck in a transition means the whole control connection is suspect.
    this.host.stopConnection(now, `${why}; closing the control connection (RFC 2637 §3.2.1)`);
  }


  private nextSerial(): number {
    this.serial = (this.serial + 1) & 0xffff;
    return this.serial;
  }

  private pickCallId(what: string, wanted: number | undefined): Result<number> {
    if (!this.host.isEstablished()) {
      return err("not-established", `${what}: the control connection is not established`);
    }
    if (wanted !== undefined) {
      if (!Number.isInteger(wanted) || wanted < 0 || wanted > 0xffff) {
        return err("bad-call-id", `${what}: Call ID ${wanted} is not a 16-bit value`);
      }
      if (this.calls.has(wanted)) return err("call-id-in-use", `${what}: Call ID ${wanted} is already in use on this connection`);
      return ok(wanted);
    }
    const id = this.calls.allocate();
    if (id === undefined) return err("no-call-id", `${what}: all 65536 Call IDs are in use`);
    return ok(id);
  }


  dropAllCalls(reason: string): void {
    for (const c of this.calls.all()) {
      this.calls.remove(c.callId);
      if (c.state === "established" || c.state === "wait-disconnect") this.clearedCall(c, false, reason, 0, 0, 0, "");
      else this.failCall(c, reason, 0, 0, 0);
    }
    for (const r of this.calls.allRequests()) {
      this.host.emit({
        type: "call-failed",
        callId: undefined,
        peerCallId: r.peerCallId,
        direction: r.direction,
        reason,
        resultCode: 0,
        errorCode: 0,
        causeCode: 0,
      });
    }
    this.calls.clearRequests();
  }

  private failCall(c: Call, reason: string, resultCode: number, errorCode: number, causeCode: number): void {
    this.host.emit({
      type: "call-failed",
      callId: c.callId,
      peerCallId: c.peerCallId,
      direction: c.direction,
      reason,
      resultCode,
      errorCode,
      causeCode,
    });
  }

  private clearedCall(
    c: Call,
    byPeer: boolean,
    reason: string,
    resultCode: number,
    errorCode: number,
    causeCode: number,
    callStatistics: string,
  ): void {
    this.host.emit({
      type: "call-cleared",
      callId: c.callId,
      peerCallId: c.peerCallId,
      direction: c.direction,
      byPeer,
      reason,
      resultCode,
      errorCode,
      causeCode,
      callStatistics,
    });
  }
}
