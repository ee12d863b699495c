/**
 * Dynamic Authorization Server (RFC 5176), sans-I/O: a datagram, its source and the time come in; the reply datagram
 * (or nothing, for a request that must be silently discarded) goes out. The server's SessionDirectory does the work.
 *
 * Checks, in order (each failure is counted; the log is rate-limited per kind and source):
 *  1. the source address is on the allow-list (`clients`), else ignored (RFC 5176 §5: only configured clients);
 *  2. the datagram decodes (RFC 2865 §3 lengths) and is a Disconnect-Request (40) or CoA-Request (43);
 *  3. the Request Authenticator is MD5(Code+Identifier+Length+16 zeros+Attributes+secret) (RFC 5176 §2.3, as
 *     RFC 2866 §3), else discarded with "check the shared secret"; a Message-Authenticator, when present, must be
 *     valid (RFC 3579 §3.2); it is required only when `requireMessageAuthenticator` is set, because radclient and
 *     most DACs do not add one to CoA/Disconnect by default;
 *  4. a repeat of an answered request (same source address and port, Identifier and Request Authenticator,
 *     RFC 5080 §2.2.2) gets the cached answer again, without acting twice;
 *  5. an Event-Timestamp, when present, lies within `replayWindowMs` of our clock, else discarded (RFC 5176 §3.5);
 *  6. NAS identification (NAS-IP-Address, NAS-Identifier, NAS-IPv6-Address) that is not ours → NAK 403
 *     (§3.6 "NAS Identification Mismatch");
 *  7. an attribute we cannot act on → NAK 401 "Unsupported Attribute"; CoA Service-Type Authorize-Only → NAK 405;
 *     no session identification, or a CoA that changes nothing → NAK 402 "Missing Attribute";
 *  8. session identification (Acct-Session-Id, User-Name, Framed-IP-Address, NAS-Port, Calling-Station-Id: every
 *     one given must match, §3) matching no session → NAK 503 "Session Context Not Found";
 *  9. Disconnect: every matching session is ended with cause Admin-Reset → Disconnect-ACK; CoA: Session-Timeout /
 *     Idle-Timeout applied to every matching session → CoA-ACK.
 * Proxy-State attributes are echoed in the reply in order (RFC 5176 §3).
 */
import type { Millis } from "../../core/clock.js";
import { toHex } from "../../wire/bytes.js";
import type { SessionDirectory, SessionSelector, SessionSnapshot } from "../types.js";
import { decodeRadius, RadiusCode, radiusCodeName, type RadiusAttribute, type RadiusPacket } from "../radius/packet.js";
import { encodeResponse, verifyRequest } from "../radius/crypto.js";
import { Attr } from "../radius/dictionary.js";
import { integerAttr, readInteger, readIpv4, readText } from "../radius/attributes.js";
import { u16 } from "../../wire/bytes.js";
import { parsePrefixList, prefixListHas, type Prefix } from "./prefix.js";

/** Error-Cause values (RFC 5176 §3.6). */
export const ErrorCause = {
  UnsupportedAttribute: 401,
  MissingAttribute: 402,
  NasIdentificationMismatch: 403,
  InvalidRequest: 404,
  UnsupportedService: 405,
  InvalidAttributeValue: 407,
  AdministrativelyProhibited: 501,
  SessionContextNotFound: 503,
  SessionContextNotRemovable: 504,
} as const;

/** Service-Type Authorize-Only (RFC 5176 §3.2). */
const SERVICE_AUTHORIZE_ONLY = 17;

export interface DasOptions {
  readonly secret: Uint8Array;
  /** Addresses or prefixes ("10.0.0.5", "10.0.0.0/24") that may send requests. */
  readonly clients: readonly string[];
  readonly directory: SessionDirectory;
  /** Our NAS identification; a request naming another NAS is NAKed 403. */
  readonly nasIdentifier?: string;
  /** Every address that is ours for NAS-IP-Address (the configured one, the listen address...). */
  readonly nasIpAddresses?: readonly string[];
  readonly requireMessageAuthenticator?: boolean;
  /** RFC 5176 §3.5 suggests 300 s. */
  readonly replayWindowMs?: number;
  /** How long an answer is kept to answer a retransmission. */
  readonly duplicateCacheMs?: number;
  readonly log?: (line: string) => void;
  readonly logIntervalMs?: number;
}

