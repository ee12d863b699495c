/**
 * Accounting records: what the spool stores (plain JSON, so a record outlives the process and the secret) and the
 * RADIUS Accounting-Request attributes built from one at the moment it is sent (RFC 2866 §5, RFC 2869 §5.1-5.3).
 * The attributes are built anew for every transmission round because Acct-Delay-Time (RFC 2866 §5.2) counts from
 * the event to this send; Event-Timestamp (RFC 2869 §5.3) stays the event's time, so a record resent after a crash is
 * recognisably the same event.
 */
import { fromHex, toHex } from "../../wire/bytes.js";
import type { SessionSnapshot, TerminateCause } from "../types.js";
import type { RecordMaker } from "./sink.js";
import { TERMINATE_CAUSE_CODE } from "../types.js";
import type { RadiusAttribute } from "../radius/packet.js";
import { integerAttr, ipaddrAttr, octetsAttr, taggedIntegerAttr, taggedTextAttr, textAttr } from "../radius/attributes.js";
import { Attr, FramedProtocolPpp, NasPortTypeVirtual, ServiceTypeFramed, TunnelMediumIpv4, TunnelTypePptp } from "../radius/dictionary.js";

/** Acct-Status-Type (RFC 2866 §5.1). */
export const AcctStatus = { Start: 1, Stop: 2, InterimUpdate: 3, AccountingOn: 7, AccountingOff: 8 } as const;
export type AcctStatusValue = (typeof AcctStatus)[keyof typeof AcctStatus];

/** One spooled accounting event. Session fields are absent for Accounting-On/Off. */
export interface AcctRecord {
  readonly status: AcctStatusValue;
  readonly sessionId?: string;
  readonly user?: string;
  readonly callId?: number;
  readonly peer?: string;
  readonly local?: string;
  readonly framed?: string;
  /** Acct-Authentic (RFC 2866 §5.6): 1 RADIUS, 2 Local. */
  readonly authentic?: 1 | 2;
  /** Acct-Session-Time in seconds (RFC 2866 §5.7). */
  readonly time?: number;
  readonly inOctets?: number;
  readonly outOctets?: number;
  readonly inPackets?: number;
  readonly outPackets?: number;
  /** Acct-Terminate-Cause code (Stop only). */
  readonly cause?: number;
  /** Class values (RFC 2865 §5.25), hex, echoed unchanged. */
  readonly classes?: readonly string[];
}

/** What we say about ourselves in every request. */
export interface NasIdentity {
  readonly nasIdentifier?: string;
  readonly nasIpAddress?: string;
}

export function sessionRecord(status: 1 | 2 | 3, s: SessionSnapshot, cause?: TerminateCause): AcctRecord {
  const counters = status === AcctStatus.Start ? {} : {
    time: Math.floor(s.durationMs / 1000),
    inOctets: s.inOctets,
    outOctets: s.outOctets,
    inPackets: s.inPackets,
    outPackets: s.outPackets,
  };
  return {
    status,
    sessionId: s.sessionId,
    user: s.user,
    callId: s.callId,
    peer: s.peerAddress,
    local: s.localAddress,
    framed: s.framedAddress,
    authentic: s.backend === undefined || s.backend.startsWith("radius") ? 1 : 2,
    ...counters,
    ...(cause !== undefined && status === AcctStatus.Stop ? { cause: TERMINATE_CAUSE_CODE[cause] } : {}),
    classes: s.policy?.classes?.map(toHex),
  };
}

/** Interim-Updates may be dropped when the spool is full: a later Interim or the Stop carries their totals. */
export function isDroppable(r: AcctRecord): boolean {
  return r.status === AcctStatus.InterimUpdate;
}

/** RADIUS records for the spooling sink (src/aaa/accounting/sink.ts). */
export const radiusRecords: RecordMaker<AcctRecord> = {
  on: () => ({ status: AcctStatus.AccountingOn }),
  off: () => ({ status: AcctStatus.AccountingOff }),
  start: (s) => sessionRecord(AcctStatus.Start, s),
  interim: (s) => sessionRecord(AcctStatus.InterimUpdate, s),
  stop: (s, cause) => sessionRecord(AcctStatus.Stop, s, cause),
  describe: (r) => `${r.sessionId ?? "NAS"} status ${r.status}`,
};

const GIGA = 0x1_0000_0000;

const STATUSES = new Set<number>(Object.values(AcctStatus));
const count = (v: unknown): boolean => v === undefined || (typeof v === "number" && Number.isSafeInteger(v) && v >= 0);
const text = (v: unknown): boolean => v === undefined || typeof v === "string";

/**
 * A value read back from the spool, if it is a record we would have written (else loadSpool skips the line as
 * damaged, naming it): an Acct-Status-Type we send, the session fields with their types, counts that are
 * non-negative integers, Class values in hex, and attributes that encode (a dotted Framed-IP-Address, every value
 * within RADIUS' 253 octets). Without it, a damaged line that is still JSON would reach the sender.
 */
