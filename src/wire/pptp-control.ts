/**
 * PPTP control messages (RFC 2637 §2): the 15 messages carried on the TCP control connection
 * (port 1723), as typed records, plus a framer for the TCP byte stream.
 *
 * Every message starts with the same 12 octets (RFC 2637 §1.4, §2.1):
 *
 *   Length (2) | PPTP Message Type = 1 (2) | Magic Cookie 0x1A2B3C4D (4) | Control Message Type (2) | Reserved0 (2)
 *
 * and each control message type has one fixed length. The parser checks all of it (Length against the
 * buffer, message type, cookie, the exact per-type length, every Reserved field) and returns a
 * `WireError` naming the message, the field and the values seen; it never throws and never reads
 * past the buffer. The control path is not hot, so records and strings are allocated freely here.
 */
import { u16, u32, put16, put32, readFixedString, writeFixedString } from "./bytes.js";
import { type Result, ok, err } from "./result.js";

/** TCP port of the control connection (RFC 2637 §1.4). */
export const PPTP_TCP_PORT = 1723;
/** RFC 2637 §1.4: constant used to check the receiver is in sync with the TCP stream. */
export const PPTP_MAGIC_COOKIE = 0x1a2b3c4d;
/** PPTP Message Type field (RFC 2637 §1.4): 1 = Control Message, 2 = Management Message (never defined). */
export const PPTP_MESSAGE_TYPE_CONTROL = 1;
export const PPTP_MESSAGE_TYPE_MANAGEMENT = 2;
/** Protocol Version 1, revision 0 (RFC 2637 §2.1: "0x0100" as printed by every implementation). */
export const PPTP_PROTOCOL_VERSION = 0x0100;
/** Length of the part every control message shares (header + Control Message Type + Reserved0). */
export const PPTP_CONTROL_HEADER_LENGTH = 12;
/** Upper bound the stream framer accepts in a Length field; the largest RFC 2637 message (ICRQ) is 220. */
export const PPTP_MAX_CONTROL_MESSAGE_LENGTH = 1024;

/** Control Message Type codes (RFC 2637 §1.4 table). */
export const ControlMessageType = {
  StartControlConnectionRequest: 1,
  StartControlConnectionReply: 2,
  StopControlConnectionRequest: 3,
  StopControlConnectionReply: 4,
  EchoRequest: 5,
  EchoReply: 6,
  OutgoingCallRequest: 7,
  OutgoingCallReply: 8,
  IncomingCallRequest: 9,
  IncomingCallReply: 10,
  IncomingCallConnected: 11,
  CallClearRequest: 12,
  CallDisconnectNotify: 13,
  WanErrorNotify: 14,
  SetLinkInfo: 15,
} as const;

/** The discriminator of a ControlMessage record: the customary short names (Cisco debug output uses them). */
export type ControlMessageKind =
  | "SCCRQ"
  | "SCCRP"
  | "StopCCRQ"
  | "StopCCRP"
  | "EchoRQ"
  | "EchoRP"
  | "OCRQ"
  | "OCRP"
  | "ICRQ"
  | "ICRP"
  | "ICCN"
  | "CCRQ"
  | "CDN"
  | "WEN"
  | "SLI";

interface Layout {
  readonly code: number;
  readonly kind: ControlMessageKind;
  readonly name: string;
  /** Exact value of the Length field (RFC 2637 §2.x figures). */
  readonly length: number;
}

/** Indexed by Control Message Type; index 0 unused. */
const LAYOUTS: readonly (Layout | undefined)[] = [
  undefined,
  { code: 1, kind: "SCCRQ", name: "Start-Control-Connection-Request", length: 156 },
  { code: 2, kind: "SCCRP", name: "Start-Control-Connection-Reply", length: 156 },
  { code: 3, kind: "StopCCRQ", name: "Stop-Control-Connection-Request", length: 16 },
  { code: 4, kind: "StopCCRP", name: "Stop-Control-Connection-Reply", length: 16 },
  { code: 5, kind: "EchoRQ", name: "Echo-Request", length: 16 },
  { code: 6, kind: "EchoRP", name: "Echo-Reply", length: 20 },
  { code: 7, kind: "OCRQ", name: "Outgoing-Call-Request", length: 168 },
  { code: 8, kind: "OCRP", name: "Outgoing-Call-Reply", length: 32 },
  { code: 9, kind: "ICRQ", name: "Incoming-Call-Request", length: 220 },
  { code: 10, kind: "ICRP", name: "Incoming-Call-Reply", length: 24 },
  { code: 11, kind: "ICCN", name: "Incoming-Call-Connected", length: 28 },
  { code: 12, kind: "CCRQ", name: "Call-Clear-Request", length: 16 },
  { code: 13, kind: "CDN", name: "Call-Disconnect-Notify", length: 148 },
  { code: 14, kind: "WEN", name: "WAN-Error-Notify", length: 40 },
  { code: 15, kind: "SLI", name: "Set-Link-Info", length: 24 },
];

