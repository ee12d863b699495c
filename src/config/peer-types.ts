/**
 * Named peers: the `[peer NAME]` sections of pptp-ts.conf, as plain data.
 *
 * The seeds' routers distinguish an anonymous dial-in (any user in chap-secrets, an address from the pool) from
 * a specific peer with its own settings. A named peer is one end of a tunnel that this process knows by name:
 *
 *   role = client   we authenticate to the peer and take the tunnel address it gives (a remote-access client,
 *                   or a branch office router). We start the tunnel (`connect = persistent | on-demand`, sending
 *                   Outgoing-Call-Request), and with `answer = yes` we also accept the peer's control connection
 *                   and place an Incoming-Call-Request on it (the Yamaha FAQ's "server-initiated" LAN-to-LAN call).
 *   role = server   the peer authenticates to us as `user` and gets `remote-address` (or one from the pool); its
 *                   `routes` are installed towards the session while it is up. With `connect = persistent |
 *                   on-demand` we start the control connection to `remote` ourselves and wait for its
 *                   Incoming-Call-Request; with `connect = passive` (default) we only answer its calls.
 *
 * Durations are milliseconds; addresses are dotted-quad strings.
 */
import type { CcpPolicy, MppeStrength } from "../ppp/options-ccp.js";
import type { AuthMethod } from "../wire/ppp-protocols.js";
import type { FlowControl } from "../pptp/send-window.js";

export type PeerRole = "client" | "server";
/** persistent: keep the tunnel up (redial with backoff); on-demand: dial when traffic for the peer appears; passive: never dial. */
export type PeerConnect = "persistent" | "on-demand" | "passive";

/** An IPv4 prefix: `network` is the masked network address, 0 ≤ `prefix` ≤ 32. */
export interface Ipv4Prefix {
  readonly network: string;
  readonly prefix: number;
}

export interface PeerConfig {
  /** The NAME of `[peer NAME]`: letters, digits, '-', '_', '.'; unique in the file (case-insensitive). */
  readonly name: string;
  /** Line of the `[peer NAME]` header, for messages about the section as a whole. */
  readonly line: number;
  readonly role: PeerRole;
  readonly connect: PeerConnect;
  /** role client: also accept this peer's control connection and place an Incoming-Call-Request on it. */
  readonly answer: boolean;
  /** The peer's endpoint: IPv4 address or host name, resolved again at every attempt (dynamic DNS). */
  readonly remote: string | undefined;
  /** TCP port of the peer's PPTP control listener when we dial it. */
  readonly port: number;
  /** role client: the name we authenticate as; role server: the name the peer must authenticate as. */
  readonly user: string | undefined;
  /** role client: our password; role server: the peer's password (absent: the users file's entry is used). */
  readonly password: string | undefined;
  /** Authentication methods allowed, best first. */
  readonly auth: readonly AuthMethod[];
  readonly mppe: {
    readonly policy: CcpPolicy;
    readonly strengths: readonly MppeStrength[];
    readonly stateless: CcpPolicy;
  };
  /** Tunnel addresses. role server: remote-address is what the peer gets. role client: local-address is asked for (optional). */
  readonly localAddress: string | undefined;
  readonly remoteAddress: string | undefined;
  /** Networks behind the peer, routed into its tunnel while it is up (and triggering the dial when on-demand). */
  readonly routes: readonly Ipv4Prefix[];
  /** role client: send all traffic into the tunnel (two /1 routes; the server keeps a host route outside). */
  readonly defaultRoute: boolean;
  readonly mtu: number;
  readonly mru: number;
  /** role client: the TUN device of this peer's tunnel (default "pt-" + name, cut to 15 characters). */
  readonly tunName: string;
  readonly timers: {
    /** PPTP Echo-Request interval on the control connection (RFC 2637 §2.12); 0 = off. */
    readonly echoIntervalMs: number;
    /** LCP Echo-Request interval (RFC 1661 §5.8); 0 = off. */
    readonly lcpEchoIntervalMs: number;
    readonly lcpEchoFailures: number;
    /** Hang up after this long without data; 0 = off. For on-demand peers the next packet dials again. */
    readonly idleTimeoutMs: number;
    /** Hang up after this long in total; 0 = off. */
    readonly sessionTimeoutMs: number;
    /** First wait before redialling after a failure or drop; doubles up to reconnectMaxMs. */
    readonly reconnectMinMs: number;
    readonly reconnectMaxMs: number;
  };
  /** Give up after this many failed attempts in a row (0 = never); authentication failures count too. */
  readonly maxFailures: number;
  /**
   * role client: how our GRE sending follows the server's advertised receive window (RFC 2637 §4.2; send-window.ts).
   * Default "auto": the sliding window once the server acknowledges on its own. Sending freely, a client on a fast
   * machine outruns a server that reads GRE slowly (pptpd on a small CPU), which then drops whole bursts.
   * Undefined for role server peers: their calls follow [gre] flow-control.
   */
  readonly flowControl: FlowControl | undefined;
}
