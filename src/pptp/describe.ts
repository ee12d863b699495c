/**
 * PPTP control messages (RFC 2637 §2) in one bracketed line each, in the style of pppd's packet lines, for the
 * `packets` log category:
 *
 *   [SCCRQ proto=0x100 framing=async+sync bearer=analog+digital channels=0 firmware=0x0 host="x" vendor="y"]
 *   [OCRQ call=0x4000 serial=1 bps=300..100000000 bearer=either framing=either window=64 delay=0 phone=""]
 *   [OCRP call=0x1 peer=0x4000 result=1 (Connected) ... window=64]
 *
 * Pure: a parsed ControlMessage in, a line out. ourCallId() names the call a message belongs to on our side, so
 * a per-session debug filter can show a call's own PPTP messages.
 */
import {
  START_RESULT_TEXT,
  STOP_REASON_TEXT,
  STOP_RESULT_TEXT,
  ECHO_RESULT_TEXT,
  OUTGOING_CALL_RESULT_TEXT,
  INCOMING_CALL_RESULT_TEXT,
  DISCONNECT_RESULT_TEXT,
  type CodeTable,
  type ControlMessage,
} from "../wire/pptp-control.js";

function hx(n: number): string {
  return "0x" + (n >>> 0).toString(16);
}

function str(s: string): string {
  return JSON.stringify(s.length > 128 ? s.slice(0, 128) + "..." : s);
}

/** Framing (1 async, 2 sync) and bearer (1 analog, 2 digital) bits, as words. */
function bits(v: number, one: string, two: string): string {
  const w: string[] = [];
  if (v & 1) w.push(one);
  if (v & 2) w.push(two);
  if (v & ~3) w.push(hx(v & ~3));
  return w.length ? w.join("+") : "none";
}

/** A type field (1, 2 or 3 = either) as a word. */
function kind(v: number, one: string, two: string): string {
  return v === 1 ? one : v === 2 ? two : v === 3 ? "either" : hx(v);
}

/** "1 (Connected)", with the error code when there is one: the short name only, the line stays short. */
function result(table: CodeTable, code: number, error: number): string {
  const t = table[code];
  const r = t === undefined ? `${code}` : `${code} (${t[0]})`;
  return error === 0 ? r : `${r} error=${error}`;
}

export function describeControlMessage(m: ControlMessage): string {
  switch (m.type) {
    case "SCCRQ":
      return `[SCCRQ proto=${hx(m.protocolVersion)} framing=${bits(m.framingCapabilities, "async", "sync")} bearer=${bits(m.bearerCapabilities, "analog", "digital")} channels=${m.maximumChannels} firmware=${hx(m.firmwareRevision)} host=${str(m.hostName)} vendor=${str(m.vendorString)}]`;
    case "SCCRP":
      return `[SCCRP proto=${hx(m.protocolVersion)} result=${result(START_RESULT_TEXT, m.resultCode, m.errorCode)} framing=${bits(m.framingCapabilities, "async", "sync")} bearer=${bits(m.bearerCapabilities, "analog", "digital")} channels=${m.maximumChannels} firmware=${hx(m.firmwareRevision)} host=${str(m.hostName)} vendor=${str(m.vendorString)}]`;
    case "StopCCRQ":
      return `[StopCCRQ reason=${result(STOP_REASON_TEXT, m.reason, 0)}]`;
    case "StopCCRP":
      return `[StopCCRP result=${result(STOP_RESULT_TEXT, m.resultCode, m.errorCode)}]`;
    case "EchoRQ":
      return `[EchoRQ id=${hx(m.identifier)}]`;
    case "EchoRP":
      return `[EchoRP id=${hx(m.identifier)} result=${result(ECHO_RESULT_TEXT, m.resultCode, m.errorCode)}]`;
    case "OCRQ":
      return `[OCRQ call=${m.callId} serial=${m.callSerialNumber} bps=${m.minimumBps}..${m.maximumBps} bearer=${kind(m.bearerType, "analog", "digital")} framing=${kind(m.framingType, "async", "sync")} window=${m.packetRecvWindowSize} delay=${m.packetProcessingDelay} phone=${str(m.phoneNumber)}]`;
    case "OCRP":
      return `[OCRP call=${m.callId} peer=${m.peerCallId} result=${result(OUTGOING_CALL_RESULT_TEXT, m.resultCode, m.errorCode)} cause=${m.causeCode} speed=${m.connectSpeed} window=${m.packetRecvWindowSize} delay=${m.packetProcessingDelay} channel=${m.physicalChannelId}]`;
    case "ICRQ":
      return `[ICRQ call=${m.callId} serial=${m.callSerialNumber} bearer=${kind(m.callBearerType, "analog", "digital")} channel=${m.physicalChannelId} dialed=${str(m.dialedNumber)} dialing=${str(m.dialingNumber)}]`;
    case "ICRP":
      return `[ICRP call=${m.callId} peer=${m.peerCallId} result=${result(INCOMING_CALL_RESULT_TEXT, m.resultCode, m.errorCode)} window=${m.packetRecvWindowSize} delay=${m.packetTransmitDelay}]`;
    case "ICCN":
      return `[ICCN peer=${m.peerCallId} speed=${m.connectSpeed} window=${m.packetRecvWindowSize} delay=${m.packetTransmitDelay} framing=${kind(m.framingType, "async", "sync")}]`;
    case "CCRQ":
      return `[CCRQ call=${m.callId}]`;
    case "CDN":
      return `[CDN call=${m.callId} result=${result(DISCONNECT_RESULT_TEXT, m.resultCode, m.errorCode)} cause=${m.causeCode}${m.callStatistics ? ` stats=${str(m.callStatistics)}` : ""}]`;
    case "WEN":
      return `[WEN peer=${m.peerCallId} crc=${m.crcErrors} framing=${m.framingErrors} hw-overruns=${m.hardwareOverruns} buf-overruns=${m.bufferOverruns} timeouts=${m.timeoutErrors} alignment=${m.alignmentErrors}]`;
    case "SLI":
      return `[SLI peer=${m.peerCallId} send-accm=${hx(m.sendAccm)} recv-accm=${hx(m.receiveAccm)}]`;
  }
}

/**
 * Our Call ID in a message, when it names one: the Call ID field of what we send (it is the sender's, RFC 2637
 * §2.7-§2.13), the Peer's Call ID of what we receive. A received CCRQ/CDN carries the peer's own Call ID: undefined.
 */
export function ourCallId(direction: "rcvd" | "sent", m: ControlMessage): number | undefined {
  if (direction === "sent") {
    switch (m.type) {
      case "OCRQ":
      case "OCRP":
      case "ICRQ":
      case "ICRP":
      case "CCRQ":
      case "CDN":
        return m.callId;
      default:
        return undefined;
    }
  }
  switch (m.type) {
    case "OCRP":
    case "ICRP":
    case "ICCN":
    case "WEN":
    case "SLI":
      return m.peerCallId;
    default:
      return undefined;
  }
}