const LAYOUT_BY_KIND = new Map<ControlMessageKind, Layout>();
for (const l of LAYOUTS) if (l !== undefined) LAYOUT_BY_KIND.set(l.kind, l);

function layoutOf(kind: ControlMessageKind): Layout {
  return LAYOUT_BY_KIND.get(kind) as Layout;
}

/** RFC name of a Control Message Type code, e.g. 12 -> "Call-Clear-Request"; unknown codes are shown as numbers. */
export function controlMessageName(code: number): string {
  const l = code >= 0 && code < LAYOUTS.length ? LAYOUTS[code] : undefined;
  return l === undefined ? `unknown control message type ${code}` : l.name;
}

/** RFC name of a record kind, e.g. "OCRP" -> "Outgoing-Call-Reply". */
export function controlKindName(kind: ControlMessageKind): string {
  return layoutOf(kind).name;
}

/** Fixed Length of a message kind (e.g. "SCCRQ" -> 156). */
export function controlMessageLength(kind: ControlMessageKind): number {
  return layoutOf(kind).length;
}

// ---------------------------------------------------------------------------------------------
// Result, error and reason codes with their RFC meaning. Logs print them as `describeCode(...)`.
// ---------------------------------------------------------------------------------------------

/** A code table: value -> [short name, RFC meaning]. */
export type CodeTable = Readonly<Record<number, readonly [string, string]>>;

/** RFC 2637 §2.16 General Error Codes (the Error Code field of every reply). */
export const GeneralError = {
  None: 0,
  NotConnected: 1,
  BadFormat: 2,
  BadValue: 3,
  NoResource: 4,
  BadCallId: 5,
  PacError: 6,
} as const;
export const GENERAL_ERROR_TEXT: CodeTable = {
  0: ["None", "No general error"],
  1: ["Not-Connected", "No control connection exists yet for this PAC-PNS pair"],
  2: ["Bad-Format", "Length is wrong or Magic Cookie value is incorrect"],
  3: ["Bad-Value", "One of the field values was out of range or reserved field was non-zero"],
  4: ["No-Resource", "Insufficient resources to handle this command now"],
  5: ["Bad-Call ID", "The Call ID is invalid in this context"],
  6: ["PAC-Error", "A generic vendor-specific error occurred in the PAC"],
};

/** RFC 2637 §2.2 Start-Control-Connection-Reply Result Code. */
export const StartResult = {
  Success: 1,
  GeneralError: 2,
  AlreadyExists: 3,
  NotAuthorized: 4,
  UnsupportedVersion: 5,
} as const;
export const START_RESULT_TEXT: CodeTable = {
  1: ["Successful", "Successful channel establishment"],
  2: ["General error", "General error -- Error Code indicates the problem"],
  3: ["Already exists", "Command channel already exists"],
  4: ["Not authorized", "Requester is not authorized to establish a command channel"],
  5: ["Unsupported version", "The protocol version of the requester is not supported"],
};

/** RFC 2637 §2.3 Stop-Control-Connection-Request Reason. */
export const StopReason = {
  None: 1,
  StopProtocol: 2,
  StopLocalShutdown: 3,
} as const;
export const STOP_REASON_TEXT: CodeTable = {
  1: ["None", "General request to clear control connection"],
  2: ["Stop-Protocol", "Can't support peer's version of the protocol"],
  3: ["Stop-Local-Shutdown", "Requester is being shut down"],
};

/** RFC 2637 §2.4 Stop-Control-Connection-Reply Result Code. */
export const StopResult = { Ok: 1, GeneralError: 2 } as const;
export const STOP_RESULT_TEXT: CodeTable = {
  1: ["OK", "Control connection closed"],
  2: ["General Error", "Control connection not closed for reason indicated in Error Code"],
};

/** RFC 2637 §2.6 Echo-Reply Result Code. */
export const EchoResult = { Ok: 1, GeneralError: 2 } as const;
export const ECHO_RESULT_TEXT: CodeTable = {
  1: ["OK", "The Echo-Reply is valid"],
  2: ["General Error", "Echo-Request not accepted for the reason indicated in Error Code"],
};

/** RFC 2637 §2.8 Outgoing-Call-Reply Result Code. */
export const OutgoingCallResult = {
  Connected: 1,
  GeneralError: 2,
  NoCarrier: 3,
  Busy: 4,
  NoDialTone: 5,
  TimeOut: 6,
  DoNotAccept: 7,
} as const;
export const OUTGOING_CALL_RESULT_TEXT: CodeTable = {
  1: ["Connected", "Call established with no errors"],
  2: ["General Error", "Outgoing Call not established for the reason indicated in Error Code"],
  3: ["No Carrier", "Outgoing Call failed due to no carrier detected"],
  4: ["Busy", "Outgoing Call failed due to detection of a busy signal"],
  5: ["No Dial Tone", "Outgoing Call failed due to lack of a dial tone"],
  6: ["Time-out", "Outgoing Call was not established within time allotted by PAC"],
  7: ["Do Not Accept", "Outgoing Call administratively prohibited"],
};

