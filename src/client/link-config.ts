/**
 * A dial-out peer's settings ([peer NAME], role client) as the PPP link and the control connection take them.
 */
import { MPPE_OVERHEAD, type PppLinkConfig } from "../ppp/link.js";
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
    // 64, not the server's ADVERTISED_RECEIVE_WINDOW: pptpd and accel-ppp put the window of our Outgoing-Call-Request
    // back in their Outgoing-Call-Reply, so what we advertise is the window we then keep to against them (flow-control
    // auto). Asked for 512, pptpd answered 512 and our upload to it fell to 3.3 Mbit/s; with 64, 13-26.
    receiveWindow: 64,
  };
}

/**
 * The TUN MTU for a negotiated link, as pppd sets ppp0's (lcp_up, then less MPPE_PAD in ccp_up): the smallest of
 * the configured MTU, the peer's MRU (what it can receive) and our own MRU as acknowledged (what it promised to
 * send: the MTU is what local TCP derives the MSS it advertises from), less MPPE's 2-octet header and 2-octet
 * protocol field (RFC 3078 §3). Datagrams that still come larger (held for an on-demand dial, an MTU an operator
 * raised) are fragmented or refused on the way out (src/session/call.ts).
 */
export function tunnelMtu(configured: number, peerMru: number | undefined, mppe: boolean, localMru?: number): number {
  const m = Math.min(configured, peerMru ?? configured, localMru ?? configured);
  return mppe ? m - MPPE_OVERHEAD : m;
}
