/**
 * The configuration in words, one line per choice, for the start-up log: an operator who started
 * `pptp-ts server` without a config file (or with a short one) sees every default that is in force.
 * The first line is a one-line summary meant to follow "no config file: " or "config <path>: ".
 */
import { authMethodLabel } from "../aaa/types.js";
import type { ServerConfig } from "./config.js";
import { formatDuration } from "./config-values.js";
import { checkPoolRanges, formatAddressRange } from "./pool.js";

function orOff(ms: number): string {
  return ms === 0 ? "off" : formatDuration(ms);
}

function orNone(list: readonly string[]): string {
  return list.length === 0 ? "none" : list.join(", ");
}

export function describeConfig(c: ServerConfig): string[] {
  const pool = c.ppp.pool.map(formatAddressRange).join(", ");
  const size = checkPoolRanges(c.ppp.pool);
  const poolSize = size.ok ? `${size.value} address${size.value === 1 ? "" : "es"}` : size.error.message;
  const auth = c.ppp.auth.map(authMethodLabel).join(", ");
  const mppe =
    c.mppe.policy === "deny" ? "MPPE off" : `MPPE ${c.mppe.policy} (${c.mppe.strengths.map((s) => `${s}-bit`).join(", ")})`;
  const t = c.timers;
  return [
    `listening on ${c.server.listen}:${c.server.port}, pool ${pool} (${poolSize}), local address ${c.ppp.localAddress}, auth ${auth}, ${mppe}`,
    `server: host name "${c.server.hostname}", at most ${c.server.maxSessions} sessions, ` +
      `${c.server.maxSessionsPerPeer === 0 ? "unlimited" : `at most ${c.server.maxSessionsPerPeer}`} per peer address, TUN device ${c.server.tunName}`,
    `ppp: mtu ${c.ppp.mtu}, mru ${c.ppp.mru}, dns ${orNone(c.ppp.dns)}, wins ${orNone(c.ppp.wins)}`,
    `users: ${c.ppp.users} (user names ${c.ppp.caseSensitiveUsers ? "case-sensitive" : "case-insensitive"})`,
    `mppe: policy ${c.mppe.policy}, strengths ${c.mppe.strengths.join(", ")}, stateless ${c.mppe.stateless}`,
    `timers: control echo every ${orOff(t.echoIntervalMs)} (timeout ${formatDuration(t.echoTimeoutMs)}, ${t.echoRetries} retries), ` +
      `LCP echo every ${orOff(t.lcpEchoIntervalMs)} (${t.lcpEchoFailures} failures), idle timeout ${orOff(t.idleTimeoutMs)}, ` +
      `session timeout ${orOff(t.sessionTimeoutMs)}, control reply timeout ${formatDuration(t.controlReplyTimeoutMs)}`,
    `gre: flow control ${c.gre.flowControl}, reorder timeout ${formatDuration(c.gre.reorderTimeoutMs)}, ack delay ${formatDuration(c.gre.ackDelayMs)}`,
    `log: ${orNone(c.log.debug)}`,
  ];
}