/** RFC 2637 §2.10 Incoming-Call-Reply Result Code. */
export const IncomingCallResult = { Connect: 1, GeneralError: 2, DoNotAccept: 3 } as const;
export const INCOMING_CALL_RESULT_TEXT: CodeTable = {
  1: ["Connect", "The PAC should answer the incoming call"],
  2: ["General Error", "The Incoming Call should not be established due to the reason indicated in Error Code"],
  3: ["Do Not Accept", "The PAC should not accept the incoming call"],
};

/** RFC 2637 §2.13 Call-Disconnect-Notify Result Code. */
export const DisconnectResult = { LostCarrier: 1, GeneralError: 2, AdminShutdown: 3, Request: 4 } as const;
export const DISCONNECT_RESULT_TEXT: CodeTable = {
  1: ["Lost Carrier", "Call disconnected due to loss of carrier"],
  2: ["General Error", "Call disconnected for the reason indicated in Error Code"],
  3: ["Admin Shutdown", "Call disconnected for administrative reasons"],
  4: ["Request", "Call disconnected due to received Call-Clear-Request"],
};

/** Framing capability/type bits (RFC 2637 §2.1, §2.7): 1 async, 2 sync, 3 either. */
export const Framing = { Async: 1, Sync: 2, Either: 3 } as const;
/** Bearer capability/type bits (RFC 2637 §2.1, §2.7): 1 analog, 2 digital, 3 either. */
export const Bearer = { Analog: 1, Digital: 2, Either: 3 } as const;

/** "4 (Busy: Outgoing Call failed due to detection of a busy signal)"; unknown codes say so. */
export function describeCode(table: CodeTable, code: number): string {
  const t = table[code];
  return t === undefined ? `${code} (unknown code)` : `${code} (${t[0]}: ${t[1]})`;
}

/**
 * A Result Code and its Error Code in words, e.g. "2 (General Error: ...), error 4 (No-Resource: ...)".
 * The Error Code is only meaningful with a General Error result (RFC 2637 §2.2) but is shown whenever non-zero.
 */
export function describeResult(table: CodeTable, resultCode: number, errorCode: number): string {
  const r = describeCode(table, resultCode);
  return errorCode === 0 ? r : `${r}, error ${describeCode(GENERAL_ERROR_TEXT, errorCode)}`;
}

// ---------------------------------------------------------------------------------------------
// Records. Field names follow the RFC 2637 §2 figures, in camelCase.
// ---------------------------------------------------------------------------------------------

/** RFC 2637 §2.1 */
export interface StartControlConnectionRequest {
  readonly type: "SCCRQ";
  readonly protocolVersion: number;
  readonly framingCapabilities: number;
  readonly bearerCapabilities: number;
  readonly maximumChannels: number;
  readonly firmwareRevision: number;
  readonly hostName: string;
  readonly vendorString: string;
}

/** RFC 2637 §2.2 */
export interface StartControlConnectionReply {
  readonly type: "SCCRP";
  readonly protocolVersion: number;
  readonly resultCode: number;
  readonly errorCode: number;
  readonly framingCapabilities: number;
  readonly bearerCapabilities: number;
  readonly maximumChannels: number;
  readonly firmwareRevision: number;
  readonly hostName: string;
  readonly vendorString: string;
}

/** RFC 2637 §2.3 */
export interface StopControlConnectionRequest {
  readonly type: "StopCCRQ";
  readonly reason: number;
}

/** RFC 2637 §2.4 */
export interface StopControlConnectionReply {
  readonly type: "StopCCRP";
  readonly resultCode: number;
  readonly errorCode: number;
}

/** RFC 2637 §2.5 */
export interface EchoRequest {
  readonly type: "EchoRQ";
  readonly identifier: number;
}

/** RFC 2637 §2.6 */
export interface EchoReply {
  readonly type: "EchoRP";
  readonly identifier: number;
  readonly resultCode: number;
  readonly errorCode: number;
}

/** RFC 2637 §2.7 */
export interface OutgoingCallRequest {
  readonly type: "OCRQ";
  readonly callId: number;
  readonly callSerialNumber: number;
  readonly minimumBps: number;
  readonly maximumBps: number;
  readonly bearerType: number;
  readonly framingType: number;
  readonly packetRecvWindowSize: number;
  /** In units of 1/10 second (RFC 2637 §2.7, §4.4). */
  readonly packetProcessingDelay: number;
  readonly phoneNumberLength: number;
  readonly phoneNumber: string;
  readonly subaddress: string;
}

