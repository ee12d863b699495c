/**
 * The RADIUS client (RFC 2865 §2.4/§2.6, RFC 5080 §2.2), sans-I/O: requests and received datagrams come in with
 * the time, datagrams go out through `transmit(serverIndex, bytes)`, and the caller runs the timers with
 * pollTimeout()/handleTimeout(now).
 *
 * Policy (documented for operators in README "RADIUS"):
 *  - Servers are tried in configured order (`failover`) or starting from the next one in turn (`round-robin`);
 *    a request moves to the next server after `retries` retransmissions without a valid answer, each waiting
 *    `timeoutMs`. A retransmission to the same server repeats the datagram exactly (same Identifier and Request
 *    Authenticator, RFC 5080 §2.2.1), so the server's duplicate cache recognises it; another server gets a new
 *    Identifier, authenticator and its own secret.
 *  - A server that let a request down this way is marked dead for `deadTimeMs`: later requests skip it, which
 *    keeps a dead primary from costing every session the full timeout. Recovery is "next request retries": once
 *    the dead time has passed the server is simply tried again in order (no Status-Server probes, which need
 *    extra server configuration); and when every server is marked dead they are all tried anyway, in order, so
 *    an outage of all servers ends as soon as one answers.
 *  - Every request has an overall `deadlineMs`: whatever the servers do, it settles by then.
 *  - A reply is matched by server and Identifier, must be a reply code to the request's code, must carry the
 *    right Response Authenticator and, for Access-Request, a valid Message-Authenticator (required, the
 *    Blast-RADIUS fix, draft-ietf-radext-deprecating-radius §5). Anything else — undecodable, unexpected,
 *    late, duplicate or forged — is dropped, counted, and reported by a rate-limited log line; a server whose
 *    replies fail the authenticator is reported with "check the shared secret".
 */
import type { Millis, RandomSource } from "../../core/clock.js";
import { decodeRadius, type RadiusAttribute, type RadiusPacket, RadiusCode, radiusCodeName } from "./packet.js";
import { encodeRequest, verifyResponse } from "./crypto.js";

const MISSING_MA_ADVICE =
  "the server must send Message-Authenticator in Access-Accept/-Reject (FreeRADIUS before 3.2.5: `update reply { Message-Authenticator := 0x00 }` in post-auth and in Post-Auth-Type REJECT)";

export type Balance = "failover" | "round-robin";

export interface RadiusServer {
  readonly host: string;
  readonly port: number;
  readonly secret: Uint8Array;
}

export interface RadiusClientOptions {
  readonly servers: readonly RadiusServer[];
  /** Wait for an answer before retransmitting (default 3000 ms). */
  readonly timeoutMs?: number;
  /** Retransmissions per server before moving on (default 2: three transmissions). */
  readonly retries?: number;
  /** Overall limit per request (default 15000 ms). */
  readonly deadlineMs?: number;
  /** How long a server that did not answer is skipped (default 60000 ms; 0 = never skip). */
  readonly deadTimeMs?: number;
  readonly balance?: Balance;
  readonly random: RandomSource;
  readonly transmit: (server: number, datagram: Uint8Array) => void;
  /** Diagnostic lines (rate-limited): wrong secret, unreachable server, dropped replies. */
  readonly log?: (line: string) => void;
  /** Minimum interval between two log lines of one kind for one server (default 10000 ms). */
  readonly logIntervalMs?: number;
}

/** What one request became. */
export type RadiusOutcome =
  | {
      readonly ok: true;
      readonly response: RadiusPacket;
      /** Index into `servers` and "HOST:PORT" of the server that answered. */
      readonly server: number;
      readonly serverLabel: string;
      /** The Request Authenticator and secret of the answered request: MPPE keys are hidden under them. */
      readonly requestAuthenticator: Uint8Array;
      readonly secret: Uint8Array;
    }
  | {
      readonly ok: false;
      /** Which servers were tried and what happened, in plain words (for the log and AuthResult.message). */
      readonly message: string;
      readonly tried: readonly string[];
    };

