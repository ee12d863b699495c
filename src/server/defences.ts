/**
 * The server's defences in one place, between the driver (server.ts) and the sans-I/O limiters: which control
 * connections to accept and when to end them (connection-limits.ts), how to answer authentications while a name
 * or address is guessing (auth-guard.ts), and the aggregated log lines for everything that can repeat per packet
 * or per attempt (log-aggregator.ts). server.ts calls it from a handful of hooks: accept, housekeeping, verify,
 * the session log, GRE drops and reload.
 */
import type { AuthRequest, AuthResult } from "../aaa/types.js";
import { stripDomain } from "../crypto/mschap.js";
import { MSCHAP_ERROR_AUTHENTICATION_FAILURE } from "../wire/chap.js";
import type { GreDropKind } from "../io/gre-demux.js";
import { effectiveMaxConnections, type ServerConfig } from "../config/config.js";
import { ConnectionLimits, sourceKey, type Admission, type ConnectionLimitsConfig } from "./connection-limits.js";
import { AuthGuard, type AuthGuardConfig } from "./auth-guard.js";
import { LogAggregator, type AggregateKind } from "./log-aggregator.js";

type Kind =
  | "max-connections"
  | "max-connections-per-address"
  | "connection-rate"
  | "start-timeout"
  | "no-call-timeout"
  | "auth-locked"
  | "session-error"
  | GreDropKind;

const KINDS: Readonly<Record<Kind, AggregateKind>> = {
  "max-connections": { immediate: true, summary: (n, src, s) => `refused ${n} more control connections from ${src} in the last ${s} s: max-connections reached` },
  "max-connections-per-address": {
    immediate: true,
    summary: (n, src, s) => `refused ${n} more control connections from ${src} in the last ${s} s: max-connections-per-address reached`,
  },
  "connection-rate": { immediate: true, summary: (n, src, s) => `refused ${n} more control connections from ${src} in the last ${s} s: over connection-rate` },
  "start-timeout": { immediate: true, summary: (n, src, s) => `closed ${n} more control connections from ${src} in the last ${s} s: no SCCRQ within start-timeout` },
  "no-call-timeout": { immediate: true, summary: (n, src, s) => `stopped ${n} more control connections from ${src} in the last ${s} s: no call within no-call-timeout` },
  "auth-locked": { immediate: true, summary: (n, src, s) => `answered ${n} more locked-out login attempts (${src}) as failures in the last ${s} s` },
  "session-error": { immediate: true, summary: (n, _src, s, first) => `${n} more like this in the last ${s} s: ${first}` },
  unknownCall: { summary: (n, src, s) => `dropped ${n} GRE packets for unknown calls from ${src} in the last ${s} s` },
  wrongPeer: { summary: (n, src, s) => `dropped ${n} GRE packets for known calls from ${src}, which is not their peer, in the last ${s} s` },
  malformed: { summary: (n, src, s) => `dropped ${n} malformed GRE packets from ${src} in the last ${s} s` },
  wrongLocalAddress: {
    summary: (n, src, s) => `dropped ${n} GRE packets from ${src} sent to another of our addresses than their control connection's in the last ${s} s`,
  },
};

export interface DefencesOptions {
  readonly now: () => number;
  /** One finished log line, category "errors" (problems caused by peers, aggregated) or "events". */
  readonly log: (category: "events" | "errors", message: string) => void;
  /** Waits for an answer's delay (a timer; one per pending answer, so no other session waits). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Per-connection state the deadlines look at. */
export interface ConnectionClock {
  readonly acceptedAt: number;
  /** Calls the connection holds now. */
  calls: number;
  /** When it last came to hold no call; undefined while it holds one. */
  idleSince: number | undefined;
  /** Set once the connection is being ended for overstaying (it is not ended twice). */
  expiring: boolean;
}

export function limitsOf(s: ServerConfig): ConnectionLimitsConfig {
  const l = s.limits;
  return {
    maxConnections: effectiveMaxConnections(s),
    maxConnectionsPerAddress: l.maxConnectionsPerAddress,
    connectionRate: l.connectionRate,
    connectionBurst: l.connectionBurst,
    startTimeoutMs: l.startTimeoutMs,
    noCallTimeoutMs: l.noCallTimeoutMs,
  };
}

export function guardOf(s: ServerConfig): AuthGuardConfig {
  const l = s.limits;
  return {
    windowMs: l.authWindowMs,
    freeFailures: l.authFreeFailures,
    delayMs: l.authDelayMs,
    maxDelayMs: l.authMaxDelayMs,
    maxFailuresPerUser: l.authMaxFailuresPerUser,
    maxFailuresPerAddress: l.authMaxFailuresPerAddress,
    lockoutMs: l.authLockoutMs,
  };
}

export class Defences {
  readonly limits: ConnectionLimits;
  readonly guard: AuthGuard;
  private readonly agg: LogAggregator<Kind>;
  private readonly o: DefencesOptions;
  private readonly sleep: (ms: number) => Promise<void>;
  private caseSensitive: boolean;