/** RFC 2637 §2.8 */
export interface OutgoingCallReply {
  readonly type: "OCRP";
  readonly callId: number;
  readonly peerCallId: number;
  readonly resultCode: number;
  readonly errorCode: number;
  readonly causeCode: number;
  readonly connectSpeed: number;
  readonly packetRecvWindowSize: number;
  readonly packetProcessingDelay: number;
  readonly physicalChannelId: number;
}

/** RFC 2637 §2.9 */
export interface IncomingCallRequest {
  readonly type: "ICRQ";
  readonly callId: number;
  readonly callSerialNumber: number;
  readonly callBearerType: number;
  readonly physicalChannelId: number;
  readonly dialedNumberLength: number;
  readonly dialingNumberLength: number;
  readonly dialedNumber: string;
  readonly dialingNumber: string;
  readonly subaddress: string;
}

/** RFC 2637 §2.10 */
export interface IncomingCallReply {
  readonly type: "ICRP";
  readonly callId: number;
  readonly peerCallId: number;
  readonly resultCode: number;
  readonly errorCode: number;
  readonly packetRecvWindowSize: number;
  readonly packetTransmitDelay: number;
}

/** RFC 2637 §2.11 */
export interface IncomingCallConnected {
  readonly type: "ICCN";
  readonly peerCallId: number;
  readonly connectSpeed: number;
  readonly packetRecvWindowSize: number;
  readonly packetTransmitDelay: number;
  readonly framingType: number;
}

/** RFC 2637 §2.12 */
export interface CallClearRequest {
  readonly type: "CCRQ";
  readonly callId: number;
}

/** RFC 2637 §2.13 */
export interface CallDisconnectNotify {
  readonly type: "CDN";
  readonly callId: number;
  readonly resultCode: number;
  readonly errorCode: number;
  readonly causeCode: number;
  /** Vendor-specific ASCII statistics, up to 128 octets. */
  readonly callStatistics: string;
}

/** RFC 2637 §2.14 */
export interface WanErrorNotify {
  readonly type: "WEN";
  readonly peerCallId: number;
  readonly crcErrors: number;
  readonly framingErrors: number;
  readonly hardwareOverruns: number;
  readonly bufferOverruns: number;
  readonly timeoutErrors: number;
  readonly alignmentErrors: number;
}

/** RFC 2637 §2.15 */
export interface SetLinkInfo {
  readonly type: "SLI";
  readonly peerCallId: number;
  readonly sendAccm: number;
  readonly receiveAccm: number;
}

export type ControlMessage =
  | StartControlConnectionRequest
  | StartControlConnectionReply
  | StopControlConnectionRequest
  | StopControlConnectionReply
  | EchoRequest
  | EchoReply
  | OutgoingCallRequest
  | OutgoingCallReply
  | IncomingCallRequest
  | IncomingCallReply
  | IncomingCallConnected
  | CallClearRequest
  | CallDisconnectNotify
  | WanErrorNotify
  | SetLinkInfo;

// ---------------------------------------------------------------------------------------------
// Parse
// ---------------------------------------------------------------------------------------------

function hex(v: number, width: number): string {
  return "0x" + v.toString(16).padStart(width, "0");
}

/**
 * Checks the 8-octet PPTP header (Length, PPTP Message Type, Magic Cookie) of buf[0..8).
 * Shared by the parser and the stream framer, which checks it as soon as 8 octets are in so a
 * desynchronised or hostile stream is refused before anything is buffered.
 */
export function checkPptpHeader(buf: Uint8Array): Result<number> {
  if (buf.length < 8) {
    return err("short", `PPTP header needs 8 octets (Length, PPTP Message Type, Magic Cookie), got ${buf.length}`);
  }
  const length = u16(buf, 0);
  if (length < PPTP_CONTROL_HEADER_LENGTH || length > PPTP_MAX_CONTROL_MESSAGE_LENGTH) {
    return err(
      "bad-length",
      `PPTP Length field is ${length}; a control message is ${PPTP_CONTROL_HEADER_LENGTH}..${PPTP_MAX_CONTROL_MESSAGE_LENGTH} octets`,
    );
  }
  const messageType = u16(buf, 2);
  if (messageType === PPTP_MESSAGE_TYPE_MANAGEMENT) {
    return err("management-message", "PPTP Message Type 2 (Management Message) is not defined by RFC 2637 §1.4 and not supported");
  }
  if (messageType !== PPTP_MESSAGE_TYPE_CONTROL) {
    return err("bad-message-type", `PPTP Message Type is ${messageType}, expected 1 (Control Message)`);
  }
  const cookie = u32(buf, 4);
  if (cookie !== PPTP_MAGIC_COOKIE) {
    return err("bad-magic", `PPTP Magic Cookie is ${hex(cookie, 8)}, expected 0x1a2b3c4d (stream out of sync, RFC 2637 §1.4)`);
  }
  return ok(length);
}

