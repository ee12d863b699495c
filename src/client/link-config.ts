/**
 * A dial-out peer's settings ([peer NAME], role client) as the PPP link and the control connection take them.
 */
import type { PppLinkConfig } from "../ppp/link.js";
import type { ControlConnectionOptions } from "../pptp/control.js";
import type { RandomSource } from "../core/clock.js";
import type { PeerConfig } from "../config/peer-types.js";

export function clientLinkConfig(p: PeerConfig, random: RandomSource): Omit<PppLinkConfig, "role"> {
  return {
    random,
    lcp: { mru: p.mru, echoIntervalMs: p.timers.lcpEchoIntervalMs, echoFailures: p.timers.lcpEchoFailures },
    // pppd's client (refuse-pap etc.) and Windows prove themselves with the methods they are allowed, best first.
    authenticateSelf: { methods: p.auth, userName: p.user ?? "", ...(p.password !== undefined ? { password: p.password } : {}) },
    ipcp: () => ({ role: "client", requestDns: true, requestWins: false, ...(p.localAddress !== undefined ? { localAddress: p.localAddress } : {}) }),
    ccp: { policy: p.mppe.policy, strengths: p.mppe.strengths, stateless: p.mppe.stateless },
  };
}

export function clientControlOptions(p: PeerConfig, hostName: string): Omit<ControlConnectionOptions, "role"> {
  return {
    hostName,
    vendorString: "pptp-ts",
    keepaliveIntervalMs: p.timers.echoIntervalMs,
    // RFC 2637 §3.1.4 leaves the Echo-Reply timeout open; 60 s as the interval's default, like the server.
    keepaliveTimeoutMs: 60_000,
    keepaliveRetries: 2,
    receiveWindow: 64,
  };
}

/** The TUN MTU for a negotiated link: what the peer may receive, less MPPE's 2-byte header and 2-byte protocol (RFC 3078 §3). */
export function tunnelMtu(configured: number, peerMru: number | undefined, mppe: boolean): number {
  const m = Math.min(configured, peerMru ?? configured);
  return mppe ? m - 4 : m;
}
