/**
 * What the control connection engine (control.ts) reports to its owner through pollEvent().
 * Every event that ends something carries a `reason` in plain words, fit for a log line, naming
 * the RFC 2637 result/error codes where the peer sent some.
 */
import type { ControlMessage, StartControlConnectionRequest } from "../wire/pptp-control.js";
import type { WanErrorCounters } from "./control-types.js";

/** The peer as it described itself in its Start-Control-Connection-Request/Reply (RFC 2637 §2.1/§2.2). */
export type PeerInfo = Omit<StartControlConnectionRequest, "type">;

/** "outgoing": set up with Outgoing-Call-Request/Reply; "incoming": with Incoming-Call-Request/Reply/Connected. */
export type CallDirection = "outgoing" | "incoming";

/**
 * Which end of the call we are in RFC 2637 terms: the PNS places outgoing calls and answers incoming
 * ones; the PAC does the opposite. It decides who clears a call with Call-Clear-Request (the PNS)
 * and who reports it with Call-Disconnect-Notify (the PAC).
 */
export type CallSide = "pns" | "pac";

export type CallState =
  /** We sent OCRQ or ICRQ and wait for OCRP / ICRP. */
  | "wait-reply"
  /** The peer sent OCRQ or ICRQ; the owner must answer (answerOutgoingCall / answerIncomingCall). */
  | "wait-answer"
  /** We accepted an ICRQ with ICRP and wait for ICCN (RFC 2637 §3.2.3.2 wait_connect). */
  | "wait-connect"
  | "established"
  /** We sent CCRQ and wait for CDN (RFC 2637 §3.2.3.2, §3.2.4.2 wait_disconnect). */
  | "wait-disconnect";

/** A call as the owner sees it. Everything a GRE channel needs is here once it is established. */
export interface CallInfo {
  /** Our Call ID (the one the peer puts in GRE packets to us). */
  readonly callId: number;
  /** The peer's Call ID (the one we put in GRE packets); 0 until the peer told us. */
  readonly peerCallId: number;
  readonly direction: CallDirection;
  readonly side: CallSide;
  readonly state: CallState;
  readonly callSerialNumber: number;
  /** The peer's Packet Recv. Window Size: how many unacknowledged GRE packets we may send. */
  readonly peerReceiveWindow: number;
  /** The peer's Packet Processing (Transmit) Delay, in 1/10 s. */
  readonly peerProcessingDelay: number;
  /** The window we advertised. */
  readonly receiveWindow: number;
  /** Connect Speed reported for the call (bits/s), 0 if none. */
  readonly connectSpeed: number;
  /** Framing Type of the call (1 async, 2 sync, 3 either). */
  readonly framingType: number;
}

export interface StartRequestEvent {
  readonly type: "start-request";
  readonly peer: PeerInfo;
}

export interface EstablishedEvent {
  readonly type: "established";
  readonly peer: PeerInfo;
  /** The version both sides now use. */
  readonly protocolVersion: number;
}

export interface OutgoingCallRequestEvent {
  readonly type: "outgoing-call-request";
  readonly peerCallId: number;
  readonly callSerialNumber: number;
  readonly minimumBps: number;
  readonly maximumBps: number;
  readonly bearerType: number;
  readonly framingType: number;
  readonly packetRecvWindowSize: number;
  readonly packetProcessingDelay: number;
  readonly phoneNumber: string;
  readonly subaddress: string;
}

export interface IncomingCallRequestEvent {
  readonly type: "incoming-call-request";
  readonly peerCallId: number;
  readonly callSerialNumber: number;
  readonly callBearerType: number;
  readonly physicalChannelId: number;
  readonly dialedNumber: string;
  readonly dialingNumber: string;
  readonly subaddress: string;
}

export interface CallConnectedEvent {
  readonly type: "call-connected";
  readonly call: CallInfo;
}

/**
 * A call that never got established: refused, timed out, abandoned, or a request of the peer that
 * it withdrew (or that died with the connection) before the owner answered — then `callId` is
 * undefined because we had not assigned one.
 */
export interface CallFailedEvent {
  readonly type: "call-failed";
  readonly callId: number | undefined;
  readonly peerCallId: number;
  readonly direction: CallDirection;
  readonly reason: string;
  readonly resultCode: number;
  readonly errorCode: number;
  readonly causeCode: number;
}

/** An established (or establishing) call is gone. */
export interface CallClearedEvent {
  readonly type: "call-cleared";
  readonly callId: number;
  readonly peerCallId: number;
  readonly direction: CallDirection;
  /** True when the peer ended it (its CDN or CCRQ), false when we did or the connection went down. */
  readonly byPeer: boolean;
  readonly reason: string;
  readonly resultCode: number;
  readonly errorCode: number;
  readonly causeCode: number;
  readonly callStatistics: string;
}

/** Set-Link-Info (RFC 2637 §2.15): the PPP ACCMs the PNS negotiated, for the PAC's framing. */
export interface SetLinkInfoEvent {
  readonly type: "set-link-info";
  readonly callId: number;
  readonly sendAccm: number;
  readonly receiveAccm: number;
}

/** WAN-Error-Notify (RFC 2637 §2.14): cumulative error counters of a call. */
export interface WanErrorEvent extends WanErrorCounters {
  readonly type: "wan-error";
  readonly callId: number;
}

/** Something odd but harmless was ignored (a reply for an unknown call, an unexpected message...). */
export interface WarningEvent {
  readonly type: "warning";
  readonly reason: string;
}

/** The peer sent something malformed; the engine is closing the connection (a `closed` follows). */
export interface ProtocolErrorEvent {
  readonly type: "protocol-error";
  /** The wire error code ("bad-magic", "bad-length", ...). */
  readonly code: string;
  readonly reason: string;
}

/**
 * The control connection is over: write out whatever pollTransmit() still returns, then close
 * the TCP connection. All calls were cleared (each got a call-cleared or call-failed event).
 */
export interface ClosedEvent {
  readonly type: "closed";
  readonly reason: string;
  readonly byPeer: boolean;
  readonly kind: ControlCloseKind;
}

/**
 * Why a control connection ended, for what is recorded about its calls (accounting's Acct-Terminate-Cause):
 * the peer's Stop-Control-Connection-Request (or its refusal of ours), TCP gone without one, keepalive failure,
 * a malformed or unsupported message, or our own decision.
 */
export type ControlCloseKind = "peer-stop" | "transport-closed" | "keepalive" | "protocol-error" | "local";

/** A control message went out or came in, for the `packets` log (src/pptp/describe.ts). */
export interface MessageEvent {
  readonly type: "message";
  readonly direction: "rcvd" | "sent";
  readonly message: ControlMessage;
}

export type ControlEvent =
  | MessageEvent
  | StartRequestEvent
  | EstablishedEvent
  | OutgoingCallRequestEvent
  | IncomingCallRequestEvent
  | CallConnectedEvent
  | CallFailedEvent
  | CallClearedEvent
  | SetLinkInfoEvent
  | WanErrorEvent
  | WarningEvent
  | ProtocolErrorEvent
  | ClosedEvent;