/** Echo-Request is 16 octets (RFC 2637 §2.16), Echo-Reply 20 (§2.17). */
export const ECHO_REQUEST_LENGTH = 16;
export const ECHO_REPLY_LENGTH = 20;

/**
 * The Identifier of the well-formed Echo-Request at buf[off .. off + 16), read in place, or -1 when those octets
 * are anything else — another message, a malformed or truncated one, a non-zero Reserved0 (which
 * parseControlMessage refuses by default) — for the caller to hand to the general parser. The keepalive is the
 * one message an idle connection receives every minute: answered without building a record (issue 11).
 */
export function peekEchoRequest(buf: Uint8Array, off: number): number {
  if (off < 0 || buf.length - off < ECHO_REQUEST_LENGTH) return -1;
  if (u16(buf, off) !== ECHO_REQUEST_LENGTH || u16(buf, off + 2) !== PPTP_MESSAGE_TYPE_CONTROL) return -1;
  if (u32(buf, off + 4) !== PPTP_MAGIC_COOKIE || u16(buf, off + 8) !== ControlMessageType.EchoRequest) return -1;
  if (u16(buf, off + 10) !== 0) return -1;
  return u32(buf, off + 12);
}

/** Writes an Echo-Reply (RFC 2637 §2.17) at out[off .. off + 20), as emitControlMessage would. */
export function writeEchoReply(out: Uint8Array, off: number, identifier: number, resultCode: number, errorCode: number): void {
  put16(out, off, ECHO_REPLY_LENGTH);
  put16(out, off + 2, PPTP_MESSAGE_TYPE_CONTROL);
  put32(out, off + 4, PPTP_MAGIC_COOKIE);
  put16(out, off + 8, ControlMessageType.EchoReply);
  put16(out, off + 10, 0);
  put32(out, off + 12, identifier);
  out[off + 16] = resultCode;
  out[off + 17] = errorCode;
  put16(out, off + 18, 0);
}

/** Reads the fields of one message whose header and length are already validated. */
class FieldReader {
  /** First non-zero reserved field seen, reported after the record is read. */
  reservedError: string | undefined;

  constructor(
    private readonly b: Uint8Array,
    private readonly name: string,
  ) {}

  u8(off: number): number {
    return this.b[off];
  }
  u16(off: number): number {
    return u16(this.b, off);
  }
  u32(off: number): number {
    return u32(this.b, off);
  }
  str(off: number, len: number): string {
    return readFixedString(this.b, off, len);
  }
  /** RFC 2637 §2: "Reserved ... This field MUST be 0". */
  reserved(off: number, width: 1 | 2, field: string): void {
    const v = width === 1 ? this.b[off] : u16(this.b, off);
    if (v !== 0 && this.reservedError === undefined) {
      this.reservedError = `${this.name}: ${field} must be 0, saw ${hex(v, width * 2)} at offset ${off}`;
    }
  }
}

export interface ParseOptions {
  /**
   * Accept non-zero Reserved fields instead of rejecting the message. RFC 2637 says they MUST be 0
   * and General Error 3 (Bad-Value) covers the case, so the default is strict; this exists for
   * talking to a peer known to leave garbage there.
   */
  readonly allowNonZeroReserved?: boolean;
}

/**
 * Decodes exactly one control message: `buf` must hold the whole message and nothing else
 * (the stream framer hands over exact slices).
 */
export function parseControlMessage(buf: Uint8Array, options: ParseOptions = {}): Result<ControlMessage> {
  if (buf.length < PPTP_CONTROL_HEADER_LENGTH) {
    return err("short", `PPTP control message truncated: ${buf.length} octets, the common header alone is ${PPTP_CONTROL_HEADER_LENGTH}`);
  }
  const header = checkPptpHeader(buf);
  if (!header.ok) return header;
  const length = header.value;
  if (buf.length < length) {
    return err("short", `PPTP control message truncated: Length field says ${length} octets, buffer holds ${buf.length}`);
  }
  if (buf.length > length) {
    return err("trailing-bytes", `PPTP control message: Length field says ${length} octets, buffer holds ${buf.length} (${buf.length - length} extra)`);
  }
  const code = u16(buf, 8);
  const layout = code < LAYOUTS.length ? LAYOUTS[code] : undefined;
  if (layout === undefined) {
    return err("unknown-control-type", `PPTP Control Message Type ${code} is not one of the 15 defined by RFC 2637 (1..15); Length ${length}`);
  }
  if (length !== layout.length) {
    return err(
      "bad-length",
      `${layout.name} (type ${code}) must be ${layout.length} octets, Length field says ${length}`,
    );
  }
  const r = new FieldReader(buf, layout.name);
  r.reserved(10, 2, "Reserved0");
  const msg = readBody(layout.kind, r);
  if (r.reservedError !== undefined && options.allowNonZeroReserved !== true) {
    return err("bad-reserved", r.reservedError);
  }
  return ok(msg);
}

