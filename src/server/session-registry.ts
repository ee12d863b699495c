/**
 * What the server knows of each session for AAA: the record behind SessionSnapshot (accounting, Disconnect/CoA,
 * `show sessions`), how a SessionSelector (RFC 5176 §3) matches one, and how user names compare for
 * max-sessions-per-user. The server's per-call state (src/server/server.ts CallRoute) extends SessionRecord.
 */
import type { SessionPolicy, SessionSelector, SessionSnapshot } from "../aaa/types.js";
import type { AuthMethod } from "../wire/ppp-protocols.js";
import { stripDomain } from "../crypto/mschap.js";

/** The PPP link's counters (PppLink.stats): IP datagrams and their octets, from the client (in) and to it (out). */
export interface DatagramCounters {
  readonly ipIn: number;
  readonly ipOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export interface SessionRecord {
  readonly sessionId: string;
  readonly callId: number;
  /** The client's public address (the control connection's remote end). */
  readonly peerAddress: string;
  /** Our end of its control connection. */
  readonly localAddress: string;
  user?: string;
  method?: AuthMethod;
  mppe?: string;
  address?: string;
  policy?: SessionPolicy;
  backend?: string;
  /** Monotonic and wall-clock time of network-up (undefined before). */
  upAt?: number;
  startedWall?: number;
  /** The link's counters, read live (no copy per packet); kept after the call ends for the Stop record. */
  counters?: DatagramCounters;
}

const ZERO: DatagramCounters = { ipIn: 0, ipOut: 0, bytesIn: 0, bytesOut: 0 };

export function snapshotOf(r: SessionRecord, now: number, wallNow: number): SessionSnapshot {
  const c = r.counters ?? ZERO;
  return {
    sessionId: r.sessionId,
    callId: r.callId,
    peerAddress: r.peerAddress,
    localAddress: r.localAddress,
    ...(r.user !== undefined ? { user: r.user } : {}),
    ...(r.method !== undefined ? { method: r.method } : {}),
    ...(r.mppe !== undefined ? { mppe: r.mppe } : {}),
    ...(r.address !== undefined ? { framedAddress: r.address } : {}),
    startedAt: r.startedWall ?? wallNow,
    durationMs: r.upAt !== undefined ? Math.max(0, now - r.upAt) : 0,
    inOctets: c.bytesIn,
    outOctets: c.bytesOut,
    inPackets: c.ipIn,
    outPackets: c.ipOut,
    ...(r.policy !== undefined ? { policy: r.policy } : {}),
    ...(r.backend !== undefined ? { backend: r.backend } : {}),
  };
}

/**
 * The name two logins of the same account share: without a `DOMAIN\` prefix (Windows adds one for MS-CHAP, as
 * isUserName in src/aaa/local.ts allows) and folded to lower case unless [ppp] case-sensitive-users is on.
 */
export function userKey(name: string, caseSensitive: boolean): string {
  const u = stripDomain(name);
  return caseSensitive ? u : u.toLowerCase();
}

/** RFC 5176 §3: every field the selector gives must match; an empty selector matches every session. */
export function selectorMatches(sel: SessionSelector, r: SessionRecord, caseSensitive: boolean): boolean {
  if (sel.sessionId !== undefined && sel.sessionId !== r.sessionId) return false;
  if (sel.user !== undefined && (r.user === undefined || userKey(sel.user, caseSensitive) !== userKey(r.user, caseSensitive))) return false;
  if (sel.framedAddress !== undefined && sel.framedAddress !== r.address) return false;
  return true;
}