  readonly counters = {
    connectionsRefused: 0,
    connectionsExpired: 0,
    authFailures: 0,
    authLockedAttempts: 0,
    lockouts: 0,
  };

  constructor(settings: ServerConfig, o: DefencesOptions) {
    this.o = o;
    this.limits = new ConnectionLimits(limitsOf(settings));
    this.guard = new AuthGuard(guardOf(settings));
    this.caseSensitive = settings.ppp.caseSensitiveUsers;
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms).unref?.()));
    this.agg = new LogAggregator(KINDS, { intervalMs: settings.limits.logIntervalMs, emit: (line) => o.log("errors", line) });
  }

  /** SIGHUP: new limits for new connections and attempts; counts and lockouts so far are kept. */
  configure(settings: ServerConfig): void {
    this.limits.configure(limitsOf(settings));
    this.guard.configure(guardOf(settings));
    this.caseSensitive = settings.ppp.caseSensitiveUsers;
  }

  /** At TCP accept. A refusal is logged (aggregated per address) and counted; the caller closes the socket. */
  admit(source: number, sourceName: string): Admission {
    const now = this.o.now();
    const a = this.limits.admit(now, sourceKey(source, sourceName));
    if (!a.ok) {
      this.counters.connectionsRefused++;
      this.agg.note(now, a.refusal, sourceName, 1, () => `refused control connection from ${sourceName}: ${a.reason}; further refusals are counted for the log`);
    }
    return a;
  }

  /**
   * An admitted connection is gone: `source` and `sourceName` as given to admit. A peer that is not IPv4
   * (`source` 0) is counted by its name, so the caller must pass the name for it to be released.
   */
  release(source: number, sourceName?: string): void {
    if (source !== 0) this.limits.release(source);
    else if (sourceName !== undefined) this.limits.release(sourceName);
    else this.limits.release(0);
  }

  /** Once a second per connection: the reason to end it, if it overstayed (logged, aggregated per address). */
  overstayed(c: ConnectionClock, started: boolean, sourceName: string): string | undefined {
    if (c.expiring) return undefined;
    const now = this.o.now();
    const why = this.limits.expired(now, c.acceptedAt, started, c.calls > 0 ? undefined : c.idleSince);
    if (why === undefined) return undefined;
    c.expiring = true;
    this.counters.connectionsExpired++;
    this.agg.note(now, started ? "no-call-timeout" : "start-timeout", sourceName, 1, () => `control connection from ${sourceName}: ${why}; closing it`);
    return why;
  }

  /** A per-packet or per-attempt problem a session reported: the first is logged, repeats are counted. */
  sessionError(peerName: string, message: string): void {
    // The same message with other numbers (call IDs, lengths) is the same problem.
    const key = `${peerName}: ${message.replace(/[0-9]+/g, "#").slice(0, 120)}`;
    this.agg.note(this.o.now(), "session-error", key, 1, () => message);
  }

  greDrop(kind: GreDropKind, sourceIp: number): void {
    this.agg.note(this.o.now(), kind, sourceIp);
  }

  /** Housekeeping: write the summaries whose interval is over. */
  flush(): void {
    this.agg.flush(this.o.now());
  }

  /**
   * Verify through the guard: a locked-out name or address is answered as a wrong password without asking the
   * backend; a failure is counted and its answer delayed; a success clears the name's count.
   */
  async verify(req: AuthRequest, sourceName: string, backend: (req: AuthRequest) => Promise<AuthResult>): Promise<AuthResult> {
    const key = this.userKey(req.user);
    const v = this.guard.check(this.o.now(), key, sourceName);
    if (v.locked) {
      this.counters.authLockedAttempts++;
      this.guard.failed(this.o.now(), key, sourceName);
      this.agg.note(this.o.now(), "auth-locked", `user ${key} from ${sourceName}`, 1, () => `login of ${key} from ${sourceName} refused without checking: ${v.why}; answered as a wrong password`);
      await this.sleep(v.delayMs);
      return { ok: false, code: MSCHAP_ERROR_AUTHENTICATION_FAILURE, message: `locked out (${v.why})` };
    }
    const r = await backend(req);
    if (r.ok) {
      this.guard.succeeded(key);
      return r;
    }
    this.counters.authFailures++;
    const o = this.guard.failed(this.o.now(), key, sourceName);
    const delay = o.delayMs > 0 ? `; answer delayed ${(o.delayMs / 1000).toFixed(1)} s` : "";
    this.o.log("events", `failed login ${o.userFailures} for ${key}, ${o.addressFailures} from ${sourceName}, in the auth-window${delay}`);
    if (o.lockedOut !== undefined) {
      this.counters.lockouts++;
      this.o.log("events", `login of ${key} from ${sourceName}: ${o.lockedOut}; attempts are refused without checking until then`);
    }
    if (o.delayMs > 0) await this.sleep(o.delayMs);
    return r;
  }

  /** Which count a name belongs to: DOMAIN\alice and alice are one user, case as LocalUsers compares it. */
  private userKey(user: string): string {
    const u = stripDomain(user);
    return this.caseSensitive ? u : u.toLowerCase();
  }
}