/** Builds the attributes of one transmission to one server (User-Password and other hidden values need both). */
export type AttributeBuilder = (b: { readonly secret: Uint8Array; readonly requestAuthenticator: Uint8Array | undefined }) => readonly RadiusAttribute[];

export type DropReason =
  | "malformed" // not a RADIUS packet (decodeRadius refused it)
  | "unexpected" // no outstanding request with this Identifier: late, duplicate or unsolicited
  | "wrong-code" // a code that does not answer the request (e.g. Accounting-Response to Access-Request)
  | "bad-authenticator" // Response Authenticator wrong: forged, or the shared secret differs
  | "missing-message-authenticator"
  | "bad-message-authenticator";

export const DROP_REASONS: readonly DropReason[] = ["malformed", "unexpected", "wrong-code", "bad-authenticator", "missing-message-authenticator", "bad-message-authenticator"];

export interface ServerCounters {
  requests: number;
  retransmissions: number;
  responses: number;
  timeouts: number;
  dropped: Record<DropReason, number>;
}

interface ServerState {
  readonly spec: RadiusServer;
  readonly label: string;
  deadUntil: number;
  nextId: number;
  readonly pending: Map<number, Pending>;
  readonly counters: ServerCounters;
  /** Replies that failed the authenticator since the last valid reply: the wrong-secret signature. */
  badAuthSinceValid: number;
  /** Access replies without Message-Authenticator since the last valid reply: a server to configure. */
  missingMaSinceValid: number;
  readonly lastLog: Map<string, number>;
  readonly suppressed: Map<string, number>;
}

interface Pending {
  readonly code: number;
  readonly build: AttributeBuilder;
  readonly deadline: number;
  readonly resolve: (o: RadiusOutcome) => void;
  /** Servers still to try, in order. */
  readonly order: number[];
  readonly tried: string[];
  // The current attempt:
  server: number;
  id: number;
  datagram: Uint8Array;
  requestAuthenticator: Uint8Array | undefined;
  sends: number;
  nextAt: number;
  settled: boolean;
}

function replyCodes(code: number): readonly number[] {
  switch (code) {
    case RadiusCode.AccessRequest:
      return [RadiusCode.AccessAccept, RadiusCode.AccessReject, RadiusCode.AccessChallenge];
    case RadiusCode.AccountingRequest:
      return [RadiusCode.AccountingResponse];
    case RadiusCode.StatusServer:
      return [RadiusCode.AccessAccept, RadiusCode.AccountingResponse];
    case RadiusCode.DisconnectRequest:
      return [RadiusCode.DisconnectAck, RadiusCode.DisconnectNak];
    case RadiusCode.CoaRequest:
      return [RadiusCode.CoaAck, RadiusCode.CoaNak];
    default:
      return [];
  }
}

function newCounters(): ServerCounters {
  return {
    requests: 0,
    retransmissions: 0,
    responses: 0,
    timeouts: 0,
    dropped: { malformed: 0, unexpected: 0, "wrong-code": 0, "bad-authenticator": 0, "missing-message-authenticator": 0, "bad-message-authenticator": 0 },
  };
}