function readBody(kind: ControlMessageKind, r: FieldReader): ControlMessage {
  switch (kind) {
    case "SCCRQ":
      r.reserved(14, 2, "Reserved1");
      return {
        type: "SCCRQ",
        protocolVersion: r.u16(12),
        framingCapabilities: r.u32(16),
        bearerCapabilities: r.u32(20),
        maximumChannels: r.u16(24),
        firmwareRevision: r.u16(26),
        hostName: r.str(28, 64),
        vendorString: r.str(92, 64),
      };
    case "SCCRP":
      return {
        type: "SCCRP",
        protocolVersion: r.u16(12),
        resultCode: r.u8(14),
        errorCode: r.u8(15),
        framingCapabilities: r.u32(16),
        bearerCapabilities: r.u32(20),
        maximumChannels: r.u16(24),
        firmwareRevision: r.u16(26),
        hostName: r.str(28, 64),
        vendorString: r.str(92, 64),
      };
    case "StopCCRQ":
      r.reserved(13, 1, "Reserved1");
      r.reserved(14, 2, "Reserved2");
      return { type: "StopCCRQ", reason: r.u8(12) };
    case "StopCCRP":
      r.reserved(14, 2, "Reserved1");
      return { type: "StopCCRP", resultCode: r.u8(12), errorCode: r.u8(13) };
    case "EchoRQ":
      return { type: "EchoRQ", identifier: r.u32(12) };
    case "EchoRP":
      r.reserved(18, 2, "Reserved1");
      return { type: "EchoRP", identifier: r.u32(12), resultCode: r.u8(16), errorCode: r.u8(17) };
    case "OCRQ":
      r.reserved(38, 2, "Reserved1");
      return {
        type: "OCRQ",
        callId: r.u16(12),
        callSerialNumber: r.u16(14),
        minimumBps: r.u32(16),
        maximumBps: r.u32(20),
        bearerType: r.u32(24),
        framingType: r.u32(28),
        packetRecvWindowSize: r.u16(32),
        packetProcessingDelay: r.u16(34),
        phoneNumberLength: r.u16(36),
        phoneNumber: r.str(40, 64),
        subaddress: r.str(104, 64),
      };
    case "OCRP":
      return {
        type: "OCRP",
        callId: r.u16(12),
        peerCallId: r.u16(14),
        resultCode: r.u8(16),
        errorCode: r.u8(17),
        causeCode: r.u16(18),
        connectSpeed: r.u32(20),
        packetRecvWindowSize: r.u16(24),
        packetProcessingDelay: r.u16(26),
        physicalChannelId: r.u32(28),
      };
    case "ICRQ":
      return {
        type: "ICRQ",
        callId: r.u16(12),
        callSerialNumber: r.u16(14),
        callBearerType: r.u32(16),
        physicalChannelId: r.u32(20),
        dialedNumberLength: r.u16(24),
        dialingNumberLength: r.u16(26),
        dialedNumber: r.str(28, 64),
        dialingNumber: r.str(92, 64),
        subaddress: r.str(156, 64),
      };
    case "ICRP":
      r.reserved(22, 2, "Reserved1");
      return {
        type: "ICRP",
        callId: r.u16(12),
        peerCallId: r.u16(14),
        resultCode: r.u8(16),
        errorCode: r.u8(17),
        packetRecvWindowSize: r.u16(18),
        packetTransmitDelay: r.u16(20),
      };
    case "ICCN":
      r.reserved(14, 2, "Reserved1");
      return {
        type: "ICCN",
        peerCallId: r.u16(12),
        connectSpeed: r.u32(16),
        packetRecvWindowSize: r.u16(20),
        packetTransmitDelay: r.u16(22),
        framingType: r.u32(24),
      };
    case "CCRQ":
      r.reserved(14, 2, "Reserved1");
      return { type: "CCRQ", callId: r.u16(12) };
    case "CDN":
      r.reserved(18, 2, "Reserved1");
      return {
        type: "CDN",
        callId: r.u16(12),
        resultCode: r.u8(14),
        errorCode: r.u8(15),
        causeCode: r.u16(16),
        callStatistics: r.str(20, 128),
      };
    case "WEN":
      r.reserved(14, 2, "Reserved1");
      return {
        type: "WEN",
        peerCallId: r.u16(12),
        crcErrors: r.u32(16),
        framingErrors: r.u32(20),
        hardwareOverruns: r.u32(24),
        bufferOverruns: r.u32(28),
        timeoutErrors: r.u32(32),
        alignmentErrors: r.u32(36),
      };
    case "SLI":
      r.reserved(14, 2, "Reserved1");
      return { type: "SLI", peerCallId: r.u16(12), sendAccm: r.u32(16), receiveAccm: r.u32(20) };
  }
}

