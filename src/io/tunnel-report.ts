/**
 * One control connection (a PPTP "tunnel", RFC 2637 §1.3) described for the operator: `pptp-ts show tunnels` and
 * `show vpdn` read it, for the server's connections and the dial-out peers' alike. Built from the runner's socket
 * and the sans-I/O connection on request only — nothing here runs per packet.
 */
import type { ControlState } from "../pptp/control.js";
import type { ConnectionBase } from "../session/connection.js";
import type { LinkPhase } from "../ppp/link.js";
import type { GreChannel } from "../pptp/gre-channel.js";
import type * as net from "node:net";

/** One call on a tunnel, as `show vpdn` lists it (the seeds' LocID / RemID / TunID / Username / State / Last Chg). */
export interface TunnelCallReport {
  /** Our Call ID (the key the peer puts in its GRE packets to us). */
  readonly callId: number;
  /** The peer's Call ID (0 until it told us). */
  readonly peerCallId: number;
  /** "up" once IP flows, else the PPP phase in words (lcp, auth, ipcp, closing). */
  readonly state: string;
  readonly user?: string;
  /** The tunnel address: the client's (server role) or ours (client role). */
  readonly address?: string;
  /** The TUN device its IP goes through. */
  readonly interface?: string;
  /** Since the session came up, or since the call started while it still negotiates. */
  readonly sinceChangeMs: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly packetsIn: number;
  readonly packetsOut: number;
  /** Our GRE sending against the peer's receive window (send-window.ts); absent while a data-plane worker runs it. */
  readonly gre?: TunnelCallGre;
}

/** A call's GRE send window for the operator: is the peer pacing us, and are we dropping because it does? */
export interface TunnelCallGre {
  /** The mode in force: off, fixed or sliding ("auto" is off until the peer acknowledges on its own). */
  readonly flowControl: string;
  /** Our current transmit window and the peer's advertised one, in packets (absent while sending freely). */
  readonly window?: number;
  readonly peerWindow?: number;
  /** Data packets sent and not yet acknowledged. */
  readonly outstanding: number;
  /** Packets dropped because the peer's window was full (PPTP never retransmits; TCP above does). */
  readonly windowFull: number;
  /** Acknowledgment time-outs: the peer stopped acknowledging for longer than the adaptive time-out. */
  readonly ackTimeouts: number;
}

/** One control connection: the fields of the admin contract's TunnelLine (src/admin/commands.ts), and its calls. */
export interface TunnelReport {
  /** A number for this connection, unique in the process while it runs (the seeds' "Tunnel id"). */
  readonly id: number;
  readonly role: "server" | "client";
  readonly remote: string;
  readonly local?: string;
  readonly peerName?: string;
  readonly state: string;
  readonly hostName?: string;
  readonly vendor?: string;
  readonly calls: number;
  readonly callIds: readonly number[];
  readonly uptimeMs: number;
  /** Since the control connection last changed state. */
  readonly sinceChangeMs: number;
  readonly sessions: readonly TunnelCallReport[];
}

let nextId = 1;

/** A process-wide tunnel number (1..65535, then round again): both roles draw from it, so no two running tunnels share one. */
export function newTunnelId(): number {
  const id = nextId;
  nextId = nextId >= 0xffff ? 1 : nextId + 1;
  return id;
}

/**
 * When a control connection's state last changed. The owner calls observe() after each event the connection
 * produced (every state change comes with one: a log line, "closed") and after acting on it (stop), so the time is
 * right to within one service round.
 */
export class TunnelClock {
  readonly id = newTunnelId();
  readonly startedAt: number;
  changedAt: number;
  private last: ControlState | undefined;

  constructor(now: number) {
    this.startedAt = now;
    this.changedAt = now;
  }

  observe(state: ControlState, now: number): void {
    if (state === this.last) return;
    if (this.last !== undefined) this.changedAt = now;
    this.last = state;
  }
}

/** RFC 2637 §3.1.1's states in the words `show tunnels` prints. */
export function tunnelStateWords(s: ControlState): string {
  switch (s) {
    case "wait-ctl-request":
    case "wait-ctl-answer":
      return "wait-sccrq";
    case "wait-ctl-reply":
      return "wait-sccrp";
    case "wait-stop-reply":
      return "stopping";
    default:
      return s;
  }
}

function callStateWords(phase: LinkPhase, up: boolean): string {
  if (up) return "up";
  switch (phase) {
    case "dead":
      return "starting";
    case "establish":
      return "lcp";
    case "authenticate":
      return "auth";
    case "network":
      return "ipcp";
    case "terminate":
      return "closing";
  }
}

function endpoint(address: string | undefined, port: number | undefined): string {
  return `${(address ?? "?").replace(/^::ffff:/, "")}${port !== undefined ? `:${port}` : ""}`;
}

/** What the owner knows of a call beyond the connection itself (user, address, device, when it came up). */
export interface CallExtras {
  readonly user?: string;
  readonly address?: string;
  readonly interface?: string;
  /** Monotonic time the session came up, or the call started. */
  readonly since?: number;
}

function greOf(ch: GreChannel): TunnelCallGre {
  const finite = ch.sendWindow !== Infinity;
  return {
    flowControl: ch.flowControl,
    ...(finite ? { window: ch.sendWindow, peerWindow: ch.peerWindow } : {}),
    outstanding: ch.outstanding,
    windowFull: ch.stats.windowFull,
    ackTimeouts: ch.stats.ackTimeouts,
  };
}

export function reportTunnel(
  o: {
    readonly clock: TunnelClock;
    readonly role: "server" | "client";
    readonly conn: ConnectionBase;
    readonly socket: net.Socket;
    readonly peerName?: string;
    readonly callExtras?: (callId: number) => CallExtras | undefined;
  },
  now: number,
): TunnelReport {
  const { conn, socket, clock } = o;
  clock.observe(conn.control.state, now);
  const peer = conn.control.peer;
  const sessions: TunnelCallReport[] = [];
  for (const [callId, c] of conn.sessions) {
    const x = o.callExtras?.(callId);
    const st = c.link.stats;
    sessions.push({
      callId,
      peerCallId: c.peerCallId,
      state: callStateWords(c.link.phase, c.link.networkUp),
      ...(x?.user !== undefined ? { user: x.user } : {}),
      ...(x?.address !== undefined ? { address: x.address } : {}),
      ...(x?.interface !== undefined ? { interface: x.interface } : {}),
      sinceChangeMs: Math.max(0, now - (x?.since ?? clock.changedAt)),
      bytesIn: st.bytesIn,
      bytesOut: st.bytesOut,
      packetsIn: st.ipIn,
      packetsOut: st.ipOut,
      ...(c.greIn === undefined ? { gre: greOf(c.channel) } : {}),
    });
  }
  // Calls being set up on the control connection (no PPP yet) count as calls too.
  const callIds = [...new Set([...conn.sessions.keys(), ...conn.control.listCalls().map((c) => c.callId)])].sort((a, b) => a - b);
  return {
    id: clock.id,
    role: o.role,
    remote: endpoint(socket.remoteAddress, socket.remotePort),
    ...(socket.localAddress !== undefined ? { local: endpoint(socket.localAddress, socket.localPort) } : {}),
    ...(o.peerName !== undefined ? { peerName: o.peerName } : {}),
    state: tunnelStateWords(conn.control.state),
    ...(peer ? { hostName: peer.hostName, vendor: peer.vendorString } : {}),
    calls: callIds.length,
    callIds,
    uptimeMs: Math.max(0, now - clock.startedAt),
    sinceChangeMs: Math.max(0, now - clock.changedAt),
    sessions,
  };
}
