/**
 * `pptp-ts show sessions` for a terminal: one line per session, columns aligned, sizes and times in the units an
 * operator reads at a glance (the seeds' `show vpdn` shape: who, from where, which tunnel address, how long, how
 * much). `--json` prints the snapshots themselves instead.
 */
import type { SessionSnapshot } from "../aaa/types.js";
import type { PoolLine } from "./commands.js";
import { authMethodLabel } from "../wire/ppp-protocols.js";

const HEADERS = ["SESSION", "CALL/PEER", "USER", "CLIENT", "ADDRESS", "AUTH", "MPPE", "UPTIME", "IDLE", "IN", "OUT", "PKTS IN/OUT", "NAMED PEER"];

export function formatDuration(ms: number): string {
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const hms = `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return d > 0 ? `${d}d ${hms}` : hms;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** Columns padded to their widest cell; the last column is not padded. */
export function columns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  "));
}

/** `show pool`: per pool its size, addresses in use, free for anyone and kept for static users. */
export function poolTable(pools: readonly PoolLine[]): string {
  const num = (n: number | undefined) => (n === undefined ? "-" : String(n));
  const rows = [["POOL", "SIZE", "USED", "FREE", "STATIC", "RANGES"], ...pools.map((p) => [p.name, num(p.size), num(p.inUse), num(p.free), num(p.reserved), p.ranges])];
  return columns(rows).join("\n") + "\n";
}

export function sessionTable(sessions: readonly SessionSnapshot[]): string {
  const rows = sessions.map((s) => [
    s.sessionId,
    s.peerCallId !== undefined ? `${s.callId}/${s.peerCallId}` : String(s.callId),
    s.user ?? "-",
    s.peerAddress,
    s.framedAddress ?? "-",
    s.method ? authMethodLabel(s.method) : "-",
    s.mppe ?? "none",
    formatDuration(s.durationMs),
    s.idleMs !== undefined ? formatDuration(s.idleMs) : "-",
    formatBytes(s.inOctets),
    formatBytes(s.outOctets),
    `${s.inPackets}/${s.outPackets}`,
    s.peerName ?? "-",
  ]);
  const n = sessions.length;
  return [...columns([HEADERS, ...rows]), `${n} session${n === 1 ? "" : "s"}`].join("\n") + "\n";
}

/** `show stats`: one block per topic, names and counts aligned; empty topics say "none". */
export function statsText(stats: Record<string, Record<string, number>>): string {
  const out: string[] = [];
  for (const [topic, counts] of Object.entries(stats)) {
    out.push(`${topic}:`);
    const entries = Object.entries(counts);
    if (entries.length === 0) out.push("  none");
    const w = Math.max(0, ...entries.map(([k]) => k.length));
    for (const [k, v] of entries) out.push(`  ${k.padEnd(w)}  ${v}`);
  }
  return out.join("\n") + "\n";
}