export function parseAcctRecord(v: unknown): AcctRecord | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.status !== "number" || !STATUSES.has(r.status)) return undefined;
  if (![r.sessionId, r.user, r.peer, r.local, r.framed].every(text)) return undefined;
  if (![r.time, r.inOctets, r.outOctets, r.inPackets, r.outPackets].every(count)) return undefined;
  if (r.callId !== undefined && !(Number.isInteger(r.callId) && (r.callId as number) >= 0 && (r.callId as number) <= 0xffff)) return undefined;
  if (r.authentic !== undefined && r.authentic !== 1 && r.authentic !== 2) return undefined;
  if (r.cause !== undefined && !(Number.isInteger(r.cause) && (r.cause as number) > 0 && (r.cause as number) <= 0xffffffff)) return undefined;
  if (r.classes !== undefined && !(Array.isArray(r.classes) && r.classes.every((c) => typeof c === "string" && /^(?:[0-9a-f]{2})+$/i.test(c)))) return undefined;
  const rec = r as unknown as AcctRecord;
  try {
    accountingAttributes(rec, 0, 0, {});
  } catch {
    return undefined;
  }
  return rec;
}

/** Attributes of the Accounting-Request for `r`, an event at `at`, sent at `now` (wall-clock ms). */
export function accountingAttributes(r: AcctRecord, at: number, now: number, nas: NasIdentity): RadiusAttribute[] {
  const a: RadiusAttribute[] = [integerAttr(Attr.AcctStatusType, r.status)];
  if (nas.nasIpAddress !== undefined) a.push(ipaddrAttr(Attr.NasIpAddress, nas.nasIpAddress));
  if (nas.nasIdentifier !== undefined && nas.nasIdentifier !== "") a.push(textAttr(Attr.NasIdentifier, nas.nasIdentifier.slice(0, 253)));
  if (r.sessionId !== undefined) {
    a.push(textAttr(Attr.AcctSessionId, r.sessionId));
    if (r.user !== undefined && r.user !== "") a.push(textAttr(Attr.UserName, r.user.slice(0, 253)));
    if (r.callId !== undefined) a.push(integerAttr(Attr.NasPort, r.callId));
    a.push(integerAttr(Attr.NasPortType, NasPortTypeVirtual));
    a.push(integerAttr(Attr.ServiceType, ServiceTypeFramed));
    a.push(integerAttr(Attr.FramedProtocol, FramedProtocolPpp));
    if (r.framed !== undefined) a.push(ipaddrAttr(Attr.FramedIpAddress, r.framed));
    if (r.peer !== undefined) a.push(textAttr(Attr.CallingStationId, r.peer));
    if (r.local !== undefined) a.push(textAttr(Attr.CalledStationId, r.local));
    // RFC 2868 §3.1-3.3; RFC 2867 §4.1 puts the tunnel attributes into accounting too.
    a.push(taggedIntegerAttr(Attr.TunnelType, TunnelTypePptp));
    a.push(taggedIntegerAttr(Attr.TunnelMediumType, TunnelMediumIpv4));
    if (r.peer !== undefined) a.push(taggedTextAttr(Attr.TunnelClientEndpoint, r.peer));
    if (r.local !== undefined) a.push(taggedTextAttr(Attr.TunnelServerEndpoint, r.local));
    for (const c of r.classes ?? []) a.push(octetsAttr(Attr.Class, fromHex(c)));
    if (r.authentic !== undefined) a.push(integerAttr(Attr.AcctAuthentic, r.authentic));
    if (r.time !== undefined) a.push(integerAttr(Attr.AcctSessionTime, r.time));
    if (r.inOctets !== undefined) {
      // RFC 2869 §5.1/5.2: the 32-bit counters wrap; Gigawords counts the wraps.
      a.push(integerAttr(Attr.AcctInputOctets, r.inOctets % GIGA));
      a.push(integerAttr(Attr.AcctOutputOctets, (r.outOctets ?? 0) % GIGA));
      a.push(integerAttr(Attr.AcctInputGigawords, Math.floor(r.inOctets / GIGA)));
      a.push(integerAttr(Attr.AcctOutputGigawords, Math.floor((r.outOctets ?? 0) / GIGA)));
      a.push(integerAttr(Attr.AcctInputPackets, (r.inPackets ?? 0) % GIGA));
      a.push(integerAttr(Attr.AcctOutputPackets, (r.outPackets ?? 0) % GIGA));
    }
    if (r.cause !== undefined) a.push(integerAttr(Attr.AcctTerminateCause, r.cause));
  }
  a.push(integerAttr(Attr.AcctDelayTime, Math.max(0, Math.floor((now - at) / 1000))));
  a.push(integerAttr(Attr.EventTimestamp, Math.floor(at / 1000)));
  return a;
}