// ---------------------------------------------------------------------------------------------
// Emit
// ---------------------------------------------------------------------------------------------

/**
 * Encodes a record into a fresh buffer of the message's fixed length. Reserved fields are written
 * as 0; numeric fields are truncated to their width; strings longer than their field are cut.
 */
export function emitControlMessage(msg: ControlMessage): Uint8Array {
  const layout = layoutOf(msg.type);
  const b = new Uint8Array(layout.length);
  put16(b, 0, layout.length);
  put16(b, 2, PPTP_MESSAGE_TYPE_CONTROL);
  put32(b, 4, PPTP_MAGIC_COOKIE);
  put16(b, 8, layout.code);
  switch (msg.type) {
    case "SCCRQ":
      put16(b, 12, msg.protocolVersion);
      put32(b, 16, msg.framingCapabilities);
      put32(b, 20, msg.bearerCapabilities);
      put16(b, 24, msg.maximumChannels);
      put16(b, 26, msg.firmwareRevision);
      writeFixedString(b, 28, 64, msg.hostName);
      writeFixedString(b, 92, 64, msg.vendorString);
      break;
    case "SCCRP":
      put16(b, 12, msg.protocolVersion);
      b[14] = msg.resultCode;
      b[15] = msg.errorCode;
      put32(b, 16, msg.framingCapabilities);
      put32(b, 20, msg.bearerCapabilities);
      put16(b, 24, msg.maximumChannels);
      put16(b, 26, msg.firmwareRevision);
      writeFixedString(b, 28, 64, msg.hostName);
      writeFixedString(b, 92, 64, msg.vendorString);
      break;
    case "StopCCRQ":
      b[12] = msg.reason;
      break;
    case "StopCCRP":
      b[12] = msg.resultCode;
      b[13] = msg.errorCode;
      break;
    case "EchoRQ":
      put32(b, 12, msg.identifier);
      break;
    case "EchoRP":
      put32(b, 12, msg.identifier);
      b[16] = msg.resultCode;
      b[17] = msg.errorCode;
      break;
    case "OCRQ":
      put16(b, 12, msg.callId);
      put16(b, 14, msg.callSerialNumber);
      put32(b, 16, msg.minimumBps);
      put32(b, 20, msg.maximumBps);
      put32(b, 24, msg.bearerType);
      put32(b, 28, msg.framingType);
      put16(b, 32, msg.packetRecvWindowSize);
      put16(b, 34, msg.packetProcessingDelay);
      put16(b, 36, msg.phoneNumberLength);
      writeFixedString(b, 40, 64, msg.phoneNumber);
      writeFixedString(b, 104, 64, msg.subaddress);
      break;
    case "OCRP":
      put16(b, 12, msg.callId);
      put16(b, 14, msg.peerCallId);
      b[16] = msg.resultCode;
      b[17] = msg.errorCode;
      put16(b, 18, msg.causeCode);
      put32(b, 20, msg.connectSpeed);
      put16(b, 24, msg.packetRecvWindowSize);
      put16(b, 26, msg.packetProcessingDelay);
      put32(b, 28, msg.physicalChannelId);
      break;
    case "ICRQ":
      put16(b, 12, msg.callId);
      put16(b, 14, msg.callSerialNumber);
      put32(b, 16, msg.callBearerType);
      put32(b, 20, msg.physicalChannelId);
      put16(b, 24, msg.dialedNumberLength);
      put16(b, 26, msg.dialingNumberLength);
      writeFixedString(b, 28, 64, msg.dialedNumber);
      writeFixedString(b, 92, 64, msg.dialingNumber);
      writeFixedString(b, 156, 64, msg.subaddress);
      break;
    case "ICRP":
      put16(b, 12, msg.callId);
      put16(b, 14, msg.peerCallId);
      b[16] = msg.resultCode;
      b[17] = msg.errorCode;
      put16(b, 18, msg.packetRecvWindowSize);
      put16(b, 20, msg.packetTransmitDelay);
      break;
    case "ICCN":
      put16(b, 12, msg.peerCallId);
      put32(b, 16, msg.connectSpeed);
      put16(b, 20, msg.packetRecvWindowSize);
      put16(b, 22, msg.packetTransmitDelay);
      put32(b, 24, msg.framingType);
      break;
    case "CCRQ":
      put16(b, 12, msg.callId);
      break;
    case "CDN":
      put16(b, 12, msg.callId);
      b[14] = msg.resultCode;
      b[15] = msg.errorCode;
      put16(b, 16, msg.causeCode);
      writeFixedString(b, 20, 128, msg.callStatistics);
      break;
    case "WEN":
      put16(b, 12, msg.peerCallId);
      put32(b, 16, msg.crcErrors);
      put32(b, 20, msg.framingErrors);
      put32(b, 24, msg.hardwareOverruns);
      put32(b, 28, msg.bufferOverruns);
      put32(b, 32, msg.timeoutErrors);
      put32(b, 36, msg.alignmentErrors);
      break;
    case "SLI":
      put16(b, 12, msg.peerCallId);
      put32(b, 16, msg.sendAccm);
      put32(b, 20, msg.receiveAccm);
      break;
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// TCP stream framer
// ---------------------------------------------------------------------------------------------

export interface FramerOptions extends ParseOptions {
  /**
   * Most octets held un-consumed before the stream is refused. Only a caller that pushes without
   * draining next() can reach it; it bounds memory whatever the peer sends.
   */
  readonly maxBuffered?: number;
}

/**
 * Cuts the TCP byte stream of a control connection into messages: handles messages split across
 * reads and several messages in one read. push() every chunk, then call next() until it returns
 * undefined.
 *
 * A message that is well framed but invalid (unknown type, wrong per-type length, non-zero
 * reserved field) is returned as an error and the stream continues after it. A framing error
 * (Length out of 12..1024, wrong PPTP Message Type, wrong Magic Cookie) means the stream is out
 * of sync; RFC 2637 §1.4 forbids resynchronising, so the framer returns that error once and
 * then stays `failed`: further pushes are ignored and next() returns undefined.
 *
 * The buffer exists only while octets wait in it: made (at least FRAMER_MIN_BUFFER, growing by doubling) when a
 * push has to keep something, dropped as soon as every octet has been returned. A control connection is idle
 * almost all the time, and an idle session held a 2 KB buffer here (issue 11: memory per session).
 */
export class ControlStreamFramer {
  private buf: Uint8Array;
  private start = 0;
  private end = 0;
  private failure: Result<never> | undefined;
  private failureReported = false;
  private readonly maxBuffered: number;

  constructor(private readonly options: FramerOptions = {}) {
    this.maxBuffered = options.maxBuffered ?? 256 * 1024;
    this.buf = NO_BUFFER;
  }

  /** True once the stream was refused (framing error or too much buffered data). */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Octets received but not yet returned as messages. */
  get buffered(): number {
    return this.end - this.start;
  }

  push(chunk: Uint8Array): void {
    if (this.failure !== undefined || chunk.length === 0) return;
    const pending = this.end - this.start;
    if (pending + chunk.length > this.maxBuffered) {
      this.failure = err(
        "too-much-data",
        `PPTP control stream: ${pending + chunk.length} octets waiting to be framed exceeds the limit of ${this.maxBuffered}`,
      );
      return;
    }
    if (this.end + chunk.length > this.buf.length) {
      if (pending + chunk.length <= this.buf.length) {
        // Room once the consumed prefix is dropped: slide the pending bytes to the front.
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        let cap = Math.max(FRAMER_MIN_BUFFER, this.buf.length * 2);
        while (cap < pending + chunk.length) cap *= 2;
        const grown = new Uint8Array(cap);
        grown.set(this.buf.subarray(this.start, this.end), 0);
        this.buf = grown;
      }
      this.start = 0;
      this.end = pending;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** The next complete message (or its error), or undefined when more bytes are needed. */
  next(): Result<ControlMessage> | undefined {
    if (this.failure !== undefined) {
      if (this.failureReported) return undefined;
      this.failureReported = true;
      return this.failure;
    }
    const avail = this.end - this.start;
    if (avail < 2) return undefined;
    // Check what we can as early as we can, so garbage is refused before it is buffered.
    const length = u16(this.buf, this.start);
    if (length < PPTP_CONTROL_HEADER_LENGTH || length > PPTP_MAX_CONTROL_MESSAGE_LENGTH || avail >= 8) {
      const h = checkPptpHeader(avail >= 8 ? this.buf.subarray(this.start, this.start + 8) : this.lengthOnly(length));
      if (!h.ok) return this.fail(h);
    }
    if (avail < length) return undefined;
    const message = this.buf.slice(this.start, this.start + length);
    this.start += length;
    if (this.start === this.end) this.drop();
    return parseControlMessage(message, this.options);
  }

  /** Fabricates an 8-octet header carrying just the Length so checkPptpHeader reports it. */
  private lengthOnly(length: number): Uint8Array {
    const h = new Uint8Array(8);
    put16(h, 0, length);
    put16(h, 2, PPTP_MESSAGE_TYPE_CONTROL);
    put32(h, 4, PPTP_MAGIC_COOKIE);
    return h;
  }

  private fail(r: Result<never>): Result<never> {
    this.failure = r;
    this.failureReported = true;
    this.drop();
    return r;
  }

  /** Nothing waits: let the buffer go. */
  private drop(): void {
    this.start = this.end = 0;
    this.buf = NO_BUFFER;
  }
}

/** The framer's first buffer: the longest control message, Incoming-Call-Request, is 220 octets (RFC 2637 §2.9). */
const FRAMER_MIN_BUFFER = 256;
const NO_BUFFER = new Uint8Array(0);
