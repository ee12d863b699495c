/**
 * What the AAA backend said about a session (SessionPolicy: RADIUS reply attributes, TACACS+ authorization), turned
 * into the server's decisions: where the client's address comes from, which networks route to it, its timers, and
 * the one log line that says what was applied. Pure; src/server/server.ts acts on the results.
 */
import type { SessionPolicy } from "../aaa/types.js";
import type { Ipv4Prefix } from "../config/peer-types.js";
import { ipv4Prefix } from "../config/config-values.js";
import type { SessionTimeLimits } from "../session/session-timers.js";
import { parseIpv4 } from "../wire/ipv4.js";

/**
 * Where the address comes from, in this order: a named peer's own address; the backend's Framed-IP-Address
 * (a dotted address is this user's and is refused when someone holds it; "pool" = 255.255.255.254 takes one from
 * Framed-Pool or the default pool; "peer" = 255.255.255.255 is treated as "pool": a PPTP client that proposes an
 * address would pick one that may belong to someone else, so we assign one all the same); Framed-Pool alone; a
 * chap-secrets address; the default pool.
 */
export type AddressPlan =
  | { readonly kind: "static"; readonly address: string; readonly source: string }
  | { readonly kind: "pool"; readonly pool?: string; readonly source: string };

export function planAddress(policy: SessionPolicy | undefined, peerAddress: string | undefined, chapAddresses: readonly string[] | undefined): AddressPlan | { readonly refuse: string } {
  if (peerAddress !== undefined) return { kind: "static", address: peerAddress, source: "the named peer's remote-address" };
  const fa = policy?.framedAddress;
  const pool = policy?.framedPool;
  if (fa !== undefined && fa !== "pool" && fa !== "peer") {
    if (!parseIpv4(fa).ok) return { refuse: `the authentication backend gave the address "${fa}", which is not an IPv4 address` };
    return { kind: "static", address: fa, source: "Framed-IP-Address" };
  }
  if (fa !== undefined || pool !== undefined) {
    return pool !== undefined ? { kind: "pool", pool, source: `Framed-Pool "${pool}"` } : { kind: "pool", source: `Framed-IP-Address ${fa}: the default pool` };
  }
  const fixed = chapAddresses?.find((a) => parseIpv4(a).ok);
  if (fixed !== undefined) return { kind: "static", address: fixed, source: "the users file" };
  return { kind: "pool", source: "the default pool" };
}

/**
 * Framed-Route prefixes (RFC 2865 §5.22) we can route: well-formed networks no wider than a /8 (a backend's
 * 0.0.0.0/0 would pull every packet the host has into one client's tunnel); the rest are named in `refused`.
 */
export function framedRoutes(policy: SessionPolicy | undefined): { readonly routes: Ipv4Prefix[]; readonly refused: string[] } {
  const routes: Ipv4Prefix[] = [];
  const refused: string[] = [];
  for (const text of policy?.framedRoutes ?? []) {
    const p = ipv4Prefix(text);
    if (!p.ok) refused.push(`${text} (${p.problems[0]?.problem ?? "not a network"})`);
    else if (p.value.prefix < 8) refused.push(`${text} (wider than a /8)`);
    else routes.push(p.value);
  }
  return { routes, refused };
}

/** The backend's Session-Timeout / Idle-Timeout over the configured timers (0 from the backend means none). */
export function sessionLimits(base: SessionTimeLimits, policy: SessionPolicy | undefined, change?: Partial<SessionTimeLimits>): SessionTimeLimits {
  return {
    idleTimeoutMs: change?.idleTimeoutMs ?? policy?.idleTimeoutMs ?? base.idleTimeoutMs,
    sessionTimeoutMs: change?.sessionTimeoutMs ?? policy?.sessionTimeoutMs ?? base.sessionTimeoutMs,
  };
}

/** One line naming every attribute the backend set, e.g. `framed-address pool, framed-pool "office", mtu 1300`. */
export function describePolicy(p: SessionPolicy): string {
  const out: string[] = [];
  const secs = (ms: number): string => (ms === 0 ? "none" : `${Math.round(ms / 1000)} s`);
  if (p.framedAddress !== undefined) out.push(`framed-address ${p.framedAddress}`);
  if (p.framedPool !== undefined) out.push(`framed-pool "${p.framedPool}"`);
  if (p.framedRoutes?.length) out.push(`routes ${p.framedRoutes.join(", ")}`);
  if (p.framedMtu !== undefined) out.push(`mtu ${p.framedMtu}`);
  if (p.sessionTimeoutMs !== undefined) out.push(`session-timeout ${secs(p.sessionTimeoutMs)}`);
  if (p.idleTimeoutMs !== undefined) out.push(`idle-timeout ${secs(p.idleTimeoutMs)}`);
  if (p.interimIntervalMs !== undefined) out.push(`interim-interval ${secs(p.interimIntervalMs)}`);
  if (p.classes?.length) out.push(`class x${p.classes.length}`);
  if (p.mppe) out.push(`mppe ${p.mppe.policy}${p.mppe.strengths ? ` ${p.mppe.strengths.join("/")}` : ""}`);
  if (p.replyMessage !== undefined) out.push(`reply-message ${JSON.stringify(p.replyMessage)}`);
  return out.join(", ");
}
