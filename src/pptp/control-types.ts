/**
 * The vocabulary of the control connection engine: its states, options, and the parameters and
 * answers of its commands, with the RFC 2637 codes each named choice stands for.
 */
import type { ControlMessage, ParseOptions, WanErrorNotify } from "../wire/pptp-control.js";
import {
  DisconnectResult,
  GeneralError,
  IncomingCallResult,
  OutgoingCallResult,
  StartResult,
  StopReason,
} from "../wire/pptp-control.js";

/** A control message record of one kind, e.g. Msg<"OCRQ">. */
export type Msg<K extends ControlMessage["type"]> = Extract<ControlMessage, { type: K }>;

export type ControlRole = "server" | "client";

export type ControlState =
  /** Created; start() not called yet. */
  | "idle"
  /** Receiver: TCP is up, waiting for the peer's Start-Control-Connection-Request. */
  | "wait-ctl-request"
  /** Receiver with autoAcceptStart off: the owner must call answerStart(). */
  | "wait-ctl-answer"
  /** Originator: SCCRQ sent, waiting for the reply (RFC 2637 §3.1.1 wait_ctl_reply). */
  | "wait-ctl-reply"
  | "established"
  /** We sent Stop-Control-Connection-Request (RFC 2637 §3.1.1 wait_stop_reply). */
  | "wait-stop-reply"
  | "closed";

export type GeneralErrorName = "none" | "not-connected" | "bad-format" | "bad-value" | "no-resource" | "bad-call-id" | "pac-error";
export type StartRefusal = "general-error" | "already-exists" | "not-authorized" | "unsupported-version";
export type OutgoingCallRefusal = "general-error" | "no-carrier" | "busy" | "no-dial-tone" | "time-out" | "do-not-accept";
export type IncomingCallRefusal = "general-error" | "do-not-accept";
export type StopReasonName = "none" | "stop-protocol" | "local-shutdown";
export type DisconnectReasonName = "lost-carrier" | "general-error" | "admin-shutdown";

export interface ControlConnectionOptions {
  readonly role: ControlRole;
  /** Send SCCRQ when started (we opened the TCP connection). Default: true for a client. */
  readonly originate?: boolean;
  readonly hostName?: string;
  readonly vendorString?: string;
  readonly firmwareRevision?: number;
  readonly framingCapabilities?: number;
  readonly bearerCapabilities?: number;
  /** Maximum Channels we advertise (a PNS sends 0, RFC 2637 §2.1). */
  readonly maximumChannels?: number;
  /** Answer a valid SCCRQ at once (default), or report `start-request` and wait for answerStart(). */
  readonly autoAcceptStart?: boolean;
  /** RFC 2637 §3: how long any reply may take. Default 60000 ms. */
  readonly replyTimeoutMs?: number;
  /** How long a call may wait for OCRP/ICRP/ICCN/CDN (RFC 2637 §3.2.1). Default: replyTimeoutMs. */
  readonly callReplyTimeoutMs?: number;
  /** Idle time before an Echo-Request (RFC 2637 §3.1.4). Default 60000 ms; 0 disables keepalives. */
  readonly keepaliveIntervalMs?: number;
  /** How long to wait for the Echo-Reply. Default 60000 ms. */
  readonly keepaliveTimeoutMs?: number;
  /** Further Echo-Requests sent after an unanswered one before giving up. Default 0. */
  readonly keepaliveRetries?: number;
  /**
   * Leave the keepalive to a peer that sends its own Echo-Requests: ours waits a tenth of an interval longer after
   * one of its (control.ts, "Timers"). Default: true in the server role, false in the client role.
   */
  readonly keepaliveYieldToPeer?: boolean;
  /** Packet Recv. Window Size we advertise on calls unless a call says otherwise. Default 64. */
  readonly receiveWindow?: number;
  /** First Call ID the allocator hands out. Default 1. */
  readonly firstCallId?: number;
  readonly parse?: ParseOptions;
}

