/**
 * `pptp-ts show sessions` for a terminal: one line per session, columns aligned, sizes and times in the units an
 * operator reads at a glance (the seeds' `show vpdn` shape: who, from where, which tunnel address, how long, how
 * much). `--json` prints the snapshots themselves instead.
 */
import type { SessionSnapshot } from "../aaa/types.js";
import { authMethodLabel } from "../wire/ppp-protocols.js";

const HEADERS = ["SESSION", "CALL", "USER", "CLIENT", "ADDRESS", "AUTH", "MPPE", "UPTIME", "IN", "OUT", "PKTS IN/OUT"];

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

export function sessionTable(sessions: readonly SessionSnapshot[]): string {
  const rows = sessions.map((s) => [
    s.sessionId,
    String(s.callId),
    s.user ?? "-",
    s.peerAddress,
    s.framedAddress ?? "-",
    s.method ? authMethodLabel(s.method) : "-",
    s.mppe ?? "none",
    formatDuration(s.durationMs),
    formatBytes(s.inOctets),
    formatBytes(s.outOctets),
    `${s.inPackets}/${s.outPackets}`,
  ]);
  const all = [HEADERS, ...rows];
  const widths = HEADERS.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ");
  const n = sessions.length;
  return [line(HEADERS), ...rows.map(line), `${n} session${n === 1 ? "" : "s"}`].join("\n") + "\n";
}
