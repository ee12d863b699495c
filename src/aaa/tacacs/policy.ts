/**
 * TACACS+ authorization AV pairs (RFC 8907 §8.2, service=ppp protocol=ip) → SessionPolicy.
 *
 *   addr=10.1.2.3           the client's tunnel address (RADIUS Framed-IP-Address)
 *   addr-pool=NAME          a named pool of ours (Framed-Pool)
 *   route=10.9.0.0/16 | route=10.9.0.0 255.255.0.0 [gateway]   networks behind the client (Framed-Route; the
 *                           second form is the Cisco IOS one; the gateway is ignored: it is always the client)
 *   routing=true|false      §8.2: whether routing information is exchanged: nothing for us to do, accepted
 *   timeout=MINUTES         §8.2: session timeout in minutes, 0 = none
 *   idletime=MINUTES        §8.2: idle timeout in minutes, 0 = none
 *   mtu=N                   (common vendor extension) Framed-MTU
 *
 * §6.1: a mandatory pair ('=') the client does not understand makes the authorization fail; an optional one
 * ('*') is ignored. The same applies to a known pair with a value we cannot use.
 */
import { parseIpv4 } from "../../wire/ipv4.js";
import type { SessionPolicy } from "../types.js";
import { splitAvPair } from "./codec.js";

export type PolicyResult = { readonly ok: true; readonly policy: SessionPolicy } | { readonly ok: false; readonly problem: string };

/** Pairs echoed from the request or without meaning for a PPTP server: accepted and ignored. */
const IGNORED = new Set(["service", "protocol", "routing", "priv-lvl", "inacl", "outacl", "acl", "callback-dialstring", "nocallback-verify"]);
const MINUTE_MS = 60_000;
/** setTimeout's limit, like the config's session timers. */
const MAX_MINUTES = 24 * 24 * 60;

export function policyFromAvPairs(args: readonly string[]): PolicyResult {
  let framedAddress: string | undefined;
  let framedPool: string | undefined;
  let framedMtu: number | undefined;
  let sessionTimeoutMs: number | undefined;
  let idleTimeoutMs: number | undefined;
  const routes: string[] = [];
  for (const arg of args) {
    const av = splitAvPair(arg);
    if (av === undefined) return { ok: false, problem: `AV pair "${arg}" has no '=' or '*'` };
    const name = av.name.toLowerCase();
    const value = av.value.trim();
    const bad = (why: string): PolicyResult | undefined =>
      av.mandatory ? { ok: false, problem: `mandatory AV pair "${arg}": ${why}` } : undefined;
    let problem: PolicyResult | undefined;
    switch (name) {
      case "addr": {
        const a = parseIpv4(value);
        if (a.ok) framedAddress = value;
        else problem = bad("not an IPv4 address");
        break;
      }
      case "addr-pool":
        if (value !== "") framedPool = value;
        else problem = bad("empty pool name");
        break;
      case "route": {
        const r = parseRoute(value);
        if (r !== undefined) routes.push(r);
        else problem = bad(`not a route ("10.1.0.0/16" or "10.1.0.0 255.255.0.0")`);
        break;
      }
      case "timeout":
      case "idletime": {
        const m = /^\d{1,7}$/.test(value) ? Number(value) : NaN;
        if (!(m <= MAX_MINUTES)) problem = bad(`not a number of minutes from 0 to ${MAX_MINUTES}`);
        else if (name === "timeout") sessionTimeoutMs = m * MINUTE_MS;
        else idleTimeoutMs = m * MINUTE_MS;
        break;
      }
      case "mtu": {
        const m = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
        if (m >= 576 && m <= 1500) framedMtu = m;
        else problem = bad("not an MTU from 576 to 1500");
        break;
      }
      default:
        if (!IGNORED.has(name)) problem = bad("not understood by this NAS (RFC 8907 §6.1: the authorization fails)");
    }
    if (problem !== undefined) return problem;
  }
  const policy: { -readonly [K in keyof SessionPolicy]: SessionPolicy[K] } = {};
  if (framedAddress !== undefined) policy.framedAddress = framedAddress;
  if (framedPool !== undefined) policy.framedPool = framedPool;
  if (routes.length > 0) policy.framedRoutes = routes;
  if (framedMtu !== undefined) policy.framedMtu = framedMtu;
  if (sessionTimeoutMs !== undefined) policy.sessionTimeoutMs = sessionTimeoutMs;
  if (idleTimeoutMs !== undefined) policy.idleTimeoutMs = idleTimeoutMs;
  return { ok: true, policy };
}

/** "10.1.0.0/16", "10.1.0.0 255.255.0.0" or either followed by a gateway → "10.1.0.0/16"; host bits must be 0. */
export function parseRoute(text: string): string | undefined {
  const parts = text.split(/\s+/).filter((p) => p !== "");
  if (parts.length === 0) return undefined;
  let net: string;
  let len: number;
  const slash = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(parts[0]);
  if (slash !== null) {
    if (parts.length > 2) return undefined;
    net = slash[1];
    len = Number(slash[2]);
  } else {
    if (parts.length < 2 || parts.length > 3) return undefined;
    net = parts[0];
    const mask = parseIpv4(parts[1]);
    if (!mask.ok) return undefined;
    len = maskLength(mask.value);
    if (len < 0) return undefined;
  }
  const a = parseIpv4(net);
  if (!a.ok || len > 32) return undefined;
  const m = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  if ((a.value & ~m) >>> 0 !== 0) return undefined;
  return `${net}/${len}`;
}

function maskLength(mask: number): number {
  let len = 0;
  while (len < 32 && (mask & (0x80000000 >>> len)) !== 0) len++;
  return ((mask << len) >>> 0) === 0 || len === 32 ? len : -1;
}