export interface DasCounters {
  disconnectAcks: number;
  disconnectNaks: number;
  coaAcks: number;
  coaNaks: number;
  /** Requests from addresses not on the allow-list (ignored). */
  notAllowed: number;
  malformed: number;
  /** Not a Disconnect- or CoA-Request. */
  unexpectedCode: number;
  badAuthenticator: number;
  badMessageAuthenticator: number;
  missingMessageAuthenticator: number;
  /** Event-Timestamp outside the window. */
  stale: number;
  /** Retransmissions answered from the cache. */
  duplicates: number;
}

export interface DasSource {
  readonly address: string;
  readonly port: number;
}

interface Cached {
  readonly reply: Uint8Array;
  readonly expires: Millis;
}

/** Attributes that only say which NAS or session is meant, or protect the packet. */
const IDENTIFICATION = new Set<number>([
  Attr.NasIpAddress, Attr.NasIdentifier, Attr.NasIpv6Address,
  Attr.UserName, Attr.AcctSessionId, Attr.FramedIpAddress, Attr.NasPort, Attr.CallingStationId,
  Attr.MessageAuthenticator, Attr.EventTimestamp, Attr.ProxyState,
]);

export class DasEngine {
  private readonly clients: readonly Prefix[];
  private readonly cache = new Map<string, Cached>();
  private readonly lastLog = new Map<string, Millis>();
  private readonly counters_: DasCounters = {
    disconnectAcks: 0, disconnectNaks: 0, coaAcks: 0, coaNaks: 0, notAllowed: 0, malformed: 0, unexpectedCode: 0,
    badAuthenticator: 0, badMessageAuthenticator: 0, missingMessageAuthenticator: 0, stale: 0, duplicates: 0,
  };

  constructor(private readonly o: DasOptions) {
    const p = parsePrefixList(o.clients);
    if (!p.ok) throw new RangeError(p.message);
    this.clients = p.prefixes;
  }

  counters(): DasCounters {
    return { ...this.counters_ };
  }