export interface OutgoingCallParams {
  /** Our Call ID; allocated when omitted. */
  readonly callId?: number;
  readonly callSerialNumber?: number;
  readonly minimumBps?: number;
  readonly maximumBps?: number;
  readonly bearerType?: number;
  readonly framingType?: number;
  readonly packetRecvWindowSize?: number;
  readonly packetProcessingDelay?: number;
  readonly phoneNumber?: string;
  readonly subaddress?: string;
}

export type OutgoingCallAnswer =
  | {
      readonly accept: true;
      readonly callId?: number;
      readonly connectSpeed?: number;
      readonly packetRecvWindowSize?: number;
      readonly packetProcessingDelay?: number;
      readonly physicalChannelId?: number;
    }
  | {
      readonly accept: false;
      readonly result: OutgoingCallRefusal;
      readonly error?: GeneralErrorName;
      readonly causeCode?: number;
    };

export interface IncomingCallParams {
  readonly callId?: number;
  readonly callSerialNumber?: number;
  readonly callBearerType?: number;
  readonly physicalChannelId?: number;
  readonly dialedNumber?: string;
  readonly dialingNumber?: string;
  readonly subaddress?: string;
  /** Sent later in the Incoming-Call-Connected. */
  readonly packetRecvWindowSize?: number;
  readonly packetTransmitDelay?: number;
  readonly connectSpeed?: number;
  readonly framingType?: number;
}

export type IncomingCallAnswer =
  | {
      readonly accept: true;
      readonly callId?: number;
      readonly packetRecvWindowSize?: number;
      readonly packetTransmitDelay?: number;
    }
  | {
      readonly accept: false;
      readonly result: IncomingCallRefusal;
      readonly error?: GeneralErrorName;
    };

export type StartAnswer =
  | { readonly accept: true }
  | { readonly accept: false; readonly result: StartRefusal; readonly error?: GeneralErrorName };

export interface ClearCallOptions {
  /** Result Code of the Call-Disconnect-Notify when we are the PAC. Default "admin-shutdown". */
  readonly result?: DisconnectReasonName;
  readonly error?: GeneralErrorName;
  readonly causeCode?: number;
  readonly callStatistics?: string;
}

/** The six cumulative counters of a WAN-Error-Notify (RFC 2637 §2.14). */
export type WanErrorCounters = Omit<WanErrorNotify, "type" | "peerCallId">;

export const GENERAL_ERROR_CODE: Record<GeneralErrorName, number> = {
  none: GeneralError.None,
  "not-connected": GeneralError.NotConnected,
  "bad-format": GeneralError.BadFormat,
  "bad-value": GeneralError.BadValue,
  "no-resource": GeneralError.NoResource,
  "bad-call-id": GeneralError.BadCallId,
  "pac-error": GeneralError.PacError,
};
export const START_REFUSAL_CODE: Record<StartRefusal, number> = {
  "general-error": StartResult.GeneralError,
  "already-exists": StartResult.AlreadyExists,
  "not-authorized": StartResult.NotAuthorized,
  "unsupported-version": StartResult.UnsupportedVersion,
};
export const OUTGOING_REFUSAL_CODE: Record<OutgoingCallRefusal, number> = {
  "general-error": OutgoingCallResult.GeneralError,
  "no-carrier": OutgoingCallResult.NoCarrier,
  busy: OutgoingCallResult.Busy,
  "no-dial-tone": OutgoingCallResult.NoDialTone,
  "time-out": OutgoingCallResult.TimeOut,
  "do-not-accept": OutgoingCallResult.DoNotAccept,
};
export const INCOMING_REFUSAL_CODE: Record<IncomingCallRefusal, number> = {
  "general-error": IncomingCallResult.GeneralError,
  "do-not-accept": IncomingCallResult.DoNotAccept,
};
export const STOP_REASON_CODE: Record<StopReasonName, number> = {
  none: StopReason.None,
  "stop-protocol": StopReason.StopProtocol,
  "local-shutdown": StopReason.StopLocalShutdown,
};
export const DISCONNECT_CODE: Record<DisconnectReasonName, number> = {
  "lost-carrier": DisconnectResult.LostCarrier,
  "general-error": DisconnectResult.GeneralError,
  "admin-shutdown": DisconnectResult.AdminShutdown,
};


/** "60 s" */
export function seconds(ms: number): string {
  return `${ms / 1000} s`;
}
