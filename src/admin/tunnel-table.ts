/**
 * `pptp-ts show tunnels`, `show peers` and `show vpdn` for a terminal. `show vpdn` follows the shape the seeds'
 * operators read on Cisco IOS/PIX (totals, then a tunnel table — ID, remote name, state, addresses, sessions —
 * then a session table — LocID, RemID, TunID, Intf, Username, State, Last Chg), in our own words.
 */
import type { PeerLine, TunnelCallLine, TunnelLine } from "./commands.js";
import { columns, formatBytes, formatDuration } from "./session-table.js";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const dash = (v: string | number | undefined) => (v === undefined || v === "" ? "-" : String(v));

/** "a.b.c.d:port" → [address, port]. */
function splitEndpoint(e: string | undefined): [string, string] {
  if (e === undefined) return ["-", "-"];
  const i = e.lastIndexOf(":");
  return i < 0 ? [e, "-"] : [e.slice(0, i), e.slice(i + 1)];
}

/** `show tunnels`: one line per control connection, whether or not it carries a call. */
export function tunnelTable(tunnels: readonly TunnelLine[]): string {
  const rows = tunnels.map((t) => [
    dash(t.id),
    t.role,
    t.remote,
    dash(t.local),
    dash(t.peerName),
    t.state,
    dash(t.hostName),
    dash(t.vendor),
    String(t.calls),
    t.callIds.length ? t.callIds.join(",") : "-",
    formatDuration(t.uptimeMs),
  ]);
  const head = ["TUNNEL", "ROLE", "REMOTE", "LOCAL", "PEER", "STATE", "HOST", "VENDOR", "CALLS", "CALL IDS", "UPTIME"];
  return [...columns([head, ...rows]), plural(tunnels.length, "tunnel")].join("\n") + "\n";
}

/** "in 4.2 s" / "in 1m 05s" — how long until the peer dials again. */
function redialIn(ms: number): string {
  if (ms < 60_000) return `in ${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `in ${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
}

/** `show peers`: each dial-out peer's state, its last failure in plain words and when it redials. */
export function peerTable(peers: readonly PeerLine[]): string {
  const rows = peers.map((p) => [
    p.name,
    p.state,
    dash(p.server),
    dash(p.localAddress),
    p.upForMs !== undefined ? formatDuration(p.upForMs) : "-",
    String(p.failures),
    p.nextRedialInMs !== undefined ? redialIn(p.nextRedialInMs) : "-",
    p.lastError ?? "-",
  ]);
  const head = ["PEER", "STATE", "SERVER", "ADDRESS", "UPTIME", "FAILURES", "NEXT REDIAL", "LAST FAILURE"];
  return [...columns([head, ...rows]), plural(peers.length, "dial-out peer")].join("\n") + "\n";
}

/**
 * "off", or "sliding 12/32 of 512" (unacknowledged / our window, of the peer's advertised one), then what the window
 * cost: ", 40 dropped at full window, 1 ack time-out". "-" while a data-plane worker runs the call.
 */
function greWindow(g: TunnelCallLine["gre"]): string {
  if (g === undefined) return "-";
  let t = g.flowControl;
  if (g.window !== undefined) t += ` ${g.outstanding}/${g.window} of ${g.peerWindow ?? "-"}`;
  if (g.windowFull > 0) t += `, ${g.windowFull} dropped at full window`;
  if (g.ackTimeouts > 0) t += `, ${plural(g.ackTimeouts, "ack time-out")}`;
  return t;
}

/** `show vpdn`: totals, the tunnels, then every session on them. */
export function vpdnText(tunnels: readonly TunnelLine[]): string {
  const sessions = tunnels.flatMap((t) => (t.sessions ?? []).map((s) => ({ t, s })));
  const out = [`PPTP tunnel and session information: total tunnels ${tunnels.length}, sessions ${sessions.length}`];
  if (tunnels.length === 0) return [...out, "", "%No active PPTP tunnels"].join("\n") + "\n";
  out.push("");
  const tRows = tunnels.map((t) => {
    const [ra, rp] = splitEndpoint(t.remote);
    const [la, lp] = splitEndpoint(t.local);
    return [dash(t.id), t.role, dash(t.hostName), t.state, ra, rp, la, lp, String(t.calls), dash(t.peerName), t.sinceChangeMs !== undefined ? formatDuration(t.sinceChangeMs) : "-"];
  });
  out.push(...columns([["TunID", "Role", "Remote Name", "State", "Remote Address", "Port", "Local Address", "Port", "Sessions", "Peer", "Last Chg"], ...tRows]));
  out.push("");
  if (sessions.length === 0) out.push("%No active PPTP sessions");
  else {
    const sRows = sessions.map(({ t, s }) => [
      String(s.callId),
      String(s.peerCallId),
      dash(t.id),
      dash(s.interface),
      dash(s.user),
      s.state,
      formatDuration(s.sinceChangeMs),
      dash(s.address),
      `${formatBytes(s.bytesIn)}/${formatBytes(s.bytesOut)}`,
      `${s.packetsIn}/${s.packetsOut}`,
      greWindow(s.gre),
    ]);
    out.push(...columns([["LocID", "RemID", "TunID", "Intf", "Username", "State", "Last Chg", "Address", "Bytes In/Out", "Pkts In/Out", "GRE Send"], ...sRows]));
  }
  return out.join("\n") + "\n";
}