  /**
   * One received datagram. `now` is the monotonic clock (cache, log limits), `wallNow` ms since the epoch (for
   * Event-Timestamp). Returns the reply to send back to `from`, or undefined when the request is discarded.
   */
  receive(data: Uint8Array, from: DasSource, now: Millis, wallNow: number): Uint8Array | undefined {
    this.expire(now);
    if (!prefixListHas(this.clients, from.address)) {
      this.counters_.notAllowed++;
      this.note(now, `not-allowed ${from.address}`, `DAS: ignored a request from ${from.address}, which is not in [das] clients`);
      return undefined;
    }
    const dec = decodeRadius(data);
    if (!dec.ok) {
      this.counters_.malformed++;
      this.note(now, `malformed ${from.address}`, `DAS: dropped a malformed datagram from ${from.address}: ${dec.error.message}`);
      return undefined;
    }
    const req = dec.value;
    if (req.code !== RadiusCode.DisconnectRequest && req.code !== RadiusCode.CoaRequest) {
      this.counters_.unexpectedCode++;
      this.note(now, `code ${from.address}`, `DAS: dropped ${radiusCodeName(req.code)} from ${from.address}: only Disconnect-Request and CoA-Request are served here`);
      return undefined;
    }
    const raw = data.subarray(0, u16(data, 2));
    const check = verifyRequest(raw, this.o.secret);
    if (!check.authenticator) {
      this.counters_.badAuthenticator++;
      this.note(now, `auth ${from.address}`, `DAS: dropped ${radiusCodeName(req.code)} from ${from.address}: bad Request Authenticator — check the shared secret ([das] secret)`);
      return undefined;
    }
    if (check.messageAuthenticator === "bad") {
      this.counters_.badMessageAuthenticator++;
      this.note(now, `ma ${from.address}`, `DAS: dropped ${radiusCodeName(req.code)} from ${from.address}: bad Message-Authenticator`);
      return undefined;
    }
    if (check.messageAuthenticator === "absent" && this.o.requireMessageAuthenticator === true) {
      this.counters_.missingMessageAuthenticator++;
      this.note(now, `noma ${from.address}`, `DAS: dropped ${radiusCodeName(req.code)} from ${from.address}: no Message-Authenticator, which [das] require-message-authenticator demands`);
      return undefined;
    }
    const key = `${from.address} ${from.port} ${req.identifier} ${toHex(req.authenticator)}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      this.counters_.duplicates++;
      return cached.reply;
    }
    const ts = readInteger(find(req, Attr.EventTimestamp));
    const window = this.o.replayWindowMs ?? 300_000;
    if (ts !== undefined && Math.abs(ts * 1000 - wallNow) > window) {
      this.counters_.stale++;
      this.note(now, `stale ${from.address}`, `DAS: dropped ${radiusCodeName(req.code)} from ${from.address}: Event-Timestamp ${ts} is more than ${window / 1000} s from our clock (a replay, or clocks out of step)`);
      return undefined;
    }
    const { code, attrs, what } = this.act(req, from);
    const proxyStates = req.attributes.filter((a) => a.type === Attr.ProxyState).map((a) => ({ type: a.type, value: a.value.slice() }));
    const reply = encodeResponse(code, req.identifier, req.authenticator, [...attrs, ...proxyStates], this.o.secret, {
      messageAuthenticator: check.messageAuthenticator === "ok",
    });
    if (code === RadiusCode.DisconnectAck) this.counters_.disconnectAcks++;
    else if (code === RadiusCode.DisconnectNak) this.counters_.disconnectNaks++;
    else if (code === RadiusCode.CoaAck) this.counters_.coaAcks++;
    else this.counters_.coaNaks++;
    this.o.log?.(`DAS: ${radiusCodeName(req.code)} from ${from.address}: ${what} → ${radiusCodeName(code)}`);
    this.cache.set(key, { reply, expires: now + (this.o.duplicateCacheMs ?? 30_000) });
    return reply;
  }

  private act(req: RadiusPacket, from: DasSource): { code: number; attrs: RadiusAttribute[]; what: string } {
    const disconnect = req.code === RadiusCode.DisconnectRequest;
    const ack = disconnect ? RadiusCode.DisconnectAck : RadiusCode.CoaAck;
    const nak = (cause: number, what: string) => ({ code: disconnect ? RadiusCode.DisconnectNak : RadiusCode.CoaNak, attrs: [integerAttr(Attr.ErrorCause, cause)], what });

    // NAS identification (RFC 5176 §3): if given it must name us.
    const nasIp = readIpv4(find(req, Attr.NasIpAddress));
    if (find(req, Attr.NasIpAddress) !== undefined && (nasIp === undefined || !(this.o.nasIpAddresses ?? []).includes(nasIp))) {
      return nak(ErrorCause.NasIdentificationMismatch, `NAS-IP-Address ${nasIp ?? "(malformed)"} is not ours`);
    }
    const nasId = find(req, Attr.NasIdentifier);
    if (nasId !== undefined && readText(nasId) !== this.o.nasIdentifier) return nak(ErrorCause.NasIdentificationMismatch, `NAS-Identifier "${readText(nasId) ?? ""}" is not ours`);
    if (find(req, Attr.NasIpv6Address) !== undefined) return nak(ErrorCause.NasIdentificationMismatch, "NAS-IPv6-Address given; we have none");

    let serviceType: number | undefined;
    let sessionTimeout: number | undefined;
    let idleTimeout: number | undefined;
    for (const a of req.attributes) {
      if (IDENTIFICATION.has(a.type)) continue;
      if (!disconnect && a.type === Attr.SessionTimeout) sessionTimeout = readInteger(a.value);
      else if (!disconnect && a.type === Attr.IdleTimeout) idleTimeout = readInteger(a.value);
      else if (a.type === Attr.ServiceType) serviceType = readInteger(a.value);
      else return nak(ErrorCause.UnsupportedAttribute, `attribute ${a.type} cannot be acted on in a ${radiusCodeName(req.code)}`);
    }
    if (serviceType !== undefined) {
      // §3.2: Authorize-Only asks the NAS to re-authorize with an Access-Request; we do not support that.
      if (serviceType === SERVICE_AUTHORIZE_ONLY) return nak(ErrorCause.UnsupportedService, "Service-Type Authorize-Only is not supported");
      return nak(ErrorCause.UnsupportedAttribute, `Service-Type ${serviceType} cannot be acted on`);
    }

    const sel: { -readonly [K in keyof SessionSelector]: SessionSelector[K] } = {};
    const sid = find(req, Attr.AcctSessionId);
    const user = find(req, Attr.UserName);
    const framed = find(req, Attr.FramedIpAddress);
    const port = readInteger(find(req, Attr.NasPort));
    const calling = find(req, Attr.CallingStationId);
    if (sid !== undefined) sel.sessionId = readText(sid) ?? "";
    if (user !== undefined) sel.user = readText(user) ?? "";
    if (framed !== undefined) sel.framedAddress = readIpv4(framed);
    if (sid === undefined && user === undefined && framed === undefined && port === undefined && calling === undefined) {
      return nak(ErrorCause.MissingAttribute, "no session identification (Acct-Session-Id, User-Name, Framed-IP-Address, NAS-Port or Calling-Station-Id)");
    }
    if (!disconnect && sessionTimeout === undefined && idleTimeout === undefined) {
      return nak(ErrorCause.MissingAttribute, "nothing to change (only Session-Timeout and Idle-Timeout can be changed)");
    }
    const callingText = calling === undefined ? undefined : readText(calling);
    const matches = this.o.directory
      .find(sel)
      .filter((s: SessionSnapshot) => (port === undefined || s.callId === port) && (callingText === undefined || s.peerAddress === callingText));
    const label = describeSelector(sel, port, callingText);
    if (matches.length === 0) return nak(ErrorCause.SessionContextNotFound, `no session matches ${label}`);

    let done = 0;
    for (const s of matches) {
      if (disconnect) {
        if (this.o.directory.disconnect(s.sessionId, "admin-reset", `Disconnect-Request from ${from.address}`)) done++;
      } else {
        const change: { sessionTimeoutMs?: number; idleTimeoutMs?: number } = {};
        if (sessionTimeout !== undefined) change.sessionTimeoutMs = sessionTimeout * 1000;
        if (idleTimeout !== undefined) change.idleTimeoutMs = idleTimeout * 1000;
        if (this.o.directory.changeTimeouts(s.sessionId, change)) done++;
      }
    }
    if (done === 0) return nak(ErrorCause.SessionContextNotFound, `the session(s) matching ${label} ended meanwhile`);
    const ids = matches.map((s) => s.sessionId).join(", ");
    return { code: ack, attrs: [], what: disconnect ? `disconnected ${ids}` : `timeouts changed on ${ids}${sessionTimeout !== undefined ? ` Session-Timeout ${sessionTimeout} s` : ""}${idleTimeout !== undefined ? ` Idle-Timeout ${idleTimeout} s` : ""}` };
  }

  private note(now: Millis, kind: string, line: string): void {
    const interval = this.o.logIntervalMs ?? 10_000;
    const last = this.lastLog.get(kind);
    if (last !== undefined && now - last < interval) return;
    this.lastLog.set(kind, now);
    this.o.log?.(line);
  }

  private expire(now: Millis): void {
    for (const [k, c] of this.cache) {
      if (c.expires > now) break; // insertion order = expiry order (one fixed lifetime)
      this.cache.delete(k);
    }
    if (this.lastLog.size > 1024) this.lastLog.clear();
  }
}

function find(p: RadiusPacket, type: number): Uint8Array | undefined {
  return p.attributes.find((a) => a.type === type)?.value;
}

function describeSelector(sel: SessionSelector, port: number | undefined, calling: string | undefined): string {
  const parts: string[] = [];
  if (sel.sessionId !== undefined) parts.push(`Acct-Session-Id "${sel.sessionId}"`);
  if (sel.user !== undefined) parts.push(`User-Name "${sel.user}"`);
  if (sel.framedAddress !== undefined) parts.push(`Framed-IP-Address ${sel.framedAddress}`);
  if (port !== undefined) parts.push(`NAS-Port ${port}`);
  if (calling !== undefined) parts.push(`Calling-Station-Id "${calling}"`);
  return parts.join(", ");
}