export function serverLabel(s: { readonly host: string; readonly port: number }): string {
  return s.host.includes(":") ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

export class RadiusClientEngine {
  private readonly servers: ServerState[];
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly deadlineMs: number;
  private readonly deadTimeMs: number;
  private readonly balance: Balance;
  private readonly random: RandomSource;
  private readonly transmit: (server: number, datagram: Uint8Array) => void;
  private readonly log: (line: string) => void;
  private readonly logIntervalMs: number;
  private readonly active = new Set<Pending>();
  private rr = 0;

  constructor(o: RadiusClientOptions) {
    if (o.servers.length === 0) throw new RangeError("RADIUS client needs at least one server");
    this.servers = o.servers.map((spec) => ({
      spec,
      label: serverLabel(spec),
      deadUntil: -Infinity,
      nextId: 0,
      pending: new Map(),
      counters: newCounters(),
      badAuthSinceValid: 0,
      missingMaSinceValid: 0,
      lastLog: new Map(),
      suppressed: new Map(),
    }));
    this.timeoutMs = o.timeoutMs ?? 3000;
    this.retries = o.retries ?? 2;
    this.deadlineMs = o.deadlineMs ?? 15000;
    this.deadTimeMs = o.deadTimeMs ?? 60000;
    this.balance = o.balance ?? "failover";
    this.random = o.random;
    this.transmit = o.transmit;
    this.log = o.log ?? (() => {});
    this.logIntervalMs = o.logIntervalMs ?? 10000;
    // Start each server's Identifiers at a random point so a restart does not reuse the previous run's.
    for (const s of this.servers) s.nextId = this.random(1)[0];
  }

  /** "HOST:PORT" of each server, in configured order. */
  labels(): string[] {
    return this.servers.map((s) => s.label);
  }

  /** Counters per server (live objects: read, do not modify). */
  counters(): readonly ServerCounters[] {
    return this.servers.map((s) => s.counters);
  }

  /** Whether server `i` is currently marked dead. */
  isDead(i: number, now: Millis): boolean {
    return this.servers[i].deadUntil > now;
  }

  /** Requests outstanding. */
  get outstanding(): number {
    return this.active.size;
  }

  /** Send a request; the promise settles with the answer or, at the latest at the deadline, with a failure. */
  request(code: number, build: AttributeBuilder, now: Millis): Promise<RadiusOutcome> {
    return new Promise((resolve) => {
      const p: Pending = {
        code,
        build,
        deadline: now + this.deadlineMs,
        resolve,
        order: this.serverOrder(now),
        tried: [],
        server: -1,
        id: -1,
        datagram: new Uint8Array(0),
        requestAuthenticator: undefined,
        sends: 0,
        nextAt: Infinity,
        settled: false,
      };
      this.active.add(p);
      this.nextServer(p, now);
    });
  }

  /** The order in which a new request tries the servers: live ones first, dead ones after (see the header). */
  private serverOrder(now: Millis): number[] {
    const n = this.servers.length;
    let start = 0;
    if (this.balance === "round-robin") {
      start = this.rr % n;
      this.rr = (this.rr + 1) % n;
    }
    const rotated = Array.from({ length: n }, (_, k) => (start + k) % n);
    const alive = rotated.filter((i) => this.servers[i].deadUntil <= now);
    const dead = rotated.filter((i) => this.servers[i].deadUntil > now).sort((a, b) => this.servers[a].deadUntil - this.servers[b].deadUntil);
    return [...alive, ...dead];
  }

  private allocateId(s: ServerState): number | undefined {
    for (let k = 0; k < 256; k++) {
      const id = (s.nextId + k) & 0xff;
      if (!s.pending.has(id)) {
        s.nextId = (id + 1) & 0xff;
        return id;
      }
    }
    return undefined;
  }

  private releaseAttempt(p: Pending): void {
    if (p.server >= 0) {
      const s = this.servers[p.server];
      if (s.pending.get(p.id) === p) s.pending.delete(p.id);
    }
  }

  /** Move `p` to its next server, or fail it when none is left. */
  private nextServer(p: Pending, now: Millis): void {
    this.releaseAttempt(p);
    while (p.order.length > 0) {
      const i = p.order.shift()!;
      const s = this.servers[i];
      const id = this.allocateId(s);
      if (id === undefined) {
        p.tried.push(`${s.label} (256 requests already outstanding)`);
        continue;
      }
      const access = p.code === RadiusCode.AccessRequest || p.code === RadiusCode.StatusServer;
      const ra = access ? this.random(16) : undefined;
      let datagram: Uint8Array;
      try {
        const attrs = p.build({ secret: s.spec.secret, requestAuthenticator: ra });
        datagram = encodeRequest(p.code, id, attrs, s.spec.secret, ra === undefined ? {} : { requestAuthenticator: ra });
      } catch (e) {
        this.settle(p, { ok: false, message: `RADIUS ${radiusCodeName(p.code)} could not be built: ${(e as Error).message}`, tried: p.tried });
        return;
      }
      p.server = i;
      p.id = id;
      p.datagram = datagram;
      p.requestAuthenticator = ra;
      p.sends = 0;
      s.pending.set(id, p);
      s.counters.requests++;
      this.send(p, now);
      return;
    }
    this.settle(p, { ok: false, message: this.failureMessage(p), tried: p.tried });
  }

  private failureMessage(p: Pending): string {
    if (p.tried.length === 0) return "no RADIUS server could be asked";
    return `no answer from RADIUS ${p.tried.length === 1 ? "server" : "servers"} ${p.tried.join(", ")}`;
  }

  private send(p: Pending, now: Millis): void {
    const s = this.servers[p.server];
    if (p.sends > 0) s.counters.retransmissions++;
    p.sends++;
    p.nextAt = Math.min(now + this.timeoutMs, p.deadline);
    this.transmit(p.server, p.datagram);
  }

  private settle(p: Pending, o: RadiusOutcome): void {
    if (p.settled) return;
    p.settled = true;
    this.releaseAttempt(p);
    this.active.delete(p);
    p.resolve(o);
  }

  /** The earliest time handleTimeout must be called, or undefined when nothing is outstanding. */
  pollTimeout(): Millis | undefined {
    let t: number | undefined;
    for (const p of this.active) if (t === undefined || p.nextAt < t) t = p.nextAt;
    return t;
  }

  handleTimeout(now: Millis): void {
    for (const p of [...this.active]) {
      if (p.settled || p.nextAt > now) continue;
      const s = this.servers[p.server];
      if (now >= p.deadline) {
        s.counters.timeouts++;
        p.tried.push(`${s.label} (${this.attemptSummary(s, p)}, overall deadline ${this.deadlineMs} ms reached)`);
        this.noteSilence(s, p, now, false);
        this.settle(p, { ok: false, message: this.failureMessage(p), tried: p.tried });
      } else if (p.sends <= this.retries) {
        this.send(p, now);
      } else {
        s.counters.timeouts++;
        p.tried.push(`${s.label} (${this.attemptSummary(s, p)})`);
        this.noteSilence(s, p, now, true);
        this.nextServer(p, now);
      }
    }
  }

  private attemptSummary(s: ServerState, p: Pending): string {
    const what = `${p.sends} ${p.sends === 1 ? "transmission" : "transmissions"}`;
    if (s.badAuthSinceValid > 0) return `${what}, replies failed the authenticator: check the shared secret`;
    if (s.missingMaSinceValid > 0) return `${what}, replies dropped for lack of a Message-Authenticator: ${MISSING_MA_ADVICE}`;
    return `${what} unanswered`;
  }

  /** A server did not answer a request: mark it dead and say why in plain words. */
  private noteSilence(s: ServerState, p: Pending, now: Millis, markDead: boolean): void {
    if (markDead && this.deadTimeMs > 0) s.deadUntil = now + this.deadTimeMs;
    const dead = markDead && this.deadTimeMs > 0 ? `; skipped for ${Math.round(this.deadTimeMs / 1000)} s` : "";
    if (s.missingMaSinceValid > 0 && s.badAuthSinceValid === 0) {
      this.rateLog(s, "no-ma", now, `RADIUS server ${s.label} answers without Message-Authenticator, so its replies are refused (Blast-RADIUS, CVE-2024-3596): ${MISSING_MA_ADVICE}${dead}`);
    } else if (s.badAuthSinceValid > 0) {
      this.rateLog(s, "secret", now, `RADIUS server ${s.label} answers, but its replies fail the Response Authenticator check: check the shared secret (it must be the same in pptp-ts and in the server's client entry)${dead}`);
    } else {
      this.rateLog(s, "silent", now, `RADIUS server ${s.label} is unreachable: no reply to ${radiusCodeName(p.code)} after ${p.sends} ${p.sends === 1 ? "transmission" : "transmissions"} ${this.timeoutMs} ms apart (server down, port blocked, our address not in its clients, or a different shared secret: servers silently drop requests whose Message-Authenticator fails)${dead}`);
    }
  }

  /** One line per (server, kind) per interval; repeats are counted and mentioned in the next line. */
  private rateLog(s: ServerState, kind: string, now: Millis, line: string): void {
    const last = s.lastLog.get(kind);
    if (last !== undefined && now - last < this.logIntervalMs) {
      s.suppressed.set(kind, (s.suppressed.get(kind) ?? 0) + 1);
      return;
    }
    const more = s.suppressed.get(kind) ?? 0;
    s.suppressed.set(kind, 0);
    s.lastLog.set(kind, now);
    this.log(more > 0 ? `${line} (and ${more} more like it since the last report)` : line);
  }

  private drop(s: ServerState, reason: DropReason, now: Millis, detail: string): void {
    s.counters.dropped[reason]++;
    if (reason === "bad-authenticator") s.badAuthSinceValid++;
    if (reason === "missing-message-authenticator") s.missingMaSinceValid++;
    const advice =
      reason === "bad-authenticator" || reason === "bad-message-authenticator" ? ": check the shared secret" : reason === "missing-message-authenticator" ? `: ${MISSING_MA_ADVICE}` : "";
    this.rateLog(s, `drop-${reason}`, now, `RADIUS: dropped reply from ${s.label}: ${detail}${advice} [${s.counters.dropped[reason]} ${reason} so far]`);
  }

  /** A datagram arrived from server `i` (the transport matched the source address and port). */
  receive(i: number, data: Uint8Array, now: Millis): void {
    const s = this.servers[i];
    if (s === undefined) return;
    const d = decodeRadius(data);
    if (!d.ok) {
      this.drop(s, "malformed", now, d.error.message);
      return;
    }
    const r = d.value;
    const p = s.pending.get(r.identifier);
    if (p === undefined || p.settled) {
      this.drop(s, "unexpected", now, `${radiusCodeName(r.code)} with Identifier ${r.identifier} answers no outstanding request (late or duplicate)`);
      return;
    }
    if (!replyCodes(p.code).includes(r.code)) {
      this.drop(s, "wrong-code", now, `${radiusCodeName(r.code)} does not answer ${radiusCodeName(p.code)}`);
      return;
    }
    const vector = p.requestAuthenticator ?? p.datagram.subarray(4, 20);
    const check = verifyResponse(data, vector, s.spec.secret);
    if (!check.authenticator) {
      this.drop(s, "bad-authenticator", now, `${radiusCodeName(r.code)} Identifier ${r.identifier} has a wrong Response Authenticator`);
      return;
    }
    if (check.messageAuthenticator === "bad") {
      this.drop(s, "bad-message-authenticator", now, `${radiusCodeName(r.code)} Identifier ${r.identifier} has a wrong Message-Authenticator`);
      return;
    }
    if (check.messageAuthenticator === "absent" && p.code === RadiusCode.AccessRequest) {
      this.drop(s, "missing-message-authenticator", now, `${radiusCodeName(r.code)} Identifier ${r.identifier} has no Message-Authenticator`);
      return;
    }
    s.counters.responses++;
    s.badAuthSinceValid = 0;
    s.missingMaSinceValid = 0;
    s.deadUntil = -Infinity;
    // Copy: the response outlives the receive buffer.
    const copy = data.slice(0, data.length);
    const response = decodeRadius(copy);
    if (!response.ok) return; // cannot happen: the same octets decoded above
    this.settle(p, {
      ok: true,
      response: response.value,
      server: i,
      serverLabel: s.label,
      requestAuthenticator: vector.slice(),
      secret: s.spec.secret,
    });
  }

  /** The transport reported an error for server `i` (ICMP port unreachable...): logged, the timer still rules. */
  transportError(i: number, message: string, now: Millis): void {
    const s = this.servers[i];
    if (s !== undefined) this.rateLog(s, "transport", now, `RADIUS server ${s.label}: ${message}`);
  }

  /** Fail every outstanding request (shutdown). */
  close(): void {
    for (const p of [...this.active]) this.settle(p, { ok: false, message: "RADIUS client closed", tried: p.tried });
  }
}
