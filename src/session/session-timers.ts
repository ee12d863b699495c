/**
 * The idle and session time limits of a session that is up (RFC 2637 leaves both to the implementation; Cisco
 * calls the idle one the "Tunnel disconnect timer", pppd `idle` and `maxconnect`, RADIUS Idle-Timeout and
 * Session-Timeout). One rule for both roles: the idle limit counts from the last data packet either way, the
 * session limit from network-up, and when both have run out the idle one is named (it is the likelier cause).
 * Pure: the drivers pass their clock's `now`, tests a fake one.
 */
import type { Millis } from "../core/clock.js";

export interface SessionTimeLimits {
  /** 0 = off. */
  readonly idleTimeoutMs: number;
  /** 0 = off. */
  readonly sessionTimeoutMs: number;
}

export type SessionTimeExpiry =
  | { readonly kind: "idle"; readonly idleForMs: Millis }
  | { readonly kind: "session"; readonly limitMs: Millis };

/** Which limit, if any, has run out at `now` for a session up since `upSince` whose last data moved at `lastActivity`. */
export function sessionTimeExpiry(limits: SessionTimeLimits, now: Millis, lastActivity: Millis, upSince: Millis): SessionTimeExpiry | undefined {
  if (limits.idleTimeoutMs > 0 && now - lastActivity >= limits.idleTimeoutMs) return { kind: "idle", idleForMs: now - lastActivity };
  if (limits.sessionTimeoutMs > 0 && now - upSince >= limits.sessionTimeoutMs) return { kind: "session", limitMs: limits.sessionTimeoutMs };
  return undefined;
}

/** "session time limit of 2 s reached": the same words in both roles' logs and hang-up reasons. */
export function sessionLimitReason(limitMs: Millis): string {
  return `session time limit of ${Math.round(limitMs / 1000)} s reached`;
}
