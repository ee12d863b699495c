/**
 * The `[log]` keys besides `debug`: the line format, where lines go, and whether packet lines carry a hex dump.
 *
 * Syslog is sent over UDP (RFC 5426) in the RFC 5424 format: Node has no Unix datagram sockets, and /dev/log is one
 * (systemd-journald's and rsyslog's imuxsock), so writing there would need native code or a `logger` process per
 * line. Under systemd stderr goes to the journal already (with the severity of each line lost, not its text), so
 * `output = stderr` is the recommended setting there; `output = syslog` is for a syslog daemon listening on UDP
 * (rsyslog `module(load="imudp")`, syslog-ng `network(transport("udp"))`), usually on 127.0.0.1:514.
 */
import { parseIpv4 } from "../wire/ipv4.js";
import type { ValueParser } from "./config-values.js";

export type LogFormat = "text" | "json";
export type LogOutput = "stderr" | "syslog";
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];
export const LOG_OUTPUTS: readonly LogOutput[] = ["stderr", "syslog"];

/** RFC 5424 §6.2.1 facility numbers of the facilities a daemon may use. */
export const SYSLOG_FACILITIES: Readonly<Record<string, number>> = {
  user: 1,
  daemon: 3,
  auth: 4,
  authpriv: 10,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};
export type SyslogFacility = keyof typeof SYSLOG_FACILITIES & string;

export interface SyslogTarget {
  readonly host: string;
  readonly port: number;
}

export const SYSLOG_PORT = 514;

/** "ADDRESS" or "ADDRESS:PORT" (IPv4, port 514 by default): an address, so logging never waits for DNS. */
export const syslogTarget: ValueParser<SyslogTarget> = (raw) => {
  const m = /^([^:]+)(?::([0-9]+))?$/.exec(raw.trim());
  const fix = `use e.g. "syslog = 127.0.0.1:514" (UDP; an IPv4 address, not a name)`;
  if (m === null) return { ok: false, problems: [{ problem: `"${raw}" is not ADDRESS or ADDRESS:PORT`, fix }] };
  if (!parseIpv4(m[1]).ok) return { ok: false, problems: [{ problem: `"${m[1]}" is not an IPv4 address`, fix }] };
  const port = m[2] === undefined ? SYSLOG_PORT : Number(m[2]);
  if (port < 1 || port > 65535) return { ok: false, problems: [{ problem: `port ${m[2]} is outside 1..65535`, fix }] };
  return { ok: true, value: { host: m[1], port } };
};

export function formatSyslogTarget(t: SyslogTarget): string {
  return t.port === SYSLOG_PORT ? t.host : `${t.host}:${t.port}`;
}
