/**
 * The configuration in words, one line per choice, for the start-up log: an operator who started
 * `pptp-ts server` without a config file (or with a short one) sees every default that is in force.
 * The first line is a one-line summary meant to follow "no config file: " or "config <path>: "; each
 * [peer NAME] section adds one line at the end.
 */
import { authMethodLabel } from "../aaa/types.js";
import { effectiveMaxConnections, type ServerConfig } from "./config.js";
import { formatDuration, formatPrefix } from "./config-values.js";
import type { PeerConfig } from "./peer-types.js";
import { checkPoolRanges, formatAddressRange } from "./address-range.js";

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
  const peers = c.peers.map(describePeer);
  // With the server off, its sections configure nothing: only the peers and the log matter.
  if (!c.server.enable) return [`server off (enable = no); peers ${orNone(c.peers.map((p) => p.name))}`, `log: ${orNone(c.log.debug)}`, ...peers];
  return [
    `listening on ${c.server.listen}:${c.server.port}, pool ${pool} (${poolSize}), local address ${c.ppp.localAddress}, auth ${auth}, ${mppe}`,
    `server: host name "${c.server.hostname}", at most ${c.server.maxSessions} sessions, ` +
      `${c.server.maxSessionsPerPeer === 0 ? "unlimited" : `at most ${c.server.maxSessionsPerPeer}`} per peer address, TUN device ${c.server.tunName}` +
      (c.server.workers > 1 ? `, ${c.server.workers} data-plane worker threads` : ""),
    `ppp: mtu ${c.ppp.mtu}, mru ${c.ppp.mru}, dns ${orNone(c.ppp.dns)}, wins ${orNone(c.ppp.wins)}`,
    `users: ${c.ppp.users} (user names ${c.ppp.caseSensitiveUsers ? "case-sensitive" : "case-insensitive"})`,
    `mppe: policy ${c.mppe.policy}, strengths ${c.mppe.strengths.join(", ")}, stateless ${c.mppe.stateless}`,
    `timers: control echo every ${orOff(t.echoIntervalMs)} (timeout ${formatDuration(t.echoTimeoutMs)}, ${t.echoRetries} retries), ` +
      `LCP echo every ${orOff(t.lcpEchoIntervalMs)} (${t.lcpEchoFailures} failures), idle timeout ${orOff(t.idleTimeoutMs)}, ` +
      `session timeout ${orOff(t.sessionTimeoutMs)}, control reply timeout ${formatDuration(t.controlReplyTimeoutMs)}`,
    `gre: flow control ${c.gre.flowControl}, reorder timeout ${formatDuration(c.gre.reorderTimeoutMs)}, ack delay ${formatDuration(c.gre.ackDelayMs)}`,
    describeLimits(c),
    `log: ${orNone(c.log.debug)}`,
    ...peers,
  ];
}

/** [limits] in one line: what a flood or a password guesser meets. */
function describeLimits(c: ServerConfig): string {
  const l = c.limits;
  const n = (v: number, what: string) => (v === 0 ? `unlimited ${what}` : `${v} ${what}`);
  return (
    `limits: ${effectiveMaxConnections(c)} control connections, ${n(l.maxConnectionsPerAddress, "per address")}, ` +
    `${l.connectionRate === 0 ? "no rate limit" : `${l.connectionRate}/s per address (burst ${l.connectionBurst})`}, ` +
    `SCCRQ within ${orOff(l.startTimeoutMs)}, a call within ${orOff(l.noCallTimeoutMs)}; ` +
    `logins: ${l.authFreeFailures} free failures per ${formatDuration(l.authWindowMs)}, then ${formatDuration(l.authDelayMs)} delay growing to ${formatDuration(l.authMaxDelayMs)}, ` +
    `lockout ${formatDuration(l.authLockoutMs)} after ${n(l.authMaxFailuresPerUser, "failures per user")} or ${n(l.authMaxFailuresPerAddress, "per address")}`
  );
}

/**
 * One named peer in words, e.g. `peer hq: client, dials vpn.example.com:1723 persistent, as user "branch",
 * MS-CHAPv2, MPPE require 128-bit, routes 10.0.0.0/16, tunnel pt-hq`. The password is never shown (logs).
 */
export function describePeer(p: PeerConfig): string {
  const endpoint = `${p.remote ?? "(no remote)"}:${p.port}`;
  const how = p.connect === "on-demand" ? "on demand" : p.connect;
  const parts: string[] = [p.role];
  if (p.role === "client") {
    parts.push(p.connect === "passive" ? "does not dial" : `dials ${endpoint} ${how}`);
    if (p.answer) parts.push("answers its calls");
    parts.push(`as user "${p.user ?? ""}"`);
  } else {
    parts.push(`user "${p.user ?? ""}" logs in`);
    parts.push(p.connect === "passive" ? "waits for its calls" : `connects to ${endpoint} ${how} and waits for its call`);
    parts.push(p.remoteAddress !== undefined ? `gets ${p.remoteAddress}` : "gets a pool address");
  }
  if (p.role === "client" && p.remoteAddress !== undefined) parts.push(`expects ${p.remoteAddress} at the far end`);
  if (p.localAddress !== undefined) parts.push(p.role === "client" ? `asks for ${p.localAddress}` : `our end ${p.localAddress}`);
  parts.push(p.auth.map(authMethodLabel).join("/"));
  parts.push(p.mppe.policy === "deny" ? "MPPE off" : `MPPE ${p.mppe.policy} ${p.mppe.strengths.map((s) => `${s}-bit`).join("/")}`);
  if (p.defaultRoute) parts.push("default route");
  if (p.routes.length > 0) parts.push(`routes ${p.routes.map(formatPrefix).join(" ")}`);
  else if (!p.defaultRoute) parts.push("no routes");
  if (p.role === "client") parts.push(`tunnel ${p.tunName}`);
  if (p.connect !== "passive") {
    const t = p.timers;
    parts.push(`redial after ${formatDuration(t.reconnectMinMs)} doubling to ${formatDuration(t.reconnectMaxMs)}`);
    if (p.maxFailures > 0) parts.push(`gives up after ${p.maxFailures} failures in a row`);
  }
  if (p.timers.idleTimeoutMs > 0) parts.push(`idle timeout ${formatDuration(p.timers.idleTimeoutMs)}`);
  if (p.timers.sessionTimeoutMs > 0) parts.push(`session timeout ${formatDuration(p.timers.sessionTimeoutMs)}`);
  return `peer ${p.name}: ${parts.join(", ")}`;
}
